//! The devnet's control API (HTTP JSON) for tests and the demo wallet.
//!
//! Only pages on loopback may call it ([`crate::origin`]): a request whose `Origin` (or `Host`)
//! is not loopback is answered 403 `{error: "origin_refused"}` before any handler runs, so it has
//! no effect (CORS alone would only hide the answer of a simple POST, not stop it); CORS answers
//! name only the caller's own loopback origin.
//!
//! | call | body | answer |
//! | --- | --- | --- |
//! | `GET /status` | – | height, tip, and per node: id, channels, balances |
//! | `GET /endpoints` | – | the endpoints JSON |
//! | `POST /mine` | `{count?}` (default 1) | `{hashes, height}` |
//! | `POST /pay` | `{invoice, amount_msat?}` | the payer's `PayResult` (preimage, fee, elapsed) |
//! | `POST /send-onchain` | `{address, amount_sat}` | `{txid}`: the payer's on-chain wallet pays a regtest address (in the mempool on return; mine to confirm) |
//! | `POST /invoice` | `{amount_msat, description?, node?}` | `{invoice}`: the payer's (or, with `node: "merchant"`, the merchant's, with no route hints), for a wallet to pay |
//! | `POST /merchant/received` | `{payment_hash}` | `{status, amount_msat}`: what the merchant's node recorded for it (`succeeded` once claimed; nulls if unknown) |
//! | `POST /open-channel` | `{from: "lsps2"\|"flow", node_id, capacity_sat, push_msat?, announced?}` | `{ok, funding_txid}` once the funding tx is in the mempool |
//! | `POST /flow/fault` | a `Fault`: `{"mode": m, ...}`, m one of `none`, `overcharge_fee` (`extra_msat`), `wrong_payment_hash`, `wrong_payee`, `wrong_network` (`network`), `never_open`, `open_late` (`delay_secs`), `impostor_identity`, `skim` (`msat`) | `{fault}` |
//! | `POST /lsps2-raw/fault` | an `Lsps2Fault` for the LSPS2 service on the REST LSP's node: `{"mode": m, ...}`, m one of `none`, `unknown_menu_field`, `long_promise`, `expired_offer`, `offer_expires_in` (`secs`), `min_above_max`, `fee_overflow`, `empty_menu`, `buy_scid_zero`, `buy_cltv_delta` (`delta`), `client_trusts_lsp`, `skim_above_fee` (`extra_msat`), `never_open`, `open_late` (`delay_secs`), `ignore_fixed_size` | `{fault}` |
//! | `POST /rgs/fault` | what the RGS server serves: `{"mode": m}`, m one of `none`, `truncated`, `wrong_chain`, `stale`, `too_large` (a hostile snapshot whatever the `since`), `slow` (the honest one after 15 s) | `{fault}` |
//! | `GET /lsps2-raw/held-funding` | the funding transactions that service held back for `client_trusts_lsp` buys, each with whether the chain had it just before and just after the opening fee was collected | `{held: [{txid, on_chain_before_fee, on_chain_after_fee}]}` |
//! | `POST /flow/pay-skimmed` | `{invoice, skim_msat}`: the REST LSP's node forwards a payment of `invoice` with `skim_msat` withheld as a skimmed fee (TLV 65537), e.g. on a direct payment | `{status, preimage?, failure?}` |
//! | `POST /flow/pay-short` | `{invoice, short_msat}`: an HTLC for less than the invoice: the REST LSP's node pays `invoice` `short_msat` below its amount (from its skim source); a JIT invoice of its LSPS2 service has the channel opened and the HTLC forwarded anyway, less the fee; a direct invoice is forwarded as is | `{status, preimage?, failure?}` |
//! | `POST /force-close` | `{from?: "lsps2"\|"flow", node_id}`: that LSP (default the LSPS2 one) force-closes every channel it has with that node, broadcasting its own commitment (CPFP-bumped from its wallet) | `{closed: [channel ids]}` |
//! | `POST /chain/fee-spike` | `{sat_per_vb, max_secs?}` (default 120 s; `sat_per_vb: null` ends it): Esplora's `/fee-estimates` answers that rate for every target | `{sat_per_vb}` |
//! | `POST /chain/hide-mempool` | `{hidden: bool}`: Esplora answers 404 for unconfirmed txs | `{hidden}` |
//! | `POST /chain/esplora-fault` | `{mode, secs?, server?: "primary"\|"fallback"}` (default 60 s, at most 600; the primary server): towards browsers only (requests with an `Origin`), Esplora answers `rate_limit` 429 (`retry_after_secs?` as `Retry-After`), `server_error` 503, or `drop`s the connection; `none` ends it | `{fault, secs}` |
//! | `GET /chain/esplora-fault[?server=fallback]` | – | `{fault, active, refused_at_ms: [unix ms of each refusal since it was set]}` |
//! | `GET /chain/esplora-requests[?server=fallback]` | – | browsers' Esplora requests since the last reset: `{total, by_route: {"GET /block/{hash}/header": n, …}, repeated_immutable: {path: n}}` (headers and raw transactions asked for more than once) |
//! | `POST /chain/esplora-requests/reset[?server=fallback]` | – | `{total: 0}`: counting starts again |
//!
//! Errors: `{error, message}` with HTTP 400 (bad request) or 500.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;
use ldk_node::lightning::ln::msgs::SocketAddress;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use lightning::types::payment::PaymentPreimage;

use crate::chain::{EsploraFault, EsploraServer};
use crate::lsp_flow::lsps2::Lsps2Fault;
use crate::lsp_flow::Fault;
use crate::network::Devnet;
use crate::nodes::RunningNode;
use crate::payer;

/// An error answer: `{error, message}`.
pub struct ApiError(StatusCode, &'static str, String);

impl ApiError {
    fn bad(code: &'static str, message: impl ToString) -> Self {
        ApiError(StatusCode::BAD_REQUEST, code, message.to_string())
    }
    fn internal(message: impl ToString) -> Self {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "message": self.2 }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// The control API router.
pub fn router(devnet: Arc<Devnet>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/endpoints", get(endpoints))
        .route("/mine", post(mine))
        .route("/pay", post(pay))
        .route("/invoice", post(invoice))
        .route("/send-onchain", post(send_onchain))
        .route("/merchant/received", post(merchant_received))
        .route("/open-channel", post(open_channel))
        .route("/force-close", post(force_close))
        .route("/flow/fault", post(set_fault))
        .route("/flow/pay-skimmed", post(pay_skimmed))
        .route("/flow/pay-short", post(pay_short))
        .route("/lsps2-raw/fault", post(set_lsps2_fault))
        .route("/lsps2-raw/held-funding", get(lsps2_held_funding))
        .route("/chain/hide-mempool", post(hide_mempool))
        .route("/chain/fee-spike", post(fee_spike))
        .route(
            "/chain/esplora-fault",
            post(set_esplora_fault).get(esplora_fault_report),
        )
        .route("/chain/esplora-requests", get(esplora_requests))
        .route(
            "/chain/esplora-requests/reset",
            post(reset_esplora_requests),
        )
        .route("/rgs/fault", post(set_rgs_fault))
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::predicate(|origin, _| {
                    origin.to_str().is_ok_and(crate::origin::origin_allowed)
                }))
                .allow_methods(AllowMethods::mirror_request())
                .allow_headers(AllowHeaders::mirror_request()),
        )
        // Outermost: a foreign request (preflight included) is refused before anything runs.
        .layer(middleware::from_fn(refuse_foreign_origin))
        .with_state(devnet)
}

/// Answers 403 `origin_refused` to a request the origin rule ([`crate::origin`]) refuses; passes
/// the others on.
async fn refuse_foreign_origin(req: Request, next: Next) -> Response {
    let allowed = {
        // A header that is not text is a refusal (NUL is no loopback host).
        let text = |name| {
            req.headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or("\u{0}"))
        };
        crate::origin::request_allowed(text(header::ORIGIN), text(header::HOST))
    };
    if !allowed {
        return ApiError(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "the control API serves only pages on loopback".into(),
        )
        .into_response();
    }
    next.run(req).await
}

fn node_status(node: &RunningNode) -> Value {
    let balances = node.node.list_balances();
    let channels: Vec<Value> = node
        .node
        .list_channels()
        .iter()
        .map(|c| {
            json!({
                "channel_id": c.channel_id.to_string(),
                "counterparty_node_id": c.counterparty_node_id.to_string(),
                "short_channel_id": c.short_channel_id,
                "outbound_scid_alias": c.outbound_scid_alias,
                "capacity_sat": c.channel_value_sats,
                "outbound_capacity_msat": c.outbound_capacity_msat,
                "inbound_capacity_msat": c.inbound_capacity_msat,
                "confirmations": c.confirmations,
                "is_usable": c.is_usable,
                "is_announced": c.is_announced,
            })
        })
        .collect();
    json!({
        "node_id": node.node.node_id().to_string(),
        "onchain_sat": balances.total_onchain_balance_sats,
        "lightning_sat": balances.total_lightning_balance_sats,
        "channels": channels,
    })
}

async fn status(State(devnet): State<Arc<Devnet>>) -> ApiResult {
    use crate::chain::ChainAccess;
    let (height, tip) = devnet.chain.tip();
    Ok(Json(json!({
        "network": "regtest",
        "height": height,
        "tip": tip.to_string(),
        "lsps2_lsp": node_status(&devnet.lsps2),
        "payer": node_status(&devnet.payer),
        "flow_lsp": serde_json::to_value(devnet.flow.status()).map_err(ApiError::internal)?,
    })))
}

async fn endpoints(State(devnet): State<Arc<Devnet>>) -> ApiResult {
    Ok(Json(
        serde_json::to_value(&devnet.endpoints).map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct MineRequest {
    count: Option<u32>,
}

async fn mine(State(devnet): State<Arc<Devnet>>, body: Option<Json<MineRequest>>) -> ApiResult {
    let count = body.and_then(|b| b.0.count).unwrap_or(1);
    if count == 0 || count > 1000 {
        return Err(ApiError::bad("bad_count", "count must be 1..=1000"));
    }
    let hashes = devnet.mine(count).await.map_err(ApiError::internal)?;
    let (height, _) = crate::chain::ChainAccess::tip(devnet.chain.as_ref());
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_string()).collect();
    Ok(Json(json!({ "hashes": hashes, "height": height })))
}

#[derive(Deserialize)]
struct PayRequest {
    invoice: String,
    amount_msat: Option<u64>,
}

async fn pay(State(devnet): State<Arc<Devnet>>, Json(req): Json<PayRequest>) -> ApiResult {
    let result = payer::pay(&devnet.payer, &req.invoice, req.amount_msat)
        .await
        .map_err(|e| ApiError::bad("pay_refused", format!("{e:#}")))?;
    Ok(Json(
        serde_json::to_value(result).map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
struct SendOnchainRequest {
    address: String,
    amount_sat: u64,
}

async fn send_onchain(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<SendOnchainRequest>,
) -> ApiResult {
    if req.amount_sat == 0 {
        return Err(ApiError::bad("bad_amount", "amount_sat must be positive"));
    }
    let txid = payer::send_onchain(&devnet.payer, &req.address, req.amount_sat)
        .await
        .map_err(|e| ApiError::bad("send_refused", format!("{e:#}")))?;
    Ok(Json(json!({ "txid": txid.to_string() })))
}

#[derive(Deserialize)]
struct InvoiceRequest {
    amount_msat: u64,
    description: Option<String>,
    /// `payer` (the default) or `merchant`.
    node: Option<String>,
}

async fn invoice(State(devnet): State<Arc<Devnet>>, Json(req): Json<InvoiceRequest>) -> ApiResult {
    let node = match req.node.as_deref() {
        None | Some("payer") => &devnet.payer,
        Some("merchant") => &devnet.merchant,
        Some(other) => return Err(ApiError::bad("bad_node", format!("no node {other}"))),
    };
    let description = req
        .description
        .unwrap_or_else(|| format!("devnet {}", node.spec.name));
    let invoice = payer::invoice(node, req.amount_msat, &description)
        .map_err(|e| ApiError::bad("invoice_failed", format!("{e:#}")))?;
    Ok(Json(json!({ "invoice": invoice.to_string() })))
}

#[derive(Deserialize)]
struct ReceivedRequest {
    payment_hash: String,
}

/// What the merchant received for `payment_hash`: its status and amount, as ldk-node records it.
async fn merchant_received(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<ReceivedRequest>,
) -> ApiResult {
    let hash: [u8; 32] = hex::FromHex::from_hex(&req.payment_hash)
        .map_err(|e| ApiError::bad("bad_payment_hash", format!("{e}")))?;
    let id = ldk_node::lightning::ln::channelmanager::PaymentId(hash);
    Ok(Json(match devnet.merchant.node.payment(&id) {
        Some(p) => json!({
            "status": format!("{:?}", p.status).to_lowercase(),
            "amount_msat": p.amount_msat,
        }),
        None => json!({ "status": null, "amount_msat": null }),
    }))
}

#[derive(Deserialize)]
struct ForceCloseRequest {
    /// `"lsps2"` (the default) or `"flow"`: which LSP closes.
    #[serde(default = "lsps2_name")]
    from: String,
    node_id: String,
}

fn lsps2_name() -> String {
    "lsps2".to_string()
}

async fn force_close(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<ForceCloseRequest>,
) -> ApiResult {
    let node_id = PublicKey::from_str(&req.node_id).map_err(|e| ApiError::bad("bad_node_id", e))?;
    let closed = match req.from.as_str() {
        "lsps2" => force_close_lsps2(&devnet, node_id).await?,
        "flow" => devnet
            .flow
            .force_close_channels_with(node_id)
            .map_err(|e| ApiError::bad("close_failed", e))?,
        other => {
            return Err(ApiError::bad(
                "bad_from",
                format!("from must be \"lsps2\" or \"flow\", not {other:?}"),
            ))
        }
    };
    if closed.is_empty() {
        return Err(ApiError::bad(
            "no_channel",
            "the LSP has no channel with that node",
        ));
    }
    Ok(Json(json!({ "closed": closed })))
}

/// The LSPS2 LSP (ldk-node) force-closes its channels with `node_id`.
async fn force_close_lsps2(devnet: &Devnet, node_id: PublicKey) -> Result<Vec<String>, ApiError> {
    let lsp = devnet.lsps2.node.clone();
    tokio::task::spawn_blocking(move || {
        let mut closed = Vec::new();
        for c in lsp.list_channels() {
            if c.counterparty_node_id != node_id {
                continue;
            }
            lsp.force_close_channel(
                &c.user_channel_id,
                node_id,
                Some("devnet: force close by the LSP".to_string()),
            )
            .map_err(|e| format!("{e:?}"))?;
            closed.push(c.channel_id.to_string());
        }
        Ok::<_, String>(closed)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::bad("close_failed", e))
}

#[derive(Deserialize)]
struct OpenChannelRequest {
    from: String,
    node_id: String,
    capacity_sat: u64,
    push_msat: Option<u64>,
    /// An announced (public) channel instead of a private one.
    #[serde(default)]
    announced: bool,
}

async fn open_channel(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<OpenChannelRequest>,
) -> ApiResult {
    let node_id = PublicKey::from_str(&req.node_id).map_err(|e| ApiError::bad("bad_node_id", e))?;
    let funding: Box<dyn Fn() -> Option<Option<Txid>> + Send> = match req.from.as_str() {
        "lsps2" => {
            let lsp = devnet.lsps2.node.clone();
            if !lsp
                .list_peers()
                .iter()
                .any(|p| p.node_id == node_id && p.is_connected)
            {
                return Err(ApiError::bad(
                    "not_connected",
                    "that node is not connected to the LSP",
                ));
            }
            // The peer is connected (through the proxy): ldk-node dials only if it is not, so
            // the address is never used.
            let unused = SocketAddress::TcpIpV4 {
                addr: [127, 0, 0, 1],
                port: 9,
            };
            let (capacity, push, announced) = (req.capacity_sat, req.push_msat, req.announced);
            let opener = lsp.clone();
            let user_channel_id = tokio::task::spawn_blocking(move || {
                if announced {
                    opener.open_announced_channel(node_id, unused, capacity, push, None)
                } else {
                    opener.open_channel(node_id, unused, capacity, push, None)
                }
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::bad("open_failed", format!("{e:?}")))?;
            Box::new(move || {
                lsp.list_channels()
                    .into_iter()
                    .find(|c| c.user_channel_id == user_channel_id)
                    .map(|c| c.funding_txo.map(|o| o.txid))
            })
        }
        "flow" => {
            let user_channel_id = devnet
                .flow
                .open_channel(
                    node_id,
                    req.capacity_sat,
                    req.push_msat.unwrap_or(0),
                    req.announced,
                )
                .map_err(|e| ApiError::bad("open_failed", format!("{e:#}")))?;
            let flow = devnet.flow.clone();
            Box::new(move || flow.funding_txid(user_channel_id))
        }
        other => return Err(ApiError::bad("bad_from", format!("unknown LSP {other:?}"))),
    };
    let txid = funding_broadcast(&devnet, funding).await?;
    Ok(Json(
        json!({ "ok": true, "funding_txid": txid.to_string() }),
    ))
}

/// How long [`open_channel`] waits for the peer to accept and the funding to be broadcast.
const FUNDING_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until the opener knows the funding txid and the transaction is in the mempool, so a
/// `/mine` that follows confirms it (mining before the opener's asynchronous broadcast would
/// leave it unconfirmed: a race a test cannot see).
async fn funding_broadcast(
    devnet: &Devnet,
    funding: Box<dyn Fn() -> Option<Option<Txid>> + Send>,
) -> Result<Txid, ApiError> {
    let deadline = tokio::time::Instant::now() + FUNDING_WAIT;
    loop {
        match funding() {
            None => {
                return Err(ApiError::bad(
                    "open_refused",
                    "the peer did not take the channel",
                ))
            }
            Some(Some(txid)) if devnet.chain.mempool_txids().contains(&txid) => return Ok(txid),
            Some(_) => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ApiError::bad(
                "funding_not_broadcast",
                format!("no funding transaction in the mempool within {FUNDING_WAIT:?}"),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[derive(Deserialize)]
struct HideMempool {
    hidden: bool,
    /// How long the mempool stays hidden at most (default [`HIDE_MEMPOOL_DEFAULT_SECS`]).
    max_secs: Option<u64>,
}

/// The longest a hidden mempool stays hidden when the caller names no `max_secs`: a test that
/// dies before showing it again leaves the next tests a working chain source.
const HIDE_MEMPOOL_DEFAULT_SECS: u64 = 180;

/// A lagging chain source: while hidden, Esplora's transaction lookups do not see the mempool
/// (e.g. a JIT channel's funding transaction before it confirms). It shows again by itself after
/// `max_secs`.
async fn hide_mempool(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<HideMempool>,
) -> ApiResult {
    let max_secs = req.max_secs.unwrap_or(HIDE_MEMPOOL_DEFAULT_SECS);
    if req.hidden && max_secs == 0 {
        return Err(ApiError::bad("bad_max_secs", "max_secs must be at least 1"));
    }
    let hide_for = req.hidden.then(|| std::time::Duration::from_secs(max_secs));
    devnet.chain.set_mempool_hidden(hide_for);
    Ok(Json(
        json!({ "hidden": req.hidden, "max_secs": req.hidden.then_some(max_secs) }),
    ))
}

#[derive(Deserialize)]
struct FeeSpike {
    sat_per_vb: Option<u32>,
    max_secs: Option<u64>,
}

async fn fee_spike(State(devnet): State<Arc<Devnet>>, Json(req): Json<FeeSpike>) -> ApiResult {
    let max_secs = req.max_secs.unwrap_or(120);
    if !(1..=3600).contains(&max_secs) || req.sat_per_vb.is_some_and(|r| !(1..=10_000).contains(&r))
    {
        return Err(ApiError::bad(
            "bad_fee_spike",
            "sat_per_vb must be 1..=10000 and max_secs 1..=3600",
        ));
    }
    let spike = req
        .sat_per_vb
        .map(|r| (r * 1000, std::time::Duration::from_secs(max_secs)));
    devnet.chain.set_fee_spike(spike);
    Ok(Json(json!({ "sat_per_vb": req.sat_per_vb })))
}

#[derive(Deserialize)]
struct EsploraFaultRequest {
    #[serde(flatten)]
    fault: EsploraFault,
    /// How long it lasts at most (default 60 s, 1..=600).
    secs: Option<u64>,
    /// Which server (default the primary).
    #[serde(default)]
    server: EsploraServer,
}

/// `?server=primary|fallback` (default primary).
#[derive(Deserialize)]
struct ServerQuery {
    #[serde(default)]
    server: EsploraServer,
}

async fn set_esplora_fault(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<EsploraFaultRequest>,
) -> ApiResult {
    let secs = req.secs.unwrap_or(60);
    if !(1..=600).contains(&secs) {
        return Err(ApiError::bad("bad_secs", "secs must be 1..=600"));
    }
    devnet
        .chain
        .esplora_site(req.server)
        .faults
        .set(req.fault, std::time::Duration::from_secs(secs));
    tracing::info!(fault = ?req.fault, secs, server = ?req.server, "esplora fault set");
    Ok(Json(
        json!({ "fault": req.fault, "secs": secs, "server": req.server }),
    ))
}

async fn esplora_fault_report(
    State(devnet): State<Arc<Devnet>>,
    Query(q): Query<ServerQuery>,
) -> ApiResult {
    Ok(Json(json!(devnet
        .chain
        .esplora_site(q.server)
        .faults
        .report())))
}

async fn esplora_requests(
    State(devnet): State<Arc<Devnet>>,
    Query(q): Query<ServerQuery>,
) -> ApiResult {
    Ok(Json(json!(devnet
        .chain
        .esplora_site(q.server)
        .requests
        .report())))
}

async fn reset_esplora_requests(
    State(devnet): State<Arc<Devnet>>,
    Query(q): Query<ServerQuery>,
) -> ApiResult {
    devnet.chain.esplora_site(q.server).requests.reset();
    Ok(Json(json!({ "total": 0 })))
}

async fn set_rgs_fault(
    State(devnet): State<Arc<Devnet>>,
    Json(fault): Json<crate::rgs::server::RgsFault>,
) -> ApiResult {
    *devnet.rgs_fault.lock().unwrap() = fault;
    tracing::info!(?fault, "RGS fault mode set");
    Ok(Json(json!({ "fault": fault })))
}

async fn lsps2_held_funding(State(devnet): State<Arc<Devnet>>) -> ApiResult {
    Ok(Json(json!({ "held": devnet.flow.lsps2_held_funding() })))
}

async fn set_lsps2_fault(
    State(devnet): State<Arc<Devnet>>,
    Json(fault): Json<Lsps2Fault>,
) -> ApiResult {
    devnet
        .flow
        .set_lsps2_fault(fault)
        .map_err(|e| ApiError::bad("bad_fault", e))?;
    Ok(Json(json!({ "fault": fault })))
}

#[derive(Deserialize)]
struct PaySkimmedRequest {
    invoice: String,
    skim_msat: u64,
}

#[derive(Deserialize)]
struct PayShortRequest {
    invoice: String,
    short_msat: u64,
}

/// `invoice` as a BOLT11 invoice, or `400 bad_invoice`.
fn parse_invoice(invoice: &str) -> Result<lightning_invoice::Bolt11Invoice, ApiError> {
    lightning_invoice::Bolt11Invoice::from_str(invoice.trim())
        .map_err(|e| ApiError::bad("bad_invoice", format!("{e}")))
}

/// A payment's outcome as the control API answers it: `{status: "succeeded", preimage}` or
/// `{status: "failed", failure}`.
fn payment_outcome(outcome: Result<PaymentPreimage, String>) -> Json<Value> {
    Json(match outcome {
        Ok(preimage) => json!({
            "status": "succeeded",
            "preimage": hex::DisplayHex::to_lower_hex_string(&preimage.0[..]),
        }),
        Err(failure) => json!({ "status": "failed", "failure": failure }),
    })
}

/// The skim source pays `invoice` `short_msat` below its amount through the REST LSP's node
/// ([`crate::lsp_flow::FlowLsp::pay_short`]).
async fn pay_short(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<PayShortRequest>,
) -> ApiResult {
    let invoice = parse_invoice(&req.invoice)?;
    if req.short_msat == 0 {
        return Err(ApiError::bad("bad_short", "short_msat must be above 0"));
    }
    Ok(payment_outcome(
        devnet.flow.pay_short(&invoice, req.short_msat).await,
    ))
}

/// The REST LSP's node forwards a payment of `invoice` to its payee with `skim_msat` withheld as
/// a skimmed fee (paid by its skim source).
async fn pay_skimmed(
    State(devnet): State<Arc<Devnet>>,
    Json(req): Json<PaySkimmedRequest>,
) -> ApiResult {
    let invoice = parse_invoice(&req.invoice)?;
    if req.skim_msat == 0 {
        return Err(ApiError::bad("bad_skim", "skim_msat must be above 0"));
    }
    Ok(payment_outcome(
        devnet.flow.pay_skimmed(&invoice, req.skim_msat).await,
    ))
}

async fn set_fault(State(devnet): State<Arc<Devnet>>, Json(fault): Json<Fault>) -> ApiResult {
    devnet
        .flow
        .set_fault(fault)
        .map_err(|e| ApiError::bad("bad_fault", e))?;
    Ok(Json(json!({ "fault": fault })))
}
