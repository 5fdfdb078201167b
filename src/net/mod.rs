//! The wallet's network: BOLT8 bytes over a websocket to a ws→TCP proxy (with LDK's
//! `SocketDescriptor` on top), and HTTP over `fetch`. Error types are plain Rust; the
//! transports are wasm32 only.

mod http_error;
pub mod limits;
mod ws_error;

pub use http_error::{parse_retry_after, HttpError, MAX_ERROR_BODY};
pub use ws_error::WsError;

#[cfg(target_arch = "wasm32")]
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod peer;
#[cfg(target_arch = "wasm32")]
pub mod websocket;

#[cfg(target_arch = "wasm32")]
pub use http::{Body, HttpClient, HttpResponse};
#[cfg(target_arch = "wasm32")]
pub use peer::{
    connect_outbound, setup_inbound, setup_outbound, NothingToWrite, PeerConnectError, WriteAhead,
    WsDescriptor,
};
#[cfg(target_arch = "wasm32")]
pub use websocket::WsConnection;
