//! Applying Rapid Gossip Sync snapshots, checked, to the wallet's network graph.
//!
//! Guarantees: a snapshot is applied whole or not at all. `lightning-rapid-gossip-sync` applies as
//! it parses, so a snapshot that fails half-way (truncated, an absurd count after valid entries)
//! would leave part of itself behind; [`apply_checked`] therefore first applies it to a scratch
//! graph of the same chain and only then, if that succeeded, to the real one. A snapshot larger
//! than [`MAX_SNAPSHOT_BYTES`] is refused before parsing. Every failure maps to a
//! [`GraphFault`].

use core::ops::Deref;
use core::time::Duration;

use lightning::routing::gossip::NetworkGraph;
use lightning::util::logger::Logger;
use lightning_rapid_gossip_sync::{GraphSyncError, RapidGossipSync};
use serde::Serialize;

use crate::error::GraphFault;

/// The largest snapshot accepted: mainnet's full one is about 3.6 MB (some 36 500 channels);
/// four times that leaves room for growth and none for a server that streams without end.
pub const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;

/// How long one snapshot download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the graph is brought up to date while the wallet runs (RGS servers publish
/// snapshots about this often).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(3600);

/// How long until the next round after `failures` failed rounds in a row: [`SYNC_INTERVAL`]
/// after a success; after a failure one minute, doubling with each further one, at most
/// [`SYNC_INTERVAL`] (a server that is down at open must not leave the wallet without a graph
/// for an hour, nor be asked every minute for ever).
pub fn next_round_after(failures: u32) -> Duration {
    if failures == 0 {
        return SYNC_INTERVAL;
    }
    let retry = Duration::from_secs(60).saturating_mul(1u32 << (failures - 1).min(10));
    retry.min(SYNC_INTERVAL)
}

/// The URL of the snapshot since `since` (Unix seconds of the last one applied; 0: a full one).
pub fn snapshot_url(base: &str, since: u32) -> String {
    format!("{}/{since}", base.trim_end_matches('/'))
}

/// One sync round that succeeded: the `graph_synced` event's `detail`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphSyncReport {
    /// A full snapshot (the graph had none applied before).
    pub full: bool,
    /// The snapshot's size.
    pub bytes: u32,
    /// Its timestamp (the next round's `since`).
    pub timestamp: u32,
    /// Channels and nodes in the graph after it.
    pub channels: u32,
    /// Nodes in the graph after it.
    pub nodes: u32,
    /// Download and apply, in milliseconds.
    pub ms: u64,
}

/// Which [`GraphFault`] a refusal of the RGS crate is.
pub fn classify(e: &GraphSyncError) -> GraphFault {
    match e {
        GraphSyncError::DecodeError(_) => GraphFault::Malformed,
        GraphSyncError::LightningError(le) => {
            // The crate says which check failed only in its message (processing.rs).
            let err = le.err.as_str();
            if err.contains("chain hash") {
                GraphFault::WrongChain
            } else if err.contains("two weeks old") {
                GraphFault::Stale
            } else if err.contains("nonsense number") {
                GraphFault::AbsurdCounts
            } else {
                GraphFault::Refused
            }
        }
    }
}

/// Applies `snapshot` to `graph` through `sync` at `now` (Unix seconds), whole or not at all (see
/// the module doc); returns its timestamp.
pub fn apply_checked<G, L>(
    sync: &RapidGossipSync<G, L>,
    graph: &NetworkGraph<L>,
    network: bitcoin::Network,
    snapshot: &[u8],
    now: u64,
    logger: L,
) -> Result<u32, GraphFault>
where
    G: Deref<Target = NetworkGraph<L>>,
    L: Deref + Clone,
    L::Target: Logger,
{
    if snapshot.len() > MAX_SNAPSHOT_BYTES {
        return Err(GraphFault::TooLarge);
    }
    // An empty graph has nothing to lose: no rehearsal needed (a full first sync is the big one).
    if !graph.read_only().channels().is_empty() {
        let scratch = NetworkGraph::new(network, logger.clone());
        RapidGossipSync::new(&scratch, logger)
            .update_network_graph_no_std(snapshot, Some(now))
            .map_err(|e| classify(&e))?;
    }
    sync.update_network_graph_no_std(snapshot, Some(now))
        .map_err(|e| classify(&e))
}

#[cfg(test)]
mod tests {
    use bitcoin::constants::ChainHash;
    use bitcoin::Network;
    use lightning::util::logger::Record;

    use super::*;
    use crate::test_util::pubkey;

    struct Quiet;
    impl Logger for Quiet {
        fn log(&self, _: Record) {}
    }

    const NOW: u32 = 1_800_000_000;

    /// A version-1 snapshot (the layout of lightning-rapid-gossip-sync's processing.rs) of
    /// `channels` (scid, node a, node b) between nodes 1..=4, each with a policy in direction 0,
    /// for `chain` at `timestamp`; `node_count` overrides the node count written.
    fn snapshot(
        chain: ChainHash,
        timestamp: u32,
        channels: &[(u64, u8, u8)],
        node_count: Option<u32>,
    ) -> Vec<u8> {
        let mut v = b"LDK".to_vec();
        v.push(1);
        v.extend_from_slice(chain.as_bytes());
        v.extend_from_slice(&timestamp.to_be_bytes());
        v.extend_from_slice(&node_count.unwrap_or(4).to_be_bytes());
        let mut keys: Vec<_> = (1..=4u8).map(|n| pubkey(n).serialize()).collect();
        keys.sort();
        let index = |n: u8| {
            keys.iter()
                .position(|k| *k == pubkey(n).serialize())
                .unwrap() as u8
        };
        for k in &keys {
            v.extend_from_slice(k);
        }
        v.extend_from_slice(&(channels.len() as u32).to_be_bytes());
        let mut previous = 0;
        for (scid, a, b) in channels {
            v.extend_from_slice(&[0, 0]); // no channel features
            v.push((scid - previous) as u8); // a BigSize below 0xfd is one byte
            previous = *scid;
            let (a, b) = (index(*a).min(index(*b)), index(*a).max(index(*b)));
            v.extend_from_slice(&[a, b]);
        }
        v.extend_from_slice(&(channels.len() as u32).to_be_bytes());
        v.extend_from_slice(&[0; 2 + 8 + 4 + 4 + 8]); // defaults
        let mut previous = 0;
        for (scid, _, _) in channels {
            v.push((scid - previous) as u8);
            previous = *scid;
            v.push(0b0111_1100); // direction 0, enabled, all five fields
            v.extend_from_slice(&40u16.to_be_bytes());
            v.extend_from_slice(&1_000u64.to_be_bytes());
            v.extend_from_slice(&1_000u32.to_be_bytes());
            v.extend_from_slice(&100u32.to_be_bytes());
            v.extend_from_slice(&500_000_000u64.to_be_bytes());
        }
        v
    }

    fn regtest() -> ChainHash {
        ChainHash::using_genesis_block(Network::Regtest)
    }

    fn apply(graph: &NetworkGraph<&Quiet>, bytes: &[u8]) -> Result<u32, GraphFault> {
        let sync = RapidGossipSync::new(graph, &Quiet);
        apply_checked(&sync, graph, Network::Regtest, bytes, NOW as u64, &Quiet)
    }

    fn scids(graph: &NetworkGraph<&Quiet>) -> Vec<u64> {
        let mut s: Vec<u64> = graph
            .read_only()
            .channels()
            .unordered_keys()
            .copied()
            .collect();
        s.sort();
        s
    }

    #[test]
    fn a_good_snapshot_applies_and_its_timestamp_is_kept() {
        let graph = NetworkGraph::new(Network::Regtest, &Quiet);
        let full = snapshot(regtest(), NOW - 60, &[(10, 1, 2), (20, 2, 3)], None);
        assert_eq!(apply(&graph, &full), Ok(NOW - 60));
        assert_eq!(scids(&graph), vec![10, 20]);
        assert_eq!(graph.get_last_rapid_gossip_sync_timestamp(), Some(NOW - 60));
        let incremental = snapshot(regtest(), NOW, &[(30, 3, 4)], None);
        assert_eq!(apply(&graph, &incremental), Ok(NOW));
        assert_eq!(scids(&graph), vec![10, 20, 30]);
    }

    #[test]
    fn a_hostile_snapshot_is_refused_and_the_graph_kept_whole() {
        let graph = NetworkGraph::new(Network::Regtest, &Quiet);
        apply(&graph, &snapshot(regtest(), NOW - 60, &[(10, 1, 2)], None)).unwrap();
        let good = snapshot(regtest(), NOW, &[(20, 2, 3), (30, 3, 4)], None);
        // Truncated after its announcements: applied as parsed, it would add channels 20 and 30
        // and then fail; the rehearsal on a scratch graph refuses it first.
        let truncated = &good[..good.len() - 10];
        let cases: [(&str, Vec<u8>, GraphFault); 6] = [
            ("truncated", truncated.to_vec(), GraphFault::Malformed),
            ("empty", Vec::new(), GraphFault::Malformed),
            ("not RGS", b"<html>".to_vec(), GraphFault::Malformed),
            (
                "another chain",
                snapshot(
                    ChainHash::using_genesis_block(Network::Bitcoin),
                    NOW,
                    &[(20, 2, 3)],
                    None,
                ),
                GraphFault::WrongChain,
            ),
            (
                "three weeks old",
                snapshot(regtest(), NOW - 21 * 24 * 3600, &[(20, 2, 3)], None),
                GraphFault::Stale,
            ),
            (
                "a billion nodes",
                snapshot(regtest(), NOW, &[(20, 2, 3)], Some(1_000_000_000)),
                GraphFault::AbsurdCounts,
            ),
        ];
        for (what, bytes, fault) in cases {
            assert_eq!(apply(&graph, &bytes), Err(fault), "{what}");
            assert_eq!(scids(&graph), vec![10], "{what}: the graph changed");
            assert_eq!(
                graph.get_last_rapid_gossip_sync_timestamp(),
                Some(NOW - 60),
                "{what}"
            );
        }
        let huge = vec![0u8; MAX_SNAPSHOT_BYTES + 1];
        assert_eq!(apply(&graph, &huge), Err(GraphFault::TooLarge));
        // The good one still applies afterwards.
        assert_eq!(apply(&graph, &good), Ok(NOW));
        assert_eq!(scids(&graph), vec![10, 20, 30]);
    }

    #[test]
    fn a_failed_round_is_retried_sooner_backing_off_to_the_interval() {
        let secs = |f| next_round_after(f).as_secs();
        assert_eq!(secs(0), 3600);
        assert_eq!((secs(1), secs(2), secs(3)), (60, 120, 240));
        assert_eq!((secs(6), secs(7), secs(40)), (1920, 3600, 3600));
    }

    #[test]
    fn snapshot_urls() {
        assert_eq!(
            snapshot_url("https://rgs.example.com/snapshot", 0),
            "https://rgs.example.com/snapshot/0"
        );
        assert_eq!(
            snapshot_url("https://rgs.example.com/snapshot/", 17),
            "https://rgs.example.com/snapshot/17"
        );
    }
}
