//! A websocket-to-TCP proxy for browsers: BOLT8 bytes in binary frames, one TCP connection per
//! websocket, to devnet nodes only.
//!
//! URL form (Mutiny's): `ws://HOST:PORT/v1/<ipv4 with '_' for '.'>/<port>`, for instance
//! `ws://127.0.0.1:3004/v1/127_0_0_1/9735`. A client may ask for the `binary` subprotocol; it is
//! echoed. A target outside the allow-list is refused with HTTP 403 before any TCP connection is
//! made: a proxy that reaches any host:port is an open relay.
//!
//! Guards ([`ProxyLimits`]): an upgrade whose `Origin` (or `Host`) is not loopback
//! ([`crate::origin`]) is refused with 403, so a page served elsewhere cannot use the proxy;
//! at most `max_connections` websockets are open at once (the next upgrade is answered 503); a
//! connection that carries no byte either way for `idle_timeout` is closed. The TCP side has
//! `TCP_NODELAY` (BOLT8 messages are small and latency-bound).

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::Message;

/// The targets browsers may reach through the proxy.
#[derive(Clone, Default)]
pub struct AllowList(Arc<RwLock<HashSet<SocketAddr>>>);

impl AllowList {
    /// Allows `addr` as a target.
    pub fn allow(&self, addr: SocketAddr) {
        self.0.write().expect("allow-list lock").insert(addr);
    }

    fn allows(&self, addr: &SocketAddr) -> bool {
        self.0.read().expect("allow-list lock").contains(addr)
    }
}

/// Parses `/v1/127_0_0_1/9735` into its target address.
pub fn parse_target(path: &str) -> Option<SocketAddr> {
    let mut parts = path.trim_start_matches('/').split('/');
    if parts.next()? != "v1" {
        return None;
    }
    let ip: Ipv4Addr = parts.next()?.replace('_', ".").parse().ok()?;
    let port: u16 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
}

/// The path a browser uses to reach `target` through the proxy.
pub fn path_for(target: SocketAddrV4) -> String {
    format!(
        "/v1/{}/{}",
        target.ip().to_string().replace('.', "_"),
        target.port()
    )
}

/// How much the proxy serves at once and how long it keeps a quiet connection.
#[derive(Clone, Copy, Debug)]
pub struct ProxyLimits {
    /// Websockets open at once; past it an upgrade is answered 503.
    pub max_connections: usize,
    /// A connection with no byte either way for this long is closed. LDK pings its peers every
    /// few seconds (a background tab's timers at least once a minute), so a live wallet is never
    /// this quiet.
    pub idle_timeout: Duration,
}

impl Default for ProxyLimits {
    /// 256 connections (a test run's wallets with a few peers each), 5 minutes idle.
    fn default() -> ProxyLimits {
        ProxyLimits {
            max_connections: 256,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Serves the proxy on `listener` with the default [`ProxyLimits`] until the task is dropped.
pub async fn serve(listener: TcpListener, allow: AllowList) -> Result<()> {
    serve_with(listener, allow, ProxyLimits::default()).await
}

/// Serves the proxy on `listener` with `limits` until the task is dropped.
pub async fn serve_with(
    listener: TcpListener,
    allow: AllowList,
    limits: ProxyLimits,
) -> Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = listener.accept().await?;
        let allow = allow.clone();
        // Taken before the handshake and held until the connection ends; none left: 503.
        let slot = slots.clone().try_acquire_owned().ok();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, allow, slot, limits.idle_timeout).await {
                tracing::debug!(%peer, "proxy connection ended: {e}");
            }
        });
    }
}

async fn handle(
    stream: TcpStream,
    allow: AllowList,
    slot: Option<OwnedSemaphorePermit>,
    idle_timeout: Duration,
) -> Result<()> {
    let mut target = None;
    // The callback's type is tungstenite's `Callback`; its large error is not ours to box.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let refuse = |status: StatusCode, why: &str| {
            let mut err = ErrorResponse::new(Some(why.into()));
            *err.status_mut() = status;
            err
        };
        let text = |name| {
            req.headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap_or("\u{0}"))
        };
        if !crate::origin::request_allowed(text("origin"), text("host")) {
            return Err(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
        }
        if slot.is_none() {
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections",
            ));
        }
        let Some(addr) = parse_target(req.uri().path()).filter(|a| allow.allows(a)) else {
            let mut err = ErrorResponse::new(Some("target not allowed".into()));
            *err.status_mut() = StatusCode::FORBIDDEN;
            return Err(err);
        };
        target = Some(addr);
        let wants_binary = req
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.trim() == "binary"));
        if wants_binary {
            resp.headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static("binary"));
        }
        Ok(resp)
    };
    let ws = tokio_tungstenite::accept_hdr_async(stream, callback).await?;
    let target = target.expect("set by the accepted handshake");
    let tcp = TcpStream::connect(target).await?;
    tcp.set_nodelay(true)?;
    let piped = pipe(ws, tcp, idle_timeout).await;
    drop(slot);
    piped
}

/// Copies websocket binary frames to TCP and TCP bytes to binary frames until either side closes
/// or nothing moved either way for `idle_timeout`.
async fn pipe(
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    tcp: TcpStream,
    idle_timeout: Duration,
) -> Result<()> {
    let (mut ws_tx, mut ws_rx) = ws.split();
    let (mut tcp_rx, mut tcp_tx) = tcp.into_split();
    // Milliseconds since `start` of the last byte moved (either way).
    let start = Instant::now();
    let last_activity = AtomicU64::new(0);
    let touch = || last_activity.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
    let up = async {
        while let Some(msg) = ws_rx.next().await {
            match msg? {
                Message::Binary(bytes) => {
                    touch();
                    tcp_tx.write_all(&bytes).await?
                }
                Message::Close(_) => break,
                // Text frames carry no BOLT8 bytes; pings are answered by tungstenite.
                _ => {}
            }
        }
        tcp_tx.shutdown().await?;
        anyhow::Ok(())
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = tcp_rx.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            touch();
            ws_tx
                .send(Message::Binary(buf[..n].to_vec().into()))
                .await?;
        }
        anyhow::Ok(())
    };
    let idle = async {
        loop {
            let quiet_since = start + Duration::from_millis(last_activity.load(Ordering::Relaxed));
            if quiet_since.elapsed() >= idle_timeout {
                return;
            }
            tokio::time::sleep_until((quiet_since + idle_timeout).into()).await;
        }
    };
    let result = tokio::select! {
        r = up => r,
        r = down => r,
        () = idle => Ok(()),
    };
    // TCP closed, or idle: the browser learns it by a close frame.
    let _ = ws_tx.send(Message::Close(None)).await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mutiny_style_paths() {
        assert_eq!(
            parse_target("/v1/127_0_0_1/9735"),
            Some("127.0.0.1:9735".parse().unwrap())
        );
        assert_eq!(parse_target("/v1/127_0_0_1/9735/x"), None);
        assert_eq!(parse_target("/v2/127_0_0_1/9735"), None);
        assert_eq!(parse_target("/v1/localhost/9735"), None);
        assert_eq!(parse_target("/v1/127_0_0_1/99999"), None);
        let t: SocketAddrV4 = "127.0.0.1:9735".parse().unwrap();
        assert_eq!(parse_target(&path_for(t)), Some(SocketAddr::V4(t)));
    }
}
