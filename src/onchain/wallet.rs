//! The wallet's on-chain address and balance (wasm32), and the destination LDK's
//! `OutputSweeper` sweeps to.
//!
//! The address is the P2WPKH of LDK's `KeysManager` shutdown key, derived from the seed: a
//! cooperative close pays it directly, and the sweeper sends every other spendable output of a
//! closed channel (to-self outputs after their CSV delay, the counterparty's force-close
//! payments to us) to it. LDK's destination script (where on-chain HTLC claims go) is the other
//! script of the wallet; the balance counts both. Restoring the mnemonic restores both scripts.

use bitcoin::{Address, ScriptBuf, Txid};
use lightning::sign::{ChangeDestinationSource, KeysManager, SignerProvider};
use lightning::util::async_poll::AsyncResult;

use super::{balance, OnchainBalance};
use crate::chain::{EsploraClient, EsploraTx, TxStatus};
use crate::error::Error;

/// Esplora pages its script histories by 25 confirmed transactions.
const ESPLORA_PAGE: usize = 25;
/// At most this many pages are read per script (a wallet that only receives closes has few).
const MAX_PAGES: usize = 40;

/// The scripts the wallet owns on chain.
#[derive(Clone, Debug)]
pub struct OnchainScripts {
    /// Where closes and sweeps pay (shown to the user).
    pub sweep: ScriptBuf,
    /// LDK's destination script for on-chain claims.
    pub destination: ScriptBuf,
}

impl OnchainScripts {
    /// The scripts of `keys`.
    pub fn from_keys(keys: &KeysManager) -> Result<OnchainScripts, Error> {
        let sweep = keys
            .get_shutdown_scriptpubkey()
            .map_err(|_| Error::ChannelFailed {
                reason: "no shutdown script",
            })?
            .into_inner();
        let destination =
            keys.get_destination_script([0; 32])
                .map_err(|_| Error::ChannelFailed {
                    reason: "no destination script",
                })?;
        Ok(OnchainScripts { sweep, destination })
    }

    /// Both scripts.
    pub fn all(&self) -> Vec<ScriptBuf> {
        if self.sweep == self.destination {
            vec![self.sweep.clone()]
        } else {
            vec![self.sweep.clone(), self.destination.clone()]
        }
    }

    /// The address of the sweep script on `network`.
    pub fn address(&self, network: bitcoin::Network) -> Result<Address, Error> {
        Address::from_script(&self.sweep, network).map_err(|_| Error::ChannelFailed {
            reason: "the sweep script has no address",
        })
    }
}

/// LDK's sweep destination: always the wallet's sweep script.
pub struct SweepDestination {
    script: ScriptBuf,
}

impl SweepDestination {
    /// Sweeps to `script`.
    pub fn new(script: ScriptBuf) -> Self {
        SweepDestination { script }
    }
}

impl ChangeDestinationSource for SweepDestination {
    fn get_change_destination_script<'a>(&'a self) -> AsyncResult<'a, ScriptBuf, ()> {
        let script = self.script.clone();
        Box::pin(async move { Ok(script) })
    }
}

/// Reads the whole history of `script` (mempool first, then confirmed pages of 25).
pub async fn script_history(
    esplora: &EsploraClient,
    script: &ScriptBuf,
) -> Result<Vec<EsploraTx>, Error> {
    let mut all = esplora
        .script_txs(script, None)
        .await
        .map_err(|_| Error::ChainSourceFailed)?;
    let mut confirmed_in_page = all
        .iter()
        .filter(|t| matches!(t.status, TxStatus::Confirmed { .. }))
        .count();
    let mut pages = 1;
    while confirmed_in_page >= ESPLORA_PAGE && pages < MAX_PAGES {
        let last: Option<Txid> = all
            .iter()
            .rev()
            .find(|t| matches!(t.status, TxStatus::Confirmed { .. }))
            .map(|t| t.tx.compute_txid());
        let Some(last) = last else { break };
        let page = esplora
            .script_txs(script, Some(&last))
            .await
            .map_err(|_| Error::ChainSourceFailed)?;
        confirmed_in_page = page.len();
        all.extend(page);
        pages += 1;
    }
    Ok(all)
}

/// The balance of the wallet's scripts, read from Esplora now.
pub async fn fetch_balance(
    esplora: &EsploraClient,
    scripts: &OnchainScripts,
) -> Result<OnchainBalance, Error> {
    let mut txs = Vec::new();
    let all = scripts.all();
    for s in &all {
        txs.extend(script_history(esplora, s).await?);
    }
    Ok(balance(&all, &txs))
}
