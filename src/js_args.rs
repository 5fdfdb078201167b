//! The arguments JS passes to the `Wallet` methods, checked (plain Rust over JSON values, so it
//! is tested natively).
//!
//! Guarantees: an amount is a whole number of msat from 0 to 2^53 − 1 (JS numbers are exact up
//! to there) or the call fails with `INVALID_AMOUNT` — never rounded; unknown fields are
//! refused; every field has the documented type.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::onchain::send::SendAmount;

/// The largest integer a JS number holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Default expiry of a receive invoice.
pub const DEFAULT_EXPIRY_SECS: u32 = 3600;

/// Longest allowed expiry of a receive invoice: one week.
pub const MAX_EXPIRY_SECS: u32 = 7 * 24 * 3600;

/// An amount from a JSON number.
pub fn amount_from_json(v: &Value) -> Result<u64, Error> {
    let invalid = |reason| Error::InvalidAmount { reason };
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                if u > MAX_SAFE_INTEGER {
                    return Err(invalid("above 2^53 - 1 msat"));
                }
                return Ok(u);
            }
            if n.as_i64().is_some() {
                return Err(invalid("negative"));
            }
            match n.as_f64() {
                Some(f)
                    if f.is_finite()
                        && f >= 0.0
                        && f.fract() == 0.0
                        && f <= MAX_SAFE_INTEGER as f64 =>
                {
                    Ok(f as u64)
                }
                Some(f) if f < 0.0 => Err(invalid("negative")),
                Some(f) if f.fract() != 0.0 => Err(invalid("not a whole number of msat")),
                _ => Err(invalid("above 2^53 - 1 msat")),
            }
        }
        _ => Err(invalid("not a number")),
    }
}

fn object<'a>(
    v: &'a Value,
    what: &'static str,
    allowed: &[&str],
) -> Result<Option<&'a Map<String, Value>>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => {
            if m.keys().any(|k| !allowed.contains(&k.as_str())) {
                return Err(Error::InvalidConfig {
                    field: what,
                    problem: "has an unknown field",
                });
            }
            Ok(Some(m))
        }
        _ => Err(Error::InvalidConfig {
            field: what,
            problem: "must be an object",
        }),
    }
}

/// An optional amount field: absent (or `undefined` in JS) is `None`; anything present must be
/// an amount (`null`, NaN, strings refused: a value that is not a number never means "none").
fn optional_amount(m: &Map<String, Value>, key: &str) -> Result<Option<u64>, Error> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => amount_from_json(v).map(Some),
    }
}

/// `ReceiveRequest` of docs/js-api.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveArgs {
    /// Fixed amount, or any amount.
    pub amount_msat: Option<u64>,
    /// Shown to the payer.
    pub description: String,
    /// Per-call fee cap for a JIT channel (absolute).
    pub max_fee_msat: Option<u64>,
    /// Per-call fee cap for a JIT channel (proportional).
    pub max_fee_ppm: Option<u32>,
    /// Invoice lifetime.
    pub expiry_secs: u32,
}

impl ReceiveArgs {
    /// Parses a `ReceiveRequest`.
    pub fn parse(v: &Value) -> Result<ReceiveArgs, Error> {
        let field = "receive";
        let m = object(
            v,
            field,
            &[
                "amountMsat",
                "description",
                "maxFeeMsat",
                "maxFeePpm",
                "expirySecs",
            ],
        )?
        .ok_or(Error::InvalidConfig {
            field,
            problem: "must be an object",
        })?;
        let description = match m.get("description") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(Error::InvalidConfig {
                    field: "description",
                    problem: "must be a string",
                })
            }
        };
        // Checked here, before any LSP is asked for a fee or a channel (BOLT11's limit; the
        // invoice builder checks it again).
        if description.len() > crate::payment::invoice::MAX_DESCRIPTION_LEN {
            return Err(Error::InvalidConfig {
                field: "description",
                problem: "must be at most 639 bytes",
            });
        }
        let amount_msat = optional_amount(m, "amountMsat")?;
        if amount_msat == Some(0) {
            return Err(Error::InvalidAmount { reason: "zero" });
        }
        let max_fee_ppm = match m.get("maxFeePpm") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(p) if p <= 1_000_000 => Some(p as u32),
                _ => {
                    return Err(Error::InvalidConfig {
                        field: "maxFeePpm",
                        problem: "must be an integer from 0 to 1000000",
                    })
                }
            },
        };
        let expiry_secs = match m.get("expirySecs") {
            None => DEFAULT_EXPIRY_SECS,
            Some(v) => match v.as_u64() {
                Some(s) if (60..=u64::from(MAX_EXPIRY_SECS)).contains(&s) => s as u32,
                _ => {
                    return Err(Error::InvalidConfig {
                        field: "expirySecs",
                        problem: "must be an integer from 60 to 604800",
                    })
                }
            },
        };
        Ok(ReceiveArgs {
            amount_msat,
            description,
            max_fee_msat: optional_amount(m, "maxFeeMsat")?,
            max_fee_ppm,
            expiry_secs,
        })
    }
}

/// How long `pay` waits for the outcome by default before answering `PAYMENT_PENDING`.
pub const DEFAULT_PAY_TIMEOUT_SECS: u32 = 60;
/// The longest `timeoutSecs` of `pay`.
pub const MAX_PAY_TIMEOUT_SECS: u32 = 3600;

/// The options of `pay`: `{ amountMsat?, timeoutSecs? }` (or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayOptions {
    /// The amount to pay an invoice without one.
    pub amount_msat: Option<u64>,
    /// How long `pay` waits for the outcome before it answers `PAYMENT_PENDING` (the payment
    /// goes on; its outcome comes as an event). 1..=[`MAX_PAY_TIMEOUT_SECS`].
    pub timeout_secs: u32,
}

/// Parses the options of `pay`.
pub fn parse_pay_options(v: &Value) -> Result<PayOptions, Error> {
    let mut opts = PayOptions {
        amount_msat: None,
        timeout_secs: DEFAULT_PAY_TIMEOUT_SECS,
    };
    let Some(m) = object(v, "pay", &["amountMsat", "timeoutSecs"])? else {
        return Ok(opts);
    };
    opts.amount_msat = optional_amount(m, "amountMsat")?;
    if opts.amount_msat == Some(0) {
        return Err(Error::InvalidAmount { reason: "zero" });
    }
    match m.get("timeoutSecs") {
        None => {}
        Some(v) => match v.as_u64() {
            Some(s) if (1..=u64::from(MAX_PAY_TIMEOUT_SECS)).contains(&s) => {
                opts.timeout_secs = s as u32
            }
            _ => {
                return Err(Error::InvalidConfig {
                    field: "timeoutSecs",
                    problem: "must be an integer from 1 to 3600",
                })
            }
        },
    }
    Ok(opts)
}

/// The options of `closeChannel`: `{ force? }` (or nothing). Returns whether to force close.
pub fn parse_close_options(v: &Value) -> Result<bool, Error> {
    match object(v, "closeChannel", &["force"])? {
        None => Ok(false),
        Some(m) => match m.get("force") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Error::InvalidConfig {
                field: "force",
                problem: "must be a boolean",
            }),
        },
    }
}

/// `OnchainSendRequest`: `{ address, amountSat }` or `{ address, all: true }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnchainSendArgs {
    /// The address as given (checked against the wallet's network by the node).
    pub address: String,
    /// How much.
    pub amount: SendAmount,
}

/// Parses the request of `quoteOnchain` / `sendOnchain`.
pub fn parse_onchain_send(v: &Value) -> Result<OnchainSendArgs, Error> {
    let m = object(v, "sendOnchain", &["address", "amountSat", "all"])?.ok_or(
        Error::InvalidArgument {
            argument: "request",
            problem: "must be { address, amountSat } or { address, all: true }",
        },
    )?;
    let address = match m.get("address") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(Error::InvalidArgument {
                argument: "address",
                problem: "must be a string",
            })
        }
    };
    let all = match m.get("all") {
        None => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(Error::InvalidArgument {
                argument: "all",
                problem: "must be true when given",
            })
        }
    };
    let amount = match (optional_amount(m, "amountSat")?, all) {
        (Some(0), false) => return Err(Error::InvalidAmount { reason: "zero" }),
        (Some(sat), false) => SendAmount::Sat(sat),
        (None, true) => SendAmount::All,
        _ => {
            return Err(Error::InvalidArgument {
                argument: "amountSat",
                problem: "give either amountSat or all: true",
            })
        }
    };
    Ok(OnchainSendArgs { address, amount })
}

/// The options of `quoteOnchain` / `sendOnchain`: `{ feeRateSatPerVb? }`, a whole number of
/// sat/vB from 1 (the node also refuses one above the network's ceiling). `None`: the chain
/// source's estimate.
pub fn parse_onchain_send_options(v: &Value) -> Result<Option<u32>, Error> {
    let Some(m) = object(v, "sendOnchain", &["feeRateSatPerVb"])? else {
        return Ok(None);
    };
    match m.get("feeRateSatPerVb") {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(r) if r >= 1 && r <= u64::from(u32::MAX / 250) => Ok(Some(r as u32)),
            _ => Err(Error::InvalidArgument {
                argument: "feeRateSatPerVb",
                problem: "must be a whole number of sat/vB, at least 1",
            }),
        },
    }
}

/// How long `stop()` waits by default for the node's tasks and writes (see
/// [`parse_stop_options`]).
pub const DEFAULT_STOP_TIMEOUT_SECS: u32 = 30;
/// The longest bound `stop()` accepts.
pub const MAX_STOP_TIMEOUT_SECS: u32 = 600;

/// The options of `stop`: `{ timeoutSecs? }` (or nothing): how long it waits for the node's
/// tasks and the writes issued before it, 1..=[`MAX_STOP_TIMEOUT_SECS`], default
/// [`DEFAULT_STOP_TIMEOUT_SECS`].
pub fn parse_stop_options(v: &Value) -> Result<u32, Error> {
    let Some(m) = object(v, "stop", &["timeoutSecs"])? else {
        return Ok(DEFAULT_STOP_TIMEOUT_SECS);
    };
    match m.get("timeoutSecs") {
        None => Ok(DEFAULT_STOP_TIMEOUT_SECS),
        Some(v) => match v.as_u64() {
            Some(s) if (1..=u64::from(MAX_STOP_TIMEOUT_SECS)).contains(&s) => Ok(s as u32),
            _ => Err(Error::InvalidConfig {
                field: "timeoutSecs",
                problem: "must be an integer from 1 to 600",
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts() {
        assert_eq!(amount_from_json(&json!(0)), Ok(0));
        assert_eq!(amount_from_json(&json!(10_000_000)), Ok(10_000_000));
        assert_eq!(amount_from_json(&json!(10_000_000.0)), Ok(10_000_000));
        assert_eq!(
            amount_from_json(&json!(MAX_SAFE_INTEGER)),
            Ok(MAX_SAFE_INTEGER)
        );
        for bad in [
            json!(MAX_SAFE_INTEGER + 1),
            json!(-1),
            json!(1.5),
            json!(-0.5),
            json!("5"),
            json!(1e300),
            json!(null),
        ] {
            assert_eq!(
                amount_from_json(&bad).unwrap_err().code(),
                "INVALID_AMOUNT",
                "{bad}"
            );
        }
    }

    #[test]
    fn receive_requests() {
        let r = ReceiveArgs::parse(&json!({"amountMsat": 10_000_000, "description": "x"})).unwrap();
        assert_eq!(r.amount_msat, Some(10_000_000));
        assert_eq!(r.expiry_secs, DEFAULT_EXPIRY_SECS);
        assert_eq!(r.max_fee_ppm, None);
        let r = ReceiveArgs::parse(
            &json!({"description": "", "expirySecs": 600, "maxFeePpm": 5000, "maxFeeMsat": 7}),
        )
        .unwrap();
        assert_eq!(
            (r.amount_msat, r.expiry_secs, r.max_fee_ppm, r.max_fee_msat),
            (None, 600, Some(5000), Some(7))
        );
        // What a JS NaN / Infinity arrives as (api.rs keeps them as strings), null, and every
        // other non-amount: refused with the field's code, never read as "absent".
        for bad in [
            json!(null),
            json!("NaN"),
            json!("Infinity"),
            json!("-Infinity"),
            json!(-1),
            json!(1.5),
            json!(9_007_199_254_740_992u64),
            json!("100"),
        ] {
            for field in ["amountMsat", "maxFeeMsat"] {
                let mut req = json!({"description": "x"});
                req[field] = bad.clone();
                assert_eq!(
                    ReceiveArgs::parse(&req).unwrap_err().code(),
                    "INVALID_AMOUNT",
                    "{field}: {bad}"
                );
            }
            for field in ["maxFeePpm", "expirySecs"] {
                let mut req = json!({"description": "x"});
                req[field] = bad.clone();
                assert_eq!(
                    ReceiveArgs::parse(&req).unwrap_err().code(),
                    "INVALID_CONFIG",
                    "{field}: {bad}"
                );
            }
            assert!(
                parse_pay_options(&json!({"amountMsat": bad.clone()})).is_err(),
                "{bad}"
            );
            assert!(
                parse_pay_options(&json!({"timeoutSecs": bad.clone()})).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            ReceiveArgs::parse(&json!({"amountMsat": 1.5, "description": "x"}))
                .unwrap_err()
                .code(),
            "INVALID_AMOUNT"
        );
        assert_eq!(
            ReceiveArgs::parse(&json!({"amountMsat": 0, "description": "x"}))
                .unwrap_err()
                .code(),
            "INVALID_AMOUNT"
        );
        for bad in [
            json!({"amountMsat": 1}),
            json!({"description": 5}),
            json!({"description": "x", "extra": 1}),
            json!({"description": "x", "expirySecs": 10}),
            json!({"description": "x", "maxFeePpm": 1_000_001}),
            json!({"description": "é".repeat(320)}),
            json!(null),
            json!("x"),
        ] {
            assert_eq!(
                ReceiveArgs::parse(&bad).unwrap_err().code(),
                "INVALID_CONFIG",
                "{bad}"
            );
        }
    }

    #[test]
    fn pay_and_close_options() {
        let default = PayOptions {
            amount_msat: None,
            timeout_secs: DEFAULT_PAY_TIMEOUT_SECS,
        };
        assert_eq!(parse_pay_options(&Value::Null), Ok(default));
        assert_eq!(parse_pay_options(&json!({})), Ok(default));
        assert_eq!(
            parse_pay_options(&json!({"amountMsat": 5, "timeoutSecs": 3600})),
            Ok(PayOptions {
                amount_msat: Some(5),
                timeout_secs: 3600
            })
        );
        assert!(parse_pay_options(&json!({"amountMsat": -5})).is_err());
        assert!(parse_pay_options(&json!({"amountMsat": 0})).is_err());
        assert!(parse_pay_options(&json!({"amount": 5})).is_err());
        for bad in [json!(0), json!(3601), json!(1.5), json!("60")] {
            assert_eq!(
                parse_pay_options(&json!({ "timeoutSecs": bad }))
                    .unwrap_err()
                    .code(),
                "INVALID_CONFIG"
            );
        }
        assert_eq!(parse_close_options(&Value::Null), Ok(false));
        assert_eq!(parse_close_options(&json!({"force": true})), Ok(true));
        assert!(parse_close_options(&json!({"force": "yes"})).is_err());
    }

    #[test]
    fn stop_options() {
        assert_eq!(
            parse_stop_options(&Value::Null),
            Ok(DEFAULT_STOP_TIMEOUT_SECS)
        );
        assert_eq!(
            parse_stop_options(&json!({})),
            Ok(DEFAULT_STOP_TIMEOUT_SECS)
        );
        assert_eq!(parse_stop_options(&json!({"timeoutSecs": 1})), Ok(1));
        assert_eq!(parse_stop_options(&json!({"timeoutSecs": 600})), Ok(600));
        for bad in [
            json!({"timeoutSecs": 0}),
            json!({"timeoutSecs": 601}),
            json!({"timeoutSecs": 2.5}),
            json!({"timeoutSecs": "5"}),
            json!({"timeoutSecs": null}),
            json!({"timeout": 5}),
            json!(5),
        ] {
            assert_eq!(
                parse_stop_options(&bad).unwrap_err().code(),
                "INVALID_CONFIG",
                "{bad}"
            );
        }
    }

    #[test]
    fn onchain_send_requests() {
        let parse = |v: Value| parse_onchain_send(&v);
        assert_eq!(
            parse(json!({"address": "bcrt1q", "amountSat": 5000})).unwrap(),
            OnchainSendArgs {
                address: "bcrt1q".into(),
                amount: SendAmount::Sat(5000)
            }
        );
        assert_eq!(
            parse(json!({"address": "bcrt1q", "all": true}))
                .unwrap()
                .amount,
            SendAmount::All
        );
        let code = |v: Value| parse(v).unwrap_err().code();
        assert_eq!(code(json!({"address": "a"})), "INVALID_ARGUMENT");
        assert_eq!(
            code(json!({"address": "a", "amountSat": 1, "all": true})),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            code(json!({"address": "a", "all": false})),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            code(json!({"address": 5, "amountSat": 1})),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            code(json!({"address": "a", "amountSat": 0})),
            "INVALID_AMOUNT"
        );
        assert_eq!(
            code(json!({"address": "a", "amountSat": 1.5})),
            "INVALID_AMOUNT"
        );
        assert_eq!(
            code(json!({"address": "a", "amountSat": 1, "x": 1})),
            "INVALID_CONFIG"
        );
        assert_eq!(code(Value::Null), "INVALID_ARGUMENT");

        let opts = |v: Value| parse_onchain_send_options(&v);
        assert_eq!(opts(Value::Null).unwrap(), None);
        assert_eq!(opts(json!({})).unwrap(), None);
        assert_eq!(opts(json!({"feeRateSatPerVb": 12})).unwrap(), Some(12));
        for bad in [json!(0), json!(1.5), json!(-1), json!("5")] {
            assert_eq!(
                opts(json!({ "feeRateSatPerVb": bad })).unwrap_err().code(),
                "INVALID_ARGUMENT"
            );
        }
    }
}
