//! Record addresses: LDK's `(primary_namespace, secondary_namespace, key)` layout, with LDK's
//! validity rules checked before anything reaches IndexedDB.

use lightning::util::persist::{KVSTORE_NAMESPACE_KEY_ALPHABET, KVSTORE_NAMESPACE_KEY_MAX_LEN};

use super::StoreError;

/// The address of one record. Guarantees, once constructed: every part uses only LDK's
/// alphabet (`[A-Za-z0-9_-]`) and is at most 120 characters, the key is not empty, and an
/// empty primary namespace implies an empty secondary namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreKey {
    primary_namespace: String,
    secondary_namespace: String,
    key: String,
}

impl StoreKey {
    /// Checks and builds a key.
    pub fn new(
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> Result<StoreKey, StoreError> {
        validate_namespace(primary_namespace, secondary_namespace)?;
        if key.is_empty() {
            return Err(StoreError::InvalidKey("the key is empty".into()));
        }
        check_part("key", key)?;
        Ok(StoreKey {
            primary_namespace: primary_namespace.to_string(),
            secondary_namespace: secondary_namespace.to_string(),
            key: key.to_string(),
        })
    }

    /// The primary namespace (may be empty).
    pub fn primary_namespace(&self) -> &str {
        &self.primary_namespace
    }

    /// The secondary namespace (empty when the primary one is).
    pub fn secondary_namespace(&self) -> &str {
        &self.secondary_namespace
    }

    /// The key within its namespaces (never empty).
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl core::fmt::Display for StoreKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.primary_namespace, self.secondary_namespace, self.key
        )
    }
}

/// One operation of a batch (`Store::write_batch`), applied in order in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Store `value` under the key (replacing what was there).
    Write(StoreKey, Vec<u8>),
    /// Remove the key (no error if absent).
    Remove(StoreKey),
}

/// Checks a `(primary, secondary)` namespace pair by LDK's rules (both may be empty, but a
/// secondary namespace needs a primary one).
pub fn validate_namespace(
    primary_namespace: &str,
    secondary_namespace: &str,
) -> Result<(), StoreError> {
    check_part("primary namespace", primary_namespace)?;
    check_part("secondary namespace", secondary_namespace)?;
    if primary_namespace.is_empty() && !secondary_namespace.is_empty() {
        return Err(StoreError::InvalidKey(format!(
            "secondary namespace {secondary_namespace:?} given without a primary namespace"
        )));
    }
    Ok(())
}

fn check_part(what: &str, part: &str) -> Result<(), StoreError> {
    if part.len() > KVSTORE_NAMESPACE_KEY_MAX_LEN {
        return Err(StoreError::InvalidKey(format!(
            "{what} is {} characters long, the limit is {KVSTORE_NAMESPACE_KEY_MAX_LEN}",
            part.len()
        )));
    }
    if let Some(c) = part
        .chars()
        .find(|c| !KVSTORE_NAMESPACE_KEY_ALPHABET.contains(*c))
    {
        return Err(StoreError::InvalidKey(format!(
            "{what} {part:?} contains {c:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ldk_layouts() {
        assert!(StoreKey::new("", "", "manager").is_ok());
        assert!(StoreKey::new("monitors", "", "abcd_1").is_ok());
        assert!(StoreKey::new("monitor_updates", "abcd_1", "42").is_ok());
        let k = StoreKey::new("a-b", "C_9", "k").unwrap();
        assert_eq!(
            (k.primary_namespace(), k.secondary_namespace(), k.key()),
            ("a-b", "C_9", "k")
        );
        assert_eq!(k.to_string(), "a-b/C_9/k");
    }

    #[test]
    fn rejects_what_ldk_forbids() {
        for (p, s, k) in [
            ("", "", ""),
            ("", "sub", "k"),
            ("a/b", "", "k"),
            ("a", "", "k.k"),
            ("a", "é", "k"),
            ("a", "", "sp ace"),
        ] {
            let err = StoreKey::new(p, s, k).unwrap_err();
            assert_eq!(err.code(), "store_invalid_key", "{p:?} {s:?} {k:?}");
        }
        let long = "x".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN + 1);
        assert!(StoreKey::new(&long, "", "k").is_err());
        assert!(StoreKey::new("a", "", &long).is_err());
        assert!(StoreKey::new("a", "", &long[1..]).is_ok());
    }

    #[test]
    fn namespace_rules() {
        assert!(validate_namespace("", "").is_ok());
        assert!(validate_namespace("p", "").is_ok());
        assert!(validate_namespace("p", "s").is_ok());
        assert!(validate_namespace("", "s").is_err());
        assert!(validate_namespace("p!", "").is_err());
    }
}
