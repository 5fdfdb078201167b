//! Where to reach the LSP from a browser, and how long to wait between attempts.
//!
//! A browser has no TCP: a peer at `host:port` is reached through the websocket proxy at
//! `${proxyUrl}/v1/${host with '.' → '_'}/${port}` (the Mutiny proxy convention, which the
//! devnet proxy follows). A REST flow LSP's `/api/v1/info` may also list a `websocket` entry:
//! a full `ws(s)://` URL is used as is, a bare host becomes `wss://host:port` (`ws://` for
//! loopback).
//!
//! Guarantees: [`proxy_target`] only builds URLs for IPv4 addresses and DNS names (never a path
//! or query smuggled in a host); [`flow_targets`] lists websocket entries first, then DNS, then
//! IPv4, and skips what a browser cannot reach (Tor, IPv6 through the proxy, port 0);
//! [`backoff`] grows from 1 s to at most 60 s.

use core::time::Duration;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::Error;
use crate::lsp::flow::{is_hostname, ConnectionType, InfoResponse};

/// The proxy URL for `host:port`.
pub fn proxy_target(proxy_url: &str, host: &str, port: u16) -> Result<String, Error> {
    let host_ok = Ipv4Addr::from_str(host).is_ok() || is_hostname(host);
    if !host_ok || port == 0 {
        return Err(Error::PeerConnectionFailed);
    }
    Ok(format!(
        "{}/v1/{}/{}",
        proxy_url.trim_end_matches('/'),
        host.replace('.', "_"),
        port
    ))
}

/// Splits `host:port` (IPv4 or DNS host; bracketed IPv6 is refused: the proxy path can not
/// carry it).
pub fn split_host_port(address: &str) -> Result<(String, u16), Error> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or(Error::PeerConnectionFailed)?;
    let port: u16 = port.parse().map_err(|_| Error::PeerConnectionFailed)?;
    if host.contains(':') || host.starts_with('[') {
        return Err(Error::PeerConnectionFailed);
    }
    Ok((host.to_string(), port))
}

/// Websocket URLs to try, in order, for a flow LSP's `/api/v1/info` answer.
pub fn flow_targets(info: &InfoResponse, proxy_url: &str) -> Vec<String> {
    let rank = |k: ConnectionType| match k {
        ConnectionType::Websocket => 0,
        ConnectionType::Dns => 1,
        ConnectionType::Ipv4 => 2,
        _ => 3,
    };
    let mut methods: Vec<_> = info.connection_methods.iter().collect();
    methods.sort_by_key(|m| rank(m.kind));
    let mut out = Vec::new();
    for m in methods {
        let url = match m.kind {
            ConnectionType::Websocket => websocket_entry(&m.address, m.port),
            ConnectionType::Ipv4 | ConnectionType::Dns => {
                proxy_target(proxy_url, &m.address, m.port).ok()
            }
            _ => None,
        };
        if let Some(url) = url {
            if !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out
}

fn websocket_entry(address: &str, port: u16) -> Option<String> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("ws://") || lower.starts_with("wss://") {
        let rest = &address[address.find("//")? + 2..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority);
        let ok = !authority.is_empty()
            && !address.chars().any(|c| c.is_whitespace())
            && (Ipv4Addr::from_str(host).is_ok() || is_hostname(host));
        return ok.then(|| address.to_string());
    }
    if port == 0 || !(Ipv4Addr::from_str(address).is_ok() || is_hostname(address)) {
        return None;
    }
    let loopback = address == "localhost" || address.starts_with("127.");
    Some(format!(
        "{}://{}:{}",
        if loopback { "ws" } else { "wss" },
        address,
        port
    ))
}

/// How long to wait before reconnect attempt `attempt` (0-based): 1 s, 2 s, 4 s … capped at
/// 60 s.
pub fn backoff(attempt: u32) -> Duration {
    let secs = 1u64.checked_shl(attempt.min(6)).unwrap_or(64).min(60);
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::flow::ConnectionMethod;

    #[test]
    fn proxy_urls() {
        assert_eq!(
            proxy_target("ws://127.0.0.1:9000/", "127.0.0.1", 9735).unwrap(),
            "ws://127.0.0.1:9000/v1/127_0_0_1/9735"
        );
        assert_eq!(
            proxy_target("wss://p.example", "lsp.example.com", 9735).unwrap(),
            "wss://p.example/v1/lsp_example_com/9735"
        );
        for bad in ["a/b", "x?y", "", "::1", "a b"] {
            assert!(proxy_target("ws://p", bad, 1).is_err(), "{bad}");
        }
        assert!(proxy_target("ws://p", "1.2.3.4", 0).is_err());
        assert_eq!(
            split_host_port("127.0.0.1:9735").unwrap(),
            ("127.0.0.1".into(), 9735)
        );
        assert!(split_host_port("[::1]:9735").is_err());
        assert!(split_host_port("host").is_err());
        assert!(split_host_port("host:x").is_err());
    }

    #[test]
    fn flow_info_targets() {
        let info = InfoResponse {
            pubkey: crate::test_util::pubkey(3),
            connection_methods: vec![
                ConnectionMethod {
                    address: "127.0.0.1".into(),
                    port: 9736,
                    kind: ConnectionType::Ipv4,
                },
                ConnectionMethod {
                    address: "abc.onion".into(),
                    port: 9735,
                    kind: ConnectionType::Torv3,
                },
                ConnectionMethod {
                    address: "ws://127.0.0.1:9001/v1/127_0_0_1/9736".into(),
                    port: 9001,
                    kind: ConnectionType::Websocket,
                },
                ConnectionMethod {
                    address: "lsp.example.com".into(),
                    port: 443,
                    kind: ConnectionType::Websocket,
                },
                ConnectionMethod {
                    address: "ws://bad host/".into(),
                    port: 1,
                    kind: ConnectionType::Websocket,
                },
            ],
        };
        assert_eq!(
            flow_targets(&info, "ws://proxy:1"),
            vec![
                "ws://127.0.0.1:9001/v1/127_0_0_1/9736".to_string(),
                "wss://lsp.example.com:443".to_string(),
                "ws://proxy:1/v1/127_0_0_1/9736".to_string(),
            ]
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        let s: Vec<u64> = (0..10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(s, vec![1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX).as_secs(), 60);
    }
}
