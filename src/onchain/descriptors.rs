//! The on-chain wallet's descriptors: BIP84 (`wpkh`) from the wallet's BIP39 seed.
//!
//! External `wpkh(master/84'/coin'/0'/0/*)` and internal `wpkh(master/84'/coin'/0'/1/*)`, with
//! `coin` 0 on bitcoin and 1 on the test networks, `master` the BIP32 master key of the BIP39
//! seed ([`WalletSecret::bip32_master`]). The same derivation as ldk-node's on-chain wallet and
//! as every BIP84 wallet, so the phrase restores the on-chain funds here or elsewhere.
//!
//! Guarantee: the descriptors carry the private key (BDK keeps it in memory only; a stored
//! `ChangeSet` holds the public descriptors), and are checked against `network` by BDK when the
//! wallet is created or loaded.

use bdk_wallet::template::Bip84;
use bdk_wallet::KeychainKind;
use bitcoin::bip32::Xpriv;

use crate::keys::WalletSecret;

/// The two BIP84 descriptors of a wallet on one network.
#[derive(Clone, Debug)]
pub struct OnchainDescriptors {
    /// Receive addresses (`.../0/*`): the one the user is shown.
    pub external: Bip84<Xpriv>,
    /// Change addresses (`.../1/*`): every script LDK pays to (closes, claims, sweeps).
    pub internal: Bip84<Xpriv>,
}

impl OnchainDescriptors {
    /// The descriptors of `secret` on `network`.
    pub fn new(secret: &WalletSecret, network: bitcoin::Network) -> OnchainDescriptors {
        let master = secret.bip32_master(network);
        OnchainDescriptors {
            external: Bip84(master, KeychainKind::External),
            internal: Bip84(master, KeychainKind::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bdk_wallet::Wallet;
    use bitcoin::Network;

    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn wallet(network: Network) -> Wallet {
        let d = OnchainDescriptors::new(&WalletSecret::parse(ABANDON).unwrap(), network);
        Wallet::create(d.external, d.internal)
            .network(network)
            .create_wallet_no_persist()
            .unwrap()
    }

    #[test]
    fn bip84_test_vectors() {
        // BIP84's own test vectors for this phrase (m/84'/0'/0'/0/0 and m/84'/0'/0'/1/0).
        let w = wallet(Network::Bitcoin);
        assert_eq!(
            w.peek_address(KeychainKind::External, 0).to_string(),
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
        );
        assert_eq!(
            w.peek_address(KeychainKind::External, 1).to_string(),
            "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"
        );
        assert_eq!(
            w.peek_address(KeychainKind::Internal, 0).to_string(),
            "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"
        );
    }

    #[test]
    fn test_networks_use_coin_type_one() {
        let w = wallet(Network::Regtest);
        let external = w.public_descriptor(KeychainKind::External).to_string();
        assert!(
            external.starts_with("wpkh([73c5da0a/84'/1'/0']tpub"),
            "{external}"
        );
        assert!(external.contains("/0/*)"), "{external}");
        let internal = w.public_descriptor(KeychainKind::Internal).to_string();
        assert!(internal.contains("/1/*)"), "{internal}");
        assert!(w
            .peek_address(KeychainKind::External, 0)
            .to_string()
            .starts_with("bcrt1q"));
        // The same phrase on signet and regtest derives the same keys (coin type 1 on both).
        let s = wallet(Network::Signet);
        assert_eq!(
            s.peek_address(KeychainKind::External, 0).script_pubkey(),
            w.peek_address(KeychainKind::External, 0).script_pubkey()
        );
    }
}
