//! The server: websocket upgrades checked, then each one piped to one TCP connection.
//!
//! Order of checks, cheapest and least revealing first: a free connection slot (else 503), the
//! page's `Origin` (403), the target's path (404) and the allow-list (403), the client's own
//! limit (429), all before the upgrade is answered and before any outbound connection. After
//! the upgrade the target's name is resolved and every address it resolves to is checked
//! (private ones refused unless allowed), and the address checked is the one dialled: no second
//! lookup for a rebinding DNS server to answer differently. A refusal after the upgrade is a
//! close frame with code 1008 (policy) or 1011 (the target could not be reached) and a reason.
//!
//! Every connection ends in one log line: client, origin, target, bytes each way, duration and
//! why it ended; every refusal in one line with its reason. Fields are stable names, so the JSON
//! format (`log_format = "json"`) feeds a log collector as is.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::clients::{client_ip, ClientSlot, ClientSlots};
use crate::config::{Limits, ProxyConfig};
use crate::public_address::is_public;
use crate::target::{AllowList, Host, Target};

/// Serves the proxy on `listener` until the task is dropped or accepting fails.
pub async fn serve(listener: TcpListener, allow: AllowList, config: ProxyConfig) -> Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let clients = ClientSlots::new(config.limits.max_connections_per_client);
    loop {
        let (stream, peer) = listener.accept().await?;
        // Taken before the handshake and held until the connection ends; none left: 503.
        let slot = slots.clone().try_acquire_owned().ok();
        let (allow, config, clients) = (allow.clone(), config.clone(), clients.clone());
        tokio::spawn(async move {
            handle(stream, peer, slot, allow, config, clients).await;
        });
    }
}

/// What an accepted upgrade is for.
struct Accepted {
    client: IpAddr,
    origin: String,
    target: Target,
    node_id: Option<String>,
    _client_slot: ClientSlot,
}

/// Why an upgrade was refused: a stable reason for the log and the HTTP status.
#[derive(Clone, Copy)]
enum Refusal {
    Capacity,
    Origin,
    BadPath,
    Target,
    ClientLimit,
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Refusal::Capacity => "capacity",
            Refusal::Origin => "origin",
            Refusal::BadPath => "bad_path",
            Refusal::Target => "target",
            Refusal::ClientLimit => "client_limit",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Refusal::Capacity => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Origin | Refusal::Target => StatusCode::FORBIDDEN,
            Refusal::BadPath => StatusCode::NOT_FOUND,
            Refusal::ClientLimit => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Option<OwnedSemaphorePermit>,
    allow: AllowList,
    config: Arc<ProxyConfig>,
    clients: Arc<ClientSlots>,
) {
    // BOLT8 messages are small and latency-bound: no Nagle delay on either side.
    let _ = stream.set_nodelay(true);
    let limits = config.limits;
    let mut accepted = None;
    let mut refused = None;
    let mut seen_client = peer.ip();
    // The callback's type is tungstenite's `Callback`; its large error is not ours to box.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let client = client_ip(
            peer.ip(),
            header("x-forwarded-for"),
            &config.trusted_proxies,
        );
        seen_client = client;
        let checked = (|| {
            slot.as_ref().ok_or(Refusal::Capacity)?;
            let origin = req
                .headers()
                .get("origin")
                .map(|v| v.to_str().unwrap_or("\0"));
            if !config.origins.allows(origin) {
                return Err(Refusal::Origin);
            }
            let target = Target::from_path(req.uri().path()).ok_or(Refusal::BadPath)?;
            let node_id = allow.lookup(&target).ok_or(Refusal::Target)?;
            let client_slot = clients.take(client).ok_or(Refusal::ClientLimit)?;
            Ok(Accepted {
                client,
                origin: origin.unwrap_or("-").to_string(),
                target,
                node_id,
                _client_slot: client_slot,
            })
        })();
        match checked {
            Ok(a) => accepted = Some(a),
            Err(r) => {
                refused = Some((
                    r,
                    req.uri().path().to_string(),
                    header("origin").map(String::from),
                ));
                let mut err = ErrorResponse::new(Some(r.reason().into()));
                *err.status_mut() = r.status();
                return Err(err);
            }
        }
        accept_binary_subprotocol(req, &mut resp);
        Ok(resp)
    };
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes));
    let handshake =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config));
    let ws = match tokio::time::timeout(limits.handshake_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            match refused {
                Some((r, path, origin)) => tracing::info!(
                    client = %seen_client,
                    origin = origin.as_deref().unwrap_or("-"),
                    path,
                    reason = r.reason(),
                    "refused"
                ),
                None => tracing::debug!(client = %peer.ip(), "not a websocket upgrade: {e}"),
            }
            return;
        }
        Err(_) => {
            tracing::info!(client = %peer.ip(), reason = "handshake_timeout", "refused");
            return;
        }
    };
    let a = accepted.expect("set by the accepted handshake");
    let started = Instant::now();
    let log_refused = |reason: &str, detail: &str| {
        tracing::info!(
            client = %a.client,
            origin = a.origin,
            target = %a.target,
            node_id = a.node_id.as_deref().unwrap_or("-"),
            reason,
            detail,
            "refused"
        )
    };
    let tcp = match tokio::time::timeout(limits.connect_timeout, dial(&a.target, &config)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(DialError::Private(addrs))) => {
            log_refused("private_target", &addrs);
            close(
                ws,
                CloseCode::Policy,
                "target resolves to a private address",
            )
            .await;
            return;
        }
        Ok(Err(DialError::Unreachable(e))) => {
            log_refused("unreachable", &e);
            close(ws, CloseCode::Error, "target unreachable").await;
            return;
        }
        Err(_) => {
            log_refused("connect_timeout", "");
            close(ws, CloseCode::Error, "target did not answer in time").await;
            return;
        }
    };
    let peer_addr = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let counts = Counts::default();
    let end = pipe(ws, tcp, &config.limits, &counts).await;
    tracing::info!(
        client = %a.client,
        origin = a.origin,
        target = %a.target,
        node_id = a.node_id.as_deref().unwrap_or("-"),
        address = peer_addr,
        bytes_up = counts.up.load(Ordering::Relaxed),
        bytes_down = counts.down.load(Ordering::Relaxed),
        duration_ms = started.elapsed().as_millis() as u64,
        reason = end.reason(),
        "closed"
    );
    drop(slot);
}

/// Echoes the `binary` subprotocol in `resp` when the upgrade `req` offers it (browsers may
/// ask for it; a server that answers another, or none when one was required, fails the upgrade).
pub fn accept_binary_subprotocol(req: &Request, resp: &mut Response) {
    let offered = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "binary"));
    if offered {
        resp.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("binary"));
    }
}

/// Carries bytes between an accepted websocket and a TCP connection, as the proxy does once its
/// checks passed, under `limits`' idle timeout and byte budget, until either side closes. For a
/// node that serves websockets itself (Core Lightning's websocket daemon hands each one to the
/// node's connection handler the same way). Returns why it ended, as the log's `reason`.
pub async fn carry(
    ws: WebSocketStream<TcpStream>,
    tcp: TcpStream,
    limits: &Limits,
) -> &'static str {
    pipe(ws, tcp, limits, &Counts::default()).await.reason()
}

enum DialError {
    /// The target resolved to these addresses, one or more of them not public.
    Private(String),
    /// Resolving or connecting failed.
    Unreachable(String),
}

/// Resolves `target` once, checks every address, and connects to the checked addresses in turn.
async fn dial(target: &Target, config: &ProxyConfig) -> Result<TcpStream, DialError> {
    let addrs: Vec<SocketAddr> = match &target.host {
        Host::Ipv4(ip) => vec![SocketAddr::new((*ip).into(), target.port)],
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), target.port))
            .await
            .map_err(|e| DialError::Unreachable(format!("resolving: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(DialError::Unreachable("no address".into()));
    }
    // All or nothing: a name that resolves to a public and a private address is a name whose
    // owner (or whoever answers for it) can aim the proxy inside.
    if !config.allow_private_targets && addrs.iter().any(|a| !is_public(a.ip())) {
        let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        return Err(DialError::Private(list.join(",")));
    }
    let mut last = String::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(DialError::Unreachable(last))
}

async fn close(mut ws: WebSocketStream<TcpStream>, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = ws.send(Message::Close(Some(frame))).await;
}

#[derive(Default)]
struct Counts {
    up: AtomicU64,
    down: AtomicU64,
}

impl Counts {
    /// Counts `n` more bytes `up` or down; false (nothing counted) if that passes `max`.
    fn take(&self, up: bool, n: usize, max: u64) -> bool {
        let total = self.up.load(Ordering::Relaxed) + self.down.load(Ordering::Relaxed);
        if total.saturating_add(n as u64) > max {
            return false;
        }
        let side = if up { &self.up } else { &self.down };
        side.fetch_add(n as u64, Ordering::Relaxed);
        true
    }
}

/// Why a piped connection ended.
enum End {
    ClientClosed,
    PeerClosed,
    Idle,
    ByteLimit,
    MessageTooLarge,
    Error,
}

impl End {
    fn reason(&self) -> &'static str {
        match self {
            End::ClientClosed => "client_closed",
            End::PeerClosed => "peer_closed",
            End::Idle => "idle",
            End::ByteLimit => "byte_limit",
            End::MessageTooLarge => "message_too_large",
            End::Error => "error",
        }
    }

    /// The close frame the browser gets, if it is still there to get one.
    fn close_frame(&self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::ClientClosed => return None,
            End::PeerClosed | End::Error => (CloseCode::Normal, ""),
            End::Idle => (CloseCode::Away, "idle"),
            End::ByteLimit => (CloseCode::Policy, "byte limit"),
            End::MessageTooLarge => (CloseCode::Size, "message too large"),
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// Copies websocket binary frames to TCP and TCP bytes to binary frames until either side closes,
/// nothing moved either way for the idle timeout, or the byte limit would be passed.
async fn pipe(
    ws: WebSocketStream<TcpStream>,
    tcp: TcpStream,
    limits: &Limits,
    counts: &Counts,
) -> End {
    let (mut ws_tx, mut ws_rx) = ws.split();
    let (mut tcp_rx, mut tcp_tx) = tcp.into_split();
    // Milliseconds since `start` of the last byte moved (either way).
    let start = Instant::now();
    let last_activity = AtomicU64::new(0);
    let touch = || last_activity.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
    let up = async {
        while let Some(msg) = ws_rx.next().await {
            match msg {
                Ok(Message::Binary(bytes)) => {
                    if !counts.take(true, bytes.len(), limits.max_bytes_per_connection) {
                        return End::ByteLimit;
                    }
                    touch();
                    if tcp_tx.write_all(&bytes).await.is_err() {
                        return End::PeerClosed;
                    }
                }
                Ok(Message::Close(_)) => break,
                // Text frames carry no BOLT8 bytes; pings are answered by tungstenite.
                Ok(_) => {}
                Err(tungstenite::Error::Capacity(_)) => return End::MessageTooLarge,
                Err(_) => return End::Error,
            }
        }
        let _ = tcp_tx.shutdown().await;
        End::ClientClosed
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match tcp_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return End::PeerClosed,
                Ok(n) => n,
            };
            if !counts.take(false, n, limits.max_bytes_per_connection) {
                return End::ByteLimit;
            }
            touch();
            if ws_tx
                .send(Message::Binary(buf[..n].to_vec().into()))
                .await
                .is_err()
            {
                return End::ClientClosed;
            }
        }
    };
    let idle = async {
        loop {
            let quiet_since = start + Duration::from_millis(last_activity.load(Ordering::Relaxed));
            if quiet_since.elapsed() >= limits.idle_timeout {
                return End::Idle;
            }
            tokio::time::sleep_until((quiet_since + limits.idle_timeout).into()).await;
        }
    };
    let end = tokio::select! {
        e = up => e,
        e = down => e,
        e = idle => e,
    };
    // TCP closed, idle or over a limit: the browser learns it by a close frame.
    if let Some(frame) = end.close_frame() {
        let _ = ws_tx.send(Message::Close(Some(frame))).await;
    }
    end
}
