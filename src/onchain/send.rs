//! Sending from the on-chain wallet, without I/O: the plan of a send (what arrives, the fee,
//! the change), the reserve kept for anchor channels, and signing.
//!
//! Guarantees of [`plan_send`]:
//! - only confirmed coins are spent (what a fee bump can also use, and nothing a third party
//!   can still double-spend);
//! - the amount is exact: the recipient's output is `amount_sat` ([`SendAmount::Sat`]), or
//!   everything but the fee and the reserve ([`SendAmount::All`]); the fee is at the given rate,
//!   which the caller bounds by the network's ceiling;
//! - after the send, at least `reserve_sat` stays confirmed-or-ours on chain: an exact send
//!   that would cut into it is refused with [`Error::AnchorReserve`], a send of everything
//!   leaves exactly the reserve as change;
//! - change goes to the script the caller gives (a stored internal script), never to one BDK
//!   would reveal unstored;
//! - an amount below the address's dust limit is [`Error::AmountBelowDust`], too little money
//!   [`Error::InsufficientFunds`].

use bdk_wallet::error::CreateTxError;
use bdk_wallet::{SignOptions, Wallet};
use core::str::FromStr;

use bitcoin::{Address, Amount, FeeRate, Network, Psbt, ScriptBuf, Transaction};
use lightning::chain::channelmonitor::Balance;
use rand_core::RngCore;
use serde::Serialize;

use crate::error::Error;

/// The script of `address` if it is a valid address for `network` ([`Error::InvalidAddress`]
/// if not an address at all, [`Error::NetworkMismatch`] if one of another network).
pub fn parse_address(address: &str, network: Network) -> Result<ScriptBuf, Error> {
    let unchecked = Address::from_str(address.trim()).map_err(|_| Error::InvalidAddress)?;
    if unchecked.is_valid_for_network(network) {
        return Ok(unchecked.assume_checked().script_pubkey());
    }
    let found = [Network::Bitcoin, Network::Testnet, Network::Regtest]
        .into_iter()
        .find(|n| unchecked.is_valid_for_network(*n))
        .unwrap_or(Network::Bitcoin);
    Err(Error::NetworkMismatch {
        expected: network,
        found,
    })
}

/// The reserve kept on chain for `anchor_channels` anchor channels on `network` (open, or closed
/// and still [`may_need_fee_bump`]): what a
/// CPFP of one commitment (about 430 vB with its child) costs at a high feerate, per channel:
/// 25 000 sat on mainnet (ldk-node's per-channel default, ~58 sat/vB), 10 000 sat on the test
/// networks.
pub fn anchor_reserve_sat(network: Network, anchor_channels: usize) -> u64 {
    let per_channel: u64 = match network {
        Network::Bitcoin => 25_000,
        _ => 10_000,
    };
    per_channel.saturating_mul(anchor_channels as u64)
}

/// Whether a closed anchor channel whose monitor reports `balances` may still need the wallet's
/// coins: while its commitment is unconfirmed (a CPFP may have to be redone at a higher feerate)
/// or an HTLC on it is unresolved (on the wallet's commitment an HTLC-success or -timeout
/// transaction is signed at zero fee and paid from the coins). Outputs that only wait for
/// their confirmations or delay are swept paying their own fee: they need no reserve.
pub fn may_need_fee_bump(balances: &[Balance]) -> bool {
    balances.iter().any(|b| match b {
        Balance::ClaimableOnChannelClose { .. }
        | Balance::ContentiousClaimable { .. }
        | Balance::MaybeTimeoutClaimableHTLC { .. }
        | Balance::MaybePreimageClaimableHTLC { .. } => true,
        Balance::ClaimableAwaitingConfirmations { .. }
        | Balance::CounterpartyRevokedOutputClaimable { .. } => false,
    })
}

/// How much to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendAmount {
    /// Exactly this many sat arrive.
    Sat(u64),
    /// Everything the wallet may spend, less the fee and the reserve.
    All,
}

/// A send, built and not signed: what it does, and the PSBT that does it.
#[derive(Clone, Debug)]
pub struct SendPlan {
    /// What arrives at the address.
    pub amount_sat: u64,
    /// The transaction's fee.
    pub fee_sat: u64,
    /// What comes back to the wallet (0 when the change would be dust: then it is fee).
    pub change_sat: u64,
    /// The feerate asked, sat per 1000 weight units.
    pub fee_rate_sat_per_kw: u32,
    /// The transaction, unsigned.
    pub psbt: Psbt,
}

/// What a send does, as JS sees it (`OnchainQuote`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnchainQuote {
    /// The address paid.
    pub address: String,
    /// What arrives there.
    pub amount_sat: u64,
    /// The fee.
    pub fee_sat: u64,
    /// What comes back to the wallet.
    pub change_sat: u64,
    /// The feerate (informational: sat per 1000 weight units / 250).
    pub fee_rate_sat_per_vb: f64,
    /// What the wallet keeps on chain for its anchor channels' fee bumps.
    pub reserve_sat: u64,
}

impl OnchainQuote {
    /// The quote of `plan` to `address`, keeping `reserve_sat`.
    pub fn of(plan: &SendPlan, address: &str, reserve_sat: u64) -> OnchainQuote {
        OnchainQuote {
            address: address.trim().to_string(),
            amount_sat: plan.amount_sat,
            fee_sat: plan.fee_sat,
            change_sat: plan.change_sat,
            fee_rate_sat_per_vb: f64::from(plan.fee_rate_sat_per_kw) / 250.0,
            reserve_sat,
        }
    }
}

/// A send made (JS `OnchainSent`): its quote and its transaction id.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnchainSent {
    /// The transaction, in the mempool when this is returned.
    pub txid: String,
    /// What it does.
    #[serde(flatten)]
    pub quote: OnchainQuote,
}

/// Builds the send of `amount` to `to` at `fee_rate_sat_per_kw`, change to `change`, keeping
/// `reserve_sat` on chain. Stages nothing in `wallet` that needs a write.
pub fn plan_send(
    wallet: &mut Wallet,
    to: &ScriptBuf,
    amount: SendAmount,
    fee_rate_sat_per_kw: u32,
    change: ScriptBuf,
    reserve_sat: u64,
    rng: &mut impl RngCore,
) -> Result<SendPlan, Error> {
    let confirmed = wallet.balance().confirmed.to_sat();
    let reserve_refusal = Error::AnchorReserve {
        reserve_sat,
        confirmed_sat: confirmed,
    };
    let fee_rate = FeeRate::from_sat_per_kwu(u64::from(fee_rate_sat_per_kw));
    let dust = to.minimal_non_dust().to_sat();
    if let SendAmount::Sat(sat) = amount {
        if sat < dust {
            return Err(Error::AmountBelowDust { dust_sat: dust });
        }
    }
    if amount == SendAmount::All && reserve_sat > 0 && confirmed <= reserve_sat {
        return Err(reserve_refusal);
    }

    let mut builder = wallet.build_tx();
    builder.fee_rate(fee_rate).exclude_unconfirmed();
    match amount {
        SendAmount::Sat(sat) => {
            builder
                .add_recipient(to.clone(), Amount::from_sat(sat))
                .drain_to(change.clone());
        }
        SendAmount::All => {
            builder.drain_wallet().drain_to(to.clone());
            if reserve_sat > 0 {
                builder.add_recipient(change.clone(), Amount::from_sat(reserve_sat));
            }
        }
    }
    let psbt = builder.finish_with_aux_rand(rng).map_err(|e| match e {
        CreateTxError::CoinSelection(_) | CreateTxError::NoUtxosSelected => {
            Error::InsufficientFunds
        }
        // Only the drained output of a send of everything can be dust here.
        CreateTxError::OutputBelowDustLimit(_) => Error::InsufficientFunds,
        _ => Error::OnchainSendFailed {
            reason: "the wallet could not build the transaction",
        },
    })?;

    let paid = |script: &ScriptBuf| -> u64 {
        psbt.unsigned_tx
            .output
            .iter()
            .filter(|o| &o.script_pubkey == script)
            .map(|o| o.value.to_sat())
            .sum()
    };
    let amount_sat = paid(to);
    let change_sat = paid(&change);
    let fee_sat = psbt.fee().map_err(|_| Error::AmountOverflow)?.to_sat();
    if amount == SendAmount::All && amount_sat < dust {
        return Err(Error::InsufficientFunds);
    }
    let left = confirmed
        .checked_sub(amount_sat)
        .and_then(|l| l.checked_sub(fee_sat))
        .ok_or(Error::AmountOverflow)?;
    if left < reserve_sat {
        return Err(reserve_refusal);
    }
    Ok(SendPlan {
        amount_sat,
        fee_sat,
        change_sat,
        fee_rate_sat_per_kw,
        psbt,
    })
}

/// Signs every input of `plan` (all are the wallet's) and returns the transaction.
pub fn sign_send(wallet: &Wallet, plan: SendPlan) -> Result<Transaction, Error> {
    let mut psbt = plan.psbt;
    let unsigned = Error::OnchainSendFailed {
        reason: "the wallet could not sign the transaction",
    };
    let finalized = wallet
        .sign(&mut psbt, SignOptions::default())
        .map_err(|_| unsigned.clone())?;
    if !finalized {
        return Err(unsigned);
    }
    psbt.extract_tx().map_err(|_| Error::AmountOverflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onchain::state::tests::funded;
    use bitcoin::hashes::Hash;
    use bitcoin::{WPubkeyHash, Weight};

    const RATE: u32 = 1_000; // sat/kw: 4 sat/vB

    #[test]
    fn a_closed_channel_keeps_its_reserve_while_an_htlc_or_its_commitment_is_unresolved() {
        use lightning::chain::channelmonitor::BalanceSource;
        use lightning::types::payment::{PaymentHash, PaymentPreimage};
        let maturing = Balance::ClaimableAwaitingConfirmations {
            amount_satoshis: 30_000,
            confirmation_height: 200,
            source: BalanceSource::HolderForceClosed,
        };
        let revoked = Balance::CounterpartyRevokedOutputClaimable {
            amount_satoshis: 1_000,
        };
        let contentious = Balance::ContentiousClaimable {
            amount_satoshis: 8_000,
            timeout_height: 300,
            payment_hash: PaymentHash([1; 32]),
            payment_preimage: PaymentPreimage([2; 32]),
        };
        let timeout = Balance::MaybeTimeoutClaimableHTLC {
            amount_satoshis: 8_000,
            claimable_height: 300,
            payment_hash: PaymentHash([1; 32]),
            outbound_payment: true,
        };
        let preimage = Balance::MaybePreimageClaimableHTLC {
            amount_satoshis: 8_000,
            expiry_height: 300,
            payment_hash: PaymentHash([1; 32]),
        };
        assert!(!may_need_fee_bump(&[]));
        assert!(!may_need_fee_bump(&[maturing.clone(), revoked]));
        for htlc in [contentious, timeout, preimage] {
            assert!(may_need_fee_bump(&[maturing.clone(), htlc]));
        }
    }

    fn recipient() -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([5; 20]))
    }

    fn plan(amount: SendAmount, reserve_sat: u64) -> Result<SendPlan, Error> {
        let (mut s, _, _) = funded();
        s.plan_send(
            &recipient(),
            amount,
            RATE,
            reserve_sat,
            &mut rand_core::OsRng,
        )
    }

    /// The fee pays at least `RATE` for the signed weight (BDK counts worst-case signatures).
    fn assert_fee_at_rate(plan: &SendPlan, inputs: usize) {
        let signed = plan.psbt.unsigned_tx.weight() + Weight::from_wu(inputs as u64 * 108 + 2);
        assert!(
            plan.fee_sat * 1000 >= signed.to_wu() * u64::from(RATE),
            "{plan:?}"
        );
        assert!(
            plan.fee_sat * 1000 <= (signed.to_wu() + 40) * u64::from(RATE),
            "{plan:?}"
        );
    }

    #[test]
    fn addresses_are_checked_for_the_network() {
        let regtest = "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx";
        assert_eq!(
            parse_address(regtest, Network::Regtest).unwrap().len(),
            22,
            "P2WPKH"
        );
        assert_eq!(
            parse_address(
                "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
                Network::Regtest
            ),
            Err(Error::NetworkMismatch {
                expected: Network::Regtest,
                found: Network::Bitcoin
            })
        );
        assert_eq!(
            parse_address(regtest, Network::Signet),
            Err(Error::NetworkMismatch {
                expected: Network::Signet,
                found: Network::Regtest
            })
        );
        for bad in [
            "",
            "bcrt1q",
            "not an address",
            "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgy",
        ] {
            assert_eq!(
                parse_address(bad, Network::Regtest),
                Err(Error::InvalidAddress),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_reserve_is_per_anchor_channel_and_network() {
        assert_eq!(anchor_reserve_sat(Network::Bitcoin, 0), 0);
        assert_eq!(anchor_reserve_sat(Network::Bitcoin, 2), 50_000);
        assert_eq!(anchor_reserve_sat(Network::Signet, 1), 10_000);
    }

    #[test]
    fn an_exact_send_spends_confirmed_coins_only_and_says_what_it_does() {
        let (mut s, coin, _) = funded();
        let p = s
            .plan_send(
                &recipient(),
                SendAmount::Sat(50_000),
                RATE,
                0,
                &mut rand_core::OsRng,
            )
            .unwrap();
        assert_eq!(p.amount_sat, 50_000);
        assert_eq!(p.change_sat, 150_000 - 50_000 - p.fee_sat, "{p:?}");
        let inputs: Vec<_> = p
            .psbt
            .unsigned_tx
            .input
            .iter()
            .map(|i| i.previous_output)
            .collect();
        assert_eq!(
            inputs,
            vec![coin],
            "the unconfirmed 110 000 sat are not spent"
        );
        assert_fee_at_rate(&p, 1);

        let tx = sign_send(s.wallet(), p.clone()).unwrap();
        assert_eq!(tx.input[0].witness.len(), 2, "signed");
        // Recorded: the change is ours and pending, the coin spent.
        s.record_send(tx, 1_700_000_100);
        let b = s.balance().unwrap();
        assert_eq!(
            (b.confirmed_sat, b.pending_sat),
            (0, 110_000 + p.change_sat)
        );
    }

    #[test]
    fn sending_everything_leaves_exactly_the_reserve() {
        let p = plan(SendAmount::All, 25_000).unwrap();
        assert_eq!(p.change_sat, 25_000);
        assert_eq!(p.amount_sat, 150_000 - 25_000 - p.fee_sat);
        assert_fee_at_rate(&p, 1);
        let none_kept = plan(SendAmount::All, 0).unwrap();
        assert_eq!(
            (none_kept.change_sat, none_kept.amount_sat),
            (0, 150_000 - none_kept.fee_sat)
        );
    }

    #[test]
    fn the_reserve_dust_and_missing_funds_are_refused() {
        let reserve = Error::AnchorReserve {
            reserve_sat: 25_000,
            confirmed_sat: 150_000,
        };
        assert_eq!(plan(SendAmount::Sat(130_000), 25_000).unwrap_err(), reserve);
        assert!(plan(SendAmount::Sat(120_000), 25_000).is_ok());
        assert_eq!(
            plan(SendAmount::All, 150_000).unwrap_err(),
            Error::AnchorReserve {
                reserve_sat: 150_000,
                confirmed_sat: 150_000
            }
        );
        assert_eq!(
            plan(SendAmount::Sat(293), 0).unwrap_err(),
            Error::AmountBelowDust { dust_sat: 294 }
        );
        assert!(plan(SendAmount::Sat(294), 0).is_ok());
        assert_eq!(
            plan(SendAmount::Sat(150_000), 0).unwrap_err(),
            Error::InsufficientFunds
        );
        assert_eq!(
            plan(SendAmount::All, 149_900).unwrap_err(),
            Error::InsufficientFunds
        );
    }
}
