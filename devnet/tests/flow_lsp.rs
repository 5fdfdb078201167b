//! The REST flow LSP end to end on the kernel-judged regtest chain: a client ldk-node (trusting
//! the LSP for 0-conf, no on-chain funds) gets a wrapped invoice, a payer ldk-node with an
//! announced channel to the LSP pays it, the LSP holds the payment, opens a 0-conf channel to
//! the client, pays the client's invoice, and claims upstream. Then the timing and hash faults,
//! seen from the payer's side.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::hashes::Hash;
use bitcoin::{Network, ScriptBuf};
use devnet::chain::{serve_esplora, ChainAccess, KernelChain};
use devnet::lsp_flow::{router, Fault, FlowLsp, FlowLspConfig, JitState};
use ldk_node::config::EsploraSyncConfig;
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};
use ldk_node::{Builder, Event, Node};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(90);

fn burn() -> ScriptBuf {
    ScriptBuf::new_op_return([0u8; 4])
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Net {
    chain: Arc<KernelChain>,
    lsp: Arc<FlowLsp>,
    api: String,
    payer: Arc<Node>,
    client: Arc<Node>,
    dirs: Vec<std::path::PathBuf>,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.payer.stop();
        let _ = self.client.stop();
        self.lsp.stop();
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn build_node(
    name: &str,
    esplora: &str,
    trusted_0conf: Vec<bitcoin::secp256k1::PublicKey>,
    announce: bool,
) -> (Arc<Node>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("flow-lsp-{name}-{}", rand::random::<u64>()));
    let port = free_port();
    let config = ldk_node::config::Config {
        network: Network::Regtest,
        storage_dir_path: dir.to_string_lossy().into_owned(),
        trusted_peers_0conf: trusted_0conf,
        listening_addresses: Some(vec![
            SocketAddress::from_str(&format!("127.0.0.1:{port}")).unwrap()
        ]),
        ..Default::default()
    };
    let mut builder = Builder::from_config(config);
    builder.set_chain_source_esplora(
        esplora.to_string(),
        Some(EsploraSyncConfig {
            background_sync_config: None,
        }),
    );
    let mut seed = [0u8; 64];
    seed[..32].copy_from_slice(&rand::random::<[u8; 32]>());
    seed[32..].copy_from_slice(&rand::random::<[u8; 32]>());
    builder.set_entropy_seed_bytes(seed);
    if announce {
        builder.set_node_alias(name.to_string()).unwrap();
    }
    let node = Arc::new(builder.build().unwrap());
    node.start().unwrap();
    (node, dir)
}

/// Consumes `node`'s events until `pick` returns `Some`, or panics after [`WAIT`].
async fn wait_event<T>(node: &Node, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = tokio::time::timeout(left, node.next_event_async())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        node.event_handled().unwrap();
        if let Some(t) = pick(&ev) {
            return t;
        }
        eprintln!("({what}) skipping {ev:?}");
    }
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mine(chain: &KernelChain, n: u32, to: &ScriptBuf) {
    chain.mine(n, to).expect("mined");
}

async fn setup(config: FlowLspConfig) -> Net {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let chain = KernelChain::new().expect("kernel starts");
    let (esplora_addr, _task) = serve_esplora(chain.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let esplora = format!("http://{esplora_addr}");

    let lsp = FlowLsp::start(config, chain.clone()).await.unwrap();
    // The LSP's funds: one coinbase, matured below.
    mine(&chain, 1, &lsp.funding_address().script_pubkey());

    let (payer, payer_dir) = build_node("payer", &esplora, vec![], true);
    let (client, client_dir) = build_node("client", &esplora, vec![lsp.node_id()], false);
    let payer_addr = payer.onchain_payment().new_address().unwrap();
    mine(&chain, 1, &payer_addr.script_pubkey());
    mine(&chain, 100, &burn());
    wait_until("LSP at tip", || lsp.best_block_height() == chain.tip().0).await;
    assert!(lsp.status().onchain_spendable_sat > 1_000_000);
    tokio::task::block_in_place(|| payer.sync_wallets()).unwrap();

    // The payer's announced channel to the LSP.
    let lsp_sock = SocketAddress::from_str(&lsp.listen_addr().to_string()).unwrap();
    payer
        .open_announced_channel(lsp.node_id(), lsp_sock.clone(), 2_000_000, None, None)
        .unwrap();
    wait_event(&payer, "payer channel pending", |e| {
        matches!(e, Event::ChannelPending { .. }).then_some(())
    })
    .await;
    mine(&chain, 6, &burn());
    tokio::task::block_in_place(|| payer.sync_wallets()).unwrap();
    wait_event(&payer, "payer channel ready", |e| {
        matches!(e, Event::ChannelReady { .. }).then_some(())
    })
    .await;
    wait_until("payer channel usable", || {
        payer.list_channels().iter().any(|c| c.is_usable)
    })
    .await;

    // The client connects to the LSP (as the browser wallet would, through its proxy).
    client.connect(lsp.node_id(), lsp_sock, true).unwrap();
    wait_until("client connected", || lsp.is_connected(&client.node_id())).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_addr: SocketAddr = listener.local_addr().unwrap();
    let app = router(lsp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    Net {
        chain,
        lsp,
        api: format!("http://{api_addr}"),
        payer,
        client,
        dirs: vec![payer_dir, client_dir],
    }
}

async fn post(url: String, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status}: {v}");
    v
}

/// Quote + client invoice + proposal: returns (client invoice, wrapped invoice, fee).
async fn wrapped_invoice(net: &Net, amount_msat: u64) -> (Bolt11Invoice, Bolt11Invoice, u64) {
    let fee = post(
        format!("{}/api/v1/fee", net.api),
        json!({"amount_msat": amount_msat, "pubkey": net.client.node_id().to_string()}),
    )
    .await;
    let fee_msat = fee["fee_amount_msat"].as_u64().unwrap();
    assert_eq!(fee["amount_msat"].as_u64(), Some(fee_msat));
    let desc = Bolt11InvoiceDescription::Direct(Description::new("jit test".into()).unwrap());
    let inner = net
        .client
        .bolt11_payment()
        .receive(amount_msat - fee_msat, &desc, 3600)
        .unwrap();
    let ok = post(
        format!("{}/api/v1/proposal", net.api),
        json!({"bolt11": inner.to_string(), "fee_id": fee["id"]}),
    )
    .await;
    let wrapped: Bolt11Invoice = ok["jit_bolt11"].as_str().unwrap().parse().unwrap();
    (inner, wrapped, fee_msat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrapped_invoice_is_paid_through_a_jit_channel() {
    let net = setup(FlowLspConfig {
        seed: Some(rand::random()),
        ..Default::default()
    })
    .await;
    let amount = 50_000_000;
    let (inner, wrapped, fee) = wrapped_invoice(&net, amount).await;
    assert_eq!(fee, 500_000);
    assert_eq!(wrapped.payment_hash(), inner.payment_hash());
    assert_eq!(wrapped.get_payee_pub_key(), net.lsp.node_id());
    assert_eq!(wrapped.amount_milli_satoshis(), Some(amount));
    assert!(wrapped.min_final_cltv_expiry_delta() > inner.min_final_cltv_expiry_delta());
    assert!(net.client.list_channels().is_empty());

    let id = net.payer.bolt11_payment().send(&wrapped, None).unwrap();
    let received = wait_event(&net.client, "client paid", |e| match e {
        Event::PaymentReceived {
            amount_msat,
            payment_hash,
            ..
        } => {
            assert_eq!(payment_hash.0, inner.payment_hash().to_byte_array());
            Some(*amount_msat)
        }
        _ => None,
    })
    .await;
    assert_eq!(received, amount - fee);
    let fee_paid = wait_event(&net.payer, "payer success", |e| match e {
        Event::PaymentSuccessful {
            payment_id,
            fee_paid_msat,
            ..
        } if *payment_id == Some(id) => Some(*fee_paid_msat),
        Event::PaymentFailed { reason, .. } => panic!("payer's payment failed: {reason:?}"),
        _ => None,
    })
    .await;
    assert_eq!(fee_paid, Some(0));
    let details = net.payer.payment(&id).unwrap();
    assert_eq!(details.amount_msat, Some(amount));

    // The JIT channel: private, alias, zero-conf, the client on the other side.
    let chans = net.client.list_channels();
    assert_eq!(chans.len(), 1);
    assert_eq!(chans[0].counterparty_node_id, net.lsp.node_id());
    assert!(!chans[0].is_announced);
    assert!(chans[0].is_usable);
    // Once the claim's commitment dance is over, the client holds what it received minus the
    // reserve the LSP demands (1% of 1_000_000 sat).
    wait_until("client balance settles", || {
        net.client
            .list_channels()
            .first()
            .map(|c| c.outbound_capacity_msat)
            == Some(amount - fee - 10_000_000)
    })
    .await;
    wait_until("LSP settled", || {
        matches!(
            net.lsp.jit_status(&inner.payment_hash().to_byte_array()).map(|j| j.state),
            Some(JitState::Settled { claimed_msat }) if claimed_msat == amount
        )
    })
    .await;
    let st = net.lsp.status();
    let jit_chan = st
        .channels
        .iter()
        .find(|c| c.counterparty == net.client.node_id().to_string())
        .unwrap();
    assert_eq!(
        jit_chan.capacity_sat,
        FlowLspConfig::default().jit_channel_capacity_sat
    );
    assert!(jit_chan.is_usable && !jit_chan.is_announced);
    assert!(jit_chan.outbound_scid_alias.is_some());
    assert_eq!(jit_chan.confirmations, Some(0));
    // The funding transaction reached the chain's mempool (judged by the kernel).
    let txid = jit_chan.funding_txid.as_ref().unwrap().parse().unwrap();
    assert!(
        net.chain.get_tx(&txid).is_some(),
        "funding tx not in mempool; refusals {:?}",
        st.broadcast_refusals
    );

    // A second payment reuses the channel: no second open.
    let (inner2, wrapped2, _) = wrapped_invoice(&net, 30_000_000).await;
    net.payer.bolt11_payment().send(&wrapped2, None).unwrap();
    let received = wait_event(&net.client, "second payment", |e| match e {
        Event::PaymentReceived { amount_msat, .. } => Some(*amount_msat),
        _ => None,
    })
    .await;
    assert_eq!(received, 30_000_000 - 300_000);
    assert_eq!(net.client.list_channels().len(), 1);
    assert_eq!(inner2.payment_hash(), wrapped2.payment_hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timing_and_hash_faults_as_the_payer_sees_them() {
    let config = FlowLspConfig {
        seed: Some(rand::random()),
        client_connect_timeout: Duration::from_secs(3),
        ..Default::default()
    };
    let net = setup(config).await;

    // NeverOpen: the payment is held, then failed back after the client timeout.
    net.lsp.set_fault(Fault::NeverOpen).unwrap();
    let (inner, wrapped, _) = wrapped_invoice(&net, 20_000_000).await;
    let t0 = Instant::now();
    net.payer.bolt11_payment().send(&wrapped, None).unwrap();
    wait_event(&net.payer, "never_open failure", |e| match e {
        Event::PaymentFailed { .. } => Some(()),
        Event::PaymentSuccessful { .. } => panic!("never_open payment succeeded"),
        _ => None,
    })
    .await;
    assert!(
        t0.elapsed() >= Duration::from_secs(3),
        "failed after {:?}",
        t0.elapsed()
    );
    assert!(net.client.list_channels().is_empty());
    assert!(matches!(
        net.lsp
            .jit_status(&inner.payment_hash().to_byte_array())
            .unwrap()
            .state,
        JitState::Failed { .. }
    ));

    // WrongPaymentHash: LDK refuses the unknown hash; the payer's payment fails.
    net.lsp.set_fault(Fault::WrongPaymentHash).unwrap();
    let (inner, wrapped, _) = wrapped_invoice(&net, 20_000_000).await;
    assert_ne!(wrapped.payment_hash(), inner.payment_hash());
    net.payer.bolt11_payment().send(&wrapped, None).unwrap();
    wait_event(&net.payer, "wrong hash failure", |e| match e {
        Event::PaymentFailed { .. } => Some(()),
        Event::PaymentSuccessful { .. } => panic!("wrong-hash payment succeeded"),
        _ => None,
    })
    .await;

    // WrongPayee: nobody routes to the random key: sending fails at once or soon after.
    net.lsp.set_fault(Fault::WrongPayee).unwrap();
    let (_, wrapped, _) = wrapped_invoice(&net, 20_000_000).await;
    assert_ne!(wrapped.get_payee_pub_key(), net.lsp.node_id());
    if net.payer.bolt11_payment().send(&wrapped, None).is_ok() {
        wait_event(&net.payer, "wrong payee failure", |e| match e {
            Event::PaymentFailed { .. } => Some(()),
            Event::PaymentSuccessful { .. } => panic!("wrong-payee payment succeeded"),
            _ => None,
        })
        .await;
    }

    // OpenLate: the payment goes through, but not before the delay.
    net.lsp
        .set_fault(Fault::OpenLate { delay_secs: 4 })
        .unwrap();
    let (_, wrapped, fee) = wrapped_invoice(&net, 20_000_000).await;
    let t0 = Instant::now();
    net.payer.bolt11_payment().send(&wrapped, None).unwrap();
    wait_event(&net.payer, "open_late success", |e| match e {
        Event::PaymentSuccessful { .. } => Some(()),
        Event::PaymentFailed { reason, .. } => panic!("open_late payment failed: {reason:?}"),
        _ => None,
    })
    .await;
    assert!(
        t0.elapsed() >= Duration::from_secs(4),
        "succeeded after {:?}",
        t0.elapsed()
    );
    let received = wait_event(&net.client, "open_late received", |e| match e {
        Event::PaymentReceived { amount_msat, .. } => Some(*amount_msat),
        _ => None,
    })
    .await;
    assert_eq!(received, 20_000_000 - fee);

    // OverchargeFee: the payer pays the extra, the client still gets inner; the LSP keeps it.
    net.lsp
        .set_fault(Fault::OverchargeFee { extra_msat: 77_000 })
        .unwrap();
    let (inner, wrapped, fee) = wrapped_invoice(&net, 20_000_000).await;
    assert_eq!(wrapped.amount_milli_satoshis(), Some(20_077_000));
    let id = net.payer.bolt11_payment().send(&wrapped, None).unwrap();
    let received = wait_event(&net.client, "overcharged received", |e| match e {
        Event::PaymentReceived { amount_msat, .. } => Some(*amount_msat),
        _ => None,
    })
    .await;
    assert_eq!(received, inner.amount_milli_satoshis().unwrap());
    assert_eq!(received, 20_000_000 - fee);
    wait_until("payer records the overcharged payment", || {
        net.payer.payment(&id).map(|p| p.amount_msat) == Some(Some(20_077_000))
    })
    .await;
}
