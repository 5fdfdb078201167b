//! Checks of a client's `POST /api/v1/proposal` invoice against the fee quote it names. Pure.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::Network;
use lightning_invoice::{Bolt11Invoice, Currency};

use super::config::MAX_INNER_FINAL_CLTV_DELTA;
use super::quotes::FeeQuote;

/// The inner invoice must stay valid at least this long after the proposal.
pub const MIN_INNER_REMAINING: Duration = Duration::from_secs(60);

/// Why a proposal's invoice is refused. Each variant has a stable [`ProposalError::code`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalError {
    /// Not a valid, correctly signed BOLT11 invoice.
    InvalidInvoice(String),
    /// For another network than the LSP's.
    WrongNetwork { expected: Currency, got: Currency },
    /// The invoice has no amount.
    NoAmount,
    /// The invoice's payee is not the node the fee was quoted for.
    PayeeMismatch,
    /// The invoice amount is not the quoted amount minus the quoted fee.
    AmountMismatch { expected_msat: u64, got_msat: u64 },
    /// The invoice expires (or has expired) within [`MIN_INNER_REMAINING`].
    Expired,
    /// The invoice's `min_final_cltv_expiry_delta` is above [`MAX_INNER_FINAL_CLTV_DELTA`].
    FinalCltvTooLarge { got: u64 },
}

impl ProposalError {
    /// A stable machine-readable code for the `error` field of the HTTP answer.
    pub fn code(&self) -> &'static str {
        match self {
            ProposalError::InvalidInvoice(_) => "invalid_invoice",
            ProposalError::WrongNetwork { .. } => "wrong_network",
            ProposalError::NoAmount => "invoice_without_amount",
            ProposalError::PayeeMismatch => "payee_mismatch",
            ProposalError::AmountMismatch { .. } => "amount_mismatch",
            ProposalError::Expired => "invoice_expired",
            ProposalError::FinalCltvTooLarge { .. } => "final_cltv_too_large",
        }
    }
}

impl std::fmt::Display for ProposalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProposalError::InvalidInvoice(e) => write!(f, "invalid bolt11 invoice: {e}"),
            ProposalError::WrongNetwork { expected, got } => {
                write!(f, "invoice is for {got:?}, this LSP serves {expected:?}")
            }
            ProposalError::NoAmount => f.write_str("invoice has no amount"),
            ProposalError::PayeeMismatch => {
                f.write_str("invoice payee is not the pubkey the fee was quoted for")
            }
            ProposalError::AmountMismatch { expected_msat, got_msat } => write!(
                f,
                "invoice amount {got_msat} msat is not the quoted amount minus fee ({expected_msat} msat)"
            ),
            ProposalError::Expired => write!(
                f,
                "invoice expires in less than {} seconds",
                MIN_INNER_REMAINING.as_secs()
            ),
            ProposalError::FinalCltvTooLarge { got } => write!(
                f,
                "invoice min_final_cltv_expiry_delta {got} is above {MAX_INNER_FINAL_CLTV_DELTA}"
            ),
        }
    }
}

impl std::error::Error for ProposalError {}

/// Parses `bolt11` (an optional `lightning:` prefix is allowed) and checks it against `quote`
/// for an LSP on `network` at time `now` (since the Unix epoch): valid signature, network,
/// amount present and equal to `quote.amount_msat - quote.fee_msat`, payee equal to the quoted
/// client, still valid for [`MIN_INNER_REMAINING`], sane final CLTV delta.
pub fn validate_proposal(
    bolt11: &str,
    quote: &FeeQuote,
    network: Network,
    now: Duration,
) -> Result<Bolt11Invoice, ProposalError> {
    let text = bolt11.trim();
    let text = if text.len() > 10 && text[..10].eq_ignore_ascii_case("lightning:") {
        &text[10..]
    } else {
        text
    };
    let invoice =
        Bolt11Invoice::from_str(text).map_err(|e| ProposalError::InvalidInvoice(e.to_string()))?;
    let expected = Currency::from(network);
    if invoice.currency() != expected {
        return Err(ProposalError::WrongNetwork {
            expected,
            got: invoice.currency(),
        });
    }
    let amount = match invoice.amount_milli_satoshis() {
        Some(a) if a > 0 => a,
        _ => return Err(ProposalError::NoAmount),
    };
    if invoice.get_payee_pub_key() != quote.client {
        return Err(ProposalError::PayeeMismatch);
    }
    let expected_msat = quote.inner_amount_msat();
    if amount != expected_msat {
        return Err(ProposalError::AmountMismatch {
            expected_msat,
            got_msat: amount,
        });
    }
    let horizon = now
        .checked_add(MIN_INNER_REMAINING)
        .ok_or(ProposalError::Expired)?;
    if invoice.would_expire(horizon) {
        return Err(ProposalError::Expired);
    }
    let delta = invoice.min_final_cltv_expiry_delta();
    if delta > MAX_INNER_FINAL_CLTV_DELTA {
        return Err(ProposalError::FinalCltvTooLarge { got: delta });
    }
    Ok(invoice)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
    use lightning_invoice::{InvoiceBuilder, PaymentSecret};

    /// A signed test invoice from `key`.
    pub(crate) fn invoice(
        key: &SecretKey,
        currency: Currency,
        amount_msat: Option<u64>,
        created: Duration,
        expiry: Duration,
        final_cltv: u64,
    ) -> Bolt11Invoice {
        let secp = Secp256k1::new();
        let b = InvoiceBuilder::new(currency)
            .description("inner".into())
            .payment_hash(sha256::Hash::hash(b"preimage"))
            .payment_secret(PaymentSecret([7; 32]))
            .duration_since_epoch(created)
            .min_final_cltv_expiry_delta(final_cltv)
            .expiry_time(expiry)
            .basic_mpp();
        let b = match amount_msat {
            Some(a) => b.amount_milli_satoshis(a),
            None => b,
        };
        b.build_signed(|m| secp.sign_ecdsa_recoverable(m, key))
            .unwrap()
    }

    fn client_key() -> SecretKey {
        SecretKey::from_slice(&[5; 32]).unwrap()
    }

    fn quote() -> FeeQuote {
        let secp = Secp256k1::new();
        FeeQuote {
            id: "q".into(),
            client: PublicKey::from_secret_key(&secp, &client_key()),
            amount_msat: 20_000_000,
            fee_msat: 200_000,
            expires_at: Duration::from_secs(2_000_000_000),
        }
    }

    const NOW: Duration = Duration::from_secs(1_700_000_000);
    const HOUR: Duration = Duration::from_secs(3600);

    fn good() -> String {
        invoice(
            &client_key(),
            Currency::Regtest,
            Some(19_800_000),
            NOW,
            HOUR,
            24,
        )
        .to_string()
    }

    #[test]
    fn accepts_a_matching_invoice() {
        let inv = validate_proposal(&good(), &quote(), Network::Regtest, NOW).unwrap();
        assert_eq!(inv.amount_milli_satoshis(), Some(19_800_000));
        let prefixed = format!("lightning:{}", good());
        validate_proposal(&prefixed, &quote(), Network::Regtest, NOW).unwrap();
    }

    #[test]
    fn rejects_garbage_and_tampering() {
        assert!(matches!(
            validate_proposal("lnbcrt1garbage", &quote(), Network::Regtest, NOW),
            Err(ProposalError::InvalidInvoice(_))
        ));
        // flip one character inside the data part: checksum or signature fails
        let mut s = good().into_bytes();
        let i = s.len() / 2;
        s[i] = if s[i] == b'q' { b'p' } else { b'q' };
        let s = String::from_utf8(s).unwrap();
        assert!(matches!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::InvalidInvoice(_))
        ));
    }

    #[test]
    fn rejects_other_networks() {
        let s = invoice(
            &client_key(),
            Currency::Bitcoin,
            Some(19_800_000),
            NOW,
            HOUR,
            24,
        )
        .to_string();
        assert_eq!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::WrongNetwork {
                expected: Currency::Regtest,
                got: Currency::Bitcoin
            })
        );
    }

    #[test]
    fn rejects_missing_amount() {
        let s = invoice(&client_key(), Currency::Regtest, None, NOW, HOUR, 24).to_string();
        assert_eq!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::NoAmount)
        );
    }

    #[test]
    fn rejects_other_payee() {
        let other = SecretKey::from_slice(&[6; 32]).unwrap();
        let s = invoice(&other, Currency::Regtest, Some(19_800_000), NOW, HOUR, 24).to_string();
        assert_eq!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::PayeeMismatch)
        );
    }

    #[test]
    fn rejects_wrong_amounts() {
        for a in [19_799_999, 19_800_001, 20_000_000] {
            let s = invoice(&client_key(), Currency::Regtest, Some(a), NOW, HOUR, 24).to_string();
            assert_eq!(
                validate_proposal(&s, &quote(), Network::Regtest, NOW),
                Err(ProposalError::AmountMismatch {
                    expected_msat: 19_800_000,
                    got_msat: a
                })
            );
        }
    }

    #[test]
    fn rejects_expiring_invoices() {
        let s = invoice(
            &client_key(),
            Currency::Regtest,
            Some(19_800_000),
            NOW,
            Duration::from_secs(59),
            24,
        )
        .to_string();
        assert_eq!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::Expired)
        );
        let later = NOW + HOUR;
        assert_eq!(
            validate_proposal(&good(), &quote(), Network::Regtest, later),
            Err(ProposalError::Expired)
        );
    }

    #[test]
    fn rejects_huge_final_cltv() {
        let s = invoice(
            &client_key(),
            Currency::Regtest,
            Some(19_800_000),
            NOW,
            HOUR,
            433,
        )
        .to_string();
        assert_eq!(
            validate_proposal(&s, &quote(), Network::Regtest, NOW),
            Err(ProposalError::FinalCltvTooLarge { got: 433 })
        );
    }
}
