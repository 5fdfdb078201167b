//! The websocket layer's error type.

use core::fmt;

/// Why a websocket operation failed. Each variant has a stable [`code`](WsError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsError {
    /// The URL was refused by the browser (not `ws:`/`wss:`, malformed, blocked port).
    InvalidUrl(String),
    /// The connection could not be opened (proxy down, target refused, TLS, mixed content).
    /// Browsers give no reason; `code` is the close code (usually 1006).
    ConnectFailed {
        /// The close code (usually 1006).
        code: u16,
        /// The close reason (usually empty).
        reason: String,
    },
    /// No open connection within the timeout.
    Timeout {
        /// The timeout that ran out, in milliseconds.
        millis: u64,
    },
    /// The connection is closed (or closing); nothing more can be sent.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason the peer or browser gave.
        reason: String,
    },
    /// `send` threw.
    SendFailed(String),
    /// The peer sent a text frame; BOLT8 over the proxy is binary only. The connection
    /// was closed.
    UnexpectedText,
    /// The peer sent more than [`crate::net::limits::MAX_INBOUND_QUEUE_BYTES`] that were not read
    /// yet (a flood); the connection was closed and its queue dropped.
    QueueFull {
        /// The most unread bytes the connection keeps.
        limit: usize,
    },
}

impl WsError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WsError::InvalidUrl(_) => "ws_invalid_url",
            WsError::ConnectFailed { .. } => "ws_connect_failed",
            WsError::Timeout { .. } => "ws_timeout",
            WsError::Closed { .. } => "ws_closed",
            WsError::SendFailed(_) => "ws_send_failed",
            WsError::UnexpectedText => "ws_unexpected_text",
            WsError::QueueFull { .. } => "ws_queue_full",
        }
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::InvalidUrl(m) => write!(f, "invalid websocket URL: {m}"),
            WsError::ConnectFailed { code, reason } => write!(
                f,
                "websocket connection failed (close code {code}) {reason}"
            ),
            WsError::Timeout { millis } => write!(f, "websocket not open within {millis} ms"),
            WsError::Closed { code, reason } => {
                write!(f, "websocket closed (code {code}) {reason}")
            }
            WsError::SendFailed(m) => write!(f, "websocket send failed: {m}"),
            WsError::UnexpectedText => {
                write!(f, "the peer sent a text frame on a binary connection")
            }
            WsError::QueueFull { limit } => write!(
                f,
                "the peer sent more than {limit} bytes not yet read: connection closed"
            ),
        }
    }
}

impl std::error::Error for WsError {}
