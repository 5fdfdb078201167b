//! Receiving over existing inbound capacity and paying BOLT11 invoices (wasm32).
//!
//! Guarantees:
//! - `receive` issues an invoice only when the wallet's ready channels can take the amount
//!   (else `NO_INBOUND_CAPACITY`: the JIT path is the caller's next step); the invoice carries
//!   the browser's time and the route hints through the LSP, and is recorded (pending) in the
//!   history before it is returned;
//! - `pay` records the attempt (pending) durably before LDK sends anything, uses a fresh
//!   random `PaymentId` per attempt, refuses an invoice already paid or in flight, and resolves
//!   with LDK's outcome (`PaymentSent` / `PaymentFailed`);
//! - a record left pending by a tab killed before the payment left is failed (`not_sent`) when
//!   the wallet reopens ([`super::recovery`]), so the invoice can be paid again.

use core::str::FromStr;
use core::time::Duration;

use bitcoin::hashes::Hash as _;
use futures::channel::oneshot;
use futures::future::{select, Either};
use lightning::ln::channelmanager::{
    Bolt11PaymentError, PaymentId, RecentPaymentDetails, Retry, RetryableSendFailure,
    MIN_FINAL_CLTV_EXPIRY_DELTA,
};
use lightning::routing::router::RouteParametersConfig;
use lightning::sign::{EntropySource, NodeSigner, Recipient};
use lightning::util::logger::Level;
use lightning_invoice::Bolt11Invoice;

use super::invoice::{build_raw_invoice, route_hints, HintChannel, InvoiceSpec};
use super::recovery::never_sent;
use super::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate, Payout, Receipt};
use crate::crash_point::{self, CrashPoint};
use crate::error::Error;
use crate::js_args::ReceiveArgs;
use crate::node::running::{Node, PaySuccess};
use crate::node::tip::secret_expiry_padding;
use crate::node::WalletEvent;
use crate::time;

/// Attempts LDK makes for one payment (the first try included).
const PAY_ATTEMPTS: u32 = 3;

fn hex32(bytes: &[u8; 32]) -> String {
    hex::DisplayHex::to_lower_hex_string(&bytes[..])
}

impl Node {
    /// The channels a direct receive can use: those with the configured LSP, the one peer the
    /// wallet connects to (a channel with an LSP the wallet no longer uses cannot carry a payment).
    pub(crate) fn lsp_hint_channels(&self) -> Vec<HintChannel> {
        let lsp = self.lsp.node_id.get();
        self.channel_manager
            .list_channels()
            .iter()
            .filter(|c| Some(c.counterparty.node_id) == lsp)
            .map(HintChannel::from_details)
            .collect()
    }

    /// Issues an invoice payable over the wallet's existing inbound capacity: only for a fixed
    /// amount ([`can_receive_directly`](crate::payment::invoice::can_receive_directly) says why),
    /// else [`Error::NoInboundCapacity`].
    pub async fn receive_direct(&self, args: &ReceiveArgs) -> Result<Receipt, Error> {
        self.check_running()?;
        let amount_msat = args.amount_msat.ok_or(Error::NoInboundCapacity)?;
        let channels = self.lsp_hint_channels();
        // Only channels that can carry the payment alone are hinted; none: no direct invoice.
        let hints = route_hints(&channels, amount_msat);
        if hints.is_empty() {
            return Err(Error::NoInboundCapacity);
        }
        let now_ms = time::now_millis();
        let padding = secret_expiry_padding(now_ms / 1000, self.tip.header_time());
        let (payment_hash, payment_secret) = self
            .channel_manager
            .create_inbound_payment(
                Some(amount_msat),
                args.expiry_secs.saturating_add(padding),
                None,
            )
            .map_err(|()| Error::InvalidAmount {
                reason: "refused by the node",
            })?;
        let spec = InvoiceSpec {
            network: self.network,
            amount_msat: Some(amount_msat),
            description: args.description.clone(),
            payment_hash,
            payment_secret,
            timestamp: Duration::from_millis(now_ms - now_ms % 1000),
            expiry_secs: args.expiry_secs,
            min_final_cltv_expiry_delta: MIN_FINAL_CLTV_EXPIRY_DELTA,
            payee: self.node_id,
            route_hints: hints,
        };
        let raw = build_raw_invoice(&spec)?;
        let signature = self
            .keys
            .sign_invoice(&raw, Recipient::Node)
            .map_err(|()| Error::InvalidInvoice {
                reason: "the node could not sign it",
            })?;
        let signed = raw
            .sign::<_, ()>(|_| Ok(signature))
            .map_err(|()| Error::InvalidInvoice {
                reason: "the node could not sign it",
            })?;
        let invoice = Bolt11Invoice::from_signed(signed).map_err(|_| Error::InvalidInvoice {
            reason: "the signed invoice is invalid",
        })?;
        let hash_hex = hex32(&payment_hash.0);
        let expires_at = (now_ms - now_ms % 1000) + u64::from(args.expiry_secs) * 1000;
        let record = PaymentRecord {
            payment_hash: hash_hex.clone(),
            direction: Direction::Inbound,
            status: PaymentStatus::Pending,
            amount_msat: Some(amount_msat),
            // Over the wallet's own channels: no LSP fee.
            fee_msat: Some(0),
            preimage: None,
            invoice: Some(invoice.to_string()),
            description: Some(args.description.clone()),
            created_at: now_ms,
            updated_at: now_ms,
            via_jit: None,
            failure: None,
            expires_at: Some(expires_at),
            paths: Vec::new(),
        };
        self.put_payment(record).await?;
        self.bus.emit(WalletEvent::ReceiveState {
            payment_hash: hash_hex.clone(),
            state: "invoice_ready",
            error: None,
        });
        Ok(Receipt {
            invoice: invoice.to_string(),
            payment_hash: hash_hex,
            protocol: "direct",
            fee_msat: 0,
            amount_msat: Some(amount_msat),
            expires_at,
        })
    }

    /// Pays `invoice` (with `amount_msat` when it has no amount) and waits for the outcome, at
    /// most `timeout`: then [`Error::PaymentPending`], while the payment goes on (its record is
    /// durable and its outcome comes as `payment_sent` / `payment_failed`). An HTLC in flight
    /// cannot be taken back, so the wallet never fails a payment merely because it is slow.
    pub async fn pay(
        &self,
        invoice: &str,
        amount_msat: Option<u64>,
        timeout: Duration,
    ) -> Result<Payout, Error> {
        self.check_running()?;
        let invoice =
            Bolt11Invoice::from_str(invoice.trim()).map_err(|_| Error::InvalidInvoice {
                reason: "not a valid BOLT11 invoice",
            })?;
        if invoice.network() != self.network {
            return Err(Error::NetworkMismatch {
                expected: self.network,
                found: invoice.network(),
            });
        }
        let now_ms = time::now_millis();
        if invoice.would_expire(Duration::from_millis(now_ms)) {
            return Err(Error::InvalidInvoice { reason: "expired" });
        }
        if invoice.recover_payee_pub_key() == self.node_id {
            return Err(Error::InvalidInvoice {
                reason: "it is this wallet's own invoice",
            });
        }
        let (amount, override_amount) = match (invoice.amount_milli_satoshis(), amount_msat) {
            (Some(a), None) => (a, None),
            (Some(a), Some(b)) if a == b => (a, None),
            (Some(_), Some(_)) => {
                return Err(Error::InvalidAmount {
                    reason: "differs from the invoice's amount",
                })
            }
            (None, Some(b)) => (b, Some(b)),
            (None, None) => {
                return Err(Error::InvalidAmount {
                    reason: "the invoice has no amount: give amountMsat",
                })
            }
        };
        let hash_hex = hex32(&invoice.payment_hash().to_byte_array());
        let record = match self.payments.get(Direction::Outbound, &hash_hex) {
            Some(r) if r.status == PaymentStatus::Succeeded => {
                return Err(Error::PaymentFailed {
                    reason: "already paid",
                })
            }
            Some(r) if r.status == PaymentStatus::Pending => {
                return Err(Error::PaymentFailed {
                    reason: "already in flight",
                })
            }
            Some(mut r) => {
                r.apply(PaymentUpdate::Retry, now_ms)?;
                r.amount_msat = Some(amount);
                r
            }
            None => PaymentRecord {
                payment_hash: hash_hex.clone(),
                direction: Direction::Outbound,
                status: PaymentStatus::Pending,
                amount_msat: Some(amount),
                fee_msat: None,
                preimage: None,
                invoice: Some(invoice.to_string()),
                description: match invoice.description() {
                    lightning_invoice::Bolt11InvoiceDescriptionRef::Direct(d) => {
                        Some(d.to_string())
                    }
                    lightning_invoice::Bolt11InvoiceDescriptionRef::Hash(_) => None,
                },
                created_at: now_ms,
                updated_at: now_ms,
                via_jit: None,
                failure: None,
                expires_at: None,
                paths: Vec::new(),
            },
        };
        self.put_payment(record.clone()).await?;

        let payment_id = PaymentId(self.keys.get_secure_random_bytes());
        let (sender, receiver) = oneshot::channel();
        self.pay_waiters.borrow_mut().insert(payment_id, sender);
        crash_point::paying();
        let sent = self.channel_manager.pay_for_bolt11_invoice(
            &invoice,
            payment_id,
            override_amount,
            RouteParametersConfig::default(),
            Retry::Attempts(PAY_ATTEMPTS),
        );
        crash_point::payment_handed_over();
        if sent.is_ok() {
            // Nothing has left yet: the peer manager sends on its next round.
            crash_point::reach(CrashPoint::PayIssued);
        }
        if let Err(e) = sent {
            self.pay_waiters.borrow_mut().remove(&payment_id);
            let reason = match e {
                Bolt11PaymentError::InvalidAmount => "invalid_amount",
                Bolt11PaymentError::SendingFailed(RetryableSendFailure::RouteNotFound) => {
                    "no_route"
                }
                Bolt11PaymentError::SendingFailed(RetryableSendFailure::PaymentExpired) => {
                    "invoice_expired"
                }
                Bolt11PaymentError::SendingFailed(RetryableSendFailure::DuplicatePayment) => {
                    "duplicate"
                }
                Bolt11PaymentError::SendingFailed(
                    RetryableSendFailure::OnionPacketSizeExceeded,
                ) => "onion_too_large",
            };
            self.log(
                Level::Warn,
                &format!("payment {hash_hex} not sent: {reason}"),
            );
            let mut failed = record;
            if failed.apply(
                PaymentUpdate::Failed {
                    reason: reason.to_string(),
                },
                time::now_millis(),
            )? {
                self.put_payment(failed.clone()).await?;
                self.bus.emit(WalletEvent::PaymentFailed(failed));
            }
            return Err(Error::PaymentFailed { reason });
        }
        let outcome = match select(receiver, time::sleep(timeout)).await {
            Either::Left((outcome, _)) => outcome.unwrap_or(Err(Error::Stopped))?,
            Either::Right(_) => {
                // Nobody waits any more: the outcome goes to the events and the history.
                self.pay_waiters.borrow_mut().remove(&payment_id);
                return Err(Error::PaymentPending);
            }
        };
        let PaySuccess { preimage, fee_msat } = outcome;
        Ok(Payout {
            payment_hash: hash_hex,
            preimage,
            fee_msat,
            amount_msat: amount,
        })
    }
}

impl Node {
    /// At start-up, before any task runs: fails (`not_sent`) the outbound records a killed tab
    /// left pending for payments LDK's manager does not know, which therefore never left
    /// ([`super::recovery`]).
    pub(crate) async fn fail_payments_never_sent(&self) -> Result<(), Error> {
        let mut known = Vec::new();
        for payment in self.channel_manager.list_recent_payments() {
            match payment {
                RecentPaymentDetails::Pending { payment_hash, .. }
                | RecentPaymentDetails::Abandoned { payment_hash, .. }
                | RecentPaymentDetails::Fulfilled {
                    payment_hash: Some(payment_hash),
                    ..
                } => known.push(hex32(&payment_hash.0)),
                // A payment LDK knows without its hash could be any record: judge none.
                RecentPaymentDetails::Fulfilled {
                    payment_hash: None, ..
                } => return Ok(()),
                RecentPaymentDetails::AwaitingInvoice { .. } => {}
            }
        }
        let all = self.payments.all();
        for record in never_sent(&all, &known, time::now_millis()) {
            self.log(
                Level::Warn,
                &format!(
                    "payment {} never left the wallet (stopped before it was sent): failed",
                    record.payment_hash
                ),
            );
            self.put_payment(record).await?;
        }
        Ok(())
    }
}
