//! Test helpers: deterministic keys and real, signed BOLT11 invoices.

use core::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning_invoice::{
    Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret, RouteHint, RouteHintHop, RoutingFees,
};

/// A deterministic secret key (n must be non-zero).
pub fn secret(n: u8) -> SecretKey {
    SecretKey::from_slice(&[n; 32]).unwrap()
}

/// The public key of [`secret`]`(n)`.
pub fn pubkey(n: u8) -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::new(), &secret(n))
}

/// Everything an invoice under test can vary.
#[derive(Clone)]
pub struct Inv {
    pub currency: Currency,
    pub amount_msat: Option<u64>,
    pub hash: [u8; 32],
    pub timestamp: u64,
    pub expiry_secs: Option<u64>,
    pub min_final_cltv: u64,
    pub hints: Vec<RouteHint>,
    pub signer: u8,
    pub mpp: bool,
}

impl Inv {
    /// A regtest invoice for 100 000 sat, hash 0x11.., 1h expiry, signed by key 1.
    pub fn new() -> Self {
        Inv {
            currency: Currency::Regtest,
            amount_msat: Some(100_000_000),
            hash: [0x11; 32],
            timestamp: 1_700_000_000,
            expiry_secs: Some(3600),
            min_final_cltv: 24,
            hints: Vec::new(),
            signer: 1,
            mpp: false,
        }
    }

    pub fn build(&self) -> Bolt11Invoice {
        let secp = Secp256k1::new();
        let key = secret(self.signer);
        let mut b = InvoiceBuilder::new(self.currency.clone())
            .description("test".into())
            .payment_hash(sha256::Hash::from_byte_array(self.hash))
            .duration_since_epoch(Duration::from_secs(self.timestamp))
            .min_final_cltv_expiry_delta(self.min_final_cltv)
            .payment_secret(PaymentSecret([0x42; 32]));
        if let Some(a) = self.amount_msat {
            b = b.amount_milli_satoshis(a);
        }
        if let Some(e) = self.expiry_secs {
            b = b.expiry_time(Duration::from_secs(e));
        }
        for h in &self.hints {
            b = b.private_route(h.clone());
        }
        if self.mpp {
            b = b.basic_mpp();
        }
        b.build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
            .unwrap()
    }
}

/// A one-hop route hint from `src` over `scid`.
pub fn hint(src: PublicKey, scid: u64, base: u32, prop: u32, cltv: u16) -> RouteHint {
    RouteHint(vec![RouteHintHop {
        src_node_id: src,
        short_channel_id: scid,
        fees: RoutingFees {
            base_msat: base,
            proportional_millionths: prop,
        },
        cltv_expiry_delta: cltv,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }])
}
