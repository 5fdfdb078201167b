//! The on-chain wallet without I/O: BDK's `Wallet`, the part of it that is stored, and the
//! internal scripts LDK may take. The wasm32 wallet ([`super::wallet`]) wraps this with the
//! store and Esplora; everything here is tested natively.
//!
//! Guarantees:
//! - a script is handed out only once the record revealing it is written: the receive address
//!   after its write ([`OnchainState::receive_address`] stages, the caller writes, then shows),
//!   LDK's scripts only from a reserve of internal scripts already written
//!   ([`OnchainState::take_ldk_script`] refuses rather than hand out an unwritten one);
//! - each internal index goes to LDK at most once per cursor value, and the cursor is stored
//!   with the wallet (a cursor write lost in a crash can at worst give an address to a second
//!   channel: shared on chain, never lost);
//! - [`OnchainState::pending_write`] always encodes the whole state (BDK's aggregate change set
//!   plus the cursor), so writes issued in order leave the latest state stored; the stored
//!   chain keeps only genesis, the anchors' blocks and the tip (the blocks in between are only
//!   "synced up to here" marks that a sync recreates), so the record does not grow with time;
//! - a stored wallet whose descriptors or network differ from the mnemonic's is
//!   [`Error::StorageCorrupt`], never replaced.

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, KeychainKind, Update, Wallet};
use bitcoin::{Address, Amount, ScriptBuf, Transaction};

use super::descriptors::OnchainDescriptors;
use super::record::{OnchainRecord, ONCHAIN_RECORD_VERSION};
use super::send::{self, SendAmount, SendPlan};
use crate::error::Error;
use crate::keys::WalletSecret;

/// Internal scripts kept revealed and written ahead of LDK's needs: LDK asks for a destination
/// and a shutdown script synchronously when a channel is created, and cannot wait for a write.
pub const LDK_RESERVE: u32 = 6;

const CORRUPT: Error = Error::StorageCorrupt {
    what: "on-chain wallet",
};

/// What the wallet's scripts hold on chain (BDK's view as of the last sync).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnchainBalance {
    /// Unspent outputs in confirmed transactions.
    pub confirmed_sat: u64,
    /// Unspent outputs in unconfirmed transactions (ours or others'), and immature coinbases.
    pub pending_sat: u64,
}

/// A record to write, and what it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingWrite {
    /// The encoded [`OnchainRecord`].
    pub bytes: Vec<u8>,
    /// The last internal index revealed in it.
    pub internal_revealed: Option<u32>,
}

/// The on-chain wallet's state.
#[derive(Debug)]
pub struct OnchainState {
    wallet: Wallet,
    /// Every change handed to a write so far, merged (the state the store holds once the
    /// writes complete).
    stored: ChangeSet,
    ldk_next: u32,
    ldk_next_stored: u32,
    written_internal: Option<u32>,
    sweep_index: Option<u32>,
}

impl OnchainState {
    /// A new on-chain wallet for `secret` on `network`, with [`LDK_RESERVE`] internal scripts
    /// revealed. Nothing is handed out until its first [`pending_write`](Self::pending_write)
    /// is written.
    pub fn create(secret: &WalletSecret, network: bitcoin::Network) -> Result<OnchainState, Error> {
        let d = OnchainDescriptors::new(secret, network);
        let wallet = Wallet::create(d.external, d.internal)
            .network(network)
            .create_wallet_no_persist()
            .map_err(|_| Error::InvalidConfig {
                field: "network",
                problem: "no on-chain wallet for this network",
            })?;
        let mut state = OnchainState {
            wallet,
            stored: ChangeSet::default(),
            ldk_next: 0,
            // Differs from `ldk_next`: the first write is always due.
            ldk_next_stored: u32::MAX,
            written_internal: None,
            sweep_index: None,
        };
        state.top_up_reserve();
        Ok(state)
    }

    /// The wallet stored in `record`, checked against `secret`'s descriptors and `network`.
    pub fn load(
        secret: &WalletSecret,
        network: bitcoin::Network,
        record: OnchainRecord,
    ) -> Result<OnchainState, Error> {
        let d = OnchainDescriptors::new(secret, network);
        let stored = record.changeset;
        let wallet = Wallet::load()
            .descriptor(KeychainKind::External, Some(d.external))
            .descriptor(KeychainKind::Internal, Some(d.internal))
            .extract_keys()
            .check_network(network)
            .load_wallet_no_persist(stored.clone())
            .map_err(|_| CORRUPT)?
            .ok_or(CORRUPT)?;
        let written_internal = wallet
            .spk_index()
            .last_revealed_index(KeychainKind::Internal);
        let handed_max = written_internal.map_or(0, |i| i.saturating_add(1));
        if record.ldk_next_internal > handed_max {
            return Err(CORRUPT);
        }
        Ok(OnchainState {
            wallet,
            stored,
            ldk_next: record.ldk_next_internal,
            ldk_next_stored: record.ldk_next_internal,
            written_internal,
            sweep_index: None,
        })
    }

    /// BDK's wallet (read-only).
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// The record to write now, if anything changed since the last one. It must be written (in
    /// the order these were taken) and then reported with [`write_done`](Self::write_done).
    pub fn pending_write(&mut self) -> Result<Option<PendingWrite>, Error> {
        let staged = self.wallet.take_staged();
        if staged.is_none() && self.ldk_next == self.ldk_next_stored {
            return Ok(None);
        }
        if let Some(staged) = staged {
            self.stored.merge(staged);
        }
        compact_chain(&mut self.stored);
        self.ldk_next_stored = self.ldk_next;
        let bytes =
            OnchainRecord::encode_parts(ONCHAIN_RECORD_VERSION, self.ldk_next, &self.stored)?;
        Ok(Some(PendingWrite {
            bytes,
            internal_revealed: self
                .wallet
                .spk_index()
                .last_revealed_index(KeychainKind::Internal),
        }))
    }

    /// Records that a write revealing internal scripts up to `internal_revealed` is durably
    /// stored: those scripts may now go to LDK.
    pub fn write_done(&mut self, internal_revealed: Option<u32>) {
        if internal_revealed > self.written_internal {
            self.written_internal = internal_revealed;
        }
    }

    /// The receive address shown to the user: BDK's next unused external address (revealed if
    /// every revealed one was used). Stages the reveal: write [`pending_write`](Self::pending_write)
    /// before showing it.
    pub fn receive_address(&mut self) -> Address {
        self.wallet
            .next_unused_address(KeychainKind::External)
            .address
    }

    /// The next internal script for LDK (a channel's destination or shutdown script), if one
    /// is revealed and written; `None` means wait for the reserve's write.
    pub fn take_ldk_script(&mut self) -> Option<ScriptBuf> {
        let index = self.next_ldk_index()?;
        self.ldk_next = index.checked_add(1)?;
        Some(self.internal_script(index))
    }

    /// The script the sweeper sends to: the last one it got while no transaction pays it yet,
    /// else a new one of [`take_ldk_script`](Self::take_ldk_script).
    pub fn sweep_script(&mut self) -> Option<ScriptBuf> {
        if let Some(i) = self.sweep_index {
            if !self.wallet.spk_index().is_used(KeychainKind::Internal, i) {
                return Some(self.internal_script(i));
            }
        }
        let index = self.next_ldk_index()?;
        self.ldk_next = index.checked_add(1)?;
        self.sweep_index = Some(index);
        Some(self.internal_script(index))
    }

    /// Reveals internal scripts so that [`LDK_RESERVE`] lie ahead of LDK's cursor; `true` if
    /// that staged anything (then write).
    pub fn top_up_reserve(&mut self) -> bool {
        let target = self.ldk_next.saturating_add(LDK_RESERVE - 1);
        let revealed = self
            .wallet
            .spk_index()
            .last_revealed_index(KeychainKind::Internal);
        if revealed.is_some_and(|r| r >= target) {
            return false;
        }
        self.wallet
            .reveal_addresses_to(KeychainKind::Internal, target)
            .count()
            > 0
    }

    /// Plans a send ([`super::send::plan_send`]), its change to the next stored internal script
    /// without taking it: a quote changes nothing. Sending it takes the script
    /// ([`record_send`](Self::record_send)).
    pub fn plan_send(
        &mut self,
        to: &ScriptBuf,
        amount: SendAmount,
        fee_rate_sat_per_kw: u32,
        reserve_sat: u64,
        rng: &mut impl rand_core::RngCore,
    ) -> Result<SendPlan, Error> {
        let index = self.next_ldk_index().ok_or(Error::OnchainSendFailed {
            reason: "no stored change address yet",
        })?;
        let change = self.internal_script(index);
        send::plan_send(
            &mut self.wallet,
            to,
            amount,
            fee_rate_sat_per_kw,
            change,
            reserve_sat,
            rng,
        )
    }

    /// Records a sent transaction of [`plan_send`](Self::plan_send): its change script is taken
    /// from LDK's reserve (no channel will be given it), and the transaction is known unconfirmed
    /// as of `now` (Unix seconds) until a sync finds it. Stages both: write afterwards.
    pub fn record_send(&mut self, tx: Transaction, now: u64) {
        let pays_next = self.next_ldk_index().is_some_and(|i| {
            let script = self.internal_script(i);
            tx.output.iter().any(|o| o.script_pubkey == script)
        });
        if pays_next {
            self.take_ldk_script();
        }
        self.wallet.apply_unconfirmed_txs([(tx, now)]);
    }

    /// How many written internal scripts LDK can still take without waiting.
    pub fn reserve_left(&self) -> u32 {
        match self.written_internal {
            Some(w) => w.saturating_add(1).saturating_sub(self.ldk_next),
            None => 0,
        }
    }

    /// Applies a sync's update (stages it: write afterwards).
    pub fn apply(&mut self, update: Update) -> Result<(), Error> {
        self.wallet
            .apply_update(update)
            .map_err(|_| Error::ChainSourceFailed)
    }

    /// The balance: confirmed, and everything unconfirmed or immature as pending.
    pub fn balance(&self) -> Result<OnchainBalance, Error> {
        let b = self.wallet.balance();
        let pending = b
            .trusted_pending
            .checked_add(b.untrusted_pending)
            .and_then(|p| p.checked_add(b.immature))
            .ok_or(Error::AmountOverflow)?;
        Ok(OnchainBalance {
            confirmed_sat: b.confirmed.to_sat(),
            pending_sat: Amount::to_sat(pending),
        })
    }

    fn next_ldk_index(&self) -> Option<u32> {
        let written = self.written_internal?;
        let mut index = self.ldk_next;
        // After a restore, skip what the chain shows in use.
        while index <= written
            && self
                .wallet
                .spk_index()
                .is_used(KeychainKind::Internal, index)
        {
            index = index.checked_add(1)?;
        }
        (index <= written).then_some(index)
    }

    fn internal_script(&self, index: u32) -> ScriptBuf {
        self.wallet
            .peek_address(KeychainKind::Internal, index)
            .script_pubkey()
    }
}

/// Keeps, of the stored chain, genesis, the blocks anchors point to and the tip.
fn compact_chain(cs: &mut ChangeSet) {
    let tip = cs
        .local_chain
        .blocks
        .iter()
        .rev()
        .find(|(_, h)| h.is_some())
        .map(|(height, _)| *height);
    let anchors: std::collections::BTreeSet<u32> = cs
        .tx_graph
        .anchors
        .iter()
        .map(|(a, _)| a.block_id.height)
        .collect();
    cs.local_chain.blocks.retain(|height, hash| {
        hash.is_some() && (*height == 0 || Some(*height) == tip || anchors.contains(height))
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::chain::{BlockSummary, EsploraTx, TxStatus};
    use crate::onchain::esplora_update::{
        chain_update, tx_update, wallet_update, RemoteChain, ScriptHistory,
    };
    use bitcoin::absolute::LockTime;
    use bitcoin::constants::genesis_block;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{
        BlockHash, Network, OutPoint, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid,
        Witness,
    };

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    const OTHER: &str =
        "legal winner thank year wave sausage worth useful legal winner thank yellow";

    pub(crate) fn secret() -> WalletSecret {
        WalletSecret::parse(ABANDON).unwrap()
    }

    pub(crate) fn written(state: &mut OnchainState) -> Vec<u8> {
        let w = state.pending_write().unwrap().expect("something to write");
        state.write_done(w.internal_revealed);
        w.bytes
    }

    fn reload(bytes: &[u8]) -> OnchainState {
        OnchainState::load(
            &secret(),
            Network::Regtest,
            OnchainRecord::decode(bytes).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn nothing_goes_to_ldk_before_it_is_written() {
        let mut s = OnchainState::create(&secret(), Network::Regtest).unwrap();
        assert_eq!(s.reserve_left(), 0);
        assert_eq!(s.take_ldk_script(), None, "revealed but not written");
        let first = s.pending_write().unwrap().unwrap();
        assert_eq!(first.internal_revealed, Some(LDK_RESERVE - 1));
        assert_eq!(
            s.take_ldk_script(),
            None,
            "taken for writing, not written yet"
        );
        s.write_done(first.internal_revealed);
        assert_eq!(s.pending_write().unwrap(), None, "nothing new");

        let mut taken = Vec::new();
        while let Some(script) = s.take_ldk_script() {
            taken.push(script);
        }
        assert_eq!(taken.len() as u32, LDK_RESERVE);
        for (i, script) in taken.iter().enumerate() {
            assert_eq!(
                *script,
                s.wallet
                    .peek_address(KeychainKind::Internal, i as u32)
                    .script_pubkey()
            );
        }
        // Refill: revealed, written, then available again; the cursor was stored with it.
        assert!(s.top_up_reserve());
        assert_eq!(s.take_ldk_script(), None);
        let bytes = written(&mut s);
        assert_eq!(s.reserve_left(), LDK_RESERVE);
        let next = s.take_ldk_script().unwrap();
        assert_eq!(
            next,
            s.wallet
                .peek_address(KeychainKind::Internal, LDK_RESERVE)
                .script_pubkey()
        );
        // Reopened from what was written: the cursor is where the write left it.
        let mut again = reload(&bytes);
        assert_eq!(again.take_ldk_script(), Some(next));
    }

    #[test]
    fn the_receive_address_is_stable_until_used_and_survives_a_reload() {
        let mut s = OnchainState::create(&secret(), Network::Regtest).unwrap();
        let a = s.receive_address();
        assert_eq!(
            a.to_string(),
            s.wallet.peek_address(KeychainKind::External, 0).to_string()
        );
        let bytes = written(&mut s);
        assert_eq!(s.receive_address(), a);
        assert_eq!(s.pending_write().unwrap(), None, "no new reveal");
        let mut again = reload(&bytes);
        assert_eq!(again.receive_address(), a);
        assert_eq!(
            again.wallet.derivation_index(KeychainKind::External),
            Some(0)
        );
    }

    #[test]
    fn a_record_of_another_phrase_or_network_is_corrupt() {
        let mut s = OnchainState::create(&secret(), Network::Regtest).unwrap();
        let record = OnchainRecord::decode(&written(&mut s)).unwrap();
        let other = WalletSecret::parse(OTHER).unwrap();
        assert_eq!(
            OnchainState::load(&other, Network::Regtest, record.clone()).err(),
            Some(CORRUPT)
        );
        assert_eq!(
            OnchainState::load(&secret(), Network::Signet, record.clone()).err(),
            Some(CORRUPT)
        );
        let mut ahead = record;
        ahead.ldk_next_internal = LDK_RESERVE + 1;
        assert_eq!(
            OnchainState::load(&secret(), Network::Regtest, ahead).err(),
            Some(CORRUPT),
            "a cursor past the revealed scripts"
        );
    }

    pub(crate) fn hash(n: u32) -> BlockHash {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&n.to_le_bytes());
        b[31] = 0x77;
        BlockHash::from_byte_array(b)
    }

    fn blocks(tip: u32) -> Vec<BlockSummary> {
        (tip - 9..=tip)
            .rev()
            .map(|h| BlockSummary {
                id: hash(h),
                height: h,
                timestamp: h as u64,
                previousblockhash: Some(hash(h - 1)),
                merkle_root: TxMerkleNode::all_zeros(),
                tx_count: 1,
            })
            .collect()
    }

    /// One sync against a chain of `hash(h)` blocks up to `tip`, with `txs` on internal 0.
    pub(crate) fn sync(s: &mut OnchainState, tip: u32, txs: Vec<EsploraTx>) {
        let mut remote = RemoteChain::from_blocks(&blocks(tip)).unwrap();
        let histories = vec![ScriptHistory {
            keychain: KeychainKind::Internal,
            index: 0,
            expected_txids: Default::default(),
            txs,
        }];
        let mut findings = tx_update(&histories, 1_700_000_000);
        let local = s.wallet.latest_checkpoint();
        while let Some(h) = remote.next_agreement_height(&local) {
            let hash = if h == 0 {
                genesis_block(Network::Regtest).block_hash()
            } else {
                hash(h)
            };
            remote.insert(h, hash).unwrap();
        }
        for h in remote.missing_anchor_heights(&findings.tx_update) {
            remote.insert(h, hash(h)).unwrap();
        }
        let cp = chain_update(&local, &remote, &mut findings.tx_update, 1_700_000_000).unwrap();
        s.apply(wallet_update(findings, cp)).unwrap();
    }

    #[test]
    fn a_synced_wallet_reloads_with_its_balance_and_a_compact_chain() {
        let mut s = OnchainState::create(&secret(), Network::Regtest).unwrap();
        written(&mut s);
        let close_to = s.take_ldk_script().unwrap();
        let sweep_to = s.sweep_script().unwrap();
        assert_eq!(s.sweep_script().unwrap(), sweep_to, "same while unused");
        let pay = |to: &ScriptBuf, sat: u64, salt: u8| Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([salt; 32]),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                script_pubkey: to.clone(),
                value: Amount::from_sat(sat),
            }],
        };
        let close = pay(&close_to, 150_000, 1);
        let sweep = pay(&sweep_to, 110_000, 2);
        let mined = |tx: &Transaction, h: u32| EsploraTx {
            tx: tx.clone(),
            status: TxStatus::Confirmed {
                block_height: h,
                block_hash: hash(h),
                block_time: Some(h as u64),
            },
            prevouts: vec![None],
            fee: None,
        };
        sync(
            &mut s,
            120,
            vec![
                mined(&close, 111),
                EsploraTx {
                    status: TxStatus::Unconfirmed,
                    ..mined(&sweep, 0)
                },
            ],
        );
        assert_eq!(
            s.balance().unwrap(),
            OnchainBalance {
                confirmed_sat: 150_000,
                pending_sat: 110_000
            }
        );
        // The sweep's script is in use now: the next sweep gets a new one.
        assert_ne!(s.sweep_script().unwrap(), sweep_to);
        sync(&mut s, 130, vec![mined(&close, 111), mined(&sweep, 125)]);
        assert_eq!(s.balance().unwrap().confirmed_sat, 260_000);

        let bytes = written(&mut s);
        let record = OnchainRecord::decode(&bytes).unwrap();
        let heights: Vec<u32> = record
            .changeset
            .local_chain
            .blocks
            .keys()
            .copied()
            .collect();
        assert_eq!(heights, vec![0, 111, 125, 130], "genesis, anchors, tip");
        let again = reload(&bytes);
        assert_eq!(again.balance().unwrap(), s.balance().unwrap());
        assert_eq!(again.wallet.latest_checkpoint().height(), 130);
        assert_eq!(again.ldk_next, s.ldk_next);
    }

    pub(crate) fn pay(to: &ScriptBuf, sat: u64, salt: u8) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([salt; 32]), 0),
                ..Default::default()
            }],
            output: vec![TxOut {
                script_pubkey: to.clone(),
                value: Amount::from_sat(sat),
            }],
        }
    }

    pub(crate) fn at(tx: &Transaction, height: Option<u32>) -> EsploraTx {
        EsploraTx {
            tx: tx.clone(),
            status: match height {
                Some(h) => TxStatus::Confirmed {
                    block_height: h,
                    block_hash: hash(h),
                    block_time: Some(h as u64),
                },
                None => TxStatus::Unconfirmed,
            },
            prevouts: vec![None],
            fee: None,
        }
    }

    /// A wallet with 150 000 sat confirmed and 110 000 sat unconfirmed; the confirmed coin.
    pub(crate) fn funded() -> (OnchainState, OutPoint, TxOut) {
        let mut s = OnchainState::create(&secret(), Network::Regtest).unwrap();
        written(&mut s);
        let a = s.take_ldk_script().unwrap();
        let b = s.take_ldk_script().unwrap();
        let confirmed = pay(&a, 150_000, 1);
        let pending = pay(&b, 110_000, 2);
        sync(
            &mut s,
            120,
            vec![at(&confirmed, Some(111)), at(&pending, None)],
        );
        let coin = OutPoint::new(confirmed.compute_txid(), 0);
        (s, coin, confirmed.output[0].clone())
    }
}
