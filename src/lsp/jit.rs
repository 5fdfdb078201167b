//! The durable record of one JIT-channel receive and its state machine, as pure data and a
//! pure transition function.
//!
//! One record per payment hash, written before the invoice is shown and rewritten on every
//! change, so the arrival checks survive a reload (lightning-liquidity keeps nothing).
//!
//! States: `InvoiceReady → PaymentArriving → ChannelOpening → ChannelReady → Claimed`, or
//! `Failed{reason}` / `Expired`. [`JitRecord::step`] takes a [`JitTrigger`] (an LDK event or a
//! timer tick, already matched to this record) and returns the next record, the one action the
//! node must take, and at most one [`JitEvent`] for JS. An `Err` means the trigger does not
//! apply to this record in its state (an illegal transition); the record is unchanged, and for a
//! `PaymentClaimable` the caller fails the HTLCs back. The caller persists the new record
//! *before* acting on it.
//!
//! The arrival check for any claimable payment, JIT or not, is [`check_htlc_arrival`].

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use lightning::types::payment::PaymentHash;
use lightning_invoice::Bolt11Invoice;
use serde::{Deserialize, Serialize};

use crate::error::{Error, OfferFault};
use crate::fee::FeeCaps;
use crate::lsp::flow::{self, FlowTerms};
use crate::lsp::lsps2::{self, Lsps2Terms};

/// Version written into new records; [`JitRecord::from_json`] refuses any other.
pub const JIT_RECORD_VERSION: u32 = 1;

/// A receive with no sign of payment is marked `Expired` this long after its invoice expired
/// (an LSP may still be opening a channel for a payment made just before expiry).
pub const EXPIRY_GRACE_SECS: u64 = 600;

/// A receive that started (channel requested) but never completed is failed as `timed_out`
/// this long after its invoice expired.
pub const STALL_TIMEOUT_SECS: u64 = 86_400;

mod hex32 {
    use hex::{DisplayHex, FromHex};
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_lower_hex_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        <[u8; 32]>::from_hex(&s).map_err(|_| de::Error::custom("expected 64 hex characters"))
    }
}

mod opt_hex32 {
    use hex::{DisplayHex, FromHex};
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&v.to_lower_hex_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => <[u8; 32]>::from_hex(&s)
                .map(Some)
                .map_err(|_| de::Error::custom("expected 64 hex characters")),
            None => Ok(None),
        }
    }
}

mod opt_u128_string {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| de::Error::custom("expected a decimal u128")),
            None => Ok(None),
        }
    }
}

/// Which protocol the receive uses, with what was agreed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum JitProtocol {
    /// REST wrapped-invoice flow.
    Flow(FlowTerms),
    /// LSPS2.
    Lsps2(Lsps2Terms),
}

/// Why a JIT receive failed. Stable snake_case names for JS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JitFailReason {
    /// The LSP withheld more than agreed.
    SkimTooHigh,
    /// Less arrived than owed.
    Underpaid,
    /// The fee taken was above the caps.
    FeeAboveCap,
    /// A fee computation overflowed.
    Overflow,
    /// The JIT channel closed before the payment was claimed.
    ChannelClosed,
    /// Started but never completed.
    TimedOut,
    /// The user cancelled before any payment arrived.
    Cancelled,
    /// Any other failed check.
    Rejected,
}

impl JitFailReason {
    /// The reason for a failed arrival check.
    pub fn from_error(e: &Error) -> Self {
        match e {
            Error::SkimTooHigh { .. } | Error::UnexpectedSkim { .. } => JitFailReason::SkimTooHigh,
            Error::Underpaid { .. } => JitFailReason::Underpaid,
            Error::FeeAboveCap { .. } => JitFailReason::FeeAboveCap,
            Error::AmountOverflow | Error::InvalidLsps2Offer(OfferFault::Overflow) => {
                JitFailReason::Overflow
            }
            _ => JitFailReason::Rejected,
        }
    }
}

/// Where a JIT receive is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum JitState {
    /// The invoice was handed out; nothing seen yet.
    InvoiceReady,
    /// The LSP asked to open the channel: the payment is held at the LSP.
    PaymentArriving,
    /// The wallet accepted the channel; waiting for `channel_ready`.
    ChannelOpening,
    /// A channel to the LSP is usable; waiting for the HTLC or for the claim to complete.
    ChannelReady,
    /// The payment was claimed. Terminal.
    Claimed,
    /// The receive failed. Terminal.
    Failed {
        /// Why.
        reason: JitFailReason,
    },
    /// The invoice expired unpaid. Terminal.
    Expired,
}

impl JitState {
    /// Stable snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            JitState::InvoiceReady => "invoice_ready",
            JitState::PaymentArriving => "payment_arriving",
            JitState::ChannelOpening => "channel_opening",
            JitState::ChannelReady => "channel_ready",
            JitState::Claimed => "claimed",
            JitState::Failed { .. } => "failed",
            JitState::Expired => "expired",
        }
    }

    /// True for `Claimed`, `Failed` and `Expired`: no trigger changes them any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JitState::Claimed | JitState::Failed { .. } | JitState::Expired
        )
    }
}

/// An input to the state machine: an LDK event already matched to this record, or a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitTrigger {
    /// `Event::OpenChannelRequest` from `counterparty`.
    ChannelRequested {
        /// Who asked.
        counterparty: PublicKey,
    },
    /// The wallet accepted that request with this `user_channel_id`.
    ChannelAccepted {
        /// The id given to `accept_inbound_channel_from_trusted_peer_0conf`.
        user_channel_id: u128,
    },
    /// `Event::ChannelReady`.
    ChannelReady {
        /// The peer.
        counterparty: PublicKey,
        /// The channel's `user_channel_id`.
        user_channel_id: u128,
    },
    /// `Event::PaymentClaimable` for this record's payment hash.
    PaymentClaimable {
        /// `amount_msat`.
        amount_msat: u64,
        /// `counterparty_skimmed_fee_msat`.
        skimmed_fee_msat: u64,
    },
    /// `Event::PaymentClaimed` for this record's payment hash.
    PaymentClaimed {
        /// `amount_msat`.
        amount_msat: u64,
    },
    /// `Event::ChannelClosed` for a channel.
    ChannelClosed {
        /// The channel's `user_channel_id`.
        user_channel_id: u128,
    },
    /// A timer tick (time is the `now_secs` given to [`JitRecord::step`]).
    Tick,
    /// The user gave up on this receive.
    Cancel,
}

impl JitTrigger {
    /// Stable snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            JitTrigger::ChannelRequested { .. } => "channel_requested",
            JitTrigger::ChannelAccepted { .. } => "channel_accepted",
            JitTrigger::ChannelReady { .. } => "channel_ready",
            JitTrigger::PaymentClaimable { .. } => "payment_claimable",
            JitTrigger::PaymentClaimed { .. } => "payment_claimed",
            JitTrigger::ChannelClosed { .. } => "channel_closed",
            JitTrigger::Tick => "tick",
            JitTrigger::Cancel => "cancel",
        }
    }
}

/// What the node must do after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitAction {
    /// Nothing.
    None,
    /// Accept the LSP's channel (0-conf, trusted peer, with the LSP overrides).
    AcceptChannel,
    /// `claim_funds` for this payment.
    ClaimPayment,
    /// `fail_htlc_backwards` for this payment, now.
    FailPayment,
}

/// An event for JS; each variant maps 1:1 to a JS event named by [`JitEvent::name`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JitEvent {
    /// The LSP is delivering a payment for this invoice.
    PaymentArriving {
        /// Hex payment hash.
        payment_hash: String,
    },
    /// The JIT channel is being opened.
    ChannelOpening {
        /// Hex payment hash.
        payment_hash: String,
    },
    /// The JIT channel is usable.
    ChannelReady {
        /// Hex payment hash.
        payment_hash: String,
    },
    /// The payment was received.
    Claimed {
        /// Hex payment hash.
        payment_hash: String,
        /// What the wallet received.
        amount_msat: u64,
        /// What the LSP took: the agreed fee (flow) plus any skim.
        fee_msat: u64,
    },
    /// The receive failed.
    Failed {
        /// Hex payment hash.
        payment_hash: String,
        /// Why.
        reason: JitFailReason,
    },
    /// The invoice expired unpaid.
    Expired {
        /// Hex payment hash.
        payment_hash: String,
    },
}

impl JitEvent {
    /// The JS event name.
    pub fn name(&self) -> &'static str {
        match self {
            JitEvent::PaymentArriving { .. } => "jit_payment_arriving",
            JitEvent::ChannelOpening { .. } => "jit_channel_opening",
            JitEvent::ChannelReady { .. } => "jit_channel_ready",
            JitEvent::Claimed { .. } => "jit_claimed",
            JitEvent::Failed { .. } => "jit_failed",
            JitEvent::Expired { .. } => "jit_expired",
        }
    }
}

/// The outcome of [`JitRecord::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The record after the step (equal to the old one when nothing changed).
    pub record: JitRecord,
    /// True when `record` differs from the old one and must be persisted before acting.
    pub changed: bool,
    /// What the node must do.
    pub action: JitAction,
    /// What JS must be told, if anything.
    pub event: Option<JitEvent>,
}

/// What to do for a stored record when the wallet starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadAction {
    /// Terminal record: nothing (keep it as history).
    Nothing,
    /// The invoice expired long enough ago: apply [`JitTrigger::Tick`] to mark it expired.
    Expire,
    /// The invoice is still payable: stay connected to the LSP and wait.
    WaitForPayment,
    /// A payment is under way at the LSP (it holds the HTLC, with a deadline): reconnect to the
    /// LSP at once. LDK replays a `PaymentClaimable` it had not handed out yet, which is then
    /// checked again.
    ReconnectLsp,
    /// The HTLC arrived and passed the checks (its skim is recorded) but the claim had not
    /// completed when the wallet stopped (e.g. a trust-minimized claim waiting for the funding
    /// transaction). LDK does not replay a `PaymentClaimable` it handed out, so the wallet
    /// resumes the claim itself (funding check first when it applies), and reconnects.
    ResumeClaim,
}

/// The durable record of one JIT receive (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitRecord {
    /// Format version, [`JIT_RECORD_VERSION`].
    pub version: u32,
    /// The payment hash of the wallet's own invoice.
    #[serde(with = "hex32")]
    pub payment_hash: [u8; 32],
    /// The LSP: the only peer whose channel this receive accepts.
    pub lsp_node_id: PublicKey,
    /// Protocol and agreed terms (fee, amount, mode, SCID, valid_until ...).
    pub terms: JitProtocol,
    /// The caller's fee caps at the time of the receive.
    pub caps: FeeCaps,
    /// Unix seconds at which the wallet's own invoice expires.
    pub invoice_expires_at: u64,
    /// Unix seconds of creation.
    pub created_at: u64,
    /// Unix seconds of the last change.
    pub updated_at: u64,
    /// The accepted JIT channel's `user_channel_id`, once accepted.
    #[serde(
        default,
        with = "opt_u128_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_channel_id: Option<u128>,
    /// What the LSP withheld from the accepted payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skimmed_fee_msat: Option<u64>,
    /// What was finally received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_msat: Option<u64>,
    /// The payment secret the accepted HTLCs carried, recorded with the skim when the claim is
    /// decided: after a restart LDK derives the preimage from it to resume the claim.
    #[serde(default, with = "opt_hex32", skip_serializing_if = "Option::is_none")]
    pub payment_secret: Option<[u8; 32]>,
    /// Where the receive is.
    pub state: JitState,
}

impl JitRecord {
    /// A new record in `InvoiceReady` for the wallet's own `invoice` (the inner invoice for the
    /// flow, the JIT invoice for LSPS2): the payment hash and expiry come from it.
    pub fn new(
        invoice: &Bolt11Invoice,
        lsp_node_id: PublicKey,
        terms: JitProtocol,
        caps: FeeCaps,
        now_secs: u64,
    ) -> Self {
        JitRecord {
            version: JIT_RECORD_VERSION,
            payment_hash: invoice.payment_hash().to_byte_array(),
            lsp_node_id,
            terms,
            caps,
            invoice_expires_at: invoice.expires_at().map_or(u64::MAX, |d| d.as_secs()),
            created_at: now_secs,
            updated_at: now_secs,
            user_channel_id: None,
            skimmed_fee_msat: None,
            received_msat: None,
            payment_secret: None,
            state: JitState::InvoiceReady,
        }
    }

    /// The payment hash as LDK's type.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(self.payment_hash)
    }

    /// The fee agreed up front: the flow's quoted fee or LSPS2's opening fee on the invoice's
    /// amount; `None` for a variable-amount LSPS2 receive (computed on arrival).
    pub fn agreed_fee_msat(&self) -> Option<u64> {
        match &self.terms {
            JitProtocol::Flow(t) => Some(t.fee_msat),
            JitProtocol::Lsps2(t) => t.mode.sized().map(|(_, fee)| fee),
        }
    }

    /// The record as JSON for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a JitRecord always serializes")
    }

    /// A stored record. Anything that does not decode, or has another version than
    /// [`JIT_RECORD_VERSION`], is [`Error::StorageCorrupt`].
    pub fn from_json(s: &str) -> Result<Self, Error> {
        let corrupt = Error::StorageCorrupt { what: "jit record" };
        let v: serde_json::Value = serde_json::from_str(s).map_err(|_| corrupt.clone())?;
        if v.get("version").and_then(|v| v.as_u64()) != Some(JIT_RECORD_VERSION as u64) {
            return Err(Error::StorageCorrupt {
                what: "jit record version",
            });
        }
        serde_json::from_value(v).map_err(|_| corrupt)
    }

    fn hash_hex(&self) -> String {
        use hex::DisplayHex;
        self.payment_hash.to_lower_hex_string()
    }

    fn illegal(&self, trigger: &JitTrigger) -> Error {
        Error::InvalidStateTransition {
            from: self.state.name(),
            trigger: trigger.name(),
        }
    }

    fn unchanged(&self, action: JitAction) -> Step {
        Step {
            record: self.clone(),
            changed: false,
            action,
            event: None,
        }
    }

    fn moved(
        &self,
        now_secs: u64,
        state: JitState,
        action: JitAction,
        event: Option<JitEvent>,
        edit: impl FnOnce(&mut JitRecord),
    ) -> Step {
        let mut record = self.clone();
        record.state = state;
        edit(&mut record);
        let changed = record != *self;
        if changed {
            record.updated_at = now_secs;
        }
        Step {
            record,
            changed,
            action,
            event,
        }
    }

    fn failed(&self, now_secs: u64, reason: JitFailReason, action: JitAction) -> Step {
        let event = JitEvent::Failed {
            payment_hash: self.hash_hex(),
            reason,
        };
        self.moved(
            now_secs,
            JitState::Failed { reason },
            action,
            Some(event),
            |_| {},
        )
    }

    /// The transition function. Legal moves (anything else is `Err(InvalidStateTransition)` and
    /// changes nothing; replays of the same event are idempotent no-ops):
    ///
    /// | trigger | from | to, action, event |
    /// |---|---|---|
    /// | `ChannelRequested` by the LSP | InvoiceReady | PaymentArriving, AcceptChannel, `jit_payment_arriving` |
    /// | `ChannelRequested` by the LSP | PaymentArriving, ChannelOpening | same, AcceptChannel (LSP retried) |
    /// | `ChannelAccepted` | PaymentArriving | ChannelOpening, –, `jit_channel_opening` |
    /// | `ChannelAccepted` | ChannelOpening | same, new channel id kept |
    /// | `ChannelReady` of our channel | PaymentArriving, ChannelOpening | ChannelReady, –, `jit_channel_ready` |
    /// | `ChannelReady` | ChannelReady | no-op |
    /// | `PaymentClaimable` passing [`check_htlc_arrival`] | any non-terminal | ChannelReady, ClaimPayment, `jit_payment_arriving` from InvoiceReady (existing channel) or `jit_channel_ready` from an earlier state |
    /// | `PaymentClaimable` failing it | any non-terminal | Failed{reason}, FailPayment, `jit_failed` |
    /// | `PaymentClaimable` | Claimed, Failed, Expired | same, FailPayment (late or duplicate payment) |
    /// | `PaymentClaimed` | ChannelReady | Claimed, –, `jit_claimed` |
    /// | `PaymentClaimed` | Claimed | no-op |
    /// | `ChannelClosed` of our channel | ChannelReady with the payment arrived and checked | no-op (claimed on chain) |
    /// | `ChannelClosed` of our channel | PaymentArriving, ChannelOpening, ChannelReady | Failed{channel_closed}, –, `jit_failed` |
    /// | `ChannelClosed` of our channel | terminal | no-op |
    /// | `Tick` | InvoiceReady, `now ≥ expiry +` [`EXPIRY_GRACE_SECS`] | Expired, –, `jit_expired` |
    /// | `Tick` | started, `now ≥ expiry +` [`STALL_TIMEOUT_SECS`] | Failed{timed_out}, –, `jit_failed` |
    /// | `Tick` | otherwise | no-op |
    /// | `Cancel` | InvoiceReady | Failed{cancelled}, –, `jit_failed` |
    ///
    /// A channel request or ready from a peer other than the LSP is
    /// [`Error::ChannelFailed`]; a `ChannelReady`/`ChannelClosed` whose `user_channel_id` is not
    /// this record's is `InvalidStateTransition`.
    pub fn step(&self, trigger: &JitTrigger, now_secs: u64) -> Result<Step, Error> {
        use JitState::*;
        let hash = self.hash_hex();
        match *trigger {
            JitTrigger::ChannelRequested { counterparty } => {
                if counterparty != self.lsp_node_id {
                    return Err(Error::ChannelFailed {
                        reason: "channel offered by a peer that is not the LSP",
                    });
                }
                match self.state {
                    InvoiceReady => Ok(self.moved(
                        now_secs,
                        PaymentArriving,
                        JitAction::AcceptChannel,
                        Some(JitEvent::PaymentArriving { payment_hash: hash }),
                        |_| {},
                    )),
                    PaymentArriving | ChannelOpening => {
                        Ok(self.unchanged(JitAction::AcceptChannel))
                    }
                    _ => Err(self.illegal(trigger)),
                }
            }
            JitTrigger::ChannelAccepted { user_channel_id } => match self.state {
                PaymentArriving => Ok(self.moved(
                    now_secs,
                    ChannelOpening,
                    JitAction::None,
                    Some(JitEvent::ChannelOpening { payment_hash: hash }),
                    |r| r.user_channel_id = Some(user_channel_id),
                )),
                ChannelOpening => {
                    Ok(
                        self.moved(now_secs, ChannelOpening, JitAction::None, None, |r| {
                            r.user_channel_id = Some(user_channel_id)
                        }),
                    )
                }
                _ => Err(self.illegal(trigger)),
            },
            JitTrigger::ChannelReady {
                counterparty,
                user_channel_id,
            } => {
                if counterparty != self.lsp_node_id {
                    return Err(Error::ChannelFailed {
                        reason: "channel ready with a peer that is not the LSP",
                    });
                }
                if self.user_channel_id.is_some_and(|id| id != user_channel_id) {
                    return Err(self.illegal(trigger));
                }
                match self.state {
                    PaymentArriving | ChannelOpening => Ok(self.moved(
                        now_secs,
                        ChannelReady,
                        JitAction::None,
                        Some(JitEvent::ChannelReady { payment_hash: hash }),
                        |r| r.user_channel_id = Some(user_channel_id),
                    )),
                    ChannelReady => Ok(self.unchanged(JitAction::None)),
                    _ => Err(self.illegal(trigger)),
                }
            }
            JitTrigger::PaymentClaimable {
                amount_msat,
                skimmed_fee_msat,
            } => {
                if self.state.is_terminal() {
                    return Ok(self.unchanged(JitAction::FailPayment));
                }
                match check_htlc_arrival(Some(self), amount_msat, skimmed_fee_msat) {
                    Ok(()) => {
                        let event = match self.state {
                            InvoiceReady => Some(JitEvent::PaymentArriving { payment_hash: hash }),
                            PaymentArriving | ChannelOpening => {
                                Some(JitEvent::ChannelReady { payment_hash: hash })
                            }
                            _ => None,
                        };
                        Ok(self.moved(
                            now_secs,
                            ChannelReady,
                            JitAction::ClaimPayment,
                            event,
                            |r| r.skimmed_fee_msat = Some(skimmed_fee_msat),
                        ))
                    }
                    Err(e) => Ok(self.failed(
                        now_secs,
                        JitFailReason::from_error(&e),
                        JitAction::FailPayment,
                    )),
                }
            }
            JitTrigger::PaymentClaimed { amount_msat } => match self.state {
                ChannelReady => {
                    let skim = self.skimmed_fee_msat.unwrap_or(0);
                    let fee_msat = match &self.terms {
                        JitProtocol::Flow(t) => t.fee_msat.saturating_add(skim),
                        JitProtocol::Lsps2(_) => skim,
                    };
                    let event = JitEvent::Claimed {
                        payment_hash: hash,
                        amount_msat,
                        fee_msat,
                    };
                    Ok(
                        self.moved(now_secs, Claimed, JitAction::None, Some(event), |r| {
                            r.received_msat = Some(amount_msat)
                        }),
                    )
                }
                Claimed => Ok(self.unchanged(JitAction::None)),
                _ => Err(self.illegal(trigger)),
            },
            JitTrigger::ChannelClosed { user_channel_id } => {
                if self.user_channel_id != Some(user_channel_id) {
                    return Err(self.illegal(trigger));
                }
                match self.state {
                    // The payment arrived and passed its checks (the claim is decided): its HTLC
                    // is on the closed channel's commitment and is claimed on chain once that
                    // commitment confirms, so the record waits for `PaymentClaimed` (or stalls
                    // out) instead of failing the payment here.
                    ChannelReady if self.skimmed_fee_msat.is_some() => {
                        Ok(self.unchanged(JitAction::None))
                    }
                    PaymentArriving | ChannelOpening | ChannelReady => {
                        Ok(self.failed(now_secs, JitFailReason::ChannelClosed, JitAction::None))
                    }
                    _ => Ok(self.unchanged(JitAction::None)),
                }
            }
            JitTrigger::Tick => match self.state {
                InvoiceReady
                    if now_secs >= self.invoice_expires_at.saturating_add(EXPIRY_GRACE_SECS) =>
                {
                    Ok(self.moved(
                        now_secs,
                        Expired,
                        JitAction::None,
                        Some(JitEvent::Expired { payment_hash: hash }),
                        |_| {},
                    ))
                }
                PaymentArriving | ChannelOpening | ChannelReady
                    if now_secs >= self.invoice_expires_at.saturating_add(STALL_TIMEOUT_SECS) =>
                {
                    Ok(self.failed(now_secs, JitFailReason::TimedOut, JitAction::None))
                }
                _ => Ok(self.unchanged(JitAction::None)),
            },
            JitTrigger::Cancel => match self.state {
                InvoiceReady => {
                    Ok(self.failed(now_secs, JitFailReason::Cancelled, JitAction::None))
                }
                _ => Err(self.illegal(trigger)),
            },
        }
    }

    /// What to do for this record when the wallet starts:
    /// InvoiceReady → `Expire` once past expiry + [`EXPIRY_GRACE_SECS`], else `WaitForPayment`;
    /// ChannelReady with the arrival recorded → `ResumeClaim`;
    /// PaymentArriving / ChannelOpening / ChannelReady → `ReconnectLsp`;
    /// Claimed / Failed / Expired → `Nothing`.
    pub fn on_reload(&self, now_secs: u64) -> ReloadAction {
        match self.state {
            JitState::InvoiceReady
                if now_secs >= self.invoice_expires_at.saturating_add(EXPIRY_GRACE_SECS) =>
            {
                ReloadAction::Expire
            }
            JitState::InvoiceReady => ReloadAction::WaitForPayment,
            JitState::ChannelReady
                if self.skimmed_fee_msat.is_some() && self.payment_secret.is_some() =>
            {
                ReloadAction::ResumeClaim
            }
            JitState::PaymentArriving | JitState::ChannelOpening | JitState::ChannelReady => {
                ReloadAction::ReconnectLsp
            }
            JitState::Claimed | JitState::Failed { .. } | JitState::Expired => {
                ReloadAction::Nothing
            }
        }
    }
}

/// The check before claiming any payment: with the payment's JIT record, the protocol's own
/// check ([`flow::check_htlc_arrival`], [`lsps2::check_htlc_arrival`]) against the stored
/// terms and caps; without one (not a known JIT receive), any skim fails
/// ([`lsps2::check_skim_without_jit`]). Any error means: fail the HTLCs back now.
pub fn check_htlc_arrival(
    record: Option<&JitRecord>,
    amount_msat: u64,
    skimmed_fee_msat: u64,
) -> Result<(), Error> {
    match record {
        None => lsps2::check_skim_without_jit(skimmed_fee_msat),
        Some(r) => match &r.terms {
            JitProtocol::Flow(t) => {
                flow::check_htlc_arrival(t, &r.caps, amount_msat, skimmed_fee_msat)
            }
            JitProtocol::Lsps2(t) => {
                lsps2::check_htlc_arrival(t, &r.caps, amount_msat, skimmed_fee_msat)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::lsps2::tests::terms as lsps2_terms;
    use crate::lsp::lsps2::AmountMode;
    use crate::test_util::{pubkey, Inv};

    const NOW: u64 = 1_700_000_000;
    const LSP: u8 = 7;

    fn flow_record() -> JitRecord {
        let mut inv = Inv::new();
        inv.amount_msat = Some(98_000_000);
        inv.timestamp = NOW;
        let terms = FlowTerms {
            fee_id: "id".into(),
            fee_msat: 2_000_000,
            inner_amount_msat: 98_000_000,
            wrapped_invoice: "lnbcrt1".into(),
        };
        JitRecord::new(
            &inv.build(),
            pubkey(LSP),
            JitProtocol::Flow(terms),
            FeeCaps::default(),
            NOW,
        )
    }

    fn lsps2_record(mode: AmountMode) -> JitRecord {
        let mut inv = Inv::new();
        inv.timestamp = NOW;
        JitRecord::new(
            &inv.build(),
            pubkey(LSP),
            JitProtocol::Lsps2(lsps2_terms(mode)),
            FeeCaps::UNLIMITED,
            NOW,
        )
    }

    fn apply(r: &JitRecord, t: JitTrigger) -> Step {
        r.step(&t, NOW + 10).unwrap()
    }

    /// Drives a record through the happy path and returns each step.
    fn happy(r: JitRecord, amount: u64, skim: u64) -> Vec<Step> {
        let lsp = pubkey(LSP);
        let mut steps = Vec::new();
        let mut cur = r;
        for t in [
            JitTrigger::ChannelRequested { counterparty: lsp },
            JitTrigger::ChannelAccepted { user_channel_id: 9 },
            JitTrigger::ChannelReady {
                counterparty: lsp,
                user_channel_id: 9,
            },
            JitTrigger::PaymentClaimable {
                amount_msat: amount,
                skimmed_fee_msat: skim,
            },
            JitTrigger::PaymentClaimed {
                amount_msat: amount,
            },
        ] {
            let s = apply(&cur, t);
            cur = s.record.clone();
            steps.push(s);
        }
        steps
    }

    #[test]
    fn happy_path_flow() {
        let r = flow_record();
        assert_eq!(r.state, JitState::InvoiceReady);
        assert_eq!(r.invoice_expires_at, NOW + 3600);
        assert_eq!(r.agreed_fee_msat(), Some(2_000_000));
        let steps = happy(r, 98_000_000, 0);
        let states: Vec<_> = steps.iter().map(|s| s.record.state).collect();
        assert_eq!(
            states,
            vec![
                JitState::PaymentArriving,
                JitState::ChannelOpening,
                JitState::ChannelReady,
                JitState::ChannelReady,
                JitState::Claimed
            ]
        );
        let actions: Vec<_> = steps.iter().map(|s| s.action).collect();
        assert_eq!(
            actions,
            vec![
                JitAction::AcceptChannel,
                JitAction::None,
                JitAction::None,
                JitAction::ClaimPayment,
                JitAction::None
            ]
        );
        let names: Vec<_> = steps
            .iter()
            .map(|s| s.event.as_ref().map(|e| e.name()))
            .collect();
        assert_eq!(
            names,
            vec![
                Some("jit_payment_arriving"),
                Some("jit_channel_opening"),
                Some("jit_channel_ready"),
                None,
                Some("jit_claimed")
            ]
        );
        let last = steps.last().unwrap();
        assert_eq!(
            last.event,
            Some(JitEvent::Claimed {
                payment_hash: "11".repeat(32),
                amount_msat: 98_000_000,
                fee_msat: 2_000_000
            })
        );
        assert_eq!(last.record.received_msat, Some(98_000_000));
        assert_eq!(last.record.user_channel_id, Some(9));
        assert!(last.record.updated_at == NOW + 10 && last.changed);
    }

    #[test]
    fn happy_path_lsps2_fixed_reports_skim_as_fee() {
        let r = lsps2_record(AmountMode::Fixed {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        let steps = happy(r, 98_000_000, 2_000_000);
        assert_eq!(
            steps.last().unwrap().event,
            Some(JitEvent::Claimed {
                payment_hash: "11".repeat(32),
                amount_msat: 98_000_000,
                fee_msat: 2_000_000
            })
        );
        assert_eq!(
            steps.last().unwrap().record.skimmed_fee_msat,
            Some(2_000_000)
        );
    }

    #[test]
    fn bad_skim_fails_back() {
        let r = lsps2_record(AmountMode::Fixed {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        let mut cur = r;
        for t in [
            JitTrigger::ChannelRequested {
                counterparty: pubkey(LSP),
            },
            JitTrigger::ChannelAccepted { user_channel_id: 9 },
            JitTrigger::ChannelReady {
                counterparty: pubkey(LSP),
                user_channel_id: 9,
            },
        ] {
            cur = apply(&cur, t).record;
        }
        let s = apply(
            &cur,
            JitTrigger::PaymentClaimable {
                amount_msat: 97_000_000,
                skimmed_fee_msat: 3_000_000,
            },
        );
        assert_eq!(s.action, JitAction::FailPayment);
        assert_eq!(
            s.record.state,
            JitState::Failed {
                reason: JitFailReason::SkimTooHigh
            }
        );
        assert_eq!(s.event.as_ref().map(|e| e.name()), Some("jit_failed"));
        // a replay after failure still fails back, changes nothing
        let again = apply(
            &s.record,
            JitTrigger::PaymentClaimable {
                amount_msat: 100_000_000,
                skimmed_fee_msat: 0,
            },
        );
        assert_eq!(again.action, JitAction::FailPayment);
        assert!(!again.changed && again.event.is_none());
        // underpaid
        let s = apply(
            &cur,
            JitTrigger::PaymentClaimable {
                amount_msat: 90_000_000,
                skimmed_fee_msat: 0,
            },
        );
        assert_eq!(
            s.record.state,
            JitState::Failed {
                reason: JitFailReason::Underpaid
            }
        );
    }

    #[test]
    fn payment_over_existing_channel() {
        let r = flow_record();
        let s = apply(
            &r,
            JitTrigger::PaymentClaimable {
                amount_msat: 98_000_000,
                skimmed_fee_msat: 0,
            },
        );
        assert_eq!(s.record.state, JitState::ChannelReady);
        assert_eq!(s.action, JitAction::ClaimPayment);
        assert_eq!(
            s.event.as_ref().map(|e| e.name()),
            Some("jit_payment_arriving")
        );
        let s = apply(
            &s.record,
            JitTrigger::PaymentClaimed {
                amount_msat: 98_000_000,
            },
        );
        assert_eq!(s.record.state, JitState::Claimed);
    }

    #[test]
    fn replays_are_idempotent() {
        let steps = happy(flow_record(), 98_000_000, 0);
        let lsp = pubkey(LSP);
        // channel request retried while opening
        let opening = &steps[1].record;
        let s = apply(opening, JitTrigger::ChannelRequested { counterparty: lsp });
        assert_eq!((s.changed, s.action), (false, JitAction::AcceptChannel));
        let ready = &steps[2].record;
        let s = apply(
            ready,
            JitTrigger::ChannelReady {
                counterparty: lsp,
                user_channel_id: 9,
            },
        );
        assert!(!s.changed && s.event.is_none());
        // PaymentClaimable replayed after reload while ready: claim again, no new event
        let claiming = &steps[3].record;
        let s = apply(
            claiming,
            JitTrigger::PaymentClaimable {
                amount_msat: 98_000_000,
                skimmed_fee_msat: 0,
            },
        );
        assert_eq!(s.action, JitAction::ClaimPayment);
        assert!(s.event.is_none() && !s.changed);
        let claimed = &steps[4].record;
        let s = apply(
            claimed,
            JitTrigger::PaymentClaimed {
                amount_msat: 98_000_000,
            },
        );
        assert!(!s.changed && s.event.is_none());
        // a second payment to a claimed hash is failed back
        let s = apply(
            claimed,
            JitTrigger::PaymentClaimable {
                amount_msat: 98_000_000,
                skimmed_fee_msat: 0,
            },
        );
        assert_eq!(s.action, JitAction::FailPayment);
    }

    #[test]
    fn illegal_transitions_rejected() {
        let lsp = pubkey(LSP);
        let r = flow_record();
        let illegal = |r: &JitRecord, t: JitTrigger| {
            let e = r.step(&t, NOW).unwrap_err();
            assert_eq!(
                e.code(),
                "INVALID_STATE_TRANSITION",
                "{:?} {:?}",
                r.state,
                t
            );
        };
        illegal(&r, JitTrigger::ChannelAccepted { user_channel_id: 1 });
        illegal(
            &r,
            JitTrigger::ChannelReady {
                counterparty: lsp,
                user_channel_id: 1,
            },
        );
        illegal(&r, JitTrigger::PaymentClaimed { amount_msat: 1 });
        illegal(&r, JitTrigger::ChannelClosed { user_channel_id: 1 });
        let steps = happy(r, 98_000_000, 0);
        // cannot cancel once a payment is arriving
        illegal(&steps[0].record, JitTrigger::Cancel);
        // claimed before claimable
        illegal(
            &steps[1].record,
            JitTrigger::PaymentClaimed { amount_msat: 1 },
        );
        // ready for another channel
        illegal(
            &steps[1].record,
            JitTrigger::ChannelReady {
                counterparty: lsp,
                user_channel_id: 8,
            },
        );
        // terminal states take no channel events
        let claimed = &steps[4].record;
        illegal(claimed, JitTrigger::ChannelRequested { counterparty: lsp });
        illegal(claimed, JitTrigger::ChannelAccepted { user_channel_id: 9 });
        illegal(claimed, JitTrigger::Cancel);
        // peers other than the LSP
        let e = flow_record()
            .step(
                &JitTrigger::ChannelRequested {
                    counterparty: pubkey(8),
                },
                NOW,
            )
            .unwrap_err();
        assert_eq!(e.code(), "CHANNEL_FAILED");
        let e = steps[1]
            .record
            .step(
                &JitTrigger::ChannelReady {
                    counterparty: pubkey(8),
                    user_channel_id: 9,
                },
                NOW,
            )
            .unwrap_err();
        assert_eq!(e.code(), "CHANNEL_FAILED");
    }

    #[test]
    fn channel_closed_before_the_payment_fails_after_it_claims_on_chain() {
        let steps = happy(flow_record(), 98_000_000, 0);
        let s = apply(
            &steps[2].record,
            JitTrigger::ChannelClosed { user_channel_id: 9 },
        );
        assert_eq!(
            s.record.state,
            JitState::Failed {
                reason: JitFailReason::ChannelClosed
            }
        );
        // after the payment arrived and passed its checks, the claim goes on (on chain)
        let s = apply(
            &steps[3].record,
            JitTrigger::ChannelClosed { user_channel_id: 9 },
        );
        assert!(!s.changed);
        assert_eq!(
            (s.record.state, s.action),
            (JitState::ChannelReady, JitAction::None)
        );
        let claimed = apply(
            &s.record,
            JitTrigger::PaymentClaimed {
                amount_msat: 98_000_000,
            },
        );
        assert_eq!(claimed.record.state, JitState::Claimed);
        // after the claim a close is normal life
        let s = apply(
            &steps[4].record,
            JitTrigger::ChannelClosed { user_channel_id: 9 },
        );
        assert!(!s.changed);
        assert_eq!(s.record.state, JitState::Claimed);
    }

    #[test]
    fn expiry_and_stall() {
        let r = flow_record();
        let exp = r.invoice_expires_at;
        assert!(
            !r.step(&JitTrigger::Tick, exp + EXPIRY_GRACE_SECS - 1)
                .unwrap()
                .changed
        );
        let s = r.step(&JitTrigger::Tick, exp + EXPIRY_GRACE_SECS).unwrap();
        assert_eq!(s.record.state, JitState::Expired);
        assert_eq!(s.event.as_ref().map(|e| e.name()), Some("jit_expired"));
        // expired takes no channel
        assert!(s
            .record
            .step(
                &JitTrigger::ChannelRequested {
                    counterparty: pubkey(LSP)
                },
                exp + 700
            )
            .is_err());
        // a started receive is not expired by the grace, only by the stall timeout
        let arriving = apply(
            &r,
            JitTrigger::ChannelRequested {
                counterparty: pubkey(LSP),
            },
        )
        .record;
        assert!(
            !arriving
                .step(&JitTrigger::Tick, exp + EXPIRY_GRACE_SECS)
                .unwrap()
                .changed
        );
        let s = arriving
            .step(&JitTrigger::Tick, exp + STALL_TIMEOUT_SECS)
            .unwrap();
        assert_eq!(
            s.record.state,
            JitState::Failed {
                reason: JitFailReason::TimedOut
            }
        );
    }

    #[test]
    fn cancel() {
        let s = apply(&flow_record(), JitTrigger::Cancel);
        assert_eq!(
            s.record.state,
            JitState::Failed {
                reason: JitFailReason::Cancelled
            }
        );
    }

    #[test]
    fn reload_actions() {
        let r = flow_record();
        assert_eq!(r.on_reload(NOW), ReloadAction::WaitForPayment);
        assert_eq!(
            r.on_reload(r.invoice_expires_at + EXPIRY_GRACE_SECS),
            ReloadAction::Expire
        );
        let steps = happy(r, 98_000_000, 0);
        for s in &steps[..3] {
            assert_eq!(
                s.record.on_reload(NOW),
                ReloadAction::ReconnectLsp,
                "{:?}",
                s.record.state
            );
        }
        // The HTLC passed the checks (skim 0 recorded), the claim did not complete: resumed
        // when the payment secret was recorded with it (LDK derives the preimage from it).
        assert_eq!(steps[3].record.state, JitState::ChannelReady);
        assert_eq!(steps[3].record.on_reload(NOW), ReloadAction::ReconnectLsp);
        let mut held = steps[3].record.clone();
        held.payment_secret = Some([7; 32]);
        assert_eq!(held.on_reload(NOW), ReloadAction::ResumeClaim);
        let back = JitRecord::from_json(&held.to_json()).expect("round trip");
        assert_eq!(back.payment_secret, Some([7; 32]));
        assert_eq!(steps[4].record.on_reload(NOW), ReloadAction::Nothing);
    }

    #[test]
    fn arrival_without_record_rejects_any_skim() {
        assert_eq!(check_htlc_arrival(None, 1_000, 0), Ok(()));
        assert_eq!(
            check_htlc_arrival(None, 1_000, 1),
            Err(Error::UnexpectedSkim { skimmed_msat: 1 })
        );
        // with a record, the stored terms decide (variable mode: fee on amount + skim)
        let r = lsps2_record(AmountMode::Variable);
        assert_eq!(check_htlc_arrival(Some(&r), 995_000_000, 5_000_000), Ok(()));
        assert!(check_htlc_arrival(Some(&r), 994_999_999, 5_000_001).is_err());
    }

    #[test]
    fn record_roundtrips_and_versions() {
        for r in [
            flow_record(),
            lsps2_record(AmountMode::Variable),
            happy(
                lsps2_record(AmountMode::Fixed {
                    payment_size_msat: 100_000_000,
                    opening_fee_msat: 2_000_000,
                }),
                98_000_000,
                2_000_000,
            )
            .pop()
            .unwrap()
            .record,
        ] {
            let s = r.to_json();
            assert_eq!(JitRecord::from_json(&s).unwrap(), r, "{}", s);
        }
        let failed = apply(&flow_record(), JitTrigger::Cancel).record;
        assert_eq!(JitRecord::from_json(&failed.to_json()).unwrap(), failed);
        // a huge user_channel_id survives (stored as a string)
        let mut r = happy(flow_record(), 98_000_000, 0).pop().unwrap().record;
        r.user_channel_id = Some(u128::MAX);
        assert_eq!(JitRecord::from_json(&r.to_json()).unwrap(), r);

        let mut v: serde_json::Value = serde_json::from_str(&flow_record().to_json()).unwrap();
        assert_eq!(v["terms"]["protocol"], "flow");
        assert_eq!(v["state"]["name"], "invoice_ready");
        v["version"] = 2.into();
        assert_eq!(
            JitRecord::from_json(&v.to_string()),
            Err(Error::StorageCorrupt {
                what: "jit record version"
            })
        );
        assert_eq!(
            JitRecord::from_json("{"),
            Err(Error::StorageCorrupt { what: "jit record" })
        );
        let mut v: serde_json::Value = serde_json::from_str(&flow_record().to_json()).unwrap();
        v["payment_hash"] = "zz".into();
        assert_eq!(
            JitRecord::from_json(&v.to_string()),
            Err(Error::StorageCorrupt { what: "jit record" })
        );
    }

    #[test]
    fn events_serialize_for_js() {
        let e = JitEvent::Failed {
            payment_hash: "ab".into(),
            reason: JitFailReason::SkimTooHigh,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"failed","payment_hash":"ab","reason":"skim_too_high"}"#
        );
    }
}
