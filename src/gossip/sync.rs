//! The routing graph's download loop, one of the node's tasks: a Rapid Gossip Sync round at
//! start (the stored graph is usable meanwhile; receiving never waits for it), then every
//! [`SYNC_INTERVAL`](super::rgs::SYNC_INTERVAL), sooner after a failed round ([`next_round_after`]). Each round asks the
//! configured server for what changed since the stored timestamp (everything the first time)
//! and applies it whole or not at all ([`apply_checked`]); it emits `graph_sync_started` as it
//! asks, then `graph_synced`, or a non-fatal `GRAPH_SYNC_FAILED` error with the graph unchanged.
//! The graph, with its timestamp, is written by LDK's background processor (hourly and at stop).

use std::rc::Rc;

use futures::future::{select, Either};
use lightning::util::logger::Level;

use super::rgs::{
    apply_checked, next_round_after, snapshot_url, GraphSyncReport, DOWNLOAD_TIMEOUT,
    MAX_SNAPSHOT_BYTES,
};
use crate::error::{Error, GraphFault};
use crate::net::{HttpClient, HttpError};
use crate::node::{Node, WalletEvent};
use crate::time;

/// Runs sync rounds until the node stops; returns at once when no RGS server is configured.
pub async fn graph_loop(node: Rc<Node>) {
    let Some(base) = node.config().rgs_url().map(str::to_string) else {
        node.log(
            Level::Info,
            "no Rapid Gossip Sync server configured: payments route over the wallet's channels and invoices' route hints only",
        );
        return;
    };
    let mut failures = 0u32;
    while node.check_running().is_ok() {
        let round = Box::pin(sync_once(&node, &base));
        let outcome = match select(round, node.shutdown.wait()).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(_) => break,
        };
        match outcome {
            Ok(report) => {
                failures = 0;
                node.log(Level::Info, &format!("routing graph synced: {report:?}"));
                node.bus().emit(WalletEvent::GraphSynced(report));
            }
            Err(e) if node.check_running().is_ok() => {
                failures = failures.saturating_add(1);
                node.log(Level::Warn, &format!("routing graph sync: {e}"));
                node.bus().emit(WalletEvent::Error(e));
            }
            Err(_) => break,
        }
        let wait = Box::pin(time::sleep(next_round_after(failures)));
        if let Either::Right(_) = select(wait, node.shutdown.wait()).await {
            break;
        }
    }
}

/// One round: download, apply, report.
async fn sync_once(node: &Node, base: &str) -> Result<GraphSyncReport, Error> {
    let started = time::now_millis();
    let graph = node.rgs.network_graph();
    let since = graph.get_last_rapid_gossip_sync_timestamp().unwrap_or(0);
    node.bus().emit(WalletEvent::GraphSyncStarted {
        full: since == 0,
        since,
    });
    let http = HttpClient::new(DOWNLOAD_TIMEOUT).with_max_body_bytes(MAX_SNAPSHOT_BYTES);
    let bytes = http
        .get_bytes(&snapshot_url(base, since))
        .await
        .map_err(|e| {
            Error::GraphSyncFailed(match e {
                HttpError::Timeout { .. } => GraphFault::Timeout,
                HttpError::BodyTooLarge { .. } => GraphFault::TooLarge,
                _ => GraphFault::Unreachable,
            })
        })?;
    node.check_running()?;
    let timestamp = apply_checked(
        &node.rgs,
        graph,
        node.network(),
        &bytes,
        time::now_secs(),
        node.logger.clone(),
    )
    .map_err(Error::GraphSyncFailed)?;
    let read = graph.read_only();
    Ok(GraphSyncReport {
        full: since == 0,
        bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        timestamp,
        channels: u32::try_from(read.channels().len()).unwrap_or(u32::MAX),
        nodes: u32::try_from(read.nodes().len()).unwrap_or(u32::MAX),
        ms: time::now_millis().saturating_sub(started),
    })
}
