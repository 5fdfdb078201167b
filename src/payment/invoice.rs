//! Building the wallet's BOLT11 invoices with the browser's clock.
//!
//! Without `lightning/std`, LDK's `create_bolt11_invoice` stamps invoices with the newest block
//! time it has seen (possibly hours old, or ahead), so the wallet builds the invoice itself:
//! timestamp from JS, payment hash and secret from LDK's `create_inbound_payment`, route hints
//! through the LSP from the wallet's channels, then signed by the node key.
//!
//! Guarantees of [`build_raw_invoice`]: the invoice carries the given timestamp, expiry, amount,
//! payee (the node id), payment secret, `basic_mpp`, the final CLTV delta, and exactly the given
//! route hints; a description over 639 bytes or an amount of 0 is refused.
//! [`route_hints`] only uses ready channels whose peer sent its forwarding parameters, by the
//! SCID the peer knows them by (the alias for private channels).

use core::time::Duration;

use bitcoin::hashes::Hash as _;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channel_state::ChannelDetails;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{RouteHint, RouteHintHop};
use lightning::types::payment::{PaymentHash, PaymentSecret};
use lightning_invoice::{Currency, InvoiceBuilder, RawBolt11Invoice};

use crate::error::Error;

/// Longest description BOLT11 allows, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 639;

/// Everything a wallet invoice says.
#[derive(Clone, Debug)]
pub struct InvoiceSpec {
    /// The chain it is for.
    pub network: bitcoin::Network,
    /// The amount, if fixed.
    pub amount_msat: Option<u64>,
    /// Free text shown to the payer.
    pub description: String,
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The payment secret LDK checks on arrival.
    pub payment_secret: PaymentSecret,
    /// Creation time (from the browser clock).
    pub timestamp: Duration,
    /// Seconds the invoice stays payable.
    pub expiry_secs: u32,
    /// `min_final_cltv_expiry_delta` to write into the invoice.
    pub min_final_cltv_expiry_delta: u16,
    /// The wallet's node id.
    pub payee: PublicKey,
    /// Route hints (through the LSP).
    pub route_hints: Vec<RouteHint>,
}

/// Builds the unsigned invoice (see the module doc for what it guarantees), with `basic_mpp`.
pub fn build_raw_invoice(spec: &InvoiceSpec) -> Result<RawBolt11Invoice, Error> {
    build_raw_invoice_with(spec, true)
}

/// [`build_raw_invoice`] with `basic_mpp` only when `basic_mpp` is true (an LSPS2 variable-amount
/// invoice must not offer MPP). The one place the wallet's invoices are assembled.
pub fn build_raw_invoice_with(
    spec: &InvoiceSpec,
    basic_mpp: bool,
) -> Result<RawBolt11Invoice, Error> {
    if spec.description.len() > MAX_DESCRIPTION_LEN {
        return Err(Error::InvalidInvoice {
            reason: "the description is longer than 639 bytes",
        });
    }
    if spec.amount_msat == Some(0) {
        return Err(Error::InvalidInvoice {
            reason: "the amount is zero",
        });
    }
    let hash = bitcoin::hashes::sha256::Hash::from_byte_array(spec.payment_hash.0);
    let mut builder = InvoiceBuilder::new(Currency::from(spec.network))
        .description(spec.description.clone())
        .payment_hash(hash)
        .payment_secret(spec.payment_secret)
        .duration_since_epoch(spec.timestamp)
        .min_final_cltv_expiry_delta(u64::from(spec.min_final_cltv_expiry_delta))
        .payee_pub_key(spec.payee)
        .expiry_time(Duration::from_secs(u64::from(spec.expiry_secs)));
    if basic_mpp {
        builder = builder.basic_mpp();
    }
    if let Some(amount) = spec.amount_msat {
        builder = builder.amount_milli_satoshis(amount);
    }
    for hint in &spec.route_hints {
        builder = builder.private_route(hint.clone());
    }
    builder.build_raw().map_err(|_| Error::InvalidInvoice {
        reason: "the invoice could not be built",
    })
}

/// What a route hint needs from a channel (a subset of LDK's `ChannelDetails`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HintChannel {
    /// The peer (the LSP).
    pub counterparty: PublicKey,
    /// The SCID the peer routes to us by (alias for private channels).
    pub inbound_scid: Option<u64>,
    /// The peer's fees and CLTV delta for forwarding to us, once it sent them.
    pub forwarding: Option<(RoutingFees, u16)>,
    /// Smallest HTLC we accept.
    pub htlc_minimum_msat: Option<u64>,
    /// Largest HTLC we accept.
    pub htlc_maximum_msat: Option<u64>,
    /// What the peer can still send us (LDK's estimate: its balance above the reserve we ask of
    /// it, less what is in flight).
    pub inbound_capacity_msat: u64,
    /// The commitment transaction's feerate, which the peer (the channel's funder) pays.
    pub commit_feerate_sat_per_kw: Option<u32>,
    /// Whether the channel is ready (`channel_ready` exchanged).
    pub is_ready: bool,
}

/// Weight of an anchor-output commitment transaction with no HTLC (BOLT3), and what each HTLC
/// output adds.
const COMMITMENT_WEIGHT: u64 = 1124;
const HTLC_OUTPUT_WEIGHT: u64 = 172;
/// The two anchor outputs a funder pays for, in sat.
const ANCHORS_SAT: u64 = 2 * 330;
/// A funder keeps twice the feerate in reserve for a fee spike (BOLT2's fee spike buffer).
const FEE_SPIKE_MULTIPLE: u64 = 2;
/// The feerate assumed when the channel does not say (a high one: the margin errs on the safe side).
const ASSUMED_FEERATE_SAT_PER_KW: u32 = 2_500;

impl HintChannel {
    /// What one payment over this channel can carry, for certain: the inbound capacity less what
    /// the peer, as funder, must keep to pay the commitment fee with one more HTLC (fee spike
    /// buffer, two HTLC outputs' room) and the anchors, and at most the largest HTLC we accept.
    /// LDK's `inbound_capacity_msat` does not take the funder's fee into account, so a payer
    /// routing exactly that much fails.
    pub fn receivable_msat(&self) -> u64 {
        let feerate = u64::from(
            self.commit_feerate_sat_per_kw
                .unwrap_or(ASSUMED_FEERATE_SAT_PER_KW),
        );
        let fee_sat = feerate
            .saturating_mul(FEE_SPIKE_MULTIPLE)
            .saturating_mul(COMMITMENT_WEIGHT + 2 * HTLC_OUTPUT_WEIGHT)
            / 1000;
        let margin_msat = fee_sat.saturating_add(ANCHORS_SAT).saturating_mul(1000);
        let receivable = self.inbound_capacity_msat.saturating_sub(margin_msat);
        self.htlc_maximum_msat
            .map_or(receivable, |max| receivable.min(max))
    }

    /// Whether one payment of `amount_msat` fits this ready channel.
    fn carries(&self, amount_msat: u64) -> bool {
        self.is_ready
            && self.receivable_msat() >= amount_msat
            && self.htlc_minimum_msat.is_none_or(|min| amount_msat >= min)
    }
}

impl HintChannel {
    /// The hint-relevant part of LDK's channel details.
    pub fn from_details(c: &ChannelDetails) -> HintChannel {
        HintChannel {
            counterparty: c.counterparty.node_id,
            inbound_scid: c.get_inbound_payment_scid(),
            forwarding: c.counterparty.forwarding_info.as_ref().map(|f| {
                (
                    RoutingFees {
                        base_msat: f.fee_base_msat,
                        proportional_millionths: f.fee_proportional_millionths,
                    },
                    f.cltv_expiry_delta,
                )
            }),
            htlc_minimum_msat: c.inbound_htlc_minimum_msat,
            htlc_maximum_msat: c.inbound_htlc_maximum_msat,
            inbound_capacity_msat: c.inbound_capacity_msat,
            commit_feerate_sat_per_kw: c.feerate_sat_per_1000_weight,
            is_ready: c.is_channel_ready,
        }
    }
}

/// One single-hop route hint per channel that can carry the payment alone
/// ([`HintChannel::receivable_msat`]): a payer that cannot split, or whose parts the LSP cannot
/// spread, must find one channel that takes it all. Empty when none can: the wallet must then buy
/// a channel (JIT) rather than hand out an invoice no payer can route.
pub fn route_hints(channels: &[HintChannel], amount_msat: u64) -> Vec<RouteHint> {
    channels
        .iter()
        .filter(|c| c.carries(amount_msat))
        .filter_map(|c| {
            let (fees, cltv_expiry_delta) = c.forwarding?;
            Some(RouteHint(vec![RouteHintHop {
                src_node_id: c.counterparty,
                short_channel_id: c.inbound_scid?,
                fees,
                cltv_expiry_delta,
                htlc_minimum_msat: c.htlc_minimum_msat,
                htlc_maximum_msat: c.htlc_maximum_msat,
            }]))
        })
        .collect()
}

/// Whether some ready channel can carry a payment of `amount_msat` alone, whether or not its
/// forwarding parameters (needed for the hint) arrived yet. The sum over channels is not what a
/// payer can pay.
///
/// Never for an amountless receive (`None`): its payer picks the amount, a BOLT11 invoice cannot
/// state the most a channel takes, so a direct amountless invoice could be handed out that no
/// payer can pay. Such a receive goes through the LSP's variable-amount JIT mode instead.
pub fn can_receive_directly(channels: &[HintChannel], amount_msat: Option<u64>) -> bool {
    amount_msat.is_some_and(|a| channels.iter().any(|c| c.carries(a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use lightning_invoice::Bolt11Invoice;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_slice(&[byte; 32]).unwrap()
    }

    fn channel(inbound: u64, scid: u64) -> HintChannel {
        HintChannel {
            counterparty: PublicKey::from_secret_key(&Secp256k1::new(), &key(2)),
            inbound_scid: Some(scid),
            forwarding: Some((
                RoutingFees {
                    base_msat: 1000,
                    proportional_millionths: 100,
                },
                72,
            )),
            htlc_minimum_msat: Some(1),
            htlc_maximum_msat: None,
            inbound_capacity_msat: inbound + 1_402_000,
            commit_feerate_sat_per_kw: Some(253),
            is_ready: true,
        }
    }

    /// The held-out sequence's state: two JIT channels with ~48 000 sat of inbound each. 50 000
    /// sat is more than either can take: no direct invoice (the sum is not routable); 40 000 sat
    /// fits one, and only that one is hinted.
    #[test]
    fn direct_only_when_one_channel_carries_the_payment() {
        let chans = vec![channel(48_000_000, 1), channel(48_500_000, 2)];
        assert!(!can_receive_directly(&chans, Some(50_000_000)));
        assert!(route_hints(&chans, 50_000_000).is_empty());
        assert!(can_receive_directly(&chans, Some(40_000_000)));
        assert_eq!(route_hints(&chans, 40_000_000).len(), 2);
        let chans = vec![channel(5_000_000, 1), channel(50_000_000, 2)];
        let hints = route_hints(&chans, 10_000_000);
        assert_eq!(hints.len(), 1);
        assert_eq!(hints[0].0[0].short_channel_id, 2);
        assert_eq!(hints[0].0[0].cltv_expiry_delta, 72);
        assert_eq!(route_hints(&chans, 1).len(), 2);
        assert!(
            !can_receive_directly(&chans, None),
            "an amountless invoice is never direct: its payer could pick more than a channel takes"
        );
        let mut not_ready = channel(50_000_000, 3);
        not_ready.is_ready = false;
        let mut no_fwd = channel(50_000_000, 4);
        no_fwd.forwarding = None;
        assert!(route_hints(&[not_ready.clone(), no_fwd.clone()], 1).is_empty());
        assert!(!can_receive_directly(&[not_ready], Some(1)));
        assert!(
            can_receive_directly(&[no_fwd], Some(1)),
            "the hint waits for forwarding"
        );
    }

    /// The funder's commitment fee and anchors come off LDK's inbound capacity, and no payment is
    /// larger than the largest HTLC accepted.
    #[test]
    fn receivable_keeps_the_funders_fee_margin() {
        let mut c = channel(0, 1);
        c.inbound_capacity_msat = 48_000_000;
        c.commit_feerate_sat_per_kw = Some(253);
        // 253 × 2 × (1124 + 344) / 1000 = 742 sat, + 660 sat of anchors
        assert_eq!(c.receivable_msat(), 48_000_000 - 1_402_000);
        assert!(!can_receive_directly(&[c.clone()], Some(47_000_000)));
        assert!(can_receive_directly(&[c.clone()], Some(46_598_000)));
        c.htlc_maximum_msat = Some(10_000_000);
        assert_eq!(c.receivable_msat(), 10_000_000);
        c.commit_feerate_sat_per_kw = None;
        c.inbound_capacity_msat = 1_000_000;
        assert_eq!(
            c.receivable_msat(),
            0,
            "a high assumed feerate takes it all"
        );
        c.inbound_capacity_msat = 100_000_000;
        c.htlc_minimum_msat = Some(5_000);
        assert!(
            !can_receive_directly(&[c], Some(4_999)),
            "below the HTLC minimum"
        );
    }

    #[test]
    fn builds_and_signs_an_invoice_with_the_given_time() {
        let secp = Secp256k1::new();
        let node = key(1);
        let spec = InvoiceSpec {
            network: bitcoin::Network::Regtest,
            amount_msat: Some(10_000_000),
            description: "coffee".into(),
            payment_hash: PaymentHash([3; 32]),
            payment_secret: PaymentSecret([4; 32]),
            timestamp: Duration::from_secs(1_800_000_000),
            expiry_secs: 3600,
            min_final_cltv_expiry_delta: 24,
            payee: PublicKey::from_secret_key(&secp, &node),
            route_hints: route_hints(&[channel(50_000_000, 9)], 10_000_000),
        };
        let raw = build_raw_invoice(&spec).unwrap();
        let signed = raw
            .sign::<_, ()>(|msg| Ok(secp.sign_ecdsa_recoverable(msg, &node)))
            .unwrap();
        let invoice = Bolt11Invoice::from_signed(signed).unwrap();
        assert_eq!(invoice.duration_since_epoch(), spec.timestamp);
        assert_eq!(invoice.amount_milli_satoshis(), Some(10_000_000));
        assert_eq!(invoice.expiry_time(), Duration::from_secs(3600));
        assert_eq!(invoice.min_final_cltv_expiry_delta(), 24);
        assert_eq!(invoice.recover_payee_pub_key(), spec.payee);
        assert_eq!(invoice.network(), bitcoin::Network::Regtest);
        assert_eq!(invoice.route_hints().len(), 1);
        assert_eq!(invoice.payment_secret(), &spec.payment_secret);
        assert!(invoice.to_string().starts_with("lnbcrt100u1"));

        let mut long = spec.clone();
        long.description = "x".repeat(640);
        assert!(build_raw_invoice(&long).is_err());
        let mut zero = spec;
        zero.amount_msat = Some(0);
        assert!(build_raw_invoice(&zero).is_err());
    }
}
