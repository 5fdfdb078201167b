//! Configuration of the REST "flow" LSP: fee policy, limits, timeouts and network addresses.

use std::net::SocketAddr;
use std::time::Duration;

use bitcoin::Network;
use serde::{Deserialize, Serialize};

use super::fee::FeePolicy;

/// One way to reach the LSP's Lightning node, as listed by `GET /api/v1/info`.
/// `kind` is serialized as `type` (one of ipv4, ipv6, torv2, torv3, dns, websocket).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionMethod {
    /// An IP address, a host name, or (for `websocket`) the full `ws://` URL.
    pub address: String,
    pub port: u16,
    #[serde(rename = "type")]
    pub kind: String,
}

impl ConnectionMethod {
    /// The `ipv4`/`ipv6` entry for a socket address.
    pub fn for_socket(addr: SocketAddr) -> Self {
        ConnectionMethod {
            address: addr.ip().to_string(),
            port: addr.port(),
            kind: if addr.is_ipv4() { "ipv4" } else { "ipv6" }.to_string(),
        }
    }
}

/// Everything the flow LSP needs to know at start. [`FlowLspConfig::validate`] guarantees the
/// values are mutually consistent; [`super::FlowLsp::start`] calls it.
#[derive(Clone, Debug)]
pub struct FlowLspConfig {
    /// Chain the node runs on; proposals must carry invoices for this network.
    pub network: Network,
    /// Seed of the node's keys (node identity and funding key). `None`: 32 random bytes.
    pub seed: Option<[u8; 32]>,
    /// Where the Lightning (BOLT8 over TCP) listener binds; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// What `GET /api/v1/info` lists. Empty: one entry for the bound listening address.
    pub connection_methods: Vec<ConnectionMethod>,
    /// Fee and amount limits for `POST /api/v1/fee`.
    pub fee_policy: FeePolicy,
    /// How long a fee quote (`fee_id`) may be used for a proposal.
    pub quote_validity: Duration,
    /// Capacity of each just-in-time channel the LSP opens (pushed amount is zero).
    pub jit_channel_capacity_sat: u64,
    /// How long a held payment waits for the client to be connected before it is failed back.
    pub client_connect_timeout: Duration,
    /// How long a held payment waits for the new channel to become ready before it is failed back.
    pub channel_ready_timeout: Duration,
    /// Blocks added to the inner invoice's `min_final_cltv_expiry_delta` in the wrapped invoice:
    /// room for the outbound payment's CLTV (the router pads it by up to 120 blocks without a
    /// network graph) below the held inbound HTLC's expiry.
    pub extra_final_cltv_delta: u16,
    /// Upper bound for the wrapped invoice's expiry (it never outlives the inner invoice).
    pub max_wrapped_expiry: Duration,
    /// Fee rate for funding transactions and channel fees, in sat per 1000 weight (>= 253).
    pub feerate_sat_per_kw: u32,
    /// Confirmations required before inbound (payer-funded) channels are usable.
    pub inbound_channel_min_depth: u32,
    /// The terms of the node's LSPS2 service (see `lsps2`).
    pub lsps2_terms: crate::lsp_lsps2::Lsps2Terms,
}

impl Default for FlowLspConfig {
    fn default() -> Self {
        FlowLspConfig {
            network: Network::Regtest,
            seed: None,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            connection_methods: Vec::new(),
            fee_policy: FeePolicy::default(),
            quote_validity: Duration::from_secs(600),
            jit_channel_capacity_sat: 1_000_000,
            client_connect_timeout: Duration::from_secs(30),
            channel_ready_timeout: Duration::from_secs(60),
            extra_final_cltv_delta: 144,
            max_wrapped_expiry: Duration::from_secs(3600),
            feerate_sat_per_kw: 1000,
            inbound_channel_min_depth: 1,
            lsps2_terms: crate::lsp_lsps2::Lsps2Terms::default(),
        }
    }
}

/// Largest inner `min_final_cltv_expiry_delta` accepted in a proposal (3 days of blocks):
/// with the extra delta added, the wrapped invoice stays payable under the usual 1008-block cap.
pub const MAX_INNER_FINAL_CLTV_DELTA: u64 = 432;

/// Reserve and commitment-fee margin, in sat, kept when checking that the largest payment fits in
/// a JIT channel: the client's reserve (1% of capacity, at least 1000 sat) plus a fee allowance.
fn jit_channel_margin_sat(capacity_sat: u64, feerate_sat_per_kw: u32) -> Option<u64> {
    let reserve = std::cmp::max(capacity_sat / 100, 1000);
    // A commitment with one HTLC weighs about 900 WU; LDK keeps room for twice the fee.
    let commit_fee = (feerate_sat_per_kw as u64)
        .checked_mul(2 * 900)?
        .checked_div(1000)?;
    reserve.checked_add(commit_fee)?.checked_add(1000)
}

impl FlowLspConfig {
    /// Checks the configuration: fee policy sane, fee rate at least 253 sat/kw, the largest
    /// payment (minus its fee) fits in a JIT channel after reserve and fees, timeouts non-zero.
    pub fn validate(&self) -> Result<(), String> {
        self.fee_policy.validate()?;
        if self.feerate_sat_per_kw < 253 {
            return Err(format!(
                "feerate_sat_per_kw {} is below 253",
                self.feerate_sat_per_kw
            ));
        }
        let margin = jit_channel_margin_sat(self.jit_channel_capacity_sat, self.feerate_sat_per_kw)
            .ok_or("jit channel margin overflows")?;
        let usable_msat = self
            .jit_channel_capacity_sat
            .checked_sub(margin)
            .and_then(|sat| sat.checked_mul(1000))
            .ok_or_else(|| {
                format!(
                    "jit_channel_capacity_sat {} is too small",
                    self.jit_channel_capacity_sat
                )
            })?;
        if self.fee_policy.max_amount_msat > usable_msat {
            return Err(format!(
                "max_amount_msat {} does not fit in a {} sat JIT channel (usable {} msat)",
                self.fee_policy.max_amount_msat, self.jit_channel_capacity_sat, usable_msat
            ));
        }
        if self.client_connect_timeout.is_zero() || self.channel_ready_timeout.is_zero() {
            return Err("timeouts must be non-zero".into());
        }
        if self.quote_validity.is_zero() || self.max_wrapped_expiry.as_secs() == 0 {
            return Err("quote validity and wrapped expiry must be at least one second".into());
        }
        if self.max_wrapped_expiry.as_secs() > u32::MAX as u64 {
            return Err("max_wrapped_expiry too large".into());
        }
        if self.extra_final_cltv_delta < 48 {
            return Err(format!(
                "extra_final_cltv_delta {} is below 48 blocks",
                self.extra_final_cltv_delta
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        FlowLspConfig::default().validate().unwrap();
    }

    #[test]
    fn max_amount_must_fit_the_channel() {
        let mut c = FlowLspConfig {
            jit_channel_capacity_sat: 100_000,
            ..Default::default()
        };
        c.fee_policy.max_amount_msat = 100_000_000;
        assert!(c.validate().unwrap_err().contains("does not fit"));
        c.fee_policy.max_amount_msat = 50_000_000;
        c.validate().unwrap();
    }

    #[test]
    fn low_feerate_rejected() {
        let c = FlowLspConfig {
            feerate_sat_per_kw: 252,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn connection_method_serializes_type() {
        let m = ConnectionMethod::for_socket("127.0.0.1:9735".parse().unwrap());
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"address":"127.0.0.1","port":9735,"type":"ipv4"})
        );
    }
}
