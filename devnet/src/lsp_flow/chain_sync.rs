//! Feeds the in-process chain's blocks, in order, to LDK's `chain::Listen` implementations
//! (ChainMonitor first, then ChannelManager), following reorganisations.

use std::collections::VecDeque;
use std::sync::Arc;

use bitcoin::BlockHash;
use lightning::chain::{BestBlock, Listen};

use crate::chain::ChainAccess;

/// How many recent (height, hash) pairs are kept to find a fork point.
const HISTORY: usize = 200;

/// Tracks the last block given to the listeners and brings them to the chain's tip.
pub struct BlockFeeder {
    chain: Arc<dyn ChainAccess>,
    listeners: Vec<Arc<dyn Listen + Send + Sync>>,
    /// Recent blocks the listeners have seen, oldest first; the last one is their best block.
    seen: VecDeque<(u32, BlockHash)>,
}

impl BlockFeeder {
    /// A feeder whose listeners are at `best` (the block they were created with).
    pub fn new(
        chain: Arc<dyn ChainAccess>,
        listeners: Vec<Arc<dyn Listen + Send + Sync>>,
        best: (u32, BlockHash),
    ) -> Self {
        BlockFeeder {
            chain,
            listeners,
            seen: VecDeque::from([best]),
        }
    }

    /// The listeners' best block.
    pub fn best(&self) -> (u32, BlockHash) {
        *self.seen.back().expect("seen is never empty")
    }

    /// Connects every block from the listeners' best block up to the chain's current tip,
    /// disconnecting back to the fork point first if the chain reorganised. Returns the number
    /// of blocks connected.
    pub fn sync(&mut self) -> Result<u32, String> {
        let mut connected = 0;
        loop {
            let (tip_height, tip_hash) = self.chain.tip();
            let (height, hash) = self.best();
            if tip_hash == hash {
                return Ok(connected);
            }
            let next = height.checked_add(1).ok_or("height overflow")?;
            let on_our_chain = tip_height >= next
                && match self.chain.block_at(next) {
                    Some(block) if block.header.prev_blockhash == hash => {
                        for l in &self.listeners {
                            l.block_connected(&block, next);
                        }
                        self.seen.push_back((next, block.block_hash()));
                        if self.seen.len() > HISTORY {
                            self.seen.pop_front();
                        }
                        connected += 1;
                        true
                    }
                    Some(_) => false,
                    None => {
                        return Err(format!(
                            "chain has no block at height {next} below tip {tip_height}"
                        ))
                    }
                };
            if !on_our_chain {
                self.disconnect_to_fork()?;
            }
        }
    }

    fn disconnect_to_fork(&mut self) -> Result<(), String> {
        while let Some(&(h, hash)) = self.seen.back() {
            let still_there = self
                .chain
                .block_at(h)
                .map(|b| b.block_hash() == hash)
                .unwrap_or(false);
            if still_there {
                tracing::warn!(target: "lsp_flow", fork_height = h, "chain reorganised; disconnecting to fork point");
                for l in &self.listeners {
                    l.blocks_disconnected(BestBlock {
                        block_hash: hash,
                        height: h,
                    });
                }
                return Ok(());
            }
            if self.seen.len() == 1 {
                break;
            }
            self.seen.pop_back();
        }
        Err("reorganisation deeper than the kept history".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp_flow::test_chain::FakeChain;
    use bitcoin::block::Header;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        log: Mutex<Vec<String>>,
    }
    impl Listen for Recorder {
        fn filtered_block_connected(
            &self,
            _: &Header,
            _: &lightning::chain::transaction::TransactionData,
            height: u32,
        ) {
            self.log.lock().unwrap().push(format!("+{height}"));
        }
        fn blocks_disconnected(&self, fork: BestBlock) {
            self.log.lock().unwrap().push(format!("-{}", fork.height));
        }
    }

    #[test]
    fn follows_the_chain_and_reorgs() {
        let chain = Arc::new(FakeChain::new(3));
        let rec = Arc::new(Recorder::default());
        let start = (2, chain.tip().1);
        let listeners: Vec<Arc<dyn Listen + Send + Sync>> = vec![rec.clone()];
        let mut f = BlockFeeder::new(chain.clone(), listeners, start);
        assert_eq!(f.sync().unwrap(), 0);
        chain.extend_empty(2, 1);
        assert_eq!(f.sync().unwrap(), 2);
        assert_eq!(f.best(), chain.tip());
        // replace the last block with a longer branch
        chain.blocks.lock().unwrap().truncate(4);
        chain.extend_empty(2, 2);
        assert_eq!(f.sync().unwrap(), 2);
        assert_eq!(f.best(), chain.tip());
        assert_eq!(*rec.log.lock().unwrap(), vec!["+3", "+4", "-3", "+4", "+5"]);
    }
}
