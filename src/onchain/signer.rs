//! LDK's keys with the on-chain wallet's scripts (wasm32): [`WalletKeys`] is LDK's
//! `KeysManager` (node key, channel keys, entropy, spending of swept outputs: all unchanged,
//! derived from the same seed as before) except for the two scripts a channel pays the wallet
//! on chain, which come from the BDK wallet (as ldk-node's `WalletKeysManager` does).
//!
//! Guarantees: `get_destination_script` and `get_shutdown_scriptpubkey` return a BDK internal
//! script that is already stored (from [`OnchainWallet::take_ldk_script`]'s written reserve),
//! a new one per call; with the reserve empty they fail, which LDK turns into a refused
//! channel open (or close), never into a payment to a script the wallet could forget.

use std::sync::Arc;

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{schnorr, All, PublicKey, Scalar, Secp256k1};
use bitcoin::{absolute::LockTime, ScriptBuf, Transaction, TxOut};
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::ln::msgs::UnsignedGossipMessage;
use lightning::ln::script::ShutdownScript;
use lightning::offers::invoice::UnsignedBolt12Invoice;
use lightning::sign::{
    EntropySource, InMemorySigner, KeysManager, NodeSigner, OutputSpender, PeerStorageKey,
    ReceiveAuthKey, Recipient, SignerProvider, SpendableOutputDescriptor,
};
use lightning_invoice::RawBolt11Invoice;

use super::wallet::OnchainWallet;

/// LDK's `KeysManager`, with the destination and shutdown scripts from the BDK wallet.
pub struct WalletKeys {
    inner: KeysManager,
    onchain: Arc<OnchainWallet>,
}

impl WalletKeys {
    /// Wraps `inner`; channel scripts come from `onchain`.
    pub fn new(inner: KeysManager, onchain: Arc<OnchainWallet>) -> WalletKeys {
        WalletKeys { inner, onchain }
    }
}

impl EntropySource for WalletKeys {
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        self.inner.get_secure_random_bytes()
    }
}

impl NodeSigner for WalletKeys {
    fn get_expanded_key(&self) -> ExpandedKey {
        self.inner.get_expanded_key()
    }

    fn get_peer_storage_key(&self) -> PeerStorageKey {
        self.inner.get_peer_storage_key()
    }

    fn get_receive_auth_key(&self) -> ReceiveAuthKey {
        self.inner.get_receive_auth_key()
    }

    fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, ()> {
        self.inner.get_node_id(recipient)
    }

    fn ecdh(
        &self,
        recipient: Recipient,
        other_key: &PublicKey,
        tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, ()> {
        self.inner.ecdh(recipient, other_key, tweak)
    }

    fn sign_invoice(
        &self,
        invoice: &RawBolt11Invoice,
        recipient: Recipient,
    ) -> Result<RecoverableSignature, ()> {
        self.inner.sign_invoice(invoice, recipient)
    }

    fn sign_bolt12_invoice(
        &self,
        invoice: &UnsignedBolt12Invoice,
    ) -> Result<schnorr::Signature, ()> {
        self.inner.sign_bolt12_invoice(invoice)
    }

    fn sign_gossip_message(&self, msg: UnsignedGossipMessage) -> Result<Signature, ()> {
        self.inner.sign_gossip_message(msg)
    }

    fn sign_message(&self, msg: &[u8]) -> Result<String, ()> {
        self.inner.sign_message(msg)
    }
}

impl OutputSpender for WalletKeys {
    fn spend_spendable_outputs(
        &self,
        descriptors: &[&SpendableOutputDescriptor],
        outputs: Vec<TxOut>,
        change_destination_script: ScriptBuf,
        feerate_sat_per_1000_weight: u32,
        locktime: Option<LockTime>,
        secp_ctx: &Secp256k1<All>,
    ) -> Result<Transaction, ()> {
        self.inner.spend_spendable_outputs(
            descriptors,
            outputs,
            change_destination_script,
            feerate_sat_per_1000_weight,
            locktime,
            secp_ctx,
        )
    }
}

impl SignerProvider for WalletKeys {
    type EcdsaSigner = InMemorySigner;

    fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> [u8; 32] {
        self.inner
            .generate_channel_keys_id(inbound, user_channel_id)
    }

    fn derive_channel_signer(&self, channel_keys_id: [u8; 32]) -> InMemorySigner {
        self.inner.derive_channel_signer(channel_keys_id)
    }

    fn get_destination_script(&self, _channel_keys_id: [u8; 32]) -> Result<ScriptBuf, ()> {
        self.onchain.take_ldk_script().ok_or(())
    }

    fn get_shutdown_scriptpubkey(&self) -> Result<ShutdownScript, ()> {
        let script = self.onchain.take_ldk_script().ok_or(())?;
        ShutdownScript::try_from(script).map_err(|_| ())
    }
}
