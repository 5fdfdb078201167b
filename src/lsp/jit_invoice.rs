//! The wallet's own invoices for a JIT receive, as pure builders (signing is the caller's).
//!
//! - REST flow: the inner invoice the LSP wraps ([`flow_inner_spec`]): the wallet's own payment
//!   hash, the amount minus the quoted fee, no route hints (the LSP reaches the wallet over the
//!   channel it opens), LDK's normal final CLTV delta, `basic_mpp`.
//! - LSPS2: the invoice the payer pays ([`lsps2_spec`]): exactly one route hint from the LSP over
//!   the intercept SCID with zero fees and the LSP's CLTV delta, `timestamp + expiry ≤
//!   valid_until`, final CLTV delta = normal + 2; fixed mode carries the payment size and
//!   offers `basic_mpp`, variable mode carries no amount and no MPP (bLIP-52).
//!
//! [`build_raw`] turns a spec into an unsigned invoice, with or without `basic_mpp` (the node's
//! own builder always offers it, which a variable-amount LSPS2 invoice must not).

use core::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::types::payment::{PaymentHash, PaymentSecret};
use lightning_invoice::RawBolt11Invoice;

use crate::error::Error;
use crate::lsp::lsps2::{self, Lsps2Terms, LSPS2_INVOICE_MIN_FINAL_CLTV};
use crate::payment::invoice::InvoiceSpec;

/// An invoice spec and whether the invoice offers `basic_mpp`.
#[derive(Clone, Debug)]
pub struct JitInvoiceSpec {
    /// Everything but the MPP feature.
    pub spec: InvoiceSpec,
    /// Whether to offer `basic_mpp`.
    pub basic_mpp: bool,
}

/// What LDK's `create_inbound_payment` gave for the receive, and when and how long it is valid.
#[derive(Clone, Copy, Debug)]
pub struct InboundPayment {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The payment secret.
    pub payment_secret: PaymentSecret,
    /// Creation time (whole seconds).
    pub timestamp_secs: u64,
}

/// The inner invoice of a REST-flow receive: `inner_amount_msat` (amount − fee), no hints.
pub fn flow_inner_spec(
    network: bitcoin::Network,
    payee: PublicKey,
    payment: InboundPayment,
    inner_amount_msat: u64,
    description: &str,
    expiry_secs: u32,
    min_final_cltv_expiry_delta: u16,
) -> JitInvoiceSpec {
    JitInvoiceSpec {
        spec: InvoiceSpec {
            network,
            amount_msat: Some(inner_amount_msat),
            description: description.to_string(),
            payment_hash: payment.payment_hash,
            payment_secret: payment.payment_secret,
            timestamp: Duration::from_secs(payment.timestamp_secs),
            expiry_secs,
            min_final_cltv_expiry_delta,
            payee,
            route_hints: Vec::new(),
        },
        basic_mpp: true,
    }
}

/// The LSPS2 JIT invoice for `terms` bought from `lsp_node_id`. The expiry is
/// `min(wanted_expiry_secs, valid_until − timestamp)` ([`lsps2::invoice_expiry_secs`]), so
/// [`lsps2::check_jit_invoice`] holds by construction; [`OfferFault::Expired`] when the terms
/// have no time left.
///
/// [`OfferFault::Expired`]: crate::error::OfferFault::Expired
pub fn lsps2_spec(
    network: bitcoin::Network,
    payee: PublicKey,
    payment: InboundPayment,
    terms: &Lsps2Terms,
    lsp_node_id: PublicKey,
    description: &str,
    wanted_expiry_secs: u32,
) -> Result<JitInvoiceSpec, Error> {
    let expiry_secs = lsps2::invoice_expiry_secs(
        &terms.opening_fee_params,
        payment.timestamp_secs,
        wanted_expiry_secs,
    )?;
    let amount_msat = terms.mode.sized().map(|(size, _)| size);
    let basic_mpp = terms.mode.offers_mpp();
    Ok(JitInvoiceSpec {
        spec: InvoiceSpec {
            network,
            amount_msat,
            description: description.to_string(),
            payment_hash: payment.payment_hash,
            payment_secret: payment.payment_secret,
            timestamp: Duration::from_secs(payment.timestamp_secs),
            expiry_secs,
            min_final_cltv_expiry_delta: LSPS2_INVOICE_MIN_FINAL_CLTV,
            payee,
            route_hints: vec![terms.route_hint(lsp_node_id)],
        },
        basic_mpp,
    })
}

/// The unsigned invoice for `s`: exactly the spec's fields and hints, `basic_mpp` only when
/// asked. A description over 639 bytes or an amount of 0 is [`Error::InvalidInvoice`].
pub fn build_raw(s: &JitInvoiceSpec) -> Result<RawBolt11Invoice, Error> {
    crate::payment::invoice::build_raw_invoice_with(&s.spec, s.basic_mpp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::lsps2::tests::{params, NOW};
    use crate::lsp::lsps2::{check_jit_invoice, AmountMode, ChosenOffer};
    use crate::test_util::{pubkey, secret};
    use bitcoin::hashes::Hash as _;
    use bitcoin::secp256k1::Secp256k1;
    use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
    use lightning_invoice::Bolt11Invoice;

    const WALLET: u8 = 1;
    const LSP: u8 = 2;

    fn sign(raw: RawBolt11Invoice) -> Bolt11Invoice {
        let secp = Secp256k1::new();
        let signed = raw
            .sign::<_, ()>(|m| Ok(secp.sign_ecdsa_recoverable(m, &secret(WALLET))))
            .unwrap();
        Bolt11Invoice::from_signed(signed).unwrap()
    }

    fn payment() -> InboundPayment {
        InboundPayment {
            payment_hash: PaymentHash([7; 32]),
            payment_secret: PaymentSecret([8; 32]),
            timestamp_secs: NOW,
        }
    }

    fn terms(mode: AmountMode, valid_for: u64) -> Lsps2Terms {
        let chosen = ChosenOffer {
            params: params(1_000_000, 10_000, 1_000, 1_000_000_000, NOW + valid_for),
            mode,
        };
        Lsps2Terms::new(chosen, 0x1234_5678, 144, false).unwrap()
    }

    #[test]
    fn lsps2_fixed_invoice_passes_the_jit_check() {
        let t = terms(
            AmountMode::Fixed {
                payment_size_msat: 50_000_000,
                opening_fee_msat: 1_000_000,
            },
            3600,
        );
        let s = lsps2_spec(
            bitcoin::Network::Regtest,
            pubkey(WALLET),
            payment(),
            &t,
            pubkey(LSP),
            "jit",
            600,
        )
        .unwrap();
        let inv = sign(build_raw(&s).unwrap());
        assert_eq!(inv.amount_milli_satoshis(), Some(50_000_000));
        assert_eq!(inv.expiry_time(), Duration::from_secs(600));
        assert_eq!(
            inv.min_final_cltv_expiry_delta(),
            MIN_FINAL_CLTV_EXPIRY_DELTA as u64 + 2
        );
        assert!(inv.features().unwrap().supports_basic_mpp());
        assert_eq!(inv.route_hints().len(), 1);
        check_jit_invoice(
            &inv,
            &t,
            &pubkey(LSP),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            bitcoin::Network::Regtest,
        )
        .unwrap();
        // the check really looks: another LSP key fails it
        assert!(check_jit_invoice(
            &inv,
            &t,
            &pubkey(3),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            bitcoin::Network::Regtest
        )
        .is_err());
    }

    #[test]
    fn lsps2_variable_invoice_has_no_amount_and_no_mpp() {
        let t = terms(AmountMode::Variable, 3600);
        let s = lsps2_spec(
            bitcoin::Network::Regtest,
            pubkey(WALLET),
            payment(),
            &t,
            pubkey(LSP),
            "jit",
            600,
        )
        .unwrap();
        let inv = sign(build_raw(&s).unwrap());
        assert_eq!(inv.amount_milli_satoshis(), None);
        assert!(!inv.features().unwrap().supports_basic_mpp());
        check_jit_invoice(
            &inv,
            &t,
            &pubkey(LSP),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            bitcoin::Network::Regtest,
        )
        .unwrap();
    }

    #[test]
    fn lsps2_expiry_is_cut_to_the_terms() {
        let t = terms(AmountMode::Variable, 300);
        let s = lsps2_spec(
            bitcoin::Network::Regtest,
            pubkey(WALLET),
            payment(),
            &t,
            pubkey(LSP),
            "jit",
            3600,
        )
        .unwrap();
        assert_eq!(s.spec.expiry_secs, 300);
        let inv = sign(build_raw(&s).unwrap());
        check_jit_invoice(
            &inv,
            &t,
            &pubkey(LSP),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            bitcoin::Network::Regtest,
        )
        .unwrap();
        let mut late = payment();
        late.timestamp_secs = NOW + 300;
        assert!(lsps2_spec(
            bitcoin::Network::Regtest,
            pubkey(WALLET),
            late,
            &t,
            pubkey(LSP),
            "jit",
            3600
        )
        .is_err());
    }

    #[test]
    fn flow_inner_invoice() {
        let s = flow_inner_spec(
            bitcoin::Network::Regtest,
            pubkey(WALLET),
            payment(),
            98_000_000,
            "coffee",
            900,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        );
        let inv = sign(build_raw(&s).unwrap());
        assert_eq!(inv.amount_milli_satoshis(), Some(98_000_000));
        assert!(inv.route_hints().is_empty());
        assert_eq!(inv.recover_payee_pub_key(), pubkey(WALLET));
        assert_eq!(inv.payment_hash().to_byte_array(), [7; 32]);
        assert_eq!(inv.expiry_time(), Duration::from_secs(900));
        let mut zero = s.clone();
        zero.spec.amount_msat = Some(0);
        assert!(build_raw(&zero).is_err());
        let mut long = s;
        long.spec.description = "x".repeat(640);
        assert!(build_raw(&long).is_err());
    }
}
