//! The devnet's regtest chain: real regtest blocks judged by Bitcoin Core's own validation engine
//! (libbitcoinkernel), a UTXO set, a mempool, and an Esplora REST server in front of it.
//!
//! Everything else in the devnet that lives in this process (the REST "flow" LSP) talks to the
//! chain through [`ChainAccess`]; everything outside (ldk-node nodes, BDK, the browser wallet)
//! talks to it over the Esplora REST API.
//!
//! Layout: `block_builder` (pure regtest block assembly), `kernel` (the libbitcoinkernel judge and
//! script verifier), `chain_index` (confirmed blocks, UTXO set, spends, script histories),
//! `mempool` (transaction acceptance), `kernel_chain` ([`KernelChain`], the [`ChainAccess`]
//! implementation tying them together), `esplora` (the REST server) and `esplora_fault` (what
//! that server can be made to do to a browser: rate limits, errors, dropped connections).

pub mod block_builder;
pub mod chain_index;
pub mod esplora;
pub mod esplora_fault;
pub mod esplora_requests;
pub mod kernel;
pub mod kernel_chain;
pub mod mempool;

pub use esplora::{esplora_router, esplora_router_as, serve_esplora};
pub use esplora_fault::{EsploraFault, EsploraFaults, EsploraServer, EsploraSite};
pub use kernel_chain::KernelChain;

use bitcoin::{Block, BlockHash, OutPoint, Script, ScriptBuf, Transaction, TxOut, Txid};

/// An unspent output the chain knows about, confirmed or still in the mempool.
#[derive(Clone, Debug)]
pub struct Utxo {
    pub outpoint: OutPoint,
    pub txout: TxOut,
    /// Height of the block that confirmed it; `None` while it is in the mempool.
    pub height: Option<u32>,
    /// True for a coinbase output (spendable only after 100 confirmations).
    pub is_coinbase: bool,
}

/// Why the chain refused a transaction or a block. `reason` is Bitcoin Core's own wording where
/// Core judged it (e.g. "mandatory-script-verify-flag-failed (...)", "bad-txnmrklroot").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejected {}

/// What in-process users of the chain may do. Implemented by the kernel-backed chain; every
/// method is cheap and thread-safe.
pub trait ChainAccess: Send + Sync + 'static {
    /// Height and hash of the best block.
    fn tip(&self) -> (u32, BlockHash);
    /// The block at `height` on the best chain.
    fn block_at(&self, height: u32) -> Option<Block>;
    /// Checks `tx` (scripts verified by libbitcoinkernel, inputs exist and are unspent, no
    /// mempool conflict, fee >= 0, coinbase maturity) and adds it to the mempool.
    fn submit_tx(&self, tx: &Transaction) -> Result<Txid, Rejected>;
    /// A transaction from the mempool or the chain, with its confirming height if confirmed.
    fn get_tx(&self, txid: &Txid) -> Option<(Transaction, Option<u32>)>;
    /// Unspent outputs paying `script_pubkey`, mempool included, minus those the mempool spends.
    fn utxos(&self, script_pubkey: &Script) -> Vec<Utxo>;
    /// Mines `count` blocks paying the coinbase to `to`, taking the whole mempool into the first.
    /// Each block is validated by libbitcoinkernel before it becomes the tip.
    fn mine(&self, count: u32, to: &ScriptBuf) -> Result<Vec<BlockHash>, Rejected>;
    /// A receiver woken with the new tip height each time a block is connected.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<u32>;
}
