//! Where a browser asks to go, and the allow-list of where it may.
//!
//! URL form (the Mutiny proxy's, which tabnode's wallet builds): `/v1/<host>/<port>`, with the
//! host's dots written as `_` (`/v1/127_0_0_1/9735`, `/v1/lsp_example_com/9735`). Dots are
//! accepted too. A host is an IPv4 address or a DNS name; `_` never occurs in a DNS host name, so
//! the mapping is unambiguous. IPv6 literals cannot be carried (the path has no room for their
//! colons), matching what the wallet sends.
//!
//! An allow-list entry is `host:port` or `<node id>@host:port`. The proxy cannot check the node
//! id (BOLT8 authenticates the peer to the wallet, end to end, not to the proxy); it is kept to
//! say in the logs whom a connection was for.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

/// The host part of a [`Target`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IPv4 address, dialled as is.
    Ipv4(Ipv4Addr),
    /// A DNS name, lower-case, without a trailing dot; resolved at every connect.
    Name(String),
}

/// A peer's address as browsers name it: a host and a port (never 0).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The host.
    pub host: Host,
    /// The TCP port.
    pub port: u16,
}

impl Target {
    /// The path a browser uses to reach this target through the proxy.
    pub fn path(&self) -> String {
        let host = match &self.host {
            Host::Ipv4(ip) => ip.to_string(),
            Host::Name(name) => name.clone(),
        };
        format!("/v1/{}/{}", host.replace('.', "_"), self.port)
    }

    /// The target a browser asks for with `path` (`/v1/<host>/<port>`), if well formed.
    pub fn from_path(path: &str) -> Option<Target> {
        let mut parts = path.strip_prefix("/v1/")?.split('/');
        let host = parts.next()?.replace('_', ".");
        let port = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        Target::new(&host, port)
    }

    fn new(host: &str, port: &str) -> Option<Target> {
        let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
        let host = if let Ok(ip) = host.parse::<Ipv4Addr>() {
            Host::Ipv4(ip)
        } else if is_dns_name(host) {
            Host::Name(host.trim_end_matches('.').to_ascii_lowercase())
        } else {
            return None;
        };
        Some(Target { host, port })
    }
}

impl From<SocketAddrV4> for Target {
    fn from(addr: SocketAddrV4) -> Target {
        Target {
            host: Host::Ipv4(*addr.ip()),
            port: addr.port(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ipv4(ip) => write!(f, "{ip}:{}", self.port),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

/// Why an allow-list entry was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEntry(pub String);

impl fmt::Display for BadEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "target {:?} is not `host:port` or `<node id>@host:port` (IPv4 address or DNS name, \
             port 1..=65535, node id 66 hex digits)",
            self.0
        )
    }
}

impl std::error::Error for BadEntry {}

/// One allow-list entry: a target and, when given, the node id expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The node id written before `@`, lower-case hex; informational (see the module doc).
    pub node_id: Option<String>,
    /// Where browsers may be carried.
    pub target: Target,
}

impl FromStr for Entry {
    type Err = BadEntry;

    fn from_str(s: &str) -> Result<Entry, BadEntry> {
        let bad = || BadEntry(s.to_string());
        let (node_id, address) = match s.split_once('@') {
            Some((id, address)) => {
                if id.len() != 66 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                (Some(id.to_ascii_lowercase()), address)
            }
            None => (None, s),
        };
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let target = Target::new(host, port).ok_or_else(bad)?;
        Ok(Entry { node_id, target })
    }
}

/// Whether `s` is a DNS host name: dot-separated labels of letters, digits and inner hyphens,
/// at most 63 bytes each and 253 in all, not all digits (that would be a malformed IPv4).
fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The targets browsers may reach, shared by the accept loop and whoever edits it (the devnet adds
/// its nodes as they start). Cloning shares the list.
#[derive(Clone, Debug, Default)]
pub struct AllowList(Arc<RwLock<HashMap<Target, Option<String>>>>);

impl AllowList {
    /// A list holding `entries`.
    pub fn of(entries: impl IntoIterator<Item = Entry>) -> AllowList {
        let list = AllowList::default();
        for e in entries {
            list.add(e);
        }
        list
    }

    /// Allows `entry`'s target (a later entry for the same target replaces its node id).
    pub fn add(&self, entry: Entry) {
        self.0
            .write()
            .expect("allow-list lock")
            .insert(entry.target, entry.node_id);
    }

    /// Allows the IPv4 socket address `addr` (an IPv6 one cannot be named by a browser's path).
    pub fn allow(&self, addr: SocketAddr) {
        if let SocketAddr::V4(v4) = addr {
            self.add(Entry {
                node_id: None,
                target: v4.into(),
            });
        }
    }

    /// `Some(node id if known)` when `target` is allowed.
    pub fn lookup(&self, target: &Target) -> Option<Option<String>> {
        self.0.read().expect("allow-list lock").get(target).cloned()
    }

    /// How many targets are allowed.
    pub fn len(&self) -> usize {
        self.0.read().expect("allow-list lock").len()
    }

    /// Whether no target is allowed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_carry_ipv4_addresses_and_dns_names() {
        let t = Target::from_path("/v1/127_0_0_1/9735").unwrap();
        assert_eq!(
            t,
            Target::from("127.0.0.1:9735".parse::<SocketAddrV4>().unwrap())
        );
        assert_eq!(t.path(), "/v1/127_0_0_1/9735");
        let named = Target::from_path("/v1/LSP_Example_com/9735").unwrap();
        assert_eq!(named.host, Host::Name("lsp.example.com".into()));
        assert_eq!(named.path(), "/v1/lsp_example_com/9735");
        assert_eq!(Target::from_path("/v1/127.0.0.1/9735"), Some(t));
        for bad in [
            "/v1/127_0_0_1/9735/x",
            "/v2/127_0_0_1/9735",
            "/v1/127_0_0_1/99999",
            "/v1/127_0_0_1/0",
            "/v1/127_0_0_1/",
            "/v1//9735",
            "/v1/999_1_1_1/9735",
            "/v1/a%2fb/9735",
            "/v1/-lsp_example/9735",
            "/v1/[::1]/9735",
            "v1/127_0_0_1/9735",
            "/v1/127_0_0_1",
        ] {
            assert_eq!(Target::from_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn entries_name_a_target_and_maybe_a_node() {
        let id = "02".to_string() + &"ab".repeat(32);
        let e: Entry = format!("{id}@lsp.example.com:9735").parse().unwrap();
        assert_eq!(e.node_id.as_deref(), Some(id.as_str()));
        assert_eq!(
            e.target,
            Target::from_path("/v1/lsp_example_com/9735").unwrap()
        );
        let e: Entry = "203.0.113.7:9735".parse().unwrap();
        assert_eq!(e.node_id, None);
        for bad in [
            "lsp.example.com",
            "lsp.example.com:0",
            "02ab@lsp.example.com:9735",
            "[::1]:9735",
            "http://lsp.example.com:9735",
            "lsp_example.com:9735",
        ] {
            assert!(bad.parse::<Entry>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_allow_list_is_shared_by_its_clones() {
        let list = AllowList::default();
        let view = list.clone();
        let t: Target = "127.0.0.1:9735".parse::<SocketAddrV4>().unwrap().into();
        assert_eq!(view.lookup(&t), None);
        list.allow("127.0.0.1:9735".parse().unwrap());
        assert_eq!(view.lookup(&t), Some(None));
        assert_eq!(view.len(), 1);
    }
}
