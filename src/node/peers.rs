//! Keeping the LSP connected.
//!
//! The LSP is reached through the websocket proxy (see [`super::peer_address`]), or at a websocket
//! URL its node serves itself, with nothing in between. For an LSPS2 LSP its node id, its own
//! `websocketUrl` and its `address` (through the proxy) come from the config, tried in that
//! order; for a REST flow LSP from `GET {url}/api/v1/info` (its `pubkey` must equal the config's
//! `nodeId` when one is pinned).
//!
//! Guarantees: at most one connection attempt runs at a time; after a drop or a failed attempt
//! the loop waits [`backoff`] (1 s doubling to 60 s) — cut short when the page comes back
//! online or becomes visible, or LDK asks for the peer (`ConnectionNeeded`); a `peer` event is
//! emitted on each connect and disconnect; the loop ends at shutdown, disconnecting the peer.

use core::time::Duration;
use std::rc::Rc;

use bitcoin::secp256k1::PublicKey;
use futures::channel::oneshot;
use futures::future::{select, Either};
use lightning::util::logger::Level;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

use super::peer_address::{backoff, flow_targets, proxy_target, split_host_port};
use super::running::Node;
use super::write_ahead::ManagerWriteAhead;
use super::WalletEvent;
use crate::config::LspConfig;
use crate::error::Error;
use crate::lsp::flow::{InfoResponse, AUTH_HEADER, INFO_PATH};
use crate::net::{connect_outbound, HttpClient};
use crate::time;

/// Time allowed for the websocket to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the BOLT8 handshake and `init` exchange.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// A listener on a page event; removed when dropped.
pub struct PageListener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for PageListener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

fn listen(
    target: EventTarget,
    kind: &'static str,
    f: impl FnMut(web_sys::Event) + 'static,
) -> Option<PageListener> {
    let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    target
        .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())
        .ok()?;
    Some(PageListener {
        target,
        kind,
        callback,
    })
}

/// Reconnects and syncs when the page comes back online (window or worker) or becomes visible
/// (window).
pub fn install_page_listeners(node: &Rc<Node>) {
    let mut listeners = Vec::new();
    let weak = Rc::downgrade(node);
    let wake = move |_e: web_sys::Event| {
        if let Some(n) = weak.upgrade() {
            n.reconnect_kick.kick();
            n.sync_kick.kick();
        }
    };
    if let Ok(global) = js_sys::global().dyn_into::<EventTarget>() {
        listeners.extend(listen(global, "online", wake.clone()));
    }
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let doc = document.clone();
        let wake_visible = move |e: web_sys::Event| {
            if doc.visibility_state() == web_sys::VisibilityState::Visible {
                wake.clone()(e);
            }
        };
        listeners.extend(listen(document.into(), "visibilitychange", wake_visible));
    }
    node.page_listeners.borrow_mut().extend(listeners);
}

/// Where to connect: the LSP's node id and the websocket URLs to try.
async fn resolve(node: &Node) -> Result<(PublicKey, Vec<String>), Error> {
    match &node.config.lsp {
        LspConfig::Lsps2 {
            node_id,
            address,
            websocket_url,
            ..
        } => {
            // The node's own websocket first (nothing in between), then the proxy.
            let mut targets: Vec<String> = websocket_url.iter().cloned().collect();
            if let Some(address) = address {
                let (host, port) = split_host_port(address)?;
                targets.push(proxy_target(&node.config.proxy_url, &host, port)?);
            }
            Ok((*node_id, targets))
        }
        LspConfig::Flow {
            url,
            token,
            node_id,
            ..
        } => {
            let mut http = HttpClient::new(Duration::from_secs(15));
            if let Some(t) = token {
                http = http.with_header(AUTH_HEADER, t);
            }
            let info: InfoResponse = http
                .get_json(&format!("{url}{INFO_PATH}"))
                .await
                .map_err(|_| Error::LspUnreachable)?;
            info.check_identity(node_id.as_ref())?;
            crate::lsp::identity_store::check_offered(node, info.pubkey).await?;
            let targets = flow_targets(&info, &node.config.proxy_url);
            if targets.is_empty() {
                return Err(Error::LspBadResponse {
                    what: "no reachable connection method",
                });
            }
            Ok((info.pubkey, targets))
        }
    }
}

/// One connection: returns when it ends (or at shutdown). `Err` if it never came up.
async fn connect_once(node: &Rc<Node>) -> Result<(), Error> {
    let (lsp_id, targets) = resolve(node).await?;
    if node.peer_manager.peer_by_node_id(&lsp_id).is_some() {
        // Already connected (e.g. the LSP dialled us through some other path): watch it.
        return watch_existing(node, lsp_id).await;
    }
    let mut last_error = Error::PeerConnectionFailed;
    for url in targets {
        let write_ahead = Rc::new(ManagerWriteAhead::new(
            node.channel_manager.clone(),
            node.kv.clone(),
        ));
        match connect_outbound(
            node.peer_manager.clone(),
            lsp_id,
            &url,
            CONNECT_TIMEOUT,
            write_ahead,
        )
        .await
        {
            Ok(run) => {
                let (done_tx, mut done_rx) = oneshot::channel::<()>();
                node.spawn_task("peer connection", async move {
                    run.await;
                    let _ = done_tx.send(());
                });
                // Wait for the handshake (the peer manager lists the peer once `init` is done).
                let deadline = time::now_millis() + HANDSHAKE_TIMEOUT.as_millis() as u64;
                let mut up = false;
                while time::now_millis() < deadline {
                    if node.peer_manager.peer_by_node_id(&lsp_id).is_some() {
                        up = true;
                        break;
                    }
                    if let Ok(Some(())) = done_rx.try_recv() {
                        break;
                    }
                    time::sleep(Duration::from_millis(100)).await;
                }
                if !up {
                    node.peer_manager.disconnect_by_node_id(lsp_id);
                    node.log(Level::Warn, &format!("no handshake with the LSP via {url}"));
                    last_error = Error::PeerConnectionFailed;
                    continue;
                }
                set_connected(node, lsp_id, true);
                let _ = select(done_rx, node.shutdown.wait()).await;
                if node.shutdown.is_triggered() {
                    node.peer_manager.disconnect_by_node_id(lsp_id);
                }
                set_connected(node, lsp_id, false);
                return Ok(());
            }
            Err(e) => {
                node.log(Level::Info, &format!("LSP not reachable via {url}: {e}"));
                last_error = Error::PeerConnectionFailed;
            }
        }
    }
    Err(last_error)
}

async fn watch_existing(node: &Rc<Node>, lsp_id: PublicKey) -> Result<(), Error> {
    set_connected(node, lsp_id, true);
    while node.peer_manager.peer_by_node_id(&lsp_id).is_some() && !node.shutdown.is_triggered() {
        let _ = select(
            Box::pin(time::sleep(Duration::from_secs(1))),
            node.shutdown.wait(),
        )
        .await;
    }
    set_connected(node, lsp_id, false);
    Ok(())
}

fn set_connected(node: &Node, lsp_id: PublicKey, connected: bool) {
    if node.lsp.connected.replace(connected) != connected {
        node.log(
            Level::Info,
            &format!(
                "LSP {}",
                if connected {
                    "connected"
                } else {
                    "disconnected"
                }
            ),
        );
        node.bus.emit(WalletEvent::Peer {
            node_id: lsp_id.to_string(),
            connected,
        });
    }
}

/// Keeps the LSP connected until shutdown. A REST LSP whose `/api/v1/info` names another node
/// than the trusted one is never dialled; the page gets one `error` event
/// (`LSP_IDENTITY_MISMATCH`) per streak of such failures, and the loop keeps checking with
/// backoff (the LSP may correct itself; its identity is never adopted).
pub async fn lsp_loop(node: Rc<Node>) {
    let mut attempt: u32 = 0;
    let mut identity_reported = false;
    while !node.shutdown.is_triggered() {
        let started = time::now_millis();
        let outcome = {
            let conn = Box::pin(connect_once(&node));
            match select(conn, node.shutdown.wait()).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => break,
            }
        };
        let mismatch = outcome == Err(Error::LspIdentityMismatch);
        if mismatch && !identity_reported {
            node.log(
                Level::Error,
                "the LSP names another node than the trusted one",
            );
            node.bus
                .emit(WalletEvent::Error(Error::LspIdentityMismatch));
        }
        identity_reported = mismatch;
        match outcome {
            // A connection that lasted a while resets the backoff.
            Ok(()) if time::now_millis().saturating_sub(started) > 60_000 => attempt = 0,
            Ok(()) => attempt = attempt.saturating_add(1),
            Err(e) => {
                node.log(Level::Info, &format!("LSP connection failed: {e}"));
                attempt = attempt.saturating_add(1);
            }
        }
        if node.shutdown.is_triggered() {
            break;
        }
        let delay = backoff(attempt.saturating_sub(1));
        let wait = select(
            Box::pin(time::sleep(delay)),
            Box::pin(node.reconnect_kick.wait()),
        );
        let _ = select(wait, node.shutdown.wait()).await;
    }
    if let Some(id) = node.lsp.node_id.get() {
        node.peer_manager.disconnect_by_node_id(id);
    }
}
