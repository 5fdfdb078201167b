//! The node's background tasks: LDK's background processor, the chain sync loop, the LSP
//! connection loop and the routing graph's sync ([`crate::gossip`]), all on the page's event
//! loop.
//!
//! Guarantees:
//! - timers measure wall time: LDK's background processor sleeps with `setTimeout` and the sync
//!   loop computes its next run from `Date.now()`, so a tab the browser throttled (timers
//!   delayed to once a minute, or frozen) catches up on its first tick back instead of counting
//!   missed ticks; `mobile_interruptable_platform` is off, so a long pause does not drop peers
//!   by itself;
//! - the chain is synced at the network's interval ([`SyncPolicy`]) and at once on demand
//!   (`sync()`, a closed channel, the page coming back online or visible); after each round,
//!   unpaid invoices past their expiry are marked failed (`expired`) with a `receive_state`
//!   event. A round the chain source could not serve emits a non-fatal
//!   `CHAIN_SOURCE_UNAVAILABLE` error (its `reason` says why) and the next round waits longer
//!   ([`SyncSchedule::failed`]: doubling, at least the server's `Retry-After`); the first
//!   round that succeeds again emits `synced` and restores the interval. With a fallback server
//!   (`esploraFallbackUrl`), a failed round is done again at once on the other server, and only
//!   a run of rounds that every server failed is reported and backed off (`chain/rotation.rs`);
//! - at shutdown every task ends; the background processor first writes the channel manager
//!   one last time. A background processor that fails (a persistence error) stops the node
//!   with a fatal `error` event.

use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::rc::Rc;
use std::sync::Arc;

use futures::future::{select, Either};
use lightning::util::logger::Level;
use lightning_background_processor::{process_events_async, GossipSync};

use super::running::Node;
use super::types::{DynUtxoLookup, NoOnionMessenger, P2PSync};
use super::WalletEvent;
use crate::chain::pacing::{SyncPolicy, SyncSchedule};
use crate::error::Error;
use crate::time;

type SleepFuture = Pin<Box<dyn Future<Output = bool>>>;

/// Starts every background task of `node`.
pub fn start(node: &Rc<Node>) {
    super::peers::install_page_listeners(node);
    node.spawn_task("background processor", run_processor(node.clone()));
    node.spawn_task("chain sync", sync_loop(node.clone()));
    node.spawn_task("LSP connection", super::peers::lsp_loop(node.clone()));
    node.spawn_task(
        "routing graph sync",
        crate::gossip::sync::graph_loop(node.clone()),
    );
}

async fn run_processor(node: Rc<Node>) {
    let sleeper = {
        let node = node.clone();
        move |d: Duration| -> SleepFuture {
            let stop = node.shutdown.wait();
            Box::pin(async move {
                match select(Box::pin(time::sleep(d)), stop).await {
                    Either::Left(_) => false,
                    Either::Right(_) => true,
                }
            })
        }
    };
    let handler_node = node.clone();
    let event_handler = move |event| super::events::handle(handler_node.clone(), event);
    let result = process_events_async(
        node.kv.clone(),
        event_handler,
        node.chain_monitor.clone(),
        node.channel_manager.clone(),
        None::<std::sync::Arc<NoOnionMessenger>>,
        GossipSync::<Arc<P2PSync>, _, _, Arc<DynUtxoLookup>, _>::Rapid(node.rgs.clone()),
        node.peer_manager.clone(),
        Some(node.liquidity_manager.clone()),
        Some(node.sweeper.clone()),
        node.logger.clone(),
        Some(node.scorer.clone()),
        sleeper,
        false,
        || Some(time::since_unix_epoch()),
    )
    .await;
    match result {
        Ok(()) => node.log(Level::Info, "background processor stopped"),
        Err(e) => {
            node.log(Level::Error, &format!("background processor failed: {e}"));
            node.fail_fatally(Error::StorageFailed);
        }
    }
}

async fn sync_loop(node: Rc<Node>) {
    let mut schedule = SyncSchedule::new(SyncPolicy::for_network(node.network).interval);
    let mut last_run: u64 = 0;
    let mut pause = Duration::ZERO;
    while !node.shutdown.is_triggered() {
        let elapsed = time::now_millis().saturating_sub(last_run);
        let pause_ms = pause.as_millis() as u64;
        if elapsed < pause_ms {
            let wait = select(
                Box::pin(time::sleep(Duration::from_millis(pause_ms - elapsed))),
                Box::pin(node.sync_kick.wait()),
            );
            if let Either::Right(_) = select(wait, node.shutdown.wait()).await {
                break;
            }
        }
        last_run = time::now_millis();
        let round = Box::pin(async {
            // The first round after an outage emits `synced` even at the same height: that
            // is how JS learns the chain source answers again.
            let recovering = schedule.failures() > 0;
            let next = match node.sync_now(recovering).await {
                // The fallback (or the configured server again) not yet tried in this run of
                // failures: at once, and nothing to tell the user yet.
                Err(Error::ChainSourceUnavailable(_)) if node.esplora.another_untried() => {
                    Duration::ZERO
                }
                Err(Error::ChainSourceUnavailable(cause)) => {
                    let next = schedule.failed(&cause);
                    node.log(
                        Level::Warn,
                        &format!(
                            "chain source unavailable ({}), {} failed round(s) in a row: next round in {} s",
                            cause.fault.code(),
                            schedule.failures(),
                            next.as_secs()
                        ),
                    );
                    node.bus
                        .emit(WalletEvent::Error(Error::ChainSourceUnavailable(cause)));
                    next
                }
                // Anything else (a round already running, the node stopping) is not the chain
                // source's doing: the usual interval.
                _ => schedule.succeeded(),
            };
            if let Err(e) = node.expire_receives().await {
                node.log(Level::Warn, &format!("expiring receives: {e}"));
            }
            next
        });
        match select(round, node.shutdown.wait()).await {
            Either::Left((next, _)) => pause = next,
            Either::Right(_) => break,
        }
    }
}
