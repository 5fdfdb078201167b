//! The confirmed chain as the devnet serves it: blocks by height, where each transaction is, the
//! UTXO set, who spent what, and each script's history (for Esplora's `/scripthash/...`).
//!
//! The index only ever grows by blocks libbitcoinkernel has already connected (see
//! `kernel_chain.rs`), so it mirrors the kernel's UTXO set: like Core, it leaves the genesis
//! coinbase unspendable. Pure data, no I/O.

use std::collections::{BTreeSet, HashMap};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Block, BlockHash, OutPoint, Script, Transaction, TxOut, Txid};

use super::block_builder::median_time_past;
use super::Utxo;

/// Esplora's script hash: SHA256 of the script bytes, shown in forward (not reversed) hex.
pub fn script_hash(script: &Script) -> sha256::Hash {
    sha256::Hash::hash(script.as_bytes())
}

/// Where a confirmed transaction sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxLocation {
    /// Height of the confirming block.
    pub height: u32,
    /// Index of the transaction in that block (0 = coinbase).
    pub pos: u32,
}

/// A confirmed spend of an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spend {
    /// The spending transaction.
    pub txid: Txid,
    /// Its input index that spends the output.
    pub vin: u32,
    /// Height of the block that confirmed the spend.
    pub height: u32,
}

/// The confirmed chain and its indexes. Starts at a genesis block; grows by [`ChainIndex::connect`].
pub struct ChainIndex {
    blocks: Vec<Block>,
    hashes: Vec<BlockHash>,
    by_hash: HashMap<BlockHash, u32>,
    /// `mtps[h]`: median time past of block `h` (over `h` and its ten predecessors).
    mtps: Vec<u32>,
    txs: HashMap<Txid, TxLocation>,
    utxos: HashMap<OutPoint, Utxo>,
    unspent_by_script: HashMap<sha256::Hash, BTreeSet<OutPoint>>,
    spends: HashMap<OutPoint, Spend>,
    history: HashMap<sha256::Hash, Vec<TxLocation>>,
}

impl ChainIndex {
    /// An index holding only `genesis` (height 0). Its coinbase is indexed as a transaction but,
    /// as in Core, its output is not spendable and not in any script's history.
    pub fn new(genesis: Block) -> Self {
        let hash = genesis.block_hash();
        let mut txs = HashMap::new();
        for (pos, tx) in genesis.txdata.iter().enumerate() {
            txs.insert(
                tx.compute_txid(),
                TxLocation {
                    height: 0,
                    pos: pos as u32,
                },
            );
        }
        let mtp = median_time_past(&[genesis.header.time]);
        Self {
            blocks: vec![genesis],
            hashes: vec![hash],
            by_hash: HashMap::from([(hash, 0)]),
            mtps: vec![mtp],
            txs,
            utxos: HashMap::new(),
            unspent_by_script: HashMap::new(),
            spends: HashMap::new(),
            history: HashMap::new(),
        }
    }

    /// Height of the best block.
    pub fn tip_height(&self) -> u32 {
        (self.blocks.len() - 1) as u32
    }

    /// Hash of the best block.
    pub fn tip_hash(&self) -> BlockHash {
        self.hashes[self.hashes.len() - 1]
    }

    /// The block at `height`.
    pub fn block(&self, height: u32) -> Option<&Block> {
        self.blocks.get(height as usize)
    }

    /// Hash of the block at `height`.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.hashes.get(height as usize).copied()
    }

    /// Height of the block with `hash`, if it is on the chain.
    pub fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        self.by_hash.get(hash).copied()
    }

    /// Median time past of the block at `height` (itself and its ten predecessors).
    pub fn mtp_at(&self, height: u32) -> Option<u32> {
        self.mtps.get(height as usize).copied()
    }

    /// A confirmed transaction and where it is.
    pub fn tx(&self, txid: &Txid) -> Option<(&Transaction, TxLocation)> {
        let loc = *self.txs.get(txid)?;
        let tx = self
            .blocks
            .get(loc.height as usize)?
            .txdata
            .get(loc.pos as usize)?;
        Some((tx, loc))
    }

    /// The output `outpoint` names, if a confirmed transaction created it (spent or not).
    pub fn output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        self.tx(&outpoint.txid)?
            .0
            .output
            .get(outpoint.vout as usize)
    }

    /// The unspent confirmed output at `outpoint`.
    pub fn utxo(&self, outpoint: &OutPoint) -> Option<&Utxo> {
        self.utxos.get(outpoint)
    }

    /// Who spent `outpoint` on the chain, if anyone did.
    pub fn spend(&self, outpoint: &OutPoint) -> Option<&Spend> {
        self.spends.get(outpoint)
    }

    /// Unspent confirmed outputs paying the script with hash `sh`, in outpoint order.
    pub fn utxos_for(&self, sh: &sha256::Hash) -> Vec<Utxo> {
        self.unspent_by_script
            .get(sh)
            .map(|set| {
                set.iter()
                    .filter_map(|op| self.utxos.get(op).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Confirmed transactions that pay to or spend from the script with hash `sh`, oldest first,
    /// each once.
    pub fn history(&self, sh: &sha256::Hash) -> &[TxLocation] {
        self.history.get(sh).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The transaction at `loc`.
    pub fn tx_at(&self, loc: TxLocation) -> Option<&Transaction> {
        self.blocks
            .get(loc.height as usize)?
            .txdata
            .get(loc.pos as usize)
    }

    /// The outputs each non-coinbase transaction of `block` spends, in block order (entry `i` is
    /// for `block.txdata[i + 1]`), from the UTXO set or from earlier transactions of the same
    /// block. Errors name the first input that spends nothing unspent.
    pub fn prevouts_for_block(&self, block: &Block) -> Result<Vec<Vec<TxOut>>, String> {
        let mut created: HashMap<OutPoint, TxOut> = HashMap::new();
        let mut spent_here: BTreeSet<OutPoint> = BTreeSet::new();
        let mut all = Vec::with_capacity(block.txdata.len().saturating_sub(1));
        for (i, tx) in block.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            if i > 0 {
                let mut prevouts = Vec::with_capacity(tx.input.len());
                for input in &tx.input {
                    let op = input.previous_output;
                    if !spent_here.insert(op) {
                        return Err(format!("{op} spent twice in the block"));
                    }
                    let out = match created.get(&op) {
                        Some(out) => out.clone(),
                        None => match self.utxos.get(&op) {
                            Some(u) => u.txout.clone(),
                            None => return Err(format!("{op} is missing or spent")),
                        },
                    };
                    prevouts.push(out);
                }
                all.push(prevouts);
            }
            for (vout, out) in tx.output.iter().enumerate() {
                created.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    out.clone(),
                );
            }
        }
        Ok(all)
    }

    /// Appends `block` (which must extend the tip, and which libbitcoinkernel has connected)
    /// given `prevouts` from [`ChainIndex::prevouts_for_block`]: spends its inputs, adds its
    /// outputs, records spends and script histories.
    pub fn connect(&mut self, block: Block, prevouts: &[Vec<TxOut>]) {
        let height = self.blocks.len() as u32;
        let hash = block.block_hash();
        for (pos, tx) in block.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            let loc = TxLocation {
                height,
                pos: pos as u32,
            };
            self.txs.insert(txid, loc);
            let mut touched: BTreeSet<sha256::Hash> = BTreeSet::new();
            if pos > 0 {
                let spent = prevouts.get(pos - 1).map(Vec::as_slice).unwrap_or(&[]);
                for (vin, input) in tx.input.iter().enumerate() {
                    let op = input.previous_output;
                    let script = match self.utxos.remove(&op) {
                        Some(u) => Some(u.txout.script_pubkey),
                        None => spent.get(vin).map(|o| o.script_pubkey.clone()),
                    };
                    if let Some(script) = script {
                        let sh = script_hash(&script);
                        if let Some(set) = self.unspent_by_script.get_mut(&sh) {
                            set.remove(&op);
                            if set.is_empty() {
                                self.unspent_by_script.remove(&sh);
                            }
                        }
                        touched.insert(sh);
                    }
                    self.spends.insert(
                        op,
                        Spend {
                            txid,
                            vin: vin as u32,
                            height,
                        },
                    );
                }
            }
            for (vout, out) in tx.output.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                if out.script_pubkey.is_op_return() {
                    continue;
                }
                let sh = script_hash(&out.script_pubkey);
                touched.insert(sh);
                self.utxos.insert(
                    op,
                    Utxo {
                        outpoint: op,
                        txout: out.clone(),
                        height: Some(height),
                        is_coinbase: pos == 0,
                    },
                );
                self.unspent_by_script.entry(sh).or_default().insert(op);
            }
            for sh in touched {
                self.history.entry(sh).or_default().push(loc);
            }
        }
        let mut times: Vec<u32> = self
            .blocks
            .iter()
            .rev()
            .take(10)
            .map(|b| b.header.time)
            .collect();
        times.reverse();
        times.push(block.header.time);
        self.mtps.push(median_time_past(&times));
        self.hashes.push(hash);
        self.by_hash.insert(hash, height);
        self.blocks.push(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::block_builder::{assemble_block, BlockTemplate};
    use bitcoin::{absolute, transaction, Amount, Network, ScriptBuf, Sequence, TxIn, Witness};

    fn spk(n: u8) -> ScriptBuf {
        ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array([n; 32]))
    }

    fn mine(index: &mut ChainIndex, txs: Vec<Transaction>, to: &ScriptBuf) -> Block {
        let h = index.tip_height() + 1;
        let block = assemble_block(&BlockTemplate {
            prev_blockhash: index.tip_hash(),
            height: h,
            time: 1_700_000_000 + h,
            txs,
            fees: Amount::ZERO,
            coinbase_script_pubkey: to.clone(),
            extra_nonce: 0,
        })
        .expect("assembles");
        let prevouts = index.prevouts_for_block(&block).expect("connectable");
        index.connect(block.clone(), &prevouts);
        block
    }

    #[test]
    fn utxos_spends_and_history_follow_blocks() {
        let mut index = ChainIndex::new(bitcoin::blockdata::constants::genesis_block(
            Network::Regtest,
        ));
        assert_eq!(index.tip_height(), 0);
        let a = spk(1);
        let b = spk(2);
        let b1 = mine(&mut index, vec![], &a);
        let cb = b1.txdata[0].compute_txid();
        let cb_out = OutPoint { txid: cb, vout: 0 };
        let u = index.utxo(&cb_out).expect("coinbase output is unspent");
        assert!(u.is_coinbase);
        assert_eq!(u.height, Some(1));
        // The witness commitment (OP_RETURN) is not a UTXO.
        assert!(index.utxo(&OutPoint { txid: cb, vout: 1 }).is_none());
        assert_eq!(index.utxos_for(&script_hash(&a)).len(), 1);

        // Spend it to b and, within the same block, spend that again back to a.
        let t1 = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: cb_out,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1000),
                script_pubkey: b.clone(),
            }],
        };
        let t1_out = OutPoint {
            txid: t1.compute_txid(),
            vout: 0,
        };
        let t2 = Transaction {
            input: vec![TxIn {
                previous_output: t1_out,
                ..t1.input[0].clone()
            }],
            output: vec![TxOut {
                value: Amount::from_sat(900),
                script_pubkey: a.clone(),
            }],
            ..t1.clone()
        };
        mine(&mut index, vec![t1.clone(), t2.clone()], &spk(9));
        assert_eq!(index.tip_height(), 2);
        assert!(index.utxo(&cb_out).is_none());
        assert_eq!(
            index.spend(&cb_out).map(|s| (s.txid, s.vin, s.height)),
            Some((t1.compute_txid(), 0, 2))
        );
        assert_eq!(
            index.spend(&t1_out).map(|s| s.txid),
            Some(t2.compute_txid())
        );
        assert!(index.utxos_for(&script_hash(&b)).is_empty());
        let a_utxos = index.utxos_for(&script_hash(&a));
        assert_eq!(a_utxos.len(), 1);
        assert_eq!(a_utxos[0].txout.value, Amount::from_sat(900));
        // a's history: block 1 coinbase, t1 (spends from a), t2 (pays a).
        let h: Vec<TxLocation> = index.history(&script_hash(&a)).to_vec();
        assert_eq!(
            h,
            vec![
                TxLocation { height: 1, pos: 0 },
                TxLocation { height: 2, pos: 1 },
                TxLocation { height: 2, pos: 2 }
            ]
        );
        assert_eq!(
            index.tx(&t2.compute_txid()).map(|(_, l)| l),
            Some(TxLocation { height: 2, pos: 2 })
        );

        // A block spending the same coinbase again is not connectable.
        let again = assemble_block(&BlockTemplate {
            prev_blockhash: index.tip_hash(),
            height: 3,
            time: 1_700_000_010,
            txs: vec![t1],
            fees: Amount::ZERO,
            coinbase_script_pubkey: a,
            extra_nonce: 1,
        })
        .expect("assembles");
        assert!(index.prevouts_for_block(&again).is_err());
    }

    #[test]
    fn mtp_tracks_last_eleven_blocks() {
        let mut index = ChainIndex::new(bitcoin::blockdata::constants::genesis_block(
            Network::Regtest,
        ));
        for _ in 0..12 {
            mine(&mut index, vec![], &spk(3));
        }
        // Blocks 2..=12 have times 1_700_000_002..=1_700_000_012: median 1_700_000_007.
        assert_eq!(index.mtp_at(12), Some(1_700_000_007));
    }
}
