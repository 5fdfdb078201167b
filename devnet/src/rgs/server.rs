//! The RGS HTTP endpoint: `GET /snapshot/{since}` answers the snapshot of the graph for a client
//! that last synced at `since` (Unix seconds from its previous snapshot; 0: a full one), as
//! `application/octet-stream`, as LDK's RGS server does under its `/snapshot/` path. A `since` in
//! the future is refused (400): the client's stored timestamp is wrong.

use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use lightning::routing::gossip::NetworkGraph;
use lightning::util::logger::Logger;
use tower_http::cors::CorsLayer;

use super::snapshot::{snapshot, SeenTimes};

/// The graph a server answers from and when it first saw each part of it.
struct Source<L: Deref>
where
    L::Target: Logger,
{
    graph: Arc<NetworkGraph<L>>,
    seen: Mutex<SeenTimes>,
}

/// The RGS router over `graph` (a node's graph, fed by its gossip).
pub fn router<L>(graph: Arc<NetworkGraph<L>>) -> Router
where
    L: Deref + Send + Sync + 'static,
    L::Target: Logger,
{
    let source = Arc::new(Source {
        graph,
        seen: Mutex::new(SeenTimes::default()),
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
    let (bytes, counts) = {
        let graph = source.graph.read_only();
        let mut seen = source.seen.lock().unwrap();
        seen.observe(&graph, now);
        snapshot(&graph, source.graph.get_chain_hash(), &seen, since, now)
    };
    tracing::info!(target: "rgs", since, now, bytes = bytes.len(), ?counts, "snapshot served");
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
