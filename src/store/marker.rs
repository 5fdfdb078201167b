//! The "a wallet exists here" marker: written once, atomically with a new wallet's first
//! records, so a node can tell new from existing data and refuse to start a fresh wallet
//! over an existing one.

use super::StoreError;

const MAGIC: &[u8; 8] = b"tabnode\0";

/// The on-disk layout version this code writes (and the highest it understands).
pub const STORE_FORMAT_VERSION: u32 = 1;

/// What the marker says about the wallet in this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletMarker {
    /// Layout version of the data ([`STORE_FORMAT_VERSION`] when this code created it).
    pub format_version: u32,
    /// When the wallet was created, in milliseconds since the Unix epoch (browser clock).
    pub created_at_millis: u64,
}

impl WalletMarker {
    /// Encodes as 20 bytes: magic, version (u32 BE), creation time (u64 BE).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.format_version.to_be_bytes());
        out.extend_from_slice(&self.created_at_millis.to_be_bytes());
        out
    }

    /// Decodes what [`encode`](Self::encode) wrote; anything else is [`StoreError::Corrupt`].
    pub fn decode(bytes: &[u8]) -> Result<WalletMarker, StoreError> {
        if bytes.len() != 20 || &bytes[..8] != MAGIC {
            return Err(StoreError::Corrupt(format!(
                "wallet marker of {} bytes is not ours",
                bytes.len()
            )));
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[8..12]);
        let mut created = [0u8; 8];
        created.copy_from_slice(&bytes[12..20]);
        let format_version = u32::from_be_bytes(version);
        // A layout this build does not know (written by a newer tabnode, or version 0) must not
        // be read as if it were ours, nor written to: the caller refuses to open.
        if format_version == 0 || format_version > STORE_FORMAT_VERSION {
            return Err(StoreError::Corrupt(format!(
                "the wallet's storage format {format_version} is not one this build reads \
                 (1 to {STORE_FORMAT_VERSION}): a newer tabnode wrote it"
            )));
        }
        Ok(WalletMarker {
            format_version,
            created_at_millis: u64::from_be_bytes(created),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = WalletMarker {
            format_version: STORE_FORMAT_VERSION,
            created_at_millis: 1_700_000_000_123,
        };
        let bytes = m.encode();
        assert_eq!(bytes.len(), 20);
        assert_eq!(WalletMarker::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn rejects_foreign_bytes() {
        let mut bytes = WalletMarker {
            format_version: 1,
            created_at_millis: 5,
        }
        .encode();
        assert_eq!(
            WalletMarker::decode(&bytes[..19]).unwrap_err().code(),
            "store_corrupt"
        );
        bytes[0] = b'X';
        assert_eq!(
            WalletMarker::decode(&bytes).unwrap_err().code(),
            "store_corrupt"
        );
    }

    #[test]
    fn refuses_a_format_newer_than_this_build() {
        for version in [0, STORE_FORMAT_VERSION + 1, u32::MAX] {
            let bytes = WalletMarker {
                format_version: version,
                created_at_millis: 5,
            }
            .encode();
            let e = WalletMarker::decode(&bytes).unwrap_err();
            assert_eq!(e.code(), "store_corrupt", "format {version}");
        }
        assert!(WalletMarker::decode(&[]).is_err());
    }
}
