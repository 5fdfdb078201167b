//! LDK's `UserConfig` for a browser wallet that gets its channels from one LSP
//! (protocols.md section C), and the per-channel overrides used when accepting the LSP's channel.
//!
//! Guarantees of [`user_config`]:
//! - inbound channels are accepted only by the wallet's own decision
//!   (`manually_accept_inbound_channels`), never automatically;
//! - channels are private (not announced) and ask for SCID privacy (`option_scid_alias`), and a
//!   peer that wants an announced channel is refused;
//! - anchor (`anchors_zero_fee_htlc_tx`) channels are negotiated, as public LSPs open them
//!   (Olympus by default); their closing transactions are fee-bumped from the on-chain wallet
//!   ([`super::fee_bump`]). Zero-fee-commitment (TRUC) channels are not: they need package relay
//!   the wallet's Esplora cannot do;
//! - `our_to_self_delay` is [`OUR_TO_SELF_DELAY`] (≤ 2016, and ≤ the usual LSPS2
//!   `max_client_to_self_delay`).

use lightning::ln::channelmanager::AChannelManager;
use lightning::util::config::{
    ChannelConfigOverrides, ChannelConfigUpdate, ChannelHandshakeConfigUpdate, UserConfig,
};

/// The CSV delay the wallet asks the LSP to wait on its own outputs after a force close: one day
/// of blocks. Far below LDK's 2016 maximum.
pub const OUR_TO_SELF_DELAY: u16 = 144;

/// The wallet's LDK configuration.
pub fn user_config() -> UserConfig {
    let mut c = UserConfig {
        manually_accept_inbound_channels: true,
        accept_inbound_channels: true,
        accept_forwards_to_priv_channels: false,
        accept_intercept_htlcs: false,
        ..Default::default()
    };

    let h = &mut c.channel_handshake_config;
    h.announce_for_forwarding = false;
    h.negotiate_scid_privacy = true;
    h.negotiate_anchors_zero_fee_htlc_tx = true;
    h.negotiate_anchor_zero_fee_commitments = false;
    h.our_to_self_delay = OUR_TO_SELF_DELAY;
    // The LSP's channel is our only inbound liquidity: let a payment use all of it.
    h.max_inbound_htlc_value_in_flight_percent_of_channel = 100;

    // Refuse a channel whose announcement preference differs from ours (i.e. announced ones).
    c.channel_handshake_limits
        .force_announced_channel_preference = true;
    c
}

/// Overrides for a channel accepted from the configured LSP: the LSP may deliver an HTLC below
/// its onion amount (an LSPS2 / wrapped-invoice opening fee, checked by the wallet before
/// claiming), and may use the whole channel for one HTLC (the first JIT payment).
pub fn lsp_channel_overrides() -> ChannelConfigOverrides {
    ChannelConfigOverrides {
        handshake_overrides: Some(ChannelHandshakeConfigUpdate {
            max_inbound_htlc_value_in_flight_percent_of_channel: Some(100),
            ..Default::default()
        }),
        update_overrides: Some(ChannelConfigUpdate {
            accept_underpaying_htlcs: Some(true),
            ..Default::default()
        }),
    }
}

/// Puts the LSP overrides' `accept_underpaying_htlcs` back on every inbound channel after the
/// `ChannelManager` is read: LDK 0.2 does not serialize that setting (`LegacyChannelConfig`
/// writes no field for it, and reads it as `false`), so after a reload the LSP's skim on an
/// HTLC not yet decoded — a JIT payment held at the restart — would be refused ("Upstream node
/// sent less than we were supposed to receive"). Every inbound channel is an LSP channel: the
/// wallet accepts no other (src/node/events.rs), each with [`lsp_channel_overrides`]. The skim
/// itself is still checked by the wallet before any claim (src/node/claim.rs).
pub fn reapply_lsp_channel_config<M: AChannelManager>(manager: &M) {
    let manager = manager.get_cm();
    let update = ChannelConfigUpdate {
        accept_underpaying_htlcs: Some(true),
        ..Default::default()
    };
    for channel in manager.list_channels() {
        if channel.is_outbound {
            continue;
        }
        // Fails only for a channel that closed meanwhile: nothing to set then.
        let _ = manager.update_partial_channel_config(
            &channel.counterparty.node_id,
            &[channel.channel_id],
            &update,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_settings() {
        let c = user_config();
        assert!(c.manually_accept_inbound_channels);
        assert!(!c.channel_handshake_config.announce_for_forwarding);
        assert!(c.channel_handshake_config.negotiate_scid_privacy);
        assert!(
            c.channel_handshake_config
                .negotiate_anchors_zero_fee_htlc_tx
        );
        assert!(
            !c.channel_handshake_config
                .negotiate_anchor_zero_fee_commitments
        );
        assert!(c.channel_handshake_config.our_to_self_delay <= 2016);
        assert!(
            c.channel_handshake_limits
                .force_announced_channel_preference
        );
        assert!(
            !c.channel_config.accept_underpaying_htlcs,
            "only the LSP's channels"
        );
    }

    #[test]
    fn lsp_overrides_apply() {
        let mut c = user_config();
        c.channel_handshake_config
            .max_inbound_htlc_value_in_flight_percent_of_channel = 10;
        c.apply(&lsp_channel_overrides());
        assert!(c.channel_config.accept_underpaying_htlcs);
        assert_eq!(
            c.channel_handshake_config
                .max_inbound_htlc_value_in_flight_percent_of_channel,
            100
        );
        // Nothing else moves.
        assert_eq!(
            c.channel_handshake_config.our_to_self_delay,
            OUR_TO_SELF_DELAY
        );
    }
}
