//! Building real regtest blocks: a BIP34 coinbase paying subsidy + fees, the BIP141 witness
//! commitment, the merkle root, a timestamp above median-time-past, and proof of work ground at
//! regtest's minimum difficulty (bits 0x207fffff).
//!
//! Everything here is pure: no clock, no I/O. Whether a block is valid is not decided here but by
//! libbitcoinkernel (see `kernel.rs`); these functions only aim to produce blocks it accepts, and
//! are public so a test can take an honest block apart and forge a bad one.

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::opcodes::all::OP_RETURN;
use bitcoin::blockdata::script::{Builder, PushBytesBuf};
use bitcoin::hashes::Hash;
use bitcoin::{
    absolute, transaction, Amount, Block, BlockHash, CompactTarget, OutPoint, Script, ScriptBuf,
    Sequence, Target, Transaction, TxIn, TxMerkleNode, TxOut, Witness,
};

/// Regtest's proof-of-work limit in compact form; regtest never retargets, so every block uses it.
pub const REGTEST_BITS: u32 = 0x207f_ffff;

/// Regtest halves the subsidy every 150 blocks (`nSubsidyHalvingInterval` in Core's regtest params).
pub const REGTEST_HALVING_INTERVAL: u32 = 150;

/// The subsidy before any halving: 50 BTC.
pub const INITIAL_SUBSIDY_SAT: u64 = 50 * 100_000_000;

/// How many blocks a coinbase output must wait before it can be spent (`COINBASE_MATURITY`).
pub const COINBASE_MATURITY: u32 = 100;

/// How many past blocks the median-time-past is taken over.
pub const MEDIAN_TIME_SPAN: usize = 11;

/// Block version 0x20000000: BIP9 top bits, no deployment signalled.
pub const BLOCK_VERSION: i32 = 0x2000_0000;

/// The witness reserved value put in the coinbase witness (32 zero bytes, as Core's miner does).
pub const WITNESS_RESERVED_VALUE: [u8; 32] = [0u8; 32];

/// BIP141 commitment header: OP_RETURN, push 36, then 0xaa21a9ed.
const WITNESS_COMMITMENT_MAGIC: [u8; 4] = [0xaa, 0x21, 0xa9, 0xed];

/// The block subsidy at `height` under regtest's halving schedule: 50 BTC shifted right once per
/// 150 blocks, zero once shifted 64 times or more (as Core's `GetBlockSubsidy`).
pub fn block_subsidy(height: u32) -> Amount {
    let halvings = height / REGTEST_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat(INITIAL_SUBSIDY_SAT >> halvings)
}

/// Median of the timestamps of up to the last 11 blocks (`GetMedianTimePast`). `times` is in chain
/// order, oldest first; only its last 11 entries count. Returns 0 for an empty slice.
pub fn median_time_past(times: &[u32]) -> u32 {
    let start = times.len().saturating_sub(MEDIAN_TIME_SPAN);
    let mut window: Vec<u32> = times[start..].to_vec();
    if window.is_empty() {
        return 0;
    }
    window.sort_unstable();
    window[window.len() / 2]
}

/// The timestamp for a new block: the current time, unless that is not strictly above the
/// median-time-past of its parent (Core rejects that as "time-too-old"), then `mtp + 1`.
pub fn next_block_time(now: u32, parent_mtp: u32) -> u32 {
    now.max(parent_mtp.saturating_add(1))
}

/// The coinbase scriptSig: the height as BIP34 wants it (`CScript() << nHeight`, OP_1..OP_16 for
/// small heights) followed by a 4-byte extra nonce, which also keeps it within Core's 2..=100
/// byte bound ("bad-cb-length").
pub fn coinbase_script_sig(height: u32, extra_nonce: u32) -> ScriptBuf {
    Builder::new()
        .push_int(i64::from(height))
        .push_slice(extra_nonce.to_le_bytes())
        .into_script()
}

/// The BIP141 commitment output script for `witness_root`: `OP_RETURN <0xaa21a9ed || commitment>`.
pub fn witness_commitment_script(commitment: &[u8; 32]) -> ScriptBuf {
    let mut data = PushBytesBuf::new();
    // 4 + 32 bytes always fit in a push.
    data.extend_from_slice(&WITNESS_COMMITMENT_MAGIC)
        .expect("36 bytes fit a push");
    data.extend_from_slice(commitment)
        .expect("36 bytes fit a push");
    Builder::new()
        .push_opcode(OP_RETURN)
        .push_slice(data)
        .into_script()
}

/// What a new block should contain. The coinbase is made from it; `txs` must already be in a
/// valid order (parents before children) and `fees` must be their total fee.
#[derive(Clone, Debug)]
pub struct BlockTemplate {
    /// Hash of the block this one builds on.
    pub prev_blockhash: BlockHash,
    /// Height of the new block.
    pub height: u32,
    /// Header timestamp (see [`next_block_time`]).
    pub time: u32,
    /// Transactions after the coinbase.
    pub txs: Vec<Transaction>,
    /// Sum of the fees of `txs`.
    pub fees: Amount,
    /// Where the coinbase pays subsidy + fees.
    pub coinbase_script_pubkey: ScriptBuf,
    /// Makes the coinbase (and so the block) unique among blocks with the same other contents.
    pub extra_nonce: u32,
}

/// The coinbase for `template`: one input (null prevout, BIP34 scriptSig, the witness reserved
/// value as its witness), one output paying subsidy + fees to the template's script, and the
/// witness commitment output is added by [`assemble_block`].
pub fn coinbase_tx(height: u32, extra_nonce: u32, pay_to: &Script, value: Amount) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: coinbase_script_sig(height, extra_nonce),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[WITNESS_RESERVED_VALUE.to_vec()]),
        }],
        output: vec![TxOut {
            value,
            script_pubkey: pay_to.to_owned(),
        }],
    }
}

/// Recomputes the header's merkle root from the block's transactions.
pub fn update_merkle_root(block: &mut Block) {
    block.header.merkle_root = block
        .compute_merkle_root()
        .unwrap_or_else(TxMerkleNode::all_zeros);
}

/// Increments the header nonce (rolling the time forward by a second if all 2^32 nonces fail)
/// until the header hash meets the target its `bits` encode. At 0x207fffff about every second
/// hash qualifies.
pub fn grind_pow(header: &mut Header) {
    let target = Target::from_compact(header.bits);
    loop {
        if header.validate_pow(target).is_ok() {
            return;
        }
        match header.nonce.checked_add(1) {
            Some(n) => header.nonce = n,
            None => {
                header.nonce = 0;
                header.time = header.time.wrapping_add(1);
            }
        }
    }
}

/// Builds the full block for `template`: coinbase with the witness commitment, merkle root,
/// regtest bits, and ground proof of work. Returns `None` only if subsidy + fees overflow.
pub fn assemble_block(template: &BlockTemplate) -> Option<Block> {
    let value = block_subsidy(template.height).checked_add(template.fees)?;
    let coinbase = coinbase_tx(
        template.height,
        template.extra_nonce,
        &template.coinbase_script_pubkey,
        value,
    );
    let mut txdata = Vec::with_capacity(template.txs.len() + 1);
    txdata.push(coinbase);
    txdata.extend(template.txs.iter().cloned());
    let mut block = Block {
        header: Header {
            version: Version::from_consensus(BLOCK_VERSION),
            prev_blockhash: template.prev_blockhash,
            merkle_root: TxMerkleNode::all_zeros(),
            time: template.time,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        },
        txdata,
    };
    // The coinbase's wtxid counts as zero, so adding the commitment output does not change it.
    let witness_root = block.witness_root()?;
    let commitment = Block::compute_witness_commitment(&witness_root, &WITNESS_RESERVED_VALUE);
    block.txdata[0].output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: witness_commitment_script(&commitment.to_byte_array()),
    });
    update_merkle_root(&mut block);
    grind_pow(&mut block.header);
    Some(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::encode::serialize;

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(block_subsidy(0).to_sat(), 5_000_000_000);
        assert_eq!(block_subsidy(149).to_sat(), 5_000_000_000);
        assert_eq!(block_subsidy(150).to_sat(), 2_500_000_000);
        assert_eq!(block_subsidy(300).to_sat(), 1_250_000_000);
        assert_eq!(block_subsidy(150 * 33).to_sat(), 0);
        assert_eq!(block_subsidy(150 * 64).to_sat(), 0);
        assert_eq!(block_subsidy(u32::MAX).to_sat(), 0);
    }

    #[test]
    fn median_time_past_uses_last_eleven() {
        assert_eq!(median_time_past(&[]), 0);
        assert_eq!(median_time_past(&[5]), 5);
        assert_eq!(median_time_past(&[3, 1, 2]), 2);
        // 1..=20: the last eleven are 10..=20, median 15.
        let times: Vec<u32> = (1..=20).collect();
        assert_eq!(median_time_past(&times), 15);
    }

    #[test]
    fn block_time_stays_above_mtp() {
        assert_eq!(next_block_time(1000, 10), 1000);
        assert_eq!(next_block_time(1000, 1000), 1001);
        assert_eq!(next_block_time(5, 1000), 1001);
    }

    #[test]
    fn bip34_script_sig_matches_core_encoding() {
        // Height 1 is OP_1 (0x51), then a 4-byte push.
        let s = coinbase_script_sig(1, 7);
        assert_eq!(s.as_bytes(), &[0x51, 0x04, 7, 0, 0, 0]);
        // Height 200 needs two bytes (0xc8 has the sign bit set): 0x02 0xc8 0x00.
        let s = coinbase_script_sig(200, 0);
        assert_eq!(&s.as_bytes()[..3], &[0x02, 0xc8, 0x00]);
        assert!(s.len() >= 2 && s.len() <= 100);
    }

    #[test]
    fn assembled_block_is_well_formed() {
        let template = BlockTemplate {
            prev_blockhash: BlockHash::all_zeros(),
            height: 200,
            time: 1_700_000_000,
            txs: vec![],
            fees: Amount::from_sat(1234),
            coinbase_script_pubkey: ScriptBuf::new_op_return([1u8; 4]),
            extra_nonce: 0,
        };
        let block = assemble_block(&template).expect("no overflow");
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        assert!(block.header.validate_pow(block.header.target()).is_ok());
        // rust-bitcoin's parser wants a data push, which Core uses from height 17 on.
        assert_eq!(block.bip34_block_height().expect("bip34"), 200);
        assert_eq!(
            block.txdata[0].output[0].value,
            Amount::from_sat(2_500_000_000 + 1234)
        );
        // The commitment output is OP_RETURN 0x24 aa21a9ed...
        let commit = &block.txdata[0].output[1].script_pubkey;
        assert_eq!(
            &commit.as_bytes()[..6],
            &[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]
        );
        // Round-trips through consensus encoding.
        let bytes = serialize(&block);
        let back: Block = bitcoin::consensus::deserialize(&bytes).expect("decodes");
        assert_eq!(back.block_hash(), block.block_hash());
    }

    #[test]
    fn grinding_meets_the_target() {
        let mut header = Header {
            version: Version::from_consensus(BLOCK_VERSION),
            prev_blockhash: BlockHash::all_zeros(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: 1,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        };
        for _ in 0..20 {
            header.time += 1;
            grind_pow(&mut header);
            assert!(header.validate_pow(header.target()).is_ok());
        }
    }
}
