//! A Lightning node's own websocket listener, with no proxy in between: what Core Lightning
//! offers with `bind-addr=ws:…` and Olympus lists as a `websocket` connection method. A browser
//! wallet dials it as is (`lsp.websocketUrl`), speaking BOLT8 in binary frames straight to the
//! node.
//!
//! Like Core Lightning's `lightning_websocketd`, which hands each websocket to the node's
//! connection daemon over a local socket, each upgrade here is handed to the node's own p2p
//! listener over loopback: LDK's connection handling (`lightning-net-tokio`) takes TCP sockets.
//! Any path is accepted (the node has one endpoint); pages on loopback only, as everywhere in
//! the devnet ([`crate::origin`]).

use std::net::SocketAddr;

use anyhow::Result;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// Serves websockets on `listener` for the node listening on `node` until the task is dropped.
pub async fn serve(listener: TcpListener, node: SocketAddr) -> Result<()> {
    let limits = crate::proxy::config().limits;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            // The callback's type is tungstenite's `Callback`; its large error is not ours to box.
            #[allow(clippy::result_large_err)]
            let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
                let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
                if !crate::origin::request_allowed(header("origin"), header("host")) {
                    let mut err = ErrorResponse::new(Some("origin not allowed".into()));
                    *err.status_mut() = StatusCode::FORBIDDEN;
                    return Err(err);
                }
                tabnode_proxy::serve::accept_binary_subprotocol(req, &mut resp);
                Ok(resp)
            };
            let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                return;
            };
            let Ok(tcp) = TcpStream::connect(node).await else {
                tracing::warn!("node websocket: the node at {node} does not answer");
                return;
            };
            let _ = tcp.set_nodelay(true);
            let reason = tabnode_proxy::serve::carry(ws, tcp, &limits).await;
            tracing::debug!("node websocket closed: {reason}");
        });
    }
}
