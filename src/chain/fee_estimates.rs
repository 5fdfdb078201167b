//! `GET /fee-estimates`: `{"<blocks>": <sat/vB as a JSON number>, ...}` turned into integer
//! sat per 1000 weight units (LDK's unit) without floating-point arithmetic: the number's
//! decimal text is parsed exactly and rounded up.

use std::collections::BTreeMap;

use super::EsploraError;

/// Fee rates by confirmation target (in blocks), in sat per 1000 weight units, rounded up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeeEstimates {
    by_target: BTreeMap<u16, u64>,
}

impl FeeEstimates {
    /// Parses the JSON object Esplora returns. `{}` (a quiet regtest server) gives an empty
    /// set. A key that is not a block count, or a value that is not a non-negative number,
    /// is an error.
    pub fn parse(json: &[u8]) -> Result<FeeEstimates, EsploraError> {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(json).map_err(|e| EsploraError::parse("fee estimates", e))?;
        let mut by_target = BTreeMap::new();
        for (target, value) in map {
            let blocks: u16 = target
                .parse()
                .map_err(|_| EsploraError::parse("fee estimates", format!("target {target:?}")))?;
            let number = match value {
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(EsploraError::parse(
                        "fee estimates",
                        format!("rate {other} for {blocks}"),
                    ))
                }
            };
            let rate = sat_per_vb_text_to_sat_per_kwu(&number).ok_or_else(|| {
                EsploraError::parse("fee estimates", format!("rate {number} for {blocks}"))
            })?;
            by_target.insert(blocks, rate);
        }
        Ok(FeeEstimates { by_target })
    }

    /// The rate for confirmation within `target` blocks: the estimate of the largest target
    /// not above it (a faster, never slower, estimate), as esplora-client does. `None` if
    /// every estimate is for a larger target or there are none.
    pub fn sat_per_kwu_for_target(&self, target: u16) -> Option<u64> {
        self.by_target
            .range(..=target)
            .next_back()
            .map(|(_, rate)| *rate)
    }

    /// All estimates, by target.
    pub fn by_target(&self) -> &BTreeMap<u16, u64> {
        &self.by_target
    }

    /// Whether the server gave no estimate.
    pub fn is_empty(&self) -> bool {
        self.by_target.is_empty()
    }
}

/// Exact decimal → ceil(sat/vB × 250) (1 vB = 4 WU, so sat/kWU = sat/vB × 1000 / 4).
/// Accepts `12`, `12.345`, `1.5e-3`, `2E+1`; refuses signs, empty parts, and values whose
/// result does not fit a u64.
pub fn sat_per_vb_text_to_sat_per_kwu(text: &str) -> Option<u64> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => {
            let exp_text = &text[i + 1..];
            let (negative, digits) = match exp_text.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, exp_text.strip_prefix('+').unwrap_or(exp_text)),
            };
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let magnitude: i32 = digits.parse().ok()?;
            let exp = if negative { -magnitude } else { magnitude };
            (&text[..i], exp)
        }
        None => (text, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // value = digits × 10^scale
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let scale = exponent.checked_sub(i32::try_from(frac_part.len()).ok()?)?;
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 30 {
        return None;
    }
    let digits: u128 = digits.parse().ok()?;
    let numerator = digits.checked_mul(250)?;
    let result = if scale >= 0 {
        numerator.checked_mul(10u128.checked_pow(u32::try_from(scale).ok()?)?)?
    } else {
        let divisor = 10u128.checked_pow(u32::try_from(-scale).ok()?);
        match divisor {
            Some(d) => numerator.div_ceil(d),
            // 10^-scale exceeds u128: the value is below one unit but not zero.
            None => 1,
        }
    };
    u64::try_from(result).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_conversion_is_exact_and_rounds_up() {
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("1"), Some(250));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("1.0"), Some(250));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("87.882"), Some(21971)); // 21970.5 → up
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("0.004"), Some(1));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("0"), Some(0));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("1.5e-3"), Some(1)); // 0.375 → up
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("2E+1"), Some(5000));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("2e1"), Some(5000));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu("1e-300"), Some(1));
        assert_eq!(sat_per_vb_text_to_sat_per_kwu(".5"), Some(125));
        for bad in [
            "", ".", "-1", "+1", "1e", "1e-", "abc", "1.2.3", "1e99999", "1e400",
        ] {
            assert_eq!(sat_per_vb_text_to_sat_per_kwu(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_esplora_answers() {
        let json =
            br#"{"1": 87.882, "2": 87.882, "3": 87.882, "6": 68.285, "144": 1.027, "1008": 1.0}"#;
        let fees = FeeEstimates::parse(json).unwrap();
        assert_eq!(fees.sat_per_kwu_for_target(1), Some(21971));
        assert_eq!(fees.sat_per_kwu_for_target(5), Some(21971)); // target 3
        assert_eq!(fees.sat_per_kwu_for_target(6), Some(17072)); // 17071.25 → up
        assert_eq!(fees.sat_per_kwu_for_target(500), Some(257)); // 256.75 → up
        assert_eq!(fees.sat_per_kwu_for_target(2000), Some(250));
        let sparse = FeeEstimates::parse(br#"{"6": 2}"#).unwrap();
        assert_eq!(sparse.sat_per_kwu_for_target(1), None);
        assert!(FeeEstimates::parse(b"{}").unwrap().is_empty());
        for bad in [
            &br#"{"x": 1}"#[..],
            br#"{"1": "2"}"#,
            br#"{"1": -2}"#,
            b"[]",
            b"nope",
        ] {
            assert_eq!(
                FeeEstimates::parse(bad).unwrap_err().code(),
                "esplora_parse"
            );
        }
    }
}
