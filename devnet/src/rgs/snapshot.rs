//! Rapid Gossip Sync snapshots, version 1 of the format `lightning-rapid-gossip-sync` parses
//! (its `processing.rs`), built from an LDK [`NetworkGraph`].
//!
//! A snapshot is: `"LDK"`, the version byte 1, the chain hash, `latest_seen_timestamp` (u32), the
//! node ids its announcements name, the channel announcements (features, SCID as a delta from the
//! previous one, the two node indices), then the channel updates (SCID delta, a flags byte:
//! direction, disabled, and which fields follow; here always all five, so no update depends on
//! the client's earlier state). All integers big-endian, deltas and indices as BigSize.
//!
//! What goes into a snapshot for a client that last synced at `since` (0: never) is decided by
//! when this server first saw each channel and each direction's current policy
//! ([`SeenTimes`]), not by the gossip's own timestamps, which can predate its arrival: a full
//! snapshot (`since` 0) has everything; an incremental one what was first seen after `since`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bitcoin::constants::ChainHash;
use lightning::routing::gossip::{ChannelUpdateInfo, NodeId, ReadOnlyNetworkGraph};
use lightning::util::ser::{BigSize, Writeable};

/// The format's magic prefix and the version written.
const PREFIX: [u8; 3] = *b"LDK";
const VERSION: u8 = 1;

/// Channel-update flag bits (`processing.rs`): direction, disabled, then the fields present.
const FLAG_DIRECTION: u8 = 1;
const FLAG_DISABLED: u8 = 1 << 1;
const FLAG_HTLC_MAX: u8 = 1 << 2;
const FLAG_FEE_PROPORTIONAL: u8 = 1 << 3;
const FLAG_FEE_BASE: u8 = 1 << 4;
const FLAG_HTLC_MIN: u8 = 1 << 5;
const FLAG_CLTV: u8 = 1 << 6;
const ALL_FIELDS: u8 =
    FLAG_HTLC_MAX | FLAG_FEE_PROPORTIONAL | FLAG_FEE_BASE | FLAG_HTLC_MIN | FLAG_CLTV;

/// When this server first saw each channel and each direction's current policy (Unix seconds).
#[derive(Debug, Default)]
pub struct SeenTimes {
    channels: HashMap<u64, u32>,
    /// `(scid, direction)` → the policy's `last_update` and when that one was first seen.
    policies: HashMap<(u64, bool), (u32, u32)>,
}

impl SeenTimes {
    /// Records, at `now`, every channel and policy of `graph` not seen before (a policy whose
    /// `last_update` changed counts as new).
    pub fn observe(&mut self, graph: &ReadOnlyNetworkGraph, now: u32) {
        for (scid, channel) in graph.channels().unordered_iter() {
            self.channels.entry(*scid).or_insert(now);
            for (direction, info) in [(false, &channel.one_to_two), (true, &channel.two_to_one)] {
                if let Some(info) = info {
                    let seen = self
                        .policies
                        .entry((*scid, direction))
                        .or_insert((info.last_update, now));
                    if seen.0 != info.last_update {
                        *seen = (info.last_update, now);
                    }
                }
            }
        }
    }

    fn channel_new(&self, scid: u64, since: u32) -> bool {
        since == 0 || self.channels.get(&scid).is_some_and(|t| *t > since)
    }

    fn policy_new(&self, scid: u64, direction: bool, since: u32) -> bool {
        since == 0
            || self
                .policies
                .get(&(scid, direction))
                .is_some_and(|(_, t)| *t > since)
    }
}

/// How many channels and policies a snapshot carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotCounts {
    pub nodes: u32,
    pub channels: u32,
    pub updates: u32,
}

/// The snapshot of `graph` for a client that last synced at `since` (0: a full one), stamped
/// `now` (the client's next `since`). `seen` must have observed `graph` at `now`.
pub fn snapshot(
    graph: &ReadOnlyNetworkGraph,
    chain_hash: ChainHash,
    seen: &SeenTimes,
    since: u32,
    now: u32,
) -> (Vec<u8>, SnapshotCounts) {
    // Sorted by SCID: the format writes each as a delta from the previous one.
    let channels: BTreeMap<u64, _> = graph
        .channels()
        .unordered_iter()
        .map(|(scid, c)| (*scid, c))
        .collect();
    let announced: Vec<_> = channels
        .iter()
        .filter(|(scid, _)| seen.channel_new(**scid, since))
        .collect();
    let nodes: Vec<NodeId> = announced
        .iter()
        .flat_map(|(_, c)| [c.node_one, c.node_two])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: HashMap<NodeId, u64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, i as u64))
        .collect();
    let mut updates: Vec<(u64, bool, &ChannelUpdateInfo)> = Vec::new();
    for (scid, c) in &channels {
        for (direction, info) in [(false, &c.one_to_two), (true, &c.two_to_one)] {
            if let Some(info) = info {
                if seen.policy_new(*scid, direction, since) {
                    updates.push((*scid, direction, info));
                }
            }
        }
    }

    let mut out = Vec::new();
    out.extend_from_slice(&PREFIX);
    out.push(VERSION);
    write(&mut out, &chain_hash);
    write(&mut out, &now);
    write(&mut out, &(nodes.len() as u32));
    for node in &nodes {
        out.extend_from_slice(node.as_slice());
    }
    write(&mut out, &(announced.len() as u32));
    let mut previous = 0u64;
    for (scid, c) in &announced {
        write(&mut out, &c.features);
        write(&mut out, &BigSize(**scid - previous));
        previous = **scid;
        write(&mut out, &BigSize(index[&c.node_one]));
        write(&mut out, &BigSize(index[&c.node_two]));
    }
    write(&mut out, &(updates.len() as u32));
    if !updates.is_empty() {
        // Defaults (every update carries all its fields, so they are never used).
        write(&mut out, &0u16);
        write(&mut out, &0u64);
        write(&mut out, &0u32);
        write(&mut out, &0u32);
        write(&mut out, &0u64);
    }
    let mut previous = 0u64;
    for (scid, direction, info) in &updates {
        write(&mut out, &BigSize(*scid - previous));
        previous = *scid;
        let mut flags = ALL_FIELDS;
        if *direction {
            flags |= FLAG_DIRECTION;
        }
        if !info.enabled {
            flags |= FLAG_DISABLED;
        }
        out.push(flags);
        write(&mut out, &info.cltv_expiry_delta);
        write(&mut out, &info.htlc_minimum_msat);
        write(&mut out, &info.fees.base_msat);
        write(&mut out, &info.fees.proportional_millionths);
        write(&mut out, &info.htlc_maximum_msat);
    }
    let counts = SnapshotCounts {
        nodes: nodes.len() as u32,
        channels: announced.len() as u32,
        updates: updates.len() as u32,
    };
    (out, counts)
}

fn write(out: &mut Vec<u8>, value: &impl Writeable) {
    value.write(out).expect("writing to a Vec never fails");
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
    use bitcoin::Network;
    use lightning::ln::msgs::UnsignedChannelUpdate;
    use lightning::routing::gossip::{NetworkGraph, NodeId};
    use lightning::types::features::ChannelFeatures;
    use lightning::util::logger::{Logger, Record};
    use lightning_rapid_gossip_sync::RapidGossipSync;

    use super::*;

    struct Quiet;
    impl Logger for Quiet {
        fn log(&self, _: Record) {}
    }

    fn node(n: u8) -> NodeId {
        let key = SecretKey::from_slice(&[n; 32]).unwrap();
        NodeId::from_pubkey(&PublicKey::from_secret_key(&Secp256k1::new(), &key))
    }

    fn now() -> u32 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32
    }

    fn add_channel(g: &NetworkGraph<&Quiet>, scid: u64, a: u8, b: u8) {
        let (a, b) = (node(a).min(node(b)), node(a).max(node(b)));
        g.add_channel_from_partial_announcement(
            scid,
            Some(1_000_000),
            now() as u64,
            ChannelFeatures::empty(),
            a,
            b,
        )
        .unwrap();
    }

    /// A policy for direction `dir` of `scid`; `n` varies every field.
    fn update(g: &NetworkGraph<&Quiet>, scid: u64, dir: u8, n: u32, enabled: bool, ts: u32) {
        g.update_channel_unsigned(&UnsignedChannelUpdate {
            chain_hash: g.get_chain_hash(),
            short_channel_id: scid,
            timestamp: ts,
            message_flags: 1,
            channel_flags: dir | if enabled { 0 } else { 2 },
            cltv_expiry_delta: 40 + n as u16,
            htlc_minimum_msat: 1_000 + n as u64,
            htlc_maximum_msat: 900_000_000 + n as u64,
            fee_base_msat: 1_000 + n,
            fee_proportional_millionths: 100 + n,
            excess_data: Vec::new(),
        })
        .unwrap();
    }

    /// Every channel of `source`, with its nodes and both directions' policies (all but the
    /// timestamp, which the client backdates), is in `client`, and nothing else.
    fn assert_same(source: &NetworkGraph<&Quiet>, client: &NetworkGraph<&Quiet>) {
        let (s, c) = (source.read_only(), client.read_only());
        assert_eq!(s.channels().len(), c.channels().len());
        let policy = |u: &Option<ChannelUpdateInfo>| {
            u.as_ref().map(|u| {
                (
                    u.enabled,
                    u.cltv_expiry_delta,
                    u.htlc_minimum_msat,
                    u.htlc_maximum_msat,
                    u.fees,
                )
            })
        };
        for (scid, want) in s.channels().unordered_iter() {
            let got = c
                .channels()
                .get(scid)
                .unwrap_or_else(|| panic!("channel {scid} missing"));
            assert_eq!(
                (got.node_one, got.node_two),
                (want.node_one, want.node_two),
                "{scid}"
            );
            assert_eq!(
                policy(&got.one_to_two),
                policy(&want.one_to_two),
                "{scid} one_to_two"
            );
            assert_eq!(
                policy(&got.two_to_one),
                policy(&want.two_to_one),
                "{scid} two_to_one"
            );
        }
    }

    fn apply(client: &NetworkGraph<&Quiet>, bytes: &[u8], at: u32) -> u32 {
        RapidGossipSync::new(client, &Quiet)
            .update_network_graph_no_std(bytes, Some(at as u64))
            .unwrap_or_else(|e| panic!("the client crate refused the snapshot: {e:?}"))
    }

    #[test]
    fn full_then_incremental_snapshots_round_trip_through_the_client_crate() {
        let source = NetworkGraph::new(Network::Regtest, &Quiet);
        let t0 = now() - 600;
        // Three channels: both directions, one disabled direction, no policy yet; large SCIDs
        // so their deltas need multi-byte BigSizes.
        let scids = [
            (700u64 << 40) | (1 << 16),
            (700 << 40) | (2 << 16),
            (800 << 40) | (5 << 16),
        ];
        add_channel(&source, scids[0], 1, 2);
        add_channel(&source, scids[1], 2, 3);
        add_channel(&source, scids[2], 3, 4);
        update(&source, scids[0], 0, 1, true, t0);
        update(&source, scids[0], 1, 2, true, t0);
        update(&source, scids[1], 1, 3, false, t0);

        let mut seen = SeenTimes::default();
        let t1 = now() - 300;
        seen.observe(&source.read_only(), t1);
        let (full, counts) = snapshot(&source.read_only(), source.get_chain_hash(), &seen, 0, t1);
        assert_eq!(
            counts,
            SnapshotCounts {
                nodes: 4,
                channels: 3,
                updates: 3
            }
        );
        let client = NetworkGraph::new(Network::Regtest, &Quiet);
        assert_eq!(apply(&client, &full, t1), t1);
        assert_same(&source, &client);

        // Later: a policy changes, one is added, a channel opens. The incremental carries
        // exactly those, and the client ends up with the source's graph.
        let t2 = now() - 100;
        update(&source, scids[0], 1, 7, false, t0 + 1);
        update(&source, scids[2], 0, 8, true, t0 + 1);
        let new_scid = (900u64 << 40) | (1 << 16);
        add_channel(&source, new_scid, 4, 5);
        update(&source, new_scid, 0, 9, true, t0 + 1);
        seen.observe(&source.read_only(), t2);
        let (incremental, counts) =
            snapshot(&source.read_only(), source.get_chain_hash(), &seen, t1, t2);
        assert_eq!(
            counts,
            SnapshotCounts {
                nodes: 2,
                channels: 1,
                updates: 3
            }
        );
        assert_eq!(apply(&client, &incremental, t2), t2);
        assert_same(&source, &client);

        // Nothing new since: an empty snapshot, applied without change.
        let t3 = now();
        seen.observe(&source.read_only(), t3);
        let (empty, counts) = snapshot(&source.read_only(), source.get_chain_hash(), &seen, t2, t3);
        assert_eq!(counts, SnapshotCounts::default());
        assert_eq!(apply(&client, &empty, t3), t3);
        assert_same(&source, &client);
    }

    #[test]
    fn a_snapshot_for_another_chain_is_refused_by_the_client_crate() {
        let source = NetworkGraph::new(Network::Regtest, &Quiet);
        add_channel(&source, 1 << 40, 1, 2);
        let mut seen = SeenTimes::default();
        seen.observe(&source.read_only(), now());
        let (bytes, _) = snapshot(
            &source.read_only(),
            source.get_chain_hash(),
            &seen,
            0,
            now(),
        );
        let mainnet = NetworkGraph::new(Network::Bitcoin, &Quiet);
        assert!(RapidGossipSync::new(&mainnet, &Quiet)
            .update_network_graph_no_std(&bytes, Some(now() as u64))
            .is_err());
    }
}
