//! Checking that a transaction is in a block: Esplora's two proof forms, verified against
//! the block header, giving the transaction's position (LDK's `Confirm` wants it).

use bitcoin::block::Header;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{MerkleBlock, TxMerkleNode, Txid};

use super::EsploraError;

/// `GET /tx/:txid/merkle-proof`: the sibling hashes from the transaction up to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// Height of the block the server says holds the transaction.
    pub block_height: u32,
    /// Sibling hashes, deepest first.
    pub merkle: Vec<TxMerkleNode>,
    /// Position of the transaction in the block.
    pub pos: u32,
}

impl MerkleProof {
    /// The merkle root the proof leads to from `txid`.
    pub fn root_for(&self, txid: &Txid) -> TxMerkleNode {
        let mut current = txid.to_raw_hash();
        let mut index = self.pos;
        for sibling in &self.merkle {
            let mut engine = sha256d::Hash::engine();
            let (left, right) = if index & 1 == 1 {
                (sibling.to_raw_hash(), current)
            } else {
                (current, sibling.to_raw_hash())
            };
            bitcoin::hashes::HashEngine::input(&mut engine, left.as_byte_array());
            bitcoin::hashes::HashEngine::input(&mut engine, right.as_byte_array());
            current = sha256d::Hash::from_engine(engine);
            index >>= 1;
        }
        TxMerkleNode::from_raw_hash(current)
    }

    /// Checks that the proof puts `txid` in the block of `header`; returns its position.
    /// A path longer than 32 levels, or a position needing more levels than the path has,
    /// is refused.
    pub fn verify(&self, txid: &Txid, header: &Header) -> Result<u32, EsploraError> {
        if self.merkle.len() > 32
            || (self.merkle.len() < 32 && (self.pos >> self.merkle.len()) != 0)
        {
            return Err(EsploraError::Mismatch(format!(
                "merkle proof for {txid}: position {} does not fit {} levels",
                self.pos,
                self.merkle.len()
            )));
        }
        if self.root_for(txid) != header.merkle_root {
            return Err(EsploraError::Mismatch(format!(
                "merkle proof for {txid} does not lead to block {}'s merkle root",
                header.block_hash()
            )));
        }
        Ok(self.pos)
    }
}

/// Checks a `GET /tx/:txid/merkleblock-proof` answer: the partial tree is well formed,
/// reaches its header's merkle root, and matches `txid`. Returns the position of `txid` in
/// the block.
pub fn verify_merkle_block(merkle_block: &MerkleBlock, txid: &Txid) -> Result<u32, EsploraError> {
    let mut matches = Vec::new();
    let mut indexes = Vec::new();
    merkle_block
        .extract_matches(&mut matches, &mut indexes)
        .map_err(|e| EsploraError::Mismatch(format!("merkle block for {txid}: {e}")))?;
    match matches.iter().position(|m| m == txid) {
        Some(i) => Ok(indexes[i]),
        None => Err(EsploraError::Mismatch(format!(
            "merkle block does not contain {txid}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hex::FromHex;
    use bitcoin::Block;

    // Mainnet block 80000 (two transactions), from rust-bitcoin's documentation.
    const BLOCK_80000: &str = "01000000ba8b9cda965dd8e536670f9ddec10e53aab14b20bacad27b9137190000000000190760b278fe7b8565fda3b968b918d5fd997f993b23674c0af3b6fde300b38f33a5914ce6ed5b1b01e32f570201000000010000000000000000000000000000000000000000000000000000000000000000ffffffff0704e6ed5b1b014effffffff0100f2052a01000000434104b68a50eaa0287eff855189f949c1c6e5f58b37c88231373d8a59809cbae83059cc6469d65c665ccfd1cfeb75c6e8e19413bba7fbff9bc762419a76d87b16086eac000000000100000001a6b97044d03da79c005b20ea9c0e1a6d9dc12d9f7b91a5911c9030a439eed8f5000000004948304502206e21798a42fae0e854281abd38bacd1aeed3ee3738d9e1446618c4571d1090db022100e2ac980643b0b82c0e88ffdfec6b64e3e6ba35e7ba5fdd7d5d6cc8d25c6b241501ffffffff0100f2052a010000001976a914404371705fa9bd789a2fcd52d2c580b65d35549d88ac00000000";

    fn block() -> Block {
        bitcoin::consensus::deserialize(&Vec::from_hex(BLOCK_80000).unwrap()).unwrap()
    }

    fn txids(b: &Block) -> Vec<Txid> {
        b.txdata.iter().map(|t| t.compute_txid()).collect()
    }

    #[test]
    fn branch_proof_of_a_real_block() {
        let b = block();
        let ids = txids(&b);
        let proof = MerkleProof {
            block_height: 80000,
            merkle: vec![TxMerkleNode::from_raw_hash(ids[0].to_raw_hash())],
            pos: 1,
        };
        assert_eq!(proof.verify(&ids[1], &b.header).unwrap(), 1);
        let proof0 = MerkleProof {
            block_height: 80000,
            merkle: vec![TxMerkleNode::from_raw_hash(ids[1].to_raw_hash())],
            pos: 0,
        };
        assert_eq!(proof0.verify(&ids[0], &b.header).unwrap(), 0);
        // Wrong position, wrong txid, position beyond the depth.
        let bad = MerkleProof {
            pos: 0,
            ..proof.clone()
        };
        assert_eq!(
            bad.verify(&ids[1], &b.header).unwrap_err().code(),
            "esplora_mismatch"
        );
        assert!(proof.verify(&ids[0], &b.header).is_err());
        let deep = MerkleProof { pos: 3, ..proof };
        assert!(deep.verify(&ids[1], &b.header).is_err());
    }

    #[test]
    fn branch_folding_agrees_with_rust_bitcoin_on_an_odd_tree() {
        // Three leaves: the third pairs with itself, then with hash(a, b).
        let leaves: Vec<Txid> = (1u8..=3).map(|i| Txid::from_byte_array([i; 32])).collect();
        let root: TxMerkleNode = bitcoin::merkle_tree::calculate_root(
            leaves
                .iter()
                .map(|t| TxMerkleNode::from_raw_hash(t.to_raw_hash())),
        )
        .unwrap();
        let node = |t: &Txid| TxMerkleNode::from_raw_hash(t.to_raw_hash());
        let ab = {
            let mut e = sha256d::Hash::engine();
            bitcoin::hashes::HashEngine::input(&mut e, leaves[0].as_byte_array());
            bitcoin::hashes::HashEngine::input(&mut e, leaves[1].as_byte_array());
            TxMerkleNode::from_raw_hash(sha256d::Hash::from_engine(e))
        };
        let proof_c = MerkleProof {
            block_height: 1,
            merkle: vec![node(&leaves[2]), ab],
            pos: 2,
        };
        assert_eq!(proof_c.root_for(&leaves[2]), root);
        let cc = {
            let mut e = sha256d::Hash::engine();
            bitcoin::hashes::HashEngine::input(&mut e, leaves[2].as_byte_array());
            bitcoin::hashes::HashEngine::input(&mut e, leaves[2].as_byte_array());
            TxMerkleNode::from_raw_hash(sha256d::Hash::from_engine(e))
        };
        let proof_b = MerkleProof {
            block_height: 1,
            merkle: vec![node(&leaves[0]), cc],
            pos: 1,
        };
        assert_eq!(proof_b.root_for(&leaves[1]), root);
    }

    #[test]
    fn merkle_block_proof() {
        let b = block();
        let ids = txids(&b);
        let mb = MerkleBlock::from_block_with_predicate(&b, |t| *t == ids[1]);
        assert_eq!(verify_merkle_block(&mb, &ids[1]).unwrap(), 1);
        assert_eq!(
            verify_merkle_block(&mb, &ids[0]).unwrap_err().code(),
            "esplora_mismatch"
        );
        let mut forged = mb.clone();
        forged.header.merkle_root = TxMerkleNode::all_zeros();
        assert!(verify_merkle_block(&forged, &ids[1]).is_err());
    }
}
