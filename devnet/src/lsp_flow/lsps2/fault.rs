//! Lies the devnet's LSPS2 service can be switched into at runtime, to test the wallet's LSPS2
//! checks (protocols.md B) end to end. Each names one way a real LSP can go wrong.

use serde::{Deserialize, Serialize};

/// How the LSPS2 service misbehaves from now on. The menu and `buy` faults change the answer to
/// requests made while they are set; the channel and forward faults apply to HTLCs intercepted
/// while they are set.
///
/// JSON: `{"mode":"none"}`, `{"mode":"long_promise"}`, `{"mode":"offer_expires_in","secs":5}`,
/// `{"mode":"skim_above_fee","extra_msat":1000}`, ...
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Lsps2Fault {
    /// Honest behaviour.
    #[default]
    None,
    /// Every menu entry carries a field bLIP-52 does not define (`"x_devnet_unknown": 1`).
    UnknownMenuField,
    /// Every menu entry's `promise` is 600 characters (bLIP-52 allows at most 512).
    LongPromise,
    /// The menu's `valid_until` is a minute in the past.
    ExpiredOffer,
    /// The menu's `valid_until` is `secs` from now.
    OfferExpiresIn { secs: u64 },
    /// `min_payment_size_msat` is above `max_payment_size_msat`.
    MinAboveMax,
    /// `proportional` is `u32::MAX` and `max_payment_size_msat` is `u64::MAX`: the fee formula
    /// overflows u64 for large payments.
    FeeOverflow,
    /// The menu is empty.
    EmptyMenu,
    /// `buy` answers `jit_channel_scid` 0x0x0.
    BuyScidZero,
    /// `buy` answers `lsp_cltv_expiry_delta` = `delta`.
    BuyCltvDelta { delta: u32 },
    /// `buy` answers `client_trusts_lsp: true`, and the service keeps its word: the channel's
    /// funding transaction is held until the opening fee is collected (the client claimed),
    /// then broadcast (`funding`). Not a lie, but a mode a trust-minimized wallet must refuse.
    ClientTrustsLsp,
    /// The HTLC is forwarded with `extra_msat` more than the agreed opening fee withheld.
    SkimAboveFee { extra_msat: u64 },
    /// The HTLC is intercepted and held, but no channel is ever opened (LDK fails it back at
    /// its CLTV expiry, or the service when stopped).
    NeverOpen,
    /// The channel is opened `delay_secs` after the HTLC is intercepted.
    OpenLate { delay_secs: u64 },
    /// A `buy` that names `payment_size_msat` is answered, but its HTLC is never intercepted
    /// (failed back at once as `unknown_next_peer`), and the `init` sent to peers that connect
    /// from now on does not advertise LSPS (bit 729): Core Lightning's service behaves so
    /// (protocols.md E). Buys without a size work.
    IgnoreFixedSize,
}

impl Lsps2Fault {
    /// Checks the fault's parameters.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Lsps2Fault::SkimAboveFee { extra_msat: 0 } => {
                Err("skim_above_fee needs extra_msat > 0".into())
            }
            Lsps2Fault::OpenLate { delay_secs: 0 } => Err("open_late needs delay_secs > 0".into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_and_validation() {
        let f: Lsps2Fault =
            serde_json::from_str(r#"{"mode":"buy_cltv_delta","delta":5000}"#).unwrap();
        assert_eq!(f, Lsps2Fault::BuyCltvDelta { delta: 5000 });
        let f: Lsps2Fault = serde_json::from_str(r#"{"mode":"unknown_menu_field"}"#).unwrap();
        assert_eq!(f, Lsps2Fault::UnknownMenuField);
        assert_eq!(
            serde_json::to_value(Lsps2Fault::OfferExpiresIn { secs: 5 }).unwrap(),
            serde_json::json!({"mode":"offer_expires_in","secs":5})
        );
        assert!(Lsps2Fault::SkimAboveFee { extra_msat: 0 }
            .validate()
            .is_err());
        assert!(Lsps2Fault::SkimAboveFee { extra_msat: 1 }
            .validate()
            .is_ok());
        assert!(Lsps2Fault::OpenLate { delay_secs: 0 }.validate().is_err());
        assert!(serde_json::from_str::<Lsps2Fault>(r#"{"mode":"nonsense"}"#).is_err());
    }
}
