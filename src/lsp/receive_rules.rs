//! Pure rules of the JIT receive that the browser code (`receive`, `flow_client`,
//! `lsps2_client`) applies: fee caps of one receive, HTTP failures of an LSP call as wallet
//! errors, which stored receives an LSP channel event concerns, what counts as pending, the JS
//! `receive_state` names, and the trust-minimized funding check.

use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, ScriptBuf, Transaction};

use crate::error::{Error, LspRejection};
use crate::fee::FeeCaps;
use crate::lsp::flow::map_error_response;
use crate::lsp::jit::{JitEvent, JitFailReason, JitRecord, JitState, EXPIRY_GRACE_SECS};
use crate::net::HttpError;

/// The caps of one receive: the config's, each replaced by the request's when it gives one;
/// a `maxFeePpm` above one million is [`Error::InvalidConfig`].
pub fn receive_caps(
    config: FeeCaps,
    max_fee_msat: Option<u64>,
    max_fee_ppm: Option<u32>,
) -> Result<FeeCaps, Error> {
    let caps = FeeCaps {
        max_fee_msat: max_fee_msat.or(config.max_fee_msat),
        max_fee_ppm: max_fee_ppm.or(config.max_fee_ppm),
    };
    caps.validate()?;
    Ok(caps)
}

/// A failed HTTP call to a REST LSP as a wallet error: no answer (network, timeout, a request
/// the browser refused to build) is [`Error::LspUnreachable`]; a non-2xx status is
/// [`Error::LspRejected`] with the reason [`map_error_response`] reads from status and body
/// (the body's text never reaches the error); a 2xx answer that is not the expected JSON or
/// text, or a body larger than the client reads, is [`Error::LspBadResponse`] naming `what`.
pub fn map_http_error(e: &HttpError, what: &'static str) -> Error {
    match e {
        HttpError::Network(_) | HttpError::Timeout { .. } | HttpError::InvalidRequest(_) => {
            Error::LspUnreachable
        }
        HttpError::Status { status, body, .. } => {
            Error::LspRejected(map_error_response(*status, body))
        }
        HttpError::BodyNotText | HttpError::Json(_) | HttpError::BodyTooLarge { .. } => {
            Error::LspBadResponse { what }
        }
    }
}

/// An LSPS2 JSON-RPC error `code` (from `GetInfoFailed` / `BuyRequestFailed`) as
/// [`Error::LspRejected`]; the error's `message` text is never used.
pub fn lsps2_rejection(code: i32) -> Error {
    Error::LspRejected(LspRejection::from_lsps2_code(code))
}

/// Whether a channel event from the record's LSP (an open request, an accepted or ready
/// channel) concerns this receive: it is waiting for a payment that needs a channel —
/// `InvoiceReady` still payable (up to [`EXPIRY_GRACE_SECS`] after its expiry, as the LSP may
/// open for a payment made just before), or `PaymentArriving` / `ChannelOpening`. The LSP does
/// not say which payment a channel is for, so every such receive takes the event; the payment's
/// own arrival then settles which one it was.
pub fn awaits_channel(record: &JitRecord, now_secs: u64) -> bool {
    match record.state {
        JitState::InvoiceReady => {
            now_secs < record.invoice_expires_at.saturating_add(EXPIRY_GRACE_SECS)
        }
        JitState::PaymentArriving | JitState::ChannelOpening => true,
        _ => false,
    }
}

/// Which stored receives (by payment hash) a channel opened by `lsp` is for. The LSP does not
/// say, so: the receives of that LSP already started (`PaymentArriving` / `ChannelOpening`, e.g.
/// the LSP retries an open) if there are any; else the newest receive still waiting
/// ([`awaits_channel`]), as a payer most likely pays the invoice shown last. A wrong guess costs
/// only events: the payment's arrival is checked against its own record whatever its state.
pub fn channel_event_targets(
    records: &[JitRecord],
    lsp: &PublicKey,
    now_secs: u64,
) -> Vec<[u8; 32]> {
    let mine = || {
        records
            .iter()
            .filter(|r| r.lsp_node_id == *lsp && awaits_channel(r, now_secs))
    };
    let started: Vec<[u8; 32]> = mine()
        .filter(|r| r.state != JitState::InvoiceReady)
        .map(|r| r.payment_hash)
        .collect();
    if !started.is_empty() {
        return started;
    }
    mine()
        .max_by_key(|r| (r.created_at, r.payment_hash))
        .map(|r| vec![r.payment_hash])
        .unwrap_or_default()
}

/// What the wallet answers a peer that asks to open a channel to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOffer {
    /// Accept as a trusted zero-conf channel: it is the LSP's answer to a JIT receive.
    AcceptZeroConf,
    /// Accept as an ordinary channel, usable only once its funding transaction has the
    /// confirmations the wallet asks for: the LSP opened it without a receive asking.
    AcceptConfirmed,
    /// Refuse (the peer is told); the reason is logged.
    Refuse(&'static str),
}

/// What a JIT receive expects to be delivered over its channel, when the terms say: the inner
/// amount (REST flow) or the payment size minus the fee (LSPS2 with an amount); `None` for an LSPS2
/// variable amount, where the payer chooses.
fn expected_delivery_msat(record: &JitRecord) -> Option<u64> {
    use crate::lsp::jit::JitProtocol;
    match &record.terms {
        JitProtocol::Flow(t) => Some(t.inner_amount_msat),
        JitProtocol::Lsps2(t) => t.mode.sized().map(|(size, fee)| size.saturating_sub(fee)),
    }
}

/// The rule for an inbound channel (docs/node.md, "Whom the wallet trusts"). Zero-conf trust is
/// bound to intent: a channel is accepted, as zero-conf, only
/// - from the wallet's LSP (`lsp`; any other peer is refused),
/// - unannounced (the wallet never routes for others),
/// - while one of that LSP's JIT receives waits for a channel ([`awaits_channel`]), and large
///   enough to deliver what a waiting receive expects (`funding_sat` × 1000 ≥ the smallest known
///   expected delivery among them).
///
/// Any other channel from the LSP (unsolicited, or too small for the receive) is not trusted: it
/// is accepted as an ordinary channel ([`ChannelOffer::AcceptConfirmed`]), so the LSP cannot push
/// the wallet's receives into an unconfirmed channel it could still double-spend. Channels from
/// any other peer, and announced ones, are refused.
pub fn decide_channel_offer(
    records: &[JitRecord],
    lsp: Option<&PublicKey>,
    counterparty: &PublicKey,
    is_announced: bool,
    funding_sat: u64,
    now_secs: u64,
) -> ChannelOffer {
    if lsp != Some(counterparty) {
        return ChannelOffer::Refuse("only the wallet's LSP may open a channel to it");
    }
    if is_announced {
        return ChannelOffer::Refuse("only unannounced channels are accepted");
    }
    let waiting: Vec<&JitRecord> = records
        .iter()
        .filter(|r| r.lsp_node_id == *counterparty && awaits_channel(r, now_secs))
        .collect();
    let funding_msat = funding_sat.saturating_mul(1000);
    let smallest = waiting
        .iter()
        .filter_map(|r| expected_delivery_msat(r))
        .min();
    if waiting.is_empty() || smallest.is_some_and(|need| funding_msat < need) {
        return ChannelOffer::AcceptConfirmed;
    }
    ChannelOffer::AcceptZeroConf
}

/// Whether a receive is still in flight (the tab must stay open): not terminal, and either
/// started (a channel or payment is under way) or its invoice still payable.
pub fn is_pending(record: &JitRecord, now_secs: u64) -> bool {
    match record.state {
        JitState::InvoiceReady => now_secs < record.invoice_expires_at,
        s => !s.is_terminal(),
    }
}

/// The JS `receive_state` name of a state-machine event.
pub fn event_state(event: &JitEvent) -> &'static str {
    match event {
        JitEvent::PaymentArriving { .. } => "payment_arriving",
        JitEvent::ChannelOpening { .. } => "channel_opening",
        JitEvent::ChannelReady { .. } => "channel_ready",
        JitEvent::Claimed { .. } => "claimed",
        JitEvent::Failed { .. } => "failed",
        JitEvent::Expired { .. } => "expired",
    }
}

/// The error reported with a `failed` receive whose cause is not a failed arrival check (those
/// carry the check's own error).
pub fn fail_reason_error(reason: JitFailReason) -> Error {
    match reason {
        JitFailReason::SkimTooHigh => Error::SkimTooHigh {
            skimmed_msat: 0,
            allowed_msat: 0,
        },
        JitFailReason::Underpaid => Error::Underpaid {
            received_msat: 0,
            expected_msat: 0,
        },
        JitFailReason::FeeAboveCap => Error::FeeAboveCap {
            fee_msat: 0,
            cap_msat: 0,
        },
        JitFailReason::Overflow => Error::AmountOverflow,
        JitFailReason::ChannelClosed => Error::ChannelFailed {
            reason: "the JIT channel closed before the payment was claimed",
        },
        JitFailReason::TimedOut => Error::ChannelFailed {
            reason: "the JIT receive never completed",
        },
        JitFailReason::Cancelled => Error::ChannelFailed {
            reason: "the receive was cancelled",
        },
        JitFailReason::Rejected => Error::ChannelFailed {
            reason: "the payment was refused",
        },
    }
}

/// The payment-history failure name of a failed JIT receive.
pub fn fail_reason_name(reason: JitFailReason) -> &'static str {
    match reason {
        JitFailReason::SkimTooHigh => "skim_too_high",
        JitFailReason::Underpaid => "underpaid",
        JitFailReason::FeeAboveCap => "fee_above_cap",
        JitFailReason::Overflow => "overflow",
        JitFailReason::ChannelClosed => "channel_closed",
        JitFailReason::TimedOut => "timed_out",
        JitFailReason::Cancelled => "cancelled",
        JitFailReason::Rejected => "rejected",
    }
}

/// The trust-minimized check before releasing the preimage of a JIT payment: `tx` (as the chain
/// source returned it for `funding.txid`) really is that transaction and its output
/// `funding.vout` pays `value_sat` to `script` (the channel's 2-of-2 funding script).
pub fn check_funding_output(
    tx: &Transaction,
    funding: OutPoint,
    value_sat: u64,
    script: &ScriptBuf,
) -> Result<(), &'static str> {
    if tx.compute_txid() != funding.txid {
        return Err("the chain source returned another transaction");
    }
    let out = tx
        .output
        .get(funding.vout as usize)
        .ok_or("the funding transaction has no such output")?;
    if out.value.to_sat() != value_sat {
        return Err("the funding output has the wrong value");
    }
    if out.script_pubkey != *script {
        return Err("the funding output pays the wrong script");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::flow::FlowTerms;
    use crate::lsp::jit::JitProtocol;
    use crate::test_util::{pubkey, Inv};
    use bitcoin::absolute::LockTime;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, TxOut};

    fn record(state: JitState) -> JitRecord {
        let inv = Inv::new().build();
        let mut r = JitRecord::new(
            &inv,
            pubkey(2),
            JitProtocol::Flow(FlowTerms {
                fee_id: "f".into(),
                fee_msat: 1000,
                inner_amount_msat: 99_999_000,
                wrapped_invoice: String::new(),
            }),
            FeeCaps::default(),
            1_700_000_000,
        );
        r.state = state;
        r
    }

    #[test]
    fn channel_offers_bound_to_a_waiting_receive() {
        let lsp = pubkey(2);
        let now = 1_700_000_000;
        let waiting = record(JitState::InvoiceReady);
        let ok = |records: &[JitRecord], funding| {
            decide_channel_offer(records, Some(&lsp), &lsp, false, funding, now)
        };
        // 99 999 000 msat to deliver: 100 000 sat carries it, 99 998 sat does not
        assert_eq!(
            ok(std::slice::from_ref(&waiting), 100_000),
            ChannelOffer::AcceptZeroConf
        );
        assert_eq!(
            ok(std::slice::from_ref(&waiting), 99_998),
            ChannelOffer::AcceptConfirmed
        );
        // unsolicited: nothing waits (none stored, or only finished / expired receives)
        assert_eq!(ok(&[], 1_000_000), ChannelOffer::AcceptConfirmed);
        assert_eq!(
            ok(&[record(JitState::Claimed)], 1_000_000),
            ChannelOffer::AcceptConfirmed
        );
        let mut expired = waiting.clone();
        expired.invoice_expires_at = now - EXPIRY_GRACE_SECS - 1;
        assert_eq!(ok(&[expired], 1_000_000), ChannelOffer::AcceptConfirmed);
        // a receive already under way takes the LSP's (re)open
        assert_eq!(
            ok(&[record(JitState::ChannelOpening)], 100_000),
            ChannelOffer::AcceptZeroConf
        );
        // another peer, or announced, or no LSP known yet: refused whatever waits
        let other = pubkey(3);
        for (l, from, announced) in [
            (Some(&lsp), &other, false),
            (Some(&lsp), &lsp, true),
            (None, &lsp, false),
        ] {
            assert!(matches!(
                decide_channel_offer(
                    std::slice::from_ref(&waiting),
                    l,
                    from,
                    announced,
                    1_000_000,
                    now
                ),
                ChannelOffer::Refuse(_)
            ));
        }
        // a waiting receive of another LSP does not make this one's channel solicited
        let mut elsewhere = waiting;
        elsewhere.lsp_node_id = other;
        assert_eq!(ok(&[elsewhere], 1_000_000), ChannelOffer::AcceptConfirmed);
    }

    #[test]
    fn caps_from_request_override_config() {
        let config = FeeCaps::default();
        assert_eq!(receive_caps(config, None, None).unwrap(), config);
        let c = receive_caps(config, Some(5), None).unwrap();
        assert_eq!(c.max_fee_msat, Some(5));
        assert_eq!(c.max_fee_ppm, config.max_fee_ppm);
        let c = receive_caps(FeeCaps::UNLIMITED, None, Some(100)).unwrap();
        assert_eq!(
            c,
            FeeCaps {
                max_fee_msat: None,
                max_fee_ppm: Some(100)
            }
        );
        assert_eq!(
            receive_caps(config, None, Some(1_000_001))
                .unwrap_err()
                .code(),
            "INVALID_CONFIG"
        );
    }

    #[test]
    fn http_errors_map_to_stable_codes() {
        assert_eq!(
            map_http_error(&HttpError::Network("refused".into()), "fee"),
            Error::LspUnreachable
        );
        assert_eq!(
            map_http_error(&HttpError::Timeout { millis: 1 }, "fee"),
            Error::LspUnreachable
        );
        assert_eq!(
            map_http_error(
                &HttpError::Status {
                    status: 400,
                    body: r#"{"error":"x","message":"Cannot fund new channel at this time"}"#
                        .into(),
                    retry_after_secs: None,
                },
                "fee"
            ),
            Error::LspRejected(LspRejection::NoLiquidity)
        );
        assert_eq!(
            map_http_error(
                &HttpError::Status {
                    status: 503,
                    body: String::new(),
                    retry_after_secs: None,
                },
                "fee"
            ),
            Error::LspRejected(LspRejection::ServerError)
        );
        assert_eq!(
            map_http_error(&HttpError::Json("missing field".into()), "fee answer"),
            Error::LspBadResponse { what: "fee answer" }
        );
        assert_eq!(lsps2_rejection(203).reason(), Some("payment_too_large"));
    }

    #[test]
    fn which_receives_a_channel_event_concerns() {
        let now = 1_700_000_000;
        let r = record(JitState::InvoiceReady);
        assert!(awaits_channel(&r, now));
        assert!(awaits_channel(
            &r,
            r.invoice_expires_at + EXPIRY_GRACE_SECS - 1
        ));
        assert!(!awaits_channel(
            &r,
            r.invoice_expires_at + EXPIRY_GRACE_SECS
        ));
        assert!(awaits_channel(&record(JitState::PaymentArriving), u64::MAX));
        assert!(awaits_channel(&record(JitState::ChannelOpening), now));
        for s in [
            JitState::ChannelReady,
            JitState::Claimed,
            JitState::Expired,
            JitState::Failed {
                reason: JitFailReason::TimedOut,
            },
        ] {
            assert!(!awaits_channel(&record(s), now), "{:?}", s);
        }
    }

    #[test]
    fn channel_events_go_to_started_receives_else_the_newest_waiting() {
        let now = 1_700_000_000;
        let mut a = record(JitState::InvoiceReady);
        a.payment_hash = [1; 32];
        let mut b = record(JitState::InvoiceReady);
        b.payment_hash = [2; 32];
        b.created_at += 10;
        let mut other_lsp = record(JitState::InvoiceReady);
        other_lsp.payment_hash = [3; 32];
        other_lsp.created_at += 20;
        other_lsp.lsp_node_id = pubkey(9);
        let mut done = record(JitState::Claimed);
        done.payment_hash = [4; 32];
        done.created_at += 30;
        let lsp = pubkey(2);
        let all = vec![a.clone(), b.clone(), other_lsp.clone(), done];
        assert_eq!(channel_event_targets(&all, &lsp, now), vec![[2; 32]]);
        let mut started = a.clone();
        started.state = JitState::PaymentArriving;
        let all = vec![started, b.clone(), other_lsp];
        assert_eq!(channel_event_targets(&all, &lsp, now), vec![[1; 32]]);
        assert!(channel_event_targets(&[b], &lsp, u64::MAX).is_empty());
        assert!(channel_event_targets(&[], &lsp, now).is_empty());
    }

    #[test]
    fn pending_receives() {
        let now = 1_700_000_000;
        let r = record(JitState::InvoiceReady);
        assert!(is_pending(&r, now));
        assert!(!is_pending(&r, r.invoice_expires_at));
        assert!(is_pending(
            &record(JitState::ChannelReady),
            r.invoice_expires_at + 1
        ));
        assert!(!is_pending(&record(JitState::Claimed), now));
        assert!(!is_pending(&record(JitState::Expired), now));
    }

    #[test]
    fn state_names_match_the_js_api() {
        let h = || "00".to_string();
        assert_eq!(
            event_state(&JitEvent::PaymentArriving { payment_hash: h() }),
            "payment_arriving"
        );
        assert_eq!(
            event_state(&JitEvent::ChannelOpening { payment_hash: h() }),
            "channel_opening"
        );
        assert_eq!(
            event_state(&JitEvent::ChannelReady { payment_hash: h() }),
            "channel_ready"
        );
        assert_eq!(
            event_state(&JitEvent::Claimed {
                payment_hash: h(),
                amount_msat: 1,
                fee_msat: 0
            }),
            "claimed"
        );
        assert_eq!(
            event_state(&JitEvent::Failed {
                payment_hash: h(),
                reason: JitFailReason::ChannelClosed
            }),
            "failed"
        );
        assert_eq!(
            event_state(&JitEvent::Expired { payment_hash: h() }),
            "expired"
        );
        assert_eq!(
            fail_reason_error(JitFailReason::ChannelClosed).code(),
            "CHANNEL_FAILED"
        );
        assert_eq!(fail_reason_name(JitFailReason::TimedOut), "timed_out");
    }

    #[test]
    fn funding_output_check() {
        let script = ScriptBuf::from_bytes(vec![0x00, 0x20, 7]);
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![],
            output: vec![
                TxOut {
                    value: Amount::from_sat(5),
                    script_pubkey: ScriptBuf::new(),
                },
                TxOut {
                    value: Amount::from_sat(1_000_000),
                    script_pubkey: script.clone(),
                },
            ],
        };
        let op = OutPoint {
            txid: tx.compute_txid(),
            vout: 1,
        };
        assert_eq!(check_funding_output(&tx, op, 1_000_000, &script), Ok(()));
        assert!(check_funding_output(&tx, op, 999_999, &script).is_err());
        assert!(check_funding_output(&tx, op, 1_000_000, &ScriptBuf::new()).is_err());
        assert!(check_funding_output(&tx, OutPoint { vout: 2, ..op }, 1_000_000, &script).is_err());
        let other = OutPoint {
            txid: bitcoin::Txid::from_byte_array([1; 32]),
            vout: 1,
        };
        assert!(check_funding_output(&tx, other, 1_000_000, &script).is_err());
    }
}
