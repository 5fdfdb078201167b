//! Following the chain for LDK: an Esplora-style source driving LDK's [`Confirm`] interface.
//!
//! `lightning-transaction-sync` does this natively but turns `lightning/std` on, which cannot run
//! in a browser; this is the same algorithm over any async [`ChainSource`] (the wallet's fetch
//! based Esplora client in the browser, an in-memory chain in the tests here).
//!
//! Invariants kept by [`TxSync::sync`]:
//! - transactions LDK confirmed in a block that left the best chain are reported unconfirmed
//!   before anything else (reorgs), and the tip is re-checked after each phase: if it moved, the
//!   round starts over rather than feeding LDK a mix of two chains;
//! - confirmed transactions are fed in chain order (height, then position in block), each proven
//!   by a merkle proof checked against the header;
//! - spends of watched outputs are followed, and kept for `ANTI_REORG_DELAY` blocks so a reorg
//!   that unconfirms the spend makes the output watched again.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Deref;

use bitcoin::block::Header;
use bitcoin::{BlockHash, MerkleBlock, OutPoint, Script, ScriptBuf, Transaction, Txid};
use lightning::chain::channelmonitor::ANTI_REORG_DELAY;
use lightning::chain::{Confirm, Filter, WatchedOutput};

use super::{verify_merkle_block, BlockStatus, OutputSpend, TxStatus};

/// What the sync needs from a chain backend. Errors are the backend's; the sync stops at the
/// first and leaves its state to be retried.
#[allow(async_fn_in_trait)]
pub trait ChainSource {
    /// The backend's error (for Esplora, [`EsploraError`](super::EsploraError)).
    type Error;
    /// The hash of the best block the backend knows.
    async fn tip_hash(&self) -> Result<BlockHash, Self::Error>;
    /// The header of block `hash`; the sync checks that it hashes to `hash`.
    async fn header(&self, hash: &BlockHash) -> Result<Header, Self::Error>;
    /// Whether block `hash` is in the backend's best chain, and its height.
    async fn block_status(&self, hash: &BlockHash) -> Result<BlockStatus, Self::Error>;
    /// `None` when the transaction is unknown or unconfirmed.
    async fn merkle_block(&self, txid: &Txid) -> Result<Option<MerkleBlock>, Self::Error>;
    /// `None` when the transaction is unknown.
    async fn tx(&self, txid: &Txid) -> Result<Option<Transaction>, Self::Error>;
    /// Whether `outpoint` is spent, by what, and where that spend is.
    async fn output_spend(&self, outpoint: &OutPoint) -> Result<OutputSpend, Self::Error>;
}

/// Why a sync round did not finish.
#[derive(Debug)]
pub enum SyncError<E> {
    /// The backend failed; retry later.
    Source(E),
    /// The backend answered something that contradicts itself (a merkle proof that does not
    /// match, a transaction with another txid): it is not to be trusted.
    Untrustworthy(&'static str),
    /// A sync is already running.
    Busy,
}

impl<E> From<E> for SyncError<E> {
    fn from(e: E) -> Self {
        SyncError::Source(e)
    }
}

/// Internal: a phase met a chain that moved under it; restart the round.
enum Step<E> {
    Restart,
    Fail(SyncError<E>),
}

impl<E> From<E> for Step<E> {
    fn from(e: E) -> Self {
        Step::Fail(SyncError::Source(e))
    }
}

struct ConfirmedTx {
    tx: Transaction,
    txid: Txid,
    header: Header,
    height: u32,
    pos: usize,
}

#[derive(Default)]
struct SyncState {
    watched_txs: HashMap<Txid, Vec<ScriptBuf>>,
    watched_outputs: HashMap<OutPoint, WatchedOutput>,
    /// Spends of watched outputs, kept until they are `ANTI_REORG_DELAY` deep.
    spent_pending: Vec<(Txid, u32, OutPoint, WatchedOutput)>,
    last_tip: Option<BlockHash>,
    pending: bool,
}

#[derive(Default)]
struct Registrations {
    txs: HashMap<Txid, Vec<ScriptBuf>>,
    outputs: HashMap<OutPoint, WatchedOutput>,
}

/// LDK's chain [`Filter`] and the sync that serves it. Single-threaded (the browser's one
/// thread): state sits in `RefCell`s that are never borrowed across an `await`.
#[derive(Default)]
pub struct TxSync {
    state: RefCell<Option<SyncState>>,
    queue: RefCell<Registrations>,
    best_height: RefCell<Option<u32>>,
}

impl TxSync {
    /// A sync that has seen nothing yet.
    pub fn new() -> Self {
        TxSync {
            state: RefCell::new(Some(SyncState::default())),
            ..Default::default()
        }
    }

    /// The height of the last tip handed to LDK.
    pub fn best_height(&self) -> Option<u32> {
        *self.best_height.borrow()
    }

    /// Brings every `confirmables` up to the source's tip. Returns the number of transactions
    /// confirmed and unconfirmed in this round.
    pub async fn sync<S: ChainSource, C: Deref>(
        &self,
        source: &S,
        confirmables: &[C],
    ) -> Result<(usize, usize), SyncError<S::Error>>
    where
        C::Target: Confirm,
    {
        let mut state = self.state.borrow_mut().take().ok_or(SyncError::Busy)?;
        let result = self.sync_with(source, confirmables, &mut state).await;
        if result.is_err() {
            state.pending = true;
        }
        *self.state.borrow_mut() = Some(state);
        result
    }

    fn take_registrations(&self, state: &mut SyncState) -> bool {
        let mut queue = self.queue.borrow_mut();
        let pending = !queue.txs.is_empty() || !queue.outputs.is_empty();
        for (txid, scripts) in queue.txs.drain() {
            let watched = state.watched_txs.entry(txid).or_default();
            for script in scripts {
                if !watched.contains(&script) {
                    watched.push(script);
                }
            }
        }
        state.watched_outputs.extend(queue.outputs.drain());
        pending
    }

    async fn sync_with<S: ChainSource, C: Deref>(
        &self,
        source: &S,
        confirmables: &[C],
        state: &mut SyncState,
    ) -> Result<(usize, usize), SyncError<S::Error>>
    where
        C::Target: Confirm,
    {
        let (mut confirmed, mut unconfirmed) = (0, 0);
        let mut tip = source.tip_hash().await?;
        loop {
            let registered = self.take_registrations(state);
            let tip_is_new = Some(tip) != state.last_tip;
            if !state.pending && !registered && !tip_is_new {
                return Ok((confirmed, unconfirmed));
            }
            match self
                .round(source, confirmables, state, &mut tip, tip_is_new)
                .await
            {
                Ok((c, u)) => {
                    confirmed += c;
                    unconfirmed += u;
                    state.last_tip = Some(tip);
                    state.pending = false;
                }
                Err(Step::Restart) => {
                    state.pending = true;
                    tip = source.tip_hash().await?;
                }
                Err(Step::Fail(e)) => return Err(e),
            }
        }
    }

    async fn round<S: ChainSource, C: Deref>(
        &self,
        source: &S,
        confirmables: &[C],
        state: &mut SyncState,
        tip: &mut BlockHash,
        tip_is_new: bool,
    ) -> Result<(usize, usize), Step<S::Error>>
    where
        C::Target: Confirm,
    {
        let mut unconfirmed_count = 0;
        if tip_is_new {
            let unconfirmed = unconfirmed_txs(source, confirmables).await?;
            if source.tip_hash().await? != *tip {
                return Err(Step::Restart);
            }
            unconfirmed_count = unconfirmed.len();
            for txid in unconfirmed {
                for c in confirmables {
                    c.transaction_unconfirmed(&txid);
                }
                state.watched_txs.entry(txid).or_default();
                state
                    .spent_pending
                    .retain(|(spender, _, outpoint, output)| {
                        if *spender == txid {
                            state.watched_outputs.insert(*outpoint, output.clone());
                            false
                        } else {
                            true
                        }
                    });
            }
            let header = source.header(tip).await?;
            let status = source.block_status(tip).await?;
            let height = match status {
                BlockStatus {
                    in_best_chain: true,
                    height: Some(h),
                    ..
                } => h,
                _ => return Err(Step::Restart),
            };
            for c in confirmables {
                c.best_block_updated(&header, height);
            }
            *self.best_height.borrow_mut() = Some(height);
            state
                .spent_pending
                .retain(|(_, h, _, _)| height < h + ANTI_REORG_DELAY - 1);
        }

        let confirmed = confirmed_txs(source, state).await?;
        if source.tip_hash().await? != *tip {
            return Err(Step::Restart);
        }
        let confirmed_count = confirmed.len();
        for ctx in confirmed {
            for c in confirmables {
                c.transactions_confirmed(&ctx.header, &[(ctx.pos, &ctx.tx)], ctx.height);
            }
            state.watched_txs.remove(&ctx.txid);
            for input in &ctx.tx.input {
                if let Some(output) = state.watched_outputs.remove(&input.previous_output) {
                    state
                        .spent_pending
                        .push((ctx.txid, ctx.height, input.previous_output, output));
                }
            }
        }
        Ok((confirmed_count, unconfirmed_count))
    }
}

/// Transactions LDK holds as confirmed in a block that is no longer in the best chain.
async fn unconfirmed_txs<S: ChainSource, C: Deref>(
    source: &S,
    confirmables: &[C],
) -> Result<Vec<Txid>, Step<S::Error>>
where
    C::Target: Confirm,
{
    let relevant: HashSet<(Txid, u32, Option<BlockHash>)> = confirmables
        .iter()
        .flat_map(|c| c.get_relevant_txids())
        .collect();
    let mut out = Vec::new();
    for (txid, _, block) in relevant {
        // LDK 0.0.113+ always records the block; without it there is nothing to check.
        let Some(block) = block else { continue };
        if !source.block_status(&block).await?.in_best_chain {
            out.push(txid);
        }
    }
    Ok(out)
}

/// Watched transactions and spends of watched outputs now confirmed, in chain order.
async fn confirmed_txs<S: ChainSource>(
    source: &S,
    state: &SyncState,
) -> Result<Vec<ConfirmedTx>, Step<S::Error>> {
    let mut found: Vec<ConfirmedTx> = Vec::new();
    for txid in state.watched_txs.keys() {
        if found.iter().any(|c| c.txid == *txid) {
            continue;
        }
        if let Some(ctx) = confirmed_tx(source, *txid, None).await? {
            found.push(ctx);
        }
    }
    for output in state.watched_outputs.values() {
        let outpoint = output.outpoint.into_bitcoin_outpoint();
        let OutputSpend::Spent { txid, status, .. } = source.output_spend(&outpoint).await? else {
            continue;
        };
        let TxStatus::Confirmed {
            block_height,
            block_hash,
            ..
        } = status
        else {
            continue;
        };
        if found.iter().any(|c| c.txid == txid) {
            continue;
        }
        if let Some(ctx) = confirmed_tx(source, txid, Some((block_hash, block_height))).await? {
            found.push(ctx);
        }
    }
    found.sort_unstable_by(|a, b| a.height.cmp(&b.height).then(a.pos.cmp(&b.pos)));
    Ok(found)
}

/// A confirmed transaction with its header and position, proven by a merkle proof.
async fn confirmed_tx<S: ChainSource>(
    source: &S,
    txid: Txid,
    expected: Option<(BlockHash, u32)>,
) -> Result<Option<ConfirmedTx>, Step<S::Error>> {
    let Some(proof) = source.merkle_block(&txid).await? else {
        return Ok(None);
    };
    let header = proof.header;
    let hash = header.block_hash();
    if expected.is_some_and(|(h, _)| h != hash) {
        return Err(Step::Restart);
    }
    let Ok(pos) = verify_merkle_block(&proof, &txid) else {
        return Err(Step::Fail(SyncError::Untrustworthy(
            "merkle proof does not prove the tx",
        )));
    };
    let Some(tx) = source.tx(&txid).await? else {
        return Err(Step::Restart);
    };
    if tx.compute_txid() != txid {
        return Err(Step::Fail(SyncError::Untrustworthy(
            "transaction has another txid",
        )));
    }
    // A 64-byte transaction can pose as an inner merkle node; never trust one.
    if tx.total_size() == 64 {
        return Ok(None);
    }
    let height = match expected {
        Some((_, h)) => h,
        None => match source.block_status(&hash).await? {
            BlockStatus {
                in_best_chain: true,
                height: Some(h),
                ..
            } => h,
            _ => return Err(Step::Restart),
        },
    };
    Ok(Some(ConfirmedTx {
        tx,
        txid,
        header,
        height,
        pos: pos as usize,
    }))
}

impl Filter for TxSync {
    fn register_tx(&self, txid: &Txid, script_pubkey: &Script) {
        let mut queue = self.queue.borrow_mut();
        let scripts = queue.txs.entry(*txid).or_default();
        if scripts.iter().all(|s| s.as_script() != script_pubkey) {
            scripts.push(script_pubkey.to_owned());
        }
    }

    fn register_output(&self, output: WatchedOutput) {
        self.queue
            .borrow_mut()
            .outputs
            .insert(output.outpoint.into_bitcoin_outpoint(), output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::block::Version;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version as TxVersion;
    use bitcoin::{Amount, Block, CompactTarget, Sequence, TxIn, TxMerkleNode, TxOut, Witness};
    use std::cell::RefCell;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    /// The fake source answers at once, so a single poll finishes any sync.
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("fake source never pends"),
        }
    }

    fn tx(spending: Option<OutPoint>, tag: u8) -> Transaction {
        Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: spending.unwrap_or(OutPoint {
                    txid: Txid::from_byte_array([tag; 32]),
                    vout: 0,
                }),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(10_000 + tag as u64),
                script_pubkey: ScriptBuf::new_op_return([tag; 40]),
            }],
        }
    }

    /// A best chain of blocks that a test can extend and reorg.
    #[derive(Default)]
    struct FakeChain {
        blocks: RefCell<Vec<Block>>,
        stale: RefCell<Vec<Block>>,
        fail: RefCell<bool>,
    }

    impl FakeChain {
        fn push(&self, txs: Vec<Transaction>) -> BlockHash {
            let mut blocks = self.blocks.borrow_mut();
            let prev = blocks
                .last()
                .map(|b| b.block_hash())
                .unwrap_or(BlockHash::all_zeros());
            let mut block = Block {
                header: bitcoin::block::Header {
                    version: Version::TWO,
                    prev_blockhash: prev,
                    merkle_root: TxMerkleNode::all_zeros(),
                    time: blocks.len() as u32 + self.stale.borrow().len() as u32 * 1000,
                    bits: CompactTarget::from_consensus(0x207fffff),
                    nonce: 0,
                },
                txdata: std::iter::once(tx(None, blocks.len() as u8 + 200))
                    .chain(txs)
                    .collect(),
            };
            block.header.merkle_root = block.compute_merkle_root().unwrap();
            let hash = block.block_hash();
            blocks.push(block);
            hash
        }
        fn reorg_from(&self, height: usize) {
            let mut blocks = self.blocks.borrow_mut();
            let gone = blocks.split_off(height);
            self.stale.borrow_mut().extend(gone);
        }
        fn find(&self, txid: &Txid) -> Option<(usize, Block)> {
            self.blocks.borrow().iter().enumerate().find_map(|(h, b)| {
                b.txdata
                    .iter()
                    .any(|t| t.compute_txid() == *txid)
                    .then(|| (h, b.clone()))
            })
        }
    }

    impl ChainSource for FakeChain {
        type Error = &'static str;
        async fn tip_hash(&self) -> Result<BlockHash, Self::Error> {
            if *self.fail.borrow() {
                return Err("down");
            }
            Ok(self.blocks.borrow().last().unwrap().block_hash())
        }
        async fn header(&self, hash: &BlockHash) -> Result<Header, Self::Error> {
            let all = self
                .blocks
                .borrow()
                .iter()
                .chain(self.stale.borrow().iter())
                .cloned()
                .collect::<Vec<_>>();
            all.iter()
                .find(|b| b.block_hash() == *hash)
                .map(|b| b.header)
                .ok_or("no header")
        }
        async fn block_status(&self, hash: &BlockHash) -> Result<BlockStatus, Self::Error> {
            let height = self
                .blocks
                .borrow()
                .iter()
                .position(|b| b.block_hash() == *hash);
            Ok(BlockStatus {
                in_best_chain: height.is_some(),
                height: height.map(|h| h as u32),
                next_best: None,
            })
        }
        async fn merkle_block(&self, txid: &Txid) -> Result<Option<MerkleBlock>, Self::Error> {
            Ok(self
                .find(txid)
                .map(|(_, b)| MerkleBlock::from_block_with_predicate(&b, |t| t == txid)))
        }
        async fn tx(&self, txid: &Txid) -> Result<Option<Transaction>, Self::Error> {
            Ok(self
                .find(txid)
                .and_then(|(_, b)| b.txdata.into_iter().find(|t| t.compute_txid() == *txid)))
        }
        async fn output_spend(&self, outpoint: &OutPoint) -> Result<OutputSpend, Self::Error> {
            for (h, b) in self.blocks.borrow().iter().enumerate() {
                for t in &b.txdata {
                    if t.input.iter().any(|i| i.previous_output == *outpoint) {
                        let status = TxStatus::Confirmed {
                            block_height: h as u32,
                            block_hash: b.block_hash(),
                            block_time: None,
                        };
                        return Ok(OutputSpend::Spent {
                            txid: t.compute_txid(),
                            vin: 0,
                            status,
                        });
                    }
                }
            }
            Ok(OutputSpend::Unspent)
        }
    }

    /// Records what LDK would be told.
    #[derive(Default)]
    struct Recorder {
        confirmed: RefCell<Vec<(Txid, u32, BlockHash)>>,
        unconfirmed: RefCell<Vec<Txid>>,
        best: RefCell<Option<u32>>,
    }

    impl Confirm for Recorder {
        fn transactions_confirmed(
            &self,
            header: &Header,
            txdata: &lightning::chain::transaction::TransactionData,
            height: u32,
        ) {
            for (_, t) in txdata {
                let txid = t.compute_txid();
                self.confirmed.borrow_mut().retain(|(id, _, _)| *id != txid);
                self.confirmed
                    .borrow_mut()
                    .push((txid, height, header.block_hash()));
            }
        }
        fn transaction_unconfirmed(&self, txid: &Txid) {
            self.unconfirmed.borrow_mut().push(*txid);
            self.confirmed.borrow_mut().retain(|(id, _, _)| id != txid);
        }
        fn best_block_updated(&self, _: &Header, height: u32) {
            *self.best.borrow_mut() = Some(height);
        }
        fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
            self.confirmed
                .borrow()
                .iter()
                .map(|(t, h, b)| (*t, *h, Some(*b)))
                .collect()
        }
    }

    #[test]
    fn confirms_watched_tx_and_follows_output_spends_in_chain_order() {
        let chain = FakeChain::default();
        chain.push(vec![]);
        let funding = tx(None, 1);
        let funding_out = OutPoint {
            txid: funding.compute_txid(),
            vout: 0,
        };
        let sync = TxSync::new();
        let ldk = Recorder::default();
        sync.register_tx(&funding.compute_txid(), &funding.output[0].script_pubkey);
        sync.register_output(WatchedOutput {
            block_hash: None,
            outpoint: lightning::chain::transaction::OutPoint {
                txid: funding_out.txid,
                index: 0,
            },
            script_pubkey: funding.output[0].script_pubkey.clone(),
        });

        assert_eq!(block_on(sync.sync(&chain, &[&ldk])).unwrap(), (0, 0));
        assert_eq!(*ldk.best.borrow(), Some(0));
        chain.push(vec![funding.clone()]);
        let close = tx(Some(funding_out), 2);
        chain.push(vec![close.clone()]);
        assert_eq!(block_on(sync.sync(&chain, &[&ldk])).unwrap(), (2, 0));
        let confirmed = ldk.confirmed.borrow().clone();
        assert_eq!(
            confirmed.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(),
            vec![(funding.compute_txid(), 1), (close.compute_txid(), 2)]
        );
        assert_eq!(sync.best_height(), Some(2));
        // Nothing new: nothing fed again.
        assert_eq!(block_on(sync.sync(&chain, &[&ldk])).unwrap(), (0, 0));
    }

    #[test]
    fn reorg_unconfirms_then_reconfirms_in_the_new_block() {
        let chain = FakeChain::default();
        chain.push(vec![]);
        let funding = tx(None, 3);
        let sync = TxSync::new();
        let ldk = Recorder::default();
        sync.register_tx(&funding.compute_txid(), &funding.output[0].script_pubkey);
        chain.push(vec![funding.clone()]);
        block_on(sync.sync(&chain, &[&ldk])).unwrap();
        let first_block = ldk.confirmed.borrow()[0].2;

        chain.reorg_from(1);
        chain.push(vec![]);
        chain.push(vec![funding.clone()]);
        let (confirmed, unconfirmed) = block_on(sync.sync(&chain, &[&ldk])).unwrap();
        assert_eq!((confirmed, unconfirmed), (1, 1));
        assert_eq!(*ldk.unconfirmed.borrow(), vec![funding.compute_txid()]);
        let now = ldk.confirmed.borrow()[0];
        assert_eq!(now.1, 2, "confirmed at its new height");
        assert_ne!(now.2, first_block);
    }

    #[test]
    fn a_failing_source_leaves_the_sync_retryable() {
        let chain = FakeChain::default();
        chain.push(vec![]);
        let sync = TxSync::new();
        let ldk = Recorder::default();
        *chain.fail.borrow_mut() = true;
        assert!(matches!(
            block_on(sync.sync(&chain, &[&ldk])),
            Err(SyncError::Source("down"))
        ));
        *chain.fail.borrow_mut() = false;
        assert!(block_on(sync.sync(&chain, &[&ldk])).is_ok());
        assert_eq!(*ldk.best.borrow(), Some(0));
    }
}
