//! The on-chain wallet as LDK's coin source for fee bumps (wasm32): `WalletSource` for
//! [`OnchainWallet`], which LDK's `bump_transaction::Wallet` turns into coin selection for
//! `BumpTransactionEvent`s (CPFP of an anchor channel's commitment, fees of its HTLC
//! transactions). The logic is in [`super::spend`]; this is the glue.
//!
//! Guarantees: only confirmed coins are offered ([`super::spend::confirmed_coins`], as of the
//! last sync); the change script is a stored internal script, handed out once
//! ([`OnchainWallet::take_ldk_script`]); only the wallet's own inputs are signed, and only as
//! the wallet knows them ([`super::spend::sign_own_inputs`]).

use std::sync::Arc;

use bitcoin::{Psbt, ScriptBuf, Transaction};
use lightning::events::bump_transaction::{Utxo, WalletSource};
use lightning::util::async_poll::AsyncResult;
use lightning::util::logger::Level;

use super::spend::{confirmed_coins, sign_own_inputs};
use super::wallet::OnchainWallet;

/// [`OnchainWallet`] behind the `Arc` LDK's coin selection holds (the change script's refill
/// needs it).
pub struct BumpCoins(pub Arc<OnchainWallet>);

impl WalletSource for BumpCoins {
    fn list_confirmed_utxos<'a>(&'a self) -> AsyncResult<'a, Vec<Utxo>, ()> {
        let coins = self.0.with_bdk(confirmed_coins);
        Box::pin(async move { Ok(coins) })
    }

    fn get_change_script<'a>(&'a self) -> AsyncResult<'a, ScriptBuf, ()> {
        Box::pin(async move {
            if let Some(script) = self.0.take_ldk_script() {
                return Ok(script);
            }
            // The reserve was empty: the refill `take_ldk_script` started is on its way.
            self.0.refill().await.map_err(|_| ())?;
            self.0.take_ldk_script().ok_or(())
        })
    }

    fn sign_psbt<'a>(&'a self, psbt: Psbt) -> AsyncResult<'a, Transaction, ()> {
        let signed = self.0.with_bdk(|w| sign_own_inputs(w, psbt));
        Box::pin(async move {
            signed.map_err(|e| {
                self.0
                    .log(Level::Error, &format!("fee bump not signed: {e:?}"));
            })
        })
    }
}
