//! [`KernelChain`]: the devnet's regtest chain. Blocks are built here, judged by
//! libbitcoinkernel ([`Judge`]) and only then indexed and served; transactions wait in the
//! [`Mempool`] with their scripts checked by the kernel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::{Block, BlockHash, Network, Script, ScriptBuf, Transaction, Txid, Weight};
use tokio::sync::broadcast;

use super::block_builder::{assemble_block, next_block_time, BlockTemplate};
use super::chain_index::{script_hash, ChainIndex};
use super::esplora_fault::{EsploraServer, EsploraSite};
use super::kernel::{verify_tx_scripts, Judge, JudgeError};
use super::mempool::Mempool;
use super::{ChainAccess, Rejected, Utxo};

/// Room left in a block for the coinbase and header: mempool transactions fill at most this.
const MAX_TX_WEIGHT_PER_BLOCK: Weight = Weight::from_wu(3_990_000);

/// How many new-tip notifications a slow subscriber may fall behind before it lags.
const TIP_CHANNEL_CAPACITY: usize = 1024;

/// The chain state behind the lock.
pub(crate) struct ChainState {
    judge: Judge,
    pub(crate) index: ChainIndex,
    pub(crate) mempool: Mempool,
    extra_nonce: u32,
}

/// The devnet's regtest chain judged by Bitcoin Core. Share it as `Arc<KernelChain>`; every method
/// takes `&self` and is safe from any thread (one internal lock; mining many blocks holds it for
/// the whole batch, so call [`ChainAccess::mine`] from a blocking context in async code).
///
/// Guarantees: a block is served (tip, Esplora, [`ChainAccess::block_at`]) only after
/// libbitcoinkernel connected it as its active tip, so the served chain and the kernel's agree at
/// every step. Reorgs are not supported: a submitted block must extend the tip.
pub struct KernelChain {
    state: Mutex<ChainState>,
    tips: broadcast::Sender<u32>,
    /// A fault of the chain source (control API): the Esplora API answers "not found" for
    /// transactions that are only in the mempool, like an Esplora that lags behind the network.
    /// Held as the unix time in milliseconds until which it lasts (0: shown), so a test that
    /// fails before showing the mempool again cannot leave it hidden for the tests after it.
    mempool_hidden_until_ms: AtomicU64,
    /// A fee spike (control API): every `/fee-estimates` target answers this rate (milli-sat
    /// per vB) until this unix time in milliseconds; bounded in time for the same reason.
    fee_spike: Mutex<Option<(u64, u32)>>,
    /// The two Esplora servers' faults towards browsers (control API: rate limits, server
    /// errors, dropped connections) and request counts: primary, fallback.
    esplora_sites: [Arc<EsploraSite>; 2],
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

impl KernelChain {
    /// A fresh regtest chain holding only the genesis block, with its own libbitcoinkernel
    /// chainstate (in-memory databases; block files in a temporary directory removed on drop).
    pub fn new() -> Result<Arc<Self>, JudgeError> {
        let judge = Judge::new_regtest()?;
        let genesis = bitcoin::blockdata::constants::genesis_block(Network::Regtest);
        let (kernel_height, kernel_hash) = judge.tip();
        if kernel_height != 0 || kernel_hash != genesis.block_hash() {
            return Err(JudgeError(format!(
                "kernel starts at height {kernel_height} ({kernel_hash}), expected regtest genesis {}",
                genesis.block_hash()
            )));
        }
        let (tips, _) = broadcast::channel(TIP_CHANNEL_CAPACITY);
        Ok(Arc::new(Self {
            state: Mutex::new(ChainState {
                judge,
                index: ChainIndex::new(genesis),
                mempool: Mempool::new(),
                extra_nonce: 0,
            }),
            tips,
            mempool_hidden_until_ms: AtomicU64::new(0),
            fee_spike: Mutex::new(None),
            esplora_sites: Default::default(),
        }))
    }

    /// Hides unconfirmed transactions from the Esplora API's transaction lookups for at most
    /// `for_at_most` (shown again by itself then), or shows them again at once with `None`. The
    /// chain itself, its mempool and in-process users are unaffected.
    pub fn set_mempool_hidden(&self, for_at_most: Option<Duration>) {
        let until = for_at_most.map_or(0, |d| {
            now_millis().saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        });
        self.mempool_hidden_until_ms.store(until, Ordering::SeqCst);
    }

    /// Whether the Esplora API hides unconfirmed transactions now ([`Self::set_mempool_hidden`]).
    pub fn mempool_hidden(&self) -> bool {
        now_millis() < self.mempool_hidden_until_ms.load(Ordering::SeqCst)
    }

    /// One Esplora server's faults towards browsers and request counts.
    pub fn esplora_site(&self, server: EsploraServer) -> &Arc<EsploraSite> {
        match server {
            EsploraServer::Primary => &self.esplora_sites[0],
            EsploraServer::Fallback => &self.esplora_sites[1],
        }
    }

    /// Makes the Esplora API's `/fee-estimates` answer `milli_sat_per_vb` for every target for
    /// at most `for_at_most`, or the usual estimates again at once with `None`.
    pub fn set_fee_spike(&self, spike: Option<(u32, Duration)>) {
        *self.fee_spike.lock().unwrap_or_else(|e| e.into_inner()) = spike.map(|(rate, d)| {
            let until =
                now_millis().saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            (until, rate)
        });
    }

    /// The rate of a fee spike in force ([`Self::set_fee_spike`]), milli-sat per vB.
    pub fn fee_spike(&self) -> Option<u32> {
        let spike = *self.fee_spike.lock().unwrap_or_else(|e| e.into_inner());
        spike
            .filter(|(until, _)| now_millis() < *until)
            .map(|(_, rate)| rate)
    }

    /// The state lock. A panic while it was held leaves it poisoned; the state is still
    /// consistent then (every mutation is a single `connect` or mempool call), so the guard is
    /// taken anyway rather than failing every later call.
    fn lock(&self) -> MutexGuard<'_, ChainState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the confirmed chain and the mempool under the lock (for read-only views such
    /// as the Esplora server). Keep `f` short.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&ChainIndex, &Mempool) -> R) -> R {
        let state = self.lock();
        f(&state.index, &state.mempool)
    }

    /// The next block paying `pay_to`, with as much of the mempool as fits, fully built and with
    /// valid proof of work, but not submitted. Useful to forge a block from an honest one; it
    /// becomes the tip only through [`KernelChain::submit_block`].
    pub fn block_template(&self, pay_to: &Script) -> Result<Block, Rejected> {
        let mut state = self.lock();
        Self::template_locked(&mut state, pay_to, true)
    }

    fn template_locked(
        state: &mut ChainState,
        pay_to: &Script,
        with_mempool: bool,
    ) -> Result<Block, Rejected> {
        let tip = state.index.tip_height();
        let tip_mtp = state.index.mtp_at(tip).unwrap_or(0);
        let (txs, fees) = if with_mempool {
            state.mempool.select(MAX_TX_WEIGHT_PER_BLOCK)
        } else {
            (Vec::new(), bitcoin::Amount::ZERO)
        };
        state.extra_nonce = state.extra_nonce.wrapping_add(1);
        let template = BlockTemplate {
            prev_blockhash: state.index.tip_hash(),
            height: tip + 1,
            time: next_block_time(now_secs(), tip_mtp),
            txs,
            fees,
            coinbase_script_pubkey: pay_to.to_owned(),
            extra_nonce: state.extra_nonce,
        };
        assemble_block(&template).ok_or_else(|| Rejected {
            reason: "bad-cb-amount (subsidy + fees overflow)".into(),
        })
    }

    /// Submits a block built elsewhere (or a forged one). It must extend the current tip; Core
    /// then judges it in full (PoW, merkle root, witness commitment, BIP34, coinbase amount,
    /// scripts, ...). On success it is the new tip, its transactions leave the mempool (and
    /// conflicting mempool transactions are dropped), and subscribers are told the new height.
    pub fn submit_block(&self, block: &Block) -> Result<BlockHash, Rejected> {
        let mut state = self.lock();
        let height = Self::connect_locked(&mut state, block)?;
        drop(state);
        let _ = self.tips.send(height);
        Ok(block.block_hash())
    }

    fn connect_locked(state: &mut ChainState, block: &Block) -> Result<u32, Rejected> {
        let hash = block.block_hash();
        if state.index.height_of(&hash).is_some() {
            return Err(Rejected {
                reason: "duplicate".into(),
            });
        }
        let tip = state.index.tip_hash();
        if block.header.prev_blockhash != tip {
            return Err(Rejected {
                reason: format!(
                    "prev-blk-not-tip (the devnet chain does not reorg; the tip is {tip}, the block builds on {})",
                    block.header.prev_blockhash
                ),
            });
        }
        let prevouts = state.index.prevouts_for_block(block);
        state.judge.process_block(block)?;
        let prevouts = match prevouts {
            Ok(p) => p,
            Err(e) => {
                // The kernel connected a block whose inputs our index lacks: the two UTXO sets
                // disagree, which the index's construction rules out.
                tracing::error!("devnet index out of sync with libbitcoinkernel at {hash}: {e}");
                return Err(Rejected {
                    reason: format!("internal: devnet index out of sync with the kernel ({e})"),
                });
            }
        };
        state.index.connect(block.clone(), &prevouts);
        let conflicts = state.mempool.remove_for_block(block);
        if !conflicts.is_empty() {
            tracing::info!(
                "block {hash} evicted {} conflicting mempool txs",
                conflicts.len()
            );
        }
        Ok(state.index.tip_height())
    }

    /// Txids in the mempool, in arrival order.
    pub fn mempool_txids(&self) -> Vec<Txid> {
        self.read(|_, mempool| mempool.entries().map(|e| e.txid).collect())
    }
}

impl ChainAccess for KernelChain {
    fn tip(&self) -> (u32, BlockHash) {
        self.read(|index, _| (index.tip_height(), index.tip_hash()))
    }

    fn block_at(&self, height: u32) -> Option<Block> {
        self.read(|index, _| index.block(height).cloned())
    }

    fn submit_tx(&self, tx: &Transaction) -> Result<Txid, Rejected> {
        let mut state = self.lock();
        let ChainState { index, mempool, .. } = &mut *state;
        mempool.accept(tx, index, verify_tx_scripts)
    }

    fn get_tx(&self, txid: &Txid) -> Option<(Transaction, Option<u32>)> {
        self.read(|index, mempool| {
            if let Some(e) = mempool.get(txid) {
                return Some((e.tx.clone(), None));
            }
            index
                .tx(txid)
                .map(|(tx, loc)| (tx.clone(), Some(loc.height)))
        })
    }

    fn utxos(&self, script_pubkey: &Script) -> Vec<Utxo> {
        let sh = script_hash(script_pubkey);
        self.read(|index, mempool| {
            let mut out: Vec<Utxo> = index
                .utxos_for(&sh)
                .into_iter()
                .filter(|u| mempool.spender(&u.outpoint).is_none())
                .collect();
            for e in mempool.entries() {
                for (vout, o) in e.tx.output.iter().enumerate() {
                    let op = bitcoin::OutPoint {
                        txid: e.txid,
                        vout: vout as u32,
                    };
                    if o.script_pubkey == *script_pubkey && mempool.spender(&op).is_none() {
                        out.push(Utxo {
                            outpoint: op,
                            txout: o.clone(),
                            height: None,
                            is_coinbase: false,
                        });
                    }
                }
            }
            out
        })
    }

    fn mine(&self, count: u32, to: &ScriptBuf) -> Result<Vec<BlockHash>, Rejected> {
        let mut hashes = Vec::with_capacity(count as usize);
        let mut state = self.lock();
        for _ in 0..count {
            let block = Self::template_locked(&mut state, to, true)?;
            let height = match Self::connect_locked(&mut state, &block) {
                Ok(h) => h,
                Err(rejected) if block.txdata.len() > 1 => {
                    // The mempool held something Core will not mine. Drop what this block
                    // carried so the chain keeps moving, say so, and mine without it.
                    tracing::warn!(
                        "libbitcoinkernel rejected a block with {} mempool txs ({}); evicting them",
                        block.txdata.len() - 1,
                        rejected.reason
                    );
                    for tx in block.txdata.iter().skip(1) {
                        state.mempool.remove_with_descendants(&tx.compute_txid());
                    }
                    let empty = Self::template_locked(&mut state, to, false)?;
                    let h = Self::connect_locked(&mut state, &empty)?;
                    hashes.push(empty.block_hash());
                    let _ = self.tips.send(h);
                    continue;
                }
                Err(rejected) => return Err(rejected),
            };
            hashes.push(block.block_hash());
            let _ = self.tips.send(height);
        }
        Ok(hashes)
    }

    fn subscribe(&self) -> broadcast::Receiver<u32> {
        self.tips.subscribe()
    }
}
