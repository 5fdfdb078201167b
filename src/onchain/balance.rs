//! The on-chain balance of the wallet's own scripts, from their Esplora histories.
//!
//! Guarantees of [`balance`]: an output counts once however many histories list its
//! transaction; an output spent by any listed transaction (confirmed or not) counts nowhere;
//! unspent outputs of confirmed transactions are `confirmed_sat`, of unconfirmed ones
//! `pending_sat`. Sums saturate rather than wrap.

use std::collections::{HashMap, HashSet};

use bitcoin::{OutPoint, ScriptBuf, Txid};

use crate::chain::{EsploraTx, TxStatus};

/// What the wallet's scripts hold on chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnchainBalance {
    /// Unspent, in confirmed transactions.
    pub confirmed_sat: u64,
    /// Unspent, in unconfirmed transactions.
    pub pending_sat: u64,
}

/// The balance of `scripts` given the transactions that touch them.
pub fn balance(scripts: &[ScriptBuf], txs: &[EsploraTx]) -> OnchainBalance {
    let mut seen: HashSet<Txid> = HashSet::new();
    let mut spent: HashSet<OutPoint> = HashSet::new();
    let mut ours: HashMap<OutPoint, (u64, bool)> = HashMap::new();
    for t in txs {
        let txid = t.tx.compute_txid();
        if !seen.insert(txid) {
            continue;
        }
        for input in &t.tx.input {
            spent.insert(input.previous_output);
        }
        let confirmed = matches!(t.status, TxStatus::Confirmed { .. });
        for (vout, out) in t.tx.output.iter().enumerate() {
            if scripts.contains(&out.script_pubkey) {
                let outpoint = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                ours.insert(outpoint, (out.value.to_sat(), confirmed));
            }
        }
    }
    let mut b = OnchainBalance::default();
    for (outpoint, (value, confirmed)) in ours {
        if spent.contains(&outpoint) {
            continue;
        }
        if confirmed {
            b.confirmed_sat = b.confirmed_sat.saturating_add(value);
        } else {
            b.pending_sat = b.pending_sat.saturating_add(value);
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, BlockHash, Sequence, Transaction, TxIn, TxOut, Witness};

    fn tx(inputs: Vec<OutPoint>, outputs: Vec<(ScriptBuf, u64)>) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .into_iter()
                .map(|p| TxIn {
                    previous_output: p,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs
                .into_iter()
                .map(|(s, v)| TxOut {
                    script_pubkey: s,
                    value: Amount::from_sat(v),
                })
                .collect(),
        }
    }

    fn esplora(tx: Transaction, confirmed: bool) -> EsploraTx {
        EsploraTx {
            prevouts: vec![None; tx.input.len()],
            tx,
            status: if confirmed {
                TxStatus::Confirmed {
                    block_height: 1,
                    block_hash: BlockHash::all_zeros(),
                    block_time: None,
                }
            } else {
                TxStatus::Unconfirmed
            },
            fee: None,
        }
    }

    #[test]
    fn confirmed_pending_and_spent() {
        let mine = ScriptBuf::from_bytes(vec![0x00, 0x14, 1]);
        let other = ScriptBuf::from_bytes(vec![0x00, 0x14, 2]);
        let outside = OutPoint {
            txid: Txid::all_zeros(),
            vout: 0,
        };
        let funding = tx(
            vec![outside],
            vec![(mine.clone(), 50_000), (other.clone(), 7)],
        );
        let f = funding.compute_txid();
        let second = tx(
            vec![OutPoint {
                txid: Txid::all_zeros(),
                vout: 1,
            }],
            vec![(mine.clone(), 20_000)],
        );
        let s = second.compute_txid();
        let txs = vec![
            esplora(funding.clone(), true),
            esplora(second.clone(), true),
            esplora(funding, true),
        ];
        assert_eq!(
            balance(std::slice::from_ref(&mine), &txs),
            OnchainBalance {
                confirmed_sat: 70_000,
                pending_sat: 0
            },
            "duplicates count once"
        );
        // Spend the first output in the mempool, paying 10k back to us unconfirmed.
        let spend = tx(
            vec![OutPoint { txid: f, vout: 0 }],
            vec![(mine.clone(), 10_000), (other, 39_000)],
        );
        let mut txs = txs;
        txs.insert(0, esplora(spend, false));
        assert_eq!(
            balance(std::slice::from_ref(&mine), &txs),
            OnchainBalance {
                confirmed_sat: 20_000,
                pending_sat: 10_000
            }
        );
        // A second script of ours.
        let mine2 = ScriptBuf::from_bytes(vec![0x00, 0x14, 3]);
        let third = tx(
            vec![OutPoint { txid: s, vout: 5 }],
            vec![(mine2.clone(), 1)],
        );
        txs.push(esplora(third, true));
        assert_eq!(balance(&[mine, mine2], &txs).confirmed_sat, 20_001);
        assert_eq!(balance(&[], &txs), OnchainBalance::default());
    }
}
