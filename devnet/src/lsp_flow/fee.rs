//! The fee the LSP charges for a just-in-time channel: pure, overflow-checked u64 arithmetic.

use serde::{Deserialize, Serialize};

/// Fee and amount limits. The fee for an amount is
/// `max(min_fee_msat, ceil(amount_msat * fee_ppm / 1_000_000))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeePolicy {
    /// Smallest fee charged, whatever the amount.
    pub min_fee_msat: u64,
    /// Proportional fee in parts per million of the amount.
    pub fee_ppm: u64,
    /// Smallest amount (what the payer pays, fee included) the LSP quotes for.
    pub min_amount_msat: u64,
    /// Largest amount the LSP quotes for.
    pub max_amount_msat: u64,
}

impl Default for FeePolicy {
    fn default() -> Self {
        FeePolicy {
            min_fee_msat: 100_000,
            fee_ppm: 10_000,
            min_amount_msat: 10_000_000,
            max_amount_msat: 500_000_000,
        }
    }
}

/// Why an amount cannot be quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuoteError {
    /// The amount is below [`FeePolicy::min_amount_msat`].
    BelowMinimum { amount_msat: u64, min_msat: u64 },
    /// The amount is above [`FeePolicy::max_amount_msat`].
    AboveMaximum { amount_msat: u64, max_msat: u64 },
    /// The fee would take the whole amount (nothing left for the client's invoice).
    FeeNotBelowAmount { amount_msat: u64, fee_msat: u64 },
    /// A step of the fee computation overflowed u64.
    Overflow,
}

impl std::fmt::Display for QuoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuoteError::BelowMinimum {
                amount_msat,
                min_msat,
            } => {
                write!(
                    f,
                    "amount {amount_msat} msat is below the minimum of {min_msat} msat"
                )
            }
            QuoteError::AboveMaximum {
                amount_msat,
                max_msat,
            } => {
                write!(f, "Invoice amount is too high: {amount_msat} msat is above the maximum of {max_msat} msat")
            }
            QuoteError::FeeNotBelowAmount {
                amount_msat,
                fee_msat,
            } => {
                write!(
                    f,
                    "fee {fee_msat} msat is not below the amount {amount_msat} msat"
                )
            }
            QuoteError::Overflow => f.write_str("fee computation overflowed"),
        }
    }
}

impl std::error::Error for QuoteError {}

/// `max(min_fee_msat, ceil(amount_msat * fee_ppm / 1_000_000))`, every step checked.
pub fn fee_for_amount(policy: &FeePolicy, amount_msat: u64) -> Result<u64, QuoteError> {
    let product = amount_msat
        .checked_mul(policy.fee_ppm)
        .ok_or(QuoteError::Overflow)?;
    let proportional = product.checked_add(999_999).ok_or(QuoteError::Overflow)? / 1_000_000;
    Ok(std::cmp::max(policy.min_fee_msat, proportional))
}

/// The fee for `amount_msat` after checking the amount is within the policy's bounds and the fee
/// is strictly below it. On success the client's invoice must be for `amount_msat - fee`.
pub fn quote_fee(policy: &FeePolicy, amount_msat: u64) -> Result<u64, QuoteError> {
    if amount_msat < policy.min_amount_msat {
        return Err(QuoteError::BelowMinimum {
            amount_msat,
            min_msat: policy.min_amount_msat,
        });
    }
    if amount_msat > policy.max_amount_msat {
        return Err(QuoteError::AboveMaximum {
            amount_msat,
            max_msat: policy.max_amount_msat,
        });
    }
    let fee_msat = fee_for_amount(policy, amount_msat)?;
    if fee_msat >= amount_msat {
        return Err(QuoteError::FeeNotBelowAmount {
            amount_msat,
            fee_msat,
        });
    }
    Ok(fee_msat)
}

impl FeePolicy {
    /// Checks the bounds are ordered and the fee is below the amount at the minimum amount
    /// (the fee is non-decreasing and sub-linear for ppm < 1e6, so then it is below everywhere).
    pub fn validate(&self) -> Result<(), String> {
        if self.min_amount_msat == 0 || self.min_amount_msat > self.max_amount_msat {
            return Err(format!(
                "amount bounds [{}, {}] msat are empty",
                self.min_amount_msat, self.max_amount_msat
            ));
        }
        if self.fee_ppm >= 1_000_000 {
            return Err(format!("fee_ppm {} is not below 1000000", self.fee_ppm));
        }
        quote_fee(self, self.min_amount_msat).map_err(|e| format!("at the minimum amount: {e}"))?;
        quote_fee(self, self.max_amount_msat).map_err(|e| format!("at the maximum amount: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min_fee: u64, ppm: u64) -> FeePolicy {
        FeePolicy {
            min_fee_msat: min_fee,
            fee_ppm: ppm,
            min_amount_msat: 1,
            max_amount_msat: u64::MAX,
        }
    }

    #[test]
    fn proportional_rounds_up() {
        let p = policy(0, 10_000);
        assert_eq!(fee_for_amount(&p, 100_000_000).unwrap(), 1_000_000);
        assert_eq!(fee_for_amount(&p, 100_000_001).unwrap(), 1_000_001);
        assert_eq!(fee_for_amount(&p, 1).unwrap(), 1);
        assert_eq!(fee_for_amount(&p, 0).unwrap(), 0);
    }

    #[test]
    fn minimum_fee_applies() {
        let p = policy(100_000, 10_000);
        assert_eq!(fee_for_amount(&p, 1_000_000).unwrap(), 100_000);
        assert_eq!(fee_for_amount(&p, 20_000_000).unwrap(), 200_000);
    }

    #[test]
    fn overflow_is_an_error() {
        let p = policy(0, 10_000);
        assert_eq!(fee_for_amount(&p, u64::MAX), Err(QuoteError::Overflow));
        // product fits but the rounding add does not
        let p = policy(0, 1);
        assert_eq!(fee_for_amount(&p, u64::MAX - 5), Err(QuoteError::Overflow));
    }

    #[test]
    fn bounds_are_enforced() {
        let p = FeePolicy::default();
        assert!(matches!(
            quote_fee(&p, p.min_amount_msat - 1),
            Err(QuoteError::BelowMinimum { .. })
        ));
        assert!(matches!(
            quote_fee(&p, p.max_amount_msat + 1),
            Err(QuoteError::AboveMaximum { .. })
        ));
        assert_eq!(quote_fee(&p, p.min_amount_msat).unwrap(), 100_000);
        assert_eq!(quote_fee(&p, 50_000_000).unwrap(), 500_000);
    }

    #[test]
    fn fee_must_be_below_amount() {
        let p = FeePolicy {
            min_fee_msat: 5_000,
            fee_ppm: 0,
            min_amount_msat: 1,
            max_amount_msat: 10_000,
        };
        assert_eq!(
            quote_fee(&p, 5_000),
            Err(QuoteError::FeeNotBelowAmount {
                amount_msat: 5_000,
                fee_msat: 5_000
            })
        );
        assert_eq!(quote_fee(&p, 5_001).unwrap(), 5_000);
        assert!(p.validate().is_err());
    }

    #[test]
    fn default_policy_validates() {
        FeePolicy::default().validate().unwrap();
    }
}
