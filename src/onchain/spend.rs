//! Spending the on-chain wallet's own coins, without I/O: the confirmed coins LDK may add to a
//! transaction it fee-bumps (CPFP of an anchor channel's commitment, fees of its zero-fee HTLC
//! transactions), and signing those inputs.
//!
//! Guarantees:
//! - [`confirmed_coins`] lists only unspent outputs of confirmed transactions that pay the
//!   wallet's BIP84 (P2WPKH) scripts, each with the weight its witness adds, so LDK's fee
//!   arithmetic holds;
//! - [`sign_own_inputs`] signs only inputs that spend one of the wallet's unspent outputs, and
//!   only if the PSBT states that output exactly as the wallet knows it (value and script): a
//!   PSBT misstating the value of one of our coins (the "SegWit bug" that could make us pay a
//!   larger fee than shown) is refused, so BDK may be told to trust `witness_utxo`; inputs of
//!   others (the anchor, an HTLC output) are left for LDK to sign.

use bdk_wallet::{SignOptions, Wallet};
use bitcoin::hashes::Hash;
use bitcoin::{Psbt, Transaction, WPubkeyHash};
use lightning::events::bump_transaction::Utxo;

/// Why a PSBT was not signed.
#[derive(Debug, PartialEq, Eq)]
pub enum SignRefusal {
    /// An input spends one of our outputs but states another value or script for it.
    MisstatedCoin(bitcoin::OutPoint),
    /// BDK could not sign.
    Signer(String),
}

/// The wallet's unspent outputs in confirmed transactions, as LDK's coin selection takes them.
pub fn confirmed_coins(wallet: &Wallet) -> Vec<Utxo> {
    wallet
        .list_unspent()
        .filter(|u| u.chain_position.is_confirmed())
        .filter_map(|u| {
            let spk = &u.txout.script_pubkey;
            // Both BIP84 keychains are P2WPKH; anything else is not ours to spend here.
            if !spk.is_p2wpkh() {
                return None;
            }
            let hash = WPubkeyHash::from_slice(&spk.as_bytes()[2..]).ok()?;
            Some(Utxo::new_v0_p2wpkh(u.outpoint, u.txout.value, &hash))
        })
        .collect()
}

/// Signs and finalizes every input of `psbt` that spends one of the wallet's unspent outputs,
/// and returns the transaction (the other inputs as LDK left them; with none of ours, unsigned).
pub fn sign_own_inputs(wallet: &Wallet, mut psbt: Psbt) -> Result<Transaction, SignRefusal> {
    let mut own = 0usize;
    for (txin, input) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs) {
        let Some(coin) = wallet.get_utxo(txin.previous_output) else {
            continue;
        };
        if input.witness_utxo.as_ref() != Some(&coin.txout) {
            return Err(SignRefusal::MisstatedCoin(txin.previous_output));
        }
        own += 1;
    }
    if own == 0 {
        // LDK found the anchor and the commitment's own fee enough (its change below dust
        // goes to an OP_RETURN): nothing of ours to sign.
        return Ok(psbt.extract_tx_unchecked_fee_rate());
    }
    let options = SignOptions {
        // Checked above for every input of ours.
        trust_witness_utxo: true,
        ..Default::default()
    };
    // `Ok(false)`: some inputs (the others') are not final; ours are, or the check below says.
    wallet
        .sign(&mut psbt, options)
        .map_err(|e| SignRefusal::Signer(e.to_string()))?;
    for (txin, input) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs) {
        if wallet.get_utxo(txin.previous_output).is_some() && input.final_script_witness.is_none() {
            return Err(SignRefusal::Signer(format!(
                "input {} not signed",
                txin.previous_output
            )));
        }
    }
    // The fee is LDK's (its coin selection at its target rate), not a PSBT's claim to check.
    Ok(psbt.extract_tx_unchecked_fee_rate())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onchain::state::tests::funded;
    use bitcoin::absolute::LockTime;
    use bitcoin::secp256k1::{ecdsa, Message, PublicKey, Secp256k1};
    use bitcoin::sighash::{EcdsaSighashType, SighashCache};
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, TxIn, TxOut, Txid, WScriptHash};

    /// A CPFP-like PSBT: an anchor of someone else's commitment, then our coin, one output.
    fn bump_psbt(coin: OutPoint, coin_out: &TxOut) -> Psbt {
        let anchor = OutPoint::new(Txid::from_byte_array([9; 32]), 1);
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: [anchor, coin]
                .into_iter()
                .map(|o| TxIn {
                    previous_output: o,
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    ..Default::default()
                })
                .collect(),
            output: vec![TxOut {
                script_pubkey: ScriptBuf::new_p2wsh(&WScriptHash::all_zeros()),
                value: Amount::from_sat(149_000),
            }],
        };
        let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
        psbt.inputs[0].witness_utxo = Some(TxOut {
            script_pubkey: ScriptBuf::new_p2wsh(&WScriptHash::all_zeros()),
            value: Amount::from_sat(330),
        });
        psbt.inputs[1].witness_utxo = Some(coin_out.clone());
        psbt
    }

    #[test]
    fn only_confirmed_coins_are_offered_with_their_witness_weight() {
        let (s, coin, out) = funded();
        let coins = confirmed_coins(s.wallet());
        let hash = WPubkeyHash::from_slice(&out.script_pubkey.as_bytes()[2..]).unwrap();
        assert_eq!(coins, vec![Utxo::new_v0_p2wpkh(coin, out.value, &hash)]);
    }

    #[test]
    fn our_input_is_signed_validly_and_the_others_left_alone() {
        let (s, coin, out) = funded();
        let psbt = bump_psbt(coin, &out);
        let unsigned = psbt.unsigned_tx.clone();
        let tx = sign_own_inputs(s.wallet(), psbt).unwrap();
        assert_eq!(
            tx.compute_txid(),
            unsigned.compute_txid(),
            "nothing but witnesses"
        );
        assert!(
            tx.input[0].witness.is_empty(),
            "the anchor is LDK's to sign"
        );

        // The witness is a signature of this transaction by the key of the coin's script.
        let w = &tx.input[1].witness;
        assert_eq!(w.len(), 2);
        let pubkey = PublicKey::from_slice(&w[1]).unwrap();
        let wpkh = bitcoin::CompressedPublicKey(pubkey).wpubkey_hash();
        assert_eq!(ScriptBuf::new_p2wpkh(&wpkh), out.script_pubkey);
        let sighash = SighashCache::new(&unsigned)
            .p2wpkh_signature_hash(1, &out.script_pubkey, out.value, EcdsaSighashType::All)
            .unwrap();
        let (flag, der) = w[0].split_last().unwrap();
        assert_eq!(*flag, EcdsaSighashType::All as u8);
        let sig = ecdsa::Signature::from_der(der).unwrap();
        Secp256k1::verification_only()
            .verify_ecdsa(&Message::from(sighash), &sig, &pubkey)
            .expect("a valid signature");
    }

    #[test]
    fn a_misstated_coin_is_refused_and_no_coin_of_ours_left_unsigned() {
        let (s, coin, out) = funded();
        let mut lying = bump_psbt(coin, &out);
        lying.inputs[1].witness_utxo.as_mut().unwrap().value = Amount::from_sat(15_000);
        assert_eq!(
            sign_own_inputs(s.wallet(), lying),
            Err(SignRefusal::MisstatedCoin(coin))
        );
        let foreign = OutPoint::new(Txid::from_byte_array([7; 32]), 0);
        let psbt = bump_psbt(foreign, &out);
        let unsigned = psbt.unsigned_tx.clone();
        assert_eq!(sign_own_inputs(s.wallet(), psbt), Ok(unsigned));
    }
}
