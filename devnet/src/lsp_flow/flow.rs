//! The just-in-time flow for one held payment: wait for the client, open a 0-conf channel,
//! pay the client's invoice, then claim upstream with the preimage, or fail back.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::{PaymentId, Retry};
use lightning::routing::router::RouteParametersConfig;
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use tokio::sync::oneshot;

use super::fault::Fault;
use super::jit::{JitRecord, JitState};
use super::node::outbound_channel_config;
use super::FlowLsp;

/// Blocks kept between the outbound payment's latest possible expiry and the height at which
/// LDK would fail the held inbound payment back.
pub const CLTV_SAFETY_BLOCKS: u32 = 6;
/// LDK fails a held inbound HTLC back this many blocks before its expiry.
const LDK_FAIL_BACK_BUFFER: u32 = 39;
/// How many times a failed path to the client is retried.
pub const PAYMENT_RETRIES: u32 = 3;
/// How long a ready channel may take to become usable (peer connected, monitors persisted).
const USABLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest total CLTV delta the payment to the client may use so that it expires at least
/// [`CLTV_SAFETY_BLOCKS`] before the held payment's `claim_deadline` (LDK's fail-back height).
/// Without a deadline, the wrapped invoice's registered final delta stands in for it. Errors if
/// the budget cannot cover the client's own `min_final_cltv_expiry_delta`.
pub fn outbound_cltv_budget(
    claim_deadline: Option<u32>,
    best_height: u32,
    wrapped_final_cltv: u64,
    inner_final_cltv: u64,
) -> Result<u32, String> {
    let room = match claim_deadline {
        Some(deadline) => deadline.saturating_sub(best_height),
        None => u32::try_from(wrapped_final_cltv)
            .unwrap_or(0)
            .saturating_sub(3 + LDK_FAIL_BACK_BUFFER),
    };
    let budget = room.saturating_sub(CLTV_SAFETY_BLOCKS);
    if (budget as u64) < inner_final_cltv {
        return Err(format!(
            "only {budget} blocks left before the held payment's deadline; the client's invoice needs {inner_final_cltv}"
        ));
    }
    Ok(budget)
}

/// Runs the flow for the held payment `hash` to its end: claims with the client's preimage, or
/// fails the held payment back with the reason recorded.
pub(crate) async fn run_jit(lsp: Arc<FlowLsp>, hash: PaymentHash) {
    match drive(&lsp, hash).await {
        Ok(preimage) => {
            tracing::info!(target: "lsp_flow", %hash, "client paid; claiming upstream");
            lsp.set_jit_state(&hash, JitState::Claiming);
            lsp.ldk.channel_manager.claim_funds(preimage);
        }
        Err(reason) => {
            tracing::warn!(target: "lsp_flow", %hash, %reason, "failing held payment back");
            lsp.ldk.channel_manager.fail_htlc_backwards(&hash);
            lsp.set_jit_state(&hash, JitState::Failed { reason });
        }
    }
}

async fn drive(lsp: &Arc<FlowLsp>, hash: PaymentHash) -> Result<PaymentPreimage, String> {
    let rec: JitRecord = lsp.jit_record(&hash).ok_or("JIT record vanished")?;
    let cfg = &lsp.config;
    match rec.fault {
        Fault::NeverOpen => {
            lsp.set_jit_state(&hash, JitState::WaitingForClient);
            tokio::time::sleep(cfg.client_connect_timeout).await;
            return Err("fault never_open: no channel was opened".into());
        }
        Fault::OpenLate { delay_secs } => {
            tokio::time::sleep(Duration::from_secs(delay_secs)).await;
        }
        _ => {}
    }

    lsp.set_jit_state(&hash, JitState::WaitingForClient);
    wait_for_client(lsp, &rec).await?;

    let needed = rec.inner_amount_msat;
    if lsp.usable_outbound_msat(&rec.client) < needed {
        let user_channel_id: u128 = rand::random();
        lsp.set_jit_state(
            &hash,
            JitState::OpeningChannel {
                user_channel_id: user_channel_id.to_string(),
            },
        );
        let (tx, rx) = oneshot::channel();
        lsp.channel_waiters
            .lock()
            .unwrap()
            .insert(user_channel_id, tx);
        let config = outbound_channel_config(&lsp.ldk.base_config, false);
        if let Err(e) = lsp.ldk.channel_manager.create_channel(
            rec.client,
            cfg.jit_channel_capacity_sat,
            0,
            user_channel_id,
            None,
            Some(config),
        ) {
            lsp.channel_waiters.lock().unwrap().remove(&user_channel_id);
            return Err(format!("Cannot fund new channel at this time: {e:?}"));
        }
        match tokio::time::timeout(cfg.channel_ready_timeout, rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(_)) => return Err("LSP shutting down".into()),
            Err(_) => {
                lsp.channel_waiters.lock().unwrap().remove(&user_channel_id);
                return Err(format!(
                    "channel to the client not ready within {} s",
                    cfg.channel_ready_timeout.as_secs()
                ));
            }
        }
        let deadline = tokio::time::Instant::now() + USABLE_TIMEOUT;
        while lsp.usable_outbound_msat(&rec.client) < needed {
            if tokio::time::Instant::now() >= deadline {
                return Err("the new channel never became usable for the payment".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    } else {
        tracing::info!(target: "lsp_flow", %hash, "client already has a usable channel; no open");
    }

    let claim_deadline = lsp.jit_record(&hash).and_then(|r| r.claim_deadline);
    let best = lsp.ldk.channel_manager.current_best_block().height;
    let budget = outbound_cltv_budget(
        claim_deadline,
        best,
        rec.wrapped.min_final_cltv_expiry_delta(),
        rec.inner.min_final_cltv_expiry_delta(),
    )?;
    let payment_id = PaymentId(rand::random());
    lsp.set_jit_state(
        &hash,
        JitState::PayingClient {
            payment_id: hex::DisplayHex::to_lower_hex_string(&payment_id.0[..]),
        },
    );
    if let Fault::Skim { msat, .. } = rec.fault {
        let preimage =
            super::skim::pay_client_skimmed(lsp, rec.client, &rec.inner, msat, 0).await?;
        return check_preimage(hash, preimage);
    }
    let (tx, rx) = oneshot::channel();
    lsp.payment_waiters.lock().unwrap().insert(payment_id, tx);
    let route_config = RouteParametersConfig::default().with_max_total_cltv_expiry_delta(budget);
    if let Err(e) = lsp.ldk.channel_manager.pay_for_bolt11_invoice(
        &rec.inner,
        payment_id,
        None,
        route_config,
        Retry::Attempts(PAYMENT_RETRIES),
    ) {
        lsp.payment_waiters.lock().unwrap().remove(&payment_id);
        return Err(format!("cannot pay the client's invoice: {e:?}"));
    }
    // No timeout here: once an HTLC to the client is out, failing back upstream before it
    // resolves could lose the payment. LDK resolves it (success, failure, or on-chain).
    let preimage = rx.await.map_err(|_| "LSP shutting down".to_string())??;
    check_preimage(hash, preimage)
}

fn check_preimage(hash: PaymentHash, preimage: PaymentPreimage) -> Result<PaymentPreimage, String> {
    if sha256::Hash::hash(&preimage.0).to_byte_array() != hash.0 {
        return Err("client's preimage does not match the payment hash".into());
    }
    Ok(preimage)
}

async fn wait_for_client(lsp: &Arc<FlowLsp>, rec: &JitRecord) -> Result<(), String> {
    let timeout = lsp.config.client_connect_timeout;
    if !lsp.is_connected(&rec.client) {
        if let Some(addr) = &rec.client_address {
            let target = format!("{}:{}", addr.host, addr.port);
            if let Ok(Some(sock)) = tokio::net::lookup_host(&target).await.map(|mut a| a.next()) {
                let lsp2 = lsp.clone();
                let client: PublicKey = rec.client;
                tokio::spawn(async move {
                    if let Err(e) = lsp2.connect(client, sock).await {
                        tracing::info!(target: "lsp_flow", %client, "connecting to the client's address failed: {e}");
                    }
                });
            }
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    while !lsp.is_connected(&rec.client) {
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "client not connected within {} s",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_from_deadline() {
        // deadline 300, height 100: 200 blocks of room, 194 after the safety margin
        assert_eq!(outbound_cltv_budget(Some(300), 100, 186, 42).unwrap(), 194);
        assert!(outbound_cltv_budget(Some(140), 100, 186, 42).is_err());
        assert!(outbound_cltv_budget(Some(90), 100, 186, 42).is_err());
    }

    #[test]
    fn budget_without_deadline() {
        // 186 - 3 - 39 - 6
        assert_eq!(outbound_cltv_budget(None, 100, 186, 42).unwrap(), 138);
        assert!(outbound_cltv_budget(None, 100, 60, 42).is_err());
    }

    #[test]
    fn default_wrap_leaves_room_for_router_padding() {
        // A payer paying the wrapped invoice right away gives us a deadline of
        // height + wrapped_delta - 39 at least; the budget must then cover the inner delta plus
        // the router's largest shadow padding (3 * 40 blocks), which the cap would otherwise cut.
        let inner = 42u64;
        let wrapped =
            inner + crate::lsp_flow::FlowLspConfig::default().extra_final_cltv_delta as u64;
        let height = 1000;
        let deadline = height + wrapped as u32 - 3 - 39;
        let budget = outbound_cltv_budget(Some(deadline), height, wrapped, inner).unwrap();
        assert!(budget as u64 >= inner + 80, "budget {budget}");
    }
}
