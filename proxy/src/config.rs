//! The proxy's configuration: the file an integrator writes (TOML), checked into the settings
//! the server runs with.
//!
//! Every key but `listen`, `targets` and `allowed_origins` has a default suited to a public
//! deployment; unknown keys are refused, so a misspelt limit is an error rather than a silent
//! default. See `tabnode-proxy.example.toml` for every key with its meaning.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::origin::{OriginPolicy, OriginRule};
use crate::public_address::is_public;
use crate::target::{Entry, Host};

/// How much the proxy serves at once, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Websockets open at once (and upgrades in progress); past it an upgrade is answered 503.
    pub max_connections: usize,
    /// Websockets one client (an IPv4 address or an IPv6 /64) holds at once; past it, 429.
    pub max_connections_per_client: usize,
    /// A connection with no byte either way for this long is closed. LDK pings its peers every
    /// few seconds (a background tab's timers at least once a minute), so a live wallet is never
    /// this quiet.
    pub idle_timeout: Duration,
    /// A client that has not completed its upgrade request within this is dropped (a slow
    /// client would otherwise hold a connection slot).
    pub handshake_timeout: Duration,
    /// Resolving and connecting to the target must finish within this.
    pub connect_timeout: Duration,
    /// The largest websocket message accepted from a browser. A BOLT8 message is at most
    /// 65 535 bytes plus 34 bytes of framing, and tabnode sends one per message.
    pub max_message_bytes: usize,
    /// Bytes one connection may carry, both ways together, before it is closed.
    pub max_bytes_per_connection: u64,
}

impl Default for Limits {
    /// 1024 connections, 8 per client, 5 min idle, 10 s handshake and connect, 256 KiB messages,
    /// 1 GiB per connection.
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_connections_per_client: 8,
            idle_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            max_message_bytes: 256 * 1024,
            max_bytes_per_connection: 1 << 30,
        }
    }
}

/// What the server runs with (the allow-list is passed beside it, as it may change at run time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Which pages may connect.
    pub origins: OriginPolicy,
    /// Whether targets may resolve to private, loopback or link-local addresses. Off for a
    /// public deployment; a local devnet needs it.
    pub allow_private_targets: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`crate::clients`]).
    pub trusted_proxies: Vec<IpAddr>,
    /// The limits.
    pub limits: Limits,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// The configuration file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: SocketAddr,
    targets: Vec<String>,
    allowed_origins: Vec<String>,
    #[serde(default)]
    allow_missing_origin: bool,
    #[serde(default)]
    allow_private_targets: bool,
    #[serde(default)]
    trusted_proxies: Vec<IpAddr>,
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default)]
    limits: LimitsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
    idle_timeout_secs: Option<u64>,
    handshake_timeout_secs: Option<u64>,
    connect_timeout_secs: Option<u64>,
    max_message_bytes: Option<usize>,
    max_bytes_per_connection: Option<u64>,
}

/// A checked configuration file.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The allowed targets.
    pub targets: Vec<Entry>,
    /// The server settings.
    pub config: ProxyConfig,
    /// How to log.
    pub log_format: LogFormat,
}

/// Parses and checks a configuration file's text. Errors name the key at fault.
pub fn parse(text: &str) -> Result<Loaded> {
    let file: File = toml::from_str(text).context("the configuration file")?;
    let targets = file
        .targets
        .iter()
        .map(|t| t.parse::<Entry>().map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()
        .context("targets")?;
    if targets.is_empty() {
        bail!("targets: none listed; the proxy would carry no one");
    }
    if !file.allow_private_targets {
        for e in &targets {
            if let Host::Ipv4(ip) = e.target.host {
                if !is_public(ip.into()) {
                    bail!(
                        "targets: {} is a private, loopback or reserved address; set \
                         allow_private_targets = true to carry browsers there",
                        e.target
                    );
                }
            }
        }
    }
    let rules = file
        .allowed_origins
        .iter()
        .map(|o| OriginRule::parse(o).map_err(anyhow::Error::from))
        .collect::<Result<Vec<_>>>()
        .context("allowed_origins")?;
    if rules.is_empty() && !file.allow_missing_origin {
        bail!("allowed_origins: none listed; no browser could connect");
    }
    let d = Limits::default();
    let l = file.limits;
    let secs = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
    let limits = Limits {
        max_connections: l.max_connections.unwrap_or(d.max_connections),
        max_connections_per_client: l
            .max_connections_per_client
            .unwrap_or(d.max_connections_per_client),
        idle_timeout: secs(l.idle_timeout_secs, d.idle_timeout),
        handshake_timeout: secs(l.handshake_timeout_secs, d.handshake_timeout),
        connect_timeout: secs(l.connect_timeout_secs, d.connect_timeout),
        max_message_bytes: l.max_message_bytes.unwrap_or(d.max_message_bytes),
        max_bytes_per_connection: l
            .max_bytes_per_connection
            .unwrap_or(d.max_bytes_per_connection),
    };
    check_limits(&limits)?;
    Ok(Loaded {
        listen: file.listen,
        targets,
        config: ProxyConfig {
            origins: OriginPolicy {
                rules,
                allow_missing: file.allow_missing_origin,
            },
            allow_private_targets: file.allow_private_targets,
            trusted_proxies: file.trusted_proxies,
            limits,
        },
        log_format: file.log_format,
    })
}

fn check_limits(l: &Limits) -> Result<()> {
    if l.max_connections == 0 || l.max_connections_per_client == 0 {
        bail!("limits: max_connections and max_connections_per_client must be at least 1");
    }
    if [l.idle_timeout, l.handshake_timeout, l.connect_timeout].contains(&Duration::ZERO) {
        bail!("limits: timeouts must be at least 1 s");
    }
    if l.max_message_bytes < 65_569 {
        bail!("limits: max_message_bytes must be at least 65569 (one BOLT8 message)");
    }
    if l.max_bytes_per_connection < l.max_message_bytes as u64 {
        bail!("limits: max_bytes_per_connection must be at least max_message_bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../tabnode-proxy.example.toml");

    #[test]
    fn the_shipped_example_is_valid() {
        let loaded = parse(EXAMPLE).unwrap();
        assert_eq!(loaded.targets.len(), 2);
        assert!(!loaded.config.allow_private_targets);
        assert_eq!(loaded.config.limits, Limits::default());
        assert_eq!(loaded.log_format, LogFormat::Json);
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let loaded = parse(
            r#"
            listen = "127.0.0.1:3004"
            targets = ["lsp.example.com:9735"]
            allowed_origins = ["https://wallet.example.com"]
            [limits]
            idle_timeout_secs = 60
            "#,
        )
        .unwrap();
        let limits = loaded.config.limits;
        assert_eq!(limits.idle_timeout, Duration::from_secs(60));
        assert_eq!(limits.max_connections, Limits::default().max_connections);
        assert!(!loaded.config.origins.allow_missing);
        assert_eq!(loaded.log_format, LogFormat::Text);
    }

    #[test]
    fn mistakes_are_refused_naming_the_key() {
        let base = |extra: &str, targets: &str, origins: &str| {
            format!(
                "listen = \"127.0.0.1:3004\"\ntargets = {targets}\nallowed_origins = {origins}\n{extra}"
            )
        };
        let t = r#"["lsp.example.com:9735"]"#;
        let o = r#"["https://wallet.example.com"]"#;
        for (text, says) in [
            (
                base("", r#"["127.0.0.1:9735"]"#, o),
                "allow_private_targets",
            ),
            (base("", r#"["10.0.0.5:9735"]"#, o), "allow_private_targets"),
            (base("", "[]", o), "targets"),
            (base("", r#"["lsp.example.com"]"#, o), "targets"),
            (base("", t, "[]"), "allowed_origins"),
            (
                base("", t, r#"["https://wallet.example.com/"]"#),
                "allowed_origins",
            ),
            (base("idle_timeout_secs = 5", t, o), "idle_timeout_secs"),
            (
                base("[limits]\nidle_timeout_sec = 5", t, o),
                "idle_timeout_sec",
            ),
            (
                base("[limits]\nmax_message_bytes = 1000", t, o),
                "max_message_bytes",
            ),
            (
                base("[limits]\nmax_connections = 0", t, o),
                "max_connections",
            ),
            (base("log_format = \"xml\"", t, o), "xml"),
        ] {
            let err = format!("{:#}", parse(&text).unwrap_err());
            assert!(err.contains(says), "{text}\n-> {err}");
        }
        let private_ok = parse(&base(
            "allow_private_targets = true",
            r#"["127.0.0.1:9735"]"#,
            o,
        ));
        assert!(private_ok.is_ok());
    }
}
