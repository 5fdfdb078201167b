//! The chain tip as the wallet last handed it to LDK: a `Confirm` listener added to the chain
//! sync next to LDK's own.
//!
//! Why: without `lightning/std` LDK dates inbound payments by the newest block time it saw; the
//! wallet needs that time (and the height) to issue invoices whose payment secret does not
//! expire before the invoice says.

use core::cell::Cell;

use bitcoin::block::Header;
use bitcoin::{BlockHash, Txid};
use lightning::chain::transaction::TransactionData;
use lightning::chain::Confirm;

/// The last tip seen by the sync.
#[derive(Default)]
pub struct TipTracker {
    tip: Cell<Option<(u32, u32)>>,
}

impl TipTracker {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Height of the last tip, if any.
    pub fn height(&self) -> Option<u32> {
        self.tip.get().map(|(h, _)| h)
    }

    /// Header time (Unix seconds) of the last tip, if any.
    pub fn header_time(&self) -> Option<u32> {
        self.tip.get().map(|(_, t)| t)
    }
}

impl Confirm for TipTracker {
    fn transactions_confirmed(&self, _header: &Header, _txdata: &TransactionData, _height: u32) {}

    fn transaction_unconfirmed(&self, _txid: &Txid) {}

    fn best_block_updated(&self, header: &Header, height: u32) {
        self.tip.set(Some((height, header.time)));
    }

    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        Vec::new()
    }
}

/// Extra seconds to give a payment secret so it lives as long as the invoice: LDK counts its
/// expiry from the newest block time it saw, which lags `now` by `now - block_time` (unknown
/// before the first sync: assume two hours). Capped at two days.
pub fn secret_expiry_padding(now_secs: u64, tip_time: Option<u32>) -> u32 {
    let lag = match tip_time {
        Some(t) => now_secs.saturating_sub(u64::from(t)),
        None => 7200,
    };
    lag.min(2 * 24 * 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    #[test]
    fn tracks_tip_and_pads() {
        let t = TipTracker::new();
        assert_eq!(t.height(), None);
        let header = Header {
            version: bitcoin::block::Version::TWO,
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: bitcoin::TxMerkleNode::all_zeros(),
            time: 1_700_000_000,
            bits: bitcoin::CompactTarget::from_consensus(0x207fffff),
            nonce: 0,
        };
        t.best_block_updated(&header, 101);
        assert_eq!(
            (t.height(), t.header_time()),
            (Some(101), Some(1_700_000_000))
        );
        assert_eq!(secret_expiry_padding(1_700_000_600, t.header_time()), 600);
        assert_eq!(
            secret_expiry_padding(1_600_000_000, t.header_time()),
            0,
            "clock behind"
        );
        assert_eq!(secret_expiry_padding(1_700_000_000, None), 7200);
        assert_eq!(secret_expiry_padding(u64::MAX, Some(0)), 172_800);
    }
}
