//! The RGS HTTP endpoint: `GET /snapshot/{since}` answers the snapshot of the graph for a client
//! that last synced at `since` (Unix seconds from its previous snapshot; 0: a full one), as
//! `application/octet-stream`, as LDK's RGS server does under its `/snapshot/` path. A `since` in
//! the future is refused (400): the client's stored timestamp is wrong. An [`RgsFault`] (set
//! through the control API) makes it serve a hostile snapshot instead, for the wallet's checks.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bitcoin::constants::ChainHash;
use lightning::routing::gossip::NetworkGraph;
use lightning::util::logger::Logger;
use tower_http::cors::CorsLayer;

use super::snapshot::{snapshot, SeenTimes};

/// A hostile snapshot served instead of the honest one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum RgsFault {
    /// Honest.
    #[default]
    None,
    /// The honest full snapshot with its last 10 bytes cut off.
    Truncated,
    /// An honest full snapshot, but for mainnet's chain.
    WrongChain,
    /// An honest full snapshot stamped three weeks ago.
    Stale,
    /// 17 MiB of zeros (above what a wallet downloads).
    TooLarge,
    /// The honest snapshot, answered after [`SLOW_DELAY`] (a graph that takes long to load).
    Slow,
}

/// How long [`RgsFault::Slow`] holds its answer.
pub const SLOW_DELAY: std::time::Duration = std::time::Duration::from_secs(15);

/// The graph a server answers from and when it first saw each part of it.
struct Source<L: Deref>
where
    L::Target: Logger,
{
    graph: Arc<NetworkGraph<L>>,
    seen: Mutex<SeenTimes>,
    fault: Arc<Mutex<RgsFault>>,
}

/// The RGS router over `graph` (a node's graph, fed by its gossip), serving hostile snapshots
/// while `fault` says so.
pub fn router<L>(graph: Arc<NetworkGraph<L>>, fault: Arc<Mutex<RgsFault>>) -> Router
where
    L: Deref + Send + Sync + 'static,
    L::Target: Logger,
{
    let source = Arc::new(Source {
        graph,
        seen: Mutex::new(SeenTimes::default()),
        fault,
    });
    Router::new()
        .route("/snapshot/{since}", get(serve::<L>))
        .layer(CorsLayer::permissive())
        .with_state(source)
}

async fn serve<L>(State(source): State<Arc<Source<L>>>, Path(since): Path<String>) -> Response
where
    L: Deref + Send + Sync + 'static,
    L::Target: Logger,
{
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);
    let Ok(since) = since.parse::<u32>() else {
        return (StatusCode::BAD_REQUEST, "since must be Unix seconds").into_response();
    };
    if since > now {
        return (StatusCode::BAD_REQUEST, "since is in the future").into_response();
    }
    let fault = *source.fault.lock().unwrap();
    if fault == RgsFault::Slow {
        tokio::time::sleep(SLOW_DELAY).await;
    }
    let (bytes, counts) = {
        let graph = source.graph.read_only();
        let mut seen = source.seen.lock().unwrap();
        seen.observe(&graph, now);
        let chain = source.graph.get_chain_hash();
        match fault {
            RgsFault::None | RgsFault::Slow => snapshot(&graph, chain, &seen, since, now),
            RgsFault::Truncated => {
                let (mut bytes, counts) = snapshot(&graph, chain, &seen, 0, now);
                bytes.truncate(bytes.len().saturating_sub(10));
                (bytes, counts)
            }
            RgsFault::WrongChain => {
                let mainnet = ChainHash::using_genesis_block(bitcoin::Network::Bitcoin);
                snapshot(&graph, mainnet, &seen, 0, now)
            }
            RgsFault::Stale => snapshot(&graph, chain, &seen, 0, now - 21 * 24 * 3600),
            RgsFault::TooLarge => (vec![0; 17 * 1024 * 1024], Default::default()),
        }
    };
    tracing::info!(
        since,
        now,
        bytes = bytes.len(),
        ?counts,
        ?fault,
        "snapshot served"
    );
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
