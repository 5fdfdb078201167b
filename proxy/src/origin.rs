//! Which web pages may use the proxy, by the `Origin` header browsers send on every websocket
//! upgrade.
//!
//! The proxy's bandwidth and its targets' connection slots belong to the wallet that deploys it;
//! a page served elsewhere must not use them. A browser always sends `Origin` on a websocket
//! upgrade and a page cannot forge it, so the check stops other sites' pages. A non-browser
//! client can send any `Origin` (or none): what bounds it is the target allow-list and the
//! per-client limits, not this check.
//!
//! Rules (pure, unit-tested): an exact origin (`https://wallet.example.com`, compared
//! case-insensitively as browsers serialize origins in lower case), or `loopback` for any
//! `http(s)` page on a loopback host (`localhost`, 127.0.0.0/8, `[::1]`, any port: a developer's
//! machine and test runners with run-time ports). A request without `Origin` is served only
//! when the policy says so (the devnet's native tests); `null` (sandboxed frames, `file://`) is
//! never an allowed origin.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One allowed origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginRule {
    /// Exactly this origin (`scheme://host[:port]`, lower case).
    Exact(String),
    /// Any `http`/`https` page on a loopback host.
    Loopback,
}

/// Which origins the proxy serves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// The allowed origins.
    pub rules: Vec<OriginRule>,
    /// Whether a request without `Origin` (a non-browser client) is served.
    pub allow_missing: bool,
}

/// A configured origin that is not `scheme://host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadOrigin(pub String);

impl fmt::Display for BadOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "origin {:?} is not `http(s)://host[:port]` (no path, no trailing slash) or `loopback`",
            self.0
        )
    }
}

impl std::error::Error for BadOrigin {}

impl OriginRule {
    /// Parses a configured origin: `loopback`, or `http(s)://host[:port]`.
    pub fn parse(s: &str) -> Result<OriginRule, BadOrigin> {
        if s == "loopback" {
            return Ok(OriginRule::Loopback);
        }
        let bad = || BadOrigin(s.to_string());
        let rest = match s.split_once("://") {
            Some(("http" | "https", rest)) => rest,
            _ => return Err(bad()),
        };
        let host = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
                port.parse::<u16>().map_err(|_| bad())?;
                host
            }
            _ => rest,
        };
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
            });
        if !host_ok {
            return Err(bad());
        }
        Ok(OriginRule::Exact(s.to_ascii_lowercase()))
    }

    fn allows(&self, origin: &str) -> bool {
        match self {
            OriginRule::Exact(o) => o.eq_ignore_ascii_case(origin),
            OriginRule::Loopback => is_loopback_origin(origin),
        }
    }
}

impl OriginPolicy {
    /// Whether a request with this `Origin` header (or none) is served.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match origin {
            None => self.allow_missing,
            Some(o) => self.rules.iter().any(|r| r.allows(o)),
        }
    }
}

/// Whether an `Origin` header value names a page on loopback (`http(s)://<loopback host>[:port]`).
pub fn is_loopback_origin(origin: &str) -> bool {
    let rest = match origin.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false,
    };
    !rest.contains('/') && is_loopback_host(rest)
}

/// Whether a `Host` header value (`host[:port]`) names a loopback host.
pub fn is_loopback_host(host_port: &str) -> bool {
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((ip, port))
                if port.is_empty() || port.strip_prefix(':').is_some_and(valid_port) =>
            {
                return ip.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
            }
            _ => return false,
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) if valid_port(port) => host,
            Some(_) => return false,
            None => host_port,
        }
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// A port after a host's `:`: digits only, at most 65535.
fn valid_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_only() {
        for ok in [
            "http://127.0.0.1:4173",
            "http://localhost:4173",
            "http://LOCALHOST:4173",
            "http://127.0.0.1:38211",
            "http://127.1.2.3",
            "https://localhost",
            "http://[::1]:4173",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for refused in [
            "null",
            "",
            "http://evil.example",
            "http://evil.example:4173",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:4173",
            "http://192.0.2.1:4173", // a non-loopback IP literal (RFC 5737 documentation range)
            "http://0.0.0.0:4173",
            "http://[::2]:4173",
            "file://",
            "ws://127.0.0.1:4173",
            "http://127.0.0.1:4173/",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:4173@evil.example",
        ] {
            assert!(!is_loopback_origin(refused), "{refused:?}");
        }
        assert!(is_loopback_host("127.0.0.1:3003"));
        assert!(is_loopback_host("[::1]:3003"));
        assert!(!is_loopback_host("rebound.evil.example:3003"));
        assert!(!is_loopback_host("127.0.0.1:"));
    }

    #[test]
    fn exact_origins_match_whole_origins_only() {
        let policy = OriginPolicy {
            rules: vec![OriginRule::parse("https://Wallet.example.com").unwrap()],
            allow_missing: false,
        };
        assert!(policy.allows(Some("https://wallet.example.com")));
        for refused in [
            None,
            Some("null"),
            Some("http://wallet.example.com"),
            Some("https://wallet.example.com:8443"),
            Some("https://wallet.example.com.evil.example"),
            Some("https://evil.example"),
            Some("http://127.0.0.1:4173"),
        ] {
            assert!(!policy.allows(refused), "{refused:?}");
        }
        let dev = OriginPolicy {
            rules: vec![OriginRule::parse("loopback").unwrap()],
            allow_missing: true,
        };
        assert!(dev.allows(None));
        assert!(dev.allows(Some("http://127.0.0.1:4173")));
        assert!(!dev.allows(Some("https://wallet.example.com")));
    }

    #[test]
    fn configured_origins_are_checked() {
        for ok in [
            "https://wallet.example.com",
            "http://127.0.0.1:4173",
            "loopback",
        ] {
            assert!(OriginRule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "wallet.example.com",
            "https://wallet.example.com/",
            "https://wallet.example.com/app",
            "https://wallet.example.com:99999",
            "*",
            "null",
            "https://",
            "ftp://wallet.example.com",
        ] {
            assert!(OriginRule::parse(bad).is_err(), "{bad}");
        }
    }
}
