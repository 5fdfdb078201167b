//! Who a connection is for, and how many each client may hold.
//!
//! The client is the address that opened the TCP connection, unless that address is a trusted
//! reverse proxy (the TLS terminator in front of this one), in which case it is the last address
//! that proxy appended to `X-Forwarded-For`. Entries before it were written by the client and
//! are never believed. IPv6 clients are counted per /64, the smallest block a single host is
//! routinely given, so one host cannot take a whole limit's worth of addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// The client of a connection from `peer`, given the request's `X-Forwarded-For` header and the
/// reverse proxies whose header is believed.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&canonical(peer)) {
        return peer;
    }
    forwarded_for
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or(peer)
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4 peers) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The unit a per-client limit counts: an IPv4 address, or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> ClientKey {
        match canonical(ip) {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                ClientKey(IpAddr::V6(Ipv6Addr::new(
                    s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                )))
            }
            v4 => ClientKey(v4),
        }
    }
}

/// Connections held per client, up to `per_client`.
#[derive(Debug)]
pub struct ClientSlots {
    per_client: usize,
    held: Mutex<HashMap<ClientKey, usize>>,
}

/// One connection's place in its client's count; given back when dropped.
#[derive(Debug)]
pub struct ClientSlot {
    slots: Arc<ClientSlots>,
    key: ClientKey,
}

impl ClientSlots {
    /// At most `per_client` connections per client.
    pub fn new(per_client: usize) -> Arc<ClientSlots> {
        Arc::new(ClientSlots {
            per_client,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `client`, or `None` when it holds `per_client` already.
    pub fn take(self: &Arc<Self>, client: IpAddr) -> Option<ClientSlot> {
        let key = ClientKey::from(client);
        let mut held = self.held.lock().expect("client slots lock");
        let n = held.entry(key).or_insert(0);
        if *n >= self.per_client {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            slots: self.clone(),
            key,
        })
    }

    /// Connections `client` holds now.
    pub fn held_by(&self, client: IpAddr) -> usize {
        let held = self.held.lock().expect("client slots lock");
        held.get(&ClientKey::from(client)).copied().unwrap_or(0)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().expect("client slots lock");
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_from_trusted_proxies_only() {
        let trusted = [ip("127.0.0.1")];
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("198.51.100.9, 203.0.113.5"), &trusted),
            ip("203.0.113.5"),
            "the last entry is the one the trusted proxy appended"
        );
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), Some("203.0.113.5"), &trusted),
            ip("203.0.113.5")
        );
        assert_eq!(
            client_ip(ip("192.0.2.1"), Some("203.0.113.5"), &trusted),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), Some("garbage"), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), None, &trusted), ip("127.0.0.1"));
    }

    #[test]
    fn slots_per_client_are_given_back() {
        let slots = ClientSlots::new(2);
        let a = slots.take(ip("192.0.2.1")).unwrap();
        let _b = slots.take(ip("192.0.2.1")).unwrap();
        assert!(slots.take(ip("192.0.2.1")).is_none());
        assert!(slots.take(ip("::ffff:192.0.2.1")).is_none(), "same client");
        let _other = slots.take(ip("192.0.2.2")).unwrap();
        drop(a);
        assert_eq!(slots.held_by(ip("192.0.2.1")), 1);
        assert!(slots.take(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let slots = ClientSlots::new(1);
        let _a = slots.take(ip("2001:db8:1:2::1")).unwrap();
        assert!(slots.take(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(slots.take(ip("2001:db8:1:3::1")).is_some());
    }
}
