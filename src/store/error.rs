//! The store's error type: every failure of IndexedDB or Web Locks ends here, never in a
//! silent loss.

use core::fmt;

/// Why a store operation failed. Each variant has a stable [`code`](StoreError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// There is no usable IndexedDB in this context (some private modes, sandboxed frames).
    Unavailable(String),
    /// `indexedDB.open` failed; `name` is the DOMException name (e.g. `VersionError` when the
    /// database was made by a newer version of the wallet).
    OpenFailed {
        /// The DOMException name.
        name: String,
        /// The DOMException message.
        message: String,
    },
    /// The database connection is closed: closed by us, by another tab deleting or
    /// upgrading the database, or by the browser (storage cleared).
    Closed,
    /// The browser refused the write for lack of space (`QuotaExceededError`). Nothing of the
    /// transaction was written.
    QuotaExceeded(String),
    /// A transaction aborted or could not be started; `name` is the DOMException name
    /// (`AbortError`, `ConstraintError`, `UnknownError`, ...). Nothing of it was written.
    TransactionFailed {
        /// The DOMException name.
        name: String,
        /// The DOMException message.
        message: String,
    },
    /// A namespace or key is not valid for the store (see [`StoreKey`](super::StoreKey)).
    InvalidKey(String),
    /// A stored record is not what this code wrote (not bytes, or a malformed marker).
    Corrupt(String),
    /// `create_wallet` found a wallet marker: a wallet already exists in this database.
    WalletExists,
    /// `create_wallet` found records but no marker: data of unknown origin, left untouched.
    DataExists,
    /// The instance lock is held by another tab or worker of this origin.
    AlreadyRunning,
    /// The Web Locks API is missing or refused the request (e.g. not a secure context).
    LocksUnavailable(String),
}

impl StoreError {
    /// A stable machine-readable code, for JS and for matching in tests.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::OpenFailed { .. } => "store_open_failed",
            StoreError::Closed => "store_closed",
            StoreError::QuotaExceeded(_) => "store_quota_exceeded",
            StoreError::TransactionFailed { .. } => "store_transaction_failed",
            StoreError::InvalidKey(_) => "store_invalid_key",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::WalletExists => "store_wallet_exists",
            StoreError::DataExists => "store_data_exists",
            StoreError::AlreadyRunning => "store_already_running",
            StoreError::LocksUnavailable(_) => "store_locks_unavailable",
        }
    }

    /// Maps a DOMException name and message from a failed transaction to an error.
    /// `InvalidStateError` / `TransactionInactiveError` mean the connection is closing or closed.
    pub fn from_transaction_failure(name: &str, message: &str) -> StoreError {
        match name {
            "QuotaExceededError" => StoreError::QuotaExceeded(message.to_string()),
            "InvalidStateError" | "TransactionInactiveError" => StoreError::Closed,
            _ => StoreError::TransactionFailed {
                name: name.to_string(),
                message: message.to_string(),
            },
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "IndexedDB unavailable: {m}"),
            StoreError::OpenFailed { name, message } => {
                write!(f, "cannot open the database: {name}: {message}")
            }
            StoreError::Closed => write!(f, "the database connection is closed"),
            StoreError::QuotaExceeded(m) => write!(f, "storage quota exceeded: {m}"),
            StoreError::TransactionFailed { name, message } => {
                write!(f, "transaction failed: {name}: {message}")
            }
            StoreError::InvalidKey(m) => write!(f, "invalid key: {m}"),
            StoreError::Corrupt(m) => write!(f, "corrupt record: {m}"),
            StoreError::WalletExists => write!(f, "a wallet already exists in this database"),
            StoreError::DataExists => write!(f, "the database holds data but no wallet marker"),
            StoreError::AlreadyRunning => {
                write!(f, "the wallet is already running in another tab or worker")
            }
            StoreError::LocksUnavailable(m) => write!(f, "Web Locks unavailable: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dom_exception_names_map_to_variants() {
        assert_eq!(
            StoreError::from_transaction_failure("QuotaExceededError", "full").code(),
            "store_quota_exceeded"
        );
        assert_eq!(
            StoreError::from_transaction_failure("InvalidStateError", "closing"),
            StoreError::Closed
        );
        assert_eq!(
            StoreError::from_transaction_failure("TransactionInactiveError", ""),
            StoreError::Closed
        );
        assert_eq!(
            StoreError::from_transaction_failure("ConstraintError", "exists"),
            StoreError::TransactionFailed {
                name: "ConstraintError".into(),
                message: "exists".into()
            }
        );
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            StoreError::Unavailable(String::new()),
            StoreError::OpenFailed {
                name: String::new(),
                message: String::new(),
            },
            StoreError::Closed,
            StoreError::QuotaExceeded(String::new()),
            StoreError::TransactionFailed {
                name: String::new(),
                message: String::new(),
            },
            StoreError::InvalidKey(String::new()),
            StoreError::Corrupt(String::new()),
            StoreError::WalletExists,
            StoreError::DataExists,
            StoreError::AlreadyRunning,
            StoreError::LocksUnavailable(String::new()),
        ];
        let mut codes: Vec<_> = all.iter().map(|e| e.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
