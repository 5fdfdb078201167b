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
}

impl Fault {
    /// Checks the fault makes sense for an LSP on `lsp_network`.
    pub fn validate(&self, lsp_network: Network) -> Result<(), String> {
        match self {
            Fault::WrongNetwork { network } if *network == lsp_network => {
                Err(format!("wrong_network needs a network other than {lsp_network}"))
            }
            Fault::OverchargeFee { extra_msat: 0 } => {
                Err("overcharge_fee needs extra_msat > 0".into())
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
        let f: Fault = serde_json::from_str(r#"{"mode":"wrong_network","network":"bitcoin"}"#).unwrap();
        assert_eq!(f, Fault::WrongNetwork { network: Network::Bitcoin });
        let f: Fault = serde_json::from_str(r#"{"mode":"none"}"#).unwrap();
        assert_eq!(f, Fault::None);
        assert_eq!(
            serde_json::to_value(Fault::OpenLate { delay_secs: 3 }).unwrap(),
            serde_json::json!({"mode":"open_late","delay_secs":3})
        );
    }

    #[test]
    fn validation() {
        assert!(Fault::WrongNetwork { network: Network::Regtest }.validate(Network::Regtest).is_err());
        assert!(Fault::WrongNetwork { network: Network::Testnet }.validate(Network::Regtest).is_ok());
        assert!(Fault::OverchargeFee { extra_msat: 0 }.validate(Network::Regtest).is_err());
        assert!(Fault::NeverOpen.validate(Network::Regtest).is_ok());
    }
}
