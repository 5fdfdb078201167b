//! LDK's `BroadcasterInterface` over Esplora's `POST /tx`.
//!
//! Guarantees: `broadcast_transactions` never blocks or calls back into LDK; each transaction is
//! posted from its own task. A rejection is logged; one that is not "already known" (LDK
//! rebroadcasts on purpose) is also reported to JS as a non-fatal `CHAIN_SOURCE_FAILED` error
//! event. LDK rebroadcasts what matters (claims, sweeps) on its own timers, so nothing is retried
//! here. Each transaction that goes out sets the flag the on-chain wallet reads to sync at the
//! next round (a close or sweep usually pays it).

use core::cell::Cell;
use std::rc::Rc;

use bitcoin::Transaction;
use lightning::chain::chaininterface::BroadcasterInterface;
use lightning::util::logger::Level;

use super::event_bus::EventBus;
use super::logger::{wallet_log, NodeLogger};
use super::tasks::Tasks;
use super::WalletEvent;
use crate::chain::{EsploraClient, EsploraError};
use crate::error::Error;
use crate::net::HttpError;

/// Broadcasts through Esplora.
pub struct Broadcaster {
    esplora: EsploraClient,
    logger: NodeLogger,
    bus: EventBus,
    broadcast_seen: Rc<Cell<bool>>,
    tasks: Tasks,
}

impl Broadcaster {
    /// A broadcaster posting to `esplora`, each post one of `tasks` (`stop()` waits for a post
    /// in flight); sets `broadcast_seen` after each accepted transaction.
    pub fn new(
        esplora: EsploraClient,
        logger: NodeLogger,
        bus: EventBus,
        broadcast_seen: Rc<Cell<bool>>,
        tasks: Tasks,
    ) -> Self {
        Broadcaster {
            esplora,
            logger,
            bus,
            broadcast_seen,
            tasks,
        }
    }
}

/// Whether a rejection only says the transaction is known already.
fn already_known(e: &EsploraError) -> bool {
    match e {
        EsploraError::Http(HttpError::Status { body, .. }) => {
            let b = body.to_ascii_lowercase();
            b.contains("already") || b.contains("txn-known")
        }
        _ => false,
    }
}

impl BroadcasterInterface for Broadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        for tx in txs {
            let tx = (*tx).clone();
            let esplora = self.esplora.clone();
            let logger = self.logger;
            let bus = self.bus.clone();
            let seen = self.broadcast_seen.clone();
            self.tasks.spawn("broadcast", async move {
                let txid = tx.compute_txid();
                match esplora.broadcast(&tx).await {
                    Ok(_) => {
                        seen.set(true);
                        wallet_log(&logger, Level::Info, &format!("broadcast {txid}"))
                    }
                    Err(e) if already_known(&e) => wallet_log(
                        &logger,
                        Level::Debug,
                        &format!("broadcast {txid}: already known"),
                    ),
                    Err(e) => {
                        wallet_log(
                            &logger,
                            Level::Error,
                            &format!("broadcast {txid} failed: {e}"),
                        );
                        bus.emit(WalletEvent::Error(Error::ChainSourceFailed));
                    }
                }
            });
        }
    }
}
