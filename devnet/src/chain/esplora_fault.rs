//! Faults of the devnet's Esplora as a public server shows them to a browser: rate limiting
//! (429 with `Retry-After`), server errors (503), dropped connections.
//!
//! They apply only to requests that carry an `Origin` header, i.e. a browser's cross-origin
//! fetches (the wallet under test); the devnet's own ldk-node nodes, which sync from the same
//! server, are never refused. A fault ends by itself after at most the time it was set for, so
//! a test that fails before ending it cannot leave it on for the tests after it. Every refusal
//! is recorded with its time, for tests that check how often the wallet asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::esplora_requests::EsploraRequests;

/// What the server does to a browser's request while the fault lasts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum EsploraFault {
    /// Answers normally.
    #[default]
    None,
    /// HTTP 429, with `Retry-After: retry_after_secs` when given (exposed to the page by the
    /// permissive CORS layer's `Access-Control-Expose-Headers: *`).
    RateLimit { retry_after_secs: Option<u32> },
    /// HTTP 503.
    ServerError,
    /// Sends a 200 status line, then drops the connection before any body: the page sees a
    /// network error.
    Drop,
}

#[derive(Default)]
struct FaultState {
    fault: EsploraFault,
    until_ms: u64,
    refused_at_ms: Vec<u64>,
}

impl FaultState {
    /// The fault, if it is set and its time has not run out.
    fn in_force(&self) -> Option<EsploraFault> {
        (self.fault != EsploraFault::None && now_ms() < self.until_ms).then_some(self.fault)
    }
}

/// The fault in force and the refusals it made. Shared by the control API (which sets it) and
/// the Esplora router (which applies it).
#[derive(Default)]
pub struct EsploraFaults(Mutex<FaultState>);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What `/chain/esplora-fault` reports: the fault set, whether it is still in force, and when
/// each refusal since it was set happened (unix ms).
#[derive(Clone, Debug, Serialize)]
pub struct FaultReport {
    pub fault: EsploraFault,
    pub active: bool,
    pub refused_at_ms: Vec<u64>,
}

impl EsploraFaults {
    /// Sets `fault` for at most `lasting` (clearing the record of refusals), or ends any fault
    /// with [`EsploraFault::None`].
    pub fn set(&self, fault: EsploraFault, lasting: Duration) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.fault = fault;
        s.until_ms = now_ms().saturating_add(u64::try_from(lasting.as_millis()).unwrap_or(0));
        s.refused_at_ms.clear();
    }

    /// The fault in force now, if any, with the refusal it makes recorded.
    fn refuse(&self) -> Option<EsploraFault> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let fault = s.in_force()?;
        s.refused_at_ms.push(now_ms());
        Some(fault)
    }

    /// The fault, whether it is in force, and its refusals so far.
    pub fn report(&self) -> FaultReport {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        FaultReport {
            fault: s.fault,
            active: s.in_force().is_some(),
            refused_at_ms: s.refused_at_ms.clone(),
        }
    }
}

/// Which of the devnet's two Esplora servers (one chain, served twice: a wallet's `esploraUrl`
/// and its `esploraFallbackUrl`), each with its own faults and counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsploraServer {
    /// The one every client uses.
    #[default]
    Primary,
    /// The second server, for wallets' fallback.
    Fallback,
}

/// One Esplora server as browsers see it: the fault in force there and the requests it served.
#[derive(Default)]
pub struct EsploraSite {
    /// Its faults towards browsers.
    pub faults: EsploraFaults,
    /// Its count of browsers' requests.
    pub requests: EsploraRequests,
}

/// The Esplora router's middleware: a browser's request (one with an `Origin`) is counted
/// ([`super::esplora_requests`]) and, preflights excepted, meets the fault in force; everything
/// else passes.
pub async fn apply_fault(
    State(site): State<Arc<EsploraSite>>,
    req: Request,
    next: Next,
) -> Response {
    let from_browser =
        req.headers().contains_key(header::ORIGIN) && req.method() != Method::OPTIONS;
    let _in_flight = req.headers().contains_key(header::ORIGIN).then(|| {
        site.requests
            .record(req.method().as_str(), req.uri().path())
    });
    let fault = if from_browser {
        site.faults.refuse()
    } else {
        None
    };
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    tracing::info!(target: "devnet::esplora", ?fault, path = %req.uri().path(), "esplora fault: request refused");
    match fault {
        EsploraFault::None => next.run(req).await,
        EsploraFault::RateLimit { retry_after_secs } => {
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
            if let Some(secs) = retry_after_secs {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            }
            resp
        }
        EsploraFault::ServerError => {
            (StatusCode::SERVICE_UNAVAILABLE, "server error").into_response()
        }
        EsploraFault::Drop => {
            let dropped = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("devnet: connection dropped"))
            });
            Response::new(Body::from_stream(dropped))
        }
    }
}
