//! The devnet's mempool: transactions waiting for the next block, checked against the confirmed
//! chain ([`ChainIndex`]) and each other.
//!
//! A transaction is accepted only if a block at the next height could contain it: Core's
//! context-free checks (`CheckTransaction`), finality (`IsFinalTx` at the next height and the
//! tip's median-time-past), every input exists and is unspent (confirmed, or an output of a
//! mempool transaction: chains of unconfirmed transactions are allowed), no other mempool
//! transaction spends the same output (no replacement), coinbase outputs are 100 blocks deep,
//! BIP68 relative locks hold, inputs >= outputs, and the scripts pass the given verifier
//! (libbitcoinkernel in production). Reject reasons use Core's words. Standardness policy (dust,
//! minimum relay fee, sizes) is not applied: this is a test network.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bitcoin::hashes::sha256;
use bitcoin::{Amount, Block, OutPoint, Transaction, TxOut, Txid, Weight};

use super::block_builder::COINBASE_MATURITY;
use super::chain_index::{script_hash, ChainIndex};
use super::Rejected;

/// Core's `MAX_MONEY`: 21 million BTC.
const MAX_MONEY_SAT: u64 = 21_000_000 * 100_000_000;
/// Core's `MAX_BLOCK_WEIGHT`.
const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Lock times below this are heights, at or above it UNIX times.
const LOCKTIME_THRESHOLD: u32 = 500_000_000;
const SEQUENCE_DISABLE_FLAG: u32 = 1 << 31;
const SEQUENCE_TYPE_FLAG: u32 = 1 << 22;
const SEQUENCE_MASK: u32 = 0x0000_ffff;
const SEQUENCE_GRANULARITY: u32 = 9;

fn reject(reason: impl Into<String>) -> Rejected {
    Rejected {
        reason: reason.into(),
    }
}

/// Core's `FormatMoney`: BTC with at least 2 and at most 8 decimals, trailing zeros trimmed.
fn format_money(sat: u64) -> String {
    let s = format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000);
    let trimmed = s.trim_end_matches('0');
    let dot = trimmed.find('.').unwrap_or(trimmed.len());
    let decimals = trimmed.len() - dot - 1;
    if decimals < 2 {
        format!("{}{}", trimmed, "0".repeat(2 - decimals))
    } else {
        trimmed.to_string()
    }
}

/// A transaction in the mempool with what was learned checking it.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its txid.
    pub txid: Txid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// The outputs its inputs spend, input order.
    pub prevouts: Vec<TxOut>,
    /// Order of arrival; parents always arrive before their children.
    pub seq: u64,
}

impl MempoolEntry {
    /// Weight of the transaction.
    pub fn weight(&self) -> Weight {
        self.tx.weight()
    }
}

/// Transactions waiting for a block. Arrival order is kept and is a valid block order.
#[derive(Default)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    order: BTreeMap<u64, Txid>,
    next_seq: u64,
    /// Outputs spent by mempool transactions: the spender and its input index.
    spends: HashMap<OutPoint, (Txid, u32)>,
}

/// Core's context-free transaction checks (`CheckTransaction`) for a non-coinbase transaction.
pub fn check_transaction(tx: &Transaction) -> Result<(), Rejected> {
    if tx.input.is_empty() {
        return Err(reject("bad-txns-vin-empty"));
    }
    if tx.output.is_empty() {
        return Err(reject("bad-txns-vout-empty"));
    }
    if (tx.base_size() as u64).saturating_mul(4) > MAX_BLOCK_WEIGHT {
        return Err(reject("bad-txns-oversize"));
    }
    let mut total: u64 = 0;
    for out in &tx.output {
        let v = out.value.to_sat();
        if v > MAX_MONEY_SAT {
            return Err(reject("bad-txns-vout-toolarge"));
        }
        total = total.saturating_add(v);
        if total > MAX_MONEY_SAT {
            return Err(reject("bad-txns-txouttotal-toolarge"));
        }
    }
    let mut seen = BTreeSet::new();
    for input in &tx.input {
        if !seen.insert(input.previous_output) {
            return Err(reject("bad-txns-inputs-duplicate"));
        }
        if input.previous_output.is_null() {
            return Err(reject("bad-txns-prevout-null"));
        }
    }
    Ok(())
}

/// Core's `IsFinalTx` for a block at `height` whose parent has median-time-past `parent_mtp`.
pub fn is_final(tx: &Transaction, height: u32, parent_mtp: u32) -> bool {
    let lt = tx.lock_time.to_consensus_u32();
    if lt == 0 {
        return true;
    }
    let cutoff = if lt < LOCKTIME_THRESHOLD {
        height
    } else {
        parent_mtp
    };
    if lt < cutoff {
        return true;
    }
    tx.input.iter().all(|i| i.sequence.0 == u32::MAX)
}

/// BIP68 relative lock check (`CalculateSequenceLocks` + `EvaluateSequenceLocks`) for a block at
/// `height`. `coin_heights[i]` is the height that confirmed input `i`'s coin (`height` itself for
/// a coin still in the mempool); `mtp_at(h)` is the median-time-past of block `h`.
pub fn sequence_locks_ok(
    tx: &Transaction,
    coin_heights: &[u32],
    height: u32,
    mtp_at: impl Fn(u32) -> u32,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    for (input, &coin_height) in tx.input.iter().zip(coin_heights) {
        let seq = input.sequence.0;
        if seq & SEQUENCE_DISABLE_FLAG != 0 {
            continue;
        }
        let value = i64::from(seq & SEQUENCE_MASK);
        if seq & SEQUENCE_TYPE_FLAG != 0 {
            let coin_time = i64::from(mtp_at(coin_height.saturating_sub(1)));
            min_time = min_time.max(coin_time + (value << SEQUENCE_GRANULARITY) - 1);
        } else {
            min_height = min_height.max(i64::from(coin_height) + value - 1);
        }
    }
    let parent_mtp = i64::from(mtp_at(height.saturating_sub(1)));
    min_height < i64::from(height) && min_time < parent_mtp
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no transaction waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `txid`.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Entries in arrival order (a valid block order).
    pub fn entries(&self) -> impl Iterator<Item = &MempoolEntry> {
        self.order.values().filter_map(|t| self.entries.get(t))
    }

    /// The mempool transaction spending `outpoint`, with its input index.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<(Txid, u32)> {
        self.spends.get(outpoint).copied()
    }

    /// The output `outpoint` names if a mempool transaction created it (spent or not).
    pub fn output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        self.entries
            .get(&outpoint.txid)?
            .tx
            .output
            .get(outpoint.vout as usize)
    }

    /// Mempool entries that pay to or spend from the script with hash `sh`, newest first.
    pub fn touching(&self, sh: &sha256::Hash) -> Vec<&MempoolEntry> {
        self.order
            .values()
            .rev()
            .filter_map(|t| self.entries.get(t))
            .filter(|e| {
                e.tx.output
                    .iter()
                    .any(|o| script_hash(&o.script_pubkey) == *sh)
                    || e.prevouts
                        .iter()
                        .any(|o| script_hash(&o.script_pubkey) == *sh)
            })
            .collect()
    }

    /// Checks `tx` against the chain in `index` and this mempool (see the module doc) and adds
    /// it. `verify_scripts(tx, spent_outputs)` judges the scripts. Submitting a transaction that
    /// is already in the mempool succeeds again without change.
    pub fn accept(
        &mut self,
        tx: &Transaction,
        index: &ChainIndex,
        verify_scripts: impl FnOnce(&Transaction, &[TxOut]) -> Result<(), Rejected>,
    ) -> Result<Txid, Rejected> {
        let txid = tx.compute_txid();
        if self.entries.contains_key(&txid) {
            return Ok(txid);
        }
        if tx.is_coinbase() {
            return Err(reject("coinbase"));
        }
        if index.tx(&txid).is_some() {
            return Err(reject("txn-already-known"));
        }
        check_transaction(tx)?;
        let tip = index.tip_height();
        let height = tip + 1;
        let tip_mtp = index.mtp_at(tip).unwrap_or(0);
        if !is_final(tx, height, tip_mtp) {
            return Err(reject("non-final"));
        }
        let mut prevouts = Vec::with_capacity(tx.input.len());
        let mut coin_heights = Vec::with_capacity(tx.input.len());
        for input in &tx.input {
            let op = input.previous_output;
            if let Some((other, _)) = self.spends.get(&op) {
                return Err(reject(format!(
                    "txn-mempool-conflict ({op} already spent by {other} in the mempool)"
                )));
            }
            if let Some(u) = index.utxo(&op) {
                if let Some(coin_height) = u.height {
                    let depth = height - coin_height;
                    if u.is_coinbase && depth < COINBASE_MATURITY {
                        return Err(reject(format!(
                            "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {depth}"
                        )));
                    }
                    coin_heights.push(coin_height);
                } else {
                    coin_heights.push(height);
                }
                prevouts.push(u.txout.clone());
            } else if let Some(out) = self.output(&op) {
                prevouts.push(out.clone());
                coin_heights.push(height);
            } else {
                return Err(reject(format!("bad-txns-inputs-missingorspent ({op})")));
            }
        }
        let value_in = prevouts
            .iter()
            .try_fold(0u64, |acc, o| acc.checked_add(o.value.to_sat()))
            .filter(|v| *v <= MAX_MONEY_SAT)
            .ok_or_else(|| reject("bad-txns-inputvalues-outofrange"))?;
        let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        let fee = value_in.checked_sub(value_out).ok_or_else(|| {
            reject(format!(
                "bad-txns-in-belowout, value in ({}) < value out ({})",
                format_money(value_in),
                format_money(value_out)
            ))
        })?;
        let mtp_at = |h: u32| index.mtp_at(h.min(tip)).unwrap_or(0);
        if !sequence_locks_ok(tx, &coin_heights, height, mtp_at) {
            return Err(reject("non-BIP68-final"));
        }
        verify_scripts(tx, &prevouts)?;

        let seq = self.next_seq;
        self.next_seq += 1;
        for (vin, input) in tx.input.iter().enumerate() {
            self.spends
                .insert(input.previous_output, (txid, vin as u32));
        }
        self.order.insert(seq, txid);
        self.entries.insert(
            txid,
            MempoolEntry {
                tx: tx.clone(),
                txid,
                fee: Amount::from_sat(fee),
                prevouts,
                seq,
            },
        );
        Ok(txid)
    }

    /// Transactions for the next block in arrival order, as many as fit in `max_weight`
    /// (a transaction whose mempool parent was left out is left out too), with their total fee.
    pub fn select(&self, max_weight: Weight) -> (Vec<Transaction>, Amount) {
        let mut chosen = Vec::new();
        let mut chosen_ids: BTreeSet<Txid> = BTreeSet::new();
        let mut weight = Weight::ZERO;
        let mut fees = Amount::ZERO;
        for e in self.entries() {
            let parents_in = e.tx.input.iter().all(|i| {
                !self.entries.contains_key(&i.previous_output.txid)
                    || chosen_ids.contains(&i.previous_output.txid)
            });
            let w = e.weight();
            if !parents_in || weight + w > max_weight {
                continue;
            }
            weight += w;
            fees += e.fee;
            chosen_ids.insert(e.txid);
            chosen.push(e.tx.clone());
        }
        (chosen, fees)
    }

    /// Removes `txid` and everything that spends its outputs, directly or not. Returns the
    /// removed txids.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        let mut removed = Vec::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            let Some(entry) = self.entries.remove(&t) else {
                continue;
            };
            self.order.remove(&entry.seq);
            for input in &entry.tx.input {
                self.spends.remove(&input.previous_output);
            }
            for vout in 0..entry.tx.output.len() {
                let op = OutPoint {
                    txid: t,
                    vout: vout as u32,
                };
                if let Some((child, _)) = self.spends.get(&op) {
                    stack.push(*child);
                }
            }
            removed.push(t);
        }
        removed
    }

    /// Updates the mempool for a newly connected `block`: its transactions leave the mempool
    /// (their mempool children stay, now spending confirmed outputs), and mempool transactions
    /// that spend what the block spent are removed with their descendants. Returns the txids
    /// removed as conflicts.
    pub fn remove_for_block(&mut self, block: &Block) -> Vec<Txid> {
        let mut conflicts = Vec::new();
        for tx in block.txdata.iter().skip(1) {
            let txid = tx.compute_txid();
            if let Some(entry) = self.entries.remove(&txid) {
                self.order.remove(&entry.seq);
                for input in &entry.tx.input {
                    self.spends.remove(&input.previous_output);
                }
            }
        }
        for tx in block.txdata.iter().skip(1) {
            for input in &tx.input {
                if let Some((other, _)) = self.spends.get(&input.previous_output).copied() {
                    conflicts.extend(self.remove_with_descendants(&other));
                }
            }
        }
        conflicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::block_builder::{assemble_block, BlockTemplate};
    use bitcoin::hashes::Hash;
    use bitcoin::{absolute, transaction, Network, ScriptBuf, Sequence, TxIn, Witness};

    fn spk(n: u8) -> ScriptBuf {
        ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array([n; 32]))
    }

    fn ok_scripts(_: &Transaction, _: &[TxOut]) -> Result<(), Rejected> {
        Ok(())
    }

    fn mine(index: &mut ChainIndex, txs: Vec<Transaction>, fees: Amount) -> Block {
        let h = index.tip_height() + 1;
        let block = assemble_block(&BlockTemplate {
            prev_blockhash: index.tip_hash(),
            height: h,
            time: 1_700_000_000 + h * 600,
            txs,
            fees,
            coinbase_script_pubkey: spk(1),
            extra_nonce: 0,
        })
        .expect("assembles");
        let prevouts = index.prevouts_for_block(&block).expect("connectable");
        index.connect(block.clone(), &prevouts);
        block
    }

    fn spend(from: OutPoint, value: u64, to: u8) -> Transaction {
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: from,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(value),
                script_pubkey: spk(to),
            }],
        }
    }

    fn chain_with(blocks: u32) -> (ChainIndex, OutPoint) {
        let mut index = ChainIndex::new(bitcoin::blockdata::constants::genesis_block(
            Network::Regtest,
        ));
        let first = mine(&mut index, vec![], Amount::ZERO);
        for _ in 1..blocks {
            mine(&mut index, vec![], Amount::ZERO);
        }
        (
            index,
            OutPoint {
                txid: first.txdata[0].compute_txid(),
                vout: 0,
            },
        )
    }

    #[test]
    fn coinbase_maturity_is_enforced() {
        // Coinbase at height 1; tip 99 means the next block is 100: depth 99.
        let (index, cb) = chain_with(99);
        let mut pool = Mempool::new();
        let err = pool
            .accept(&spend(cb, 1000, 2), &index, ok_scripts)
            .unwrap_err();
        assert!(
            err.reason
                .starts_with("bad-txns-premature-spend-of-coinbase"),
            "{err}"
        );
        assert!(err.reason.contains("depth 99"), "{err}");
        let (index, cb) = chain_with(100);
        assert!(pool.accept(&spend(cb, 1000, 2), &index, ok_scripts).is_ok());
    }

    #[test]
    fn double_spends_chains_and_fees() {
        let (mut index, cb) = chain_with(101);
        let mut pool = Mempool::new();
        let a = spend(cb, 1_000_000, 2);
        let a_id = pool.accept(&a, &index, ok_scripts).expect("accepted");
        // Idempotent.
        assert_eq!(pool.accept(&a, &index, ok_scripts).expect("again"), a_id);
        // Double spend.
        let err = pool
            .accept(&spend(cb, 999_000, 3), &index, ok_scripts)
            .unwrap_err();
        assert!(err.reason.starts_with("txn-mempool-conflict"), "{err}");
        // Chain of unconfirmed.
        let b = spend(
            OutPoint {
                txid: a_id,
                vout: 0,
            },
            900_000,
            4,
        );
        let b_id = pool.accept(&b, &index, ok_scripts).expect("child accepted");
        // Negative fee.
        let c = spend(
            OutPoint {
                txid: b_id,
                vout: 0,
            },
            900_001,
            5,
        );
        let err = pool.accept(&c, &index, ok_scripts).unwrap_err();
        assert_eq!(
            err.reason,
            "bad-txns-in-belowout, value in (0.009) < value out (0.00900001)"
        );
        // Missing input.
        let err = pool
            .accept(
                &spend(
                    OutPoint {
                        txid: Txid::all_zeros(),
                        vout: 7,
                    },
                    1,
                    5,
                ),
                &index,
                ok_scripts,
            )
            .unwrap_err();
        assert!(
            err.reason.starts_with("bad-txns-inputs-missingorspent"),
            "{err}"
        );
        // The script verifier's verdict is final.
        let d = spend(
            OutPoint {
                txid: b_id,
                vout: 0,
            },
            800_000,
            6,
        );
        let err = pool
            .accept(&d, &index, |_, _| {
                Err(reject("mandatory-script-verify-flag-failed (x)"))
            })
            .unwrap_err();
        assert_eq!(err.reason, "mandatory-script-verify-flag-failed (x)");
        assert_eq!(pool.len(), 2);

        let (txs, fees) = pool.select(Weight::from_wu(3_900_000));
        assert_eq!(
            txs.iter().map(|t| t.compute_txid()).collect::<Vec<_>>(),
            vec![a_id, b_id]
        );
        let cb_value = 5_000_000_000u64;
        assert_eq!(fees.to_sat(), cb_value - 900_000);
        // Only a fits: b is left out with it.
        let (txs, _) = pool.select(a.weight());
        assert_eq!(txs.len(), 1);

        let block = mine(&mut index, txs, Amount::from_sat(cb_value - 1_000_000));
        assert!(pool.remove_for_block(&block).is_empty());
        assert_eq!(pool.len(), 1);
        assert!(pool.get(&b_id).is_some());
        assert!(pool.spender(&cb).is_none());
    }

    #[test]
    fn block_conflicts_evict_descendants() {
        let (mut index, cb) = chain_with(101);
        let mut pool = Mempool::new();
        let a = spend(cb, 1_000_000, 2);
        let a_id = pool.accept(&a, &index, ok_scripts).expect("a");
        let b = spend(
            OutPoint {
                txid: a_id,
                vout: 0,
            },
            900_000,
            3,
        );
        let b_id = pool.accept(&b, &index, ok_scripts).expect("b");
        // A block confirms a different spend of the same coinbase.
        let other = spend(cb, 2_000_000, 4);
        let block = mine(
            &mut index,
            vec![other],
            Amount::from_sat(5_000_000_000 - 2_000_000),
        );
        let mut removed = pool.remove_for_block(&block);
        removed.sort();
        let mut expected = vec![a_id, b_id];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(pool.is_empty());
    }

    #[test]
    fn finality_and_relative_locks() {
        let mut tx = spend(
            OutPoint {
                txid: Txid::all_zeros(),
                vout: 0,
            },
            1,
            1,
        );
        tx.lock_time = absolute::LockTime::from_consensus(100);
        assert!(!is_final(&tx, 100, 0));
        assert!(is_final(&tx, 101, 0));
        tx.input[0].sequence = Sequence::MAX;
        assert!(is_final(&tx, 100, 0));
        tx.lock_time = absolute::LockTime::from_consensus(1_700_000_000);
        tx.input[0].sequence = Sequence::ENABLE_RBF_NO_LOCKTIME;
        assert!(!is_final(&tx, 5, 1_700_000_000));
        assert!(is_final(&tx, 5, 1_700_000_001));

        // Relative height lock of 10 on a coin confirmed at 50: first possible block is 60.
        tx.input[0].sequence = Sequence::from_height(10);
        assert!(!sequence_locks_ok(&tx, &[50], 59, |_| 0));
        assert!(sequence_locks_ok(&tx, &[50], 60, |_| 0));
        // Version 1 ignores BIP68.
        tx.version = transaction::Version::ONE;
        assert!(sequence_locks_ok(&tx, &[50], 51, |_| 0));
        // Relative time lock of 512 s: coin's reference time is MTP of block 49.
        tx.version = transaction::Version::TWO;
        tx.input[0].sequence = Sequence::from_512_second_intervals(1);
        let mtp = |h: u32| 1_000 + h * 100;
        // Need parent MTP > mtp(49) + 512 - 1 = 6411: mtp(h-1) = 1000 + (h-1)*100 > 6411 -> h >= 56.
        assert!(!sequence_locks_ok(&tx, &[50], 55, mtp));
        assert!(sequence_locks_ok(&tx, &[50], 56, mtp));
    }

    #[test]
    fn context_free_checks() {
        let mut tx = spend(
            OutPoint {
                txid: Txid::all_zeros(),
                vout: 0,
            },
            1,
            1,
        );
        assert!(check_transaction(&tx).is_ok());
        tx.input.push(tx.input[0].clone());
        assert_eq!(
            check_transaction(&tx).unwrap_err().reason,
            "bad-txns-inputs-duplicate"
        );
        tx.input.truncate(1);
        tx.output[0].value = Amount::from_sat(MAX_MONEY_SAT + 1);
        assert_eq!(
            check_transaction(&tx).unwrap_err().reason,
            "bad-txns-vout-toolarge"
        );
        tx.output.clear();
        assert_eq!(
            check_transaction(&tx).unwrap_err().reason,
            "bad-txns-vout-empty"
        );
        assert_eq!(format_money(100_000_000), "1.00");
        assert_eq!(format_money(123), "0.00000123");
    }
}
