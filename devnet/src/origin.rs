//! Who may drive the devnet from a browser: the control API and the websocket proxy act only for
//! pages served from loopback, so a web page open elsewhere while `./dev up` runs cannot make the
//! devnet pay, mine, open channels or switch faults, nor use the proxy.
//!
//! The rule (pure, unit-tested; the loopback tests live with the proxy crate's `origin`):
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

pub use tabnode_proxy::origin::{
    is_loopback_host as host_allowed, is_loopback_origin as origin_allowed,
};

/// Whether a request with these `Origin` and `Host` headers may be served (see the module rule).
pub fn request_allowed(origin: Option<&str>, host: Option<&str>) -> bool {
    origin.is_none_or(origin_allowed) && host.is_none_or(host_allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_requests() {
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
