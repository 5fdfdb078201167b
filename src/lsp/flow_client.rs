//! The REST wrapped-invoice client (wasm32; protocols.md A): from the wallet's config and one
//! receive request to a checked wrapped invoice and its durable JIT record.
//!
//! Steps: `GET /api/v1/info` (the LSP's `pubkey` must equal the config's `lsp.nodeId` when one
//! is pinned, and the node id the connection loop already uses) → the wallet is connected to
//! that node (the LSP opens the channel over this connection) → `POST /api/v1/fee` →
//! [`check_fee`] against the receive's caps → the wallet's own invoice for `amount − fee` (its
//! own payment hash, no route hint) → `POST /api/v1/proposal` (`simpleTaproot` when configured)
//! → [`parse_and_check_wrapped_invoice`]. Every call carries `x-auth-token` when a token is
//! configured.
//!
//! Guarantees: nothing the LSP sent is returned unchecked; failures are stable codes:
//! `LSP_UNREACHABLE` (no answer, or not connected in time), `LSP_REJECTED` with a reason (non-2xx),
//! `LSP_BAD_RESPONSE` (2xx that is not the expected JSON), `LSP_IDENTITY_MISMATCH`,
//! `FEE_ABOVE_CAP`, `INVALID_WRAPPED_INVOICE` with the failed rule, `INVALID_AMOUNT` (a flow
//! receive needs an amount).

use core::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;

use crate::config::LspConfig;
use crate::error::Error;
use crate::fee::FeeCaps;
use crate::js_args::ReceiveArgs;
use crate::lsp::flow::{
    check_fee, parse_and_check_wrapped_invoice, FeeRequest, FeeResponse, FlowTerms, InfoResponse,
    ProposalRequest, ProposalResponse, AUTH_HEADER, FEE_PATH, INFO_PATH, PROPOSAL_PATH,
};
use crate::lsp::jit::{JitProtocol, JitRecord};
use crate::lsp::jit_invoice::flow_inner_spec;
use crate::lsp::own_invoice::{new_inbound_payment, payee, sign};
use crate::lsp::receive::{wait_for_lsp, Prepared};
use crate::lsp::receive_rules::map_http_error;
use crate::net::HttpClient;
use crate::node::running::Node;
use crate::payment::ViaJit;
use crate::time;

/// Per-request timeout of the LSP's REST calls.
pub const FLOW_HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// How long the wallet waits to be connected to the LSP before giving up on the receive.
pub const FLOW_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The LSP's node id from `GET /api/v1/info`, checked against the config's pin and the node id
/// trusted on first use ([`super::identity`]); another node is `LSP_IDENTITY_MISMATCH`.
pub async fn lsp_identity(
    node: &Node,
    http: &HttpClient,
    url: &str,
    pinned: Option<&PublicKey>,
) -> Result<PublicKey, Error> {
    let info: InfoResponse = http
        .get_json(&format!("{url}{INFO_PATH}"))
        .await
        .map_err(|e| map_http_error(&e, "info: not the expected JSON"))?;
    info.check_identity(pinned)?;
    super::identity_store::check_offered(node, info.pubkey).await?;
    Ok(info.pubkey)
}

/// Runs the REST flow for `args` with `caps` (see the module doc).
pub async fn prepare(node: &Node, args: &ReceiveArgs, caps: FeeCaps) -> Result<Prepared, Error> {
    let LspConfig::Flow {
        url,
        token,
        simple_taproot,
        node_id,
    } = &node.config.lsp
    else {
        return Err(Error::InvalidConfig {
            field: "lsp",
            problem: "is not a REST flow LSP",
        });
    };
    let amount_msat = args.amount_msat.ok_or(Error::InvalidAmount {
        reason: "a receive through a REST LSP needs an amount",
    })?;
    let mut http = HttpClient::new(FLOW_HTTP_TIMEOUT);
    if let Some(t) = token {
        http = http.with_header(AUTH_HEADER, t);
    }

    let lsp = lsp_identity(node, &http, url, node_id.as_ref()).await?;
    wait_for_lsp(node, lsp, FLOW_CONNECT_TIMEOUT).await?;

    let fee: FeeResponse = http
        .post_json(
            &format!("{url}{FEE_PATH}"),
            &FeeRequest {
                amount_msat,
                pubkey: node.node_id,
            },
        )
        .await
        .map_err(|e| map_http_error(&e, "fee: not the expected JSON"))?;
    let quote = fee.into_quote()?;
    let inner_amount_msat = check_fee(&quote, amount_msat, &caps)?;

    let now = time::now_secs();
    let payment = new_inbound_payment(node, Some(inner_amount_msat), args.expiry_secs, now)?;
    let spec = flow_inner_spec(
        node.network,
        payee(node),
        payment,
        inner_amount_msat,
        &args.description,
        args.expiry_secs,
        MIN_FINAL_CLTV_EXPIRY_DELTA,
    );
    let inner = sign(node, &spec)?;

    let proposal: ProposalResponse = http
        .post_json(
            &format!("{url}{PROPOSAL_PATH}"),
            &ProposalRequest {
                bolt11: inner.to_string(),
                fee_id: quote.id.clone(),
                simple_taproot: *simple_taproot,
            },
        )
        .await
        .map_err(|e| map_http_error(&e, "proposal: not the expected JSON"))?;
    let wrapped = parse_and_check_wrapped_invoice(
        &proposal.jit_bolt11,
        &inner,
        &lsp,
        quote.fee_msat,
        &caps,
        node.network,
    )
    .map_err(Error::InvalidWrappedInvoice)?;

    // Amounts are present and `wrapped ≥ inner − 999 msat` after the check; the LSP's cut is what
    // the payer pays on top of what the wallet receives.
    let wrapped_msat = wrapped
        .amount_milli_satoshis()
        .ok_or(Error::InvalidWrappedInvoice(
            crate::error::WrappedInvoiceFault::WrongAmount,
        ))?;
    let fee_msat = wrapped_msat.saturating_sub(inner_amount_msat);
    let expires_at_ms = wrapped
        .expires_at()
        .map_or(u64::MAX, |d| d.as_secs())
        .saturating_mul(1000);

    // The LSP opens the channel over the existing connection: make sure it is still up.
    wait_for_lsp(node, lsp, FLOW_CONNECT_TIMEOUT).await?;

    let terms = FlowTerms {
        fee_id: quote.id,
        fee_msat: quote.fee_msat,
        inner_amount_msat,
        wrapped_invoice: wrapped.to_string(),
    };
    let record = JitRecord::new(&inner, lsp, JitProtocol::Flow(terms), caps, now);
    Ok(Prepared {
        payer_invoice: wrapped.to_string(),
        record,
        fee_msat,
        amount_msat: Some(wrapped_msat),
        received_msat: Some(inner_amount_msat),
        expires_at_ms,
        via: ViaJit::Flow,
    })
}
