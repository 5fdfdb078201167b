//! Native clients of the two LSPs, the reference the browser wallet is measured against: an
//! ldk-node LSPS2 client, and an ldk-node node driving the REST wrapped-invoice API over HTTP.
//!
//! Each receive is timed from the payer's `send` to the client's `PaymentReceived` (the payment
//! claimed), the same span the browser benchmark measures.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ldk_node::config::{AnchorChannelsConfig, Config};
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};
use ldk_node::Event;
use serde::Deserialize;
use serde_json::json;

use crate::network::Devnet;
use crate::nodes::{seed_for, NodeSpec, RunningNode};
use crate::payer::{self, PayResult};

/// What one JIT receive did, exact to the msat.
#[derive(Clone, Debug)]
pub struct JitReceipt {
    /// The invoice the payer paid (the LSPS2 invoice, or the REST LSP's wrapped invoice).
    pub invoice: Bolt11Invoice,
    /// What the payer paid to the invoice (routing fees excluded).
    pub amount_msat: u64,
    /// What the client got.
    pub received_msat: u64,
    /// The payer's side.
    pub pay: PayResult,
    /// From the payer's `send` to the client's `PaymentReceived`.
    pub elapsed: Duration,
}

fn client_spec(devnet: &Devnet, name: &str, dir: &Path) -> Result<NodeSpec> {
    Ok(NodeSpec {
        name: name.to_owned(),
        data_dir: dir.join(name),
        esplora_url: devnet.endpoints.esplora_url.clone(),
        listen_port: std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port(),
        seed: seed_for(&format!("client/{name}/{}", dir.display())),
    })
}

/// A config that takes 0-conf channels from `lsp` with no on-chain anchor reserve: a new
/// client has no on-chain funds at all.
fn trusting(lsp: bitcoin::secp256k1::PublicKey) -> Config {
    let mut config = Config::default();
    config.trusted_peers_0conf.push(lsp);
    let mut anchors = AnchorChannelsConfig::default();
    anchors.trusted_peers_no_reserve.push(lsp);
    config.anchor_channels_config = Some(anchors);
    config
}

/// Starts an ldk-node LSPS2 client of the devnet's LSPS2 LSP.
pub async fn start_lsps2_client(
    devnet: &Devnet,
    name: &str,
    dir: &Path,
) -> Result<Arc<RunningNode>> {
    start_lsps2_client_of(devnet, &devnet.endpoints.lsps2_lsp, name, dir).await
}

/// [`start_lsps2_client`] for the LSPS2 LSP at `lsp` (e.g. the raw service, `lsps2_raw_lsp`).
pub async fn start_lsps2_client_of(
    devnet: &Devnet,
    lsp: &crate::endpoints::NodeEndpoint,
    name: &str,
    dir: &Path,
) -> Result<Arc<RunningNode>> {
    let spec = client_spec(devnet, name, dir)?;
    let lsp_id = lsp.node_id.parse()?;
    let lsp_addr = SocketAddress::TcpIpV4 {
        addr: [127, 0, 0, 1],
        port: lsp.port,
    };
    tokio::task::spawn_blocking(move || {
        let mut builder = spec.builder_with(trusting(lsp_id))?;
        builder.set_liquidity_source_lsps2(lsp_id, lsp_addr, None);
        let node = builder
            .build()
            .map_err(|e| anyhow!("lsps2 client: build: {e:?}"))?;
        RunningNode::start(spec, node)
    })
    .await?
}

/// Starts an ldk-node node that trusts the REST LSP for 0-conf and is connected to it.
pub async fn start_flow_client(
    devnet: &Devnet,
    name: &str,
    dir: &Path,
) -> Result<Arc<RunningNode>> {
    let spec = client_spec(devnet, name, dir)?;
    let lsp = devnet.endpoints.flow_lsp.clone();
    let lsp_id = lsp.node_id.parse()?;
    tokio::task::spawn_blocking(move || {
        let node = spec
            .builder_with(trusting(lsp_id))?
            .build()
            .map_err(|e| anyhow!("flow client: build: {e:?}"))?;
        let running = RunningNode::start(spec, node)?;
        let addr = SocketAddress::TcpIpV4 {
            addr: [127, 0, 0, 1],
            port: lsp.port,
        };
        running
            .node
            .connect(lsp_id, addr, true)
            .map_err(|e| anyhow!("flow client: connect to LSP: {e:?}"))?;
        Ok(running)
    })
    .await?
}

fn description(text: &str) -> Result<Bolt11InvoiceDescription> {
    Ok(Bolt11InvoiceDescription::Direct(Description::new(
        text.to_owned(),
    )?))
}

/// Pays `invoice` from the devnet payer and waits until `client` has received it.
pub async fn pay_and_receive(
    devnet: &Devnet,
    client: &RunningNode,
    invoice: Bolt11Invoice,
) -> Result<JitReceipt> {
    let mut events = client.subscribe();
    let hash = *invoice.payment_hash();
    let started = Instant::now();
    let text = invoice.to_string();
    let (pay, received) = tokio::join!(
        payer::pay(&devnet.payer, &text, None),
        RunningNode::wait_for(&mut events, payer::PAY_TIMEOUT, |e| match e {
            Event::PaymentReceived {
                payment_hash,
                amount_msat,
                ..
            } if payment_hash.0 == hash.to_byte_array() => {
                Some((*amount_msat, started.elapsed()))
            }
            _ => None,
        })
    );
    let pay = pay?;
    if pay.status != "succeeded" {
        bail!("payer's payment failed: {:?}", pay.failure);
    }
    let (received_msat, elapsed) = received.context("client never received the payment")?;
    Ok(JitReceipt {
        amount_msat: invoice.amount_milli_satoshis().unwrap_or(pay.amount_msat),
        invoice,
        received_msat,
        pay,
        elapsed,
    })
}

use bitcoin::hashes::Hash as _;

/// Receives `amount_msat` through the LSPS2 LSP with ldk-node's own client (a fixed-amount
/// invoice), paying at most `max_fee_msat` in opening fees.
pub async fn receive_via_lsps2(
    devnet: &Devnet,
    client: &RunningNode,
    amount_msat: u64,
    max_fee_msat: u64,
) -> Result<JitReceipt> {
    let node = client.node.clone();
    let invoice = tokio::task::spawn_blocking(move || {
        node.bolt11_payment()
            .receive_via_jit_channel(
                amount_msat,
                &description("lsps2 jit")?,
                3600,
                Some(max_fee_msat),
            )
            .map_err(|e| anyhow!("lsps2 client: receive_via_jit_channel: {e:?}"))
    })
    .await??;
    pay_and_receive(devnet, client, invoice).await
}

/// `POST /api/v1/fee` answer: either name for the fee.
#[derive(Deserialize)]
struct FeeAnswer {
    id: String,
    amount_msat: Option<u64>,
    fee_amount_msat: Option<u64>,
}

#[derive(Deserialize)]
struct ProposalAnswer {
    jit_bolt11: String,
}

/// A native client of the REST wrapped-invoice API.
pub struct FlowHttp {
    base: String,
    http: reqwest::Client,
}

impl FlowHttp {
    /// A client of the devnet's REST LSP.
    pub fn new(devnet: &Devnet) -> Self {
        FlowHttp {
            base: devnet.endpoints.flow_lsp.url.clone(),
            http: reqwest::Client::new(),
        }
    }

    /// `POST /api/v1/fee`: the fee id and fee for receiving `amount_msat` at `pubkey`.
    pub async fn fee(&self, amount_msat: u64, pubkey: &str) -> Result<(String, u64)> {
        let resp = self
            .http
            .post(format!("{}/api/v1/fee", self.base))
            .json(&json!({ "amount_msat": amount_msat, "pubkey": pubkey }))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!(
                "fee: HTTP {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let fee: FeeAnswer = resp.json().await?;
        let amount = match (fee.amount_msat, fee.fee_amount_msat) {
            (Some(a), Some(b)) if a != b => bail!("fee: amount_msat {a} != fee_amount_msat {b}"),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => bail!("fee: no fee in the answer"),
        };
        Ok((fee.id, amount))
    }

    /// `POST /api/v1/proposal`: the wrapped invoice for `bolt11`.
    pub async fn proposal(&self, bolt11: &str, fee_id: &str) -> Result<Bolt11Invoice> {
        let resp = self
            .http
            .post(format!("{}/api/v1/proposal", self.base))
            .json(&json!({ "bolt11": bolt11, "fee_id": fee_id }))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!(
                "proposal: HTTP {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let answer: ProposalAnswer = resp.json().await?;
        answer
            .jit_bolt11
            .parse()
            .map_err(|e| anyhow!("proposal: bad jit_bolt11: {e}"))
    }
}

/// Receives `amount_msat` (what the payer pays) through the REST LSP: fee, inner invoice for
/// amount - fee, proposal, then checks the wrapped invoice's hash, payee and amount before
/// handing it to the payer. Returns the receipt and the quoted fee.
pub async fn receive_via_flow(
    devnet: &Devnet,
    client: &RunningNode,
    amount_msat: u64,
) -> Result<(JitReceipt, u64)> {
    let api = FlowHttp::new(devnet);
    let client_id = client.node.node_id().to_string();
    let (fee_id, fee_msat) = api.fee(amount_msat, &client_id).await?;
    let inner_msat = amount_msat
        .checked_sub(fee_msat)
        .context("fee above amount")?;
    let node = client.node.clone();
    let inner = tokio::task::spawn_blocking(move || {
        node.bolt11_payment()
            .receive(inner_msat, &description("flow jit")?, 3600)
            .map_err(|e| anyhow!("flow client: receive: {e:?}"))
    })
    .await??;
    let wrapped = api.proposal(&inner.to_string(), &fee_id).await?;
    if wrapped.payment_hash() != inner.payment_hash() {
        bail!("wrapped invoice has another payment hash");
    }
    if wrapped.get_payee_pub_key().to_string() != devnet.endpoints.flow_lsp.node_id {
        bail!("wrapped invoice is not payable to the LSP");
    }
    if wrapped.amount_milli_satoshis() != Some(amount_msat) {
        bail!(
            "wrapped invoice amount {:?} != {amount_msat}",
            wrapped.amount_milli_satoshis()
        );
    }
    Ok((pay_and_receive(devnet, client, wrapped).await?, fee_msat))
}
