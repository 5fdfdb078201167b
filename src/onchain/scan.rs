//! Which scripts a sync asks Esplora about. A full scan of a keychain: every revealed one, then on until
//! `gap` consecutive scripts past the last revealed one have no history (the "stop gap").
//!
//! Guarantees of [`GapScan`]: every revealed index is asked; no index is asked twice; the scan
//! ends after at most `last_revealed + 1 + gap + (used indices found past last_revealed) * gap`
//! indices, so a wallet restored from its phrase finds funds on scripts it never revealed here
//! as long as no run of more than `gap` unused scripts separates them.
//!
//! Not every sync asks everything: a **routine** round (a new block and nothing else) asks only
//! [`routine_scripts`], the scripts whose history may change without the wallet having done
//! anything; a **full** round (the session's first, `sync()`, after a broadcast or a channel's
//! close, and at least every [`FULL_EVERY_BLOCKS`] blocks) asks every revealed script and the gap
//! past them. A public Esplora server is asked a script's history per request, and a wallet's
//! revealed scripts only grow (each channel takes internal ones for its close), so asking them
//! all on every block is what made a wallet's load grow with its age (BENCHMARKS.md).

use std::collections::BTreeSet;

use bdk_chain::ChainPosition;
use bdk_wallet::{KeychainKind, Wallet};

/// A transaction this many blocks deep (or deeper) no longer makes its scripts routine.
pub const SETTLED_DEPTH: u32 = 6;

/// A full round at least every this many blocks (an hour on mainnet): what a routine round
/// leaves out (a used address paid again, another device with the same phrase spending) is seen
/// within that.
pub const FULL_EVERY_BLOCKS: u32 = 6;

/// The scripts a routine round at tip `tip_height` asks about, as (keychain, index):
/// - every external script revealed and not yet used: an address handed out, which a payer may
///   pay at any time;
/// - every script a recent transaction pays or spends from (unconfirmed, or confirmed fewer than
///   [`SETTLED_DEPTH`] blocks deep): it may confirm, leave the mempool or be reorged.
///
/// Left to full rounds: internal scripts without recent transactions (funds reach them only
/// through the wallet's own transactions and channel closes, each of which makes the next round
/// full) and used external scripts whose transactions are settled.
pub fn routine_scripts(wallet: &Wallet, tip_height: u32) -> Vec<(KeychainKind, u32)> {
    let index = wallet.spk_index();
    let mut asked = BTreeSet::new();
    if let Some(last) = index.last_revealed_index(KeychainKind::External) {
        for i in 0..=last {
            if !index.is_used(KeychainKind::External, i) {
                asked.insert((KeychainKind::External, i));
            }
        }
    }
    for wtx in wallet.transactions() {
        let recent = match wtx.chain_position {
            ChainPosition::Confirmed { anchor, .. } => {
                tip_height.saturating_sub(anchor.block_id.height) + 1 < SETTLED_DEPTH
            }
            ChainPosition::Unconfirmed { .. } => true,
        };
        if !recent {
            continue;
        }
        let tx = &wtx.tx_node.tx;
        let prevouts = tx
            .input
            .iter()
            .filter_map(|i| wallet.tx_graph().get_txout(i.previous_output));
        for out in tx.output.iter().chain(prevouts) {
            if let Some(&(keychain, i)) = index.index_of_spk(out.script_pubkey.clone()) {
                asked.insert((keychain, i));
            }
        }
    }
    asked.into_iter().collect()
}

/// The scan of one keychain, driven by the caller: ask [`GapScan::next_index`], fetch that
/// script's history, tell [`GapScan::record`] whether it had any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapScan {
    last_revealed: Option<u32>,
    gap: u32,
    next: Option<u32>,
    unused_past_revealed: u32,
}

impl GapScan {
    /// A scan of a keychain revealed up to `last_revealed` (`None`: nothing revealed), stopping
    /// after `gap` (at least 1) unused scripts past it.
    pub fn new(last_revealed: Option<u32>, gap: u32) -> GapScan {
        GapScan {
            last_revealed,
            gap: gap.max(1),
            next: Some(0),
            unused_past_revealed: 0,
        }
    }

    /// The next index to ask about, `None` when the scan is over.
    pub fn next_index(&self) -> Option<u32> {
        let next = self.next?;
        let revealed = self.last_revealed.is_some_and(|r| next <= r);
        if revealed || self.unused_past_revealed < self.gap {
            Some(next)
        } else {
            None
        }
    }

    /// Records the answer for `index` (the one [`next_index`](Self::next_index) gave).
    pub fn record(&mut self, index: u32, used: bool) {
        if used {
            self.unused_past_revealed = 0;
        } else if self.last_revealed.is_none_or(|r| index > r) {
            self.unused_past_revealed = self.unused_past_revealed.saturating_add(1);
        }
        // BIP32's last normal index ends the scan.
        self.next = index.checked_add(1).filter(|n| *n < (1 << 31));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WalletSecret;
    use crate::onchain::descriptors::OnchainDescriptors;
    use bdk_wallet::chain::{BlockId, CheckPoint, ConfirmationBlockTime, TxUpdate};
    use bdk_wallet::Update;
    use bitcoin::absolute::LockTime;
    use bitcoin::constants::genesis_block;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{
        Amount, BlockHash, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
        Witness,
    };
    use std::sync::Arc;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn tx(from: OutPoint, to: ScriptBuf) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: from,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                script_pubkey: to,
                value: Amount::from_sat(10_000),
            }],
        }
    }

    fn block(height: u32) -> BlockId {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&height.to_le_bytes());
        b[4] = 0x5c;
        BlockId {
            height,
            hash: BlockHash::from_byte_array(b),
        }
    }

    #[test]
    fn routine_rounds_ask_open_addresses_and_recently_touched_scripts_only() {
        let d = OnchainDescriptors::new(&WalletSecret::parse(ABANDON).unwrap(), Network::Regtest);
        let mut w = Wallet::create(d.external, d.internal)
            .network(Network::Regtest)
            .create_wallet_no_persist()
            .unwrap();
        let _ = w.reveal_addresses_to(KeychainKind::External, 2).count();
        let _ = w.reveal_addresses_to(KeychainKind::Internal, 5).count();
        let spk = |w: &Wallet, k, i| w.peek_address(k, i).script_pubkey();
        let foreign = |n: u8| OutPoint {
            txid: Txid::from_byte_array([n; 32]),
            vout: 0,
        };
        // a: a payment to external 0, deep; b: a close paying internal 2, 3 blocks deep;
        // c: a payment to external 1, unconfirmed; e: an old close to internal 4, deep.
        let a = tx(foreign(1), spk(&w, KeychainKind::External, 0));
        let b = tx(foreign(2), spk(&w, KeychainKind::Internal, 2));
        let c = tx(foreign(3), spk(&w, KeychainKind::External, 1));
        let e = tx(foreign(4), spk(&w, KeychainKind::Internal, 4));
        let genesis = BlockId {
            height: 0,
            hash: genesis_block(Network::Regtest).block_hash(),
        };
        let chain =
            CheckPoint::from_block_ids([genesis, block(100), block(118), block(120)]).unwrap();
        let mut txs = TxUpdate::default();
        for (t, at) in [
            (&a, Some(100)),
            (&b, Some(118)),
            (&c, None),
            (&e, Some(100)),
        ] {
            txs.txs.push(Arc::new(t.clone()));
            match at {
                Some(h) => {
                    txs.anchors.insert((
                        ConfirmationBlockTime {
                            block_id: block(h),
                            confirmation_time: 1_000,
                        },
                        t.compute_txid(),
                    ));
                }
                None => {
                    txs.seen_ats.insert((t.compute_txid(), 1_000));
                }
            }
        }
        w.apply_update(Update {
            tx_update: txs,
            chain: Some(chain.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            routine_scripts(&w, 120),
            vec![
                (KeychainKind::External, 1), // unconfirmed payment
                (KeychainKind::External, 2), // handed out, unused
                (KeychainKind::Internal, 2), // three blocks deep
            ]
        );
        // The wallet spends a's output (external 0), unconfirmed: that script is routine again.
        let spend = tx(
            OutPoint {
                txid: a.compute_txid(),
                vout: 0,
            },
            ScriptBuf::new_op_return([1u8; 4]),
        );
        let mut txs = TxUpdate::default();
        txs.txs.push(Arc::new(spend.clone()));
        txs.seen_ats.insert((spend.compute_txid(), 2_000));
        w.apply_update(Update {
            tx_update: txs,
            ..Default::default()
        })
        .unwrap();
        assert!(routine_scripts(&w, 120).contains(&(KeychainKind::External, 0)));
        // Six blocks later b is settled, internal 2 drops out; internal 4 never was in.
        let later =
            CheckPoint::from_block_ids([genesis, block(100), block(118), block(120), block(123)])
                .unwrap();
        w.apply_update(Update {
            chain: Some(later),
            ..Default::default()
        })
        .unwrap();
        let routine = routine_scripts(&w, 123);
        assert!(
            !routine.contains(&(KeychainKind::Internal, 2)),
            "{routine:?}"
        );
        assert!(
            !routine.contains(&(KeychainKind::Internal, 4)),
            "{routine:?}"
        );
    }

    fn run(last_revealed: Option<u32>, gap: u32, used: &[u32]) -> Vec<u32> {
        let mut scan = GapScan::new(last_revealed, gap);
        let mut asked = Vec::new();
        while let Some(i) = scan.next_index() {
            asked.push(i);
            scan.record(i, used.contains(&i));
            assert!(asked.len() < 1000);
        }
        asked
    }

    #[test]
    fn nothing_revealed_asks_the_gap() {
        assert_eq!(run(None, 3, &[]), vec![0, 1, 2]);
        assert_eq!(run(None, 0, &[]), vec![0], "a gap of 0 is 1");
    }

    #[test]
    fn revealed_scripts_are_all_asked_then_the_gap() {
        assert_eq!(run(Some(4), 2, &[]), vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(run(Some(1), 2, &[0]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_use_past_the_revealed_ones_extends_the_scan() {
        // Restored wallet: funds at 2 and 5, gap 3.
        assert_eq!(run(None, 3, &[2, 5]), vec![0, 1, 2, 3, 4, 5, 6, 7, 8]);
        // A run longer than the gap hides what lies beyond it.
        assert_eq!(run(None, 3, &[0, 4]), vec![0, 1, 2, 3]);
    }
}
