//! A Rapid Gossip Sync server for the devnet: the routing graph a wallet in a tab downloads
//! instead of P2P gossip, as real snapshots (the format `lightning-rapid-gossip-sync` parses)
//! built from the payer's LDK network graph, which real gossip from its peers feeds. LDK's own
//! RGS server is not on a registry (and wants PostgreSQL and bitcoind), hence this one.
//!
//! Files: `snapshot` (the format and what a snapshot since a given time holds), `server` (the
//! HTTP endpoint `GET /snapshot/{since}`).

pub mod server;
pub mod snapshot;
