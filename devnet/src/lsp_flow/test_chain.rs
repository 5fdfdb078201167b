//! An in-memory stand-in for the devnet chain, for this module's tests only: blocks are not
//! validated (no PoW, no scripts), transactions are accepted into a mempool and mined as given.

use std::sync::Mutex;

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, OutPoint, Script, ScriptBuf, Transaction,
    TxMerkleNode, TxOut, Txid,
};

use crate::chain::{ChainAccess, Rejected, Utxo};

pub(crate) struct FakeChain {
    pub blocks: Mutex<Vec<Block>>,
    pub mempool: Mutex<Vec<Transaction>>,
    /// Extra UTXOs reported by `utxos`, keyed by script.
    pub coins: Mutex<Vec<Utxo>>,
    tips: tokio::sync::broadcast::Sender<u32>,
}

pub(crate) fn block(prev: BlockHash, nonce: u32, txdata: Vec<Transaction>) -> Block {
    Block {
        header: Header {
            version: Version::TWO,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time: 1_700_000_000 + nonce,
            bits: CompactTarget::from_consensus(0x207fffff),
            nonce,
        },
        txdata,
    }
}

impl FakeChain {
    /// A chain of `len` empty blocks (heights 0..len).
    pub(crate) fn new(len: u32) -> Self {
        let mut blocks = vec![block(BlockHash::all_zeros(), 0, vec![])];
        for i in 1..len {
            let prev = blocks.last().unwrap().block_hash();
            blocks.push(block(prev, i, vec![]));
        }
        FakeChain {
            blocks: Mutex::new(blocks),
            mempool: Mutex::new(vec![]),
            coins: Mutex::new(vec![]),
            tips: tokio::sync::broadcast::channel(64).0,
        }
    }

    /// Appends `n` empty blocks (`salt` makes their hashes differ from another branch's).
    pub(crate) fn extend_empty(&self, n: u32, salt: u32) {
        let mut b = self.blocks.lock().unwrap();
        for i in 0..n {
            let prev = b.last().unwrap().block_hash();
            b.push(block(prev, 1000 * salt + i, vec![]));
        }
        let _ = self.tips.send((b.len() - 1) as u32);
    }

    /// Gives `script` a confirmed non-coinbase coin of `sat` at height 1.
    pub(crate) fn add_coin(&self, script: &Script, sat: u64, n: u8) {
        self.coins.lock().unwrap().push(Utxo {
            outpoint: OutPoint {
                txid: Txid::from_byte_array([n; 32]),
                vout: 0,
            },
            txout: TxOut {
                value: Amount::from_sat(sat),
                script_pubkey: script.to_owned(),
            },
            height: Some(1),
            is_coinbase: false,
        });
    }
}

impl ChainAccess for FakeChain {
    fn tip(&self) -> (u32, BlockHash) {
        let b = self.blocks.lock().unwrap();
        ((b.len() - 1) as u32, b.last().unwrap().block_hash())
    }
    fn block_at(&self, height: u32) -> Option<Block> {
        self.blocks.lock().unwrap().get(height as usize).cloned()
    }
    fn submit_tx(&self, tx: &Transaction) -> Result<Txid, Rejected> {
        self.mempool.lock().unwrap().push(tx.clone());
        Ok(tx.compute_txid())
    }
    fn get_tx(&self, txid: &Txid) -> Option<(Transaction, Option<u32>)> {
        self.mempool
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.compute_txid() == *txid)
            .map(|t| (t.clone(), None))
    }
    fn utxos(&self, script: &Script) -> Vec<Utxo> {
        let mut spent: Vec<OutPoint> = self
            .mempool
            .lock()
            .unwrap()
            .iter()
            .flat_map(|t| t.input.iter().map(|i| i.previous_output))
            .collect();
        for b in self.blocks.lock().unwrap().iter() {
            spent.extend(
                b.txdata
                    .iter()
                    .flat_map(|t| t.input.iter().map(|i| i.previous_output)),
            );
        }
        self.coins
            .lock()
            .unwrap()
            .iter()
            .filter(|u| u.txout.script_pubkey.as_script() == script && !spent.contains(&u.outpoint))
            .cloned()
            .collect()
    }
    fn mine(&self, count: u32, _to: &ScriptBuf) -> Result<Vec<BlockHash>, Rejected> {
        let mut out = vec![];
        for i in 0..count {
            let txs = if i == 0 {
                std::mem::take(&mut *self.mempool.lock().unwrap())
            } else {
                vec![]
            };
            let mut b = self.blocks.lock().unwrap();
            let prev = b.last().unwrap().block_hash();
            let n = b.len() as u32;
            b.push(block(prev, 5000 + n, txs));
            out.push(b.last().unwrap().block_hash());
            let _ = self.tips.send(n);
        }
        Ok(out)
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<u32> {
        self.tips.subscribe()
    }
}
