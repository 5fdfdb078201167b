//! How the wallet paces its chain source, so that a public Esplora server tolerates it.
//!
//! Public Esplora servers rate-limit browsers (HTTP 429, refused connections, 5xx). The wallet:
//! - syncs every [`SyncPolicy::interval`] of its network: 5 s on regtest (the devnet, where
//!   tests wait on it), 30 s elsewhere. An idle round asks one thing, the tip's hash, and
//!   fetches more only when the tip moved or something new is watched (`sync.rs`);
//! - refreshes fee estimates at most every [`SyncPolicy::fee_refresh`], or when the user asks
//!   (`sync()`), instead of on every round;
//! - after a round the chain source failed, waits longer before the next one
//!   ([`SyncSchedule::failed`]): the interval doubled for each failure in a row, at most
//!   [`MAX_BACKOFF`], and never less than the server's `Retry-After`. The first round that
//!   succeeds puts it back to the interval.
//!
//! Plain Rust, unit-tested natively; the loop that sleeps is `node/background.rs`.

use core::time::Duration;

use bitcoin::Network;

use super::EsploraError;
use crate::net::HttpError;

/// The longest wait between two rounds while the chain source keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The longest `Retry-After` honoured: a server asking for more is asked again after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why the chain source could not serve a round. Stable snake_case names ([`code`](Self::code))
/// are the `reason` of a `CHAIN_SOURCE_UNAVAILABLE` error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainFault {
    /// HTTP 429: the server rate-limits this client.
    RateLimited,
    /// HTTP 5xx.
    ServerError,
    /// No answer at all: refused connection, DNS, offline, or a refusal without CORS headers
    /// (browsers hide which; a CDN's 429 often looks like this).
    Unreachable,
    /// No complete answer in time.
    Timeout,
    /// Another HTTP refusal (a 4xx other than 429 where an answer was due).
    Refused,
    /// An answer that is not what the API documents, or that contradicts itself.
    BadAnswer,
}

impl ChainFault {
    /// The stable name.
    pub fn code(self) -> &'static str {
        match self {
            ChainFault::RateLimited => "rate_limited",
            ChainFault::ServerError => "server_error",
            ChainFault::Unreachable => "unreachable",
            ChainFault::Timeout => "timeout",
            ChainFault::Refused => "refused",
            ChainFault::BadAnswer => "bad_answer",
        }
    }
}

/// A failed round's cause, with how long the server asked the wallet to wait, if it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainUnavailable {
    /// What went wrong.
    pub fault: ChainFault,
    /// The server's `Retry-After` in seconds (only when the browser lets the page read it: the
    /// server must list it in `Access-Control-Expose-Headers`).
    pub retry_after_secs: Option<u32>,
}

impl ChainUnavailable {
    /// The cause of an Esplora call's failure.
    pub fn of_esplora(e: &EsploraError) -> ChainUnavailable {
        let fault = match e {
            EsploraError::Http(h) => return ChainUnavailable::of_http(h),
            EsploraError::Parse { .. } | EsploraError::Mismatch(_) => ChainFault::BadAnswer,
        };
        ChainUnavailable {
            fault,
            retry_after_secs: None,
        }
    }

    /// The cause of an HTTP failure.
    pub fn of_http(e: &HttpError) -> ChainUnavailable {
        let (fault, retry_after_secs) = match e {
            HttpError::Status {
                status: 429,
                retry_after_secs,
                ..
            } => (ChainFault::RateLimited, *retry_after_secs),
            HttpError::Status {
                status,
                retry_after_secs,
                ..
            } if *status >= 500 => (ChainFault::ServerError, *retry_after_secs),
            HttpError::Status { .. } => (ChainFault::Refused, None),
            HttpError::Network(_) => (ChainFault::Unreachable, None),
            HttpError::Timeout { .. } => (ChainFault::Timeout, None),
            HttpError::InvalidRequest(_)
            | HttpError::BodyNotText
            | HttpError::Json(_)
            | HttpError::BodyTooLarge { .. } => (ChainFault::BadAnswer, None),
        };
        ChainUnavailable {
            fault,
            retry_after_secs,
        }
    }
}

/// How often a network's chain source is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncPolicy {
    /// Between two rounds that succeeded.
    pub interval: Duration,
    /// The most fee estimates are reused before they are asked again.
    pub fee_refresh: Duration,
}

impl SyncPolicy {
    /// The policy for `network`: the devnet's regtest at test speed, public networks politely.
    pub fn for_network(network: Network) -> SyncPolicy {
        match network {
            Network::Regtest => SyncPolicy {
                interval: Duration::from_secs(5),
                fee_refresh: Duration::from_secs(5),
            },
            _ => SyncPolicy {
                interval: Duration::from_secs(30),
                fee_refresh: Duration::from_secs(300),
            },
        }
    }

    /// Whether a round at `now_ms` asks for fee estimates: when none were fetched yet
    /// (`last_ms` `None`), when the user asked (`explicit`), or when the last are older than
    /// [`fee_refresh`](Self::fee_refresh).
    pub fn fee_refresh_due(&self, last_ms: Option<u64>, now_ms: u64, explicit: bool) -> bool {
        match last_ms {
            None => true,
            Some(_) if explicit => true,
            Some(last) => now_ms.saturating_sub(last) >= self.fee_refresh.as_millis() as u64,
        }
    }
}

/// The wait before each look at the chain source: an interval while it answers, growing while it
/// fails.
#[derive(Clone, Debug)]
pub struct SyncSchedule {
    interval: Duration,
    failures: u32,
}

impl SyncSchedule {
    /// A schedule of `interval` (a [`SyncPolicy::interval`], or any other poll's) with no
    /// failure yet.
    pub fn new(interval: Duration) -> SyncSchedule {
        SyncSchedule {
            interval,
            failures: 0,
        }
    }

    /// Failed rounds in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A round succeeded (or failed for a reason that is not the chain source's): the wait
    /// before the next, the interval; the failure count starts over.
    pub fn succeeded(&mut self) -> Duration {
        self.failures = 0;
        self.interval
    }

    /// A round failed with `cause`: the wait before the next, the interval doubled for each
    /// failure in a row (at most [`MAX_BACKOFF`]), and never less than the server's
    /// `Retry-After` (itself at most [`MAX_RETRY_AFTER`]).
    pub fn failed(&mut self, cause: &ChainUnavailable) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doublings = (self.failures - 1).min(16);
        let backoff = self
            .interval
            .saturating_mul(1u32 << doublings)
            .min(MAX_BACKOFF);
        let asked = cause
            .retry_after_secs
            .map(|s| Duration::from_secs(u64::from(s)).min(MAX_RETRY_AFTER))
            .unwrap_or(Duration::ZERO);
        backoff.max(asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after_secs: Option<u32>) -> HttpError {
        HttpError::Status {
            status,
            body: String::new(),
            retry_after_secs,
        }
    }

    #[test]
    fn failures_are_classified_with_the_servers_wait() {
        let of = |e: HttpError| ChainUnavailable::of_esplora(&EsploraError::Http(e));
        assert_eq!(
            of(status(429, Some(20))),
            ChainUnavailable {
                fault: ChainFault::RateLimited,
                retry_after_secs: Some(20)
            }
        );
        assert_eq!(of(status(503, Some(7))).retry_after_secs, Some(7));
        assert_eq!(of(status(502, None)).fault, ChainFault::ServerError);
        assert_eq!(of(status(403, Some(9))).fault, ChainFault::Refused);
        assert_eq!(of(status(403, Some(9))).retry_after_secs, None);
        assert_eq!(
            of(HttpError::Network("refused".into())).fault,
            ChainFault::Unreachable
        );
        assert_eq!(
            of(HttpError::Timeout { millis: 1 }).fault,
            ChainFault::Timeout
        );
        assert_eq!(
            ChainUnavailable::of_esplora(&EsploraError::Mismatch("txid".into())).fault,
            ChainFault::BadAnswer
        );
        assert_eq!(ChainFault::RateLimited.code(), "rate_limited");
    }

    #[test]
    fn public_networks_are_polled_politely_and_regtest_at_test_speed() {
        let main = SyncPolicy::for_network(Network::Bitcoin);
        assert_eq!(main.interval, Duration::from_secs(30));
        assert_eq!(SyncPolicy::for_network(Network::Signet), main);
        assert_eq!(
            SyncPolicy::for_network(Network::Regtest).interval,
            Duration::from_secs(5)
        );
        // Fee estimates: first round, on demand, and then every five minutes.
        assert!(main.fee_refresh_due(None, 0, false));
        assert!(!main.fee_refresh_due(Some(1_000), 1_000 + 299_999, false));
        assert!(main.fee_refresh_due(Some(1_000), 1_000 + 300_000, false));
        assert!(main.fee_refresh_due(Some(1_000), 1_001, true));
    }

    #[test]
    fn failures_back_off_exponentially_honour_retry_after_and_reset() {
        let mut s = SyncSchedule::new(SyncPolicy::for_network(Network::Bitcoin).interval);
        let plain = ChainUnavailable {
            fault: ChainFault::Unreachable,
            retry_after_secs: None,
        };
        let waits: Vec<u64> = (0..7).map(|_| s.failed(&plain).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(s.failures(), 7);
        assert_eq!(s.succeeded(), Duration::from_secs(30));
        assert_eq!(s.failures(), 0);
        // The server's wait wins when longer, and is capped at an hour.
        let asked = |secs| ChainUnavailable {
            fault: ChainFault::RateLimited,
            retry_after_secs: Some(secs),
        };
        assert_eq!(s.failed(&asked(90)), Duration::from_secs(90));
        assert_eq!(s.failed(&asked(5)), Duration::from_secs(60));
        assert_eq!(s.failed(&asked(u32::MAX)), MAX_RETRY_AFTER);
        // Thousands of failures do not overflow.
        for _ in 0..10_000 {
            s.failed(&plain);
        }
        assert_eq!(s.failed(&plain), MAX_BACKOFF);
    }
}
