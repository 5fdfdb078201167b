//! A look at the raw LSPS JSON-RPC messages (BOLT8 type 37913) before lightning-liquidity parses
//! them, for the two bLIP-52 client duties lightning-liquidity 0.2 does not do:
//! - screening the `lsps2.get_info` menu strictly ([`screen_lsps_message`]: an unknown field
//!   or a promise over 512 bytes must abort the receive; lightning-liquidity ignores both);
//! - reading `client_trusts_lsp` from the `lsps2.buy` answer (lightning-liquidity drops it).
//!
//! [`LspsPeek`] wraps the custom message handler the peer manager uses (the liquidity manager)
//! and forwards every call unchanged; it only records, per JSON-RPC response id, what it saw.
//! The LSPS2 client takes that record ([`LspsPeek::take`]) when lightning-liquidity reports
//! the response. At most [`MAX_PEEKED`] records are kept (oldest dropped): ids are the
//! wallet's own random request ids, so an LSP cannot make the wallet keep more.

use core::ops::Deref;
use std::collections::VecDeque;
use std::sync::Mutex;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::LengthLimitedRead;
use lightning_liquidity::lsps0::ser::RawLSPSMessage;
use serde_json::Value;

use crate::error::Error;
use crate::lsp::lsps2::screen_lsps_message;

/// How many response records are kept at most.
pub const MAX_PEEKED: usize = 64;

/// What the peek saw in one JSON-RPC response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peeked {
    /// For a `get_info` answer: `Some(error)` when the menu failed [`screen_lsps_message`].
    pub menu_rejected: Option<Error>,
    /// For a `buy` answer: its `client_trusts_lsp` (absent counts as false).
    pub client_trusts_lsp: Option<bool>,
}

/// What one raw message says, if it is a response this module cares about: its id and what
/// was seen. Pure; used by [`LspsPeek`].
pub fn peek(raw: &str) -> Option<(String, Peeked)> {
    let v: Value = serde_json::from_str(raw).ok()?;
    let id = v.get("id")?.as_str()?.to_string();
    let result = v.get("result")?;
    let has_menu = result.get("opening_fee_params_menu").is_some();
    let has_scid = result.get("jit_channel_scid").is_some();
    if !has_menu && !has_scid {
        return None;
    }
    let mut seen = Peeked::default();
    if has_menu {
        if let Err(e) = screen_lsps_message(raw) {
            seen.menu_rejected = Some(e);
        }
    }
    if has_scid {
        seen.client_trusts_lsp = Some(
            result
                .get("client_trusts_lsp")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        );
    }
    Some((id, seen))
}

/// The wrapping handler (see the module doc).
pub struct LspsPeek<H: Deref>
where
    H::Target: CustomMessageHandler<CustomMessage = RawLSPSMessage>,
{
    inner: H,
    seen: Mutex<VecDeque<(String, Peeked)>>,
}

impl<H: Deref> LspsPeek<H>
where
    H::Target: CustomMessageHandler<CustomMessage = RawLSPSMessage>,
{
    /// Wraps `inner`.
    pub fn new(inner: H) -> Self {
        LspsPeek {
            inner,
            seen: Mutex::new(VecDeque::new()),
        }
    }

    /// Removes and returns what was seen in the response with JSON-RPC id `id`.
    pub fn take(&self, id: &str) -> Option<Peeked> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let pos = seen.iter().position(|(i, _)| i == id)?;
        seen.remove(pos).map(|(_, p)| p)
    }

    fn record(&self, raw: &str) {
        if let Some(entry) = peek(raw) {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.retain(|(i, _)| *i != entry.0);
            if seen.len() >= MAX_PEEKED {
                seen.pop_front();
            }
            seen.push_back(entry);
        }
    }
}

impl<H: Deref> CustomMessageReader for LspsPeek<H>
where
    H::Target: CustomMessageHandler<CustomMessage = RawLSPSMessage>,
{
    type CustomMessage = RawLSPSMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<Self::CustomMessage>, DecodeError> {
        self.inner.read(message_type, buffer)
    }
}

impl<H: Deref> CustomMessageHandler for LspsPeek<H>
where
    H::Target: CustomMessageHandler<CustomMessage = RawLSPSMessage>,
{
    fn handle_custom_message(
        &self,
        msg: RawLSPSMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        self.record(&msg.payload);
        self.inner.handle_custom_message(msg, sender_node_id)
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawLSPSMessage)> {
        self.inner.get_and_clear_pending_msg()
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.inner.peer_disconnected(their_node_id)
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        msg: &Init,
        inbound: bool,
    ) -> Result<(), ()> {
        self.inner.peer_connected(their_node_id, msg, inbound)
    }

    fn provided_node_features(&self) -> NodeFeatures {
        self.inner.provided_node_features()
    }

    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures {
        self.inner.provided_init_features(their_node_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OfferFault;
    use crate::test_util::pubkey;
    use std::cell::RefCell;

    fn entry() -> Value {
        serde_json::json!({
            "min_fee_msat": "546000", "proportional": 1200, "valid_until": "2035-05-20T08:30:45Z",
            "min_lifetime": 1008, "max_client_to_self_delay": 2016,
            "min_payment_size_msat": "1000", "max_payment_size_msat": "1000000",
            "promise": "abc"
        })
    }

    fn menu_msg(id: &str, e: Value) -> String {
        serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"opening_fee_params_menu":[e]}})
            .to_string()
    }

    #[test]
    fn peeks_menus_and_buy_answers() {
        assert_eq!(
            peek(&menu_msg("a", entry())),
            Some(("a".into(), Peeked::default()))
        );
        let mut bad = entry();
        bad["extra"] = Value::Bool(true);
        assert_eq!(
            peek(&menu_msg("b", bad)).unwrap().1.menu_rejected,
            Some(Error::InvalidLsps2Offer(OfferFault::UnknownField))
        );
        let buy = |extra: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":"c","result":{{"jit_channel_scid":"1x2x3","lsp_cltv_expiry_delta":144{extra}}}}}"#
            )
        };
        assert_eq!(peek(&buy("")).unwrap().1.client_trusts_lsp, Some(false));
        assert_eq!(
            peek(&buy(r#","client_trusts_lsp":true"#))
                .unwrap()
                .1
                .client_trusts_lsp,
            Some(true)
        );
        // requests, errors, other results and garbage are not recorded
        assert_eq!(
            peek(r#"{"jsonrpc":"2.0","id":"d","method":"lsps2.get_info","params":{}}"#),
            None
        );
        assert_eq!(
            peek(r#"{"jsonrpc":"2.0","id":"e","error":{"code":201,"message":"x"}}"#),
            None
        );
        assert_eq!(
            peek(r#"{"jsonrpc":"2.0","id":"f","result":{"protocols":[2]}}"#),
            None
        );
        assert_eq!(peek("not json"), None);
    }

    #[derive(Default)]
    struct Inner(RefCell<Vec<String>>);
    impl CustomMessageReader for Inner {
        type CustomMessage = RawLSPSMessage;
        fn read<R: LengthLimitedRead>(
            &self,
            _t: u16,
            _b: &mut R,
        ) -> Result<Option<RawLSPSMessage>, DecodeError> {
            Ok(None)
        }
    }
    impl CustomMessageHandler for Inner {
        fn handle_custom_message(
            &self,
            msg: RawLSPSMessage,
            _s: PublicKey,
        ) -> Result<(), LightningError> {
            self.0.borrow_mut().push(msg.payload);
            Ok(())
        }
        fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawLSPSMessage)> {
            Vec::new()
        }
        fn peer_disconnected(&self, _n: PublicKey) {}
        fn peer_connected(&self, _n: PublicKey, _m: &Init, _i: bool) -> Result<(), ()> {
            Ok(())
        }
        fn provided_node_features(&self) -> NodeFeatures {
            NodeFeatures::empty()
        }
        fn provided_init_features(&self, _n: PublicKey) -> InitFeatures {
            InitFeatures::empty()
        }
    }

    #[test]
    fn forwards_everything_and_keeps_a_bounded_record() {
        let inner = Inner::default();
        let p = LspsPeek::new(&inner);
        let mut bad = entry();
        bad["promise"] = Value::String("x".repeat(513));
        p.handle_custom_message(
            RawLSPSMessage {
                payload: menu_msg("x", bad),
            },
            pubkey(1),
        )
        .unwrap();
        assert_eq!(inner.0.borrow().len(), 1, "forwarded unchanged");
        assert_eq!(
            p.take("x").unwrap().menu_rejected,
            Some(Error::InvalidLsps2Offer(OfferFault::PromiseTooLong))
        );
        assert_eq!(p.take("x"), None, "taken once");
        for i in 0..(MAX_PEEKED + 5) {
            p.handle_custom_message(
                RawLSPSMessage {
                    payload: menu_msg(&format!("id{i}"), entry()),
                },
                pubkey(1),
            )
            .unwrap();
        }
        assert_eq!(p.take("id0"), None, "oldest dropped");
        assert!(p.take(&format!("id{}", MAX_PEEKED + 4)).is_some());
    }
}
