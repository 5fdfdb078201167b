//! LDK event handling for the flow LSP: holds wrapped-invoice payments and starts their JIT
//! flow, funds channels, and wakes the flows waiting on channel and payment outcomes.

use std::sync::Arc;

use lightning::events::{Event, FundingInfo, ReplayEvent};

use super::jit::JitState;
use super::FlowLsp;

/// Handles one event. Never asks LDK to replay: every outcome is recorded or logged here.
pub(crate) fn handle_event(lsp: &Arc<FlowLsp>, event: Event) -> Result<(), ReplayEvent> {
    let cm = &lsp.ldk.channel_manager;
    match event {
        Event::FundingGenerationReady {
            temporary_channel_id,
            counterparty_node_id,
            channel_value_satoshis,
            output_script,
            user_channel_id,
        } => {
            let funded = lsp.wallet.fund(
                lsp.chain.as_ref(),
                output_script,
                channel_value_satoshis,
                lsp.config.feerate_sat_per_kw,
            );
            match funded {
                Ok(tx) => {
                    let txid = tx.compute_txid();
                    if let Err(e) = super::lsps2::funding::fund(
                        lsp,
                        temporary_channel_id,
                        counterparty_node_id,
                        user_channel_id,
                        tx.clone(),
                    ) {
                        lsp.wallet.release(&tx);
                        tracing::error!(target: "lsp_flow", %txid, "funding_transaction_generated: {e:?}");
                    } else {
                        tracing::info!(target: "lsp_flow", %txid, peer = %counterparty_node_id,
                            sat = channel_value_satoshis, "funding transaction generated");
                    }
                }
                Err(e) => {
                    tracing::error!(target: "lsp_flow", peer = %counterparty_node_id, "cannot fund channel: {e}");
                    let _ = cm.force_close_broadcasting_latest_txn(
                        &temporary_channel_id,
                        &counterparty_node_id,
                        format!("cannot fund channel: {e}"),
                    );
                }
            }
        }
        Event::PaymentClaimable {
            payment_hash,
            amount_msat,
            claim_deadline,
            ..
        } => {
            let mut st = lsp.state.lock().unwrap();
            match st.jits.get_mut(&payment_hash) {
                Some(rec) if rec.state == JitState::AwaitingPayment => {
                    if amount_msat < rec.wrapped_amount_msat {
                        cm.fail_htlc_backwards(&payment_hash);
                        rec.state = JitState::Failed {
                            reason: format!(
                                "received {amount_msat} msat, wrapped invoice asks {}",
                                rec.wrapped_amount_msat
                            ),
                        };
                    } else {
                        tracing::info!(target: "lsp_flow", hash = %payment_hash, amount_msat, "holding wrapped payment");
                        rec.state = JitState::Held {
                            received_msat: amount_msat,
                        };
                        rec.claim_deadline = claim_deadline;
                        let lsp2 = lsp.clone();
                        let handle = tokio::spawn(super::flow::run_jit(lsp2, payment_hash));
                        drop(st);
                        let mut tasks = lsp.tasks.lock().unwrap();
                        tasks.retain(|t| !t.is_finished());
                        tasks.push(handle);
                    }
                }
                Some(rec) if !rec.state.is_terminal() => {
                    tracing::debug!(target: "lsp_flow", hash = %payment_hash, "claimable again while in flow");
                }
                _ => {
                    tracing::warn!(target: "lsp_flow", hash = %payment_hash, "claimable payment with no live JIT record: failing back");
                    cm.fail_htlc_backwards(&payment_hash);
                }
            }
        }
        Event::PaymentClaimed {
            payment_hash,
            amount_msat,
            ..
        } => {
            tracing::info!(target: "lsp_flow", hash = %payment_hash, amount_msat, "claimed");
            if let Some(rec) = lsp.state.lock().unwrap().jits.get_mut(&payment_hash) {
                rec.state = JitState::Settled {
                    claimed_msat: amount_msat,
                };
            }
        }
        Event::PaymentSent {
            payment_id,
            payment_preimage,
            payment_hash,
            fee_paid_msat,
            ..
        } => {
            tracing::info!(target: "lsp_flow", hash = %payment_hash, ?fee_paid_msat, "outbound payment sent");
            if let Some(id) = payment_id {
                if let Some(tx) = lsp.payment_waiters.lock().unwrap().remove(&id) {
                    let _ = tx.send(Ok(payment_preimage));
                }
            }
        }
        Event::PaymentFailed {
            payment_id,
            payment_hash,
            reason,
        } => {
            tracing::warn!(target: "lsp_flow", ?payment_hash, ?reason, "outbound payment failed");
            if let Some(tx) = lsp.payment_waiters.lock().unwrap().remove(&payment_id) {
                let _ = tx.send(Err(format!("payment to the client failed: {reason:?}")));
            }
        }
        Event::ChannelReady {
            channel_id,
            user_channel_id,
            counterparty_node_id,
            ..
        } => {
            tracing::info!(target: "lsp_flow", %channel_id, peer = %counterparty_node_id, "channel ready");
            super::lsps2::on_channel_ready(
                lsp,
                user_channel_id,
                &channel_id,
                &counterparty_node_id,
            );
            if let Some(tx) = lsp.channel_waiters.lock().unwrap().remove(&user_channel_id) {
                let _ = tx.send(Ok(()));
            }
        }
        Event::ChannelClosed {
            channel_id,
            user_channel_id,
            reason,
            ..
        } => {
            tracing::info!(target: "lsp_flow", %channel_id, %reason, "channel closed");
            if let Some(tx) = lsp.channel_waiters.lock().unwrap().remove(&user_channel_id) {
                let _ = tx.send(Err(format!("channel closed: {reason}")));
            }
        }
        Event::FundingTxBroadcastSafe {
            user_channel_id,
            counterparty_node_id,
            ..
        } => {
            super::lsps2::funding::on_broadcast_safe(lsp, user_channel_id, counterparty_node_id);
        }
        Event::OpenChannelRequest {
            temporary_channel_id,
            counterparty_node_id,
            funding_satoshis,
            ..
        } => {
            let user_channel_id = rand::random::<u128>();
            if let Err(e) = cm.accept_inbound_channel(
                &temporary_channel_id,
                &counterparty_node_id,
                user_channel_id,
                None,
            ) {
                tracing::warn!(target: "lsp_flow", peer = %counterparty_node_id, sat = funding_satoshis, "inbound channel not accepted: {e:?}");
            }
        }
        Event::ChannelPending {
            channel_id,
            counterparty_node_id,
            funding_txo,
            ..
        } => {
            tracing::info!(target: "lsp_flow", %channel_id, peer = %counterparty_node_id, %funding_txo, "channel pending");
        }
        Event::DiscardFunding {
            channel_id,
            funding_info,
        } => {
            tracing::warn!(target: "lsp_flow", %channel_id, "funding discarded");
            if let FundingInfo::Tx { transaction } = funding_info {
                lsp.wallet.release(&transaction);
            }
        }
        Event::SpendableOutputs { outputs, .. } => {
            tracing::warn!(target: "lsp_flow", count = outputs.len(), "spendable outputs from a closed channel are not swept (ephemeral devnet)");
        }
        Event::HTLCHandlingFailed {
            prev_channel_id,
            failure_type,
            failure_reason,
        } => {
            tracing::info!(target: "lsp_flow", %prev_channel_id, ?failure_type, ?failure_reason, "HTLC failed");
            super::lsps2::on_htlc_handling_failed(lsp, failure_type);
        }
        Event::HTLCIntercepted {
            intercept_id,
            requested_next_hop_scid,
            payment_hash,
            expected_outbound_amount_msat,
            ..
        } => {
            let skim = lsp
                .state
                .lock()
                .unwrap()
                .skims
                .contains_key(&requested_next_hop_scid);
            if skim
                || !super::lsps2::on_intercepted(
                    lsp,
                    intercept_id,
                    requested_next_hop_scid,
                    payment_hash,
                    expected_outbound_amount_msat,
                )
            {
                // Not an LSPS2 buy's SCID: the skim fault's, or nobody's (failed back there).
                super::skim::on_intercepted(
                    lsp,
                    intercept_id,
                    requested_next_hop_scid,
                    payment_hash,
                    expected_outbound_amount_msat,
                );
            }
        }
        Event::PaymentForwarded {
            total_fee_earned_msat,
            next_channel_id,
            skimmed_fee_msat,
            ..
        } => {
            tracing::info!(target: "lsp_flow", ?total_fee_earned_msat, ?skimmed_fee_msat, "payment forwarded");
            super::lsps2::on_payment_forwarded(lsp, next_channel_id, skimmed_fee_msat);
        }
        Event::BumpTransaction(bump) => lsp.bump.handle_event(&bump),
        other => {
            tracing::debug!(target: "lsp_flow", event = ?other, "event not acted on");
        }
    }
    Ok(())
}
