//! Whether to claim an arriving payment (LDK's `PaymentClaimable`), and the hook through which
//! the JIT receive logic takes that decision for the payments it owns.
//!
//! Guarantees of [`decide`]:
//! - a payment a [`JitHook`] recognises is decided by the hook alone (it knows the agreed fee);
//! - any other payment from which a peer withheld a fee (`counterparty_skimmed_fee_msat > 0`) is
//!   failed back at once ([`Error::UnexpectedSkim`]), never claimed and never left pending;
//! - a payment below the amount of the wallet's own invoice is failed back
//!   ([`Error::Underpaid`]);
//! - a payment whose preimage LDK cannot give (not an invoice of this wallet) is failed back.

use bitcoin::secp256k1::PublicKey;
use lightning::types::payment::{PaymentHash, PaymentPreimage, PaymentSecret};

use crate::error::Error;
pub use crate::lsp::receive_rules::ChannelOffer;

/// What the wallet knows about an arriving, claimable payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimable {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// What arrived, summed over its HTLCs, after any skim.
    pub amount_msat: u64,
    /// What the previous hop withheld (TLV 65537, summed).
    pub skimmed_msat: u64,
    /// The amount of the wallet's invoice for this hash, if it has one with an amount.
    pub invoice_amount_msat: Option<u64>,
    /// Whether LDK knows the preimage (an invoice this wallet's node made).
    pub has_preimage: bool,
    /// The preimage, when LDK knows it (for a hook that answers [`ClaimDecision::Hold`] and
    /// claims later itself).
    pub preimage: Option<PaymentPreimage>,
    /// The payment secret the HTLCs carried (BOLT11 payments): with it LDK gives the preimage
    /// again after a restart (`get_payment_preimage`), so a held claim can be resumed.
    pub payment_secret: Option<PaymentSecret>,
}

/// The decision on a claimable payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimDecision {
    /// Release the preimage and take the money.
    Claim,
    /// Fail the HTLCs back now, for this reason.
    Fail(Error),
    /// Leave the HTLCs held: the hook will claim or fail them itself later (e.g. once the
    /// funding transaction of a JIT channel is seen), before LDK's claim deadline.
    Hold,
}

/// The JIT receive logic's say on arriving payments. `None` means "not one of mine": the
/// default rules apply.
///
/// The other methods tell the JIT receive what LDK reported about the LSP's channels and the
/// payments it claimed (default: ignore); they are called after the node's own handling.
pub trait JitHook {
    /// Decides on a payment this hook owns, or returns `None`.
    fn on_claimable(&self, claimable: &Claimable) -> Option<ClaimDecision>;

    /// Whether to accept a channel `counterparty` asks to open
    /// ([`crate::lsp::receive_rules::decide_channel_offer`]); `None` while the hook's records are
    /// not loaded (the node then decides later, LDK replaying the request: the channel may be
    /// the one a stored receive asked for).
    fn channel_offer(
        &self,
        _counterparty: &PublicKey,
        _is_announced: bool,
        _funding_sat: u64,
    ) -> Option<ChannelOffer> {
        None
    }

    /// The node accepted an inbound channel from `counterparty` (the LSP).
    fn on_channel_accepted(&self, _counterparty: PublicKey, _user_channel_id: u128) {}

    /// A channel with `counterparty` became ready.
    fn on_channel_ready(&self, _counterparty: PublicKey, _user_channel_id: u128) {}

    /// A channel closed.
    fn on_channel_closed(&self, _user_channel_id: u128) {}

    /// The fee the LSP took on a claimed payment this hook owns (`amount_msat` received,
    /// `skimmed_msat` withheld over all its HTLCs), exact to the msat; `None` when it is not a
    /// known JIT receive (or the records are not loaded yet: [`Self::on_payment_claimed`] then
    /// records it). The node writes it with the payment's success, so the history and the
    /// `payment_received` event carry it.
    fn fee_taken_msat(
        &self,
        _payment_hash: &PaymentHash,
        _amount_msat: u64,
        _skimmed_msat: u64,
    ) -> Option<u64> {
        None
    }

    /// A payment was claimed (the node already recorded it): `amount_msat` received,
    /// `skimmed_msat` withheld by the previous hop over all its HTLCs.
    fn on_payment_claimed(
        &self,
        _payment_hash: PaymentHash,
        _amount_msat: u64,
        _skimmed_msat: u64,
    ) {
    }
}

/// The decision for `claimable` (see the module doc for the rules).
pub fn decide(claimable: &Claimable, hook: Option<&dyn JitHook>) -> ClaimDecision {
    if let Some(decision) = hook.and_then(|h| h.on_claimable(claimable)) {
        return decision;
    }
    if claimable.skimmed_msat > 0 {
        return ClaimDecision::Fail(Error::UnexpectedSkim {
            skimmed_msat: claimable.skimmed_msat,
        });
    }
    if !claimable.has_preimage {
        return ClaimDecision::Fail(Error::InvalidInvoice {
            reason: "the payment is for no invoice of this wallet",
        });
    }
    if let Some(expected) = claimable.invoice_amount_msat {
        if claimable.amount_msat < expected {
            return ClaimDecision::Fail(Error::Underpaid {
                received_msat: claimable.amount_msat,
                expected_msat: expected,
            });
        }
    }
    ClaimDecision::Claim
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimable(skimmed: u64) -> Claimable {
        Claimable {
            payment_hash: PaymentHash([1; 32]),
            amount_msat: 10_000_000,
            skimmed_msat: skimmed,
            invoice_amount_msat: Some(10_000_000),
            has_preimage: true,
            preimage: Some(PaymentPreimage([2; 32])),
            payment_secret: Some(PaymentSecret([3; 32])),
        }
    }

    struct Owns(ClaimDecision);
    impl JitHook for Owns {
        fn on_claimable(&self, c: &Claimable) -> Option<ClaimDecision> {
            (c.payment_hash == PaymentHash([1; 32])).then(|| self.0.clone())
        }
    }

    struct OwnsNothing;
    impl JitHook for OwnsNothing {
        fn on_claimable(&self, _: &Claimable) -> Option<ClaimDecision> {
            None
        }
    }

    #[test]
    fn plain_payment_is_claimed() {
        assert_eq!(decide(&claimable(0), None), ClaimDecision::Claim);
        assert_eq!(
            decide(&claimable(0), Some(&OwnsNothing)),
            ClaimDecision::Claim
        );
        let mut over = claimable(0);
        over.amount_msat += 1;
        assert_eq!(
            decide(&over, None),
            ClaimDecision::Claim,
            "overpaying is fine"
        );
    }

    #[test]
    fn skim_without_an_approving_hook_is_failed() {
        assert_eq!(
            decide(&claimable(1), None),
            ClaimDecision::Fail(Error::UnexpectedSkim { skimmed_msat: 1 })
        );
        assert_eq!(
            decide(&claimable(5000), Some(&OwnsNothing)),
            ClaimDecision::Fail(Error::UnexpectedSkim { skimmed_msat: 5000 })
        );
    }

    #[test]
    fn hook_decides_for_its_payments() {
        assert_eq!(
            decide(&claimable(5000), Some(&Owns(ClaimDecision::Claim))),
            ClaimDecision::Claim
        );
        assert_eq!(
            decide(&claimable(5000), Some(&Owns(ClaimDecision::Hold))),
            ClaimDecision::Hold
        );
        let refuse = ClaimDecision::Fail(Error::SkimTooHigh {
            skimmed_msat: 5000,
            allowed_msat: 10,
        });
        assert_eq!(
            decide(&claimable(5000), Some(&Owns(refuse.clone()))),
            refuse
        );
    }

    #[test]
    fn underpaid_and_unknown_are_failed() {
        let mut under = claimable(0);
        under.amount_msat -= 1;
        assert_eq!(
            decide(&under, None),
            ClaimDecision::Fail(Error::Underpaid {
                received_msat: 9_999_999,
                expected_msat: 10_000_000
            })
        );
        let mut unknown = claimable(0);
        unknown.has_preimage = false;
        assert!(matches!(
            decide(&unknown, None),
            ClaimDecision::Fail(Error::InvalidInvoice { .. })
        ));
    }
}
