//! Who may drive the devnet from a browser: the control API and the websocket proxy act only for
//! pages served from loopback, so a web page open elsewhere while `./dev up` runs cannot make the
//! devnet pay, mine, open channels or switch faults, nor use the proxy.
//!
//! The rule (pure, unit-tested):
//! - a request with an `Origin` header is served only if that origin is `http` or `https` on a
//!   loopback host: `localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`, any port. The demo
//!   wallet (`http://127.0.0.1:4173` / `http://localhost:4173`) and `wasm-pack test`'s page (an
//!   `http://127.0.0.1:<port>` chosen at run time) are such origins; `null` and every other
//!   origin are refused before the request acts;
//! - a request without `Origin` (native tests, `curl`, the bench driver: browsers always send
//!   `Origin` on a cross-origin POST and on a websocket upgrade) is served;
//! - in every case the `Host` header, when present, must name a loopback host too, so a page
//!   that rebinds its own DNS name to 127.0.0.1 (same-origin to the browser, so no `Origin` on
//!   a GET) is refused as well.
//!
//! Loopback pages are trusted: a local process could reach the devnet's ports directly anyway.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether an `Origin` header value names a page on loopback (`http(s)://<loopback host>[:port]`).
pub fn origin_allowed(origin: &str) -> bool {
    let rest = match origin.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        _ => return false,
    };
    !rest.contains('/') && host_allowed(rest)
}

/// Whether a `Host` header value (`host[:port]`) names a loopback host.
pub fn host_allowed(host_port: &str) -> bool {
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

/// Whether a request with these `Origin` and `Host` headers may be served (see the module rule).
pub fn request_allowed(origin: Option<&str>, host: Option<&str>) -> bool {
    origin.is_none_or(origin_allowed) && host.is_none_or(host_allowed)
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
            assert!(origin_allowed(ok), "{ok}");
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
            assert!(!origin_allowed(refused), "{refused:?}");
        }
    }

    #[test]
    fn hosts_and_requests() {
        assert!(host_allowed("127.0.0.1:3003"));
        assert!(host_allowed("localhost"));
        assert!(host_allowed("[::1]:3003"));
        assert!(!host_allowed("rebound.evil.example:3003"));
        assert!(!host_allowed("127.0.0.1:"));
        assert!(request_allowed(None, None), "native clients send no Origin");
        assert!(request_allowed(None, Some("127.0.0.1:3003")));
        assert!(request_allowed(
            Some("http://localhost:4173"),
            Some("127.0.0.1:3003")
        ));
        assert!(!request_allowed(
            Some("http://evil.example"),
            Some("127.0.0.1:3003")
        ));
        assert!(!request_allowed(None, Some("rebound.evil.example:3003")));
    }
}
