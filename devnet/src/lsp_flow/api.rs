//! The REST wrapped-invoice API (seed 000; protocols.md section A) over axum 0.8.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use tower_http::cors::CorsLayer;

use super::config::ConnectionMethod;
use super::error::ApiError;
use super::fault::Fault;
use super::FlowLsp;

/// `GET /api/v1/info` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoResponse {
    pub pubkey: String,
    pub connection_methods: Vec<ConnectionMethod>,
}

/// `POST /api/v1/fee` request. `amount_msat` may be a JSON number or a decimal string.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct FeeRequest {
    #[serde(deserialize_with = "u64_number_or_string")]
    pub amount_msat: u64,
    /// The client's node id, hex.
    pub pubkey: String,
}

/// `POST /api/v1/fee` answer: the fee under both names clients read (`amount_msat` per the seed
/// and Voltage's docs, `fee_amount_msat` per ZEUS and Mutiny), same value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeResponse {
    pub id: String,
    pub amount_msat: u64,
    pub fee_amount_msat: u64,
}

/// `POST /api/v1/proposal` request. Unknown fields (e.g. `client_info`) are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProposalRequest {
    pub bolt11: String,
    pub fee_id: String,
    /// Accepted and ignored: LDK 0.2 opens no simple-taproot channels; a standard channel is
    /// opened either way.
    #[serde(
        rename = "simpleTaproot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub simple_taproot: Option<bool>,
    /// Where the LSP may try to connect to the client if it is not connected at payment time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// `POST /api/v1/proposal` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResponse {
    pub jit_bolt11: String,
}

fn u64_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => Ok(n),
        NumOrStr::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

fn bad_json(r: JsonRejection) -> ApiError {
    ApiError::new(400, "invalid_request", r.body_text())
}

async fn info(State(lsp): State<Arc<FlowLsp>>) -> Json<InfoResponse> {
    Json(lsp.info())
}

async fn fee(
    State(lsp): State<Arc<FlowLsp>>,
    body: Result<Json<FeeRequest>, JsonRejection>,
) -> Result<Json<FeeResponse>, ApiError> {
    let Json(req) = body.map_err(bad_json)?;
    let client = req
        .pubkey
        .trim()
        .parse()
        .map_err(|e| ApiError::new(400, "invalid_pubkey", format!("pubkey: {e}")))?;
    let quote = lsp.quote_fee(req.amount_msat, client)?;
    // The quote's own lies (`fee_fields_differ`, `fee_at_amount`) are in its answer only: a
    // checking wallet refuses it before any proposal.
    let (amount_msat, fee_amount_msat) = match lsp.fault() {
        Fault::FeeFieldsDiffer { extra_msat } => {
            (quote.fee_msat, quote.fee_msat.saturating_add(extra_msat))
        }
        Fault::FeeAtAmount => (req.amount_msat, req.amount_msat),
        _ => (quote.fee_msat, quote.fee_msat),
    };
    Ok(Json(FeeResponse {
        id: quote.id,
        amount_msat,
        fee_amount_msat,
    }))
}

async fn proposal(
    State(lsp): State<Arc<FlowLsp>>,
    body: Result<Json<ProposalRequest>, JsonRejection>,
) -> Result<Json<ProposalResponse>, ApiError> {
    let Json(req) = body.map_err(bad_json)?;
    let wrapped = lsp.propose(&req)?;
    Ok(Json(ProposalResponse {
        jit_bolt11: wrapped.to_string(),
    }))
}

/// The API router (`/api/v1/info`, `/api/v1/fee`, `/api/v1/proposal`) with permissive CORS, so
/// a page served from another origin (the demo wallet) can call it.
pub fn router(lsp: Arc<FlowLsp>) -> Router {
    Router::new()
        .route("/api/v1/info", get(info))
        .route("/api/v1/fee", post(fee))
        .route("/api/v1/proposal", post(proposal))
        .layer(CorsLayer::permissive())
        .with_state(lsp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_request_accepts_numbers_and_strings() {
        let r: FeeRequest = serde_json::from_str(r#"{"amount_msat": 5, "pubkey": "x"}"#).unwrap();
        assert_eq!(r.amount_msat, 5);
        let r: FeeRequest =
            serde_json::from_str(r#"{"amount_msat": "70", "pubkey": "x"}"#).unwrap();
        assert_eq!(r.amount_msat, 70);
        assert!(
            serde_json::from_str::<FeeRequest>(r#"{"amount_msat": -1, "pubkey": "x"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<FeeRequest>(r#"{"amount_msat": "1e3", "pubkey": "x"}"#).is_err()
        );
    }

    #[test]
    fn proposal_request_shapes() {
        let r: ProposalRequest = serde_json::from_str(
            r#"{"bolt11":"lnbcrt1","fee_id":"f","simpleTaproot":true,"client_info":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(r.simple_taproot, Some(true));
        assert_eq!(r.host, None);
        let r: ProposalRequest =
            serde_json::from_str(r#"{"bolt11":"b","fee_id":"f","host":"127.0.0.1","port":9735}"#)
                .unwrap();
        assert_eq!(r.port, Some(9735));
    }

    #[test]
    fn error_body_shape() {
        let e = ApiError::new(400, "amount_mismatch", "nope");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"error":"amount_mismatch","message":"nope"})
        );
    }
}
