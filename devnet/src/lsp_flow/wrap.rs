//! Construction of the wrapped invoice, honest or according to a [`Fault`]. Pure: the caller
//! registers the payment hash with LDK (when [`WrapPlan::register`]) and passes the secret in.

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{RouteHint, RouteHintHop};
use lightning::types::payment::{PaymentHash, PaymentSecret};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef, Currency, InvoiceBuilder};

use super::fault::{Fault, HintFrom};

/// Who signs the wrapped invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WrapSigner {
    /// The LSP's node key (honest).
    Lsp,
    /// A key unrelated to any node (the `WrongPayee` fault).
    Random(SecretKey),
}

/// Every field of the wrapped invoice, decided before it is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrapPlan {
    pub payment_hash: PaymentHash,
    pub amount_msat: u64,
    pub currency: Currency,
    pub signer: WrapSigner,
    /// Invoice creation time, whole seconds since the Unix epoch.
    pub timestamp: Duration,
    /// Relative expiry; `timestamp + expiry_secs` is never after the inner invoice's expiry
    /// (but for the `ExpiryPastInner` fault).
    pub expiry_secs: u32,
    /// The invoice's `min_final_cltv_expiry_delta`.
    pub min_final_cltv_expiry_delta: u16,
    /// A route hint the honest LSP never adds (the `RouteHint` fault): one hop from there.
    pub hint_from: Option<HintFrom>,
    /// Whether the hash is to be registered with the ChannelManager (an unregistered hash makes
    /// LDK fail any HTLC paying it).
    pub register: bool,
}

impl WrapPlan {
    /// The delta to register with `create_inbound_payment_for_hash`: LDK adds a 3-block buffer
    /// in the invoices it makes, so the invoice's value minus 3 is what receipt enforces.
    pub fn registered_final_cltv_delta(&self) -> u16 {
        self.min_final_cltv_expiry_delta.saturating_sub(3)
    }
}

/// Why no wrapped invoice can be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WrapError {
    /// The inner invoice has expired (or expires within the current second).
    InnerExpired,
    /// Amount plus fee (plus fault extra) overflows u64.
    AmountOverflow,
    /// The inner final CLTV delta plus the LSP's extra does not fit in u16.
    CltvOverflow,
    /// Building or signing the invoice failed.
    Build(String),
}

impl std::fmt::Display for WrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WrapError::InnerExpired => f.write_str("the inner invoice has expired"),
            WrapError::AmountOverflow => f.write_str("wrapped amount overflows"),
            WrapError::CltvOverflow => f.write_str("wrapped final CLTV delta overflows"),
            WrapError::Build(e) => write!(f, "cannot build the wrapped invoice: {e}"),
        }
    }
}

impl std::error::Error for WrapError {}

/// Decides the wrapped invoice for `inner` with `fee_msat`: amount `inner + fee` (+ extra for
/// `OverchargeFee`), the inner payment hash (random for `WrongPaymentHash`), the LSP as payee
/// (a random key for `WrongPayee`), `network` (another one for `WrongNetwork`), expiry
/// `min(max_expiry_secs, inner expiry - now)`, final CLTV delta `inner + extra_final_cltv_delta`.
pub fn plan_wrapped(
    inner: &Bolt11Invoice,
    fee_msat: u64,
    fault: &Fault,
    network: Network,
    extra_final_cltv_delta: u16,
    max_expiry_secs: u32,
    now: Duration,
) -> Result<WrapPlan, WrapError> {
    let inner_amount = inner
        .amount_milli_satoshis()
        .ok_or(WrapError::AmountOverflow)?;
    let mut amount_msat = inner_amount
        .checked_add(fee_msat)
        .ok_or(WrapError::AmountOverflow)?;
    let mut payment_hash = PaymentHash(inner.payment_hash().to_byte_array());
    let mut currency = Currency::from(network);
    let mut signer = WrapSigner::Lsp;
    let mut register = true;
    match fault {
        Fault::OverchargeFee { extra_msat } => {
            amount_msat = amount_msat
                .checked_add(*extra_msat)
                .ok_or(WrapError::AmountOverflow)?;
        }
        Fault::WrongPaymentHash => {
            let random: [u8; 32] = rand::random();
            payment_hash = PaymentHash(sha256::Hash::hash(&random).to_byte_array());
            register = false;
        }
        Fault::WrongPayee => {
            signer = WrapSigner::Random(SecretKey::new(&mut rand::thread_rng()));
            register = false;
        }
        Fault::WrongNetwork { network } => currency = Currency::from(*network),
        Fault::Skim {
            undercharge_msat, ..
        } => {
            amount_msat = amount_msat
                .checked_sub(*undercharge_msat)
                .ok_or(WrapError::AmountOverflow)?;
        }
        Fault::None
        | Fault::NeverOpen
        | Fault::OpenLate { .. }
        | Fault::ImpostorIdentity
        | Fault::FeeFieldsDiffer { .. }
        | Fault::FeeAtAmount
        | Fault::ExpiryPastInner { .. }
        | Fault::FinalCltvDelta { .. }
        | Fault::RouteHint { .. } => {}
    }
    if fault.wrapped_invoice_lie() {
        register = false;
    }
    let timestamp = Duration::from_secs(now.as_secs());
    let inner_expires = inner.expires_at().ok_or(WrapError::InnerExpired)?.as_secs();
    let remaining = inner_expires.saturating_sub(timestamp.as_secs());
    if remaining == 0 {
        return Err(WrapError::InnerExpired);
    }
    let expiry_secs = match fault {
        Fault::ExpiryPastInner { extra_secs } => remaining.saturating_add(*extra_secs),
        _ => std::cmp::min(remaining, max_expiry_secs as u64),
    };
    let expiry_secs = u32::try_from(expiry_secs).unwrap_or(u32::MAX);
    let min_final_cltv_expiry_delta = match fault {
        Fault::FinalCltvDelta { delta } => *delta,
        _ => u16::try_from(inner.min_final_cltv_expiry_delta())
            .ok()
            .and_then(|d| d.checked_add(extra_final_cltv_delta))
            .ok_or(WrapError::CltvOverflow)?,
    };
    let hint_from = match fault {
        Fault::RouteHint { from } => Some(*from),
        _ => None,
    };
    Ok(WrapPlan {
        payment_hash,
        amount_msat,
        currency,
        signer,
        timestamp,
        expiry_secs,
        min_final_cltv_expiry_delta,
        hint_from,
        register,
    })
}

/// Builds and signs the wrapped invoice described by `plan`, with `inner`'s description,
/// `payment_secret`, no route hints (but the plan's `hint_from` one), and `basic_mpp`. `lsp_key` signs unless the plan says
/// [`WrapSigner::Random`]. The payee field is the signer's public key.
pub fn build_wrapped(
    plan: &WrapPlan,
    inner: &Bolt11Invoice,
    payment_secret: PaymentSecret,
    lsp_key: &SecretKey,
) -> Result<Bolt11Invoice, WrapError> {
    let secp = Secp256k1::signing_only();
    let key = match &plan.signer {
        WrapSigner::Lsp => lsp_key,
        WrapSigner::Random(k) => k,
    };
    let builder = InvoiceBuilder::new(plan.currency.clone());
    let builder = match inner.description() {
        Bolt11InvoiceDescriptionRef::Direct(d) => builder.description(d.as_inner().0.clone()),
        Bolt11InvoiceDescriptionRef::Hash(h) => builder.description_hash(h.0),
    };
    let builder = builder
        .payment_hash(sha256::Hash::from_byte_array(plan.payment_hash.0))
        .payment_secret(lightning_invoice::PaymentSecret(payment_secret.0))
        .duration_since_epoch(plan.timestamp)
        .min_final_cltv_expiry_delta(plan.min_final_cltv_expiry_delta as u64)
        .expiry_time(Duration::from_secs(plan.expiry_secs as u64))
        .amount_milli_satoshis(plan.amount_msat)
        .payee_pub_key(PublicKey::from_secret_key(&secp, key))
        .basic_mpp();
    let builder = match plan.hint_from {
        None => builder,
        Some(from) => builder.private_route(RouteHint(vec![RouteHintHop {
            src_node_id: match from {
                HintFrom::Lsp => PublicKey::from_secret_key(&secp, lsp_key),
                HintFrom::Client => inner.get_payee_pub_key(),
            },
            short_channel_id: (101 << 40) | (1 << 16),
            fees: RoutingFees {
                base_msat: 0,
                proportional_millionths: 0,
            },
            cltv_expiry_delta: 40,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }])),
    };
    builder
        .build_signed(|m| secp.sign_ecdsa_recoverable(m, key))
        .map_err(|e| WrapError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp_flow::proposal::tests::invoice;

    const NOW: Duration = Duration::from_millis(1_700_000_000_700);

    fn client() -> SecretKey {
        SecretKey::from_slice(&[5; 32]).unwrap()
    }
    fn lsp() -> SecretKey {
        SecretKey::from_slice(&[9; 32]).unwrap()
    }
    fn lsp_pub() -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &lsp())
    }
    fn inner() -> Bolt11Invoice {
        invoice(
            &client(),
            Currency::Regtest,
            Some(19_800_000),
            Duration::from_secs(1_700_000_000),
            Duration::from_secs(1800),
            42,
        )
    }

    fn wrap(fault: Fault) -> (WrapPlan, Bolt11Invoice) {
        let plan =
            plan_wrapped(&inner(), 200_000, &fault, Network::Regtest, 144, 3600, NOW).unwrap();
        let inv = build_wrapped(&plan, &inner(), PaymentSecret([1; 32]), &lsp()).unwrap();
        (plan, inv)
    }

    #[test]
    fn honest_wrap() {
        let (plan, w) = wrap(Fault::None);
        let i = inner();
        assert!(plan.register);
        assert_eq!(w.payment_hash(), i.payment_hash());
        assert_eq!(w.amount_milli_satoshis(), Some(20_000_000));
        assert_eq!(w.get_payee_pub_key(), lsp_pub());
        assert_eq!(w.recover_payee_pub_key(), lsp_pub());
        assert_eq!(w.currency(), Currency::Regtest);
        assert_eq!(w.min_final_cltv_expiry_delta(), 42 + 144);
        assert_eq!(plan.registered_final_cltv_delta(), 42 + 141);
        assert!(w.expires_at().unwrap() <= i.expires_at().unwrap());
        assert_eq!(w.expires_at().unwrap(), i.expires_at().unwrap());
        assert!(w.route_hints().is_empty());
        assert_eq!(w.payment_secret().0, [1; 32]);
        assert_eq!(w.description().to_string(), "inner");
        // round trip through text
        let parsed: Bolt11Invoice = w.to_string().parse().unwrap();
        assert_eq!(parsed, w);
    }

    /// The wrapped-invoice lies each change the one field they name, and leave the hash
    /// unregistered (a checking wallet never pays them).
    #[test]
    fn wrapped_invoice_lies() {
        let i = inner();
        let (plan, w) = wrap(Fault::ExpiryPastInner { extra_secs: 3600 });
        assert!(!plan.register);
        assert_eq!(
            w.expires_at().unwrap(),
            i.expires_at().unwrap() + Duration::from_secs(3600)
        );
        let (plan, w) = wrap(Fault::FinalCltvDelta { delta: 9 });
        assert!(!plan.register);
        assert_eq!(w.min_final_cltv_expiry_delta(), 9);
        for (from, node) in [
            (HintFrom::Lsp, lsp_pub()),
            (HintFrom::Client, i.get_payee_pub_key()),
        ] {
            let (plan, w) = wrap(Fault::RouteHint { from });
            assert!(!plan.register);
            let hints = w.route_hints();
            assert_eq!(hints.len(), 1);
            assert_eq!(hints[0].0[0].src_node_id, node);
        }
        let (plan, w) = wrap(Fault::Skim {
            msat: 600,
            undercharge_msat: 600,
        });
        assert!(
            plan.register,
            "the skim is an arrival lie: the invoice is paid"
        );
        assert_eq!(w.amount_milli_satoshis(), Some(20_000_000 - 600));
    }

    #[test]
    fn expiry_capped_by_config() {
        let plan = plan_wrapped(
            &inner(),
            200_000,
            &Fault::None,
            Network::Regtest,
            144,
            600,
            NOW,
        )
        .unwrap();
        assert_eq!(plan.expiry_secs, 600);
        assert_eq!(plan.timestamp, Duration::from_secs(1_700_000_000));
    }

    #[test]
    fn expired_inner_refused() {
        let later = Duration::from_secs(1_700_000_000 + 1800);
        assert_eq!(
            plan_wrapped(
                &inner(),
                200_000,
                &Fault::None,
                Network::Regtest,
                144,
                600,
                later
            ),
            Err(WrapError::InnerExpired)
        );
    }

    #[test]
    fn overflow_refused() {
        assert_eq!(
            plan_wrapped(
                &inner(),
                u64::MAX,
                &Fault::None,
                Network::Regtest,
                144,
                600,
                NOW
            ),
            Err(WrapError::AmountOverflow)
        );
        assert_eq!(
            plan_wrapped(
                &inner(),
                1,
                &Fault::None,
                Network::Regtest,
                u16::MAX,
                600,
                NOW
            ),
            Err(WrapError::CltvOverflow)
        );
    }

    #[test]
    fn overcharge_fee() {
        let (plan, w) = wrap(Fault::OverchargeFee { extra_msat: 5_000 });
        assert!(plan.register);
        assert_eq!(w.amount_milli_satoshis(), Some(20_005_000));
        assert_eq!(w.payment_hash(), inner().payment_hash());
        assert_eq!(w.get_payee_pub_key(), lsp_pub());
    }

    #[test]
    fn wrong_payment_hash() {
        let (plan, w) = wrap(Fault::WrongPaymentHash);
        assert!(!plan.register);
        assert_ne!(w.payment_hash(), inner().payment_hash());
        assert_eq!(w.amount_milli_satoshis(), Some(20_000_000));
        assert_eq!(w.get_payee_pub_key(), lsp_pub());
    }

    #[test]
    fn wrong_payee() {
        let (plan, w) = wrap(Fault::WrongPayee);
        assert!(!plan.register);
        assert_ne!(w.get_payee_pub_key(), lsp_pub());
        // consistently signed by that other key: it parses and recovers to the same key
        assert_eq!(w.recover_payee_pub_key(), w.get_payee_pub_key());
        let parsed: Bolt11Invoice = w.to_string().parse().unwrap();
        assert_eq!(parsed.get_payee_pub_key(), w.get_payee_pub_key());
        assert_eq!(w.payment_hash(), inner().payment_hash());
    }

    #[test]
    fn wrong_network() {
        let (_, w) = wrap(Fault::WrongNetwork {
            network: Network::Bitcoin,
        });
        assert_eq!(w.currency(), Currency::Bitcoin);
        assert!(w.to_string().starts_with("lnbc2"));
        let (_, w) = wrap(Fault::WrongNetwork {
            network: Network::Testnet,
        });
        assert_eq!(w.currency(), Currency::BitcoinTestnet);
        assert!(w.to_string().starts_with("lntb"));
    }

    #[test]
    fn timing_faults_do_not_change_the_invoice() {
        let (honest, _) = wrap(Fault::None);
        for f in [Fault::NeverOpen, Fault::OpenLate { delay_secs: 9 }] {
            let (plan, _) = wrap(f);
            assert_eq!(plan, honest);
        }
    }
}
