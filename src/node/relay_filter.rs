//! A `Filter` that is `Send + Sync`, for LDK parts that demand it (the `OutputSweeper`, and so
//! the background processor, which wants the chain monitor and the sweeper to share one filter
//! type): it queues registrations, and the chain sync hands them to the real filter
//! ([`TxSync`], which is single-threaded) before each round.
//!
//! Guarantee: every registration made before [`RelayFilter::drain_into`] reaches the target
//! filter, in order, exactly once.
//!
//! [`TxSync`]: crate::chain::TxSync

use std::sync::Mutex;

use bitcoin::{Script, ScriptBuf, Txid};
use lightning::chain::{Filter, WatchedOutput};

enum Registration {
    Tx(Txid, ScriptBuf),
    Output(WatchedOutput),
}

/// Queues `Filter` registrations for another filter.
#[derive(Default)]
pub struct RelayFilter {
    queue: Mutex<Vec<Registration>>,
}

impl RelayFilter {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Hands every queued registration to `target`.
    pub fn drain_into<F: Filter + ?Sized>(&self, target: &F) {
        let queued = core::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        for r in queued {
            match r {
                Registration::Tx(txid, script) => target.register_tx(&txid, &script),
                Registration::Output(output) => target.register_output(output),
            }
        }
    }
}

impl Filter for RelayFilter {
    fn register_tx(&self, txid: &Txid, script_pubkey: &Script) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Registration::Tx(*txid, script_pubkey.to_owned()));
    }

    fn register_output(&self, output: WatchedOutput) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Registration::Output(output));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use core::cell::RefCell;
    use lightning::chain::transaction::OutPoint;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<String>>);
    impl Filter for Recorder {
        fn register_tx(&self, txid: &Txid, _: &Script) {
            self.0.borrow_mut().push(format!("tx {txid}"));
        }
        fn register_output(&self, output: WatchedOutput) {
            self.0
                .borrow_mut()
                .push(format!("out {}", output.outpoint.index));
        }
    }

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn relays_in_order_once() {
        is_send_sync::<RelayFilter>();
        let relay = RelayFilter::new();
        relay.register_tx(&Txid::all_zeros(), &ScriptBuf::new());
        relay.register_output(WatchedOutput {
            block_hash: None,
            outpoint: OutPoint {
                txid: Txid::all_zeros(),
                index: 7,
            },
            script_pubkey: ScriptBuf::new(),
        });
        let target = Recorder::default();
        assert!(!relay.is_empty());
        relay.drain_into(&target);
        assert!(relay.is_empty());
        relay.drain_into(&target);
        assert_eq!(
            *target.0.borrow(),
            vec![format!("tx {}", Txid::all_zeros()), "out 7".to_string()]
        );
    }
}
