//! The Esplora REST API over [`KernelChain`], in the JSON shapes `esplora-client` 0.12 parses
//! (and so LDK's transaction sync, BDK's esplora sync and ldk-node).
//!
//! Served: `GET /blocks/tip/hash`, `/blocks/tip/height`, `/blocks[/:start_height]`,
//! `/block-height/:h`, `/block/:hash`, `/block/:hash/{header,status,raw,txids,txs[/:start]}`,
//! `/block/:hash/txid/:index`, `/tx/:txid`, `/tx/:txid/{raw,hex,status,merkleblock-proof,
//! merkle-proof,outspends}`, `/tx/:txid/outspend/:vout`, `POST /tx`, `/mempool`,
//! `/mempool/txids`, `/fee-estimates`, `/scripthash/:sh[/txs[/chain[/:last_seen]]|/txs/mempool|
//! /utxo]`, the same under `/address/:address`, and devnet conveniences under `/regtest/`
//! (`POST /regtest/mine {count, address}`). CORS is open on every route (a browser page on
//! another port calls it). Unknown blocks and transactions answer 404; malformed parameters 400;
//! a rejected broadcast answers 400 with Core's reject reason as the body.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode::{deserialize_hex, serialize, serialize_hex};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use bitcoin::{
    Address, Block, BlockHash, MerkleBlock, Network, OutPoint, Script, ScriptBuf, Transaction, Txid,
};
use serde::{Deserialize, Serialize};
use tower_http::cors::CorsLayer;

use super::chain_index::{script_hash, ChainIndex, TxLocation};
use super::kernel_chain::KernelChain;
use super::mempool::Mempool;
use super::ChainAccess;

/// Confirmed transactions per page of `/scripthash/:sh/txs` (Esplora's page size).
pub const CHAIN_TXS_PER_PAGE: usize = 25;
/// Mempool transactions on the first page of `/scripthash/:sh/txs`.
pub const MEMPOOL_TXS_PER_PAGE: usize = 50;
/// Blocks per `/blocks` answer (Esplora's 10).
pub const BLOCKS_PER_PAGE: u32 = 10;
/// Transactions per `/block/:hash/txs` page.
pub const BLOCK_TXS_PER_PAGE: usize = 25;
/// Most blocks one `POST /regtest/mine` may ask for.
pub const MAX_MINE_PER_REQUEST: u32 = 1000;

/// An error answer: status and plain-text body.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "text/plain")], self.1).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn not_found(what: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("{what} not found"))
}

fn bad_request(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn parse_txid(s: &str) -> Result<Txid, ApiError> {
    Txid::from_str(s).map_err(|_| bad_request("Invalid hex string"))
}

fn parse_block_hash(s: &str) -> Result<BlockHash, ApiError> {
    BlockHash::from_str(s).map_err(|_| bad_request("Invalid hex string"))
}

fn parse_script_hash(s: &str) -> Result<sha256::Hash, ApiError> {
    sha256::Hash::from_str(s).map_err(|_| bad_request("Invalid scripthash"))
}

fn parse_address(s: &str) -> Result<ScriptBuf, ApiError> {
    let addr: Address<NetworkUnchecked> = s
        .parse()
        .map_err(|_| bad_request("Invalid Bitcoin address"))?;
    let addr = addr
        .require_network(Network::Regtest)
        .map_err(|_| bad_request("Address on invalid network"))?;
    Ok(addr.script_pubkey())
}

// ---------------------------------------------------------------------------------------------
// JSON shapes (field names as Esplora's; see esplora-client's api.rs)
// ---------------------------------------------------------------------------------------------

/// `TxStatus`: unconfirmed is just `{"confirmed": false}`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TxStatusJson {
    confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_time: Option<u64>,
}

impl TxStatusJson {
    fn unconfirmed() -> Self {
        Self {
            confirmed: false,
            block_height: None,
            block_hash: None,
            block_time: None,
        }
    }
}

#[derive(Serialize)]
struct PrevoutJson {
    scriptpubkey: String,
    scriptpubkey_asm: String,
    scriptpubkey_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scriptpubkey_address: Option<String>,
    value: u64,
}

#[derive(Serialize)]
struct VinJson {
    txid: Txid,
    vout: u32,
    prevout: Option<PrevoutJson>,
    scriptsig: String,
    scriptsig_asm: String,
    witness: Vec<String>,
    is_coinbase: bool,
    sequence: u32,
}

#[derive(Serialize)]
struct TxJson {
    txid: Txid,
    version: i32,
    locktime: u32,
    vin: Vec<VinJson>,
    vout: Vec<PrevoutJson>,
    size: usize,
    weight: u64,
    fee: u64,
    status: TxStatusJson,
}

#[derive(Serialize)]
struct OutspendJson {
    spent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    txid: Option<Txid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vin: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<TxStatusJson>,
}

#[derive(Serialize)]
struct BlockInfoJson {
    id: BlockHash,
    height: u32,
    version: i32,
    timestamp: u32,
    tx_count: usize,
    size: usize,
    weight: u64,
    merkle_root: bitcoin::TxMerkleNode,
    previousblockhash: Option<BlockHash>,
    mediantime: u32,
    nonce: u32,
    bits: u32,
    difficulty: f64,
}

#[derive(Serialize)]
struct BlockStatusJson {
    in_best_chain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    next_best: Option<BlockHash>,
}

#[derive(Serialize)]
struct MerkleProofJson {
    block_height: u32,
    merkle: Vec<Txid>,
    pos: usize,
}

#[derive(Serialize)]
struct UtxoStatusJson {
    confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<BlockHash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_time: Option<u64>,
}

#[derive(Serialize)]
struct UtxoJson {
    txid: Txid,
    vout: u32,
    status: UtxoStatusJson,
    value: u64,
}

#[derive(Serialize, Default, Clone, Copy)]
struct TxsSummaryJson {
    funded_txo_count: u32,
    funded_txo_sum: u64,
    spent_txo_count: u32,
    spent_txo_sum: u64,
    tx_count: u32,
}

#[derive(Serialize)]
struct StatsJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scripthash: Option<String>,
    chain_stats: TxsSummaryJson,
    mempool_stats: TxsSummaryJson,
}

#[derive(Serialize)]
struct MempoolStatsJson {
    count: usize,
    vsize: u64,
    total_fee: u64,
    fee_histogram: Vec<(f64, u64)>,
}

// ---------------------------------------------------------------------------------------------
// Pure builders
// ---------------------------------------------------------------------------------------------

/// Esplora's name for the kind of `script`.
pub fn script_type(script: &Script) -> &'static str {
    if script.is_empty() {
        "empty"
    } else if script.is_op_return() {
        "op_return"
    } else if script.is_p2pkh() {
        "p2pkh"
    } else if script.is_p2sh() {
        "p2sh"
    } else if script.is_p2wpkh() {
        "v0_p2wpkh"
    } else if script.is_p2wsh() {
        "v0_p2wsh"
    } else if script.is_p2tr() {
        "v1_p2tr"
    } else if script.is_p2pk() {
        "p2pk"
    } else if script.is_multisig() {
        "multisig"
    } else {
        "unknown"
    }
}

fn output_json(out: &bitcoin::TxOut) -> PrevoutJson {
    PrevoutJson {
        scriptpubkey: out.script_pubkey.to_hex_string(),
        scriptpubkey_asm: out.script_pubkey.to_asm_string(),
        scriptpubkey_type: script_type(&out.script_pubkey),
        scriptpubkey_address: Address::from_script(&out.script_pubkey, Network::Regtest)
            .ok()
            .map(|a| a.to_string()),
        value: out.value.to_sat(),
    }
}

fn confirmed_status(index: &ChainIndex, height: u32) -> TxStatusJson {
    TxStatusJson {
        confirmed: true,
        block_height: Some(height),
        block_hash: index.hash_at(height),
        block_time: index.block(height).map(|b| u64::from(b.header.time)),
    }
}

fn tx_status(index: &ChainIndex, mempool: &Mempool, txid: &Txid) -> Option<TxStatusJson> {
    if mempool.get(txid).is_some() {
        return Some(TxStatusJson::unconfirmed());
    }
    index
        .tx(txid)
        .map(|(_, loc)| confirmed_status(index, loc.height))
}

fn prevout(index: &ChainIndex, mempool: &Mempool, op: &OutPoint) -> Option<bitcoin::TxOut> {
    index.output(op).or_else(|| mempool.output(op)).cloned()
}

fn tx_json(
    index: &ChainIndex,
    mempool: &Mempool,
    tx: &Transaction,
    status: TxStatusJson,
) -> TxJson {
    let coinbase = tx.is_coinbase();
    let mut value_in: u64 = 0;
    let vin = tx
        .input
        .iter()
        .map(|i| {
            let prev = if coinbase {
                None
            } else {
                prevout(index, mempool, &i.previous_output)
            };
            if let Some(p) = &prev {
                value_in = value_in.saturating_add(p.value.to_sat());
            }
            VinJson {
                txid: i.previous_output.txid,
                vout: i.previous_output.vout,
                prevout: prev.as_ref().map(output_json),
                scriptsig: i.script_sig.to_hex_string(),
                scriptsig_asm: i.script_sig.to_asm_string(),
                witness: i.witness.iter().map(|w| w.to_lower_hex_string()).collect(),
                is_coinbase: coinbase,
                sequence: i.sequence.0,
            }
        })
        .collect();
    let value_out: u64 = tx
        .output
        .iter()
        .map(|o| o.value.to_sat())
        .fold(0, u64::saturating_add);
    TxJson {
        txid: tx.compute_txid(),
        version: tx.version.0,
        locktime: tx.lock_time.to_consensus_u32(),
        vin,
        vout: tx.output.iter().map(output_json).collect(),
        size: tx.total_size(),
        weight: tx.weight().to_wu(),
        fee: if coinbase {
            0
        } else {
            value_in.saturating_sub(value_out)
        },
        status,
    }
}

fn block_info(index: &ChainIndex, height: u32, block: &Block) -> BlockInfoJson {
    BlockInfoJson {
        id: block.block_hash(),
        height,
        version: block.header.version.to_consensus(),
        timestamp: block.header.time,
        tx_count: block.txdata.len(),
        size: block.total_size(),
        weight: block.weight().to_wu(),
        merkle_root: block.header.merkle_root,
        previousblockhash: (height > 0).then_some(block.header.prev_blockhash),
        mediantime: index.mtp_at(height).unwrap_or(0),
        nonce: block.header.nonce,
        bits: block.header.bits.to_consensus(),
        difficulty: block.header.difficulty_float(),
    }
}

/// The merkle branch for the transaction at `pos` among `txids`, deepest pairing first
/// (Esplora's `merkle` list): hashing `txids[pos]` with each entry in turn (on the right when the
/// running index is even) yields the merkle root.
pub fn merkle_branch(txids: &[Txid], mut pos: usize) -> Vec<Txid> {
    let mut level: Vec<[u8; 32]> = txids.iter().map(|t| t.to_byte_array()).collect();
    let mut branch = Vec::new();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            let last = level[level.len() - 1];
            level.push(last);
        }
        let sibling = pos ^ 1;
        branch.push(Txid::from_byte_array(level[sibling]));
        level = level
            .chunks(2)
            .map(|pair| {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&pair[0]);
                buf[32..].copy_from_slice(&pair[1]);
                bitcoin::hashes::sha256d::Hash::hash(&buf).to_byte_array()
            })
            .collect();
        pos /= 2;
    }
    branch
}

/// Fee-rate estimates in sat/vB by confirmation target, as Esplora's `/fee-estimates`: 2.0 for
/// the next two blocks, 1.5 up to six, 1.0 beyond (kept in thousandths to stay integral).
pub fn fee_estimates() -> BTreeMap<u16, f64> {
    let targets: Vec<u16> = (1..=25).chain([144, 504, 1008]).collect();
    targets
        .into_iter()
        .map(|t| {
            let milli_sat_per_vb: u32 = match t {
                1..=2 => 2000,
                3..=6 => 1500,
                _ => 1000,
            };
            (t, f64::from(milli_sat_per_vb) / 1000.0)
        })
        .collect()
}

/// One page of a script's history: on the first page (`first_page`) up to 50 mempool
/// transactions newest first, then up to 25 confirmed ones newest first; with `last_seen`, the
/// 25 confirmed ones that come after it (none if it is not in the script's confirmed history).
fn script_txs(
    index: &ChainIndex,
    mempool: &Mempool,
    sh: &sha256::Hash,
    first_page: bool,
    last_seen: Option<Txid>,
) -> Vec<TxJson> {
    let mut out = Vec::new();
    if first_page {
        for e in mempool.touching(sh).into_iter().take(MEMPOOL_TXS_PER_PAGE) {
            out.push(tx_json(index, mempool, &e.tx, TxStatusJson::unconfirmed()));
        }
    }
    let history = index.history(sh);
    let mut iter = history.iter().rev().peekable();
    if let Some(seen) = last_seen {
        let mut found = false;
        for loc in iter.by_ref() {
            if index.tx_at(*loc).map(|t| t.compute_txid()) == Some(seen) {
                found = true;
                break;
            }
        }
        if !found {
            return out;
        }
    }
    for loc in iter.take(CHAIN_TXS_PER_PAGE) {
        if let Some(tx) = index.tx_at(*loc) {
            out.push(tx_json(
                index,
                mempool,
                tx,
                confirmed_status(index, loc.height),
            ));
        }
    }
    out
}

fn script_stats(
    index: &ChainIndex,
    mempool: &Mempool,
    sh: &sha256::Hash,
) -> (TxsSummaryJson, TxsSummaryJson) {
    fn add(
        s: &mut TxsSummaryJson,
        sh: &sha256::Hash,
        tx: &Transaction,
        prevouts: impl Iterator<Item = Option<bitcoin::TxOut>>,
    ) {
        s.tx_count += 1;
        for o in &tx.output {
            if script_hash(&o.script_pubkey) == *sh {
                s.funded_txo_count += 1;
                s.funded_txo_sum = s.funded_txo_sum.saturating_add(o.value.to_sat());
            }
        }
        for p in prevouts.flatten() {
            if script_hash(&p.script_pubkey) == *sh {
                s.spent_txo_count += 1;
                s.spent_txo_sum = s.spent_txo_sum.saturating_add(p.value.to_sat());
            }
        }
    }
    let mut chain = TxsSummaryJson::default();
    for loc in index.history(sh) {
        if let Some(tx) = index.tx_at(*loc) {
            let coinbase = tx.is_coinbase();
            let prevs = tx.input.iter().map(|i| {
                if coinbase {
                    None
                } else {
                    index.output(&i.previous_output).cloned()
                }
            });
            add(&mut chain, sh, tx, prevs);
        }
    }
    let mut pool = TxsSummaryJson::default();
    for e in mempool.touching(sh) {
        add(&mut pool, sh, &e.tx, e.prevouts.iter().cloned().map(Some));
    }
    (chain, pool)
}

fn script_utxos(
    index: &ChainIndex,
    mempool: &Mempool,
    script: Option<&Script>,
    sh: &sha256::Hash,
) -> Vec<UtxoJson> {
    let mut out: Vec<UtxoJson> = index
        .utxos_for(sh)
        .into_iter()
        .filter(|u| mempool.spender(&u.outpoint).is_none())
        .map(|u| {
            let h = u.height.unwrap_or(0);
            UtxoJson {
                txid: u.outpoint.txid,
                vout: u.outpoint.vout,
                status: UtxoStatusJson {
                    confirmed: true,
                    block_height: Some(h),
                    block_hash: index.hash_at(h),
                    block_time: index.block(h).map(|b| u64::from(b.header.time)),
                },
                value: u.txout.value.to_sat(),
            }
        })
        .collect();
    for e in mempool.entries() {
        for (vout, o) in e.tx.output.iter().enumerate() {
            let pays = match script {
                Some(s) => o.script_pubkey.as_script() == s,
                None => script_hash(&o.script_pubkey) == *sh,
            };
            let op = OutPoint {
                txid: e.txid,
                vout: vout as u32,
            };
            if pays && mempool.spender(&op).is_none() {
                out.push(UtxoJson {
                    txid: e.txid,
                    vout: vout as u32,
                    status: UtxoStatusJson {
                        confirmed: false,
                        block_height: None,
                        block_hash: None,
                        block_time: None,
                    },
                    value: o.value.to_sat(),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

type Chain = State<Arc<KernelChain>>;

async fn tip_hash(State(c): Chain) -> Response {
    text(c.tip().1.to_string())
}

async fn tip_height(State(c): Chain) -> Response {
    text(c.tip().0.to_string())
}

fn blocks_from(c: &KernelChain, start: Option<u32>) -> Response {
    c.read(|index, _| {
        let top = start.unwrap_or(index.tip_height()).min(index.tip_height());
        let infos: Vec<BlockInfoJson> = (0..=top)
            .rev()
            .take(BLOCKS_PER_PAGE as usize)
            .filter_map(|h| index.block(h).map(|b| block_info(index, h, b)))
            .collect();
        Json(infos).into_response()
    })
}

async fn blocks(State(c): Chain) -> Response {
    blocks_from(&c, None)
}

async fn blocks_at(State(c): Chain, Path(start): Path<String>) -> ApiResult {
    let start: u32 = start.parse().map_err(|_| bad_request("Invalid height"))?;
    Ok(blocks_from(&c, Some(start)))
}

async fn block_height(State(c): Chain, Path(h): Path<String>) -> ApiResult {
    let h: u32 = h.parse().map_err(|_| bad_request("Invalid height"))?;
    c.read(|index, _| index.hash_at(h))
        .map(|hash| text(hash.to_string()))
        .ok_or_else(|| not_found("Block"))
}

/// Runs `f` on the block with `hash` and its height.
fn with_block<R>(
    c: &KernelChain,
    hash: &str,
    f: impl FnOnce(&ChainIndex, &Mempool, u32, &Block) -> R,
) -> Result<R, ApiError> {
    let hash = parse_block_hash(hash)?;
    c.read(|index, mempool| {
        let h = index.height_of(&hash)?;
        let block = index.block(h)?;
        Some(f(index, mempool, h, block))
    })
    .ok_or_else(|| not_found("Block"))
}

async fn block(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    with_block(&c, &hash, |index, _, h, b| {
        Json(block_info(index, h, b)).into_response()
    })
}

async fn block_header(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    with_block(&c, &hash, |_, _, _, b| text(serialize_hex(&b.header)))
}

async fn block_status(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    let parsed = parse_block_hash(&hash)?;
    Ok(c.read(|index, _| {
        let status = match index.height_of(&parsed) {
            Some(h) => BlockStatusJson {
                in_best_chain: true,
                height: Some(h),
                next_best: index.hash_at(h + 1),
            },
            None => BlockStatusJson {
                in_best_chain: false,
                height: None,
                next_best: None,
            },
        };
        Json(status).into_response()
    }))
}

async fn block_raw(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    with_block(&c, &hash, |_, _, _, b| {
        (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            serialize(b),
        )
            .into_response()
    })
}

async fn block_txids(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    with_block(&c, &hash, |_, _, _, b| {
        Json(
            b.txdata
                .iter()
                .map(|t| t.compute_txid())
                .collect::<Vec<_>>(),
        )
        .into_response()
    })
}

async fn block_txid_at(State(c): Chain, Path((hash, i)): Path<(String, String)>) -> ApiResult {
    let i: usize = i.parse().map_err(|_| bad_request("Invalid index"))?;
    with_block(&c, &hash, |_, _, _, b| {
        b.txdata.get(i).map(|t| text(t.compute_txid().to_string()))
    })?
    .ok_or_else(|| not_found("Transaction"))
}

fn block_txs_page(c: &KernelChain, hash: &str, start: usize) -> ApiResult {
    with_block(c, hash, |index, mempool, h, b| {
        let txs: Vec<TxJson> = b
            .txdata
            .iter()
            .skip(start)
            .take(BLOCK_TXS_PER_PAGE)
            .map(|t| tx_json(index, mempool, t, confirmed_status(index, h)))
            .collect();
        Json(txs).into_response()
    })
}

async fn block_txs(State(c): Chain, Path(hash): Path<String>) -> ApiResult {
    block_txs_page(&c, &hash, 0)
}

async fn block_txs_from(State(c): Chain, Path((hash, start)): Path<(String, String)>) -> ApiResult {
    let start: usize = start
        .parse()
        .map_err(|_| bad_request("Invalid start index"))?;
    block_txs_page(&c, &hash, start)
}

/// Runs `f` on the transaction `txid` (mempool or chain) and where it is; a mempool transaction
/// is "not found" while the mempool is hidden (`KernelChain::set_mempool_hidden`).
fn with_tx<R>(
    c: &KernelChain,
    txid: &str,
    f: impl FnOnce(&ChainIndex, &Mempool, &Transaction, Option<TxLocation>) -> R,
) -> Result<R, ApiError> {
    let txid = parse_txid(txid)?;
    let hidden = c.mempool_hidden();
    c.read(|index, mempool| {
        if let Some(e) = mempool.get(&txid) {
            return (!hidden).then(|| f(index, mempool, &e.tx, None));
        }
        let (tx, loc) = index.tx(&txid)?;
        Some(f(index, mempool, tx, Some(loc)))
    })
    .ok_or_else(|| not_found("Transaction"))
}

async fn tx(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    with_tx(&c, &txid, |index, mempool, tx, loc| {
        let status = match loc {
            Some(l) => confirmed_status(index, l.height),
            None => TxStatusJson::unconfirmed(),
        };
        Json(tx_json(index, mempool, tx, status)).into_response()
    })
}

async fn tx_raw(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    with_tx(&c, &txid, |_, _, tx, _| {
        (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            serialize(tx),
        )
            .into_response()
    })
}

async fn tx_hex(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    with_tx(&c, &txid, |_, _, tx, _| text(serialize_hex(tx)))
}

/// Like Esplora (electrs), a transaction the chain does not know is reported unconfirmed.
async fn tx_status_route(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    let parsed = parse_txid(&txid)?;
    let status = c
        .read(|index, mempool| tx_status(index, mempool, &parsed))
        .unwrap_or_else(TxStatusJson::unconfirmed);
    Ok(Json(status).into_response())
}

async fn tx_merkleblock_proof(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    let parsed = parse_txid(&txid)?;
    c.read(|index, _| {
        let (_, loc) = index.tx(&parsed)?;
        let block = index.block(loc.height)?;
        let mb = MerkleBlock::from_block_with_predicate(block, |t| *t == parsed);
        Some(text(serialize_hex(&mb)))
    })
    .ok_or_else(|| not_found("Transaction"))
}

async fn tx_merkle_proof(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    let parsed = parse_txid(&txid)?;
    c.read(|index, _| {
        let (_, loc) = index.tx(&parsed)?;
        let block = index.block(loc.height)?;
        let txids: Vec<Txid> = block.txdata.iter().map(|t| t.compute_txid()).collect();
        let pos = loc.pos as usize;
        Some(
            Json(MerkleProofJson {
                block_height: loc.height,
                merkle: merkle_branch(&txids, pos),
                pos,
            })
            .into_response(),
        )
    })
    .ok_or_else(|| not_found("Transaction"))
}

fn outspend_json(index: &ChainIndex, mempool: &Mempool, op: &OutPoint) -> OutspendJson {
    if let Some(s) = index.spend(op) {
        return OutspendJson {
            spent: true,
            txid: Some(s.txid),
            vin: Some(s.vin),
            status: Some(confirmed_status(index, s.height)),
        };
    }
    if let Some((txid, vin)) = mempool.spender(op) {
        return OutspendJson {
            spent: true,
            txid: Some(txid),
            vin: Some(vin),
            status: Some(TxStatusJson::unconfirmed()),
        };
    }
    OutspendJson {
        spent: false,
        txid: None,
        vin: None,
        status: None,
    }
}

/// Like Esplora (electrs), an output nobody spent answers `{"spent": false}`, whether or not the
/// transaction is known.
async fn tx_outspend(State(c): Chain, Path((txid, vout)): Path<(String, String)>) -> ApiResult {
    let txid = parse_txid(&txid)?;
    let vout: u32 = vout.parse().map_err(|_| bad_request("Invalid vout"))?;
    let op = OutPoint { txid, vout };
    Ok(c.read(|index, mempool| Json(outspend_json(index, mempool, &op)).into_response()))
}

async fn tx_outspends(State(c): Chain, Path(txid): Path<String>) -> ApiResult {
    with_tx(&c, &txid, |index, mempool, tx, _| {
        let txid = tx.compute_txid();
        let all: Vec<OutspendJson> = (0..tx.output.len() as u32)
            .map(|vout| outspend_json(index, mempool, &OutPoint { txid, vout }))
            .collect();
        Json(all).into_response()
    })
}

async fn post_tx(State(c): Chain, body: Bytes) -> ApiResult {
    let hex = std::str::from_utf8(&body)
        .map_err(|_| bad_request("TX decode failed"))?
        .trim();
    let tx: Transaction = deserialize_hex(hex).map_err(|_| bad_request("TX decode failed"))?;
    let chain = c.clone();
    let result = tokio::task::spawn_blocking(move || chain.submit_tx(&tx))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match result {
        Ok(txid) => Ok(text(txid.to_string())),
        Err(rejected) => Err(bad_request(rejected.reason)),
    }
}

async fn mempool_txids(State(c): Chain) -> Response {
    Json(c.mempool_txids()).into_response()
}

async fn mempool_stats(State(c): Chain) -> Response {
    c.read(|_, mempool| {
        let (mut vsize, mut fee) = (0u64, 0u64);
        for e in mempool.entries() {
            vsize = vsize.saturating_add(e.tx.vsize() as u64);
            fee = fee.saturating_add(e.fee.to_sat());
        }
        Json(MempoolStatsJson {
            count: mempool.len(),
            vsize,
            total_fee: fee,
            fee_histogram: vec![],
        })
        .into_response()
    })
}

async fn fee_estimates_route(State(c): Chain) -> Response {
    let mut estimates = fee_estimates();
    if let Some(rate) = c.fee_spike() {
        for v in estimates.values_mut() {
            *v = f64::from(rate) / 1000.0;
        }
    }
    Json(estimates).into_response()
}

/// What a script route is about: a script hash, and the script itself when an address gave it.
struct ScriptTarget {
    sh: sha256::Hash,
    script: Option<ScriptBuf>,
    address: Option<String>,
}

fn by_scripthash(s: &str) -> Result<ScriptTarget, ApiError> {
    Ok(ScriptTarget {
        sh: parse_script_hash(s)?,
        script: None,
        address: None,
    })
}

fn by_address(s: &str) -> Result<ScriptTarget, ApiError> {
    let script = parse_address(s)?;
    Ok(ScriptTarget {
        sh: script_hash(&script),
        script: Some(script),
        address: Some(s.to_string()),
    })
}

fn stats_response(c: &KernelChain, t: ScriptTarget) -> Response {
    c.read(|index, mempool| {
        let (chain_stats, mempool_stats) = script_stats(index, mempool, &t.sh);
        let scripthash = t.address.is_none().then(|| t.sh.to_string());
        Json(StatsJson {
            address: t.address,
            scripthash,
            chain_stats,
            mempool_stats,
        })
        .into_response()
    })
}

fn txs_response(
    c: &KernelChain,
    t: ScriptTarget,
    first_page: bool,
    last_seen: Option<&str>,
) -> ApiResult {
    let last_seen = last_seen.map(parse_txid).transpose()?;
    Ok(c.read(|index, mempool| {
        Json(script_txs(index, mempool, &t.sh, first_page, last_seen)).into_response()
    }))
}

fn mempool_txs_response(c: &KernelChain, t: ScriptTarget) -> Response {
    c.read(|index, mempool| {
        let txs: Vec<TxJson> = mempool
            .touching(&t.sh)
            .into_iter()
            .take(MEMPOOL_TXS_PER_PAGE)
            .map(|e| tx_json(index, mempool, &e.tx, TxStatusJson::unconfirmed()))
            .collect();
        Json(txs).into_response()
    })
}

fn utxo_response(c: &KernelChain, t: ScriptTarget) -> Response {
    c.read(|index, mempool| {
        Json(script_utxos(index, mempool, t.script.as_deref(), &t.sh)).into_response()
    })
}

async fn sh_stats(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(stats_response(&c, by_scripthash(&s)?))
}
async fn sh_txs(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    txs_response(&c, by_scripthash(&s)?, true, None)
}
async fn sh_txs_chain(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    txs_response(&c, by_scripthash(&s)?, false, None)
}
async fn sh_txs_chain_after(State(c): Chain, Path((s, seen)): Path<(String, String)>) -> ApiResult {
    txs_response(&c, by_scripthash(&s)?, false, Some(&seen))
}
async fn sh_txs_mempool(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(mempool_txs_response(&c, by_scripthash(&s)?))
}
async fn sh_utxo(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(utxo_response(&c, by_scripthash(&s)?))
}
async fn addr_stats(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(stats_response(&c, by_address(&s)?))
}
async fn addr_txs(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    txs_response(&c, by_address(&s)?, true, None)
}
async fn addr_txs_chain(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    txs_response(&c, by_address(&s)?, false, None)
}
async fn addr_txs_chain_after(
    State(c): Chain,
    Path((s, seen)): Path<(String, String)>,
) -> ApiResult {
    txs_response(&c, by_address(&s)?, false, Some(&seen))
}
async fn addr_txs_mempool(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(mempool_txs_response(&c, by_address(&s)?))
}
async fn addr_utxo(State(c): Chain, Path(s): Path<String>) -> ApiResult {
    Ok(utxo_response(&c, by_address(&s)?))
}

/// Body of `POST /regtest/mine`.
#[derive(Deserialize)]
struct MineRequest {
    count: u32,
    address: String,
}

async fn regtest_mine(State(c): Chain, Json(req): Json<MineRequest>) -> ApiResult {
    if req.count == 0 || req.count > MAX_MINE_PER_REQUEST {
        return Err(bad_request(format!(
            "count must be 1..={MAX_MINE_PER_REQUEST}"
        )));
    }
    let script = parse_address(&req.address)?;
    let chain = c.clone();
    let result = tokio::task::spawn_blocking(move || chain.mine(req.count, &script))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match result {
        Ok(hashes) => Ok(Json(hashes).into_response()),
        Err(rejected) => Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, rejected.reason)),
    }
}

/// The Esplora REST API (plus `/regtest/mine`) over `chain`, with permissive CORS, as the
/// primary server.
pub fn esplora_router(chain: Arc<KernelChain>) -> Router {
    esplora_router_as(chain, super::EsploraServer::Primary)
}

/// [`esplora_router`] as `server`: the same chain, that server's faults and counts.
pub fn esplora_router_as(chain: Arc<KernelChain>, server: super::EsploraServer) -> Router {
    let site = chain.esplora_site(server).clone();
    Router::new()
        .route("/blocks/tip/hash", get(tip_hash))
        .route("/blocks/tip/height", get(tip_height))
        .route("/blocks", get(blocks))
        .route("/blocks/{start_height}", get(blocks_at))
        .route("/block-height/{height}", get(block_height))
        .route("/block/{hash}", get(block))
        .route("/block/{hash}/header", get(block_header))
        .route("/block/{hash}/status", get(block_status))
        .route("/block/{hash}/raw", get(block_raw))
        .route("/block/{hash}/txids", get(block_txids))
        .route("/block/{hash}/txid/{index}", get(block_txid_at))
        .route("/block/{hash}/txs", get(block_txs))
        .route("/block/{hash}/txs/{start}", get(block_txs_from))
        .route("/tx", post(post_tx))
        .route("/tx/{txid}", get(tx))
        .route("/tx/{txid}/raw", get(tx_raw))
        .route("/tx/{txid}/hex", get(tx_hex))
        .route("/tx/{txid}/status", get(tx_status_route))
        .route("/tx/{txid}/merkleblock-proof", get(tx_merkleblock_proof))
        .route("/tx/{txid}/merkle-proof", get(tx_merkle_proof))
        .route("/tx/{txid}/outspend/{vout}", get(tx_outspend))
        .route("/tx/{txid}/outspends", get(tx_outspends))
        .route("/mempool", get(mempool_stats))
        .route("/mempool/txids", get(mempool_txids))
        .route("/fee-estimates", get(fee_estimates_route))
        .route("/scripthash/{sh}", get(sh_stats))
        .route("/scripthash/{sh}/txs", get(sh_txs))
        .route("/scripthash/{sh}/txs/chain", get(sh_txs_chain))
        .route(
            "/scripthash/{sh}/txs/chain/{last_seen}",
            get(sh_txs_chain_after),
        )
        .route("/scripthash/{sh}/txs/mempool", get(sh_txs_mempool))
        .route("/scripthash/{sh}/utxo", get(sh_utxo))
        .route("/address/{address}", get(addr_stats))
        .route("/address/{address}/txs", get(addr_txs))
        .route("/address/{address}/txs/chain", get(addr_txs_chain))
        .route(
            "/address/{address}/txs/chain/{last_seen}",
            get(addr_txs_chain_after),
        )
        .route("/address/{address}/txs/mempool", get(addr_txs_mempool))
        .route("/address/{address}/utxo", get(addr_utxo))
        .route("/regtest/mine", post(regtest_mine))
        // Inside the CORS layer, so that a refusal carries CORS headers (and exposes
        // `Retry-After`) as a public server's would.
        .layer(axum::middleware::from_fn_with_state(
            site,
            super::esplora_fault::apply_fault,
        ))
        .layer(CorsLayer::permissive())
        .with_state(chain)
}

/// Binds `addr` (use port 0 for any free port), serves [`esplora_router`] on it in a background
/// task (HTTP/1.1 keep-alive, TCP_NODELAY), and returns the bound address and the task.
pub async fn serve_esplora(
    chain: Arc<KernelChain>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = esplora_router(chain);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("esplora server on {local} stopped: {e}");
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_branch_folds_to_root() {
        for n in 1..=9usize {
            let txids: Vec<Txid> = (0..n)
                .map(|i| Txid::from_byte_array([i as u8 + 1; 32]))
                .collect();
            let root =
                bitcoin::merkle_tree::calculate_root(txids.iter().copied()).expect("non-empty");
            for pos in 0..n {
                let branch = merkle_branch(&txids, pos);
                let mut acc = txids[pos].to_byte_array();
                let mut p = pos;
                for sib in &branch {
                    let mut buf = [0u8; 64];
                    if p % 2 == 0 {
                        buf[..32].copy_from_slice(&acc);
                        buf[32..].copy_from_slice(&sib.to_byte_array());
                    } else {
                        buf[..32].copy_from_slice(&sib.to_byte_array());
                        buf[32..].copy_from_slice(&acc);
                    }
                    acc = bitcoin::hashes::sha256d::Hash::hash(&buf).to_byte_array();
                    p /= 2;
                }
                assert_eq!(acc, root.to_byte_array(), "n={n} pos={pos}");
            }
        }
    }

    #[test]
    fn script_types_have_esplora_names() {
        let wpkh = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([1; 20]));
        assert_eq!(script_type(&wpkh), "v0_p2wpkh");
        let wsh = ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array([1; 32]));
        assert_eq!(script_type(&wsh), "v0_p2wsh");
        assert_eq!(
            script_type(&ScriptBuf::new_op_return([1u8; 3])),
            "op_return"
        );
        assert_eq!(script_type(&ScriptBuf::new()), "empty");
    }

    #[test]
    fn fee_estimates_cover_esplora_targets() {
        let f = fee_estimates();
        assert_eq!(f.len(), 28);
        assert_eq!(f[&1], 2.0);
        assert_eq!(f[&6], 1.5);
        assert_eq!(f[&1008], 1.0);
        let json = serde_json::to_string(&f).expect("serializes");
        assert!(json.starts_with("{\"1\":2.0"), "{json}");
    }
}
