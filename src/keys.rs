//! The wallet's secret: a BIP39 English mnemonic, and the seeds derived from it.
//!
//! Derivation (the same as ldk-node's, so a phrase restores the same node in either):
//! 1. mnemonic + empty passphrase → 64-byte BIP39 seed (PBKDF2-HMAC-SHA512, 2048 rounds);
//! 2. BIP32 master key of that seed (`Xpriv::new_master`; the network only changes how an xprv is
//!    printed, never the key bytes);
//! 3. the master private key's 32 bytes are the seed of LDK's `KeysManager`, from which the node
//!    id and channel keys are derived;
//! 4. the same BIP32 master key (with the network's version bytes) is the root of the on-chain
//!    wallet's BIP84 descriptors (`crate::onchain::descriptors`), the addresses closes and sweeps
//!    pay to. So the phrase alone restores the node and its on-chain funds.
//!
//! Guarantees: a [`WalletSecret`] only exists for a valid BIP39 phrase; its `Debug` output never
//! shows the words or seeds; the phrase leaves it only through [`WalletSecret::phrase`], which
//! the wallet calls only to store it and when the user asks to see it (`Wallet.mnemonic()`).

use core::fmt;

use bitcoin::bip32::Xpriv;

use crate::error::Error;

/// Number of words of a newly generated phrase.
pub const NEW_MNEMONIC_WORDS: usize = 12;

/// Entropy bytes for a [`NEW_MNEMONIC_WORDS`]-word phrase (128 bits).
pub const NEW_MNEMONIC_ENTROPY_LEN: usize = 16;

/// A valid BIP39 English phrase (any length BIP39 allows: 12 to 24 words).
#[derive(Clone, PartialEq, Eq)]
pub struct WalletSecret {
    mnemonic: bip39::Mnemonic,
}

impl WalletSecret {
    /// A new 12-word phrase from 16 bytes of entropy (the caller takes them from the platform's
    /// CSPRNG).
    pub fn from_entropy(entropy: &[u8; NEW_MNEMONIC_ENTROPY_LEN]) -> WalletSecret {
        let mnemonic = bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy)
            .expect("16 bytes is a valid BIP39 entropy length");
        WalletSecret { mnemonic }
    }

    /// Parses a phrase: words separated by any whitespace, English word list, checksum checked.
    pub fn parse(phrase: &str) -> Result<WalletSecret, Error> {
        let normalized = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        bip39::Mnemonic::parse_in(bip39::Language::English, normalized.as_str())
            .map(|mnemonic| WalletSecret { mnemonic })
            .map_err(|_| Error::InvalidMnemonic)
    }

    /// The phrase, words separated by single spaces. Only for storing it and for showing it to
    /// the user on request.
    pub fn phrase(&self) -> String {
        self.mnemonic.to_string()
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.mnemonic.word_count()
    }

    /// The 64-byte BIP39 seed (empty passphrase).
    pub fn bip39_seed(&self) -> [u8; 64] {
        self.mnemonic.to_seed("")
    }

    /// The BIP32 master key of the BIP39 seed, with `network`'s version bytes (the key itself is
    /// the same on every network): the root of the on-chain wallet's descriptors.
    pub fn bip32_master(&self, network: bitcoin::Network) -> Xpriv {
        Xpriv::new_master(network, &self.bip39_seed())
            .expect("a 64-byte seed always gives a valid master key")
    }

    /// The 32-byte seed for LDK's `KeysManager`: the BIP32 master private key of the BIP39 seed.
    pub fn ldk_seed(&self) -> [u8; 32] {
        // The network argument only selects the xprv version bytes; the key is the same.
        self.bip32_master(bitcoin::Network::Bitcoin)
            .private_key
            .secret_bytes()
    }
}

impl fmt::Debug for WalletSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletSecret({} words, redacted)", self.word_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn bip39_and_bip32_test_vectors() {
        let s = WalletSecret::parse(ABANDON).unwrap();
        assert_eq!(s.word_count(), 12);
        // BIP39 reference vector (empty passphrase).
        assert_eq!(
            hex::DisplayHex::to_lower_hex_string(&s.bip39_seed()[..]),
            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
        );
        // BIP32 root key of that seed (as printed by every BIP39 tool).
        let master = Xpriv::new_master(bitcoin::Network::Bitcoin, &s.bip39_seed()).unwrap();
        assert_eq!(
            master.to_string(),
            "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu"
        );
        assert_eq!(s.ldk_seed(), master.private_key.secret_bytes());
        // The network does not change the key bytes.
        let regtest = Xpriv::new_master(bitcoin::Network::Regtest, &s.bip39_seed()).unwrap();
        assert_eq!(s.ldk_seed(), regtest.private_key.secret_bytes());
        assert_eq!(s.bip32_master(bitcoin::Network::Regtest), regtest);
        assert_eq!(s.bip32_master(bitcoin::Network::Bitcoin), master);
    }

    #[test]
    fn generate_parse_round_trip() {
        let s = WalletSecret::from_entropy(&[7u8; 16]);
        assert_eq!(s.word_count(), NEW_MNEMONIC_WORDS);
        let again =
            WalletSecret::parse(&format!("  {}\n", s.phrase().replace(' ', "   "))).unwrap();
        assert_eq!(again, s);
        assert_eq!(again.ldk_seed(), s.ldk_seed());
        assert_ne!(
            WalletSecret::from_entropy(&[8u8; 16]).ldk_seed(),
            s.ldk_seed()
        );
    }

    #[test]
    fn rejects_bad_phrases_and_redacts_debug() {
        assert_eq!(
            WalletSecret::parse(&ABANDON.replace("about", "abandon")),
            Err(Error::InvalidMnemonic),
            "bad checksum"
        );
        assert_eq!(
            WalletSecret::parse("hello world"),
            Err(Error::InvalidMnemonic)
        );
        assert_eq!(WalletSecret::parse(""), Err(Error::InvalidMnemonic));
        let s = WalletSecret::parse(ABANDON).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("abandon"), "{debug}");
    }
}
