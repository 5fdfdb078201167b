//! LSPS2 (bLIP-52) client rules as pure functions (protocols.md B).
//!
//! lightning-liquidity 0.2 parses the fee menu into [`LSPS2OpeningFeeParams`] but checks none of
//! bLIP-52's client rules: it ignores unknown fields, accepts any promise length, never looks at
//! `valid_until` without std, and keeps nothing across a reload. This module supplies them:
//! - [`screen_lsps_message`] / [`parse_menu`]: strict parsing of the raw `get_info` answer
//!   (unknown field or promise over 512 bytes aborts), for use on the raw JSON before or beside
//!   lightning-liquidity's own parse;
//! - [`opening_fee`]: bLIP-52's fee, every step overflow-checked;
//! - [`select_offer`]: the cheapest valid entry for the amount and the caller's caps;
//! - [`Lsps2Terms::new`], [`check_jit_invoice`]: the buy answer and the invoice built from it;
//! - [`check_htlc_arrival`]: the skim check before claiming, fixed and variable modes.

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning::ln::channelmanager::{BREAKDOWN_TIMEOUT, MIN_FINAL_CLTV_EXPIRY_DELTA};
use lightning_invoice::{Bolt11Invoice, Currency, RouteHint, RouteHintHop, RoutingFees};
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, OfferFault};
use crate::fee::{ppm_of_ceil, FeeCaps, PPM};

/// Longest `promise` a client accepts (bLIP-52: abort above 512 bytes).
pub const MAX_PROMISE_LEN: usize = 512;

/// An entry must stay valid at least this long after `now` to be chosen: time for the `buy`
/// round trip and for the payer to pay.
pub const OFFER_VALIDITY_MARGIN_SECS: u64 = 120;

/// bLIP-52: the invoice's `min_final_cltv_expiry_delta` is the wallet's normal value plus this.
pub const LSPS2_EXTRA_FINAL_CLTV: u16 = 2;

/// The final CLTV delta the wallet's LSPS2 invoices carry: LDK's minimum plus
/// [`LSPS2_EXTRA_FINAL_CLTV`]. Receipt enforces only LDK's normal value.
pub const LSPS2_INVOICE_MIN_FINAL_CLTV: u16 = MIN_FINAL_CLTV_EXPIRY_DELTA + LSPS2_EXTRA_FINAL_CLTV;

/// Largest `lsp_cltv_expiry_delta` accepted from `buy` (two days of blocks): a larger one only
/// makes the route hint unusable for payers and locks their HTLCs longer.
pub const MAX_LSP_CLTV_EXPIRY_DELTA: u32 = 288;

/// Smallest `to_self_delay` LDK lets the wallet ask of its peer; an entry whose
/// `max_client_to_self_delay` is below it cannot be honoured and is skipped.
pub const MIN_CLIENT_TO_SELF_DELAY: u16 = BREAKDOWN_TIMEOUT;

/// The fields bLIP-52 defines for an `opening_fee_params_menu` entry, and no others.
pub const OPENING_FEE_PARAMS_FIELDS: [&str; 8] = [
    "min_fee_msat",
    "proportional",
    "valid_until",
    "min_lifetime",
    "max_client_to_self_delay",
    "min_payment_size_msat",
    "max_payment_size_msat",
    "promise",
];

mod decimal_string {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(de::Error::custom("amount must be a decimal string"));
        }
        s.parse()
            .map_err(|_| de::Error::custom("amount out of u64 range"))
    }
}

/// One `opening_fee_params_menu` entry exactly as bLIP-52 defines it: an unknown field is a
/// deserialization error, amounts are decimal strings of digits only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningFeeParams {
    /// Minimum fee in msat.
    #[serde(with = "decimal_string")]
    pub min_fee_msat: u64,
    /// Proportional fee in ppm of the payment size.
    pub proportional: u32,
    /// ISO-8601 UTC end of validity.
    pub valid_until: String,
    /// Blocks the LSP keeps the channel open at least.
    pub min_lifetime: u32,
    /// Largest `to_self_delay` the client may ask for.
    pub max_client_to_self_delay: u32,
    /// Smallest payment size in msat.
    #[serde(with = "decimal_string")]
    pub min_payment_size_msat: u64,
    /// Largest payment size in msat.
    #[serde(with = "decimal_string")]
    pub max_payment_size_msat: u64,
    /// Opaque LSP promise, sent back verbatim, never interpreted.
    pub promise: String,
}

/// Parses an `opening_fee_params_menu` (a JSON array) strictly: an entry with a field bLIP-52
/// does not define is [`OfferFault::UnknownField`], a promise over [`MAX_PROMISE_LEN`] bytes is
/// [`OfferFault::PromiseTooLong`], anything else ill-typed is [`OfferFault::Malformed`]. Returns
/// the entries as lightning-liquidity's type, parsed from the same JSON.
pub fn parse_menu(menu: &Value) -> Result<Vec<LSPS2OpeningFeeParams>, Error> {
    let bad = |f| Error::InvalidLsps2Offer(f);
    let entries = menu.as_array().ok_or(bad(OfferFault::Malformed))?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let obj = entry.as_object().ok_or(bad(OfferFault::Malformed))?;
        if obj
            .keys()
            .any(|k| !OPENING_FEE_PARAMS_FIELDS.contains(&k.as_str()))
        {
            return Err(bad(OfferFault::UnknownField));
        }
        if let Some(p) = obj.get("promise").and_then(Value::as_str) {
            if p.len() > MAX_PROMISE_LEN {
                return Err(bad(OfferFault::PromiseTooLong));
            }
        }
        serde_json::from_value::<OpeningFeeParams>(entry.clone())
            .map_err(|_| bad(OfferFault::Malformed))?;
        let params = serde_json::from_value::<LSPS2OpeningFeeParams>(entry.clone())
            .map_err(|_| bad(OfferFault::Malformed))?;
        out.push(params);
    }
    Ok(out)
}

/// Screens one raw LSPS JSON-RPC message (the UTF-8 body of a BOLT8 message 37913) before
/// lightning-liquidity acts on it. If it is a response whose `result` holds an
/// `opening_fee_params_menu`, the menu must pass [`parse_menu`] and is returned; any other
/// message gives `Ok(None)`. Invalid JSON is [`Error::LspBadResponse`].
pub fn screen_lsps_message(raw: &str) -> Result<Option<Vec<LSPS2OpeningFeeParams>>, Error> {
    let v: Value = serde_json::from_str(raw).map_err(|_| Error::LspBadResponse {
        what: "lsps message is not JSON",
    })?;
    match v
        .get("result")
        .and_then(|r| r.get("opening_fee_params_menu"))
    {
        Some(menu) => parse_menu(menu).map(Some),
        None => Ok(None),
    }
}

/// bLIP-52's `opening_fee = max(min_fee_msat, ceil(size * proportional / 1_000_000))`, every
/// step overflow-checked in u64; `None` on overflow (the client must then abort).
pub fn opening_fee(payment_size_msat: u64, params: &LSPS2OpeningFeeParams) -> Option<u64> {
    ppm_of_ceil(payment_size_msat, params.proportional as u64).map(|f| f.max(params.min_fee_msat))
}

/// `valid_until` as unix seconds (pre-epoch times, which lightning-liquidity already refuses to
/// parse, count as 0).
pub fn valid_until_secs(params: &LSPS2OpeningFeeParams) -> u64 {
    u64::try_from(params.valid_until.0.timestamp()).unwrap_or(0)
}

/// How the JIT receive is sized (bLIP-52 `buy` with or without `payment_size_msat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum AmountMode {
    /// "MPP + fixed invoice": the invoice carries the amount, the fee is known.
    Fixed {
        /// The payment size sent in `buy` and put in the invoice.
        payment_size_msat: u64,
        /// `opening_fee(payment_size_msat)`.
        opening_fee_msat: u64,
    },
    /// "no-MPP + variable": no amount; the fee is computed on what arrives.
    Variable,
    /// bLIP-52's "no-MPP + var-invoice" mode with an amount in the invoice: `buy` names no
    /// `payment_size_msat` and the invoice carries the amount without `basic_mpp`, so the payer
    /// sends one part and the LSP computes its fee on that part. The fallback for LSPs that do
    /// not intercept fixed-size buys (Core Lightning, protocols.md E), chosen by
    /// [`ChosenOffer::without_size_in_buy`].
    SinglePart {
        /// The invoice's amount (not sent in `buy`).
        payment_size_msat: u64,
        /// `opening_fee(payment_size_msat)`, the fee the LSP takes when paid exactly.
        opening_fee_msat: u64,
    },
}

impl AmountMode {
    /// The `payment_size_msat` to send in `buy`: only the fixed mode names one.
    pub fn buy_size_msat(&self) -> Option<u64> {
        match *self {
            AmountMode::Fixed {
                payment_size_msat, ..
            } => Some(payment_size_msat),
            AmountMode::Variable | AmountMode::SinglePart { .. } => None,
        }
    }

    /// The invoice's amount and the fee agreed on it; `None` for the variable mode.
    pub fn sized(&self) -> Option<(u64, u64)> {
        match *self {
            AmountMode::Fixed {
                payment_size_msat,
                opening_fee_msat,
            }
            | AmountMode::SinglePart {
                payment_size_msat,
                opening_fee_msat,
            } => Some((payment_size_msat, opening_fee_msat)),
            AmountMode::Variable => None,
        }
    }

    /// Whether the JIT invoice offers `basic_mpp` (bLIP-52: only in the fixed mode).
    pub fn offers_mpp(&self) -> bool {
        matches!(self, AmountMode::Fixed { .. })
    }
}

/// The LSPS feature bit (bLIP-50: optional bit 729) an LSP sets in its `init` message.
pub const LSPS_FEATURE_BIT: usize = 729;

/// Whether `features` (the LSP's `init`) advertise LSPS0, either bit of the pair. An LSP that
/// does not (Core Lightning) is still spoken to; it is only not trusted with fixed-size buys.
pub fn advertises_lsps(features: &lightning::types::features::InitFeatures) -> bool {
    let flags = features.le_flags();
    let even = LSPS_FEATURE_BIT - 1;
    [even, LSPS_FEATURE_BIT].iter().any(|&b| {
        flags
            .get(b / 8)
            .is_some_and(|byte| byte & (1 << (b % 8)) != 0)
    })
}

/// The entry [`select_offer`] chose, and the mode it was chosen for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenOffer {
    /// The entry, to be sent back verbatim in `buy`.
    pub params: LSPS2OpeningFeeParams,
    /// Fixed (with the fee) or variable.
    pub mode: AmountMode,
}

impl ChosenOffer {
    /// The same offer bought without `payment_size_msat` ([`AmountMode::SinglePart`]) when
    /// `fixed_size_buys` is false and the offer was sized; unchanged otherwise. The size, the fee
    /// and the caps were checked by [`select_offer`] exactly as for the fixed mode.
    pub fn without_size_in_buy(self, fixed_size_buys: bool) -> ChosenOffer {
        match self.mode {
            AmountMode::Fixed {
                payment_size_msat,
                opening_fee_msat,
            } if !fixed_size_buys => ChosenOffer {
                params: self.params,
                mode: AmountMode::SinglePart {
                    payment_size_msat,
                    opening_fee_msat,
                },
            },
            _ => self,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Expired,
    Unusable,
    OutOfRange,
    FeeNotBelowSize,
    OverCap,
}

/// Chooses the cheapest valid entry of `menu` for `amount_msat` (`Some` = fixed mode, `None` =
/// variable mode) at `now_secs`, within `caps`.
///
/// Aborts the whole selection ([`Error::InvalidLsps2Offer`]) on a promise over 512 bytes
/// (`PromiseTooLong`) or a fee computation that overflows (`Overflow`), as bLIP-52 requires.
/// Otherwise an entry is skipped unless: it is valid until at least `now +`
/// [`OFFER_VALIDITY_MARGIN_SECS`]; `min_payment_size_msat ≤ max_payment_size_msat`;
/// `max_client_to_self_delay ≥` [`MIN_CLIENT_TO_SELF_DELAY`]; and
/// - fixed: the amount is within `[min, max]` payment size, `opening_fee(amount) < amount`, and
///   the fee is within `caps` (relative to the amount);
/// - variable: some size in range leaves a fee below the size (`fee(max) < max`), `proportional`
///   is within the ppm cap and `min_fee_msat` within the absolute cap (the fee actually taken is
///   checked again on arrival by [`check_htlc_arrival`]).
///
/// Cheapest is the lowest fee (fixed) or lowest `proportional` then `min_fee_msat` (variable);
/// ties keep the LSP's order. When nothing is chosen, the error describes the entry that got
/// furthest: `FeeAboveCap` (with the cheapest such fee), else `AmountOutOfRange` (fee not below
/// the amount, or amount outside the limits), else `NoValidOffer`, else `Expired`; an empty menu
/// is `NoValidOffer`.
pub fn select_offer(
    menu: &[LSPS2OpeningFeeParams],
    amount_msat: Option<u64>,
    now_secs: u64,
    caps: &FeeCaps,
) -> Result<ChosenOffer, Error> {
    let offer_err = |f| Error::InvalidLsps2Offer(f);
    let mut best: Option<((u64, u64), usize, AmountMode)> = None;
    let mut furthest: Option<Stage> = None;
    let mut cheapest_over_cap: Option<(u64, u64)> = None;
    let note = |s: Stage, furthest: &mut Option<Stage>| {
        if furthest.is_none_or(|f| s > f) {
            *furthest = Some(s);
        }
    };

    for p in menu {
        if p.promise.len() > MAX_PROMISE_LEN {
            return Err(offer_err(OfferFault::PromiseTooLong));
        }
    }
    for (i, p) in menu.iter().enumerate() {
        if valid_until_secs(p) < now_secs.saturating_add(OFFER_VALIDITY_MARGIN_SECS) {
            note(Stage::Expired, &mut furthest);
            continue;
        }
        if p.min_payment_size_msat > p.max_payment_size_msat
            || p.max_client_to_self_delay < MIN_CLIENT_TO_SELF_DELAY as u32
        {
            note(Stage::Unusable, &mut furthest);
            continue;
        }
        let (key, mode) = match amount_msat {
            Some(amount) => {
                if amount < p.min_payment_size_msat || amount > p.max_payment_size_msat {
                    note(Stage::OutOfRange, &mut furthest);
                    continue;
                }
                let fee = opening_fee(amount, p).ok_or(offer_err(OfferFault::Overflow))?;
                if fee >= amount {
                    note(Stage::FeeNotBelowSize, &mut furthest);
                    continue;
                }
                if let Err(Error::FeeAboveCap { fee_msat, cap_msat }) = caps.check(fee, amount) {
                    note(Stage::OverCap, &mut furthest);
                    if cheapest_over_cap.is_none_or(|(f, _)| fee_msat < f) {
                        cheapest_over_cap = Some((fee_msat, cap_msat));
                    }
                    continue;
                }
                (
                    (fee, 0),
                    AmountMode::Fixed {
                        payment_size_msat: amount,
                        opening_fee_msat: fee,
                    },
                )
            }
            None => {
                // u128: the largest size may be huge; no overflow abort for a mere bound.
                let max = p.max_payment_size_msat as u128;
                let fee_at_max = (max * p.proportional as u128)
                    .div_ceil(PPM as u128)
                    .max(p.min_fee_msat as u128);
                if fee_at_max >= max {
                    note(Stage::FeeNotBelowSize, &mut furthest);
                    continue;
                }
                let rate_ok = caps.check_rate(p.proportional).is_ok();
                let min_ok = caps.max_fee_msat.is_none_or(|m| p.min_fee_msat <= m);
                if !rate_ok || !min_ok {
                    note(Stage::OverCap, &mut furthest);
                    let (fee, cap) = if !min_ok {
                        (p.min_fee_msat, caps.max_fee_msat.unwrap_or(u64::MAX))
                    } else {
                        (
                            p.proportional as u64,
                            caps.max_fee_ppm.map_or(u64::MAX, u64::from),
                        )
                    };
                    if cheapest_over_cap.is_none_or(|(f, _)| fee < f) {
                        cheapest_over_cap = Some((fee, cap));
                    }
                    continue;
                }
                (
                    (p.proportional as u64, p.min_fee_msat),
                    AmountMode::Variable,
                )
            }
        };
        if best.as_ref().is_none_or(|(k, _, _)| key < *k) {
            best = Some((key, i, mode));
        }
    }

    if let Some((_, i, mode)) = best {
        return Ok(ChosenOffer {
            params: menu[i].clone(),
            mode,
        });
    }
    Err(match furthest {
        None => offer_err(OfferFault::NoValidOffer),
        Some(Stage::Expired) => offer_err(OfferFault::Expired),
        Some(Stage::Unusable) => offer_err(OfferFault::NoValidOffer),
        Some(Stage::OutOfRange) | Some(Stage::FeeNotBelowSize) => {
            offer_err(OfferFault::AmountOutOfRange)
        }
        Some(Stage::OverCap) => {
            let (fee_msat, cap_msat) = cheapest_over_cap.unwrap_or((0, 0));
            Error::FeeAboveCap { fee_msat, cap_msat }
        }
    })
}

/// The `to_self_delay` the wallet should ask of the LSP when accepting the JIT channel:
/// `min(preferred, max_client_to_self_delay)`, refused when that is below
/// [`MIN_CLIENT_TO_SELF_DELAY`] (LDK would refuse to open).
pub fn client_to_self_delay(params: &LSPS2OpeningFeeParams, preferred: u16) -> Result<u16, Error> {
    let max = u16::try_from(params.max_client_to_self_delay).unwrap_or(u16::MAX);
    let v = preferred.min(max);
    if v < MIN_CLIENT_TO_SELF_DELAY {
        return Err(Error::InvalidLsps2Offer(OfferFault::NoValidOffer));
    }
    Ok(v)
}

/// The expiry to give the JIT invoice created at `now_secs`: `min(wanted_secs, valid_until −
/// now)`, so that `timestamp + expiry ≤ valid_until`. [`OfferFault::Expired`] when nothing is left.
pub fn invoice_expiry_secs(
    params: &LSPS2OpeningFeeParams,
    now_secs: u64,
    wanted_secs: u32,
) -> Result<u32, Error> {
    let left = valid_until_secs(params).saturating_sub(now_secs);
    if left == 0 {
        return Err(Error::InvalidLsps2Offer(OfferFault::Expired));
    }
    Ok(u32::try_from(left).unwrap_or(u32::MAX).min(wanted_secs))
}

/// What was bought: the chosen entry and mode plus the `buy` answer. Stored in the JIT record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lsps2Terms {
    /// The entry sent in `buy`.
    pub opening_fee_params: LSPS2OpeningFeeParams,
    /// Fixed or variable.
    pub mode: AmountMode,
    /// `jit_channel_scid` from `buy`.
    pub intercept_scid: u64,
    /// `lsp_cltv_expiry_delta` from `buy`.
    pub lsp_cltv_expiry_delta: u32,
    /// `client_trusts_lsp` from `buy` (false when absent; lightning-liquidity 0.2 does not
    /// surface it, so the wallet passes false unless it reads the raw answer).
    pub client_trusts_lsp: bool,
}

impl Lsps2Terms {
    /// Accepts a `buy` answer for `chosen`: the SCID is non-zero and
    /// `1 ≤ lsp_cltv_expiry_delta ≤` [`MAX_LSP_CLTV_EXPIRY_DELTA`]; else
    /// [`Error::LspBadResponse`].
    pub fn new(
        chosen: ChosenOffer,
        intercept_scid: u64,
        lsp_cltv_expiry_delta: u32,
        client_trusts_lsp: bool,
    ) -> Result<Self, Error> {
        if intercept_scid == 0 {
            return Err(Error::LspBadResponse {
                what: "buy: zero jit_channel_scid",
            });
        }
        if lsp_cltv_expiry_delta == 0 || lsp_cltv_expiry_delta > MAX_LSP_CLTV_EXPIRY_DELTA {
            return Err(Error::LspBadResponse {
                what: "buy: lsp_cltv_expiry_delta out of range",
            });
        }
        Ok(Lsps2Terms {
            opening_fee_params: chosen.params,
            mode: chosen.mode,
            intercept_scid,
            lsp_cltv_expiry_delta,
            client_trusts_lsp,
        })
    }

    /// The trust the wallet is configured for decides: a `trustMinimized` wallet claims a JIT
    /// payment only once the new channel's funding is seen, which an LSP asking
    /// `client_trusts_lsp` (it keeps the funding until the wallet reveals the preimage) never
    /// allows, so that answer is refused ([`OfferFault::ClientTrustsLsp`]) before any invoice.
    /// A trusting wallet accepts both modes.
    pub fn check_trust_mode(&self, trust_minimized: bool) -> Result<(), Error> {
        if trust_minimized && self.client_trusts_lsp {
            return Err(Error::InvalidLsps2Offer(OfferFault::ClientTrustsLsp));
        }
        Ok(())
    }

    /// The one route hint the JIT invoice must carry: one hop from the LSP over the intercept
    /// SCID, zero fees, the LSP's CLTV delta.
    pub fn route_hint(&self, lsp_node_id: PublicKey) -> RouteHint {
        RouteHint(vec![RouteHintHop {
            src_node_id: lsp_node_id,
            short_channel_id: self.intercept_scid,
            fees: RoutingFees {
                base_msat: 0,
                proportional_millionths: 0,
            },
            cltv_expiry_delta: u16::try_from(self.lsp_cltv_expiry_delta).unwrap_or(u16::MAX),
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }])
    }
}

/// Checks the wallet's own JIT invoice against what was bought, before it is shown:
/// - it is for `network`;
/// - `timestamp + expiry ≤ valid_until`;
/// - exactly one route hint of exactly one hop: from `lsp_node_id`, over the intercept SCID,
///   zero base and proportional fee, CLTV delta = `lsp_cltv_expiry_delta`;
/// - `min_final_cltv_expiry_delta` = `normal_min_final_cltv + 2`;
/// - fixed mode: amount = payment size and `basic_mpp` offered; single part: amount = payment
///   size, no MPP; variable: no amount, no MPP.
///
/// Failures are [`Error::InvalidInvoice`] (a bug on the wallet's side, never shown to a payer).
pub fn check_jit_invoice(
    invoice: &Bolt11Invoice,
    terms: &Lsps2Terms,
    lsp_node_id: &PublicKey,
    normal_min_final_cltv: u16,
    network: Network,
) -> Result<(), Error> {
    let bad = |reason| Err(Error::InvalidInvoice { reason });
    if invoice.currency() != Currency::from(network) {
        return bad("jit invoice is for another network");
    }
    let end = invoice
        .expires_at()
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    if end > valid_until_secs(&terms.opening_fee_params) {
        return bad("jit invoice outlives the LSP's fee terms");
    }
    let hints = invoice.route_hints();
    if hints.len() != 1 || hints[0].0.len() != 1 {
        return bad("jit invoice must carry exactly one one-hop route hint");
    }
    let hop = &hints[0].0[0];
    if hop.src_node_id != *lsp_node_id
        || hop.short_channel_id != terms.intercept_scid
        || hop.fees.base_msat != 0
        || hop.fees.proportional_millionths != 0
        || hop.cltv_expiry_delta as u32 != terms.lsp_cltv_expiry_delta
    {
        return bad("jit invoice route hint does not match the LSP's terms");
    }
    if invoice.min_final_cltv_expiry_delta()
        != normal_min_final_cltv as u64 + LSPS2_EXTRA_FINAL_CLTV as u64
    {
        return bad("jit invoice final CLTV delta must be the normal one plus 2");
    }
    let mpp = invoice.features().is_some_and(|f| f.supports_basic_mpp());
    match terms.mode.sized() {
        Some((payment_size_msat, _)) => {
            if invoice.amount_milli_satoshis() != Some(payment_size_msat) {
                return bad("jit invoice amount differs from the bought payment size");
            }
        }
        None => {
            if invoice.amount_milli_satoshis().is_some() {
                return bad("variable-amount jit invoice must carry no amount");
            }
        }
    }
    if mpp != terms.mode.offers_mpp() {
        return bad(if mpp {
            "only a fixed-size jit invoice may offer basic_mpp"
        } else {
            "fixed-size jit invoice must offer basic_mpp"
        });
    }
    Ok(())
}

/// The check before claiming an LSPS2 JIT payment: `amount_msat` is what arrived
/// (`PaymentClaimable.amount_msat`), `skimmed_fee_msat` what the LSP withheld
/// (`counterparty_skimmed_fee_msat`). Any error means: fail the HTLCs back now.
/// - fixed: `skim ≤ opening_fee(size)` else [`Error::SkimTooHigh`], and
///   `amount ≥ size − opening_fee(size)` else [`Error::Underpaid`];
/// - single part (no size in `buy`): as variable, and `amount + skim ≥ size` else
///   [`Error::Underpaid`];
/// - variable: the fee is computed on what the payer sent, `amount + skim` (ldk-node computed it
///   on `amount` and failed good payments); that size must lie in the terms'
///   `[min_payment_size_msat, max_payment_size_msat]` with the fee below it, else
///   [`Error::PaymentOutOfRange`]; `skim ≤ min(opening_fee(amount + skim), caps' limit
///   for amount + skim)` else [`Error::SkimTooHigh`]. Overflow is [`Error::AmountOverflow`] /
///   [`OfferFault::Overflow`].
pub fn check_htlc_arrival(
    terms: &Lsps2Terms,
    caps: &FeeCaps,
    amount_msat: u64,
    skimmed_fee_msat: u64,
) -> Result<(), Error> {
    match terms.mode {
        AmountMode::Fixed {
            payment_size_msat,
            opening_fee_msat,
        } => {
            if skimmed_fee_msat > opening_fee_msat {
                return Err(Error::SkimTooHigh {
                    skimmed_msat: skimmed_fee_msat,
                    allowed_msat: opening_fee_msat,
                });
            }
            let expected_msat = payment_size_msat.saturating_sub(opening_fee_msat);
            if amount_msat < expected_msat {
                return Err(Error::Underpaid {
                    received_msat: amount_msat,
                    expected_msat,
                });
            }
            Ok(())
        }
        AmountMode::SinglePart {
            payment_size_msat,
            opening_fee_msat,
        } => {
            // The LSP was told no size: it computes its fee on the part that arrived, as in the
            // variable mode; that part must also be at least the invoice's amount.
            check_variable_arrival(terms, caps, amount_msat, skimmed_fee_msat)?;
            if amount_msat.saturating_add(skimmed_fee_msat) < payment_size_msat {
                return Err(Error::Underpaid {
                    received_msat: amount_msat,
                    expected_msat: payment_size_msat.saturating_sub(opening_fee_msat),
                });
            }
            Ok(())
        }
        AmountMode::Variable => check_variable_arrival(terms, caps, amount_msat, skimmed_fee_msat),
    }
}

/// [`check_htlc_arrival`] for the modes where the LSP computes its fee on what arrived.
fn check_variable_arrival(
    terms: &Lsps2Terms,
    caps: &FeeCaps,
    amount_msat: u64,
    skimmed_fee_msat: u64,
) -> Result<(), Error> {
    let sent = amount_msat
        .checked_add(skimmed_fee_msat)
        .ok_or(Error::AmountOverflow)?;
    let params = &terms.opening_fee_params;
    let fee = opening_fee(sent, params).ok_or(Error::InvalidLsps2Offer(OfferFault::Overflow))?;
    // The size the payer chose must be one the terms cover, and the fee on it below it
    // (bLIP-52): the menu was checked for the range, the arrival is checked against it.
    if sent < params.min_payment_size_msat || sent > params.max_payment_size_msat || fee >= sent {
        return Err(Error::PaymentOutOfRange {
            sent_msat: sent,
            min_msat: params.min_payment_size_msat,
            max_msat: params.max_payment_size_msat,
        });
    }
    let allowed = fee.min(caps.max_fee_for(sent));
    if skimmed_fee_msat > allowed {
        return Err(Error::SkimTooHigh {
            skimmed_msat: skimmed_fee_msat,
            allowed_msat: allowed,
        });
    }
    Ok(())
}

/// The rule for a payment that is *not* a known JIT receive: any skim fails it back
/// ([`Error::UnexpectedSkim`]); no skim passes.
pub fn check_skim_without_jit(skimmed_fee_msat: u64) -> Result<(), Error> {
    if skimmed_fee_msat > 0 {
        return Err(Error::UnexpectedSkim {
            skimmed_msat: skimmed_fee_msat,
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_util::{hint, pubkey, Inv};
    use core::str::FromStr;
    use lightning_liquidity::lsps0::ser::LSPSDateTime;

    pub const NOW: u64 = 1_700_000_000;

    pub fn params(
        min_fee: u64,
        ppm: u32,
        min_size: u64,
        max_size: u64,
        valid_until: u64,
    ) -> LSPS2OpeningFeeParams {
        LSPS2OpeningFeeParams {
            min_fee_msat: min_fee,
            proportional: ppm,
            valid_until: LSPSDateTime::new_from_duration_since_epoch(
                core::time::Duration::from_secs(valid_until),
            ),
            min_lifetime: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: min_size,
            max_payment_size_msat: max_size,
            promise: "ab".repeat(32),
        }
    }

    fn std_params() -> LSPS2OpeningFeeParams {
        params(2_000_000, 5_000, 1_000_000, 10_000_000_000, NOW + 3600)
    }

    fn entry_json() -> Value {
        serde_json::json!({
            "min_fee_msat": "546000",
            "proportional": 1200,
            "valid_until": "2035-05-20T08:30:45Z",
            "min_lifetime": 1008,
            "max_client_to_self_delay": 2016,
            "min_payment_size_msat": "1000",
            "max_payment_size_msat": "1000000",
            "promise": "abcdefghijklmnopqrstuvwxyz"
        })
    }

    #[test]
    fn strict_menu_accepts_spec_entry() {
        let menu = parse_menu(&Value::Array(vec![entry_json(), entry_json()])).unwrap();
        assert_eq!(menu.len(), 2);
        assert_eq!(menu[0].min_fee_msat, 546_000);
        assert_eq!(menu[0].proportional, 1200);
        assert_eq!(
            valid_until_secs(&menu[0]),
            LSPSDateTime::from_str("2035-05-20T08:30:45Z")
                .unwrap()
                .0
                .timestamp() as u64
        );
        assert!(parse_menu(&Value::Array(vec![])).unwrap().is_empty());
    }

    #[test]
    fn strict_menu_aborts_on_unknown_field() {
        let mut e = entry_json();
        e["surprise"] = Value::Bool(true);
        // lightning-liquidity itself would accept it
        assert!(serde_json::from_value::<LSPS2OpeningFeeParams>(e.clone()).is_ok());
        assert_eq!(
            parse_menu(&Value::Array(vec![entry_json(), e.clone()])),
            Err(Error::InvalidLsps2Offer(OfferFault::UnknownField))
        );
        // and the serde mirror refuses it too
        assert!(serde_json::from_value::<OpeningFeeParams>(e).is_err());
    }

    #[test]
    fn strict_menu_aborts_on_long_promise() {
        let mut e = entry_json();
        e["promise"] = Value::String("a".repeat(MAX_PROMISE_LEN));
        assert!(parse_menu(&Value::Array(vec![e.clone()])).is_ok());
        e["promise"] = Value::String("a".repeat(MAX_PROMISE_LEN + 1));
        assert_eq!(
            parse_menu(&Value::Array(vec![e])),
            Err(Error::InvalidLsps2Offer(OfferFault::PromiseTooLong))
        );
    }

    #[test]
    fn strict_menu_refuses_malformed() {
        for (k, v) in [
            ("min_fee_msat", serde_json::json!(546000)),
            ("min_fee_msat", serde_json::json!("+5")),
            ("min_fee_msat", serde_json::json!("-5")),
            (
                "max_payment_size_msat",
                serde_json::json!("99999999999999999999999"),
            ),
            ("proportional", serde_json::json!("1200")),
            ("valid_until", serde_json::json!("tomorrow")),
        ] {
            let mut e = entry_json();
            e[k] = v;
            assert_eq!(
                parse_menu(&Value::Array(vec![e])),
                Err(Error::InvalidLsps2Offer(OfferFault::Malformed)),
                "{}",
                k
            );
        }
        let mut e = entry_json();
        e.as_object_mut().unwrap().remove("promise");
        assert_eq!(
            parse_menu(&Value::Array(vec![e])),
            Err(Error::InvalidLsps2Offer(OfferFault::Malformed))
        );
        assert_eq!(
            parse_menu(&serde_json::json!({})),
            Err(Error::InvalidLsps2Offer(OfferFault::Malformed))
        );
        assert_eq!(
            parse_menu(&serde_json::json!([1])),
            Err(Error::InvalidLsps2Offer(OfferFault::Malformed))
        );
    }

    #[test]
    fn screen_raw_messages() {
        let good = serde_json::json!({"jsonrpc":"2.0","id":"x","result":{"opening_fee_params_menu":[entry_json()]}}).to_string();
        assert_eq!(screen_lsps_message(&good).unwrap().unwrap().len(), 1);
        let mut e = entry_json();
        e["extra"] = Value::Null;
        let bad =
            serde_json::json!({"jsonrpc":"2.0","id":"x","result":{"opening_fee_params_menu":[e]}})
                .to_string();
        assert_eq!(
            screen_lsps_message(&bad),
            Err(Error::InvalidLsps2Offer(OfferFault::UnknownField))
        );
        let other = serde_json::json!({"jsonrpc":"2.0","id":"x","result":{"jit_channel_scid":"1x2x3","lsp_cltv_expiry_delta":144}}).to_string();
        assert_eq!(screen_lsps_message(&other), Ok(None));
        assert!(screen_lsps_message("not json").is_err());
    }

    #[test]
    fn fee_formula() {
        let p = params(2_000, 5_000, 0, u64::MAX, NOW);
        // min fee wins
        assert_eq!(opening_fee(100_000, &p), Some(2_000));
        // proportional wins, rounded up
        assert_eq!(opening_fee(1_000_000, &p), Some(5_000));
        assert_eq!(opening_fee(1_000_001, &p), Some(5_001));
        // overflow
        assert_eq!(opening_fee(u64::MAX / 4_000, &p), None);
        // agrees with lightning-liquidity's own computation
        for size in [0u64, 1, 999_999, 123_456_789, 10_000_000_000] {
            assert_eq!(
                opening_fee(size, &p),
                lightning_liquidity::lsps2::utils::compute_opening_fee(
                    size,
                    p.min_fee_msat,
                    p.proportional as u64
                )
            );
        }
    }

    #[test]
    fn select_fixed_picks_cheapest_valid() {
        let a = params(3_000_000, 1_000, 1_000_000, 10_000_000_000, NOW + 3600);
        let b = params(2_000_000, 5_000, 1_000_000, 10_000_000_000, NOW + 3600);
        // at 100k sat: a = 3000 sat, b = 2000 sat (min fees)
        let c = select_offer(
            &[a.clone(), b.clone()],
            Some(100_000_000),
            NOW,
            &FeeCaps::UNLIMITED,
        )
        .unwrap();
        assert_eq!(c.params, b);
        assert_eq!(
            c.mode,
            AmountMode::Fixed {
                payment_size_msat: 100_000_000,
                opening_fee_msat: 2_000_000
            }
        );
        // at 10M sat: a = 10_000 sat, b = 50_000 sat
        let c = select_offer(
            &[a.clone(), b],
            Some(10_000_000_000),
            NOW,
            &FeeCaps::UNLIMITED,
        )
        .unwrap();
        assert_eq!(c.params, a);
    }

    #[test]
    fn select_fixed_rejections() {
        let p = std_params();
        // empty
        assert_eq!(
            select_offer(&[], Some(1), NOW, &FeeCaps::UNLIMITED),
            Err(Error::InvalidLsps2Offer(OfferFault::NoValidOffer))
        );
        // expired, and within the margin
        let old = params(1, 1, 1, 1_000_000_000, NOW + OFFER_VALIDITY_MARGIN_SECS - 1);
        assert_eq!(
            select_offer(&[old], Some(100_000_000), NOW, &FeeCaps::UNLIMITED),
            Err(Error::InvalidLsps2Offer(OfferFault::Expired))
        );
        let edge = params(1, 1, 1, 1_000_000_000, NOW + OFFER_VALIDITY_MARGIN_SECS);
        assert!(select_offer(&[edge], Some(100_000_000), NOW, &FeeCaps::UNLIMITED).is_ok());
        // out of range
        assert_eq!(
            select_offer(
                core::slice::from_ref(&p),
                Some(999_999),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::AmountOutOfRange))
        );
        assert_eq!(
            select_offer(
                core::slice::from_ref(&p),
                Some(10_000_000_001),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::AmountOutOfRange))
        );
        // fee not below size: 2000 sat min fee on a 2000 sat payment
        assert_eq!(
            select_offer(
                core::slice::from_ref(&p),
                Some(2_000_000),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::AmountOutOfRange))
        );
        assert!(select_offer(
            core::slice::from_ref(&p),
            Some(2_000_001),
            NOW,
            &FeeCaps::UNLIMITED
        )
        .is_ok());
        // caps
        let caps = FeeCaps {
            max_fee_msat: Some(1_999_999),
            max_fee_ppm: None,
        };
        assert_eq!(
            select_offer(core::slice::from_ref(&p), Some(100_000_000), NOW, &caps),
            Err(Error::FeeAboveCap {
                fee_msat: 2_000_000,
                cap_msat: 1_999_999
            })
        );
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(20_000),
        };
        assert!(select_offer(core::slice::from_ref(&p), Some(100_000_000), NOW, &caps).is_ok());
        assert!(matches!(
            select_offer(core::slice::from_ref(&p), Some(99_999_999), NOW, &caps),
            Err(Error::FeeAboveCap { .. })
        ));
        // a valid entry wins over a capped one; the furthest failure is reported otherwise
        let expensive = params(50_000_000, 5_000, 1, 10_000_000_000, NOW + 3600);
        let caps = FeeCaps {
            max_fee_msat: Some(10_000_000),
            max_fee_ppm: None,
        };
        assert_eq!(
            select_offer(
                &[expensive.clone(), p.clone()],
                Some(100_000_000),
                NOW,
                &caps
            )
            .unwrap()
            .params,
            p
        );
        let old = params(1, 1, 1, 10_000_000_000, NOW);
        assert!(matches!(
            select_offer(&[old, expensive], Some(100_000_000), NOW, &caps),
            Err(Error::FeeAboveCap {
                fee_msat: 50_000_000,
                ..
            })
        ));
    }

    #[test]
    fn select_aborts_on_overflow_and_long_promise() {
        let huge = params(0, u32::MAX, 0, u64::MAX, NOW + 3600);
        assert_eq!(
            select_offer(
                &[std_params(), huge],
                Some(u64::MAX / 2),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::Overflow))
        );
        let mut long = std_params();
        long.promise = "a".repeat(MAX_PROMISE_LEN + 1);
        // even though another entry is fine, the whole menu is refused
        assert_eq!(
            select_offer(
                &[std_params(), long],
                Some(100_000_000),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::PromiseTooLong))
        );
    }

    #[test]
    fn select_skips_unusable_entries() {
        let mut inverted = std_params();
        inverted.min_payment_size_msat = inverted.max_payment_size_msat + 1;
        assert_eq!(
            select_offer(&[inverted], Some(100_000_000), NOW, &FeeCaps::UNLIMITED),
            Err(Error::InvalidLsps2Offer(OfferFault::NoValidOffer))
        );
        let mut short_delay = std_params();
        short_delay.max_client_to_self_delay = MIN_CLIENT_TO_SELF_DELAY as u32 - 1;
        assert_eq!(
            select_offer(
                &[short_delay.clone()],
                Some(100_000_000),
                NOW,
                &FeeCaps::UNLIMITED
            ),
            Err(Error::InvalidLsps2Offer(OfferFault::NoValidOffer))
        );
        short_delay.max_client_to_self_delay = MIN_CLIENT_TO_SELF_DELAY as u32;
        assert!(select_offer(&[short_delay], Some(100_000_000), NOW, &FeeCaps::UNLIMITED).is_ok());
    }

    #[test]
    fn select_variable() {
        let a = params(3_000_000, 1_000, 1_000_000, 10_000_000_000, NOW + 3600);
        let b = params(2_000_000, 5_000, 1_000_000, 10_000_000_000, NOW + 3600);
        let c = select_offer(&[b.clone(), a.clone()], None, NOW, &FeeCaps::UNLIMITED).unwrap();
        assert_eq!(c.params, a);
        assert_eq!(c.mode, AmountMode::Variable);
        // ppm cap
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(999),
        };
        assert_eq!(
            select_offer(&[a.clone(), b.clone()], None, NOW, &caps),
            Err(Error::FeeAboveCap {
                fee_msat: 1_000,
                cap_msat: 999
            })
        );
        // absolute cap below the min fee
        let caps = FeeCaps {
            max_fee_msat: Some(2_500_000),
            max_fee_ppm: None,
        };
        assert_eq!(
            select_offer(&[a.clone(), b.clone()], None, NOW, &caps)
                .unwrap()
                .params,
            b
        );
        // no size can leave anything: 100 % rate, or min fee ≥ max size
        let all = params(0, 1_000_000, 1, 10_000_000, NOW + 3600);
        let min = params(10_000_000, 1, 1, 10_000_000, NOW + 3600);
        assert_eq!(
            select_offer(&[all, min], None, NOW, &FeeCaps::UNLIMITED),
            Err(Error::InvalidLsps2Offer(OfferFault::AmountOutOfRange))
        );
        // a huge max size does not overflow-abort the variable selection
        let big = params(1, 5_000, 1, u64::MAX, NOW + 3600);
        assert!(select_offer(&[big], None, NOW, &FeeCaps::UNLIMITED).is_ok());
    }

    #[test]
    fn to_self_delay_and_expiry() {
        let mut p = std_params();
        assert_eq!(client_to_self_delay(&p, 144), Ok(144));
        p.max_client_to_self_delay = 200;
        assert_eq!(client_to_self_delay(&p, 2016), Ok(200));
        p.max_client_to_self_delay = 100;
        assert!(client_to_self_delay(&p, 2016).is_err());
        let p = std_params();
        assert_eq!(invoice_expiry_secs(&p, NOW, 600), Ok(600));
        assert_eq!(invoice_expiry_secs(&p, NOW, 86_400), Ok(3600));
        assert_eq!(
            invoice_expiry_secs(&p, NOW + 3600, 600),
            Err(Error::InvalidLsps2Offer(OfferFault::Expired))
        );
    }

    pub fn terms(mode: AmountMode) -> Lsps2Terms {
        Lsps2Terms::new(
            ChosenOffer {
                params: std_params(),
                mode,
            },
            0x1234,
            144,
            false,
        )
        .unwrap()
    }

    #[test]
    fn buy_answer_checks() {
        let chosen = ChosenOffer {
            params: std_params(),
            mode: AmountMode::Variable,
        };
        assert!(Lsps2Terms::new(chosen.clone(), 0, 144, false).is_err());
        assert!(Lsps2Terms::new(chosen.clone(), 1, 0, false).is_err());
        assert!(Lsps2Terms::new(chosen.clone(), 1, MAX_LSP_CLTV_EXPIRY_DELTA + 1, false).is_err());
        assert!(Lsps2Terms::new(chosen, 1, MAX_LSP_CLTV_EXPIRY_DELTA, true).is_ok());
    }

    #[test]
    fn a_trust_minimized_wallet_refuses_an_lsp_that_asks_to_be_trusted() {
        let chosen = ChosenOffer {
            params: std_params(),
            mode: AmountMode::Variable,
        };
        let trusting_lsp = Lsps2Terms::new(chosen.clone(), 1, 144, true).unwrap();
        let plain_lsp = Lsps2Terms::new(chosen, 1, 144, false).unwrap();
        assert_eq!(
            trusting_lsp.check_trust_mode(true),
            Err(Error::InvalidLsps2Offer(OfferFault::ClientTrustsLsp))
        );
        assert_eq!(trusting_lsp.check_trust_mode(false), Ok(()));
        assert_eq!(plain_lsp.check_trust_mode(true), Ok(()));
        assert_eq!(plain_lsp.check_trust_mode(false), Ok(()));
    }

    fn jit_inv(t: &Lsps2Terms) -> Inv {
        let mut i = Inv::new();
        i.timestamp = NOW;
        i.expiry_secs = Some(3600);
        i.min_final_cltv = LSPS2_INVOICE_MIN_FINAL_CLTV as u64;
        i.hints = vec![t.route_hint(pubkey(7))];
        i.amount_msat = t.mode.sized().map(|(size, _)| size);
        i.mpp = t.mode.offers_mpp();
        i
    }

    fn check_inv(i: &Inv, t: &Lsps2Terms) -> Result<(), Error> {
        check_jit_invoice(
            &i.build(),
            t,
            &pubkey(7),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            Network::Regtest,
        )
    }

    #[test]
    fn jit_invoice_checks() {
        let fixed = terms(AmountMode::Fixed {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        let var = terms(AmountMode::Variable);
        let single = terms(AmountMode::SinglePart {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        assert_eq!(check_inv(&jit_inv(&fixed), &fixed), Ok(()));
        assert_eq!(check_inv(&jit_inv(&var), &var), Ok(()));
        assert_eq!(check_inv(&jit_inv(&single), &single), Ok(()));
        assert!(jit_inv(&single).amount_msat.is_some() && !jit_inv(&single).mpp);

        type Mutation = Box<dyn Fn(&mut Inv)>;
        let rejects: Vec<(&str, Mutation)> = vec![
            (
                "network",
                Box::new(|i: &mut Inv| i.currency = Currency::Bitcoin),
            ),
            (
                "outlives",
                Box::new(|i: &mut Inv| i.expiry_secs = Some(3601)),
            ),
            ("no hint", Box::new(|i: &mut Inv| i.hints.clear())),
            (
                "two hints",
                Box::new(|i: &mut Inv| {
                    let h = i.hints[0].clone();
                    i.hints.push(h)
                }),
            ),
            (
                "two hops",
                Box::new(|i: &mut Inv| {
                    let hop = i.hints[0].0[0].clone();
                    i.hints[0].0.push(hop)
                }),
            ),
            (
                "src",
                Box::new(|i: &mut Inv| i.hints = vec![hint(pubkey(8), 0x1234, 0, 0, 144)]),
            ),
            (
                "scid",
                Box::new(|i: &mut Inv| i.hints = vec![hint(pubkey(7), 0x1235, 0, 0, 144)]),
            ),
            (
                "base fee",
                Box::new(|i: &mut Inv| i.hints = vec![hint(pubkey(7), 0x1234, 1, 0, 144)]),
            ),
            (
                "prop fee",
                Box::new(|i: &mut Inv| i.hints = vec![hint(pubkey(7), 0x1234, 0, 1, 144)]),
            ),
            (
                "cltv",
                Box::new(|i: &mut Inv| i.hints = vec![hint(pubkey(7), 0x1234, 0, 0, 143)]),
            ),
            (
                "final cltv normal",
                Box::new(|i: &mut Inv| i.min_final_cltv = MIN_FINAL_CLTV_EXPIRY_DELTA as u64),
            ),
            (
                "final cltv +3",
                Box::new(|i: &mut Inv| i.min_final_cltv = MIN_FINAL_CLTV_EXPIRY_DELTA as u64 + 3),
            ),
        ];
        for t in [&fixed, &var, &single] {
            for (name, f) in &rejects {
                let mut i = jit_inv(t);
                f(&mut i);
                assert!(
                    matches!(check_inv(&i, t), Err(Error::InvalidInvoice { .. })),
                    "{}",
                    name
                );
            }
        }
        // mode-specific
        let mut i = jit_inv(&fixed);
        i.amount_msat = Some(100_000_001);
        assert!(check_inv(&i, &fixed).is_err());
        let mut i = jit_inv(&fixed);
        i.mpp = false;
        assert!(check_inv(&i, &fixed).is_err());
        let mut i = jit_inv(&var);
        i.amount_msat = Some(1);
        assert!(check_inv(&i, &var).is_err());
        let mut i = jit_inv(&var);
        i.mpp = true;
        assert!(check_inv(&i, &var).is_err());
        // single part: the amount, and never basic_mpp (the LSP would see only the first part)
        let mut i = jit_inv(&single);
        i.mpp = true;
        assert!(check_inv(&i, &single).is_err());
        let mut i = jit_inv(&single);
        i.amount_msat = None;
        assert!(check_inv(&i, &single).is_err());
        let mut i = jit_inv(&single);
        i.amount_msat = Some(99_999_999);
        assert!(check_inv(&i, &single).is_err());
    }

    /// An LSP that does not intercept fixed-size buys is sold the same checked offer as one
    /// part: the size and fee kept, none sent in `buy`, no MPP.
    #[test]
    fn a_sized_offer_without_size_in_buy() {
        let menu = [std_params()];
        let fixed = select_offer(&menu, Some(100_000_000), NOW, &FeeCaps::UNLIMITED).unwrap();
        assert_eq!(fixed.mode.buy_size_msat(), Some(100_000_000));
        assert!(fixed.mode.offers_mpp());
        assert_eq!(fixed.clone().without_size_in_buy(true), fixed);
        let single = fixed.clone().without_size_in_buy(false);
        assert_eq!(single.params, fixed.params);
        assert_eq!(
            single.mode,
            AmountMode::SinglePart {
                payment_size_msat: 100_000_000,
                opening_fee_msat: 2_000_000
            }
        );
        assert_eq!(single.mode.buy_size_msat(), None);
        assert_eq!(single.mode.sized(), fixed.mode.sized());
        assert!(!single.mode.offers_mpp());
        // a variable-amount choice is unchanged either way
        let var = select_offer(&menu, None, NOW, &FeeCaps::UNLIMITED).unwrap();
        assert_eq!(var.clone().without_size_in_buy(false), var);
        // the caps were applied before: a capped sized offer never becomes a single part
        let caps = FeeCaps {
            max_fee_msat: Some(1_999_999),
            max_fee_ppm: None,
        };
        assert!(select_offer(&menu, Some(100_000_000), NOW, &caps).is_err());
    }

    #[test]
    fn lsps_feature_bit() {
        use lightning::types::features::InitFeatures;
        assert!(!advertises_lsps(&InitFeatures::empty()));
        for bit in [728, 729] {
            let mut f = InitFeatures::empty();
            if bit % 2 == 1 {
                f.set_optional_custom_bit(bit).unwrap();
            } else {
                f.set_required_custom_bit(bit).unwrap();
            }
            assert!(advertises_lsps(&f), "bit {}", bit);
        }
        let mut other = InitFeatures::empty();
        other.set_optional_custom_bit(731).unwrap();
        assert!(!advertises_lsps(&other));
    }

    #[test]
    fn arrival_single_part() {
        // 100 000 sat invoice, fee 2000 sat (the minimum; 0.5 % = 500 sat), caps open
        let t = terms(AmountMode::SinglePart {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        let caps = FeeCaps::UNLIMITED;
        assert_eq!(check_htlc_arrival(&t, &caps, 98_000_000, 2_000_000), Ok(()));
        assert_eq!(check_htlc_arrival(&t, &caps, 100_000_000, 0), Ok(()));
        // the payer overpaid: the fee on what was sent, still the minimum here
        assert_eq!(check_htlc_arrival(&t, &caps, 99_000_000, 2_000_000), Ok(()));
        assert_eq!(
            check_htlc_arrival(&t, &caps, 97_999_999, 2_000_001),
            Err(Error::SkimTooHigh {
                skimmed_msat: 2_000_001,
                allowed_msat: 2_000_000
            })
        );
        // less than the invoice was sent (no skim to explain it)
        assert_eq!(
            check_htlc_arrival(&t, &caps, 99_999_999, 0),
            Err(Error::Underpaid {
                received_msat: 99_999_999,
                expected_msat: 98_000_000
            })
        );
        assert_eq!(
            check_htlc_arrival(&t, &caps, 97_999_999, 2_000_000),
            Err(Error::Underpaid {
                received_msat: 97_999_999,
                expected_msat: 98_000_000
            })
        );
    }

    #[test]
    fn arrival_fixed() {
        let t = terms(AmountMode::Fixed {
            payment_size_msat: 100_000_000,
            opening_fee_msat: 2_000_000,
        });
        let caps = FeeCaps::UNLIMITED;
        assert_eq!(check_htlc_arrival(&t, &caps, 98_000_000, 2_000_000), Ok(()));
        assert_eq!(check_htlc_arrival(&t, &caps, 100_000_000, 0), Ok(()));
        assert_eq!(check_htlc_arrival(&t, &caps, 99_000_000, 1_000_000), Ok(()));
        assert_eq!(
            check_htlc_arrival(&t, &caps, 97_999_999, 2_000_001),
            Err(Error::SkimTooHigh {
                skimmed_msat: 2_000_001,
                allowed_msat: 2_000_000
            })
        );
        assert_eq!(
            check_htlc_arrival(&t, &caps, 97_999_999, 2_000_000),
            Err(Error::Underpaid {
                received_msat: 97_999_999,
                expected_msat: 98_000_000
            })
        );
    }

    /// A variable-amount arrival must be a size the bought terms cover (std_params: 1 000 sat
    /// to 10 000 000 sat), with the fee below it.
    #[test]
    fn arrival_variable_size_within_the_terms() {
        let t = terms(AmountMode::Variable);
        let caps = FeeCaps::UNLIMITED;
        let out_of_range = |sent_msat| {
            Err(Error::PaymentOutOfRange {
                sent_msat,
                min_msat: 1_000_000,
                max_msat: 10_000_000_000,
            })
        };
        // the largest size: fee 0.5 % = 50 000 sat
        assert_eq!(
            check_htlc_arrival(&t, &caps, 9_950_000_000, 50_000_000),
            Ok(())
        );
        assert_eq!(
            check_htlc_arrival(&t, &caps, 9_950_000_001, 50_000_000),
            out_of_range(10_000_000_001)
        );
        // under the smallest size
        assert_eq!(
            check_htlc_arrival(&t, &caps, 999_999, 0),
            out_of_range(999_999)
        );
        // in range, but the 2 000 sat minimum fee is not below a 1 500 sat payment
        assert_eq!(
            check_htlc_arrival(&t, &caps, 0, 1_500_000),
            out_of_range(1_500_000)
        );
        assert_eq!(
            check_htlc_arrival(&t, &caps, 1, 2_000_000),
            Ok(()),
            "fee 2 000 000 msat below 2 000 001 msat sent"
        );
    }

    #[test]
    fn arrival_variable_fee_on_amount_plus_skim() {
        // 2000 sat min fee, 0.5 %: on 1 000 000 sat sent the fee is 5000 sat.
        let t = terms(AmountMode::Variable);
        let caps = FeeCaps::UNLIMITED;
        assert_eq!(
            check_htlc_arrival(&t, &caps, 995_000_000, 5_000_000),
            Ok(())
        );
        // ldk-node's bug: fee computed on the received 995 000 sat is 4975 sat < 5000 sat skim,
        // a good payment it would have failed.
        assert!(opening_fee(995_000_000, &t.opening_fee_params).unwrap() < 5_000_000);
        assert_eq!(
            check_htlc_arrival(&t, &caps, 994_999_999, 5_000_001),
            Err(Error::SkimTooHigh {
                skimmed_msat: 5_000_001,
                allowed_msat: 5_000_000
            })
        );
        // min fee applies to small payments
        assert_eq!(check_htlc_arrival(&t, &caps, 8_000_000, 2_000_000), Ok(()));
        assert!(check_htlc_arrival(&t, &caps, 7_999_999, 2_000_001).is_err());
        // caps still bound the skim
        let caps = FeeCaps {
            max_fee_msat: Some(4_000_000),
            max_fee_ppm: None,
        };
        assert_eq!(
            check_htlc_arrival(&t, &caps, 995_000_000, 5_000_000),
            Err(Error::SkimTooHigh {
                skimmed_msat: 5_000_000,
                allowed_msat: 4_000_000
            })
        );
        // overflow
        assert_eq!(
            check_htlc_arrival(&t, &FeeCaps::UNLIMITED, u64::MAX, 1),
            Err(Error::AmountOverflow)
        );
        assert_eq!(
            check_htlc_arrival(&t, &FeeCaps::UNLIMITED, u64::MAX / 2, 0),
            Err(Error::InvalidLsps2Offer(OfferFault::Overflow))
        );
    }

    #[test]
    fn skim_without_jit_fails() {
        assert_eq!(check_skim_without_jit(0), Ok(()));
        assert_eq!(
            check_skim_without_jit(1),
            Err(Error::UnexpectedSkim { skimmed_msat: 1 })
        );
    }

    #[test]
    fn terms_roundtrip_json() {
        let t = terms(AmountMode::Fixed {
            payment_size_msat: 5,
            opening_fee_msat: 1,
        });
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Lsps2Terms>(&s).unwrap(), t);
        // the entry keeps bLIP-52's wire form (amounts as strings)
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["opening_fee_params"]["min_fee_msat"], "2000000");
    }
}
