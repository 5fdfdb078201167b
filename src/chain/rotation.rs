//! Which of the wallet's Esplora servers a sync round uses: the configured one
//! (`esploraUrl`, index 0) or its fallback (`esploraFallbackUrl`).
//!
//! Invariants kept by [`SourceRotation`]:
//! - a round uses one server from its first request to its last: the answers of two servers are
//!   never mixed in one round (two servers may be a block apart, and a round that asked one for
//!   the tip and the other for that tip's status would see a reorg that did not happen);
//! - after a round its server failed, the next round uses the next server, at once while a server
//!   not yet tried in this run of failures remains ([`SourceRotation::failed`] says so); once every
//!   server failed in a row the caller backs off (`pacing::SyncSchedule`);
//! - a working fallback is kept (no flapping), but after [`RETURN_AFTER_ROUNDS`] good rounds on it
//!   the configured server is tried again: it is the one the user chose.
//!
//! Plain Rust, unit-tested natively; the servers themselves are `sources.rs` (wasm32).

/// Good rounds on a fallback before the configured server is tried again (10 minutes at a
/// public network's 30 s interval).
pub const RETURN_AFTER_ROUNDS: u32 = 20;

/// The rotation over `servers` servers (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRotation {
    servers: usize,
    active: usize,
    failed_in_a_row: usize,
    good_rounds_on_fallback: u32,
}

impl SourceRotation {
    /// A rotation starting on the configured server.
    pub fn new(servers: usize) -> SourceRotation {
        SourceRotation {
            servers: servers.max(1),
            active: 0,
            failed_in_a_row: 0,
            good_rounds_on_fallback: 0,
        }
    }

    /// The server the next round uses.
    pub fn active(&self) -> usize {
        self.active
    }

    /// A round on `server` succeeded.
    pub fn succeeded(&mut self, server: usize) {
        if server != self.active {
            return; // a round that started before the rotation moved
        }
        self.failed_in_a_row = 0;
        if self.active != 0 {
            self.good_rounds_on_fallback += 1;
            if self.good_rounds_on_fallback >= RETURN_AFTER_ROUNDS {
                self.active = 0;
                self.good_rounds_on_fallback = 0;
            }
        }
    }

    /// A round on `server` failed because of its server: the next round uses the next server.
    /// Returns whether that server is one not yet tried in this run of failures (so the next
    /// round may start at once rather than back off).
    pub fn failed(&mut self, server: usize) -> bool {
        if server == self.active {
            self.failed_in_a_row += 1;
            self.active = (self.active + 1) % self.servers;
            self.good_rounds_on_fallback = 0;
        }
        self.another_untried()
    }

    /// Whether a server not yet tried in the current run of failures remains.
    pub fn another_untried(&self) -> bool {
        self.failed_in_a_row > 0 && self.failed_in_a_row < self.servers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_backs_off_at_once() {
        let mut r = SourceRotation::new(1);
        assert!(!r.failed(0), "no other server to try");
        assert_eq!(r.active(), 0);
        r.succeeded(0);
        assert!(!r.another_untried());
    }

    #[test]
    fn a_failure_moves_to_the_fallback_at_once_and_it_is_kept() {
        let mut r = SourceRotation::new(2);
        assert!(r.failed(0), "the fallback is untried: no backoff");
        assert_eq!(r.active(), 1);
        for _ in 0..RETURN_AFTER_ROUNDS - 1 {
            r.succeeded(1);
            assert_eq!(r.active(), 1, "a working fallback is kept");
        }
        r.succeeded(1);
        assert_eq!(r.active(), 0, "then the configured server is tried again");
        assert!(r.failed(0), "still down: back to the fallback at once");
        assert_eq!(r.active(), 1);
    }

    #[test]
    fn both_failing_backs_off_and_alternates() {
        let mut r = SourceRotation::new(2);
        assert!(r.failed(0));
        assert!(!r.failed(1), "both failed in a row: back off");
        assert_eq!(r.active(), 0);
        assert!(!r.failed(0), "still in the same run of failures: back off");
        assert_eq!(r.active(), 1, "the rounds alternate between the two");
        r.succeeded(1);
        assert!(!r.another_untried());
        assert!(r.failed(1), "a new run of failures: the other at once");
    }

    #[test]
    fn a_stale_round_does_not_move_the_rotation() {
        let mut r = SourceRotation::new(2);
        assert!(r.failed(0));
        assert!(r.another_untried());
        // A round started on server 0 before the move ends late.
        r.succeeded(0);
        assert_eq!(r.active(), 1);
        assert!(r.failed(0), "ignored: still untried fallback pending");
        assert_eq!(r.active(), 1);
    }
}
