//! HTLCs handled as soon as the channel update that carries them is durable, not on the
//! background processor's forwarding timer.
//!
//! Why: LDK's background processor hands queued HTLCs to `process_pending_htlc_forwards` on a
//! randomised batch timer (50 ms on average, so that a routing node's forwards do not reveal
//! their timing) whose first run comes 2 s after the processor starts (`INIT_FWD_DELAY` in
//! lightning-background-processor's `fwd_batch.rs`, so that a restarted router reconnects its
//! peers before it forwards). A wallet is opened to be paid: its first payment arrives within
//! those 2 s and waited for them, the largest part of a first JIT receive. The wallet routes
//! nothing (its channels are private, to its LSP), so the batching hides nothing here.
//!
//! Guarantees:
//! - after every monitor write LDK issued has settled (the kick from
//!   [`crate::spawn::LocalSpawner`]'s hook), the peer manager runs: the channel manager learns of
//!   the write, sends the messages it held back and queues the HTLCs the update made final; if
//!   HTLCs are then queued and a peer is connected, they are processed at once, so a payment to
//!   the wallet is claimable (and claimed by [`super::events`]) without waiting for the timer;
//! - with no peer connected nothing is processed here (a payment's retry would find no route):
//!   the background processor's timer does it, as before. The timer still runs; it finds nothing
//!   left;
//! - nothing here waits on LDK's notifiers: a notifier wakes only whoever waits on it at that
//!   moment, so a second waiter would take wake-ups the background processor needs.

use std::rc::Rc;

use futures::future::{select, Either};

use super::running::Node;

/// Runs until the node shuts down.
pub async fn run(node: Rc<Node>) {
    loop {
        let settled = Box::pin(node.monitor_settled.wait());
        if let Either::Right(_) = select(settled, node.shutdown.wait()).await {
            return;
        }
        node.peer_manager.process_events();
        if node.channel_manager.needs_pending_htlc_processing()
            && !node.peer_manager.list_peers().is_empty()
        {
            node.channel_manager.process_pending_htlc_forwards();
        }
    }
}
