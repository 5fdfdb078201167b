//! Trust on first use of a REST LSP's node id.
//!
//! The REST flow's LSP names its node in `GET /api/v1/info`; that node is then trusted for
//! zero-conf channels. Without a pinned id in the config, the first id seen is adopted and kept
//! with the wallet (namespace [`LSP_IDENTITY_NAMESPACE`], key [`url_key`] of the LSP's URL,
//! value the id in hex); every later `/info`, in this run or any later one, must name the same
//! node or is refused with `LSP_IDENTITY_MISMATCH`. A pinned id wins over a stored one (the user
//! chose it) and replaces it.
//!
//! Invariant kept by the callers: the trusted id in memory is set only by [`Trust::Adopt`], and
//! its write is awaited durable before the adopting caller goes on.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::PublicKey;

use crate::error::Error;

/// The store namespace of the REST LSPs' trusted node ids.
pub const LSP_IDENTITY_NAMESPACE: &str = "lsp_identity";

/// The store key of the LSP at `url`: the lowercase hex SHA-256 of the URL (store keys allow
/// only `[A-Za-z0-9_-]`). A wallet pointed at another LSP URL starts a new trust.
pub fn url_key(url: &str) -> String {
    let h = sha256::Hash::hash(url.as_bytes());
    hex::DisplayHex::to_lower_hex_string(&h.to_byte_array()[..])
}

/// The node id a stored value names; `None` for a value that is not one (the caller reports it
/// as corrupt storage, never drops it).
pub fn decode_stored(bytes: &[u8]) -> Option<PublicKey> {
    core::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The bytes stored for `id`.
pub fn encode_stored(id: &PublicKey) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// The id trusted when the node starts, and whether it must be written: the pin if there is
/// one (written when the store holds no or another id), else the stored id.
pub fn initial_trust(
    pinned: Option<PublicKey>,
    stored: Option<PublicKey>,
) -> (Option<PublicKey>, bool) {
    match (pinned, stored) {
        (Some(p), s) => (Some(p), s != Some(p)),
        (None, s) => (s, false),
    }
}

/// What to do with the id an `/info` answer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// It is the node already trusted.
    Keep,
    /// Nothing is trusted yet: trust it, once it is stored.
    Adopt,
}

/// The decision for `offered` given the id `trusted` so far (pinned, stored or adopted).
pub fn decide(trusted: Option<PublicKey>, offered: PublicKey) -> Result<Trust, Error> {
    match trusted {
        Some(t) if t == offered => Ok(Trust::Keep),
        Some(_) => Err(Error::LspIdentityMismatch),
        None => Ok(Trust::Adopt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn id(b: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    }

    #[test]
    fn the_first_id_is_adopted_and_another_is_refused_ever_after() {
        assert_eq!(decide(None, id(1)), Ok(Trust::Adopt));
        assert_eq!(decide(Some(id(1)), id(1)), Ok(Trust::Keep));
        assert_eq!(decide(Some(id(1)), id(2)), Err(Error::LspIdentityMismatch));
    }

    #[test]
    fn a_pin_wins_over_the_stored_id_and_replaces_it() {
        assert_eq!(initial_trust(Some(id(1)), Some(id(2))), (Some(id(1)), true));
        assert_eq!(initial_trust(Some(id(1)), None), (Some(id(1)), true));
        assert_eq!(
            initial_trust(Some(id(1)), Some(id(1))),
            (Some(id(1)), false)
        );
        assert_eq!(initial_trust(None, Some(id(2))), (Some(id(2)), false));
        assert_eq!(initial_trust(None, None), (None, false));
    }

    #[test]
    fn stored_ids_round_trip_and_garbage_is_not_an_id() {
        assert_eq!(decode_stored(&encode_stored(&id(3))), Some(id(3)));
        assert_eq!(decode_stored(b"02zz"), None);
        assert_eq!(decode_stored(&[0xff, 0xfe]), None);
        assert_eq!(decode_stored(b""), None);
    }

    #[test]
    fn each_url_has_its_own_valid_store_key() {
        let a = url_key("https://lsp.example/");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, url_key("https://other.example/"));
        assert!(crate::store::StoreKey::new(LSP_IDENTITY_NAMESPACE, "", &a).is_ok());
    }
}
