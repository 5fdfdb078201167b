//! The caller's limits on what an LSP may charge, and the checked msat arithmetic they need.
//!
//! All money is u64 msat. Products that could exceed u64 are done in u128; nothing uses floats.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One million: the denominator of every parts-per-million rate.
pub const PPM: u64 = 1_000_000;

/// Default absolute cap on an LSP fee: 10 000 sat.
pub const DEFAULT_MAX_FEE_MSAT: u64 = 10_000_000;

/// Default proportional cap on an LSP fee: 30 % of the amount received.
pub const DEFAULT_MAX_FEE_PPM: u32 = 300_000;

/// The caller's limits on an LSP fee. Each limit is optional; when both are set, a fee must
/// satisfy both (the stricter one wins), as Phoenix's liquidity policy does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeCaps {
    /// Largest fee in msat, whatever the amount.
    pub max_fee_msat: Option<u64>,
    /// Largest fee as parts per million of the payment amount (the amount the payer sends).
    pub max_fee_ppm: Option<u32>,
}

impl Default for FeeCaps {
    /// Both caps at their defaults ([`DEFAULT_MAX_FEE_MSAT`], [`DEFAULT_MAX_FEE_PPM`]).
    fn default() -> Self {
        FeeCaps {
            max_fee_msat: Some(DEFAULT_MAX_FEE_MSAT),
            max_fee_ppm: Some(DEFAULT_MAX_FEE_PPM),
        }
    }
}

impl FeeCaps {
    /// No limit at all (the fee must still be below the amount where that is checked).
    pub const UNLIMITED: FeeCaps = FeeCaps {
        max_fee_msat: None,
        max_fee_ppm: None,
    };

    /// The largest fee these caps allow on a payment of `amount_msat`, `u64::MAX` when neither
    /// cap is set. The ppm part is rounded down, so a fee equal to the result always passes
    /// [`FeeCaps::check`].
    pub fn max_fee_for(&self, amount_msat: u64) -> u64 {
        let mut cap = u64::MAX;
        if let Some(abs) = self.max_fee_msat {
            cap = cap.min(abs);
        }
        if let Some(ppm) = self.max_fee_ppm {
            // amount * ppm / 1e6 <= amount, so it fits in u64.
            let prop = (amount_msat as u128 * ppm as u128 / PPM as u128) as u64;
            cap = cap.min(prop);
        }
        cap
    }

    /// Accepts `fee_msat` on a payment of `amount_msat` only when it is within both caps.
    /// Does not check the fee against the amount; see [`check_fee_below_amount`].
    pub fn check(&self, fee_msat: u64, amount_msat: u64) -> Result<(), Error> {
        let cap_msat = self.max_fee_for(amount_msat);
        if fee_msat > cap_msat {
            return Err(Error::FeeAboveCap { fee_msat, cap_msat });
        }
        Ok(())
    }

    /// Accepts a proportional rate only when it is within the ppm cap (used where the amount
    /// is not known yet, e.g. a variable-amount LSPS2 receive).
    pub fn check_rate(&self, proportional_ppm: u32) -> Result<(), Error> {
        match self.max_fee_ppm {
            Some(max) if proportional_ppm > max => Err(Error::FeeAboveCap {
                fee_msat: proportional_ppm as u64,
                cap_msat: max as u64,
            }),
            _ => Ok(()),
        }
    }

    /// Rejects a `max_fee_ppm` above one million (a fee cannot exceed the amount).
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(ppm) = self.max_fee_ppm {
            if ppm as u64 > PPM {
                return Err(Error::InvalidConfig {
                    field: "maxFeePpm",
                    problem: "must be at most 1000000",
                });
            }
        }
        Ok(())
    }
}

/// Accepts a fee only when it is strictly below the amount it is taken from (so something is
/// always left for the wallet).
pub fn check_fee_below_amount(fee_msat: u64, amount_msat: u64) -> Result<(), Error> {
    if fee_msat >= amount_msat {
        return Err(Error::FeeAboveCap {
            fee_msat,
            cap_msat: amount_msat.saturating_sub(1),
        });
    }
    Ok(())
}

/// `ceil(amount_msat * ppm / 1_000_000)`, computed with every step overflow-checked in u64
/// exactly as bLIP-52 specifies; `None` on overflow.
pub fn ppm_of_ceil(amount_msat: u64, ppm: u64) -> Option<u64> {
    amount_msat
        .checked_mul(ppm)?
        .checked_add(PPM - 1)
        .map(|v| v / PPM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_cap() {
        let caps = FeeCaps {
            max_fee_msat: Some(1_000),
            max_fee_ppm: None,
        };
        assert!(caps.check(1_000, 10).is_ok());
        assert_eq!(
            caps.check(1_001, 10),
            Err(Error::FeeAboveCap {
                fee_msat: 1_001,
                cap_msat: 1_000
            })
        );
    }

    #[test]
    fn proportional_cap_rounds_down() {
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(10_000),
        }; // 1 %
        assert!(caps.check(1_000, 100_000).is_ok());
        assert!(caps.check(1_001, 100_000).is_err());
        // 1 % of 99_999 is 999.99: 999 passes, 1000 does not.
        assert!(caps.check(999, 99_999).is_ok());
        assert!(caps.check(1_000, 99_999).is_err());
        // no overflow on huge amounts
        assert_eq!(caps.max_fee_for(u64::MAX), u64::MAX / 100);
    }

    #[test]
    fn both_caps_the_stricter_wins() {
        let caps = FeeCaps {
            max_fee_msat: Some(5_000),
            max_fee_ppm: Some(100_000),
        };
        // 10 % of 20_000 = 2_000 < 5_000
        assert_eq!(caps.max_fee_for(20_000), 2_000);
        assert!(caps.check(2_500, 20_000).is_err());
        // 10 % of 1_000_000 = 100_000 > 5_000
        assert_eq!(caps.max_fee_for(1_000_000), 5_000);
        assert!(caps.check(5_001, 1_000_000).is_err());
        assert!(caps.check(5_000, 1_000_000).is_ok());
    }

    #[test]
    fn unlimited_allows_anything() {
        assert!(FeeCaps::UNLIMITED.check(u64::MAX, 1).is_ok());
        assert!(FeeCaps::UNLIMITED.check_rate(u32::MAX).is_ok());
    }

    #[test]
    fn rate_cap() {
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(5_000),
        };
        assert!(caps.check_rate(5_000).is_ok());
        assert!(caps.check_rate(5_001).is_err());
    }

    #[test]
    fn validate_ppm() {
        assert!(FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(1_000_000)
        }
        .validate()
        .is_ok());
        assert!(FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(1_000_001)
        }
        .validate()
        .is_err());
    }

    #[test]
    fn fee_below_amount() {
        assert!(check_fee_below_amount(999, 1_000).is_ok());
        assert!(check_fee_below_amount(1_000, 1_000).is_err());
        assert!(check_fee_below_amount(0, 0).is_err());
    }

    #[test]
    fn ppm_ceil() {
        assert_eq!(ppm_of_ceil(1_000_000, 1), Some(1));
        assert_eq!(ppm_of_ceil(1, 1), Some(1));
        assert_eq!(ppm_of_ceil(0, 5_000), Some(0));
        assert_eq!(ppm_of_ceil(1_000_000, 5_000), Some(5_000));
        assert_eq!(ppm_of_ceil(1_000_001, 5_000), Some(5_001));
        assert_eq!(ppm_of_ceil(u64::MAX, 2), None);
        // product fits but adding 999_999 does not
        assert_eq!(ppm_of_ceil(u64::MAX, 1), None);
    }
}
