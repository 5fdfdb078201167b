//! Chain access over Esplora: the answers' shapes and their checks (plain Rust, tested
//! natively) and the client over `fetch` (wasm32).

mod esplora_error;
mod esplora_types;
mod fee_estimates;
mod merkle;
pub mod pacing;
pub mod rotation;
pub mod sync;

pub use esplora_error::EsploraError;
pub use esplora_types::{
    parse_block_hash, parse_block_status, parse_blocks, parse_header, parse_height,
    parse_merkle_block, parse_merkle_proof, parse_outspend, parse_raw_tx, parse_tx,
    parse_tx_status, parse_txid, parse_txs, script_hash, BlockStatus, BlockSummary, EsploraTx,
    OutputSpend, TxStatus,
};
pub use fee_estimates::{sat_per_vb_text_to_sat_per_kwu, FeeEstimates};
pub use merkle::{verify_merkle_block, MerkleProof};

#[cfg(target_arch = "wasm32")]
pub mod esplora;
#[cfg(target_arch = "wasm32")]
pub use esplora::EsploraClient;
#[cfg(target_arch = "wasm32")]
pub mod sources;
#[cfg(target_arch = "wasm32")]
pub use sources::EsploraSources;
pub use sync::{ChainSource, SyncError, TxSync};
