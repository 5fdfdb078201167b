//! Misbehaviours the LSP can be switched into at runtime, to test the wallet's checks.

use bitcoin::Network;
use serde::{Deserialize, Serialize};

/// How the LSP misbehaves for proposals made (and payments received) while the fault is set.
/// A proposal records the fault active when it was made; changing the fault later does not
/// change that proposal's wrapped invoice or its payment handling.
///
/// JSON: `{"mode":"none"}`, `{"mode":"overcharge_fee","extra_msat":1000}`,
/// `{"mode":"wrong_network","network":"bitcoin"}`, `{"mode":"open_late","delay_secs":5}`, ...
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Fault {
    /// Honest behaviour.
    #[default]
    None,
    /// The wrapped invoice asks for `inner + fee + extra_msat`.
    OverchargeFee { extra_msat: u64 },
    /// The wrapped invoice carries a random payment hash (not registered: paying it fails).
    WrongPaymentHash,
    /// The wrapped invoice is issued and signed by a random key instead of the LSP's node key.
    WrongPayee,
    /// The wrapped invoice is for `network` (must differ from the LSP's network).
    WrongNetwork { network: Network },
    /// The payment is held but no channel is ever opened; it is failed back after the
    /// client-connect timeout.
    NeverOpen,
    /// The payment is held `delay_secs` before the LSP starts opening the channel.
    OpenLate { delay_secs: u64 },
    /// `GET /api/v1/info` names another node ([`impostor_id`]), with the same connection
    /// methods: an LSP whose identity drifts. Proposals are unaffected.
    ImpostorIdentity,
    /// The client's invoice is paid with `msat` withheld and flagged as a skimmed fee (TLV
    /// 65537): the fee the wrapped invoice already carries, taken a second time (see `skim`).
    /// With `undercharge_msat`, the wrapped invoice also asks that much less than `inner + fee`
    /// (a rounding down the wallet tolerates up to 999 msat), so a skim of exactly that much
    /// leaves the LSP its quoted fee to the msat.
    Skim {
        msat: u64,
        #[serde(default)]
        undercharge_msat: u64,
    },
    /// `/fee` names the fee twice and the names disagree: `amount_msat` is the fee,
    /// `fee_amount_msat` the fee plus `extra_msat`.
    FeeFieldsDiffer { extra_msat: u64 },
    /// `/fee` quotes a fee equal to the amount asked: nothing would reach the client.
    FeeAtAmount,
    /// The wrapped invoice expires `extra_secs` after the client's own invoice.
    ExpiryPastInner { extra_secs: u64 },
    /// The wrapped invoice's `min_final_cltv_expiry_delta` is `delta` (below the inner one's, or
    /// above what a wallet accepts).
    FinalCltvDelta { delta: u16 },
    /// The wrapped invoice carries a route hint whose one hop starts at `from`: the LSP itself
    /// (a hint must end at the payee, never pass through it) or the client (a way around the LSP
    /// that also reveals the client).
    RouteHint { from: HintFrom },
}

/// Where the [`Fault::RouteHint`] hop starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintFrom {
    /// The LSP's own node.
    Lsp,
    /// The client (the inner invoice's payee).
    Client,
}

impl Fault {
    /// Whether this fault is a lie in the wrapped invoice that a checking wallet refuses before
    /// paying: the hash is then not registered with LDK (nothing could pay it anyway).
    pub fn wrapped_invoice_lie(&self) -> bool {
        matches!(
            self,
            Fault::ExpiryPastInner { .. } | Fault::FinalCltvDelta { .. } | Fault::RouteHint { .. }
        )
    }
}

/// The node id [`Fault::ImpostorIdentity`] names instead of `real`: derived from it, so stable
/// across calls, and a key the LSP does not hold (a handshake to it fails).
pub fn impostor_id(real: &bitcoin::secp256k1::PublicKey) -> bitcoin::secp256k1::PublicKey {
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    let mut data = b"tabnode devnet impostor".to_vec();
    data.extend_from_slice(&real.serialize());
    let secret = SecretKey::from_slice(&sha256::Hash::hash(&data).to_byte_array())
        .expect("a hash is a valid key with overwhelming probability");
    bitcoin::secp256k1::PublicKey::from_secret_key(&Secp256k1::new(), &secret)
}

impl Fault {
    /// Checks the fault makes sense for an LSP on `lsp_network`.
    pub fn validate(&self, lsp_network: Network) -> Result<(), String> {
        match self {
            Fault::WrongNetwork { network } if *network == lsp_network => Err(format!(
                "wrong_network needs a network other than {lsp_network}"
            )),
            Fault::OverchargeFee { extra_msat: 0 } => {
                Err("overcharge_fee needs extra_msat > 0".into())
            }
            Fault::Skim { msat: 0, .. } => Err("skim needs msat > 0".into()),
            Fault::FeeFieldsDiffer { extra_msat: 0 } => {
                Err("fee_fields_differ needs extra_msat > 0".into())
            }
            Fault::ExpiryPastInner { extra_secs: 0 } => {
                Err("expiry_past_inner needs extra_secs > 0".into())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let f: Fault = serde_json::from_str(r#"{"mode":"overcharge_fee","extra_msat":5}"#).unwrap();
        assert_eq!(f, Fault::OverchargeFee { extra_msat: 5 });
        let f: Fault =
            serde_json::from_str(r#"{"mode":"wrong_network","network":"bitcoin"}"#).unwrap();
        assert_eq!(
            f,
            Fault::WrongNetwork {
                network: Network::Bitcoin
            }
        );
        let f: Fault = serde_json::from_str(r#"{"mode":"none"}"#).unwrap();
        assert_eq!(f, Fault::None);
        assert_eq!(
            serde_json::to_value(Fault::OpenLate { delay_secs: 3 }).unwrap(),
            serde_json::json!({"mode":"open_late","delay_secs":3})
        );
    }

    #[test]
    fn validation() {
        assert!(Fault::WrongNetwork {
            network: Network::Regtest
        }
        .validate(Network::Regtest)
        .is_err());
        assert!(Fault::WrongNetwork {
            network: Network::Testnet
        }
        .validate(Network::Regtest)
        .is_ok());
        assert!(Fault::OverchargeFee { extra_msat: 0 }
            .validate(Network::Regtest)
            .is_err());
        assert!(Fault::NeverOpen.validate(Network::Regtest).is_ok());
        assert!(Fault::Skim {
            msat: 0,
            undercharge_msat: 0
        }
        .validate(Network::Regtest)
        .is_err());
        let f: Fault = serde_json::from_str(r#"{"mode":"skim","msat":1000}"#).unwrap();
        assert_eq!(
            f,
            Fault::Skim {
                msat: 1000,
                undercharge_msat: 0
            }
        );
        assert!(f.validate(Network::Regtest).is_ok());
        let f: Fault =
            serde_json::from_str(r#"{"mode":"skim","msat":600,"undercharge_msat":600}"#).unwrap();
        assert_eq!(
            f,
            Fault::Skim {
                msat: 600,
                undercharge_msat: 600
            }
        );
        let f: Fault = serde_json::from_str(r#"{"mode":"route_hint","from":"client"}"#).unwrap();
        assert_eq!(
            f,
            Fault::RouteHint {
                from: HintFrom::Client
            }
        );
        assert!(f.wrapped_invoice_lie());
        let f: Fault = serde_json::from_str(r#"{"mode":"final_cltv_delta","delta":9}"#).unwrap();
        assert_eq!(f, Fault::FinalCltvDelta { delta: 9 });
        let f: Fault = serde_json::from_str(r#"{"mode":"fee_at_amount"}"#).unwrap();
        assert!(!f.wrapped_invoice_lie());
        assert!(Fault::ExpiryPastInner { extra_secs: 0 }
            .validate(Network::Regtest)
            .is_err());
        assert!(Fault::FeeFieldsDiffer { extra_msat: 0 }
            .validate(Network::Regtest)
            .is_err());
    }

    #[test]
    fn the_impostor_is_stable_and_another_node() {
        use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
        let real = PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[7; 32]).unwrap(),
        );
        assert_eq!(impostor_id(&real), impostor_id(&real));
        assert_ne!(impostor_id(&real), real);
        let f: Fault = serde_json::from_str(r#"{"mode":"impostor_identity"}"#).unwrap();
        assert_eq!(f, Fault::ImpostorIdentity);
    }
}
