//! End to end on a whole devnet: a native client with no channel receives its first payment
//! through a JIT channel from each LSP, amounts and fees exact to the msat, and a second payment
//! reuses the channel without an opening fee.

use std::time::Duration;

use devnet::clients::{
    pay_and_receive, receive_via_flow, receive_via_lsps2, start_flow_client, start_lsps2_client,
    start_lsps2_client_of,
};
use devnet::network::{Devnet, DevnetConfig, Ports};

/// LSPS2 fee as bLIP-52 defines it, computed independently of any LSP code.
fn lsps2_fee(amount_msat: u64, ppm: u32, min_fee_msat: u64) -> u64 {
    let prop = (amount_msat as u128 * ppm as u128).div_ceil(1_000_000) as u64;
    prop.max(min_fee_msat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_payment_through_each_lsp() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig::new(dir.path().join("devnet"), Ports::any());
    let terms = config.lsps2_terms.clone();
    let (flow_ppm, flow_min) = (config.flow_fee_ppm, config.flow_min_fee_msat);
    let devnet = Devnet::start(config).await.expect("devnet starts");

    // LSPS2, through ldk-node's own client. An amount whose proportional fee is above the
    // minimum and not a whole msat, so the fee's rounding up is exercised.
    let client = start_lsps2_client(&devnet, "lsps2-client", dir.path())
        .await
        .unwrap();
    let amount = 150_000_001;
    assert!(lsps2_fee(amount, terms.fee_ppm, 0) > terms.min_fee_msat);
    let expected_fee = lsps2_fee(amount, terms.fee_ppm, terms.min_fee_msat);
    let first = receive_via_lsps2(&devnet, &client, amount, 10_000_000)
        .await
        .unwrap();
    println!(
        "lsps2: paid {} msat, received {} msat in {:?}",
        first.amount_msat, first.received_msat, first.elapsed
    );
    assert_eq!(first.amount_msat, amount);
    assert_eq!(
        first.received_msat,
        amount - expected_fee,
        "client gets amount - opening fee"
    );
    let channels = client.node.list_channels();
    assert_eq!(channels.len(), 1, "one JIT channel");
    assert_eq!(
        channels[0].counterparty_node_id.to_string(),
        devnet.endpoints.lsps2_lsp.node_id
    );

    // The second payment rides the same channel: an ordinary invoice, no opening fee.
    let second = {
        use ldk_node::lightning_invoice::{Bolt11InvoiceDescription, Description};
        let desc = Bolt11InvoiceDescription::Direct(Description::new("second".into()).unwrap());
        let inv = client
            .node
            .bolt11_payment()
            .receive(1_000_000, &desc, 3600)
            .unwrap();
        pay_and_receive(&devnet, &client, inv).await.unwrap()
    };
    assert_eq!(
        second.received_msat, 1_000_000,
        "no opening fee the second time"
    );
    assert_eq!(client.node.list_channels().len(), 1, "no second channel");
    println!(
        "lsps2: second payment {} msat in {:?}",
        second.received_msat, second.elapsed
    );

    // REST wrapped invoice, through a native HTTP client.
    let lsps2_client = client;
    let client = start_flow_client(&devnet, "flow-client", dir.path())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // An ldk-node client keeps LDK's default 10% in-flight cap on the 1 M sat JIT channel.
    let amount = 50_000_000;
    let (receipt, fee) = receive_via_flow(&devnet, &client, amount).await.unwrap();
    println!(
        "flow: paid {} msat, fee {fee}, received {} msat in {:?}",
        receipt.amount_msat, receipt.received_msat, receipt.elapsed
    );
    assert_eq!(
        fee,
        lsps2_fee(amount, flow_ppm, flow_min),
        "fee quote follows the LSP's terms"
    );
    assert_eq!(
        receipt.received_msat,
        amount - fee,
        "client gets exactly its inner invoice"
    );
    assert_eq!(receipt.pay.amount_msat, amount);
    assert_eq!(client.node.list_channels().len(), 1);

    // LSPS2 again, through the service on the REST LSP's own node (lightning-liquidity's
    // service handler, the devnet's lying LSPS2 LSP when a fault is set): honest, exact.
    let flow_client = client;
    let raw = devnet.endpoints.lsps2_raw_lsp.clone();
    assert_eq!(raw.node_id, devnet.endpoints.flow_lsp.node_id);
    let client = start_lsps2_client_of(&devnet, &raw, "lsps2-raw-client", dir.path())
        .await
        .unwrap();
    let amount = 150_000_001;
    let expected_fee = lsps2_fee(amount, terms.fee_ppm, terms.min_fee_msat);
    let raw_receipt = receive_via_lsps2(&devnet, &client, amount, 10_000_000)
        .await
        .unwrap();
    println!(
        "lsps2 raw: paid {} msat, received {} msat in {:?}",
        raw_receipt.amount_msat, raw_receipt.received_msat, raw_receipt.elapsed
    );
    assert_eq!(
        raw_receipt.received_msat,
        amount - expected_fee,
        "client gets amount - opening fee"
    );
    let channels = client.node.list_channels();
    assert_eq!(channels.len(), 1, "one JIT channel");
    assert_eq!(channels[0].counterparty_node_id.to_string(), raw.node_id);
    assert!(
        channels[0].channel_value_sats >= amount / 1000,
        "{}",
        channels[0].channel_value_sats
    );

    // Stop every node before the temp dir (their log files) goes.
    for node in [lsps2_client, flow_client, client] {
        tokio::task::spawn_blocking(move || node.stop())
            .await
            .unwrap();
    }
    devnet.stop().await;
}
