//! LDK's events, handled for the wallet.
//!
//! Guarantees:
//! - an inbound channel is accepted only from the configured LSP, with the overrides of
//!   protocols.md C ([`lsp_channel_overrides`]), and trusted at zero conf only when a JIT receive
//!   asked for it ([`crate::lsp::receive_rules::decide_channel_offer`]); otherwise it is not ready
//!   until confirmed; any other peer's, and any announced channel, is refused; a request that
//!   arrives before the JIT records are loaded (at reopen) is decided once they are (replayed);
//! - a claimable payment is claimed or failed back at once according to [`decide`] (the JIT
//!   hook decides for JIT receives; a skim nobody approved is failed back), never left pending
//!   unless a hook says [`ClaimDecision::Hold`];
//! - payment outcomes are written to the payment history before the event counts as handled:
//!   if the write fails, LDK replays the event (and the node stops: storage failed);
//! - spendable outputs are handed to the sweeper before the event counts as handled.

use std::rc::Rc;

use lightning::events::{ClosureReason, Event, PaymentPurpose, ReplayEvent};
use lightning::util::logger::Level;

use super::claim::{decide, ChannelOffer, ClaimDecision, Claimable};
use super::ldk_config::lsp_channel_overrides;
use super::running::{Node, PaySuccess};
use super::wallet_event::closure_reason_name;
use super::{ChannelInfo, WalletEvent};
use crate::crash_point::{self, CrashPoint};
use crate::error::Error;
use crate::payment::record::outbound_failure_reason;
use crate::payment::record::PaymentPath;
use crate::payment::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate};
use crate::time;

fn hex32(bytes: &[u8; 32]) -> String {
    hex::DisplayHex::to_lower_hex_string(&bytes[..])
}

/// Handles one LDK event (called by the background processor).
pub async fn handle(node: Rc<Node>, event: Event) -> Result<(), ReplayEvent> {
    match event {
        Event::OpenChannelRequest {
            temporary_channel_id,
            counterparty_node_id,
            funding_satoshis,
            is_announced,
            ..
        } => {
            // Zero-conf trust is bound to a JIT receive that asked for this channel
            // (receive_rules::decide_channel_offer); another LSP channel must confirm first, any
            // other peer's is refused.
            let hook = node.jit_hook.borrow().clone();
            let Some(offer) = hook.as_deref().and_then(|h| {
                h.channel_offer(&counterparty_node_id, is_announced, funding_satoshis)
            }) else {
                // The wallet is opening and its receives are not loaded yet: the LSP may be
                // opening the channel a stored receive asked for (its payment held meanwhile).
                // Decide once they are: LDK hands the event out again.
                node.log(
                    Level::Info,
                    &format!("a channel request from {counterparty_node_id} before the receives are loaded: deciding it once they are"),
                );
                return Err(ReplayEvent());
            };
            if let ChannelOffer::Refuse(why) = offer {
                node.log(
                    Level::Warn,
                    &format!("refused a {funding_satoshis} sat channel from {counterparty_node_id} (announced: {is_announced}): {why}"),
                );
                let _ = node.channel_manager.force_close_broadcasting_latest_txn(
                    &temporary_channel_id,
                    &counterparty_node_id,
                    "channel refused".to_string(),
                );
            } else {
                crash_point::reach(CrashPoint::ChannelOffered);
                let user_channel_id = u128::from_le_bytes(node_random16(&node));
                let zero_conf = offer == ChannelOffer::AcceptZeroConf;
                let accepted = if zero_conf {
                    node.channel_manager
                        .accept_inbound_channel_from_trusted_peer_0conf(
                            &temporary_channel_id,
                            &counterparty_node_id,
                            user_channel_id,
                            Some(lsp_channel_overrides()),
                        )
                } else {
                    node.channel_manager.accept_inbound_channel(
                        &temporary_channel_id,
                        &counterparty_node_id,
                        user_channel_id,
                        Some(lsp_channel_overrides()),
                    )
                };
                match accepted {
                    Ok(()) if zero_conf => {
                        node.log(
                            Level::Info,
                            &format!("accepted a {funding_satoshis} sat zero-conf channel from the LSP for a JIT receive"),
                        );
                        if let Some(hook) = hook.clone() {
                            hook.on_channel_accepted(counterparty_node_id, user_channel_id);
                        }
                    }
                    Ok(()) => node.log(
                        Level::Info,
                        &format!("accepted a {funding_satoshis} sat channel from the LSP that no receive asked for: usable once confirmed"),
                    ),
                    Err(e) => node.log(
                        Level::Error,
                        &format!("accepting the LSP's channel failed: {e:?}"),
                    ),
                }
            }
        }

        Event::PaymentClaimable {
            payment_hash,
            amount_msat,
            counterparty_skimmed_fee_msat,
            purpose,
            ..
        } => {
            crash_point::reach(CrashPoint::PaymentClaimable);
            let hash_hex = hex32(&payment_hash.0);
            let record = node.payments.get(Direction::Inbound, &hash_hex);
            let preimage = purpose.preimage();
            let claimable = Claimable {
                payment_hash,
                amount_msat,
                skimmed_msat: counterparty_skimmed_fee_msat,
                invoice_amount_msat: record.as_ref().and_then(|r| {
                    if r.via_jit.is_none() {
                        r.amount_msat
                    } else {
                        None
                    }
                }),
                has_preimage: preimage.is_some(),
                preimage,
                payment_secret: match &purpose {
                    PaymentPurpose::Bolt11InvoicePayment { payment_secret, .. } => {
                        Some(*payment_secret)
                    }
                    _ => None,
                },
            };
            let hook = node.jit_hook.borrow().clone();
            let decision = decide(&claimable, hook.as_deref());
            match (decision, preimage) {
                (ClaimDecision::Claim, Some(preimage)) => {
                    node.bus.emit(WalletEvent::ReceiveState {
                        payment_hash: hash_hex,
                        state: "payment_arriving",
                        error: None,
                    });
                    crash_point::claiming();
                    node.channel_manager.claim_funds(preimage);
                }
                (ClaimDecision::Claim, None) => {
                    node.log(
                        Level::Error,
                        &format!("no preimage to claim {hash_hex}: failing it back"),
                    );
                    node.channel_manager.fail_htlc_backwards(&payment_hash);
                }
                (ClaimDecision::Hold, _) => {
                    node.log(
                        Level::Info,
                        &format!("holding {hash_hex} for the JIT receive"),
                    );
                }
                (ClaimDecision::Fail(error), _) => {
                    node.log(Level::Warn, &format!("failing back {hash_hex}: {error}"));
                    node.channel_manager.fail_htlc_backwards(&payment_hash);
                    if let Some(mut r) = record {
                        if r.status == PaymentStatus::Pending
                            && r.apply(
                                PaymentUpdate::Failed {
                                    reason: error.code().to_ascii_lowercase(),
                                },
                                time::now_millis(),
                            )
                            .unwrap_or(false)
                        {
                            put(&node, r).await?;
                        }
                    }
                    node.bus.emit(WalletEvent::ReceiveState {
                        payment_hash: hash_hex,
                        state: "failed",
                        error: Some(error),
                    });
                }
            }
        }

        Event::PaymentClaimed {
            payment_hash,
            amount_msat,
            purpose,
            htlcs,
            ..
        } => {
            crash_point::reach(CrashPoint::PaymentClaimed);
            let hash_hex = hex32(&payment_hash.0);
            let now = time::now_millis();
            let preimage = purpose.preimage().map(|p| hex32(&p.0));
            let mut record = node
                .payments
                .get(Direction::Inbound, &hash_hex)
                .unwrap_or_else(|| PaymentRecord {
                    payment_hash: hash_hex.clone(),
                    direction: Direction::Inbound,
                    status: PaymentStatus::Pending,
                    amount_msat: None,
                    fee_msat: None,
                    preimage: None,
                    invoice: None,
                    description: match &purpose {
                        PaymentPurpose::SpontaneousPayment(_) => Some("spontaneous payment".into()),
                        _ => None,
                    },
                    created_at: now,
                    updated_at: now,
                    via_jit: None,
                    failure: None,
                    expires_at: None,
                    paths: Vec::new(),
                });
            let skimmed = htlcs.iter().fold(0u64, |sum, h| {
                sum.saturating_add(h.counterparty_skimmed_fee_msat)
            });
            let hook = node.jit_hook.borrow().clone();
            // The LSP's fee is written with the success itself (not in a later update), so the
            // history and the payment_received event carry it from the first.
            // Not a JIT receive: nothing was taken but what was skimmed (a skim there is refused
            // before claiming, so 0).
            let fee_msat = hook
                .as_deref()
                .and_then(|h| h.fee_taken_msat(&payment_hash, amount_msat, skimmed))
                .or(Some(skimmed));
            let update = PaymentUpdate::Succeeded {
                amount_msat: Some(amount_msat),
                fee_msat,
                preimage: preimage.unwrap_or_default(),
            };
            if record.apply(update, now).unwrap_or(false) {
                put(&node, record.clone()).await?;
                node.bus.emit(WalletEvent::ReceiveState {
                    payment_hash: hash_hex,
                    state: "claimed",
                    error: None,
                });
                node.bus.emit(WalletEvent::PaymentReceived(record));
            }
            if let Some(hook) = hook {
                hook.on_payment_claimed(payment_hash, amount_msat, skimmed);
            }
        }

        Event::PaymentSent {
            payment_id,
            payment_preimage,
            payment_hash,
            fee_paid_msat,
            amount_msat,
            ..
        } => {
            crash_point::reach(CrashPoint::PaymentSent);
            let hash_hex = hex32(&payment_hash.0);
            let preimage = hex32(&payment_preimage.0);
            let now = time::now_millis();
            if let Some(mut record) = node.payments.get(Direction::Outbound, &hash_hex) {
                let update = PaymentUpdate::Succeeded {
                    amount_msat,
                    fee_msat: fee_paid_msat,
                    preimage: preimage.clone(),
                };
                if record.apply(update, now).unwrap_or(false) {
                    put(&node, record.clone()).await?;
                    node.bus.emit(WalletEvent::PaymentSent(record));
                }
            }
            if let Some(id) = payment_id {
                if let Some(waiter) = node.pay_waiters.borrow_mut().remove(&id) {
                    let _ = waiter.send(Ok(PaySuccess {
                        preimage,
                        fee_msat: fee_paid_msat.unwrap_or(0),
                    }));
                }
            }
        }

        Event::PaymentPathSuccessful {
            payment_hash: Some(payment_hash),
            path,
            ..
        } => {
            // After `PaymentSent`, once per path that settled: the route in the history.
            let hash_hex = hex32(&payment_hash.0);
            if let Some(mut record) = node.payments.get(Direction::Outbound, &hash_hex) {
                let update = PaymentUpdate::PathSucceeded(PaymentPath::from_ldk(&path));
                if record.apply(update, time::now_millis()).unwrap_or(false) {
                    put(&node, record).await?;
                }
            }
        }

        Event::PaymentFailed {
            payment_id,
            payment_hash,
            reason,
        } => {
            let why = outbound_failure_reason(reason);
            if let Some(hash) = payment_hash {
                let hash_hex = hex32(&hash.0);
                if let Some(mut record) = node.payments.get(Direction::Outbound, &hash_hex) {
                    if record.status == PaymentStatus::Pending
                        && record
                            .apply(
                                PaymentUpdate::Failed {
                                    reason: why.to_string(),
                                },
                                time::now_millis(),
                            )
                            .unwrap_or(false)
                    {
                        put(&node, record.clone()).await?;
                        node.bus.emit(WalletEvent::PaymentFailed(record));
                    }
                }
            }
            if let Some(waiter) = node.pay_waiters.borrow_mut().remove(&payment_id) {
                let _ = waiter.send(Err(Error::PaymentFailed { reason: why }));
            }
        }

        Event::ChannelReady {
            channel_id,
            counterparty_node_id,
            user_channel_id,
            ..
        } => {
            crash_point::reach(CrashPoint::ChannelReady);
            node.log(
                Level::Info,
                &format!("channel {channel_id} with {counterparty_node_id} is ready"),
            );
            if let Some(c) = node
                .channel_manager
                .list_channels()
                .iter()
                .find(|c| c.channel_id == channel_id)
            {
                node.bus
                    .emit(WalletEvent::ChannelOpened(ChannelInfo::from_details(c)));
            }
            if let Some(hook) = node.jit_hook.borrow().clone() {
                hook.on_channel_ready(counterparty_node_id, user_channel_id);
            }
        }

        Event::ChannelClosed {
            channel_id,
            reason,
            user_channel_id,
            ..
        } => {
            if closure_reason_name(&reason) == "cooperative" {
                crash_point::reach(CrashPoint::ClosedCooperatively);
            }
            node.log(
                Level::Info,
                &format!("channel {channel_id} closed: {reason}"),
            );
            node.bus.emit(WalletEvent::ChannelClosed {
                channel_id: channel_id.to_string(),
                reason: closure_reason_name(&reason),
            });
            node.onchain.note_channel_closed();
            if matches!(reason, ClosureReason::CounterpartyForceClosed { .. }) {
                node.fee_bumper.note_counterparty_force_close(channel_id);
            }
            node.sync_kick.kick();
            if let Some(hook) = node.jit_hook.borrow().clone() {
                hook.on_channel_closed(user_channel_id);
            }
        }

        Event::SpendableOutputs {
            outputs,
            channel_id,
        } => {
            node.log(
                Level::Info,
                &format!("{} spendable output(s) to sweep", outputs.len()),
            );
            // Static outputs already pay the wallet's own scripts: they are counted as they are.
            if node
                .sweeper
                .track_spendable_outputs(outputs, channel_id, true, None)
                .await
                .is_err()
            {
                node.log(
                    Level::Error,
                    "the sweeper could not store the outputs: will retry",
                );
                return Err(ReplayEvent());
            }
        }

        Event::BumpTransaction(bump) => node.fee_bumper.handle(&bump).await,

        Event::ConnectionNeeded { node_id, .. } => {
            if node.lsp.node_id.get() == Some(node_id) {
                node.reconnect_kick.kick();
            }
        }

        Event::ChannelPending {
            channel_id,
            counterparty_node_id,
            ..
        } => {
            node.log(
                Level::Info,
                &format!("channel {channel_id} with {counterparty_node_id} pending"),
            );
        }

        Event::FundingGenerationReady {
            temporary_channel_id,
            counterparty_node_id,
            ..
        } => {
            // The wallet never opens channels itself.
            node.log(
                Level::Error,
                &format!("unexpected funding request for {temporary_channel_id}"),
            );
            let _ = node.channel_manager.force_close_broadcasting_latest_txn(
                &temporary_channel_id,
                &counterparty_node_id,
                "the wallet does not fund channels".to_string(),
            );
        }

        Event::HTLCHandlingFailed {
            prev_channel_id,
            failure_type,
            ..
        } => {
            node.log(
                Level::Info,
                &format!("HTLC on {prev_channel_id} failed back: {failure_type:?}"),
            );
        }

        other => {
            node.log(Level::Debug, &format!("LDK event: {other:?}"));
        }
    }
    Ok(())
}

/// Writes a payment record; on failure the event is replayed later and the node stops.
async fn put(node: &Rc<Node>, record: PaymentRecord) -> Result<(), ReplayEvent> {
    node.put_payment(record).await.map_err(|_| ReplayEvent())
}

fn node_random16(node: &Node) -> [u8; 16] {
    use lightning::sign::EntropySource;
    let b = node.keys.get_secure_random_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&b[..16]);
    out
}
