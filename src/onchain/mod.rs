//! The wallet's on-chain side: a BDK wallet (`bdk_wallet`, BIP84 `wpkh` from the mnemonic)
//! that owns every script closed channels pay to, kept in IndexedDB and synced over the
//! wallet's own Esplora client.
//!
//! Who pays where (the pattern of ldk-node's wallet):
//! - the user's address (`Wallet.onchainAddress()`) is BDK's next unused **external** address;
//! - LDK's destination script (on-chain HTLC claims) and shutdown script (cooperative closes)
//!   come from the BDK wallet through [`signer::WalletKeys`], a `SignerProvider` wrapper around
//!   LDK's `KeysManager` that keeps its node and channel keys and overrides only those two
//!   scripts; the `OutputSweeper` (to-self outputs after their CSV delay, the counterparty's
//!   force-close payments) sends to BDK too, as its `ChangeDestinationSource`. All three are
//!   **internal** (change) addresses: funds coming back from a channel are not payments
//!   received, and keeping them off the external chain keeps the user's address simple.
//!
//! Why the wrapper rather than keeping `KeysManager`'s two static scripts: BDK owns only what
//! its descriptors derive, so a `KeysManager` script could be watched but never be part of the
//! BDK balance or spendable by it; per-channel fresh scripts also stop linking channels on chain.
//! The price: LDK asks for its scripts synchronously while creating a channel, and a revealed
//! script must be stored before it is used. So a small reserve of internal scripts is revealed
//! and written ahead ([`state::LDK_RESERVE`]); LDK takes only from the written reserve, and a
//! write refills it after each take (a channel creation finding it empty fails, which LDK
//! reports as a refused channel, rather than paying an unstored script).
//!
//! Modules: [`descriptors`] (BIP84 from the seed), [`record`] (the stored form), [`state`]
//! (BDK's wallet without I/O: reveal, hand out, apply, balance), [`scan`] (which scripts a sync
//! asks about), [`esplora_update`] (Esplora's answers → a BDK update), [`spend`] (the coins a
//! fee bump may add, and signing them); wasm32 only: `wallet` (store + Esplora + LDK's sweeper
//! destination), `signer` (the `SignerProvider`) and `coins` (LDK's fee-bump coin source).

pub mod descriptors;
pub mod esplora_update;
pub mod history;
pub mod record;
pub mod scan;
pub mod send;
pub mod spend;
pub mod state;

pub use state::{OnchainBalance, OnchainState};

#[cfg(target_arch = "wasm32")]
pub mod coins;
#[cfg(target_arch = "wasm32")]
pub mod signer;
#[cfg(target_arch = "wasm32")]
pub mod wallet;
