//! What `stop()` resolves to: whether it finished within its bound, and what it abandoned.

use serde::Serialize;

/// The `StopReport` object of the JS API.
///
/// `complete`: every task of the node ended and every write issued before `stop()` landed
/// within the bound, and the wallet's lock was given back before `stop()` resolved. Otherwise
/// `abandoned` names what was still running when the bound passed (e.g. `"IndexedDB writes"`,
/// `"broadcast"`); the wallet's lock is then kept until those end, so no new instance can start
/// over a pending write, and reopening the wallet fails with `ALREADY_RUNNING` until then.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopReport {
    /// True when `abandoned` is empty.
    pub complete: bool,
    /// What `stop()` stopped waiting for, sorted, each once.
    pub abandoned: Vec<&'static str>,
}

impl StopReport {
    /// A report of `abandoned` (in any order, repeats allowed).
    pub fn new(mut abandoned: Vec<&'static str>) -> StopReport {
        abandoned.sort_unstable();
        abandoned.dedup();
        StopReport {
            complete: abandoned.is_empty(),
            abandoned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_only_when_nothing_was_abandoned() {
        assert_eq!(
            StopReport::new(vec![]),
            StopReport {
                complete: true,
                abandoned: vec![]
            }
        );
        let r = StopReport::new(vec!["broadcast", "IndexedDB writes", "broadcast"]);
        assert!(!r.complete);
        assert_eq!(r.abandoned, vec!["IndexedDB writes", "broadcast"]);
    }
}
