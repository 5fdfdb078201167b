//! The REST LSP's trusted node id in the wallet's store (wasm32): the I/O around the rules of
//! [`super::identity`].

use bitcoin::secp256k1::PublicKey;

use super::identity::{self, Trust, LSP_IDENTITY_NAMESPACE};
use crate::config::LspConfig;
use crate::error::Error;
use crate::node::running::Node;
use crate::store::{Store, StoreError};

/// The record kind named by `STORAGE_CORRUPT`.
const WHAT: &str = "lsp identity";

fn storage_error(e: StoreError) -> Error {
    Error::from_store(e, WHAT)
}

/// The id trusted at start for the REST LSP at `url`: `pinned` if given (stored, awaited, when
/// the store held no or another id), else the one stored on first use, else none yet.
/// A stored value that is not a node id is `STORAGE_CORRUPT`; it is never dropped.
pub async fn load(
    store: &Store,
    url: &str,
    pinned: Option<PublicKey>,
) -> Result<Option<PublicKey>, Error> {
    let key = identity::url_key(url);
    let stored = match store
        .read(LSP_IDENTITY_NAMESPACE, "", &key)
        .await
        .map_err(storage_error)?
    {
        Some(bytes) => {
            Some(identity::decode_stored(&bytes).ok_or(Error::StorageCorrupt { what: WHAT })?)
        }
        None => None,
    };
    let (trusted, write) = identity::initial_trust(pinned, stored);
    if let (Some(id), true) = (trusted, write) {
        store
            .write(
                LSP_IDENTITY_NAMESPACE,
                "",
                &key,
                &identity::encode_stored(&id),
            )
            .await
            .map_err(storage_error)?;
    }
    Ok(trusted)
}

/// Checks the id the REST LSP's `/api/v1/info` names against the trusted one: the same node is
/// fine, another is `LSP_IDENTITY_MISMATCH` (never adopted), and with none trusted yet it is
/// adopted. Adoption claims the id in memory at once (so a concurrent `/info` naming another
/// node is refused, not written over it) and returns only once the id is durable; a failed
/// write stops the node (`STORAGE_FAILED`), as every storage failure does.
pub async fn check_offered(node: &Node, offered: PublicKey) -> Result<(), Error> {
    match identity::decide(node.lsp.node_id.get(), offered)? {
        Trust::Keep => Ok(()),
        Trust::Adopt => {
            let LspConfig::Flow { url, .. } = &node.config.lsp else {
                // An LSPS2 LSP is always pinned: nothing to adopt.
                return Err(Error::LspIdentityMismatch);
            };
            node.lsp.node_id.set(Some(offered));
            let write = node.store.write(
                LSP_IDENTITY_NAMESPACE,
                "",
                &identity::url_key(url),
                &identity::encode_stored(&offered),
            );
            if write.await.is_err() {
                node.lsp.node_id.set(None);
                node.fail_fatally(Error::StorageFailed);
                return Err(Error::StorageFailed);
            }
            Ok(())
        }
    }
}
