//! The stored form of the on-chain wallet: one record, `onchain/wallet`, holding BDK's aggregate
//! `ChangeSet` and the next internal index to hand to LDK.
//!
//! Guarantees:
//! - one record, so a write replaces the whole on-chain state at once (IndexedDB writes are
//!   atomic and ordered: a later write always holds a superset of an earlier one);
//! - [`OnchainRecord::decode`] accepts only what [`OnchainRecord::encode`] wrote (this
//!   version): anything else is [`Error::StorageCorrupt`], never an empty wallet;
//! - no private key is stored: BDK's `ChangeSet` holds public descriptors (the keys come from
//!   the mnemonic at every open).

use bdk_wallet::ChangeSet;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Primary namespace of the on-chain wallet's record.
pub const ONCHAIN_NAMESPACE: &str = "onchain";
/// Key of the record in [`ONCHAIN_NAMESPACE`] (empty secondary namespace).
pub const ONCHAIN_KEY: &str = "wallet";
/// Layout version written by this code.
pub const ONCHAIN_RECORD_VERSION: u32 = 1;

const CORRUPT: Error = Error::StorageCorrupt {
    what: "on-chain wallet",
};

/// What is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnchainRecord {
    /// [`ONCHAIN_RECORD_VERSION`].
    pub version: u32,
    /// The internal (change) index LDK gets next; every lower one was handed out.
    pub ldk_next_internal: u32,
    /// BDK's aggregate change set: descriptors, network, revealed indices, transactions,
    /// anchors and chain checkpoints.
    pub changeset: ChangeSet,
}

/// The same fields, borrowed, for writing without a copy of the change set.
#[derive(Serialize)]
struct RecordRef<'a> {
    version: u32,
    ldk_next_internal: u32,
    changeset: &'a ChangeSet,
}

impl OnchainRecord {
    /// The record as stored (JSON).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        OnchainRecord::encode_parts(self.version, self.ldk_next_internal, &self.changeset)
    }

    /// Encodes a record from its parts (what [`encode`](Self::encode) writes).
    pub fn encode_parts(
        version: u32,
        ldk_next_internal: u32,
        changeset: &ChangeSet,
    ) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(&RecordRef {
            version,
            ldk_next_internal,
            changeset,
        })
        .map_err(|_| Error::StorageFailed)
    }

    /// Reads a stored record; [`Error::StorageCorrupt`] for anything this code did not write.
    pub fn decode(bytes: &[u8]) -> Result<OnchainRecord, Error> {
        let record: OnchainRecord = serde_json::from_slice(bytes).map_err(|_| CORRUPT)?;
        if record.version != ONCHAIN_RECORD_VERSION
            || record.changeset.descriptor.is_none()
            || record.changeset.change_descriptor.is_none()
            || record.changeset.network.is_none()
        {
            return Err(CORRUPT);
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_it_did_not_write() {
        assert_eq!(OnchainRecord::decode(b""), Err(CORRUPT));
        assert_eq!(OnchainRecord::decode(b"{}"), Err(CORRUPT));
        let empty = OnchainRecord {
            version: ONCHAIN_RECORD_VERSION,
            ldk_next_internal: 0,
            changeset: ChangeSet::default(),
        };
        // A record without descriptors would load as no wallet at all: refused.
        assert_eq!(
            OnchainRecord::decode(&empty.encode().unwrap()),
            Err(CORRUPT)
        );
    }
}
