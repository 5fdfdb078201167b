//! The LSP's anchor channels: LDK's `BumpTransactionEvent`s (a commitment to broadcast with a
//! CPFP child, zero-fee HTLC transactions to fund) handled with LDK's own handler, the funding
//! wallet's confirmed coins as the coin source, as any LDK-based LSP runs it.

use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::{Psbt, ScriptBuf, Transaction, WPubkeyHash};
use lightning::events::bump_transaction::sync::{
    BumpTransactionEventHandlerSync, WalletSourceSync, WalletSync,
};
use lightning::events::bump_transaction::Utxo;
use lightning::sign::KeysManager;

use super::ldk_glue::{ChainBroadcaster, TracingLogger};
use super::wallet::FundingWallet;
use crate::chain::ChainAccess;

/// The funding wallet as LDK's coin source.
pub(crate) struct BumpCoins {
    pub wallet: Arc<FundingWallet>,
    pub chain: Arc<dyn ChainAccess>,
}

impl WalletSourceSync for BumpCoins {
    fn list_confirmed_utxos(&self) -> Result<Vec<Utxo>, ()> {
        // The wallet has one P2WPKH script.
        let script = self.wallet.script();
        let hash = WPubkeyHash::from_slice(&script.as_bytes()[2..]).map_err(|_| ())?;
        Ok(self
            .wallet
            .confirmed_coins(self.chain.as_ref())
            .into_iter()
            .map(|u| Utxo::new_v0_p2wpkh(u.outpoint, u.txout.value, &hash))
            .collect())
    }

    fn get_change_script(&self) -> Result<ScriptBuf, ()> {
        Ok(self.wallet.script().clone())
    }

    fn sign_psbt(&self, psbt: Psbt) -> Result<Transaction, ()> {
        self.wallet.sign_own_inputs(psbt).map_err(|e| {
            tracing::error!(target: "lsp_flow", "fee bump not signed: {e}");
        })
    }
}

/// LDK's handler over [`BumpCoins`].
pub(crate) type BumpHandler = BumpTransactionEventHandlerSync<
    Arc<ChainBroadcaster>,
    Arc<WalletSync<Arc<BumpCoins>, Arc<TracingLogger>>>,
    Arc<KeysManager>,
    Arc<TracingLogger>,
>;

/// The handler for the node with `broadcaster` and `keys`, bumping from `coins`.
pub(crate) fn handler(
    broadcaster: Arc<ChainBroadcaster>,
    keys: Arc<KeysManager>,
    coins: BumpCoins,
) -> BumpHandler {
    let logger = Arc::new(TracingLogger);
    BumpTransactionEventHandlerSync::new(
        broadcaster,
        Arc::new(WalletSync::new(Arc::new(coins), logger.clone())),
        keys,
        logger,
    )
}
