//! LDK's `SocketDescriptor` over a [`WsConnection`], and the loop that feeds a
//! `PeerManager` from it (the browser counterpart of `lightning-net-tokio`).
//!
//! Guarantees:
//! - `send_data` never calls back into the `PeerManager` (LDK's no-std locks are not
//!   re-entrant); everything it needs to tell the peer manager goes through the connection's
//!   own task.
//! - Nothing LDK hands to `send_data` reaches the peer before the connection's [`WriteAhead`]
//!   says the state it comes from is durable: `send_data` queues the bytes, the connection's task
//!   asks the write-ahead and sends, in order, the bytes queued before it asked. A write-ahead
//!   that fails closes the connection with the bytes unsent.
//! - `send_data` takes whole or nothing: when the queue plus `bufferedAmount` is at or above
//!   [`SEND_BUFFER_HIGH_WATER`] it returns 0 and the task calls `write_buffer_space_avail` once
//!   there is room again.
//! - While LDK has paused reading (`continue_read == false`) inbound frames wait in the
//!   connection's queue, in order.
//! - When LDK disconnects (`disconnect_socket`, or an `Err` from `read_event` /
//!   `write_buffer_space_avail`) the socket is closed and LDK hears nothing more about it; after
//!   `disconnect_socket`, bytes already queued still leave first, once the write-ahead allows;
//!   when the socket closes by itself, `socket_disconnected` is called exactly once.

use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::hash::{Hash, Hasher};
use core::ops::Deref;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::collections::VecDeque;
use std::rc::Rc;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::SocketAddress;
use lightning::ln::peer_handler::{APeerManager, PeerHandleError, SocketDescriptor};

use super::websocket::{SEND_BUFFER_HIGH_WATER, SEND_CAPACITY_POLL};
use super::{WsConnection, WsError};
use crate::time::{self, Sleep};

static NEXT_DESCRIPTOR_ID: AtomicU64 = AtomicU64::new(1);

/// What a connection's outbound bytes wait for: the node's own state that they reveal, durable.
///
/// A peer must never see a message from a state the node could forget when its tab dies, or
/// the reopened node cannot resume the channel with it. The node's implementation writes its
/// channel manager (`node::write_ahead`).
pub trait WriteAhead {
    /// Makes durable whatever state the outbound bytes accepted so far come from. Resolves `true`
    /// once it is, `false` if it never will be (storage failed): the connection then closes and
    /// the bytes are never sent.
    fn durable(&self) -> Pin<Box<dyn Future<Output = bool>>>;
}

/// A peer manager with no state of its own to keep (a routing-only peer, tests): bytes leave at
/// once.
pub struct NothingToWrite;

impl WriteAhead for NothingToWrite {
    fn durable(&self) -> Pin<Box<dyn Future<Output = bool>>> {
        Box::pin(core::future::ready(true))
    }
}

#[derive(Default)]
struct DescriptorState {
    read_paused: bool,
    write_blocked: bool,
    disconnect_requested: bool,
    /// Bytes LDK handed over (`send_data` counted them sent) that wait for the write-ahead, in
    /// order.
    outbox: VecDeque<Vec<u8>>,
    outbox_len: usize,
    waker: Option<Waker>,
}

impl DescriptorState {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Whether the queue and the browser's send buffer together have room for more.
    fn has_room(&self, conn: &WsConnection) -> bool {
        (self.outbox_len as u64).saturating_add(u64::from(conn.buffered_amount()))
            < u64::from(SEND_BUFFER_HIGH_WATER)
    }
}

/// A peer connection as LDK sees it: equal and hashed by a process-unique id.
#[derive(Clone)]
pub struct WsDescriptor {
    id: u64,
    conn: WsConnection,
    state: Rc<RefCell<DescriptorState>>,
    write_ahead: Rc<dyn WriteAhead>,
}

impl WsDescriptor {
    fn new(conn: WsConnection, write_ahead: Rc<dyn WriteAhead>) -> WsDescriptor {
        WsDescriptor {
            id: NEXT_DESCRIPTOR_ID.fetch_add(1, Ordering::Relaxed),
            conn,
            state: Rc::new(RefCell::new(DescriptorState::default())),
            write_ahead,
        }
    }

    /// The unique id of this connection.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The underlying websocket.
    pub fn connection(&self) -> &WsConnection {
        &self.conn
    }
}

impl PartialEq for WsDescriptor {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for WsDescriptor {}
impl Hash for WsDescriptor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl SocketDescriptor for WsDescriptor {
    fn send_data(&mut self, data: &[u8], continue_read: bool) -> usize {
        let mut st = self.state.borrow_mut();
        let was_paused = st.read_paused;
        st.read_paused = !continue_read;
        if was_paused && continue_read {
            st.wake();
        }
        if data.is_empty() || st.disconnect_requested || !self.conn.is_open() {
            return 0;
        }
        if !st.has_room(&self.conn) {
            st.write_blocked = true;
            st.wake();
            return 0;
        }
        // Sent by the task once the write-ahead allows: see `release_outbox`.
        st.outbox_len += data.len();
        st.outbox.push_back(data.to_vec());
        st.wake();
        data.len()
    }

    /// LDK forgets the peer; the bytes `send_data` already counted as sent still leave once the
    /// write-ahead allows (as they would have, had they gone straight to the websocket), and
    /// only then does the connection's task close the socket. That is how `stop()`'s last
    /// `revoke_and_ack` reaches the LSP.
    fn disconnect_socket(&mut self) {
        let mut st = self.state.borrow_mut();
        st.disconnect_requested = true;
        st.wake();
    }
}

enum Step {
    Frame(Vec<u8>),
    WriteSpace,
    DisconnectRequested,
    WriteAheadFailed,
    Closed,
}

/// A write-ahead asked for the first `chunks` queued chunks.
struct Release {
    durable: Pin<Box<dyn Future<Output = bool>>>,
    chunks: usize,
}

/// Sends what the write-ahead has allowed and asks it for what was queued since. `Err` if it
/// failed.
fn release_outbox(
    desc: &WsDescriptor,
    release: &mut Option<Release>,
    cx: &mut Context<'_>,
) -> Result<(), ()> {
    loop {
        if let Some(pending) = release.as_mut() {
            match pending.durable.as_mut().poll(cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(false) => return Err(()),
                Poll::Ready(true) => {
                    let chunks = pending.chunks;
                    *release = None;
                    let mut st = desc.state.borrow_mut();
                    for _ in 0..chunks {
                        // The queue loses chunks only here.
                        let Some(chunk) = st.outbox.pop_front() else {
                            break;
                        };
                        st.outbox_len -= chunk.len();
                        // A failed send means the socket closed: its close reaches this task.
                        let _ = desc.conn.send(&chunk);
                    }
                }
            }
        }
        let chunks = desc.state.borrow().outbox.len();
        if chunks == 0 {
            return Ok(());
        }
        // Asked outside any borrow: the write-ahead may do real work (encode and write).
        *release = Some(Release {
            durable: desc.write_ahead.durable(),
            chunks,
        });
    }
}

fn poll_step(
    desc: &WsDescriptor,
    write_timer: &mut Option<Sleep>,
    release: &mut Option<Release>,
    cx: &mut Context<'_>,
) -> Poll<Step> {
    desc.state.borrow_mut().waker = Some(cx.waker().clone());
    let released = release_outbox(desc, release, cx);
    if desc.state.borrow().disconnect_requested {
        // Once what was queued has left (or will never leave: a failed write-ahead, a closed
        // socket), the socket closes.
        let nothing_to_send = desc.state.borrow().outbox.is_empty();
        if released.is_err()
            || nothing_to_send
            || !desc.conn.is_open()
            || desc.conn.poll_closed(cx).is_ready()
        {
            return Poll::Ready(Step::DisconnectRequested);
        }
        return Poll::Pending;
    }
    if released.is_err() {
        return Poll::Ready(Step::WriteAheadFailed);
    }
    let mut st = desc.state.borrow_mut();
    if st.write_blocked {
        if st.has_room(&desc.conn) || !desc.conn.is_open() {
            st.write_blocked = false;
            *write_timer = None;
            return Poll::Ready(Step::WriteSpace);
        }
        let timer = write_timer.get_or_insert_with(|| time::sleep(SEND_CAPACITY_POLL));
        if Pin::new(timer).poll(cx).is_ready() {
            // Re-arm and re-check on the next poll.
            *write_timer = None;
            cx.waker().wake_by_ref();
        }
    }
    let paused = st.read_paused;
    drop(st);
    if !paused {
        match desc.conn.poll_recv(cx) {
            Poll::Ready(Some(frame)) => return Poll::Ready(Step::Frame(frame)),
            Poll::Ready(None) => return Poll::Ready(Step::Closed),
            Poll::Pending => {}
        }
    } else if desc.conn.poll_closed(cx).is_ready() {
        return Poll::Ready(Step::Closed);
    }
    Poll::Pending
}

/// Runs one connection: feeds inbound frames to `read_event` (then `process_events`),
/// reports freed send space and the socket's end. Returns when the connection is over.
async fn drive<PM>(peer_manager: PM, mut desc: WsDescriptor)
where
    PM: Deref,
    PM::Target: APeerManager<Descriptor = WsDescriptor>,
{
    let mut write_timer: Option<Sleep> = None;
    let mut release: Option<Release> = None;
    loop {
        let step = poll_fn(|cx| poll_step(&desc, &mut write_timer, &mut release, cx)).await;
        let pm = APeerManager::as_ref(&*peer_manager);
        match step {
            Step::Frame(frame) => {
                if pm.read_event(&mut desc, &frame).is_err() {
                    desc.conn.close();
                    return;
                }
                pm.process_events();
            }
            Step::WriteSpace => {
                if pm.write_buffer_space_avail(&mut desc).is_err() {
                    desc.conn.close();
                    return;
                }
            }
            Step::DisconnectRequested => {
                desc.conn.close();
                return;
            }
            Step::WriteAheadFailed => {
                desc.conn.close();
                pm.socket_disconnected(&desc);
                return;
            }
            Step::Closed => {
                pm.socket_disconnected(&desc);
                return;
            }
        }
    }
}

/// Registers `conn` with the peer manager as an outbound connection to `their_node_id`,
/// sends the first handshake act, and returns the future that runs the connection (spawn
/// it with `wasm_bindgen_futures::spawn_local`). `remote_address` is what LDK reports to
/// the peer as its address (`None` is fine behind a proxy). Outbound bytes wait for
/// `write_ahead`.
pub fn setup_outbound<PM>(
    peer_manager: PM,
    their_node_id: PublicKey,
    conn: WsConnection,
    remote_address: Option<SocketAddress>,
    write_ahead: Rc<dyn WriteAhead>,
) -> Result<impl Future<Output = ()>, PeerHandleError>
where
    PM: Deref,
    PM::Target: APeerManager<Descriptor = WsDescriptor>,
{
    let mut desc = WsDescriptor::new(conn, write_ahead);
    let act_one = APeerManager::as_ref(&*peer_manager).new_outbound_connection(
        their_node_id,
        desc.clone(),
        remote_address,
    )?;
    if desc.send_data(&act_one, true) != act_one.len() {
        APeerManager::as_ref(&*peer_manager).socket_disconnected(&desc);
        desc.conn.close();
        return Err(PeerHandleError {});
    }
    Ok(drive(peer_manager, desc))
}

/// Registers `conn` with the peer manager as an inbound connection and returns the future
/// that runs it. Outbound bytes wait for `write_ahead`.
pub fn setup_inbound<PM>(
    peer_manager: PM,
    conn: WsConnection,
    remote_address: Option<SocketAddress>,
    write_ahead: Rc<dyn WriteAhead>,
) -> Result<impl Future<Output = ()>, PeerHandleError>
where
    PM: Deref,
    PM::Target: APeerManager<Descriptor = WsDescriptor>,
{
    let desc = WsDescriptor::new(conn, write_ahead);
    APeerManager::as_ref(&*peer_manager).new_inbound_connection(desc.clone(), remote_address)?;
    Ok(drive(peer_manager, desc))
}

/// Why [`connect_outbound`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerConnectError {
    /// The websocket did not open.
    Ws(WsError),
    /// The peer manager refused the connection (e.g. already connected to that node).
    Refused,
}

impl PeerConnectError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PeerConnectError::Ws(e) => e.code(),
            PeerConnectError::Refused => "peer_refused",
        }
    }
}

impl core::fmt::Display for PeerConnectError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PeerConnectError::Ws(e) => write!(f, "{e}"),
            PeerConnectError::Refused => write!(f, "the peer manager refused the connection"),
        }
    }
}

impl std::error::Error for PeerConnectError {}

/// Opens `url` (a ws→TCP proxy that reaches the peer) and starts an outbound connection
/// to `their_node_id` on it; returns the future that runs the connection until it ends.
/// Outbound bytes wait for `write_ahead`.
pub async fn connect_outbound<PM>(
    peer_manager: PM,
    their_node_id: PublicKey,
    url: &str,
    timeout: Duration,
    write_ahead: Rc<dyn WriteAhead>,
) -> Result<impl Future<Output = ()>, PeerConnectError>
where
    PM: Deref,
    PM::Target: APeerManager<Descriptor = WsDescriptor>,
{
    let conn = WsConnection::connect(url, timeout)
        .await
        .map_err(PeerConnectError::Ws)?;
    setup_outbound(peer_manager, their_node_id, conn, None, write_ahead)
        .map_err(|_| PeerConnectError::Refused)
}
