//! What browsers ask the devnet's Esplora, counted: the figures behind "a chain client public
//! servers tolerate" (BENCHMARKS.md). Only requests with an `Origin` are counted (the wallet in
//! a page; the devnet's own nodes sync from the same server and are not), refused ones included:
//! a public server pays for those too.
//!
//! Each request is counted under its route (`GET /block/{hash}/header`: 64-hex segments become
//! `{hash}`, numbers `{n}`) and, for answers that never change (a block's header, a
//! transaction's bytes: both addressed by their hash), under its exact path too, so a test can
//! see whether the wallet asked the same immutable thing twice. The most requests in flight at
//! once (from a request's arrival to its answer's headers) is kept too.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Requests counted since the last reset.
#[derive(Default)]
pub struct EsploraRequests(Mutex<Counts>);

#[derive(Clone, Debug, Default, Serialize)]
struct Counts {
    by_route: BTreeMap<String, u64>,
    immutable: BTreeMap<String, u64>,
    in_flight: u64,
    max_in_flight: u64,
}

/// What `GET /chain/esplora-requests` answers.
#[derive(Clone, Debug, Serialize)]
pub struct RequestReport {
    /// All browser requests since the last reset.
    pub total: u64,
    /// Per route.
    pub by_route: BTreeMap<String, u64>,
    /// Immutable answers asked for more than once: exact path → times asked.
    pub repeated_immutable: BTreeMap<String, u64>,
    /// The most requests in flight at once.
    pub max_in_flight: u64,
}

/// One request in flight; counted out when dropped.
pub struct InFlight<'a>(&'a EsploraRequests);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut c = (self.0).0.lock().unwrap_or_else(|e| e.into_inner());
        c.in_flight = c.in_flight.saturating_sub(1);
    }
}

/// `GET /block/{hash}/header`, for a method and a path.
pub fn route_of(method: &str, path: &str) -> String {
    let segments: Vec<String> = path
        .split('/')
        .map(|s| {
            if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                "{hash}".to_string()
            } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{n}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("{method} {}", segments.join("/"))
}

/// Whether a route's answer can never change: a header and a transaction's raw bytes are
/// addressed by their own hash.
fn immutable(route: &str) -> bool {
    matches!(
        route,
        "GET /block/{hash}/header" | "GET /tx/{hash}/raw" | "GET /tx/{hash}/hex"
    )
}

impl EsploraRequests {
    /// Counts one request, in flight until the returned guard is dropped.
    pub fn record(&self, method: &str, path: &str) -> InFlight<'_> {
        let route = route_of(method, path);
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if immutable(&route) {
            *c.immutable.entry(path.to_string()).or_default() += 1;
        }
        *c.by_route.entry(route).or_default() += 1;
        c.in_flight += 1;
        c.max_in_flight = c.max_in_flight.max(c.in_flight);
        InFlight(self)
    }

    /// The counts since the last reset.
    pub fn report(&self) -> RequestReport {
        let c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        RequestReport {
            total: c.by_route.values().sum(),
            by_route: c.by_route.clone(),
            repeated_immutable: c
                .immutable
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(p, n)| (p.clone(), *n))
                .collect(),
            max_in_flight: c.max_in_flight,
        }
    }

    /// Starts counting from zero (requests in flight stay counted until they end).
    pub fn reset(&self) {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let in_flight = c.in_flight;
        *c = Counts {
            in_flight,
            max_in_flight: in_flight,
            ..Counts::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_repeats() {
        let h = "ab".repeat(32);
        assert_eq!(
            route_of("GET", &format!("/block/{h}/header")),
            "GET /block/{hash}/header"
        );
        assert_eq!(
            route_of("GET", "/block-height/105"),
            "GET /block-height/{n}"
        );
        assert_eq!(route_of("POST", "/tx"), "POST /tx");
        let r = EsploraRequests::default();
        drop(r.record("GET", "/blocks/tip/hash"));
        let a = r.record("GET", &format!("/block/{h}/header"));
        let b = r.record("GET", &format!("/block/{h}/header"));
        drop((a, b));
        drop(r.record("GET", &format!("/block/{h}/status")));
        drop(r.record("GET", &format!("/block/{h}/status")));
        let report = r.report();
        assert_eq!(report.total, 5);
        assert_eq!(report.max_in_flight, 2);
        assert_eq!(report.by_route["GET /block/{hash}/status"], 2);
        assert_eq!(
            report.repeated_immutable.into_iter().collect::<Vec<_>>(),
            vec![(format!("/block/{h}/header"), 2)],
            "a status may change; a header may not"
        );
        r.reset();
        assert_eq!(r.report().total, 0);
    }
}
