//! LDK's `BroadcasterInterface` over Esplora's `POST /tx`.
//!
//! Guarantees: `broadcast_transactions` never blocks or calls back into LDK; the transactions of
//! one call are posted from one task, one after the other in the order given (a package: parent
//! first). A rejection is logged; one that is not "already known" (LDK
//! rebroadcasts on purpose) nor "an input is spent already" (a force close's race with the
//! LSP's own commitment) is also reported to JS as a non-fatal `CHAIN_SOURCE_FAILED` error
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
use crate::chain::{EsploraError, EsploraSources};
use crate::error::Error;
use crate::net::HttpError;

/// Broadcasts through Esplora.
pub struct Broadcaster {
    esplora: Rc<EsploraSources>,
    logger: NodeLogger,
    bus: EventBus,
    broadcast_seen: Rc<Cell<bool>>,
    tasks: Tasks,
}

impl Broadcaster {
    /// A broadcaster posting to `esplora` (the server in use, then the others if it cannot be
    /// reached), each post one of `tasks` (`stop()` waits for a post in flight); sets
    /// `broadcast_seen` after each accepted transaction.
    pub fn new(
        esplora: Rc<EsploraSources>,
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

/// The refusal's body, lowercased, when the chain answered one.
fn refusal(e: &EsploraError) -> Option<String> {
    match e {
        EsploraError::Http(HttpError::Status { body, .. }) => Some(body.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether a rejection only says the transaction is known already.
fn already_known(e: &EsploraError) -> bool {
    refusal(e).is_some_and(|b| b.contains("already") || b.contains("txn-known"))
}

/// Whether a rejection says another transaction spent an input first: in a force close the
/// LSP's commitment may reach the chain before the wallet's own (then the wallet's, and its
/// CPFP child, are refused), which is a normal outcome LDK handles on chain, not a failure of
/// the chain source.
fn spent_elsewhere(e: &EsploraError) -> bool {
    refusal(e).is_some_and(|b| b.contains("missingorspent") || b.contains("mempool-conflict"))
}

impl BroadcasterInterface for Broadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        // One task per call, posting in the given order: LDK hands a package as parent then
        // child (an anchor channel's commitment and its CPFP), and a child posted before its
        // parent is refused for a missing input.
        let txs: Vec<Transaction> = txs.iter().map(|tx| (*tx).clone()).collect();
        let esplora = self.esplora.clone();
        let logger = self.logger;
        let bus = self.bus.clone();
        let seen = self.broadcast_seen.clone();
        self.tasks.spawn("broadcast", async move {
            for tx in txs {
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
                    Err(e) if spent_elsewhere(&e) => wallet_log(
                        &logger,
                        Level::Warn,
                        &format!(
                            "broadcast {txid}: an input is spent by another transaction ({e})"
                        ),
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
            }
        });
    }
}
