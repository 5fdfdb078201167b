//! In-process tests of the running LSP (real LDK node, HTTP API, peer connections, channel
//! funding) on the in-memory [`FakeChain`]. The full JIT payment flow with real client and payer
//! nodes is tested end to end in `devnet/tests/flow_lsp.rs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};
use serde_json::{json, Value};

use super::test_chain::FakeChain;
use super::*;

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn client_key() -> SecretKey {
    SecretKey::from_slice(&[0x42; 32]).unwrap()
}

fn client_pub() -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &client_key())
}

/// The client's own invoice for `amount_msat` with payment hash sha256(`preimage`).
fn client_invoice(amount_msat: u64, preimage: [u8; 32]) -> Bolt11Invoice {
    let secp = Secp256k1::new();
    InvoiceBuilder::new(Currency::Regtest)
        .description("coffee".into())
        .payment_hash(sha256::Hash::hash(&preimage))
        .payment_secret(PaymentSecret([3; 32]))
        .duration_since_epoch(now())
        .min_final_cltv_expiry_delta(42)
        .expiry_time(Duration::from_secs(1800))
        .amount_milli_satoshis(amount_msat)
        .basic_mpp()
        .build_signed(|m| secp.sign_ecdsa_recoverable(m, &client_key()))
        .unwrap()
}

async fn start_lsp(chain: Arc<FakeChain>) -> Arc<FlowLsp> {
    let config = FlowLspConfig {
        seed: Some(rand::random()),
        ..Default::default()
    };
    FlowLsp::start(config, chain).await.unwrap()
}

async fn serve(lsp: Arc<FlowLsp>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(lsp)).await.unwrap() });
    format!("http://{addr}")
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_round_trip() {
    let chain = Arc::new(FakeChain::new(120));
    let lsp = start_lsp(chain).await;
    let base = serve(lsp.clone()).await;

    let info: Value = reqwest::get(format!("{base}/api/v1/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["pubkey"], lsp.node_id().to_string());
    assert_eq!(
        info["connection_methods"],
        json!([{"address": "127.0.0.1", "port": lsp.listen_addr().port(), "type": "ipv4"}])
    );
    lsp.set_connection_methods(vec![
        ConnectionMethod::for_socket(lsp.listen_addr()),
        ConnectionMethod {
            address: "ws://127.0.0.1:9000/x".into(),
            port: 9000,
            kind: "websocket".into(),
        },
    ]);
    let info: Value = reqwest::get(format!("{base}/api/v1/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["connection_methods"][1]["type"], "websocket");

    // fee quote: 1% with a 100 sat minimum
    let (s, fee) = post(
        &format!("{base}/api/v1/fee"),
        json!({"amount_msat": 20_000_000, "pubkey": client_pub().to_string()}),
    )
    .await;
    assert_eq!(s, 200, "{fee}");
    assert_eq!(fee["amount_msat"], 200_000);
    assert_eq!(fee["fee_amount_msat"], 200_000);
    let fee_id = fee["id"].as_str().unwrap().to_string();

    // out of bounds and malformed requests
    let (s, e) = post(
        &format!("{base}/api/v1/fee"),
        json!({"amount_msat": 1_000, "pubkey": client_pub().to_string()}),
    )
    .await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "amount_too_low"));
    let (s, e) = post(
        &format!("{base}/api/v1/fee"),
        json!({"amount_msat": 600_000_000u64, "pubkey": client_pub().to_string()}),
    )
    .await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "amount_too_high"));
    let (s, e) = post(
        &format!("{base}/api/v1/fee"),
        json!({"amount_msat": 20_000_000, "pubkey": "02zz"}),
    )
    .await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "invalid_pubkey"));
    let (s, e) = post(&format!("{base}/api/v1/fee"), json!({"pubkey": "02"})).await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_request");
    assert!(e["message"].as_str().unwrap().contains("amount_msat"));

    // proposals
    let url = format!("{base}/api/v1/proposal");
    let wrong_amount = client_invoice(19_800_001, [1; 32]).to_string();
    let (s, e) = post(&url, json!({"bolt11": wrong_amount, "fee_id": fee_id})).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "amount_mismatch"));
    let (s, e) = post(
        &url,
        json!({"bolt11": client_invoice(19_800_000, [1; 32]).to_string(), "fee_id": "nope"}),
    )
    .await;
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "unknown_fee_id"));

    let inner = client_invoice(19_800_000, [1; 32]);
    let (s, ok) = post(
        &url,
        json!({"bolt11": inner.to_string(), "fee_id": fee_id, "simpleTaproot": true}),
    )
    .await;
    assert_eq!(s, 200, "{ok}");
    let wrapped: Bolt11Invoice = ok["jit_bolt11"].as_str().unwrap().parse().unwrap();
    assert_eq!(wrapped.payment_hash(), inner.payment_hash());
    assert_eq!(wrapped.get_payee_pub_key(), lsp.node_id());
    assert_eq!(wrapped.amount_milli_satoshis(), Some(20_000_000));
    assert_eq!(wrapped.currency(), Currency::Regtest);
    assert_eq!(wrapped.min_final_cltv_expiry_delta(), 42 + 144);
    assert!(wrapped.expires_at().unwrap() <= inner.expires_at().unwrap());
    assert!(wrapped.route_hints().is_empty());

    // the quote is single-use
    let (s, e) = post(&url, json!({"bolt11": inner.to_string(), "fee_id": fee_id})).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (404, "unknown_fee_id"));
    // a second live wrap of the same hash is refused
    let (_, fee2) = post(
        &format!("{base}/api/v1/fee"),
        json!({"amount_msat": 20_000_000, "pubkey": client_pub().to_string()}),
    )
    .await;
    let (s, e) = post(
        &url,
        json!({"bolt11": inner.to_string(), "fee_id": fee2["id"]}),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (409, "duplicate_payment_hash")
    );

    let status = lsp.status();
    assert_eq!(status.jit.len(), 1);
    assert_eq!(status.jit[0].state, JitState::AwaitingPayment);
    assert_eq!(status.jit[0].fee_msat, 200_000);
    assert_eq!(status.best_block_height, 119);
    lsp.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_shape_the_wrapped_invoice() {
    let chain = Arc::new(FakeChain::new(120));
    let lsp = start_lsp(chain).await;
    let mut n = 10u8;
    let mut wrap = |lsp: &FlowLsp| {
        n += 1;
        let q = lsp.quote_fee(20_000_000, client_pub()).unwrap();
        let inner = client_invoice(19_800_000, [n; 32]);
        let req = ProposalRequest {
            bolt11: inner.to_string(),
            fee_id: q.id,
            ..Default::default()
        };
        (inner, lsp.propose(&req).unwrap())
    };

    let (inner, w) = wrap(&lsp);
    assert_eq!(w.amount_milli_satoshis(), Some(20_000_000));
    assert_eq!(w.payment_hash(), inner.payment_hash());

    lsp.set_fault(Fault::OverchargeFee { extra_msat: 7_000 })
        .unwrap();
    let (_, w) = wrap(&lsp);
    assert_eq!(w.amount_milli_satoshis(), Some(20_007_000));

    lsp.set_fault(Fault::WrongPaymentHash).unwrap();
    let (inner, w) = wrap(&lsp);
    assert_ne!(w.payment_hash(), inner.payment_hash());
    assert_eq!(w.get_payee_pub_key(), lsp.node_id());

    lsp.set_fault(Fault::WrongPayee).unwrap();
    let (inner, w) = wrap(&lsp);
    assert_ne!(w.get_payee_pub_key(), lsp.node_id());
    assert_eq!(w.payment_hash(), inner.payment_hash());

    assert!(lsp
        .set_fault(Fault::WrongNetwork {
            network: Network::Regtest
        })
        .is_err());
    lsp.set_fault(Fault::WrongNetwork {
        network: Network::Bitcoin,
    })
    .unwrap();
    let (_, w) = wrap(&lsp);
    assert_eq!(w.currency(), Currency::Bitcoin);
    assert_eq!(w.get_payee_pub_key(), lsp.node_id());

    lsp.set_fault(Fault::NeverOpen).unwrap();
    let (inner, w) = wrap(&lsp);
    assert_eq!(w.payment_hash(), inner.payment_hash());
    assert_eq!(w.amount_milli_satoshis(), Some(20_000_000));
    let summary = lsp
        .jit_status(&inner.payment_hash().to_byte_array())
        .unwrap();
    assert_eq!(summary.fault, Fault::NeverOpen);

    assert_eq!(lsp.info().pubkey, lsp.node_id().to_string());
    lsp.set_fault(Fault::ImpostorIdentity).unwrap();
    let info = lsp.info();
    assert_ne!(info.pubkey, lsp.node_id().to_string());
    assert_eq!(
        info.pubkey,
        super::fault::impostor_id(&lsp.node_id()).to_string()
    );
    let (_, w) = wrap(&lsp);
    assert_eq!(
        w.get_payee_pub_key(),
        lsp.node_id(),
        "proposals are unaffected"
    );

    lsp.set_fault(Fault::None).unwrap();
    assert_eq!(lsp.fault(), Fault::None);
    assert_eq!(lsp.info().pubkey, lsp.node_id().to_string());
    // the record keeps the fault it was made under
    assert_eq!(
        lsp.jit_status(&inner.payment_hash().to_byte_array())
            .unwrap()
            .fault,
        Fault::NeverOpen
    );
    lsp.stop();
}

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_and_funds_a_channel_to_a_peer() {
    let chain = Arc::new(FakeChain::new(120));
    let a = start_lsp(chain.clone()).await;
    let b = start_lsp(chain.clone()).await;
    chain.add_coin(
        a.funding_address().script_pubkey().as_script(),
        2_000_000,
        1,
    );
    assert_eq!(a.status().onchain_spendable_sat, 2_000_000);

    a.connect(b.node_id(), b.listen_addr()).await.unwrap();
    assert!(a.is_connected(&b.node_id()));
    wait_for("b sees a", || b.is_connected(&a.node_id())).await;

    a.open_channel(b.node_id(), 500_000, 10_000_000, false)
        .unwrap();
    // funding broadcast once b's funding_signed arrives
    wait_for("funding tx in mempool", || {
        !chain.mempool.lock().unwrap().is_empty()
    })
    .await;
    let funding = chain.mempool.lock().unwrap()[0].clone();
    assert_eq!(funding.output[0].value.to_sat(), 500_000);
    assert_eq!(
        funding.input[0].previous_output.txid.to_byte_array(),
        [1; 32]
    );
    chain.mine(1, &bitcoin::ScriptBuf::new()).unwrap();
    wait_for("channel usable on both sides", || {
        a.status().channels.iter().any(|c| c.is_usable)
            && b.status().channels.iter().any(|c| c.is_usable)
    })
    .await;
    let ca = a.status().channels.remove(0);
    assert_eq!(ca.capacity_sat, 500_000);
    assert!(ca.is_outbound);
    assert!(!ca.is_announced);
    assert_eq!(ca.confirmations, Some(1));
    assert!(ca.outbound_scid_alias.is_some());
    let cb = b.status().channels.remove(0);
    // b holds the pushed 10_000 sat minus the reserve a demands (1% of 500_000 sat)
    assert_eq!(cb.outbound_capacity_msat, 10_000_000 - 5_000_000);
    assert!(!cb.is_outbound);
    assert_eq!(a.persisted_monitors(), 1);
    assert_eq!(b.persisted_monitors(), 1);
    a.stop();
    b.stop();
}
