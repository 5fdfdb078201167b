//! The routing graph at mainnet's size, from Rapid Gossip Sync: a synthetic graph of
//! [`CHANNELS`] channels between [`NODES`] nodes (mainnet's, late 2026: about 36 500 public
//! channels, a full RGS snapshot of about 3.6 MB), both directions' policies each, served by the
//! devnet's RGS server (`devnet::rgs`).
//!
//! - native: the snapshot applied to an empty graph by `lightning-rapid-gossip-sync` (what an
//!   ldk-node client does), its size and the graph's serialized size (what a client stores);
//!   then 1% of the policies change and the incremental snapshot is applied.
//! - browser: the npm package in `pkg/` in headless Chromium (`benches/browser/graph.js`): a new
//!   wallet downloads and applies the full snapshot, is stopped (the graph written to
//!   IndexedDB), the same 1% change happens, and the reopened wallet downloads the incremental
//!   one. Printed: bytes, channels, ms (request to graph applied), `Wallet.open` time, wasm
//!   memory and JS heap with the graph in, IndexedDB usage after stop.
//!
//! The wallet needs a chain and an LSP to open: an in-process devnet gives them; its own graph
//! is not used. Run: `cargo bench -p devnet --bench rgs_graph --profile devnet`
//! (`CHANNELS=n` for another size; NODE, CHROMIUM, TABNODE_PKG as for `jit_receive`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use axum::routing::post;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use common::Browser;
use devnet::network::{Devnet, DevnetConfig, Ports};
use devnet::rgs::server::{router, RgsFault};
use devnet::rgs::snapshot::{snapshot, SeenTimes};
use lightning::ln::msgs::UnsignedChannelUpdate;
use lightning::routing::gossip::{NetworkGraph, NodeId};
use lightning::types::features::ChannelFeatures;
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::Writeable;
use lightning_rapid_gossip_sync::RapidGossipSync;
use serde_json::{json, Value};

/// Mainnet's public channels, late 2026.
const CHANNELS: usize = 36_500;
/// Nodes with public channels (mainnet: some 12 000 to 15 000).
const NODES: usize = 13_000;

struct Quiet;
impl Logger for Quiet {
    fn log(&self, _: Record) {}
}

type Graph = NetworkGraph<Arc<Quiet>>;

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// A small deterministic generator (xorshift), so every run builds the same graph.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A policy for direction `dir` of `scid`, mainnet-like values, stamped `ts`.
fn policy(graph: &Graph, rng: &mut Rng, scid: u64, dir: u8, ts: u32) {
    let _ = graph.update_channel_unsigned(&UnsignedChannelUpdate {
        chain_hash: graph.get_chain_hash(),
        short_channel_id: scid,
        timestamp: ts,
        message_flags: 1,
        channel_flags: dir,
        cltv_expiry_delta: [40, 80, 144][rng.below(3) as usize],
        htlc_minimum_msat: [1, 1_000][rng.below(2) as usize],
        htlc_maximum_msat: 1_000_000 * (1 + rng.below(10_000)),
        fee_base_msat: [0, 1_000][rng.below(2) as usize] as u32,
        fee_proportional_millionths: rng.below(2_000) as u32,
        excess_data: Vec::new(),
    });
}

/// The synthetic graph: `channels` channels between `NODES` nodes, both policies each.
fn build(channels: usize) -> (Arc<Graph>, Vec<u64>) {
    let secp = Secp256k1::new();
    let nodes: Vec<NodeId> = (1..=NODES as u64)
        .map(|i| {
            let mut key = [0u8; 32];
            key[24..].copy_from_slice(&i.to_be_bytes());
            let sk = SecretKey::from_slice(&key).expect("a valid key");
            NodeId::from_pubkey(&PublicKey::from_secret_key(&secp, &sk))
        })
        .collect();
    let graph = Arc::new(NetworkGraph::new(Network::Regtest, Arc::new(Quiet)));
    let mut rng = Rng(0x5eed);
    let ts = now() - 3600;
    let mut scids = Vec::with_capacity(channels);
    for i in 0..channels as u64 {
        // Block heights 500 000.., a few channels per block, like mainnet's SCIDs.
        let scid =
            ((500_000 + i / 3) << 40) | ((i % 3 * 100 + rng.below(100)) << 16) | rng.below(2);
        let a = nodes[rng.below(NODES as u64) as usize];
        let mut b = nodes[rng.below(NODES as u64) as usize];
        while b == a {
            b = nodes[rng.below(NODES as u64) as usize];
        }
        let (one, two) = (a.min(b), a.max(b));
        if graph
            .add_channel_from_partial_announcement(
                scid,
                None,
                ts as u64,
                ChannelFeatures::empty(),
                one,
                two,
            )
            .is_ok()
        {
            policy(&graph, &mut rng, scid, 0, ts);
            policy(&graph, &mut rng, scid, 1, ts);
            scids.push(scid);
        }
    }
    (graph, scids)
}

/// Changes 1% of the policies (a newer update each).
fn mutate(graph: &Graph, scids: &[u64], round: u64) {
    let mut rng = Rng(0xc4a9 + round);
    let ts = now();
    for _ in 0..scids.len() / 100 {
        let scid = scids[rng.below(scids.len() as u64) as usize];
        let dir = rng.below(2) as u8;
        policy(graph, &mut rng, scid, dir, ts);
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.2} MB", bytes / 1e6)
}

fn native(graph: &Arc<Graph>, scids: &[u64]) -> Result<()> {
    let mut seen = SeenTimes::default();
    let t1 = now() - 10;
    seen.observe(&graph.read_only(), t1);
    let (full, counts) = snapshot(&graph.read_only(), graph.get_chain_hash(), &seen, 0, t1);
    let client = NetworkGraph::new(Network::Regtest, Arc::new(Quiet));
    let started = Instant::now();
    RapidGossipSync::new(&client, Arc::new(Quiet))
        .update_network_graph_no_std(&full, Some(now() as u64))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let applied = started.elapsed();
    let stored = client.encode().len();
    println!(
        "native full:        snapshot {} ({} channels, {} nodes, {} policies), applied in {:.0} ms, graph serialized {}",
        mb(full.len() as f64),
        counts.channels,
        counts.nodes,
        counts.updates,
        applied.as_secs_f64() * 1e3,
        mb(stored as f64)
    );
    mutate(graph, scids, 0);
    let t2 = now();
    seen.observe(&graph.read_only(), t2);
    let (inc, counts) = snapshot(&graph.read_only(), graph.get_chain_hash(), &seen, t1, t2);
    let started = Instant::now();
    RapidGossipSync::new(&client, Arc::new(Quiet))
        .update_network_graph_no_std(&inc, Some(now() as u64))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "native incremental: snapshot {} ({} policies), applied in {:.0} ms",
        mb(inc.len() as f64),
        counts.updates,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

fn print_browser(answer: &Value) {
    for r in answer["rounds"].as_array().into_iter().flatten() {
        let s = &r["synced"];
        println!(
            "browser {:<11} snapshot {} ({} channels, {} nodes), request to applied {} ms, Wallet.open {:.0} ms, wasm memory {}, JS heap {}, IndexedDB usage after stop {}",
            format!("{}:", r["step"].as_str().unwrap_or("?")),
            mb(s["bytes"].as_f64().unwrap_or(0.0)),
            s["channels"],
            s["nodes"],
            s["ms"],
            r["openMs"].as_f64().unwrap_or(0.0),
            mb(r["memory"]["wasmBytes"].as_f64().unwrap_or(0.0)),
            r["memory"]["jsHeapBytes"].as_f64().map(mb).unwrap_or_else(|| "?".into()),
            r["usageAfterStop"].as_f64().map(mb).unwrap_or_else(|| "?".into()),
        );
    }
    println!(
        "IndexedDB usage before the first open: {}",
        answer["usageBefore"]
            .as_f64()
            .map(mb)
            .unwrap_or_else(|| "?".into())
    );
}

fn main() -> Result<()> {
    let channels = std::env::var("CHANNELS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CHANNELS);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let started = Instant::now();
        let (graph, scids) = build(channels);
        println!(
            "synthetic graph: {} channels, {} nodes, built in {:.1} s",
            graph.read_only().channels().len(),
            graph.read_only().nodes().len(),
            started.elapsed().as_secs_f64()
        );
        // The native run changes the graph; the browser gets a graph of its own, the same.
        native(&graph, &scids)?;
        let (graph, scids) = build(channels);
        let scids = Arc::new(scids);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mutated = Arc::new(Mutex::new(0u64));
        let app = router(graph.clone(), Arc::new(Mutex::new(RgsFault::None))).route(
            "/mutate",
            post({
                let (graph, scids) = (graph.clone(), scids.clone());
                move || {
                    let round = {
                        let mut round = mutated.lock().unwrap();
                        *round += 1;
                        *round
                    };
                    mutate(&graph, &scids, round);
                    async { "mutated" }
                }
            }),
        );
        let app = app.layer(tower_http::cors::CorsLayer::permissive());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let dir = tempfile::tempdir()?;
        let devnet =
            Devnet::start(DevnetConfig::new(dir.path().join("devnet"), Ports::any())).await?;
        match Browser::start(&devnet.endpoints.control_url).await {
            Err(e) => println!("browser side SKIPPED, native figures only: {e:#}"),
            Ok((mut browser, what)) => {
                println!("browser side: {what}");
                let req = json!({
                    "kind": "graph",
                    "rgsUrl": format!("http://127.0.0.1:{port}/snapshot"),
                    "mutateUrl": format!("http://127.0.0.1:{port}/mutate"),
                    "tag": "graph",
                });
                let answer = browser.request(&req, Duration::from_secs(900)).await;
                browser.finish().await;
                match answer {
                    Ok(answer) => print_browser(&answer),
                    Err(e) => println!("browser side FAILED: {e:#}"),
                }
            }
        }
        devnet.stop().await;
        server.abort();
        Ok(())
    })
}
