//! Which scripts of one keychain a sync asks Esplora about: every revealed one, then on until
//! `gap` consecutive scripts past the last revealed one have no history (the "stop gap").
//!
//! Guarantees of [`GapScan`]: every revealed index is asked; no index is asked twice; the scan
//! ends after at most `last_revealed + 1 + gap + (used indices found past last_revealed) * gap`
//! indices, so a wallet restored from its phrase finds funds on scripts it never revealed here
//! as long as no run of more than `gap` unused scripts separates them.

/// The scan of one keychain, driven by the caller: ask [`GapScan::next_index`], fetch that
/// script's history, tell [`GapScan::record`] whether it had any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapScan {
    last_revealed: Option<u32>,
    gap: u32,
    next: Option<u32>,
    unused_past_revealed: u32,
}

impl GapScan {
    /// A scan of a keychain revealed up to `last_revealed` (`None`: nothing revealed), stopping
    /// after `gap` (at least 1) unused scripts past it.
    pub fn new(last_revealed: Option<u32>, gap: u32) -> GapScan {
        GapScan {
            last_revealed,
            gap: gap.max(1),
            next: Some(0),
            unused_past_revealed: 0,
        }
    }

    /// The next index to ask about, `None` when the scan is over.
    pub fn next_index(&self) -> Option<u32> {
        let next = self.next?;
        let revealed = self.last_revealed.is_some_and(|r| next <= r);
        if revealed || self.unused_past_revealed < self.gap {
            Some(next)
        } else {
            None
        }
    }

    /// Records the answer for `index` (the one [`next_index`](Self::next_index) gave).
    pub fn record(&mut self, index: u32, used: bool) {
        if used {
            self.unused_past_revealed = 0;
        } else if self.last_revealed.is_none_or(|r| index > r) {
            self.unused_past_revealed = self.unused_past_revealed.saturating_add(1);
        }
        // BIP32's last normal index ends the scan.
        self.next = index.checked_add(1).filter(|n| *n < (1 << 31));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(last_revealed: Option<u32>, gap: u32, used: &[u32]) -> Vec<u32> {
        let mut scan = GapScan::new(last_revealed, gap);
        let mut asked = Vec::new();
        while let Some(i) = scan.next_index() {
            asked.push(i);
            scan.record(i, used.contains(&i));
            assert!(asked.len() < 1000);
        }
        asked
    }

    #[test]
    fn nothing_revealed_asks_the_gap() {
        assert_eq!(run(None, 3, &[]), vec![0, 1, 2]);
        assert_eq!(run(None, 0, &[]), vec![0], "a gap of 0 is 1");
    }

    #[test]
    fn revealed_scripts_are_all_asked_then_the_gap() {
        assert_eq!(run(Some(4), 2, &[]), vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(run(Some(1), 2, &[0]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_use_past_the_revealed_ones_extends_the_scan() {
        // Restored wallet: funds at 2 and 5, gap 3.
        assert_eq!(run(None, 3, &[2, 5]), vec![0, 1, 2, 3, 4, 5, 6, 7, 8]);
        // A run longer than the gap hides what lies beyond it.
        assert_eq!(run(None, 3, &[0, 4]), vec![0, 1, 2, 3]);
    }
}
