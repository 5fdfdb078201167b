//! The wallet's typed config, as JS passes it (camelCase JSON), its validation, and presets.
//!
//! ```json
//! { "network": "regtest" | "signet" | "testnet" | "bitcoin",
//!   "esploraUrl": "https://…", "proxyUrl": "wss://…", "storageName": "main",
//!   "lsp": { "protocol": "flow", "url": "https://…", "token"?: "…", "simpleTaproot"?: true, "nodeId"?: "02…" }
//!        | { "protocol": "lsps2", "nodeId": "02…", "address"?: "host:port",
//!            "websocketUrl"?: "wss://…", "token"?: "…", "fixedSizeBuys"?: bool },
//!   "mnemonic"?: "…", "maxFeeMsat"?: 10000000, "maxFeePpm"?: 300000,
//!   "trustMinimized"?: false, "rgsUrl"?: "https://…", "esploraFallbackUrl"?: "https://…" }
//! ```
//! `rgsUrl` (the Rapid Gossip Sync server the routing graph comes from) defaults to the
//! network's public one ([`Network::default_rgs_url`]; regtest has none).
//! `maxFeeMsat` / `maxFeePpm` default to [`DEFAULT_MAX_FEE_MSAT`] / [`DEFAULT_MAX_FEE_PPM`] when
//! absent; `null` is refused like any non-number (JSON.stringify turns NaN into `null`, and a cap
//! must not switch off that way). Unknown fields are refused. [`Config::from_json`] /
//! [`Config::from_value`] return a validated config or [`Error::InvalidConfig`] naming the field
//! (or [`Error::InvalidMnemonic`]).

use core::fmt;
use core::str::FromStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use bitcoin::secp256k1::PublicKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::fee::{FeeCaps, DEFAULT_MAX_FEE_MSAT, DEFAULT_MAX_FEE_PPM};
use crate::lsp::flow::is_hostname;

/// The Bitcoin network the wallet runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Local regtest (the devnet).
    Regtest,
    /// Signet, including Mutinynet.
    Signet,
    /// Testnet3.
    Testnet,
    /// Mainnet.
    Bitcoin,
}

impl Network {
    /// The `bitcoin` crate's network.
    pub fn to_bitcoin(self) -> bitcoin::Network {
        match self {
            Network::Regtest => bitcoin::Network::Regtest,
            Network::Signet => bitcoin::Network::Signet,
            Network::Testnet => bitcoin::Network::Testnet,
            Network::Bitcoin => bitcoin::Network::Bitcoin,
        }
    }

    /// The lowercase name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Regtest => "regtest",
            Network::Signet => "signet",
            Network::Testnet => "testnet",
            Network::Bitcoin => "bitcoin",
        }
    }

    /// The public Rapid Gossip Sync server of the network (LDK's for mainnet and testnet,
    /// Mutinynet's for signet); none for regtest.
    pub fn default_rgs_url(self) -> Option<&'static str> {
        match self {
            Network::Bitcoin => Some("https://rapidsync.lightningdevkit.org/snapshot/v2"),
            Network::Testnet => Some("https://rapidsync.lightningdevkit.org/testnet/snapshot"),
            Network::Signet => Some("https://rgs.mutinynet.com/snapshot"),
            Network::Regtest => None,
        }
    }
}

/// Which JIT-channel protocol an LSP speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LspProtocol {
    /// REST wrapped-invoice flow.
    Flow,
    /// LSPS2 over BOLT8.
    Lsps2,
}

/// The LSP to get JIT channels from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "protocol",
    rename_all = "lowercase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum LspConfig {
    /// A REST wrapped-invoice LSP.
    Flow {
        /// Base URL (without `/api/v1`).
        url: String,
        /// Sent as `x-auth-token` when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Ask for simple taproot channels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        simple_taproot: Option<bool>,
        /// When set, `/api/v1/info` must report this node id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node_id: Option<PublicKey>,
    },
    /// An LSPS2 LSP.
    Lsps2 {
        /// The LSP's node id.
        node_id: PublicKey,
        /// `host:port` of its Lightning port, reached through the websocket proxy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// A websocket URL where the LSP's node itself accepts BOLT8 in binary frames (Core
        /// Lightning's `bind-addr=ws:…` behind TLS), dialled as is with no proxy in between;
        /// tried before `address`. At least one of the two is required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        websocket_url: Option<String>,
        /// LSPS2 `get_info` token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Whether the LSP intercepts `buy`s that name a payment size (bLIP-52 "MPP + fixed
        /// invoice"). Unset: it does when its `init` advertises LSPS (bLIP-50 bit 729); Core
        /// Lightning's service neither advertises it nor opens for such buys. When it does not,
        /// an amount is sold as one part with no size in `buy` ([`AmountMode::SinglePart`]).
        ///
        /// [`AmountMode::SinglePart`]: crate::lsp::lsps2::AmountMode::SinglePart
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fixed_size_buys: Option<bool>,
    },
}

impl LspConfig {
    /// The protocol.
    pub fn protocol(&self) -> LspProtocol {
        match self {
            LspConfig::Flow { .. } => LspProtocol::Flow,
            LspConfig::Lsps2 { .. } => LspProtocol::Lsps2,
        }
    }

    /// For LSPS2, the configured [`LspConfig::Lsps2::fixed_size_buys`]; `None` otherwise or unset.
    pub fn fixed_size_buys(&self) -> Option<bool> {
        match self {
            LspConfig::Lsps2 {
                fixed_size_buys, ..
            } => *fixed_size_buys,
            LspConfig::Flow { .. } => None,
        }
    }

    /// The node id the config pins, if any (always for LSPS2).
    pub fn node_id(&self) -> Option<PublicKey> {
        match self {
            LspConfig::Flow { node_id, .. } => *node_id,
            LspConfig::Lsps2 { node_id, .. } => Some(*node_id),
        }
    }
}

impl fmt::Debug for LspConfig {
    /// Like a derived Debug, with the token redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LspConfig::Flow {
                url,
                token,
                simple_taproot,
                node_id,
            } => f
                .debug_struct("Flow")
                .field("url", url)
                .field("token", &token.as_ref().map(|_| "<redacted>"))
                .field("simple_taproot", simple_taproot)
                .field("node_id", node_id)
                .finish(),
            LspConfig::Lsps2 {
                node_id,
                address,
                websocket_url,
                token,
                fixed_size_buys,
            } => f
                .debug_struct("Lsps2")
                .field("node_id", node_id)
                .field("address", address)
                .field("websocket_url", websocket_url)
                .field("token", &token.as_ref().map(|_| "<redacted>"))
                .field("fixed_size_buys", fixed_size_buys)
                .finish(),
        }
    }
}

fn default_max_fee_msat() -> Option<u64> {
    Some(DEFAULT_MAX_FEE_MSAT)
}

fn default_max_fee_ppm() -> Option<u32> {
    Some(DEFAULT_MAX_FEE_PPM)
}

/// The wallet config (see the module doc for the JSON shape). Its `Deserialize` alone does not
/// validate: build it with [`Config::from_json`] / [`Config::from_value`] (or call
/// [`Config::validate`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Bitcoin network.
    pub network: Network,
    /// Esplora REST base URL (no trailing slash after [`Config::from_value`]).
    pub esplora_url: String,
    /// Websocket → TCP proxy base URL for peer connections.
    pub proxy_url: String,
    /// Name of this wallet's storage (IndexedDB database and Web Lock name part).
    pub storage_name: String,
    /// The LSP.
    pub lsp: LspConfig,
    /// BIP39 English phrase to restore from; a new one is generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnemonic: Option<String>,
    /// Absolute LSP fee cap in msat (`None`, no cap, only from Rust: JS `null` is refused).
    #[serde(default = "default_max_fee_msat")]
    pub max_fee_msat: Option<u64>,
    /// Proportional LSP fee cap in ppm (`None`, no cap, only from Rust: JS `null` is refused).
    #[serde(default = "default_max_fee_ppm")]
    pub max_fee_ppm: Option<u32>,
    /// LSPS2 without `client_trusts_lsp`: claim a JIT payment only once the new channel's
    /// funding transaction is seen on the chain source with the right output (default false).
    #[serde(default)]
    pub trust_minimized: bool,
    /// Rapid Gossip Sync base URL (the client appends `/{last sync timestamp}`); `None`: the
    /// network's default ([`Config::rgs_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rgs_url: Option<String>,
    /// A second Esplora server, used for a sync round when the first fails one (each round
    /// reads one server only: `chain/rotation.rs`), and for a broadcast the first cannot take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esplora_fallback_url: Option<String>,
}

impl fmt::Debug for Config {
    /// Like a derived Debug, with the mnemonic redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("network", &self.network)
            .field("esplora_url", &self.esplora_url)
            .field("proxy_url", &self.proxy_url)
            .field("storage_name", &self.storage_name)
            .field("lsp", &self.lsp)
            .field("mnemonic", &self.mnemonic.as_ref().map(|_| "<redacted>"))
            .field("max_fee_msat", &self.max_fee_msat)
            .field("max_fee_ppm", &self.max_fee_ppm)
            .field("trust_minimized", &self.trust_minimized)
            .field("rgs_url", &self.rgs_url)
            .field("esplora_fallback_url", &self.esplora_fallback_url)
            .finish()
    }
}

const CONFIG_FIELDS: [&str; 11] = [
    "network",
    "esploraUrl",
    "proxyUrl",
    "storageName",
    "lsp",
    "mnemonic",
    "maxFeeMsat",
    "maxFeePpm",
    "trustMinimized",
    "rgsUrl",
    "esploraFallbackUrl",
];

fn invalid(field: &'static str, problem: &'static str) -> Error {
    Error::InvalidConfig { field, problem }
}

fn required<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &'static str,
    problem: &'static str,
) -> Result<T, Error> {
    let v = obj.get(field).ok_or(invalid(field, "is required"))?;
    serde_json::from_value(v.clone()).map_err(|_| invalid(field, problem))
}

fn optional<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &'static str,
    problem: &'static str,
    default: Option<T>,
) -> Result<Option<T>, Error> {
    // `null` is no value of any field: refused, never read as "none" (JSON.stringify turns NaN
    // into null, and a cap must not switch off that way).
    match obj.get(field) {
        None => Ok(default),
        Some(Value::Null) => Err(invalid(field, problem)),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| invalid(field, problem)),
    }
}

/// A URL's parts, as far as this wallet needs them.
#[derive(Debug, PartialEq, Eq)]
struct UrlParts<'a> {
    scheme: &'a str,
    host: &'a str,
}

/// Splits `scheme://host[:port][/path]`; refuses whitespace, control characters, userinfo,
/// empty or malformed hosts, bad ports, and schemes not in `schemes`.
fn parse_url<'a>(s: &'a str, schemes: &[&str]) -> Option<UrlParts<'a>> {
    if s.is_empty() || s.len() > 2048 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let (scheme, rest) = s.split_once("://")?;
    if !schemes.contains(&scheme) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return None;
    }
    let host = parse_host_port(authority, false)?;
    Some(UrlParts { scheme, host })
}

/// Validates `host[:port]` (port required when `port_required`) and returns the host; IPv6
/// hosts are bracketed.
fn parse_host_port(s: &str, port_required: bool) -> Option<&str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &s[..close + 2];
        Ipv6Addr::from_str(&rest[..close]).ok()?;
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = match port {
        Some(p) => {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && matches!(p.parse::<u16>(), Ok(n) if n > 0)
        }
        None => !port_required,
    };
    if !port_ok {
        return None;
    }
    if !host.starts_with('[') && Ipv4Addr::from_str(host).is_err() && !is_hostname(host) {
        return None;
    }
    Some(host)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || Ipv4Addr::from_str(host).is_ok_and(|a| a.is_loopback())
}

/// Checks a URL for `field`: one of `schemes`, and the secure one (`schemes[1]`) unless the
/// network is regtest or the host is loopback.
fn check_url(
    field: &'static str,
    url: &str,
    schemes: [&str; 2],
    network: Network,
    problem: &'static str,
) -> Result<(), Error> {
    let parts = parse_url(url, &schemes).ok_or(invalid(field, problem))?;
    if parts.scheme != schemes[1] && network != Network::Regtest && !is_loopback(parts.host) {
        return Err(invalid(
            field,
            "must use a secure scheme (https/wss) outside regtest and localhost",
        ));
    }
    Ok(())
}

fn check_token(field: &'static str, token: &Option<String>) -> Result<(), Error> {
    if let Some(t) = token {
        if t.is_empty() || t.len() > 1024 || !t.chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(field, "must be 1 to 1024 visible ASCII characters"));
        }
    }
    Ok(())
}

impl Config {
    /// Parses, normalizes (trailing `/` removed from URLs) and validates a config JSON text.
    pub fn from_json(s: &str) -> Result<Config, Error> {
        let v: Value =
            serde_json::from_str(s).map_err(|_| invalid("config", "is not valid JSON"))?;
        Config::from_value(v)
    }

    /// Parses, normalizes and validates a config JSON value, naming the first bad field.
    pub fn from_value(v: Value) -> Result<Config, Error> {
        let obj = v
            .as_object()
            .ok_or(invalid("config", "must be an object"))?;
        if obj.keys().any(|k| !CONFIG_FIELDS.contains(&k.as_str())) {
            return Err(invalid("config", "has an unknown field"));
        }
        let lsp_problem = "must be {protocol:\"flow\", url, token?, simpleTaproot?, nodeId?} or {protocol:\"lsps2\", nodeId, address?, websocketUrl?, token?, fixedSizeBuys?}";
        let mut config = Config {
            network: required(
                obj,
                "network",
                "must be one of regtest, signet, testnet, bitcoin",
            )?,
            esplora_url: required(obj, "esploraUrl", "must be a string")?,
            proxy_url: required(obj, "proxyUrl", "must be a string")?,
            storage_name: required(obj, "storageName", "must be a string")?,
            lsp: required(obj, "lsp", lsp_problem)?,
            mnemonic: optional(obj, "mnemonic", "must be a string", None)?,
            max_fee_msat: optional(
                obj,
                "maxFeeMsat",
                "must be an integer from 0 to 2^53 - 1 (2^53 - 1: no absolute cap)",
                default_max_fee_msat(),
            )?,
            max_fee_ppm: optional(
                obj,
                "maxFeePpm",
                "must be an integer from 0 to 1000000 (1000000: no proportional cap)",
                default_max_fee_ppm(),
            )?,
            trust_minimized: optional(obj, "trustMinimized", "must be a boolean", Some(false))?
                .unwrap_or(false),
            rgs_url: optional(obj, "rgsUrl", "must be a string", None)?,
            esplora_fallback_url: optional(obj, "esploraFallbackUrl", "must be a string", None)?,
        };
        config.normalize();
        config.validate()?;
        Ok(config)
    }

    fn normalize(&mut self) {
        let trim = |s: &mut String| {
            let t = s.trim().trim_end_matches('/').to_string();
            *s = t;
        };
        trim(&mut self.esplora_url);
        trim(&mut self.proxy_url);
        for url in [&mut self.rgs_url, &mut self.esplora_fallback_url]
            .into_iter()
            .flatten()
        {
            trim(url);
        }
        match &mut self.lsp {
            LspConfig::Flow { url, .. } => trim(url),
            LspConfig::Lsps2 {
                websocket_url: Some(url),
                ..
            } => trim(url),
            LspConfig::Lsps2 { .. } => {}
        }
        if let Some(m) = &mut self.mnemonic {
            *m = m.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }

    /// Checks every field: URLs well-formed (`esploraUrl` and the flow LSP `url` http(s),
    /// `proxyUrl` ws(s); the secure scheme required outside regtest unless the host is
    /// loopback), `storageName` 1..=64 of `[A-Za-z0-9._-]`, LSPS2 `address` a valid `host:port`
    /// and `websocketUrl` a ws(s) URL (at least one of them),
    /// tokens 1..=1024 visible ASCII (they travel in headers), `maxFeePpm ≤ 1 000 000`, and the
    /// mnemonic a valid BIP39 English phrase ([`Error::InvalidMnemonic`]).
    pub fn validate(&self) -> Result<(), Error> {
        // JS numbers are exact only up to 2^53 - 1: a larger cap is not the number the caller
        // wrote.
        if self
            .max_fee_msat
            .is_some_and(|m| m > crate::js_args::MAX_SAFE_INTEGER)
        {
            return Err(invalid(
                "maxFeeMsat",
                "must be an integer from 0 to 2^53 - 1 (2^53 - 1: no absolute cap)",
            ));
        }
        check_url(
            "esploraUrl",
            &self.esplora_url,
            ["http", "https"],
            self.network,
            "must be an http(s) URL",
        )?;
        check_url(
            "proxyUrl",
            &self.proxy_url,
            ["ws", "wss"],
            self.network,
            "must be a ws(s) URL",
        )?;
        if let Some(url) = &self.esplora_fallback_url {
            check_url(
                "esploraFallbackUrl",
                url,
                ["http", "https"],
                self.network,
                "must be an http(s) URL",
            )?;
            if *url == self.esplora_url {
                return Err(invalid("esploraFallbackUrl", "must differ from esploraUrl"));
            }
        }
        if let Some(url) = &self.rgs_url {
            check_url(
                "rgsUrl",
                url,
                ["http", "https"],
                self.network,
                "must be an http(s) URL",
            )?;
        }
        if !storage_name_ok(&self.storage_name) {
            return Err(invalid(
                "storageName",
                "must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
            ));
        }
        match &self.lsp {
            LspConfig::Flow { url, token, .. } => {
                check_url(
                    "lsp.url",
                    url,
                    ["http", "https"],
                    self.network,
                    "must be an http(s) URL",
                )?;
                check_token("lsp.token", token)?;
            }
            LspConfig::Lsps2 {
                address,
                websocket_url,
                token,
                ..
            } => {
                if let Some(address) = address {
                    if !address.chars().all(|c| c.is_ascii_graphic())
                        || parse_host_port(address, true).is_none()
                    {
                        return Err(invalid("lsp.address", "must be host:port"));
                    }
                }
                if let Some(url) = websocket_url {
                    check_url(
                        "lsp.websocketUrl",
                        url,
                        ["ws", "wss"],
                        self.network,
                        "must be a ws(s) URL",
                    )?;
                }
                if address.is_none() && websocket_url.is_none() {
                    return Err(invalid(
                        "lsp.address",
                        "is required unless lsp.websocketUrl is given",
                    ));
                }
                check_token("lsp.token", token)?;
            }
        }
        self.fee_caps().validate()?;
        if let Some(m) = &self.mnemonic {
            bip39::Mnemonic::parse_in(bip39::Language::English, m.as_str())
                .map_err(|_| Error::InvalidMnemonic)?;
        }
        Ok(())
    }

    /// The Rapid Gossip Sync base URL the routing graph comes from: `rgsUrl`, else the
    /// network's default; `None` (regtest without `rgsUrl`): no graph beyond the wallet's own
    /// channels and invoices' route hints.
    pub fn rgs_url(&self) -> Option<&str> {
        self.rgs_url
            .as_deref()
            .or_else(|| self.network.default_rgs_url())
    }

    /// The fee caps this config sets.
    pub fn fee_caps(&self) -> FeeCaps {
        FeeCaps {
            max_fee_msat: self.max_fee_msat,
            max_fee_ppm: self.max_fee_ppm,
        }
    }

    /// A validated config for a public REST flow LSP `preset`, with its network and a public
    /// Esplora; the proxy and storage name are the caller's.
    pub fn from_preset(
        preset: Preset,
        proxy_url: &str,
        storage_name: &str,
    ) -> Result<Config, Error> {
        let p = preset.flow_lsp();
        let mut c = Config {
            network: p.network,
            esplora_url: p.esplora_url.to_string(),
            proxy_url: proxy_url.to_string(),
            storage_name: storage_name.to_string(),
            lsp: LspConfig::Flow {
                url: p.lsp_url.to_string(),
                token: None,
                simple_taproot: None,
                node_id: p
                    .node_id
                    .map(|id| id.parse().expect("a preset's node id is valid")),
            },
            mnemonic: None,
            max_fee_msat: default_max_fee_msat(),
            max_fee_ppm: default_max_fee_ppm(),
            trust_minimized: false,
            rgs_url: None,
            esplora_fallback_url: None,
        };
        c.normalize();
        c.validate()?;
        Ok(c)
    }

    /// A validated config for the local devnet from its endpoints JSON, using its flow LSP
    /// (node id pinned) or its LSPS2 LSP; storage name `tabnode-devnet-flow` /
    /// `tabnode-devnet-lsps2`.
    pub fn from_devnet_endpoints(json: &str, protocol: LspProtocol) -> Result<Config, Error> {
        let e = DevnetEndpoints::parse(json)?;
        let (lsp, storage_name) = match protocol {
            LspProtocol::Flow => (
                LspConfig::Flow {
                    url: e.flow_lsp.url.clone(),
                    token: None,
                    simple_taproot: None,
                    node_id: Some(e.flow_lsp.node_id),
                },
                "tabnode-devnet-flow",
            ),
            LspProtocol::Lsps2 => {
                let host = if e.lsps2_lsp.host.contains(':') {
                    format!("[{}]", e.lsps2_lsp.host)
                } else {
                    e.lsps2_lsp.host.clone()
                };
                (
                    LspConfig::Lsps2 {
                        node_id: e.lsps2_lsp.node_id,
                        address: Some(format!("{}:{}", host, e.lsps2_lsp.port)),
                        websocket_url: None,
                        token: None,
                        fixed_size_buys: None,
                    },
                    "tabnode-devnet-lsps2",
                )
            }
        };
        let mut c = Config {
            network: e.network,
            esplora_url: e.esplora_url,
            proxy_url: e.proxy_url,
            storage_name: storage_name.to_string(),
            lsp,
            mnemonic: None,
            max_fee_msat: default_max_fee_msat(),
            max_fee_ppm: default_max_fee_ppm(),
            trust_minimized: false,
            rgs_url: e.rgs_url,
            esplora_fallback_url: None,
        };
        c.normalize();
        c.validate()?;
        Ok(c)
    }
}

/// Olympus by ZEUS's mainnet node, as ZEUS publishes it (protocols.md E): pinned by the mainnet
/// preset, so the wallet trusts that node and no other even on its first `/info`.
pub const OLYMPUS_MAINNET_NODE_ID: &str =
    "031b301307574bbe9b9ac7b79cbe1700e31e544513eae0b5d7497483083f99e581";

/// A public REST flow LSP (seed 000) with its network and a public Esplora. The hosts are
/// Olympus's since its move of Aug 2026 (ZeusLN/zeus#4356; the `*.lnolymp.us` hosts of seed 000
/// were the previous ones). None was tried live from here: the test machines reach loopback only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLspPreset {
    /// Network.
    pub network: Network,
    /// The LSP's base URL.
    pub lsp_url: &'static str,
    /// Its node id, where the LSP publishes it (else trusted on first use).
    pub node_id: Option<&'static str>,
    /// A public Esplora for that network.
    pub esplora_url: &'static str,
}

/// The public networks with a known flow LSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Mainnet, Olympus by ZEUS.
    Mainnet,
    /// Testnet3, Olympus by ZEUS.
    Testnet3,
    /// Mutinynet (signet), Olympus by ZEUS.
    Mutinynet,
}

impl Preset {
    /// The preset's LSP, network and Esplora.
    pub fn flow_lsp(self) -> FlowLspPreset {
        match self {
            Preset::Mainnet => FlowLspPreset {
                network: Network::Bitcoin,
                lsp_url: "https://flow.zeuslsp.com",
                node_id: Some(OLYMPUS_MAINNET_NODE_ID),
                esplora_url: "https://blockstream.info/api",
            },
            Preset::Testnet3 => FlowLspPreset {
                network: Network::Testnet,
                lsp_url: "https://flow.testnet.zeuslsp.com",
                node_id: None,
                esplora_url: "https://blockstream.info/testnet/api",
            },
            Preset::Mutinynet => FlowLspPreset {
                network: Network::Signet,
                lsp_url: "https://flow.mutinynet.zeuslsp.com",
                node_id: None,
                esplora_url: "https://mutinynet.com/api",
            },
        }
    }

    /// The preset by its lowercase name (`mainnet`, `testnet3`, `mutinynet`).
    pub fn from_name(name: &str) -> Option<Preset> {
        match name {
            "mainnet" => Some(Preset::Mainnet),
            "testnet3" => Some(Preset::Testnet3),
            "mutinynet" => Some(Preset::Mutinynet),
            _ => None,
        }
    }
}

/// The devnet's flow LSP entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetFlowLsp {
    /// REST base URL.
    pub url: String,
    /// Its node id.
    pub node_id: PublicKey,
}

/// The devnet's LSPS2 LSP entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetLsps2Lsp {
    /// Its node id.
    pub node_id: PublicKey,
    /// Lightning host.
    pub host: String,
    /// Lightning port.
    pub port: u16,
}

/// The devnet's payer entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetPayer {
    /// Its node id.
    pub node_id: PublicKey,
}

/// The devnet's endpoints JSON (snake_case keys; unknown keys ignored so the devnet can grow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetEndpoints {
    /// Always regtest in practice.
    pub network: Network,
    /// Esplora base URL.
    pub esplora_url: String,
    /// Control API base URL (tests and demo).
    pub control_url: String,
    /// Websocket proxy base URL.
    pub proxy_url: String,
    /// Rapid Gossip Sync base URL (absent from an older devnet's endpoints).
    #[serde(default)]
    pub rgs_url: Option<String>,
    /// The REST flow LSP.
    pub flow_lsp: DevnetFlowLsp,
    /// The LSPS2 LSP.
    pub lsps2_lsp: DevnetLsps2Lsp,
    /// The paying node.
    pub payer: DevnetPayer,
}

impl DevnetEndpoints {
    /// Parses the endpoints JSON; any problem is [`Error::InvalidConfig`] on field `devnet`.
    pub fn parse(json: &str) -> Result<DevnetEndpoints, Error> {
        serde_json::from_str(json).map_err(|_| {
            invalid(
                "devnet",
                "endpoints JSON is missing or has ill-typed fields",
            )
        })
    }
}

/// Whether `name` is a valid `storageName`: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn storage_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::pubkey;
    use serde_json::json;

    const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn base() -> Value {
        json!({
            "network": "signet",
            "esploraUrl": "https://mutinynet.com/api/",
            "proxyUrl": "wss://proxy.example.com",
            "storageName": "main",
            "lsp": { "protocol": "flow", "url": "https://mutinynet-flow.lnolymp.us/" }
        })
    }

    fn with(mut v: Value, path: &[&str], new: Value) -> Value {
        let mut cur = &mut v;
        for p in &path[..path.len() - 1] {
            cur = &mut cur[*p];
        }
        cur[path[path.len() - 1]] = new;
        v
    }

    fn without(mut v: Value, key: &str) -> Value {
        v.as_object_mut().unwrap().remove(key);
        v
    }

    fn err_field(v: Value) -> &'static str {
        match Config::from_value(v) {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {:?}", other),
        }
    }

    #[test]
    fn minimal_config_gets_defaults_and_normalized_urls() {
        let c = Config::from_value(base()).unwrap();
        assert_eq!(c.network, Network::Signet);
        assert_eq!(c.esplora_url, "https://mutinynet.com/api");
        assert_eq!(
            c.lsp,
            LspConfig::Flow {
                url: "https://mutinynet-flow.lnolymp.us".into(),
                token: None,
                simple_taproot: None,
                node_id: None
            }
        );
        assert_eq!(c.fee_caps(), FeeCaps::default());
        assert_eq!(c.network.to_bitcoin(), bitcoin::Network::Signet);
        // round trip through its own serialization
        let again = Config::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }

    /// A cap is a number or absent (the default): `null` (what JSON.stringify makes of NaN) and
    /// anything that is not a whole non-negative number are refused, never read as "no cap".
    #[test]
    fn caps_are_numbers_never_null() {
        let v = with(
            with(base(), &["maxFeeMsat"], json!(9_007_199_254_740_991u64)),
            &["maxFeePpm"],
            json!(5000),
        );
        let c = Config::from_value(v).unwrap();
        assert_eq!(
            c.fee_caps(),
            FeeCaps {
                max_fee_msat: Some(9_007_199_254_740_991),
                max_fee_ppm: Some(5000)
            }
        );
        for bad in [
            Value::Null,
            json!(1.5),
            json!("NaN"),
            json!("Infinity"),
            json!(-1),
            json!(9_007_199_254_740_992u64),
        ] {
            for field in ["maxFeeMsat", "maxFeePpm"] {
                assert_eq!(
                    err_field(with(base(), &[field], bad.clone())),
                    field,
                    "{bad}"
                );
            }
        }
        assert_eq!(
            err_field(with(base(), &["maxFeePpm"], json!(1_000_001))),
            "maxFeePpm"
        );
        assert_eq!(
            err_field(with(base(), &["maxFeeMsat"], json!(-1))),
            "maxFeeMsat"
        );
        assert_eq!(
            err_field(with(base(), &["maxFeeMsat"], json!("1000"))),
            "maxFeeMsat"
        );
    }

    #[test]
    fn trust_minimized_is_an_optional_boolean() {
        assert!(!Config::from_value(base()).unwrap().trust_minimized);
        let c = Config::from_value(with(base(), &["trustMinimized"], json!(true))).unwrap();
        assert!(c.trust_minimized);
        let again = Config::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert!(again.trust_minimized);
        assert_eq!(
            err_field(with(base(), &["trustMinimized"], Value::Null)),
            "trustMinimized"
        );
        assert_eq!(
            err_field(with(base(), &["trustMinimized"], json!("yes"))),
            "trustMinimized"
        );
    }

    #[test]
    fn required_and_unknown_fields() {
        for f in ["network", "esploraUrl", "proxyUrl", "storageName", "lsp"] {
            assert_eq!(err_field(without(base(), f)), f);
        }
        assert_eq!(err_field(with(base(), &["extra"], json!(1))), "config");
        assert_eq!(err_field(json!([])), "config");
        assert!(matches!(
            Config::from_json("{"),
            Err(Error::InvalidConfig {
                field: "config",
                ..
            })
        ));
        assert_eq!(
            err_field(with(base(), &["network"], json!("mainnet"))),
            "network"
        );
        assert_eq!(
            err_field(with(base(), &["lsp", "protocol"], json!("lsps1"))),
            "lsp"
        );
        assert_eq!(
            err_field(with(base(), &["lsp", "colour"], json!("red"))),
            "lsp"
        );
    }

    #[test]
    fn urls() {
        for (url, ok) in [
            ("https://mutinynet.com/api", true),
            ("https://127.0.0.1:3002", true),
            ("https://[2001:db8::1]:443/api", true),
            ("http://localhost:3002", true),
            ("http://127.0.0.1:3002", true),
            ("http://mutinynet.com/api", false),
            ("ftp://mutinynet.com", false),
            ("https://", false),
            ("https://user:pw@host.com", false),
            ("https://host.com:0", false),
            ("https://host.com:99999", false),
            ("https://ho st.com", false),
            ("https://host.com\n", true), // trimmed by normalization
            ("mutinynet.com/api", false),
        ] {
            let r = Config::from_value(with(base(), &["esploraUrl"], json!(url)));
            assert_eq!(r.is_ok(), ok, "{} -> {:?}", url, r);
            if !ok {
                assert!(matches!(
                    r,
                    Err(Error::InvalidConfig {
                        field: "esploraUrl",
                        ..
                    })
                ));
            }
        }
        assert_eq!(
            err_field(with(
                base(),
                &["proxyUrl"],
                json!("https://proxy.example.com")
            )),
            "proxyUrl"
        );
        assert_eq!(
            err_field(with(base(), &["proxyUrl"], json!("ws://proxy.example.com"))),
            "proxyUrl"
        );
        assert!(
            Config::from_value(with(base(), &["proxyUrl"], json!("ws://127.0.0.1:8080"))).is_ok()
        );
        assert_eq!(
            err_field(with(
                base(),
                &["lsp", "url"],
                json!("http://lsp.example.com")
            )),
            "lsp.url"
        );
        // regtest allows plain http/ws anywhere
        let v = with(
            with(
                with(base(), &["network"], json!("regtest")),
                &["esploraUrl"],
                json!("http://devnet:3002"),
            ),
            &["proxyUrl"],
            json!("ws://devnet:8080"),
        );
        assert!(Config::from_value(v).is_ok());
    }

    #[test]
    fn storage_name_and_tokens() {
        assert_eq!(
            err_field(with(base(), &["storageName"], json!(""))),
            "storageName"
        );
        assert_eq!(
            err_field(with(base(), &["storageName"], json!("a/b"))),
            "storageName"
        );
        assert_eq!(
            err_field(with(base(), &["storageName"], json!("x".repeat(65)))),
            "storageName"
        );
        assert!(
            Config::from_value(with(base(), &["storageName"], json!("wallet-1.main_2"))).is_ok()
        );
        assert!(Config::from_value(with(base(), &["lsp", "token"], json!("abc123"))).is_ok());
        assert_eq!(
            err_field(with(base(), &["lsp", "token"], json!("a\r\nX-Evil: 1"))),
            "lsp.token"
        );
        assert_eq!(
            err_field(with(base(), &["lsp", "token"], json!(""))),
            "lsp.token"
        );
    }

    #[test]
    fn lsps2_config() {
        let lsp = json!({ "protocol": "lsps2", "nodeId": pubkey(7).to_string(), "address": "lsp.example.com:9735", "token": "t" });
        let c = Config::from_value(with(base(), &["lsp"], lsp.clone())).unwrap();
        assert_eq!(c.lsp.protocol(), LspProtocol::Lsps2);
        assert_eq!(c.lsp.node_id(), Some(pubkey(7)));
        for (addr, ok) in [
            ("127.0.0.1:9735", true),
            ("[::1]:9735", true),
            ("lsp.example.com", false),
            ("lsp.example.com:", false),
            (":9735", false),
            ("a b:1", false),
        ] {
            let r = Config::from_value(with(
                base(),
                &["lsp"],
                with(lsp.clone(), &["address"], json!(addr)),
            ));
            assert_eq!(r.is_ok(), ok, "{} -> {:?}", addr, r);
        }
        assert_eq!(
            err_field(with(
                base(),
                &["lsp"],
                with(lsp.clone(), &["nodeId"], json!("02abcd"))
            )),
            "lsp"
        );
        assert_eq!(
            err_field(with(base(), &["lsp"], without(lsp.clone(), "nodeId"))),
            "lsp"
        );
        // A node that speaks websockets itself: its URL instead of (or before) an address.
        let ws_only = with(
            without(lsp.clone(), "address"),
            &["websocketUrl"],
            json!("wss://lsp.example.com/ "),
        );
        let c = Config::from_value(with(base(), &["lsp"], ws_only.clone())).unwrap();
        assert!(matches!(
            &c.lsp,
            LspConfig::Lsps2 { address: None, websocket_url: Some(u), .. } if u == "wss://lsp.example.com"
        ));
        for (url, field) in [
            ("https://lsp.example.com", "lsp.websocketUrl"),
            ("ws://lsp.example.com", "lsp.websocketUrl"), // insecure outside regtest and loopback
            ("not a url", "lsp.websocketUrl"),
        ] {
            let bad = with(ws_only.clone(), &["websocketUrl"], json!(url));
            assert_eq!(err_field(with(base(), &["lsp"], bad)), field, "{url}");
        }
        assert_eq!(
            err_field(with(base(), &["lsp"], without(lsp.clone(), "address"))),
            "lsp.address",
            "neither an address nor a websocket URL"
        );
        // fixedSizeBuys: unset by default, a boolean when given
        assert_eq!(c.lsp.fixed_size_buys(), None);
        let c = Config::from_value(with(
            base(),
            &["lsp"],
            with(lsp.clone(), &["fixedSizeBuys"], json!(false)),
        ))
        .unwrap();
        assert_eq!(c.lsp.fixed_size_buys(), Some(false));
        assert_eq!(
            err_field(with(
                base(),
                &["lsp"],
                with(lsp, &["fixedSizeBuys"], json!("no"))
            )),
            "lsp"
        );
    }

    #[test]
    fn flow_config_with_options() {
        let lsp = json!({ "protocol": "flow", "url": "https://lsp.example.com", "simpleTaproot": true, "nodeId": pubkey(7).to_string() });
        let c = Config::from_value(with(base(), &["lsp"], lsp)).unwrap();
        assert_eq!(
            c.lsp,
            LspConfig::Flow {
                url: "https://lsp.example.com".into(),
                token: None,
                simple_taproot: Some(true),
                node_id: Some(pubkey(7))
            }
        );
    }

    #[test]
    fn mnemonic() {
        let c = Config::from_value(with(
            base(),
            &["mnemonic"],
            json!(format!("  {}  ", MNEMONIC)),
        ))
        .unwrap();
        assert_eq!(c.mnemonic.as_deref(), Some(MNEMONIC));
        let bad = MNEMONIC.replace("about", "abandon"); // checksum fails
        assert_eq!(
            Config::from_value(with(base(), &["mnemonic"], json!(bad))),
            Err(Error::InvalidMnemonic)
        );
        assert_eq!(
            Config::from_value(with(base(), &["mnemonic"], json!("hello world"))),
            Err(Error::InvalidMnemonic)
        );
        // never printed
        assert!(!format!("{:?}", c).contains("abandon"));
        let c = Config::from_value(with(base(), &["lsp", "token"], json!("sekrit"))).unwrap();
        assert!(!format!("{:?}", c).contains("sekrit"));
    }

    #[test]
    fn presets() {
        for (name, net, url, node_id) in [
            (
                "mainnet",
                Network::Bitcoin,
                "https://flow.zeuslsp.com",
                Some(OLYMPUS_MAINNET_NODE_ID.parse().unwrap()),
            ),
            (
                "testnet3",
                Network::Testnet,
                "https://flow.testnet.zeuslsp.com",
                None,
            ),
            (
                "mutinynet",
                Network::Signet,
                "https://flow.mutinynet.zeuslsp.com",
                None,
            ),
        ] {
            let p = Preset::from_name(name).unwrap();
            let c = Config::from_preset(p, "wss://proxy.example.com", "main").unwrap();
            assert_eq!(c.network, net);
            assert_eq!(
                c.lsp,
                LspConfig::Flow {
                    url: url.into(),
                    token: None,
                    simple_taproot: None,
                    node_id
                }
            );
            // Every preset has its network's routing graph server.
            assert!(c.rgs_url().is_some(), "{name}");
        }
        assert_eq!(Preset::from_name("regtest"), None);
        // an insecure proxy is refused for a public network
        assert!(Config::from_preset(Preset::Mainnet, "ws://proxy.example.com", "main").is_err());
    }

    fn endpoints() -> Value {
        json!({
            "network": "regtest",
            "esplora_url": "http://127.0.0.1:3002",
            "control_url": "http://127.0.0.1:3003",
            "proxy_url": "ws://127.0.0.1:3004",
            "flow_lsp": { "url": "http://127.0.0.1:3005", "node_id": pubkey(7).to_string() },
            "lsps2_lsp": { "node_id": pubkey(8).to_string(), "host": "127.0.0.1", "port": 9735 },
            "payer": { "node_id": pubkey(9).to_string() },
            "something_new": 1
        })
    }

    #[test]
    fn a_fallback_esplora_is_checked_like_the_first() {
        assert_eq!(
            Config::from_value(base()).unwrap().esplora_fallback_url,
            None
        );
        let c = Config::from_value(with(
            base(),
            &["esploraFallbackUrl"],
            json!(" https://blockstream.info/signet/api/ "),
        ))
        .unwrap();
        assert_eq!(
            c.esplora_fallback_url.as_deref(),
            Some("https://blockstream.info/signet/api")
        );
        for bad in [
            json!(null),
            json!(5),
            json!("ftp://x.example.com"),
            json!("http://esplora.example.com"), // insecure outside regtest and loopback
            json!("https://mutinynet.com/api/"), // the same as esploraUrl once normalized
        ] {
            assert_eq!(
                err_field(with(base(), &["esploraFallbackUrl"], bad.clone())),
                "esploraFallbackUrl",
                "{bad}"
            );
        }
    }

    #[test]
    fn rgs_url_defaults_by_network_and_is_checked() {
        // Omitted: the network's public server (signet: Mutinynet's); regtest has none.
        let c = Config::from_value(base()).unwrap();
        assert_eq!(c.rgs_url, None);
        assert_eq!(c.rgs_url(), Some("https://rgs.mutinynet.com/snapshot"));
        let c = Config::from_value(with(base(), &["network"], json!("bitcoin"))).unwrap();
        assert_eq!(
            c.rgs_url(),
            Some("https://rapidsync.lightningdevkit.org/snapshot/v2")
        );
        let regtest = with(
            with(base(), &["network"], json!("regtest")),
            &["esploraUrl"],
            json!("http://127.0.0.1:3002"),
        );
        assert_eq!(Config::from_value(regtest.clone()).unwrap().rgs_url(), None);
        // Given: normalized, and checked like the other URLs.
        let c = Config::from_value(with(
            regtest.clone(),
            &["rgsUrl"],
            json!(" http://127.0.0.1:3006/snapshot/ "),
        ))
        .unwrap();
        assert_eq!(c.rgs_url(), Some("http://127.0.0.1:3006/snapshot"));
        for bad in [
            json!(null),
            json!(5),
            json!("ftp://x.example.com"),
            json!("http://rgs.example.com"),
        ] {
            assert_eq!(
                err_field(with(base(), &["rgsUrl"], bad.clone())),
                "rgsUrl",
                "{bad}"
            );
        }
    }

    #[test]
    fn devnet_endpoints() {
        let s = endpoints().to_string();
        let c = Config::from_devnet_endpoints(&s, LspProtocol::Flow).unwrap();
        assert_eq!(c.network, Network::Regtest);
        assert_eq!(c.rgs_url(), None, "an endpoints JSON without rgs_url");
        let with_rgs = with(
            endpoints(),
            &["rgs_url"],
            json!("http://127.0.0.1:3006/snapshot"),
        );
        let c = Config::from_devnet_endpoints(&with_rgs.to_string(), LspProtocol::Flow).unwrap();
        assert_eq!(c.rgs_url(), Some("http://127.0.0.1:3006/snapshot"));
        let c = Config::from_devnet_endpoints(&s, LspProtocol::Flow).unwrap();
        assert_eq!(c.esplora_url, "http://127.0.0.1:3002");
        assert_eq!(c.proxy_url, "ws://127.0.0.1:3004");
        assert_eq!(c.storage_name, "tabnode-devnet-flow");
        assert_eq!(c.lsp.node_id(), Some(pubkey(7)));
        let c = Config::from_devnet_endpoints(&s, LspProtocol::Lsps2).unwrap();
        assert_eq!(
            c.lsp,
            LspConfig::Lsps2 {
                node_id: pubkey(8),
                address: Some("127.0.0.1:9735".into()),
                websocket_url: None,
                token: None,
                fixed_size_buys: None,
            }
        );
        let v6 = with(endpoints(), &["lsps2_lsp", "host"], json!("::1")).to_string();
        let c = Config::from_devnet_endpoints(&v6, LspProtocol::Lsps2).unwrap();
        assert_eq!(
            c.lsp,
            LspConfig::Lsps2 {
                node_id: pubkey(8),
                address: Some("[::1]:9735".into()),
                websocket_url: None,
                token: None,
                fixed_size_buys: None,
            }
        );
        let e = DevnetEndpoints::parse(&s).unwrap();
        assert_eq!(e.payer.node_id, pubkey(9));
        assert_eq!(e.control_url, "http://127.0.0.1:3003");
        // missing or broken fields
        let bad = without(endpoints(), "payer").to_string();
        assert!(matches!(
            Config::from_devnet_endpoints(&bad, LspProtocol::Flow),
            Err(Error::InvalidConfig {
                field: "devnet",
                ..
            })
        ));
        let bad = with(endpoints(), &["flow_lsp", "node_id"], json!("nope")).to_string();
        assert!(Config::from_devnet_endpoints(&bad, LspProtocol::Flow).is_err());
        let bad = with(endpoints(), &["esplora_url"], json!("not a url")).to_string();
        assert!(matches!(
            Config::from_devnet_endpoints(&bad, LspProtocol::Flow),
            Err(Error::InvalidConfig {
                field: "esploraUrl",
                ..
            })
        ));
    }
}
