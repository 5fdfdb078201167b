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
    Skim { msat: u64 },
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
            Fault::Skim { msat: 0 } => Err("skim needs msat > 0".into()),
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
        assert!(Fault::Skim { msat: 0 }.validate(Network::Regtest).is_err());
        let f: Fault = serde_json::from_str(r#"{"mode":"skim","msat":1000}"#).unwrap();
        assert_eq!(f, Fault::Skim { msat: 1000 });
        assert!(f.validate(Network::Regtest).is_ok());
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
