//! The LSPS messages of the service, with the two lies lightning-liquidity cannot be asked to
//! tell (it builds menu entries from typed fields and computes the promise itself): an unknown
//! field in a menu entry and a promise over 512 bytes. [`FaultyLsps`] wraps the liquidity
//! manager as the peer manager's custom message handler and rewrites its outgoing menu answers
//! ([`rewrite`]) while such a fault is set; everything else passes through unchanged, but for
//! the LSPS feature bit, dropped under [`Lsps2Fault::IgnoreFixedSize`].

use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::LengthLimitedRead;
use lightning_liquidity::lsps0::ser::RawLSPSMessage;
use serde_json::Value;

use super::{Liquidity, Lsps2Fault};

/// The length of the promise [`Lsps2Fault::LongPromise`] sends (bLIP-52's limit is 512).
pub const LONG_PROMISE_LEN: usize = 600;

/// The liquidity manager as a custom message handler, with menu answers rewritten per fault.
pub(crate) struct FaultyLsps {
    pub liquidity: Arc<Liquidity>,
    pub fault: Arc<Mutex<Lsps2Fault>>,
}

/// Rewrites one outgoing LSPS JSON-RPC message for `fault`: only an `lsps2.get_info` answer
/// (a `result` with `opening_fee_params_menu`) changes, and only for the two faults this module
/// exists for. Anything unparsable is passed through.
pub fn rewrite(payload: &str, fault: Lsps2Fault) -> String {
    if !matches!(
        fault,
        Lsps2Fault::UnknownMenuField | Lsps2Fault::LongPromise
    ) {
        return payload.to_string();
    }
    let Ok(mut msg) = serde_json::from_str::<Value>(payload) else {
        return payload.to_string();
    };
    let Some(menu) = msg
        .pointer_mut("/result/opening_fee_params_menu")
        .and_then(Value::as_array_mut)
    else {
        return payload.to_string();
    };
    for entry in menu.iter_mut().filter_map(Value::as_object_mut) {
        match fault {
            Lsps2Fault::UnknownMenuField => {
                entry.insert("x_devnet_unknown".into(), Value::from(1));
            }
            _ => {
                entry.insert("promise".into(), Value::from("a".repeat(LONG_PROMISE_LEN)));
            }
        }
    }
    msg.to_string()
}

impl CustomMessageReader for FaultyLsps {
    type CustomMessage = RawLSPSMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawLSPSMessage>, DecodeError> {
        self.liquidity.read(message_type, buffer)
    }
}

impl CustomMessageHandler for FaultyLsps {
    fn handle_custom_message(
        &self,
        msg: RawLSPSMessage,
        sender: PublicKey,
    ) -> Result<(), LightningError> {
        self.liquidity.handle_custom_message(msg, sender)
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawLSPSMessage)> {
        let fault = *self.fault.lock().unwrap();
        self.liquidity
            .get_and_clear_pending_msg()
            .into_iter()
            .map(|(peer, msg)| {
                (
                    peer,
                    RawLSPSMessage {
                        payload: rewrite(&msg.payload, fault),
                    },
                )
            })
            .collect()
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.liquidity.peer_disconnected(their_node_id)
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &Init,
        inbound: bool,
    ) -> Result<(), ()> {
        self.liquidity.peer_connected(their_node_id, msg, inbound)
    }

    fn provided_node_features(&self) -> NodeFeatures {
        self.liquidity.provided_node_features()
    }

    /// Under [`Lsps2Fault::IgnoreFixedSize`] the service is Core Lightning-like also here: its
    /// `init` (sent when a peer connects) does not advertise LSPS (bLIP-50 bit 729).
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
        if *self.fault.lock().unwrap() == Lsps2Fault::IgnoreFixedSize {
            return InitFeatures::empty();
        }
        self.liquidity.provided_init_features(their_node_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn menu_answer() -> String {
        json!({"jsonrpc":"2.0","id":"r1","result":{"opening_fee_params_menu":[
            {"min_fee_msat":"1000","proportional":10000,"valid_until":"2030-01-01T00:00:00Z",
             "min_lifetime":1008,"max_client_to_self_delay":2016,"min_payment_size_msat":"1",
             "max_payment_size_msat":"2","promise":"abc"}]}})
        .to_string()
    }

    #[test]
    fn honest_and_unrelated_messages_pass_unchanged() {
        let menu = menu_answer();
        assert_eq!(rewrite(&menu, Lsps2Fault::None), menu);
        assert_eq!(rewrite(&menu, Lsps2Fault::ExpiredOffer), menu);
        let buy =
            json!({"jsonrpc":"2.0","id":"r2","result":{"jit_channel_scid":"1x2x3"}}).to_string();
        assert_eq!(rewrite(&buy, Lsps2Fault::LongPromise), buy);
        assert_eq!(rewrite("not json", Lsps2Fault::LongPromise), "not json");
    }

    #[test]
    fn the_two_faults_change_every_entry() {
        let v: Value =
            serde_json::from_str(&rewrite(&menu_answer(), Lsps2Fault::UnknownMenuField)).unwrap();
        let entry = &v["result"]["opening_fee_params_menu"][0];
        assert_eq!(entry["x_devnet_unknown"], 1);
        assert_eq!(entry["promise"], "abc");
        let v: Value =
            serde_json::from_str(&rewrite(&menu_answer(), Lsps2Fault::LongPromise)).unwrap();
        let promise = v["result"]["opening_fee_params_menu"][0]["promise"]
            .as_str()
            .unwrap();
        assert_eq!(promise.len(), LONG_PROMISE_LEN);
        assert_eq!(v["id"], "r1");
    }
}
