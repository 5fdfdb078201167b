//! Fee quotes handed out by `POST /api/v1/fee`, each usable once by one proposal until it expires.

use std::collections::HashMap;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;

/// A fee quote: the client `client` may propose an invoice for `amount_msat - fee_msat` until
/// `expires_at` (time since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeQuote {
    pub id: String,
    pub client: PublicKey,
    pub amount_msat: u64,
    pub fee_msat: u64,
    pub expires_at: Duration,
}

impl FeeQuote {
    /// What the client's own invoice must be for. Never underflows: quotes are only made with
    /// `fee_msat < amount_msat`.
    pub fn inner_amount_msat(&self) -> u64 {
        self.amount_msat.saturating_sub(self.fee_msat)
    }
}

/// Why a `fee_id` cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuoteLookupError {
    Unknown,
    Expired,
}

/// The live quotes, by id.
#[derive(Default, Debug)]
pub struct QuoteBook {
    quotes: HashMap<String, FeeQuote>,
}

/// A random UUID (version 4 layout) for a quote id.
pub fn random_quote_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::DisplayHex::to_lower_hex_string(&b[..]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl QuoteBook {
    /// Stores `quote` (dropping quotes expired at `now`).
    pub fn insert(&mut self, quote: FeeQuote, now: Duration) {
        self.quotes.retain(|_, q| q.expires_at > now);
        self.quotes.insert(quote.id.clone(), quote);
    }

    /// The quote `id` if it exists and has not expired at `now`; it stays stored.
    pub fn get(&self, id: &str, now: Duration) -> Result<FeeQuote, QuoteLookupError> {
        let q = self.quotes.get(id).ok_or(QuoteLookupError::Unknown)?;
        if q.expires_at <= now {
            return Err(QuoteLookupError::Expired);
        }
        Ok(q.clone())
    }

    /// Removes quote `id` (after a successful proposal, so it cannot be used twice).
    pub fn consume(&mut self, id: &str) -> Option<FeeQuote> {
        self.quotes.remove(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn quote(id: &str, expires: u64) -> FeeQuote {
        let secp = Secp256k1::new();
        let client = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[3; 32]).unwrap());
        FeeQuote {
            id: id.into(),
            client,
            amount_msat: 10_000,
            fee_msat: 1_000,
            expires_at: Duration::from_secs(expires),
        }
    }

    #[test]
    fn lookup_expiry_and_consume() {
        let mut book = QuoteBook::default();
        book.insert(quote("a", 100), Duration::from_secs(10));
        assert_eq!(
            book.get("a", Duration::from_secs(99))
                .unwrap()
                .inner_amount_msat(),
            9_000
        );
        assert_eq!(
            book.get("a", Duration::from_secs(100)),
            Err(QuoteLookupError::Expired)
        );
        assert_eq!(
            book.get("b", Duration::from_secs(1)),
            Err(QuoteLookupError::Unknown)
        );
        assert!(book.consume("a").is_some());
        assert_eq!(
            book.get("a", Duration::from_secs(1)),
            Err(QuoteLookupError::Unknown)
        );
    }

    #[test]
    fn insert_prunes_expired() {
        let mut book = QuoteBook::default();
        book.insert(quote("old", 5), Duration::from_secs(0));
        book.insert(quote("new", 500), Duration::from_secs(6));
        assert_eq!(
            book.get("old", Duration::from_secs(0)),
            Err(QuoteLookupError::Unknown)
        );
    }

    #[test]
    fn ids_look_like_uuids_and_differ() {
        let a = random_quote_id();
        let b = random_quote_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_eq!(a.matches('-').count(), 4);
    }
}
