//! The on-chain wallet's transactions as the user sees them, without I/O.
//!
//! Guarantees: one entry per transaction that pays or spends the wallet's scripts (BDK's
//! canonical view: a transaction replaced or conflicted away is not listed), with what it paid
//! the wallet and what it took from it, exact in sat; its fee when the wallet knows every input's
//! value; confirmations counted to the wallet's synced tip; newest first
//! (unconfirmed first, then by height).

use bdk_wallet::chain::ChainPosition;
use bdk_wallet::Wallet;
use serde::Serialize;

/// One on-chain transaction of the wallet (JS `OnchainTransaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnchainTx {
    /// Its id.
    pub txid: String,
    /// What its outputs pay the wallet.
    pub received_sat: u64,
    /// What its inputs take from the wallet.
    pub sent_sat: u64,
    /// Its fee, when the wallet knows the value of every input (always for its own sends;
    /// Esplora's prevouts give it for most receipts too), else `None`.
    pub fee_sat: Option<u64>,
    /// 0 while unconfirmed.
    pub confirmations: u32,
    /// The confirming block's time (Unix seconds), once confirmed.
    pub confirmed_at: Option<u64>,
}

/// Every transaction of `wallet`, newest first.
pub fn transactions(wallet: &Wallet) -> Vec<OnchainTx> {
    let tip = wallet.latest_checkpoint().height();
    let mut txs: Vec<(Option<u32>, OnchainTx)> = wallet
        .transactions()
        .map(|t| {
            let tx = &t.tx_node.tx;
            let (sent, received) = wallet.sent_and_received(tx);
            let (height, confirmed_at) = match &t.chain_position {
                ChainPosition::Confirmed { anchor, .. } => {
                    (Some(anchor.block_id.height), Some(anchor.confirmation_time))
                }
                ChainPosition::Unconfirmed { .. } => (None, None),
            };
            let entry = OnchainTx {
                txid: t.tx_node.txid.to_string(),
                received_sat: received.to_sat(),
                sent_sat: sent.to_sat(),
                fee_sat: wallet.calculate_fee(tx).ok().map(|f| f.to_sat()),
                confirmations: height.map_or(0, |h| tip.saturating_sub(h).saturating_add(1)),
                confirmed_at,
            };
            (height, entry)
        })
        .collect();
    // Unconfirmed (None) first, then the highest blocks.
    txs.sort_by(|a, b| match (a.0, b.0) {
        (None, None) => a.1.txid.cmp(&b.1.txid),
        (None, Some(_)) => core::cmp::Ordering::Less,
        (Some(_), None) => core::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.1.txid.cmp(&b.1.txid)),
    });
    txs.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onchain::send::{sign_send, SendAmount};
    use crate::onchain::state::tests::funded;
    use bitcoin::hashes::Hash;
    use bitcoin::{ScriptBuf, WPubkeyHash};

    #[test]
    fn receipts_and_a_send_with_its_fee_newest_first() {
        let (mut s, coin, _) = funded();
        let to = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([5; 20]));
        let plan = s
            .plan_send(
                &to,
                SendAmount::Sat(50_000),
                1_000,
                0,
                &mut rand_core::OsRng,
            )
            .unwrap();
        let (fee, change) = (plan.fee_sat, plan.change_sat);
        let tx = sign_send(s.wallet(), plan).unwrap();
        let sent_txid = tx.compute_txid().to_string();
        s.record_send(tx, 1_700_000_100);

        let list = transactions(s.wallet());
        assert_eq!(list.len(), 3, "{list:#?}");
        // The two unconfirmed first (the send, the 110 000 sat receipt), then the confirmed one.
        let send = list.iter().find(|t| t.txid == sent_txid).unwrap();
        assert_eq!(
            (
                send.sent_sat,
                send.received_sat,
                send.fee_sat,
                send.confirmations
            ),
            (150_000, change, Some(fee), 0)
        );
        assert_eq!(
            send.sent_sat - send.received_sat - fee,
            50_000,
            "what left the wallet"
        );
        let last = list.last().unwrap();
        assert_eq!(last.txid, coin.txid.to_string());
        assert_eq!((last.received_sat, last.sent_sat), (150_000, 0));
        assert_eq!(last.fee_sat, None, "its inputs are not the wallet's");
        // Mined at 111, tip 120.
        assert_eq!((last.confirmations, last.confirmed_at), (10, Some(111)));
        assert!(list[..2].iter().all(|t| t.confirmations == 0));
    }
}
