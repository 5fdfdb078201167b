//! How much a peer or a server may make the wallet hold in memory. A hostile (or broken) proxy
//! peer or HTTP server could otherwise grow the wasm instance's memory until the tab dies; past
//! these limits the connection is closed or the request aborted, with a stable error code.

/// The most inbound websocket bytes queued and not yet read by LDK. LDK reads a BOLT8 peer's
/// bytes as fast as it processes them (messages are at most 65 535 bytes plus framing) and pauses
/// reading only while its own send buffer is full, so a peer that keeps sending past this is
/// flooding: the socket is closed ([`crate::net::WsError::QueueFull`]).
pub const MAX_INBOUND_QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// The default largest HTTP response body read (Esplora answers, LSP answers); a larger body is
/// refused and the request aborted ([`crate::net::HttpError::BodyTooLarge`]).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Counts bytes against a limit. Pure, so the rule is tested natively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteBudget {
    limit: usize,
    used: usize,
}

impl ByteBudget {
    /// A budget of `limit` bytes, none used.
    pub const fn new(limit: usize) -> ByteBudget {
        ByteBudget { limit, used: 0 }
    }

    /// Takes `n` more bytes; `Err` (and nothing taken) if that would pass the limit.
    pub fn take(&mut self, n: usize) -> Result<(), OverLimit> {
        match self.used.checked_add(n) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(())
            }
            _ => Err(OverLimit { limit: self.limit }),
        }
    }

    /// Gives `n` bytes back (they were consumed).
    pub fn release(&mut self, n: usize) {
        self.used = self.used.saturating_sub(n);
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// A budget was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverLimit {
    /// The limit that was hit.
    pub limit: usize,
}

/// Whether a response's `Content-Length` header already says the body is too large. An absent or
/// unreadable header says nothing (the body is then counted as it streams in).
pub fn declared_length_over(content_length: Option<&str>, limit: usize) -> bool {
    content_length
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_takes_up_to_the_limit_and_frees_on_release() {
        let mut b = ByteBudget::new(10);
        assert_eq!(b.take(4), Ok(()));
        assert_eq!(b.take(6), Ok(()));
        assert_eq!(b.take(1), Err(OverLimit { limit: 10 }));
        assert_eq!(b.used(), 10, "a refused take takes nothing");
        b.release(5);
        assert_eq!(b.take(5), Ok(()));
        assert_eq!(
            b.take(usize::MAX),
            Err(OverLimit { limit: 10 }),
            "no overflow"
        );
        b.release(usize::MAX);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn declared_length() {
        assert!(!declared_length_over(None, 100));
        assert!(!declared_length_over(Some("100"), 100));
        assert!(declared_length_over(Some(" 101 "), 100));
        assert!(
            !declared_length_over(Some("99999999999999999999"), 100),
            "past u64: unreadable, so it says nothing (the stream is counted)"
        );
        assert!(!declared_length_over(Some("abc"), 100));
    }
}
