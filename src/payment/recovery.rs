//! Outbound payments a killed tab left pending that never left the wallet.
//!
//! `pay()` makes its record durable (pending) before it hands the payment to LDK, so a tab killed
//! in between, or before LDK's channel manager was written, reopens with a pending record the
//! reopened manager knows nothing of. Nothing was sent: the write-ahead (`node::write_ahead`)
//! writes the manager before any byte reaches a peer, so a payment whose HTLC left is in the
//! manager, and LDK reports its outcome (`PaymentSent` / `PaymentFailed`). Those records are
//! failed with [`NOT_SENT`] at start-up, so the history tells the truth and the invoice can be paid
//! again (a pending record refuses a new attempt).
//!
//! LDK forgets a payment only some timer ticks after it reported the outcome, and the record's
//! update is written before that manager write (the store keeps call order): a record still
//! pending whose hash the manager does not list was never sent.

use super::record::{Direction, PaymentRecord, PaymentStatus, PaymentUpdate};

/// The failure reason of a payment the wallet stopped before it left.
pub const NOT_SENT: &str = "not_sent";

/// The outbound records in `records` still pending whose payment hash (lowercase hex) is not in
/// `known_to_ldk`, updated to failed ([`NOT_SENT`]) at `now_ms`: the records to store.
pub fn never_sent<'a>(
    records: impl IntoIterator<Item = &'a PaymentRecord>,
    known_to_ldk: &[String],
    now_ms: u64,
) -> Vec<PaymentRecord> {
    records
        .into_iter()
        .filter(|r| r.direction == Direction::Outbound && r.status == PaymentStatus::Pending)
        .filter(|r| !known_to_ldk.contains(&r.payment_hash))
        .filter_map(|r| {
            let mut failed = r.clone();
            let update = PaymentUpdate::Failed {
                reason: NOT_SENT.to_string(),
            };
            // A pending record always takes `Failed`; `Ok(false)` cannot happen from pending.
            matches!(failed.apply(update, now_ms), Ok(true)).then_some(failed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: u8, direction: Direction, status: PaymentStatus) -> PaymentRecord {
        PaymentRecord {
            payment_hash: format!("{hash:02x}").repeat(32),
            direction,
            status,
            amount_msat: Some(10_000_000),
            fee_msat: None,
            preimage: None,
            invoice: None,
            description: None,
            created_at: 1,
            updated_at: 1,
            via_jit: None,
            failure: None,
            expires_at: None,
            paths: Vec::new(),
        }
    }

    #[test]
    fn only_pending_outbound_records_ldk_does_not_know_are_failed() {
        let unknown = record(1, Direction::Outbound, PaymentStatus::Pending);
        let in_flight = record(2, Direction::Outbound, PaymentStatus::Pending);
        let inbound = record(3, Direction::Inbound, PaymentStatus::Pending);
        let paid = record(4, Direction::Outbound, PaymentStatus::Succeeded);
        let failed = record(5, Direction::Outbound, PaymentStatus::Failed);
        let known = vec![in_flight.payment_hash.clone()];
        let out = never_sent([&unknown, &in_flight, &inbound, &paid, &failed], &known, 7);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].payment_hash, unknown.payment_hash);
        assert_eq!(out[0].status, PaymentStatus::Failed);
        assert_eq!(out[0].failure.as_deref(), Some(NOT_SENT));
        assert_eq!(out[0].updated_at, 7);
        assert_eq!(
            out[0].amount_msat, unknown.amount_msat,
            "nothing else changes"
        );
    }

    #[test]
    fn a_failed_record_can_be_paid_again() {
        let out = never_sent(
            [&record(1, Direction::Outbound, PaymentStatus::Pending)],
            &[],
            7,
        );
        let mut again = out[0].clone();
        assert!(again.apply(PaymentUpdate::Retry, 8).unwrap());
        assert_eq!(again.status, PaymentStatus::Pending);
        assert_eq!(again.failure, None);
    }
}
