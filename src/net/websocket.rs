//! A binary websocket: BOLT8 bytes to a ws→TCP proxy (`ws://host:port/<anything>`, the
//! URL is the caller's).
//!
//! Guarantees: inbound binary frames are queued in arrival order and never dropped while
//! the connection lives; the browser offers no way to pause reading, so the queue is bounded by
//! [`MAX_INBOUND_QUEUE_BYTES`] of unread bytes, past which the connection is closed
//! ([`WsError::QueueFull`], the queue dropped); a text frame closes the connection
//! ([`WsError::UnexpectedText`]); `send`
//! hands the whole frame to the browser or fails, and [`WsConnection::has_send_capacity`]
//! / [`WsConnection::send_capacity`] give backpressure on `bufferedAmount`. The socket is
//! closed when the last handle is dropped.

use core::cell::RefCell;
use core::future::{poll_fn, Future};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::limits::{ByteBudget, MAX_INBOUND_QUEUE_BYTES};
use super::WsError;
use crate::browser;
use crate::time;

/// `send` refuses nothing, but [`WsConnection::has_send_capacity`] turns false once this
/// many bytes wait in the browser's send buffer.
pub const SEND_BUFFER_HIGH_WATER: u32 = 128 * 1024;

/// The close code browsers report for a connection that ended without a close frame (RFC 6455
/// 7.4.1); used when only an `error` event says that it ended.
const ABNORMAL_CLOSURE: u16 = 1006;

/// How often a writer blocked on [`SEND_BUFFER_HIGH_WATER`] re-checks `bufferedAmount`:
/// browsers fire no event when the send buffer drains.
pub const SEND_CAPACITY_POLL: Duration = Duration::from_millis(10);

struct Shared {
    inbound: VecDeque<Vec<u8>>,
    /// Unread inbound bytes against [`MAX_INBOUND_QUEUE_BYTES`].
    queued: ByteBudget,
    opened: bool,
    /// Close code and reason once the `close` event fired.
    closed: Option<(u16, String)>,
    /// A protocol error that made us close the socket.
    error: Option<WsError>,
    /// Bytes handed to the browser by `send`.
    sent: u64,
    wakers: Vec<Waker>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            inbound: VecDeque::new(),
            queued: ByteBudget::new(MAX_INBOUND_QUEUE_BYTES),
            opened: false,
            closed: None,
            error: None,
            sent: 0,
            wakers: Vec::new(),
        }
    }
}

impl Shared {
    /// The next queued frame, its bytes released from the budget.
    fn pop(&mut self) -> Option<Vec<u8>> {
        let frame = self.inbound.pop_front()?;
        self.queued.release(frame.len());
        Some(frame)
    }

    fn register(&mut self, waker: &Waker) {
        if !self.wakers.iter().any(|w| w.will_wake(waker)) {
            self.wakers.push(waker.clone());
        }
    }

    fn wake_all(&mut self) {
        for w in self.wakers.drain(..) {
            w.wake();
        }
    }
}

struct Inner {
    ws: WebSocket,
    shared: Rc<RefCell<Shared>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

/// An open (or once-open) binary websocket. Clones share the socket.
#[derive(Clone)]
pub struct WsConnection {
    inner: Rc<Inner>,
}

impl WsConnection {
    /// Opens `url` (`ws://` or `wss://`) with `binaryType = "arraybuffer"` and waits until it
    /// is open, failed, or `timeout` passed (then it is closed).
    pub async fn connect(url: &str, timeout: Duration) -> Result<WsConnection, WsError> {
        let ws =
            WebSocket::new(url).map_err(|e| WsError::InvalidUrl(browser::describe_js_error(&e)))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let shared = Rc::new(RefCell::new(Shared::default()));

        let on_open = {
            let shared = shared.clone();
            Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
                let mut s = shared.borrow_mut();
                s.opened = true;
                s.wake_all();
            })
        };
        let on_message = {
            let shared = shared.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let data = event.data();
                let mut s = shared.borrow_mut();
                if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
                    if s.error.is_some() {
                        // Closing after a protocol error: nothing more is kept.
                    } else if let Err(over) = s.queued.take(buffer.byte_length() as usize) {
                        s.error = Some(WsError::QueueFull { limit: over.limit });
                        s.inbound.clear();
                        if let Some(ws) =
                            event.target().and_then(|t| t.dyn_into::<WebSocket>().ok())
                        {
                            let _ = ws.close_with_code_and_reason(1008, "inbound queue full");
                        }
                    } else {
                        s.inbound.push_back(Uint8Array::new(buffer).to_vec());
                    }
                } else if s.error.is_none() {
                    s.error = Some(WsError::UnexpectedText);
                    if let Some(ws) = event.target().and_then(|t| t.dyn_into::<WebSocket>().ok()) {
                        let _ = ws.close_with_code_and_reason(1003, "binary frames only");
                    }
                }
                s.wake_all();
            })
        };
        let on_close = {
            let shared = shared.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let mut s = shared.borrow_mut();
                s.closed = Some((event.code(), event.reason()));
                s.wake_all();
            })
        };
        // `error` carries no detail. Chromium and Firefox follow it with `close`; WebKit does
        // not for a refused connection (src/browser.rs), so `error` ends the connection itself,
        // as an abnormal closure (1006); a `close` event, before or after, gives its own code.
        let on_error = {
            let shared = shared.clone();
            Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
                let mut s = shared.borrow_mut();
                if s.closed.is_none() {
                    s.closed = Some((ABNORMAL_CLOSURE, "error event".to_owned()));
                }
                s.wake_all();
            })
        };
        ws.set_onopen(Some(on_open.into_js_value().unchecked_ref()));
        ws.set_onmessage(Some(on_message.into_js_value().unchecked_ref()));
        ws.set_onclose(Some(on_close.into_js_value().unchecked_ref()));
        ws.set_onerror(Some(on_error.into_js_value().unchecked_ref()));

        let conn = WsConnection {
            inner: Rc::new(Inner { ws, shared }),
        };
        let opened = poll_fn(|cx| {
            let mut s = conn.inner.shared.borrow_mut();
            if s.opened {
                return Poll::Ready(Ok(()));
            }
            if let Some((code, reason)) = &s.closed {
                return Poll::Ready(Err(WsError::ConnectFailed {
                    code: *code,
                    reason: reason.clone(),
                }));
            }
            s.register(cx.waker());
            Poll::Pending
        });
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let outcome = time::timeout(timeout, opened).await;
        match outcome {
            Ok(Ok(())) => Ok(conn),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(WsError::Timeout { millis }), // dropping `conn` closes the socket
        }
    }

    /// The URL as the browser resolved it.
    pub fn url(&self) -> String {
        self.inner.ws.url()
    }

    /// True while frames can be sent (`readyState` is OPEN).
    pub fn is_open(&self) -> bool {
        self.inner.ws.ready_state() == WebSocket::OPEN
    }

    /// Why the connection ended, once it has: the protocol error that made us close it,
    /// else the close code and reason. `None` while it is open.
    pub fn close_reason(&self) -> Option<WsError> {
        let s = self.inner.shared.borrow();
        if let Some(e) = &s.error {
            return Some(e.clone());
        }
        s.closed.as_ref().map(|(code, reason)| WsError::Closed {
            code: *code,
            reason: reason.clone(),
        })
    }

    /// Sends `data` as one binary frame. The browser copies it; `Ok` means queued for
    /// sending, not delivered.
    pub fn send(&self, data: &[u8]) -> Result<(), WsError> {
        if !self.is_open() {
            return Err(self.close_reason().unwrap_or(WsError::Closed {
                code: 1006,
                reason: "not open".into(),
            }));
        }
        self.inner
            .ws
            .send_with_u8_array(data)
            .map_err(|e| WsError::SendFailed(browser::describe_js_error(&e)))?;
        let mut s = self.inner.shared.borrow_mut();
        s.sent = s.sent.saturating_add(data.len() as u64);
        Ok(())
    }

    /// Bytes `send` has handed to the browser over the connection's life (the browser sends
    /// them before a close frame that follows).
    pub fn bytes_sent(&self) -> u64 {
        self.inner.shared.borrow().sent
    }

    /// Bytes queued by `send` and not yet handed to the network.
    pub fn buffered_amount(&self) -> u32 {
        self.inner.ws.buffered_amount()
    }

    /// Whether the send buffer is below [`SEND_BUFFER_HIGH_WATER`].
    pub fn has_send_capacity(&self) -> bool {
        self.buffered_amount() < SEND_BUFFER_HIGH_WATER
    }

    /// Waits until the send buffer is below [`SEND_BUFFER_HIGH_WATER`] (polling every
    /// [`SEND_CAPACITY_POLL`]) or the connection is no longer open.
    pub async fn send_capacity(&self) {
        while self.is_open() && !self.has_send_capacity() {
            time::sleep(SEND_CAPACITY_POLL).await;
        }
    }

    /// The next inbound frame, or `None` once the connection is closed and every frame
    /// received before the close has been taken.
    pub fn recv(&self) -> impl Future<Output = Option<Vec<u8>>> + '_ {
        poll_fn(move |cx| self.poll_recv(cx))
    }

    /// The next queued inbound frame, if any, without waiting.
    pub fn try_recv(&self) -> Option<Vec<u8>> {
        self.inner.shared.borrow_mut().pop()
    }

    /// Polls for the next inbound frame (see [`recv`](Self::recv)).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut s = self.inner.shared.borrow_mut();
        if let Some(frame) = s.pop() {
            return Poll::Ready(Some(frame));
        }
        if s.closed.is_some() {
            return Poll::Ready(None);
        }
        s.register(cx.waker());
        Poll::Pending
    }

    /// Whether an inbound frame is queued.
    pub fn has_inbound(&self) -> bool {
        !self.inner.shared.borrow().inbound.is_empty()
    }

    /// Polls until the `close` event has fired; registers the waker for any change.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.inner.shared.borrow_mut();
        if s.closed.is_some() {
            return Poll::Ready(());
        }
        s.register(cx.waker());
        Poll::Pending
    }

    /// Waits until the connection is closed (by either side).
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| self.poll_closed(cx))
    }

    /// Starts a normal close (code 1000). Frames already received stay readable.
    pub fn close(&self) {
        let _ = self.inner.ws.close_with_code(1000);
    }

    /// Whether two handles share one socket.
    pub fn same_socket(&self, other: &WsConnection) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}
