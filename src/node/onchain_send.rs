//! On-chain sends of a running node (wasm32): quote, send, history, and the reserve kept for
//! anchor channels. The arithmetic is [`crate::onchain::send`]'s; this is the glue.
//!
//! Guarantees:
//! - the feerate is the caller's (refused above the network's ceiling) or the chain source's
//!   estimate for about two hours (`OutputSpendingFee`), itself capped by the estimator;
//! - one send at a time: a second waits for the first, so two never pick the same coins;
//! - a send is recorded (and its change script taken) only once Esplora accepted it; a refusal
//!   spends nothing and is `ONCHAIN_SEND_FAILED`, an unreachable Esplora `CHAIN_SOURCE_FAILED`.

use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::util::logger::Level;

use super::running::Node;
use crate::chain::EsploraError;
use crate::error::Error;
use crate::js_args::OnchainSendArgs;
use crate::net::HttpError;
use crate::onchain::history::OnchainTx;
use crate::onchain::send::{
    anchor_reserve_sat, may_need_fee_bump, parse_address, OnchainQuote, OnchainSent, SendPlan,
};
use crate::time;

impl Node {
    /// What the wallet keeps on chain to bump its anchor channels' closing transactions
    /// ([`anchor_reserve_sat`]): for each open anchor channel, and for each closed one whose
    /// monitor still [`may_need_fee_bump`] (a force close is when the coins are needed, so the
    /// reserve must not fall away the moment the channel leaves the list).
    pub fn anchor_reserve_sat(&self) -> u64 {
        let open = self.channel_manager.list_channels();
        let open_anchor = open
            .iter()
            .filter(|c| {
                c.channel_type
                    .as_ref()
                    .is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx())
            })
            .count();
        let closing_anchor = self
            .chain_monitor
            .list_monitors()
            .into_iter()
            .filter(|id| !open.iter().any(|c| c.channel_id == *id))
            .filter(|id| {
                self.chain_monitor.get_monitor(*id).is_ok_and(|m| {
                    m.channel_type_features()
                        .supports_anchors_zero_fee_htlc_tx()
                        && may_need_fee_bump(&m.get_claimable_balances())
                })
            })
            .count();
        anchor_reserve_sat(self.network, open_anchor + closing_anchor)
    }

    /// The feerate of a send, sat per 1000 weight units.
    fn send_fee_rate(&self, sat_per_vb: Option<u32>) -> Result<u32, Error> {
        match sat_per_vb {
            None => Ok(self
                .fee_estimator
                .get_est_sat_per_1000_weight(ConfirmationTarget::OutputSpendingFee)),
            Some(vb) => {
                let kw = vb.saturating_mul(250);
                if kw > self.fee_estimator.ceiling() {
                    return Err(Error::InvalidArgument {
                        argument: "feeRateSatPerVb",
                        problem: "above the highest feerate the wallet pays on this network",
                    });
                }
                // 1 sat/vB is 250 sat/kw: LDK's floor of 253 keeps it relayable.
                Ok(kw.max(253))
            }
        }
    }

    fn plan(
        &self,
        args: &OnchainSendArgs,
        sat_per_vb: Option<u32>,
    ) -> Result<(SendPlan, u64), Error> {
        self.check_running()?;
        let to = parse_address(&args.address, self.network)?;
        let rate = self.send_fee_rate(sat_per_vb)?;
        let reserve = self.anchor_reserve_sat();
        Ok((
            self.onchain.plan_send(&to, args.amount, rate, reserve)?,
            reserve,
        ))
    }

    /// What sending `args` would do now (nothing is spent or stored).
    pub fn quote_onchain(
        &self,
        args: &OnchainSendArgs,
        sat_per_vb: Option<u32>,
    ) -> Result<OnchainQuote, Error> {
        let (plan, reserve) = self.plan(args, sat_per_vb)?;
        Ok(OnchainQuote::of(&plan, &args.address, reserve))
    }

    /// Sends `args`: builds, signs, broadcasts through Esplora, records. Resolves once the
    /// transaction is in the mempool and stored.
    pub async fn send_onchain(
        &self,
        args: &OnchainSendArgs,
        sat_per_vb: Option<u32>,
    ) -> Result<OnchainSent, Error> {
        let _one_at_a_time = self.onchain_send_lock.lock().await;
        let (plan, reserve) = self.plan(args, sat_per_vb)?;
        let quote = OnchainQuote::of(&plan, &args.address, reserve);
        let tx = self.onchain.sign_send(plan)?;
        let txid = tx.compute_txid();
        match self.esplora.broadcast(&tx).await {
            Ok(_) => {}
            Err(EsploraError::Http(HttpError::Status { status, body, .. })) if status < 500 => {
                self.log(
                    Level::Warn,
                    &format!("on-chain send {txid} refused: {status} {body}"),
                );
                return Err(Error::OnchainSendFailed {
                    reason: "refused by the chain",
                });
            }
            Err(e) => {
                self.log(Level::Warn, &format!("on-chain send {txid}: {e}"));
                return Err(Error::ChainSourceFailed);
            }
        }
        self.check_running()?;
        self.onchain.record_send(tx, time::now_secs()).await?;
        self.log(
            Level::Info,
            &format!(
                "sent {} sat on chain in {txid} ({} sat fee)",
                quote.amount_sat, quote.fee_sat
            ),
        );
        self.sync_kick.kick();
        Ok(OnchainSent {
            txid: txid.to_string(),
            quote,
        })
    }

    /// The on-chain wallet's transactions, newest first.
    pub fn onchain_transactions(&self) -> Result<Vec<OnchainTx>, Error> {
        self.check_running()?;
        Ok(self.onchain.transactions())
    }
}
