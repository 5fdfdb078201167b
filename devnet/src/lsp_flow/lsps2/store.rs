//! The in-memory store lightning-liquidity persists its LSPS2 service state to: the devnet is
//! ephemeral (its LDK state lives in memory too), so nothing has to outlive the process.

use std::collections::BTreeMap;
use std::sync::Mutex;

use lightning::io;
use lightning::util::persist::KVStoreSync;

/// `(primary, secondary, key)` → bytes, kept in memory for the life of the process.
#[derive(Default)]
pub(crate) struct MemoryKvStore {
    records: Mutex<BTreeMap<(String, String, String), Vec<u8>>>,
}

fn address(p: &str, s: &str, k: &str) -> (String, String, String) {
    (p.to_string(), s.to_string(), k.to_string())
}

impl KVStoreSync for MemoryKvStore {
    fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, io::Error> {
        self.records
            .lock()
            .unwrap()
            .get(&address(p, s, k))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such key"))
    }

    fn write(&self, p: &str, s: &str, k: &str, buf: Vec<u8>) -> Result<(), io::Error> {
        self.records.lock().unwrap().insert(address(p, s, k), buf);
        Ok(())
    }

    fn remove(&self, p: &str, s: &str, k: &str, _lazy: bool) -> Result<(), io::Error> {
        self.records.lock().unwrap().remove(&address(p, s, k));
        Ok(())
    }

    fn list(&self, p: &str, s: &str) -> Result<Vec<String>, io::Error> {
        Ok(self
            .records
            .lock()
            .unwrap()
            .keys()
            .filter(|(kp, ks, _)| kp == p && ks == s)
            .map(|(_, _, k)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_listing_by_namespace() {
        let s = MemoryKvStore::default();
        assert_eq!(
            s.read("a", "", "k").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        s.write("a", "", "k", vec![1]).unwrap();
        s.write("a", "b", "j", vec![2]).unwrap();
        assert_eq!(s.read("a", "", "k").unwrap(), vec![1]);
        assert_eq!(s.list("a", "").unwrap(), vec!["k".to_string()]);
        assert_eq!(s.list("a", "b").unwrap(), vec!["j".to_string()]);
        s.remove("a", "", "k", false).unwrap();
        assert!(s.list("a", "").unwrap().is_empty());
    }
}
