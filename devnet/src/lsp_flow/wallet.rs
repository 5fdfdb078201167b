//! The LSP's on-chain wallet: one P2WPKH key that the devnet coinbase can pay, funding
//! transactions for the channels the LSP opens. Coin selection and signing are pure functions.

use std::collections::HashSet;
use std::sync::Mutex;

use bitcoin::absolute::LockTime;
use bitcoin::ecdsa::Signature as EcdsaSig;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    Address, Amount, CompressedPublicKey, Network, OutPoint, Psbt, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Txid, Witness,
};

use crate::chain::{ChainAccess, Utxo};

/// Confirmations a coinbase output needs before a transaction spending it can enter the next block.
pub const COINBASE_MATURITY: u32 = 100;
/// Change below this is given to the miner instead of creating a dust output.
pub const CHANGE_DUST_SAT: u64 = 546;

/// Why no funding transaction could be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FundingError {
    /// Spendable coins do not cover value plus fee.
    InsufficientFunds { needed_sat: u64, available_sat: u64 },
    /// Arithmetic overflow (absurd amounts).
    Overflow,
    /// Signing failed.
    Sign(String),
}

impl std::fmt::Display for FundingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FundingError::InsufficientFunds { needed_sat, available_sat } => write!(
                f,
                "Cannot fund new channel at this time: need {needed_sat} sat, {available_sat} sat spendable"
            ),
            FundingError::Overflow => f.write_str("amount overflow"),
            FundingError::Sign(e) => write!(f, "signing failed: {e}"),
        }
    }
}

impl std::error::Error for FundingError {}

/// The outputs that may fund a channel now, confirmed ones first then largest first: confirmed
/// non-coinbase outputs, coinbase outputs with at least [`COINBASE_MATURITY`] confirmations
/// counting the next block (`tip - height + 1 >= 100`), and unconfirmed outputs of transactions
/// this wallet made itself (`own_txids`), minus `reserved` outpoints.
pub fn spendable_utxos(
    utxos: &[Utxo],
    tip_height: u32,
    own_txids: &HashSet<Txid>,
    reserved: &HashSet<OutPoint>,
) -> Vec<Utxo> {
    let mut out: Vec<Utxo> = utxos
        .iter()
        .filter(|u| !reserved.contains(&u.outpoint))
        .filter(|u| match u.height {
            Some(h) if u.is_coinbase => tip_height
                .checked_sub(h)
                .map(|d| d + 1 >= COINBASE_MATURITY)
                .unwrap_or(false),
            Some(_) => true,
            None => !u.is_coinbase && own_txids.contains(&u.outpoint.txid),
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        b.height
            .is_some()
            .cmp(&a.height.is_some())
            .then(b.txout.value.cmp(&a.txout.value))
    });
    out
}

fn fee_for_weight(weight_wu: u64, feerate_sat_per_kw: u32) -> Option<u64> {
    weight_wu
        .checked_mul(feerate_sat_per_kw as u64)?
        .checked_add(999)
        .map(|x| x / 1000)
}

/// Weight of a P2WPKH-spending transaction with these inputs and outputs, with worst-case
/// (73-byte) signatures.
fn estimated_weight(inputs: &[Utxo], outputs: &[TxOut], pubkey: &CompressedPublicKey) -> u64 {
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs
            .iter()
            .map(|u| TxIn {
                previous_output: u.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::from_slice(&[vec![0u8; 73], pubkey.to_bytes().to_vec()]),
            })
            .collect(),
        output: outputs.to_vec(),
    };
    tx.weight().to_wu()
}

/// Builds and signs a transaction paying `value_sat` to `output_script` from `candidates`
/// (taken in order until they cover value plus fee at `feerate_sat_per_kw`), with change to
/// `key`'s P2WPKH script unless it would be below [`CHANGE_DUST_SAT`]. Every candidate must pay
/// `key`'s P2WPKH script. Output 0 is the funding output.
pub fn build_funding_tx(
    candidates: &[Utxo],
    output_script: ScriptBuf,
    value_sat: u64,
    feerate_sat_per_kw: u32,
    key: &SecretKey,
) -> Result<Transaction, FundingError> {
    let secp = Secp256k1::new();
    let pubkey = CompressedPublicKey(key.public_key(&secp));
    let change_script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
    let funding_out = TxOut {
        value: Amount::from_sat(value_sat),
        script_pubkey: output_script,
    };
    let change_proto = TxOut {
        value: Amount::ZERO,
        script_pubkey: change_script,
    };

    let available: u64 = candidates.iter().map(|u| u.txout.value.to_sat()).sum();
    let mut chosen: Vec<Utxo> = Vec::new();
    let mut total: u64 = 0;
    let mut needed = value_sat;
    for u in candidates {
        chosen.push(u.clone());
        total = total
            .checked_add(u.txout.value.to_sat())
            .ok_or(FundingError::Overflow)?;
        let w_change = estimated_weight(
            &chosen,
            &[funding_out.clone(), change_proto.clone()],
            &pubkey,
        );
        let fee_change =
            fee_for_weight(w_change, feerate_sat_per_kw).ok_or(FundingError::Overflow)?;
        let w_plain = estimated_weight(&chosen, std::slice::from_ref(&funding_out), &pubkey);
        let fee_plain =
            fee_for_weight(w_plain, feerate_sat_per_kw).ok_or(FundingError::Overflow)?;
        let need_change = value_sat
            .checked_add(fee_change)
            .ok_or(FundingError::Overflow)?;
        let need_plain = value_sat
            .checked_add(fee_plain)
            .ok_or(FundingError::Overflow)?;
        needed = need_plain;
        let outputs = if total >= need_change && total - need_change >= CHANGE_DUST_SAT {
            let change = TxOut {
                value: Amount::from_sat(total - need_change),
                ..change_proto.clone()
            };
            vec![funding_out.clone(), change]
        } else if total >= need_plain {
            vec![funding_out.clone()]
        } else {
            continue;
        };
        return sign_p2wpkh(&chosen, outputs, key);
    }
    Err(FundingError::InsufficientFunds {
        needed_sat: needed,
        available_sat: available,
    })
}

/// Signs a version-2 transaction spending `inputs` (all paying `key`'s P2WPKH script) to
/// `outputs`, SIGHASH_ALL, locktime 0.
pub fn sign_p2wpkh(
    inputs: &[Utxo],
    outputs: Vec<TxOut>,
    key: &SecretKey,
) -> Result<Transaction, FundingError> {
    let secp = Secp256k1::new();
    let pubkey = CompressedPublicKey(key.public_key(&secp));
    let script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs
            .iter()
            .map(|u| TxIn {
                previous_output: u.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: outputs,
    };
    let mut witnesses = Vec::with_capacity(inputs.len());
    {
        let mut cache = SighashCache::new(&tx);
        for (i, u) in inputs.iter().enumerate() {
            let sighash = cache
                .p2wpkh_signature_hash(i, &script, u.txout.value, EcdsaSighashType::All)
                .map_err(|e| FundingError::Sign(e.to_string()))?;
            let msg = Message::from_digest(sighash.to_byte_array());
            let sig = EcdsaSig::sighash_all(secp.sign_ecdsa(&msg, key));
            witnesses.push(Witness::p2wpkh(&sig, &pubkey.0));
        }
    }
    for (txin, w) in tx.input.iter_mut().zip(witnesses) {
        txin.witness = w;
    }
    Ok(tx)
}

/// The wallet: its key, and the outpoints it has already committed to funding transactions
/// (so two opens before a broadcast never pick the same coin).
pub struct FundingWallet {
    key: SecretKey,
    script: ScriptBuf,
    address: Address,
    reserved: Mutex<HashSet<OutPoint>>,
    own_txids: Mutex<HashSet<Txid>>,
}

impl FundingWallet {
    /// The wallet whose key is `sha256("tabnode-devnet/lsp-flow/funding" || seed)`.
    pub fn from_seed(seed: &[u8; 32], network: Network) -> Self {
        let mut engine = sha256::Hash::engine();
        bitcoin::hashes::HashEngine::input(&mut engine, b"tabnode-devnet/lsp-flow/funding");
        bitcoin::hashes::HashEngine::input(&mut engine, seed);
        let digest = sha256::Hash::from_engine(engine);
        let key =
            SecretKey::from_slice(digest.as_byte_array()).expect("a sha256 digest is a valid key");
        let pubkey = CompressedPublicKey(key.public_key(&Secp256k1::new()));
        FundingWallet {
            key,
            script: ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash()),
            address: Address::p2wpkh(&pubkey, network),
            reserved: Mutex::new(HashSet::new()),
            own_txids: Mutex::new(HashSet::new()),
        }
    }

    /// The P2WPKH address to pay (e.g. coinbase outputs) to fund the LSP.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The address's script.
    pub fn script(&self) -> &ScriptBuf {
        &self.script
    }

    /// (spendable now, total including immature and unconfirmed) in sat.
    pub fn balance(&self, chain: &dyn ChainAccess) -> (u64, u64) {
        let utxos = chain.utxos(&self.script);
        let total = utxos.iter().map(|u| u.txout.value.to_sat()).sum();
        let spendable = self
            .spendable(chain, &utxos)
            .iter()
            .map(|u| u.txout.value.to_sat())
            .sum();
        (spendable, total)
    }

    fn spendable(&self, chain: &dyn ChainAccess, utxos: &[Utxo]) -> Vec<Utxo> {
        let (tip, _) = chain.tip();
        let own = self.own_txids.lock().unwrap().clone();
        let reserved = self.reserved.lock().unwrap().clone();
        spendable_utxos(utxos, tip, &own, &reserved)
    }

    /// A signed transaction paying `value_sat` to `output_script` (output 0), its inputs
    /// reserved until [`FundingWallet::release`].
    pub fn fund(
        &self,
        chain: &dyn ChainAccess,
        output_script: ScriptBuf,
        value_sat: u64,
        feerate_sat_per_kw: u32,
    ) -> Result<Transaction, FundingError> {
        let mut reserved = self.reserved.lock().unwrap();
        let (tip, _) = chain.tip();
        let own = self.own_txids.lock().unwrap().clone();
        let candidates = spendable_utxos(&chain.utxos(&self.script), tip, &own, &reserved);
        let tx = build_funding_tx(
            &candidates,
            output_script,
            value_sat,
            feerate_sat_per_kw,
            &self.key,
        )?;
        reserved.extend(tx.input.iter().map(|i| i.previous_output));
        self.own_txids.lock().unwrap().insert(tx.compute_txid());
        Ok(tx)
    }

    /// The confirmed coins LDK may add to a fee bump (CPFP of a commitment, fees of an HTLC
    /// transaction): spendable, not reserved for a funding, in a block.
    pub fn confirmed_coins(&self, chain: &dyn ChainAccess) -> Vec<Utxo> {
        let utxos = chain.utxos(&self.script);
        self.spendable(chain, &utxos)
            .into_iter()
            .filter(|u| u.height.is_some())
            .collect()
    }

    /// Signs (SIGHASH_ALL) every input of `psbt` whose `witness_utxo` pays this wallet's script,
    /// leaving the others (an anchor, an HTLC output: LDK signs those) as they are.
    pub fn sign_own_inputs(&self, psbt: Psbt) -> Result<Transaction, FundingError> {
        let secp = Secp256k1::new();
        let pubkey = CompressedPublicKey(self.key.public_key(&secp));
        let mut tx = psbt.unsigned_tx.clone();
        let mut witnesses = Vec::new();
        {
            let mut cache = SighashCache::new(&psbt.unsigned_tx);
            for (i, input) in psbt.inputs.iter().enumerate() {
                let Some(out) = input
                    .witness_utxo
                    .as_ref()
                    .filter(|o| o.script_pubkey == self.script)
                else {
                    continue;
                };
                let sighash = cache
                    .p2wpkh_signature_hash(i, &self.script, out.value, EcdsaSighashType::All)
                    .map_err(|e| FundingError::Sign(e.to_string()))?;
                let msg = Message::from_digest(sighash.to_byte_array());
                let sig = EcdsaSig::sighash_all(secp.sign_ecdsa(&msg, &self.key));
                witnesses.push((i, Witness::p2wpkh(&sig, &pubkey.0)));
            }
        }
        for (i, w) in witnesses {
            tx.input[i].witness = w;
        }
        Ok(tx)
    }

    /// Frees the inputs of a funding transaction that will never be broadcast.
    pub fn release(&self, tx: &Transaction) {
        let mut reserved = self.reserved.lock().unwrap();
        for i in &tx.input {
            reserved.remove(&i.previous_output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::ecdsa::Signature;

    fn key() -> SecretKey {
        SecretKey::from_slice(&[4; 32]).unwrap()
    }
    fn script() -> ScriptBuf {
        let pk = CompressedPublicKey(key().public_key(&Secp256k1::new()));
        ScriptBuf::new_p2wpkh(&pk.wpubkey_hash())
    }
    fn utxo(n: u8, sat: u64, height: Option<u32>, coinbase: bool) -> Utxo {
        Utxo {
            outpoint: OutPoint {
                txid: Txid::from_byte_array([n; 32]),
                vout: 0,
            },
            txout: TxOut {
                value: Amount::from_sat(sat),
                script_pubkey: script(),
            },
            height,
            is_coinbase: coinbase,
        }
    }
    fn funding_script() -> ScriptBuf {
        ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array([8; 32]))
    }

    #[test]
    fn maturity_and_mempool_rules() {
        let utxos = vec![
            utxo(1, 50, Some(1), true),    // 100 confs at tip 100: mature
            utxo(2, 60, Some(2), true),    // 99 confs: immature
            utxo(3, 70, Some(100), false), // confirmed normal
            utxo(4, 80, None, false),      // unconfirmed, not ours
            utxo(5, 90, None, false),      // unconfirmed, ours
        ];
        let own: HashSet<Txid> = [Txid::from_byte_array([5; 32])].into();
        let s = spendable_utxos(&utxos, 100, &own, &HashSet::new());
        let ids: Vec<u8> = s
            .iter()
            .map(|u| u.outpoint.txid.to_byte_array()[0])
            .collect();
        assert_eq!(ids, vec![3, 1, 5]);
        let reserved: HashSet<OutPoint> = [utxos[2].outpoint].into();
        let s = spendable_utxos(&utxos, 100, &own, &reserved);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn builds_with_change_and_valid_signatures() {
        let inputs = vec![utxo(1, 5_000_000_000, Some(1), true)];
        let tx = build_funding_tx(&inputs, funding_script(), 1_000_000, 1000, &key()).unwrap();
        assert_eq!(tx.output.len(), 2);
        assert_eq!(tx.output[0].value.to_sat(), 1_000_000);
        assert_eq!(tx.output[0].script_pubkey, funding_script());
        let fee = 5_000_000_000 - tx.output.iter().map(|o| o.value.to_sat()).sum::<u64>();
        let min_fee = fee_for_weight(tx.weight().to_wu(), 1000).unwrap();
        assert!(
            fee >= min_fee && fee <= min_fee + 2,
            "fee {fee}, weight-based {min_fee}"
        );
        // verify the signature against the sighash
        let secp = Secp256k1::new();
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(0, &script(), inputs[0].txout.value, EcdsaSighashType::All)
            .unwrap();
        let w = &tx.input[0].witness;
        let sig_bytes = w.nth(0).unwrap();
        assert_eq!(*sig_bytes.last().unwrap(), 0x01);
        let sig = Signature::from_der(&sig_bytes[..sig_bytes.len() - 1]).unwrap();
        let pk = key().public_key(&secp);
        assert_eq!(w.nth(1).unwrap(), &pk.serialize()[..]);
        secp.verify_ecdsa(&Message::from_digest(sighash.to_byte_array()), &sig, &pk)
            .unwrap();
    }

    #[test]
    fn dust_change_goes_to_fee() {
        let inputs = vec![utxo(1, 1_000_500, Some(1), false)];
        let tx = build_funding_tx(&inputs, funding_script(), 1_000_000, 1000, &key()).unwrap();
        assert_eq!(tx.output.len(), 1);
    }

    #[test]
    fn uses_several_inputs_and_reports_shortfall() {
        let inputs = vec![
            utxo(1, 600_000, Some(1), false),
            utxo(2, 600_000, Some(1), false),
        ];
        let tx = build_funding_tx(&inputs, funding_script(), 1_000_000, 1000, &key()).unwrap();
        assert_eq!(tx.input.len(), 2);
        let err = build_funding_tx(&inputs, funding_script(), 1_200_000, 1000, &key()).unwrap_err();
        assert!(matches!(
            err,
            FundingError::InsufficientFunds {
                available_sat: 1_200_000,
                ..
            }
        ));
    }
}
