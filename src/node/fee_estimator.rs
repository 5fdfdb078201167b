//! LDK's `FeeEstimator` over the last Esplora `/fee-estimates` answer.
//!
//! Guarantees: every rate handed to LDK is at least [`FEERATE_FLOOR_SATS_PER_KW`] (253 sat/kw);
//! before the first answer, or when Esplora has no estimate for a target (a quiet regtest chain
//! answers `{}`), a fixed fallback rate per target is used (the same targets and fallbacks as
//! ldk-node, so the wallet and an ldk-node LSP agree on what is sane); and no rate is above the
//! network's ceiling ([`ceiling_sat_per_kw`]), so a hostile or broken Esplora cannot make a
//! sweep, a fee bump or an on-chain send overpay. The cache is replaced by
//! [`WalletFeeEstimator::update`] after each chain sync; reads never wait on the network.

use core::cell::RefCell;

use lightning::chain::chaininterface::{
    ConfirmationTarget, FeeEstimator, FEERATE_FLOOR_SATS_PER_KW,
};

use bitcoin::Network;

use crate::chain::FeeEstimates;

/// Confirmation target (in blocks) asked of Esplora for each LDK target.
pub fn blocks_for_target(target: ConfirmationTarget) -> u16 {
    match target {
        ConfirmationTarget::MaximumFeeEstimate => 1,
        ConfirmationTarget::UrgentOnChainSweep => 6,
        ConfirmationTarget::MinAllowedAnchorChannelRemoteFee => 1008,
        ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => 144,
        ConfirmationTarget::AnchorChannelFee => 1008,
        ConfirmationTarget::NonAnchorChannelFee => 12,
        ConfirmationTarget::ChannelCloseMinimum => 144,
        ConfirmationTarget::OutputSpendingFee => 12,
    }
}

/// Rate (sat per 1000 weight units) used when Esplora gave none for a target.
pub fn fallback_for_target(target: ConfirmationTarget) -> u64 {
    match target {
        ConfirmationTarget::MaximumFeeEstimate => 8000,
        ConfirmationTarget::UrgentOnChainSweep => 5000,
        ConfirmationTarget::MinAllowedAnchorChannelRemoteFee => FEERATE_FLOOR_SATS_PER_KW as u64,
        ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => FEERATE_FLOOR_SATS_PER_KW as u64,
        ConfirmationTarget::AnchorChannelFee => 500,
        ConfirmationTarget::NonAnchorChannelFee => 1000,
        ConfirmationTarget::ChannelCloseMinimum => 500,
        ConfirmationTarget::OutputSpendingFee => 1000,
    }
}

/// The highest rate the wallet ever pays or accepts, per network, in sat per 1000 weight units:
/// 500 sat/vB on mainnet (above its highest sustained fee spikes), 100 sat/vB on the test
/// networks, whose coins are free.
pub fn ceiling_sat_per_kw(network: Network) -> u32 {
    match network {
        Network::Bitcoin => 125_000,
        _ => 25_000,
    }
}

/// The rate for `target` given the estimates (if any), adjusted and floored.
pub fn rate_for_target(estimates: Option<&FeeEstimates>, target: ConfirmationTarget) -> u32 {
    let estimated = estimates.and_then(|e| e.sat_per_kwu_for_target(blocks_for_target(target)));
    let rate = match estimated {
        Some(rate) => match target {
            // Leave room below the background rate before refusing a peer's fee update.
            ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => rate.saturating_sub(250),
            // A ceiling on the peer's rate must be generous.
            ConfirmationTarget::MaximumFeeEstimate => rate
                .saturating_mul(11)
                .saturating_div(10)
                .saturating_add(2500),
            _ => rate,
        },
        None => fallback_for_target(target),
    };
    let floored = rate.max(FEERATE_FLOOR_SATS_PER_KW as u64);
    u32::try_from(floored).unwrap_or(u32::MAX)
}

/// The wallet's fee estimator: a cache of the last Esplora answer.
pub struct WalletFeeEstimator {
    estimates: RefCell<Option<FeeEstimates>>,
    ceiling: u32,
}

impl WalletFeeEstimator {
    /// An estimator for `network` using the fallback rates until the first
    /// [`update`](Self::update).
    pub fn new(network: Network) -> Self {
        WalletFeeEstimator {
            estimates: RefCell::new(None),
            ceiling: ceiling_sat_per_kw(network),
        }
    }

    /// The network's ceiling ([`ceiling_sat_per_kw`]).
    pub fn ceiling(&self) -> u32 {
        self.ceiling
    }

    /// Replaces the cached estimates. Returns whether anything changed.
    pub fn update(&self, estimates: FeeEstimates) -> bool {
        let mut cache = self.estimates.borrow_mut();
        if cache.as_ref() == Some(&estimates) {
            return false;
        }
        *cache = Some(estimates);
        true
    }
}

impl FeeEstimator for WalletFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        rate_for_target(self.estimates.borrow().as_ref(), target).min(self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ConfirmationTarget; 8] = [
        ConfirmationTarget::MaximumFeeEstimate,
        ConfirmationTarget::UrgentOnChainSweep,
        ConfirmationTarget::MinAllowedAnchorChannelRemoteFee,
        ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee,
        ConfirmationTarget::AnchorChannelFee,
        ConfirmationTarget::NonAnchorChannelFee,
        ConfirmationTarget::ChannelCloseMinimum,
        ConfirmationTarget::OutputSpendingFee,
    ];

    #[test]
    fn fallbacks_before_any_answer_and_for_empty_answers() {
        let fe = WalletFeeEstimator::new(Network::Regtest);
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee),
            1000
        );
        assert!(fe.update(FeeEstimates::parse(b"{}").unwrap()));
        assert!(!fe.update(FeeEstimates::parse(b"{}").unwrap()), "unchanged");
        for t in ALL {
            assert_eq!(
                u64::from(fe.get_est_sat_per_1000_weight(t)),
                fallback_for_target(t).max(253)
            );
        }
    }

    #[test]
    fn estimates_are_used_adjusted_and_floored() {
        let fe = WalletFeeEstimator::new(Network::Regtest);
        // 1 block: 10 sat/vB = 2500 sat/kw; 12 blocks: 2 sat/vB = 500; 144: 1 sat/vB = 250.
        fe.update(FeeEstimates::parse(br#"{"1": 10, "12": 2, "144": 1}"#).unwrap());
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee),
            500
        );
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::OutputSpendingFee),
            500
        );
        // 6 blocks: the estimate of the largest target not above 6, i.e. 1 block.
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::UrgentOnChainSweep),
            2500
        );
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::MaximumFeeEstimate),
            2500 * 11 / 10 + 2500
        );
        // 250 is below the floor.
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::ChannelCloseMinimum),
            253
        );
        assert_eq!(
            fe.get_est_sat_per_1000_weight(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            253
        );
        for t in ALL {
            assert!(fe.get_est_sat_per_1000_weight(t) >= FEERATE_FLOOR_SATS_PER_KW);
        }
    }

    #[test]
    fn no_rate_is_above_the_networks_ceiling() {
        // A hostile server's 10 000 sat/vB (2 500 000 sat/kw).
        let hostile =
            || FeeEstimates::parse(br#"{"1": 10000, "6": 10000, "1008": 10000}"#).unwrap();
        for (network, ceiling) in [(Network::Bitcoin, 125_000), (Network::Signet, 25_000)] {
            let fe = WalletFeeEstimator::new(network);
            fe.update(hostile());
            for t in ALL {
                assert_eq!(fe.get_est_sat_per_1000_weight(t), ceiling, "{t:?}");
            }
        }
    }
}
