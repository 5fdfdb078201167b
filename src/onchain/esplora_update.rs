//! Esplora's answers turned into one BDK [`Update`]: pure, no I/O, no clock (`now` is passed in).
//!
//! What the sync asked and got, in order:
//! 1. `GET /blocks`: the newest blocks, as a [`RemoteChain`] (checked to be a chain);
//! 2. the history of each scanned script ([`ScriptHistory`]), made into a `TxUpdate` by
//!    [`tx_update`]: every transaction once, an anchor (block height, hash, time) for a
//!    confirmed one, `last_seen = now` for an unconfirmed one, `evicted_at = now` for an
//!    unconfirmed transaction the wallet expected on a script whose history no longer lists it,
//!    the spent outputs Esplora showed (for fees), and the highest used index per keychain;
//! 3. `GET /block-height/:h` for the wallet's checkpoints, newest first, until one agrees with
//!    Esplora ([`RemoteChain::next_agreement_height`]), and for the anchors' heights
//!    ([`RemoteChain::missing_anchor_heights`]);
//! 4. [`chain_update`]: the wallet's own chain up to the block where it agrees with Esplora, then
//!    every block Esplora named above it (so a reorged block is replaced by Esplora's).
//!
//! Guarantees of [`chain_update`]: every hash in the update came from Esplora or is the
//! wallet's own below the point of agreement; an anchor survives only if Esplora's best chain
//! has that very block at that height, otherwise the transaction is treated as unconfirmed
//! (`last_seen = now`) until a later sync sees it confirmed again (a reorg between two calls,
//! or a block above the tip `/blocks` gave); no common block, not even genesis, is
//! [`UpdateError::NoCommonBlock`] (Esplora follows another chain), and answers that contradict
//! each other are [`UpdateError::Inconsistent`]: the sync round fails and nothing is applied.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bdk_wallet::chain::{BlockId, CheckPoint, ConfirmationBlockTime, TxUpdate};
use bdk_wallet::{KeychainKind, Update};
use bitcoin::{BlockHash, OutPoint, Txid};

use crate::chain::{BlockSummary, EsploraTx, TxStatus};

/// Why Esplora's answers cannot make an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// Answers contradict each other (two hashes for one height, a block list that is not a
    /// chain) or a needed one is missing; a later round may succeed.
    Inconsistent(&'static str),
    /// None of the wallet's blocks, not even genesis, is on Esplora's chain.
    NoCommonBlock,
}

impl core::fmt::Display for UpdateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UpdateError::Inconsistent(what) => write!(f, "inconsistent Esplora answers: {what}"),
            UpdateError::NoCommonBlock => {
                f.write_str("Esplora's chain shares no block with the wallet's (another network?)")
            }
        }
    }
}

/// One scanned script: where it sits in the wallet, what the wallet expected, what Esplora said.
#[derive(Clone, Debug)]
pub struct ScriptHistory {
    /// Its keychain.
    pub keychain: KeychainKind,
    /// Its derivation index.
    pub index: u32,
    /// Transactions the wallet holds as touching this script (for eviction).
    pub expected_txids: BTreeSet<Txid>,
    /// Every transaction Esplora lists for it (mempool and confirmed, all pages).
    pub txs: Vec<EsploraTx>,
}

/// The transaction half of an update.
#[derive(Clone, Debug, Default)]
pub struct TxFindings {
    /// Transactions, anchors, last-seen and eviction times, spent outputs.
    pub tx_update: TxUpdate<ConfirmationBlockTime>,
    /// The highest index with a history, per keychain.
    pub last_active_indices: BTreeMap<KeychainKind, u32>,
}

/// Builds the transaction half of an update from script histories seen at `now` (Unix seconds).
pub fn tx_update(histories: &[ScriptHistory], now: u64) -> TxFindings {
    let mut findings = TxFindings::default();
    let mut seen: BTreeSet<Txid> = BTreeSet::new();
    for h in histories {
        if !h.txs.is_empty() {
            let last = findings
                .last_active_indices
                .entry(h.keychain)
                .or_insert(h.index);
            *last = (*last).max(h.index);
        }
        for t in &h.txs {
            let txid = t.tx.compute_txid();
            if !seen.insert(txid) {
                continue;
            }
            let u = &mut findings.tx_update;
            match t.status {
                TxStatus::Confirmed {
                    block_height,
                    block_hash,
                    block_time,
                } => {
                    let anchor = ConfirmationBlockTime {
                        block_id: BlockId {
                            height: block_height,
                            hash: block_hash,
                        },
                        confirmation_time: block_time.unwrap_or(0),
                    };
                    u.anchors.insert((anchor, txid));
                }
                TxStatus::Unconfirmed => {
                    u.seen_ats.insert((txid, now));
                }
            }
            for (input, prevout) in t.tx.input.iter().zip(&t.prevouts) {
                if let Some(prevout) = prevout {
                    u.txouts.insert(input.previous_output, prevout.clone());
                }
            }
            u.txs.push(Arc::new(t.tx.clone()));
        }
    }
    for h in histories {
        for txid in &h.expected_txids {
            if !seen.contains(txid) {
                findings.tx_update.evicted_ats.insert((*txid, now));
            }
        }
    }
    // Outputs of transactions in the update are known in full: no floating copy needed.
    findings
        .tx_update
        .txouts
        .retain(|op: &OutPoint, _| !seen.contains(&op.txid));
    findings
}

/// Esplora's best chain as it answered during one sync: the tip and the hashes it gave by
/// height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteChain {
    tip: BlockId,
    hashes: BTreeMap<u32, BlockHash>,
}

impl RemoteChain {
    /// From `GET /blocks` (newest first): must be non-empty, at consecutive heights, each
    /// block's `previousblockhash` the next one's hash.
    pub fn from_blocks(blocks: &[BlockSummary]) -> Result<RemoteChain, UpdateError> {
        let first = blocks
            .first()
            .ok_or(UpdateError::Inconsistent("no blocks"))?;
        let mut hashes = BTreeMap::new();
        hashes.insert(first.height, first.id);
        for pair in blocks.windows(2) {
            let (upper, lower) = (&pair[0], &pair[1]);
            if upper.height.checked_sub(1) != Some(lower.height)
                || upper.previousblockhash != Some(lower.id)
            {
                return Err(UpdateError::Inconsistent("the block list is not a chain"));
            }
            hashes.insert(lower.height, lower.id);
        }
        Ok(RemoteChain {
            tip: BlockId {
                height: first.height,
                hash: first.id,
            },
            hashes,
        })
    }

    /// The tip `/blocks` gave.
    pub fn tip(&self) -> BlockId {
        self.tip
    }

    /// The hash Esplora gave for `height`, if asked.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.hashes.get(&height).copied()
    }

    /// Records Esplora's best-chain hash at `height` (`GET /block-height/:h`). A height above
    /// the tip, or a second, different hash for a height, is inconsistent.
    pub fn insert(&mut self, height: u32, hash: BlockHash) -> Result<(), UpdateError> {
        if height > self.tip.height {
            return Err(UpdateError::Inconsistent("a block above the tip"));
        }
        match self.hashes.insert(height, hash) {
            Some(old) if old != hash => Err(UpdateError::Inconsistent("two hashes for a height")),
            _ => Ok(()),
        }
    }

    /// The next height whose hash the sync must ask for to find where `local_tip`'s chain
    /// agrees with Esplora's: the newest checkpoint (at or below the remote tip) not asked yet,
    /// unless a newer one already agrees. `None` when nothing more is needed.
    pub fn next_agreement_height(&self, local_tip: &CheckPoint) -> Option<u32> {
        for cp in local_tip.iter() {
            if cp.height() > self.tip.height {
                continue;
            }
            match self.hash_at(cp.height()) {
                Some(hash) if hash == cp.hash() => return None,
                Some(_) => continue,
                None => return Some(cp.height()),
            }
        }
        None
    }

    /// Heights of anchors (at or below the remote tip) whose hash Esplora was not asked for.
    pub fn missing_anchor_heights(&self, tx_update: &TxUpdate<ConfirmationBlockTime>) -> Vec<u32> {
        let heights: BTreeSet<u32> = tx_update
            .anchors
            .iter()
            .map(|(a, _)| a.block_id.height)
            .filter(|h| *h <= self.tip.height && !self.hashes.contains_key(h))
            .collect();
        heights.into_iter().collect()
    }
}

/// The chain half of the update: `local_tip`'s chain up to the newest block Esplora agrees
/// with, then every block Esplora named above it (and below it at anchor heights). Drops the
/// anchors Esplora's chain does not hold, marking their transactions seen at `now`.
pub fn chain_update(
    local_tip: &CheckPoint,
    remote: &RemoteChain,
    tx_update: &mut TxUpdate<ConfirmationBlockTime>,
    now: u64,
) -> Result<CheckPoint, UpdateError> {
    let mut agreement = None;
    for cp in local_tip.iter() {
        if cp.height() > remote.tip.height {
            continue;
        }
        match remote.hash_at(cp.height()) {
            Some(hash) if hash == cp.hash() => {
                agreement = Some(cp);
                break;
            }
            Some(_) => continue,
            None => return Err(UpdateError::Inconsistent("a checkpoint was not compared")),
        }
    }
    let agreement = agreement.ok_or(UpdateError::NoCommonBlock)?;

    let mut blocks: BTreeMap<u32, BlockHash> = agreement
        .iter()
        .map(|cp| (cp.height(), cp.hash()))
        .collect();
    for (&height, &hash) in &remote.hashes {
        if height <= agreement.height() && blocks.get(&height).is_some_and(|h| *h != hash) {
            return Err(UpdateError::Inconsistent(
                "Esplora disagrees below the block it agrees on",
            ));
        }
        blocks.insert(height, hash);
    }
    let update = CheckPoint::from_block_ids(
        blocks
            .into_iter()
            .map(|(height, hash)| BlockId { height, hash }),
    )
    .map_err(|_| UpdateError::Inconsistent("checkpoints out of order"))?;

    let stale: Vec<(ConfirmationBlockTime, Txid)> = tx_update
        .anchors
        .iter()
        .filter(|(a, _)| remote.hash_at(a.block_id.height) != Some(a.block_id.hash))
        .cloned()
        .collect();
    for entry in stale {
        tx_update.anchors.remove(&entry);
        tx_update.seen_ats.insert((entry.1, now));
    }
    Ok(update)
}

/// The whole update BDK applies.
pub fn wallet_update(findings: TxFindings, chain: CheckPoint) -> Update {
    Update {
        last_active_indices: findings.last_active_indices,
        tx_update: findings.tx_update,
        chain: Some(chain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WalletSecret;
    use crate::onchain::descriptors::OnchainDescriptors;
    use bdk_wallet::Wallet;
    use bitcoin::absolute::LockTime;
    use bitcoin::constants::genesis_block;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{
        Amount, Network, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Witness,
    };

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    const NOW: u64 = 1_700_000_000;

    fn wallet() -> Wallet {
        let d = OnchainDescriptors::new(&WalletSecret::parse(ABANDON).unwrap(), Network::Regtest);
        Wallet::create(d.external, d.internal)
            .network(Network::Regtest)
            .create_wallet_no_persist()
            .unwrap()
    }

    fn hash(n: u32, fork: u8) -> BlockHash {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&n.to_le_bytes());
        b[4] = fork;
        b[5] = 0xab;
        BlockHash::from_byte_array(b)
    }

    fn genesis() -> BlockHash {
        genesis_block(Network::Regtest).block_hash()
    }

    /// `/blocks` of a chain whose blocks are `hash(h, fork)`, newest first, from `tip` down.
    fn blocks(tip: u32, fork: u8) -> Vec<BlockSummary> {
        (tip.saturating_sub(9)..=tip)
            .rev()
            .map(|h| BlockSummary {
                id: hash(h, fork),
                height: h,
                timestamp: 1000 + h as u64,
                previousblockhash: Some(if h == 1 { genesis() } else { hash(h - 1, fork) }),
                merkle_root: TxMerkleNode::all_zeros(),
                tx_count: 1,
            })
            .collect()
    }

    fn payment(to: ScriptBuf, sat: u64, salt: u32) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([salt as u8; 32]),
                    vout: salt,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                script_pubkey: to,
                value: Amount::from_sat(sat),
            }],
        }
    }

    fn esplora(tx: &Transaction, at: Option<(u32, BlockHash)>) -> EsploraTx {
        EsploraTx {
            tx: tx.clone(),
            status: match at {
                Some((h, hash)) => TxStatus::Confirmed {
                    block_height: h,
                    block_hash: hash,
                    block_time: Some(1000 + h as u64),
                },
                None => TxStatus::Unconfirmed,
            },
            prevouts: vec![Some(TxOut {
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
                value: Amount::from_sat(sat_of(tx) + 500),
            })],
            fee: Some(Amount::from_sat(500)),
        }
    }

    fn sat_of(tx: &Transaction) -> u64 {
        tx.output.iter().map(|o| o.value.to_sat()).sum()
    }

    fn history(w: &Wallet, k: KeychainKind, index: u32, txs: Vec<EsploraTx>) -> ScriptHistory {
        let spk = w.peek_address(k, index).script_pubkey();
        let expected = w
            .start_sync_with_revealed_spks_at(NOW)
            .build()
            .iter_spks_with_expected_txids()
            .find(|s| s.spk == spk)
            .map(|s| s.expected_txids.into_iter().collect())
            .unwrap_or_default();
        ScriptHistory {
            keychain: k,
            index,
            expected_txids: expected,
            txs,
        }
    }

    /// Runs the sync's steps against a fake Esplora whose best chain is `chain` (height → hash).
    fn sync(
        w: &mut Wallet,
        tip: u32,
        fork: u8,
        chain: &dyn Fn(u32) -> BlockHash,
        histories: Vec<ScriptHistory>,
        now: u64,
    ) -> Result<(), UpdateError> {
        let mut remote = RemoteChain::from_blocks(&blocks(tip, fork))?;
        let mut findings = tx_update(&histories, now);
        let local = w.latest_checkpoint();
        let mut asked = 0;
        while let Some(h) = remote.next_agreement_height(&local) {
            remote.insert(h, if h == 0 { genesis() } else { chain(h) })?;
            asked += 1;
            assert!(asked < 100);
        }
        for h in remote.missing_anchor_heights(&findings.tx_update) {
            remote.insert(h, chain(h))?;
        }
        let cp = chain_update(&local, &remote, &mut findings.tx_update, now)?;
        w.apply_update(wallet_update(findings, cp))
            .expect("the update connects");
        Ok(())
    }

    fn main_chain(h: u32) -> BlockHash {
        hash(h, 0)
    }

    #[test]
    fn confirmed_unconfirmed_and_restored_indices() {
        let mut w = wallet();
        let ext3 = w.peek_address(KeychainKind::External, 3).script_pubkey();
        let int0 = w.peek_address(KeychainKind::Internal, 0).script_pubkey();
        let a = payment(ext3.clone(), 50_000, 1);
        let b = payment(int0.clone(), 7_000, 2);
        let histories = vec![
            history(
                &w,
                KeychainKind::External,
                3,
                vec![esplora(&a, Some((105, hash(105, 0))))],
            ),
            // The same transaction listed twice counts once.
            history(
                &w,
                KeychainKind::External,
                3,
                vec![esplora(&a, Some((105, hash(105, 0))))],
            ),
            history(&w, KeychainKind::Internal, 0, vec![esplora(&b, None)]),
            history(&w, KeychainKind::Internal, 1, vec![]),
        ];
        let findings = tx_update(&histories, NOW);
        assert_eq!(findings.tx_update.txs.len(), 2);
        assert_eq!(
            findings.last_active_indices,
            BTreeMap::from([(KeychainKind::External, 3), (KeychainKind::Internal, 0)])
        );
        assert_eq!(findings.tx_update.seen_ats.len(), 1);
        assert_eq!(findings.tx_update.txouts.len(), 2, "spent outputs for fees");

        sync(&mut w, 110, 0, &main_chain, histories, NOW).unwrap();
        let b = w.balance();
        assert_eq!(b.confirmed, Amount::from_sat(50_000));
        assert_eq!(b.trusted_pending, Amount::from_sat(7_000));
        assert_eq!(
            w.latest_checkpoint().block_id(),
            BlockId {
                height: 110,
                hash: hash(110, 0)
            }
        );
        // Scripts found in use are revealed: the next receive address is past them.
        assert_eq!(w.derivation_index(KeychainKind::External), Some(3));
        assert_eq!(w.next_unused_address(KeychainKind::External).index, 0);
        assert_eq!(w.calculate_fee(&a).unwrap(), Amount::from_sat(500));
    }

    #[test]
    fn an_anchor_block_no_longer_at_its_height_is_unconfirmed() {
        let mut w = wallet();
        let spk = w.peek_address(KeychainKind::External, 0).script_pubkey();
        let a = payment(spk, 20_000, 3);
        // Esplora's history says block (105, fork 1); its best chain has fork 0 there by the
        // time the height is asked.
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, Some((105, hash(105, 1))))],
        )];
        sync(&mut w, 110, 0, &main_chain, histories, NOW).unwrap();
        let b = w.balance();
        assert_eq!(b.confirmed, Amount::ZERO);
        assert_eq!(b.untrusted_pending, Amount::from_sat(20_000));
        assert_eq!(
            w.local_chain().get(105).map(|cp| cp.hash()),
            Some(hash(105, 0)),
            "the chain holds Esplora's block, not the anchor's"
        );
        // Confirmed in a block above the tip `/blocks` gave: unconfirmed this round too.
        let mut w = wallet();
        let spk = w.peek_address(KeychainKind::External, 0).script_pubkey();
        let a = payment(spk, 20_000, 4);
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, Some((111, hash(111, 0))))],
        )];
        sync(&mut w, 110, 0, &main_chain, histories, NOW).unwrap();
        assert_eq!(w.balance().untrusted_pending, Amount::from_sat(20_000));
    }

    #[test]
    fn a_reorg_replaces_the_wallets_blocks() {
        let mut w = wallet();
        let spk = w.peek_address(KeychainKind::External, 0).script_pubkey();
        let a = payment(spk, 30_000, 5);
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, Some((105, hash(105, 0))))],
        )];
        sync(&mut w, 110, 0, &main_chain, histories, NOW).unwrap();
        assert_eq!(w.balance().confirmed, Amount::from_sat(30_000));

        // A reorg from height 104: fork 2 is the best chain, to 112; the transaction is back in
        // the mempool.
        let forked = |h: u32| if h >= 104 { hash(h, 2) } else { hash(h, 0) };
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, None)],
        )];
        let remote = RemoteChain::from_blocks(&{
            let mut b = blocks(112, 2);
            // Below the fork the chain is the old one.
            for s in b.iter_mut() {
                if s.height < 104 {
                    s.id = hash(s.height, 0);
                }
                if s.height <= 104 {
                    s.previousblockhash = Some(hash(s.height - 1, 0));
                }
            }
            b
        })
        .unwrap();
        let local = w.latest_checkpoint();
        // The wallet holds blocks 101..110 from the first sync; /blocks (103..112) shows 110
        // down to 104 replaced and 103 unchanged: the fork point is found without asking more.
        assert_eq!(remote.next_agreement_height(&local), None);
        let mut findings = tx_update(&histories, NOW + 60);
        assert!(remote
            .missing_anchor_heights(&findings.tx_update)
            .is_empty());
        let cp = chain_update(&local, &remote, &mut findings.tx_update, NOW + 60).unwrap();
        w.apply_update(wallet_update(findings, cp)).unwrap();
        let b = w.balance();
        assert_eq!(b.confirmed, Amount::ZERO);
        assert_eq!(b.untrusted_pending, Amount::from_sat(30_000));
        assert_eq!(w.local_chain().get(105).unwrap().hash(), hash(105, 2));
        assert_eq!(w.latest_checkpoint().height(), 112);

        // Mined again on the new chain, at 111.
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, Some((111, forked(111))))],
        )];
        sync(&mut w, 113, 2, &forked, histories, NOW + 120).unwrap();
        assert_eq!(w.balance().confirmed, Amount::from_sat(30_000));
    }

    #[test]
    fn an_evicted_transaction_leaves_the_balance() {
        let mut w = wallet();
        let spk = w.peek_address(KeychainKind::External, 0).script_pubkey();
        let a = payment(spk, 9_000, 6);
        let histories = vec![history(
            &w,
            KeychainKind::External,
            0,
            vec![esplora(&a, None)],
        )];
        sync(&mut w, 110, 0, &main_chain, histories, NOW).unwrap();
        assert_eq!(w.balance().untrusted_pending, Amount::from_sat(9_000));
        // Gone from the mempool (replaced, expired): the script's history is empty now.
        let histories = vec![history(&w, KeychainKind::External, 0, vec![])];
        assert!(histories[0].expected_txids.contains(&a.compute_txid()));
        sync(&mut w, 111, 0, &main_chain, histories, NOW + 10).unwrap();
        assert_eq!(w.balance().total(), Amount::ZERO);
    }

    #[test]
    fn another_chain_or_contradicting_answers_fail() {
        let w = wallet();
        let mut remote = RemoteChain::from_blocks(&blocks(110, 0)).unwrap();
        let local = w.latest_checkpoint();
        assert_eq!(remote.next_agreement_height(&local), Some(0));
        remote.insert(0, hash(0, 9)).unwrap();
        assert_eq!(remote.next_agreement_height(&local), None);
        let mut u = TxUpdate::default();
        assert_eq!(
            chain_update(&local, &remote, &mut u, NOW),
            Err(UpdateError::NoCommonBlock)
        );
        assert_eq!(
            remote.insert(0, hash(0, 8)),
            Err(UpdateError::Inconsistent("two hashes for a height"))
        );
        assert_eq!(
            remote.insert(111, hash(111, 0)),
            Err(UpdateError::Inconsistent("a block above the tip"))
        );
        let mut broken = blocks(110, 0);
        broken[3].previousblockhash = Some(hash(1, 7));
        assert!(RemoteChain::from_blocks(&broken).is_err());
        let mut gap = blocks(110, 0);
        gap.remove(4);
        assert!(RemoteChain::from_blocks(&gap).is_err());
        assert!(RemoteChain::from_blocks(&[]).is_err());
        // A checkpoint that was never compared is a caller error, not a guess.
        let fresh = RemoteChain::from_blocks(&blocks(110, 0)).unwrap();
        assert_eq!(
            chain_update(&local, &fresh, &mut TxUpdate::default(), NOW),
            Err(UpdateError::Inconsistent("a checkpoint was not compared"))
        );
    }
}
