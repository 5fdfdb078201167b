//! The wallet's Esplora servers, shared by everything that reads or writes the chain: the sync
//! rounds (LDK's and the on-chain wallet's), the broadcaster, the trust-minimized funding watch.
//! One [`SourceRotation`] decides which server a round uses (see `rotation.rs` for why a round
//! never mixes two).

use core::cell::RefCell;

use bitcoin::{Transaction, Txid};

use super::pacing::{ChainFault, ChainUnavailable};
use super::rotation::SourceRotation;
use super::{EsploraClient, EsploraError};

/// The configured Esplora server and, when set, its fallback.
#[derive(Debug)]
pub struct EsploraSources {
    servers: Vec<EsploraClient>,
    rotation: RefCell<SourceRotation>,
}

impl EsploraSources {
    /// `primary`, then `fallback` when given.
    pub fn new(primary: EsploraClient, fallback: Option<EsploraClient>) -> EsploraSources {
        let servers: Vec<EsploraClient> = core::iter::once(primary).chain(fallback).collect();
        EsploraSources {
            rotation: RefCell::new(SourceRotation::new(servers.len())),
            servers,
        }
    }

    /// The server a round starting now uses, and its index for [`Self::round_succeeded`] /
    /// [`Self::round_failed`].
    pub fn for_round(&self) -> (usize, &EsploraClient) {
        let i = self.rotation.borrow().active();
        (i, &self.servers[i])
    }

    /// The server in use now, for a one-off read outside a round.
    pub fn active(&self) -> &EsploraClient {
        self.for_round().1
    }

    /// The round on server `index` succeeded.
    pub fn round_succeeded(&self, index: usize) {
        self.rotation.borrow_mut().succeeded(index);
    }

    /// The round on server `index` failed because of its server; the next round uses the next
    /// one. Returns whether that one is untried in this run of failures (no backoff then).
    pub fn round_failed(&self, index: usize) -> bool {
        self.rotation.borrow_mut().failed(index)
    }

    /// The base URL of server `index`.
    pub fn url(&self, index: usize) -> &str {
        self.servers[index].base_url()
    }

    /// Whether a server untried in the current run of failures remains.
    pub fn another_untried(&self) -> bool {
        self.rotation.borrow().another_untried()
    }

    /// Posts `tx` to the server in use and, if that one cannot be reached (no answer, a 5xx, a
    /// 429), to the others in turn. A refusal of the transaction itself (an answer with a 4xx
    /// status: invalid, conflicting, already known) is returned as is: another server would
    /// judge it the same.
    pub async fn broadcast(&self, tx: &Transaction) -> Result<Txid, EsploraError> {
        let first = self.rotation.borrow().active();
        let order = (0..self.servers.len()).map(|k| (first + k) % self.servers.len());
        let mut last = None;
        for i in order {
            match self.servers[i].broadcast(tx).await {
                Ok(txid) => return Ok(txid),
                Err(e) if is_refusal(&e) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one server"))
    }
}

/// Whether the server answered and refused the transaction (a 4xx other than 429): the
/// transaction's fault, not the server's.
fn is_refusal(e: &EsploraError) -> bool {
    ChainUnavailable::of_esplora(e).fault == ChainFault::Refused
}
