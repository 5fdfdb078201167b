//! The LSPS2 client (wasm32; protocols.md B) over lightning-liquidity 0.2.7's
//! `LSPS2ClientHandler`: from one receive request to the wallet's own JIT invoice and its
//! durable record.
//!
//! Steps: the wallet is connected to the LSP → `lsps2.get_info` (`request_opening_params`, with
//! the configured token) → the raw menu screened ([`crate::lsp::lsps_peek`]: an unknown field or
//! a promise over 512 bytes aborts) → [`select_offer`] with the receive's caps → `lsps2.buy`
//! (`select_opening_params`, with the size in fixed mode, without in variable mode) →
//! [`Lsps2Terms::new`] (with `client_trusts_lsp` read from the raw answer) → the invoice with
//! exactly one route hint (LSP, intercept SCID, zero fees, the LSP's CLTV delta), expiry within
//! `valid_until`, final CLTV delta normal + 2 → [`check_jit_invoice`] on it.
//!
//! Requests are matched to lightning-liquidity's events by request id; each waits at most
//! [`LSPS2_REQUEST_TIMEOUT`] (`LSP_UNREACHABLE` after). A `GetInfoFailed` / `BuyRequestFailed`
//! is `LSP_REJECTED` with the reason its JSON-RPC code maps to (its message is never read).
//! [`Lsps2Client::on_event`] must see every LSPS2 client event (see `receive::start`).

use core::cell::RefCell;
use core::time::Duration;
use std::collections::HashMap;

use futures::channel::oneshot;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning_liquidity::lsps2::event::LSPS2ClientEvent;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;

use crate::config::LspConfig;
use crate::error::Error;
use crate::fee::FeeCaps;
use crate::js_args::ReceiveArgs;
use crate::lsp::jit::{JitProtocol, JitRecord};
use crate::lsp::jit_invoice::lsps2_spec;
use crate::lsp::lsps2::{self, check_jit_invoice, invoice_expiry_secs, select_offer, Lsps2Terms};
use crate::lsp::own_invoice::{new_inbound_payment, payee, sign};
use crate::lsp::receive::{wait_for_lsp, Prepared};
use crate::lsp::receive_rules::lsps2_rejection;
use crate::node::running::Node;
use crate::payment::ViaJit;
use crate::time;

/// How long one LSPS2 request may wait for its answer.
pub const LSPS2_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the wallet waits to be connected to the LSP before giving up on the receive.
pub const LSPS2_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer lightning-liquidity reported for one request.
#[derive(Debug)]
enum Answer {
    Menu(Vec<LSPS2OpeningFeeParams>),
    Bought {
        intercept_scid: u64,
        cltv_expiry_delta: u32,
    },
    Refused(i32),
}

/// The requests in flight, by request id.
#[derive(Default)]
pub struct Lsps2Client {
    waiters: RefCell<HashMap<String, oneshot::Sender<Answer>>>,
}

impl Lsps2Client {
    /// A client with nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands one lightning-liquidity LSPS2 client event to the request waiting for it; events
    /// for unknown (timed out) requests are dropped.
    pub fn on_event(&self, event: LSPS2ClientEvent) {
        let (id, answer) = match event {
            LSPS2ClientEvent::OpeningParametersReady {
                request_id,
                opening_fee_params_menu,
                ..
            } => (request_id, Answer::Menu(opening_fee_params_menu)),
            LSPS2ClientEvent::InvoiceParametersReady {
                request_id,
                intercept_scid,
                cltv_expiry_delta,
                ..
            } => (
                request_id,
                Answer::Bought {
                    intercept_scid,
                    cltv_expiry_delta,
                },
            ),
            LSPS2ClientEvent::GetInfoFailed {
                request_id, error, ..
            }
            | LSPS2ClientEvent::BuyRequestFailed {
                request_id, error, ..
            } => (request_id, Answer::Refused(error.code)),
        };
        if let Some(waiter) = self.waiters.borrow_mut().remove(&id.0) {
            let _ = waiter.send(answer);
        }
    }

    /// Waits for the answer to request `id` (registered before anything could answer it: the
    /// browser runs one task at a time).
    async fn answer(&self, id: String) -> Result<Answer, Error> {
        let (tx, rx) = oneshot::channel();
        self.waiters.borrow_mut().insert(id.clone(), tx);
        let outcome = time::timeout(LSPS2_REQUEST_TIMEOUT, rx).await;
        self.waiters.borrow_mut().remove(&id);
        match outcome {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(Error::Stopped),
            Err(_) => Err(Error::LspUnreachable),
        }
    }

    /// Runs LSPS2 for `args` with `caps` (see the module doc).
    pub async fn prepare(
        &self,
        node: &Node,
        args: &ReceiveArgs,
        caps: FeeCaps,
    ) -> Result<Prepared, Error> {
        let LspConfig::Lsps2 { node_id, token, .. } = &node.config.lsp else {
            return Err(Error::InvalidConfig {
                field: "lsp",
                problem: "is not an LSPS2 LSP",
            });
        };
        let lsp = *node_id;
        let handler =
            node.liquidity_manager
                .lsps2_client_handler()
                .ok_or(Error::InvalidConfig {
                    field: "lsp",
                    problem: "the LSPS2 client is not enabled",
                })?;
        wait_for_lsp(node, lsp, LSPS2_CONNECT_TIMEOUT).await?;

        // lsps2.get_info
        let id = handler.request_opening_params(lsp, token.clone());
        let menu = match self.answer(id.0.clone()).await? {
            Answer::Menu(menu) => menu,
            Answer::Refused(code) => return Err(lsps2_rejection(code)),
            Answer::Bought { .. } => {
                return Err(Error::LspBadResponse {
                    what: "get_info: answered as a buy",
                })
            }
        };
        match node.lsps_peek.take(&id.0) {
            Some(peeked) => {
                if let Some(e) = peeked.menu_rejected {
                    return Err(e);
                }
            }
            None => {
                return Err(Error::LspBadResponse {
                    what: "get_info: the answer was not screened",
                })
            }
        }
        // An LSP that does not advertise LSPS (Core Lightning) may not intercept fixed-size buys
        // (protocols.md E): it is sold the amount in the invoice, without a size in `buy`.
        let fixed_size_buys = node.config.lsp.fixed_size_buys().unwrap_or_else(|| {
            node.peer_manager
                .peer_by_node_id(&lsp)
                .is_some_and(|p| lsps2::advertises_lsps(&p.init_features))
        });
        let chosen = select_offer(&menu, args.amount_msat, time::now_secs(), &caps)?
            .without_size_in_buy(fixed_size_buys);

        // lsps2.buy
        let size = chosen.mode.buy_size_msat();
        let id = handler
            .select_opening_params(lsp, size, chosen.params.clone())
            .map_err(|_| Error::LspBadResponse {
                what: "buy: the request could not be made",
            })?;
        let (intercept_scid, cltv_expiry_delta) = match self.answer(id.0.clone()).await? {
            Answer::Bought {
                intercept_scid,
                cltv_expiry_delta,
            } => (intercept_scid, cltv_expiry_delta),
            Answer::Refused(code) => return Err(lsps2_rejection(code)),
            Answer::Menu(_) => {
                return Err(Error::LspBadResponse {
                    what: "buy: answered as a get_info",
                })
            }
        };
        let client_trusts_lsp = node
            .lsps_peek
            .take(&id.0)
            .and_then(|p| p.client_trusts_lsp)
            .unwrap_or(false);
        let terms = Lsps2Terms::new(chosen, intercept_scid, cltv_expiry_delta, client_trusts_lsp)?;
        terms.check_trust_mode(node.config.trust_minimized)?;

        // The wallet's invoice.
        let now = time::now_secs();
        let expiry_secs = invoice_expiry_secs(&terms.opening_fee_params, now, args.expiry_secs)?;
        let payment = new_inbound_payment(node, None, expiry_secs, now)?;
        let spec = lsps2_spec(
            node.network,
            payee(node),
            payment,
            &terms,
            lsp,
            &args.description,
            expiry_secs,
        )?;
        let invoice = sign(node, &spec)?;
        check_jit_invoice(
            &invoice,
            &terms,
            &lsp,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            node.network,
        )?;

        let (fee_msat, amount_msat, received_msat) = match terms.mode.sized() {
            Some((size, fee)) => (fee, Some(size), Some(size.saturating_sub(fee))),
            // Known only once paid: the least the LSP takes.
            None => (terms.opening_fee_params.min_fee_msat, None, None),
        };
        let expires_at_ms = invoice
            .expires_at()
            .map_or(u64::MAX, |d| d.as_secs())
            .saturating_mul(1000);
        let record = JitRecord::new(&invoice, lsp, JitProtocol::Lsps2(terms), caps, now);
        Ok(Prepared {
            payer_invoice: invoice.to_string(),
            record,
            fee_msat,
            amount_msat,
            received_msat,
            expires_at_ms,
            via: ViaJit::Lsps2,
        })
    }
}
