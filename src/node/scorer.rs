//! The route scorer behind a `RefCell`: without `lightning/std` LDK offers no lock that is both
//! a `LockableScore` and `Writeable`, and the browser has one thread.
//!
//! Guarantee: the scorer is borrowed only inside synchronous LDK calls (route finding, scorer
//! updates, encoding), never across an `await`, so a borrow can not be held while another is
//! taken; a violation would panic rather than corrupt the scorer.

use core::cell::{Ref, RefCell, RefMut};

use lightning::io;
use lightning::routing::scoring::{LockableScore, Score};
use lightning::util::ser::{Writeable, Writer};

/// A scorer usable by LDK's router and background processor on a single thread.
pub struct ScorerCell<S>(RefCell<S>);

impl<S> ScorerCell<S> {
    /// Wraps a scorer.
    pub fn new(scorer: S) -> Self {
        ScorerCell(RefCell::new(scorer))
    }
}

impl<'a, S: Score + 'a> LockableScore<'a> for ScorerCell<S> {
    type ScoreUpdate = S;
    type ScoreLookUp = S;
    type WriteLocked = RefMut<'a, S>;
    type ReadLocked = Ref<'a, S>;

    fn read_lock(&'a self) -> Ref<'a, S> {
        self.0.borrow()
    }

    fn write_lock(&'a self) -> RefMut<'a, S> {
        self.0.borrow_mut()
    }
}

impl<S: Writeable> Writeable for ScorerCell<S> {
    fn write<W: Writer>(&self, writer: &mut W) -> Result<(), io::Error> {
        self.0.borrow().write(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning::routing::scoring::{ScoreUpdate, WriteableScore};

    /// A scorer that counts updates and writes its count.
    #[derive(Default)]
    struct Counting(u64);

    impl lightning::routing::scoring::ScoreLookUp for Counting {
        type ScoreParams = ();
        fn channel_penalty_msat(
            &self,
            _: &lightning::routing::router::CandidateRouteHop,
            _: lightning::routing::scoring::ChannelUsage,
            _: &(),
        ) -> u64 {
            self.0
        }
    }

    impl ScoreUpdate for Counting {
        fn payment_path_failed(
            &mut self,
            _: &lightning::routing::router::Path,
            _: u64,
            _: core::time::Duration,
        ) {
            self.0 += 1;
        }
        fn payment_path_successful(
            &mut self,
            _: &lightning::routing::router::Path,
            _: core::time::Duration,
        ) {
        }
        fn probe_failed(
            &mut self,
            _: &lightning::routing::router::Path,
            _: u64,
            _: core::time::Duration,
        ) {
        }
        fn probe_successful(
            &mut self,
            _: &lightning::routing::router::Path,
            _: core::time::Duration,
        ) {
        }
        fn time_passed(&mut self, _: core::time::Duration) {
            self.0 += 100;
        }
    }

    impl Writeable for Counting {
        fn write<W: Writer>(&self, w: &mut W) -> Result<(), io::Error> {
            self.0.write(w)
        }
    }

    fn assert_writeable_score<'a, T: WriteableScore<'a>>(_: &T) {}

    #[test]
    fn locks_and_encodes() {
        let cell = ScorerCell::new(Counting::default());
        assert_writeable_score(&cell);
        cell.write_lock().time_passed(core::time::Duration::ZERO);
        assert_eq!(cell.read_lock().0, 100);
        assert_eq!(cell.encode(), 100u64.encode());
    }
}
