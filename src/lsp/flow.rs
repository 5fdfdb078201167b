//! The REST "wrapped invoice" JIT-channel API (Olympus by ZEUS, Voltage Flow 2.0) as pure types
//! and checks (protocols.md A). No I/O here: the HTTP client lives elsewhere and feeds these.
//!
//! Flow: `GET /api/v1/info` → [`InfoResponse`]; `POST /api/v1/fee` with [`FeeRequest`] →
//! [`FeeResponse`] → [`FeeQuote`] checked by [`check_fee`]; the wallet makes its own invoice for
//! `amount - fee`; `POST /api/v1/proposal` with [`ProposalRequest`] → [`ProposalResponse`], whose
//! `jit_bolt11` must pass [`parse_and_check_wrapped_invoice`] before it is shown to anyone.
//! Non-2xx answers are mapped by [`map_error_response`].

use core::str::FromStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use lightning_invoice::{Bolt11Invoice, Currency};
use serde::{Deserialize, Serialize};

use crate::error::{Error, LspRejection, WrappedInvoiceFault};
use crate::fee::{check_fee_below_amount, FeeCaps};

/// Path of the info call, relative to the LSP's base URL.
pub const INFO_PATH: &str = "/api/v1/info";
/// Path of the fee call.
pub const FEE_PATH: &str = "/api/v1/fee";
/// Path of the proposal call.
pub const PROPOSAL_PATH: &str = "/api/v1/proposal";
/// Header some hosts want the access token in.
pub const AUTH_HEADER: &str = "x-auth-token";

/// The wrapped amount may differ from `inner + fee` by at most this many msat, either way:
/// strictly less than one satoshi, which is exactly what rounding one of the two to whole
/// satoshis (up or down) can produce. The fee checked against the caps is then the larger of the
/// quoted fee and what the payer really pays on top of the inner amount.
pub const AMOUNT_TOLERANCE_MSAT: u64 = 999;

/// The wrapped invoice may expire at most this many seconds after the inner one. An LSP that
/// copies the inner expiry but stamps its own (slightly later) creation time would otherwise be
/// refused; LDK keeps accepting its own inbound payments 2 hours past their expiry, so a payment
/// made in this window still reaches the wallet.
pub const WRAPPED_EXPIRY_SKEW_SECS: u64 = 60;

/// Largest sane `min_final_cltv_expiry_delta` for the wrapped invoice: it must leave a payer
/// using LDK's default total CLTV budget (1008 blocks) at least 288 blocks for its route, and it
/// bounds how long the LSP can keep the payer's HTLC locked.
pub const MAX_WRAPPED_FINAL_CLTV_EXPIRY_DELTA: u64 = 720;

/// Longest fee id accepted from `/fee` (it is sent back verbatim; real ones are UUIDs).
pub const MAX_FEE_ID_LEN: usize = 128;

/// How a peer can be reached, as `/api/v1/info` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    /// `address` is an IPv4 address.
    Ipv4,
    /// `address` is an IPv6 address.
    Ipv6,
    /// `address` is a Tor v2 onion (obsolete).
    Torv2,
    /// `address` is a Tor v3 onion.
    Torv3,
    /// `address` is a DNS hostname.
    Dns,
    /// `address` is a host serving BOLT8 over websocket.
    Websocket,
    /// A type this wallet does not know; kept so one new type does not break the whole answer.
    #[serde(other)]
    Unknown,
}

/// One entry of `connection_methods`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionMethod {
    /// Host part, interpreted by `kind`.
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// How to read `address`.
    #[serde(rename = "type")]
    pub kind: ConnectionType,
}

impl ConnectionMethod {
    /// True when a browser (through the websocket proxy, or directly for `websocket`) can use
    /// this entry: a clearnet type whose address is well-formed for its type, and a non-zero port.
    pub fn is_usable(&self) -> bool {
        if self.port == 0 {
            return false;
        }
        match self.kind {
            ConnectionType::Ipv4 => Ipv4Addr::from_str(&self.address).is_ok(),
            ConnectionType::Ipv6 => {
                Ipv6Addr::from_str(self.address.trim_start_matches('[').trim_end_matches(']'))
                    .is_ok()
            }
            ConnectionType::Dns | ConnectionType::Websocket => is_hostname(&self.address),
            ConnectionType::Torv2 | ConnectionType::Torv3 | ConnectionType::Unknown => false,
        }
    }
}

/// True for a syntactically valid DNS hostname (labels of letters, digits and inner hyphens,
/// at most 253 characters).
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Answer of `GET /api/v1/info`. Unknown fields are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoResponse {
    /// The LSP's node id: the payee every wrapped invoice must have, and the only peer whose
    /// 0-conf channels the wallet accepts.
    pub pubkey: PublicKey,
    /// Where the LSP's node listens.
    #[serde(default)]
    pub connection_methods: Vec<ConnectionMethod>,
}

impl InfoResponse {
    /// Accepts the answer when it is for the pinned node id (if the config pins one).
    pub fn check_identity(&self, pinned: Option<&PublicKey>) -> Result<(), Error> {
        match pinned {
            Some(p) if *p != self.pubkey => Err(Error::LspIdentityMismatch),
            _ => Ok(()),
        }
    }

    /// The usable connection methods ([`ConnectionMethod::is_usable`]), websocket first, then
    /// DNS, IPv4, IPv6; the LSP's order is kept within a type.
    pub fn usable_methods(&self) -> Vec<&ConnectionMethod> {
        let rank = |k: ConnectionType| match k {
            ConnectionType::Websocket => 0,
            ConnectionType::Dns => 1,
            ConnectionType::Ipv4 => 2,
            _ => 3,
        };
        let mut v: Vec<&ConnectionMethod> = self
            .connection_methods
            .iter()
            .filter(|m| m.is_usable())
            .collect();
        v.sort_by_key(|m| rank(m.kind));
        v
    }
}

/// Body of `POST /api/v1/fee`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRequest {
    /// What the payer will pay (the wrapped invoice's amount).
    pub amount_msat: u64,
    /// The wallet's node id.
    pub pubkey: PublicKey,
}

/// Answer of `POST /api/v1/fee`. The fee comes as `amount_msat` (seed, Voltage docs) or
/// `fee_amount_msat` (what ZEUS and Mutiny read); see [`FeeResponse::into_quote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeResponse {
    /// Fee id, to be passed to `/proposal`.
    pub id: String,
    /// The fee, as the seed names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// The fee, as ZEUS and Mutiny name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_amount_msat: Option<u64>,
}

/// A fee the LSP quoted, after [`FeeResponse::into_quote`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeQuote {
    /// Fee id for `/proposal`: 1..=[`MAX_FEE_ID_LEN`] printable ASCII characters.
    pub id: String,
    /// The fee in msat.
    pub fee_msat: u64,
}

impl FeeResponse {
    /// The quote, when exactly one fee is given or both are given and equal, and the id is
    /// 1..=[`MAX_FEE_ID_LEN`] printable ASCII characters; else [`Error::LspBadResponse`].
    pub fn into_quote(self) -> Result<FeeQuote, Error> {
        let fee_msat = match (self.amount_msat, self.fee_amount_msat) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::LspBadResponse {
                    what: "fee: amount_msat and fee_amount_msat differ",
                })
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => {
                return Err(Error::LspBadResponse {
                    what: "fee: no fee amount",
                })
            }
        };
        if self.id.is_empty()
            || self.id.len() > MAX_FEE_ID_LEN
            || !self.id.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(Error::LspBadResponse {
                what: "fee: invalid fee id",
            });
        }
        Ok(FeeQuote {
            id: self.id,
            fee_msat,
        })
    }
}

/// Body of `POST /api/v1/proposal`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRequest {
    /// The wallet's own (inner) invoice.
    pub bolt11: String,
    /// The id of the accepted quote.
    pub fee_id: String,
    /// Ask for a simple taproot channel; absent means the LSP's default (anchors).
    #[serde(
        rename = "simpleTaproot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub simple_taproot: Option<bool>,
}

/// Answer of `POST /api/v1/proposal` (HTTP 200 or 201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResponse {
    /// The wrapped invoice; untrusted until [`parse_and_check_wrapped_invoice`] accepts it.
    pub jit_bolt11: String,
}

/// The `{error, message}` body of a non-2xx answer. Its text is untrusted: it is only matched
/// against known phrases by [`map_error_response`], never shown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Short error name or text.
    #[serde(default)]
    pub error: Option<String>,
    /// Longer text.
    #[serde(default)]
    pub message: Option<String>,
}

/// Maps a non-2xx answer (status and raw body, which may not even be JSON) to a reason. Known
/// phrases win over the status ("cannot fund" → no liquidity, "too high/large" → too large,
/// "too low/small" → too small, region/country → unavailable); then 401/403 → unauthorized,
/// 404/451 → unavailable, 429 → rate limited, 400/422 → invalid params, 5xx → server error.
pub fn map_error_response(status: u16, body: &str) -> LspRejection {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let mut text = String::new();
    for part in [parsed.error.as_deref(), parsed.message.as_deref()]
        .into_iter()
        .flatten()
    {
        text.push_str(&part.to_ascii_lowercase());
        text.push(' ');
    }
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["cannot fund", "can't fund", "liquidity", "no capacity"]) {
        return LspRejection::NoLiquidity;
    }
    if has(&["too high", "too large", "too big", "above max", "exceeds"]) {
        return LspRejection::PaymentTooLarge;
    }
    if has(&["too low", "too small", "below min"]) {
        return LspRejection::PaymentTooSmall;
    }
    if has(&["region", "country", "geo", "jurisdiction"]) {
        return LspRejection::Unavailable;
    }
    match status {
        401 | 403 => LspRejection::Unauthorized,
        404 | 451 => LspRejection::Unavailable,
        429 => LspRejection::RateLimited,
        400 | 422 => LspRejection::InvalidParams,
        500..=599 => LspRejection::ServerError,
        _ => LspRejection::Other,
    }
}

/// Checks a quote for a payment of `amount_msat` (what the payer will pay) against the caps and
/// returns the amount of the wallet's own (inner) invoice: `amount_msat - fee`. Refuses a fee
/// that is not strictly below the amount, or above either cap ([`Error::FeeAboveCap`]).
pub fn check_fee(quote: &FeeQuote, amount_msat: u64, caps: &FeeCaps) -> Result<u64, Error> {
    check_fee_below_amount(quote.fee_msat, amount_msat)?;
    caps.check(quote.fee_msat, amount_msat)?;
    Ok(amount_msat - quote.fee_msat)
}

/// Parses a `jit_bolt11` (signature checked by the parser) and runs [`check_wrapped_invoice`].
pub fn parse_and_check_wrapped_invoice(
    jit_bolt11: &str,
    inner: &Bolt11Invoice,
    lsp_pubkey: &PublicKey,
    fee_msat: u64,
    caps: &FeeCaps,
    network: Network,
) -> Result<Bolt11Invoice, WrappedInvoiceFault> {
    let wrapped =
        Bolt11Invoice::from_str(jit_bolt11.trim()).map_err(|_| WrappedInvoiceFault::Unparseable)?;
    check_wrapped_invoice(inner, &wrapped, lsp_pubkey, fee_msat, caps, network)?;
    Ok(wrapped)
}

/// Accepts the LSP's wrapped invoice only when every rule of protocols.md A holds, checked in
/// this order (the first failure is returned):
/// 1. both invoices are for `network` — else `WrongNetwork`;
/// 2. same payment hash as `inner` — else `WrongHash`;
/// 3. payee (explicit or recovered from the signature) is `lsp_pubkey` — else `WrongPayee`;
/// 4. both carry an amount and `|wrapped − (inner + fee_msat)| ≤` [`AMOUNT_TOLERANCE_MSAT`] —
///    else `WrongAmount`;
/// 5. the effective fee, `max(fee_msat, wrapped − inner)`, is below the wrapped amount and
///    within `caps` relative to the wrapped amount — else `FeeOverCap`;
/// 6. it expires no later than `inner` plus [`WRAPPED_EXPIRY_SKEW_SECS`] — else `ExpiryTooLong`;
/// 7. its `min_final_cltv_expiry_delta` is within `[inner's, MAX_WRAPPED_FINAL_CLTV_EXPIRY_DELTA]`
///    — else `CltvInsane`;
/// 8. every route hint hop starts at a third node: none starts at the LSP (a hint must end at
///    the LSP, the payee, never pass through it) nor at the wallet (the inner payee, which must
///    stay hidden and must not be paid around the LSP) — else `ForeignRouteHint`.
pub fn check_wrapped_invoice(
    inner: &Bolt11Invoice,
    wrapped: &Bolt11Invoice,
    lsp_pubkey: &PublicKey,
    fee_msat: u64,
    caps: &FeeCaps,
    network: Network,
) -> Result<(), WrappedInvoiceFault> {
    let currency = Currency::from(network);
    if wrapped.currency() != currency || inner.currency() != currency {
        return Err(WrappedInvoiceFault::WrongNetwork);
    }
    if wrapped.payment_hash() != inner.payment_hash() {
        return Err(WrappedInvoiceFault::WrongHash);
    }
    if wrapped.get_payee_pub_key() != *lsp_pubkey {
        return Err(WrappedInvoiceFault::WrongPayee);
    }

    let inner_msat = inner
        .amount_milli_satoshis()
        .ok_or(WrappedInvoiceFault::WrongAmount)?;
    let wrapped_msat = wrapped
        .amount_milli_satoshis()
        .ok_or(WrappedInvoiceFault::WrongAmount)?;
    let expected_msat = inner_msat
        .checked_add(fee_msat)
        .ok_or(WrappedInvoiceFault::WrongAmount)?;
    if wrapped_msat.abs_diff(expected_msat) > AMOUNT_TOLERANCE_MSAT {
        return Err(WrappedInvoiceFault::WrongAmount);
    }

    let effective_fee = fee_msat.max(wrapped_msat.saturating_sub(inner_msat));
    if check_fee_below_amount(effective_fee, wrapped_msat).is_err()
        || caps.check(effective_fee, wrapped_msat).is_err()
    {
        return Err(WrappedInvoiceFault::FeeOverCap);
    }

    let inner_end = inner
        .expires_at()
        .ok_or(WrappedInvoiceFault::ExpiryTooLong)?
        .as_secs();
    let wrapped_end = wrapped
        .expires_at()
        .ok_or(WrappedInvoiceFault::ExpiryTooLong)?
        .as_secs();
    if wrapped_end > inner_end.saturating_add(WRAPPED_EXPIRY_SKEW_SECS) {
        return Err(WrappedInvoiceFault::ExpiryTooLong);
    }

    let cltv = wrapped.min_final_cltv_expiry_delta();
    if cltv < inner.min_final_cltv_expiry_delta() || cltv > MAX_WRAPPED_FINAL_CLTV_EXPIRY_DELTA {
        return Err(WrappedInvoiceFault::CltvInsane);
    }

    let wallet = inner.get_payee_pub_key();
    for hint in wrapped.route_hints() {
        if hint
            .0
            .iter()
            .any(|hop| hop.src_node_id == *lsp_pubkey || hop.src_node_id == wallet)
        {
            return Err(WrappedInvoiceFault::ForeignRouteHint);
        }
    }
    Ok(())
}

/// What the wallet agreed to in the REST flow; stored in the JIT record so the arrival check
/// survives a reload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowTerms {
    /// The accepted quote's id.
    pub fee_id: String,
    /// The accepted fee, charged on top of the inner amount in the wrapped invoice.
    pub fee_msat: u64,
    /// The wallet's own (inner) invoice amount.
    pub inner_amount_msat: u64,
    /// The accepted wrapped invoice (what the payer was given).
    pub wrapped_invoice: String,
}

impl FlowTerms {
    /// The wrapped invoice's amount, when the stored invoice parses and carries one (every
    /// accepted wrapped invoice does: [`check_wrapped_invoice`]).
    pub fn wrapped_amount_msat(&self) -> Option<u64> {
        Bolt11Invoice::from_str(&self.wrapped_invoice)
            .ok()?
            .amount_milli_satoshis()
    }

    /// How much less than `inner + fee` the wrapped invoice asks (its rounding down, at most
    /// [`AMOUNT_TOLERANCE_MSAT`]), normally 0; 0 when the stored invoice cannot be read. The
    /// payer's payment then leaves the LSP that much short of its quoted fee, and it is the most
    /// the LSP may skim ([`check_htlc_arrival`]).
    pub fn shortfall_msat(&self) -> u64 {
        let agreed = self.inner_amount_msat.saturating_add(self.fee_msat);
        self.wrapped_amount_msat()
            .map_or(0, |w| agreed.saturating_sub(w))
    }

    /// The fee the LSP took on a payment that delivered `received_msat` to the wallet: what the
    /// payer paid (the wrapped amount) minus what arrived; the agreed fee plus `skimmed_msat` when
    /// the wrapped invoice cannot be read.
    pub fn fee_taken_msat(&self, received_msat: u64, skimmed_msat: u64) -> u64 {
        match self.wrapped_amount_msat() {
            Some(w) => w.saturating_sub(received_msat),
            None => self.fee_msat.saturating_add(skimmed_msat),
        }
    }
}

/// The check before claiming a REST-flow JIT payment. The wrapped invoice already charged the fee
/// (the payer paid it), so the LSP keeps at most the quoted fee, exact to the msat: what it keeps
/// is the wrapped amount less what it forwards, so a skim (TLV 65537) is allowed only up to how
/// much the wrapped invoice fell short of `inner + fee` ([`FlowTerms::shortfall_msat`], normally
/// 0), and never more than `caps` leave beside the agreed fee; else [`Error::SkimTooHigh`] (the fee
/// taken twice). A wrapped invoice rounded up already left the LSP the excess: no skim on top of
/// it. What arrived plus the skim must cover the inner amount; else [`Error::Underpaid`]. Any
/// error means: fail the HTLCs back now.
pub fn check_htlc_arrival(
    terms: &FlowTerms,
    caps: &FeeCaps,
    amount_msat: u64,
    skimmed_fee_msat: u64,
) -> Result<(), Error> {
    let wrapped_msat = terms
        .inner_amount_msat
        .checked_add(terms.fee_msat)
        .ok_or(Error::AmountOverflow)?;
    let allowed_msat = terms.shortfall_msat().min(
        caps.max_fee_for(wrapped_msat)
            .saturating_sub(terms.fee_msat),
    );
    if skimmed_fee_msat > allowed_msat {
        return Err(Error::SkimTooHigh {
            skimmed_msat: skimmed_fee_msat,
            allowed_msat,
        });
    }
    let delivered = amount_msat
        .checked_add(skimmed_fee_msat)
        .ok_or(Error::AmountOverflow)?;
    if delivered < terms.inner_amount_msat {
        return Err(Error::Underpaid {
            received_msat: amount_msat,
            expected_msat: terms.inner_amount_msat.saturating_sub(skimmed_fee_msat),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{hint, pubkey, Inv};

    const LSP: u8 = 7;
    const WALLET: u8 = 1;
    const FEE: u64 = 2_000_000;

    fn inner() -> Inv {
        let mut i = Inv::new();
        i.signer = WALLET;
        i.amount_msat = Some(98_000_000);
        i
    }

    fn wrapped() -> Inv {
        let mut w = Inv::new();
        w.signer = LSP;
        w.amount_msat = Some(100_000_000);
        w.timestamp += 2;
        w.expiry_secs = Some(3600);
        w.min_final_cltv = 144;
        w.hints = vec![hint(pubkey(9), 42, 1000, 100, 40)];
        w
    }

    fn check(
        inner: &Inv,
        wrapped: &Inv,
        fee: u64,
        caps: &FeeCaps,
    ) -> Result<(), WrappedInvoiceFault> {
        check_wrapped_invoice(
            &inner.build(),
            &wrapped.build(),
            &pubkey(LSP),
            fee,
            caps,
            Network::Regtest,
        )
    }

    fn ok(inner: &Inv, wrapped: &Inv) -> Result<(), WrappedInvoiceFault> {
        check(inner, wrapped, FEE, &FeeCaps::UNLIMITED)
    }

    #[test]
    fn good_wrapped_invoice_accepted() {
        assert_eq!(ok(&inner(), &wrapped()), Ok(()));
        let s = wrapped().build().to_string();
        let parsed = parse_and_check_wrapped_invoice(
            &s,
            &inner().build(),
            &pubkey(LSP),
            FEE,
            &FeeCaps::default(),
            Network::Regtest,
        )
        .unwrap();
        assert_eq!(parsed.to_string(), s);
    }

    #[test]
    fn unparseable() {
        let r = parse_and_check_wrapped_invoice(
            "lnbcrt1garbage",
            &inner().build(),
            &pubkey(LSP),
            FEE,
            &FeeCaps::UNLIMITED,
            Network::Regtest,
        );
        assert_eq!(r.unwrap_err(), WrappedInvoiceFault::Unparseable);
        // a tampered character breaks checksum/signature
        let mut s = wrapped().build().to_string();
        let last = s.pop().unwrap();
        s.push(if last == 'q' { 'p' } else { 'q' });
        let r = parse_and_check_wrapped_invoice(
            &s,
            &inner().build(),
            &pubkey(LSP),
            FEE,
            &FeeCaps::UNLIMITED,
            Network::Regtest,
        );
        assert_eq!(r.unwrap_err(), WrappedInvoiceFault::Unparseable);
    }

    #[test]
    fn wrong_network() {
        let mut w = wrapped();
        w.currency = Currency::Bitcoin;
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::WrongNetwork));
        let mut i = inner();
        i.currency = Currency::Signet;
        assert_eq!(ok(&i, &wrapped()), Err(WrappedInvoiceFault::WrongNetwork));
        // both right for signet
        let mut i = inner();
        i.currency = Currency::Signet;
        let mut w = wrapped();
        w.currency = Currency::Signet;
        assert_eq!(
            check_wrapped_invoice(
                &i.build(),
                &w.build(),
                &pubkey(LSP),
                FEE,
                &FeeCaps::UNLIMITED,
                Network::Signet
            ),
            Ok(())
        );
    }

    #[test]
    fn wrong_hash() {
        let mut w = wrapped();
        w.hash = [0x12; 32];
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::WrongHash));
    }

    #[test]
    fn wrong_payee() {
        let mut w = wrapped();
        w.signer = 8;
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::WrongPayee));
        // the wallet's own invoice handed back is not a wrapped invoice either
        let mut w = inner();
        w.amount_msat = Some(100_000_000);
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::WrongPayee));
    }

    #[test]
    fn amount_tolerance_is_under_one_sat_either_way() {
        for (amt, good) in [
            (100_000_000, true),
            (100_000_999, true),
            (99_999_001, true),
            (100_001_000, false),
            (99_999_000, false),
            (200_000_000, false),
        ] {
            let mut w = wrapped();
            w.amount_msat = Some(amt);
            let r = ok(&inner(), &w);
            assert_eq!(r.is_ok(), good, "{} -> {:?}", amt, r);
            if !good {
                assert_eq!(r, Err(WrappedInvoiceFault::WrongAmount));
            }
        }
        let mut w = wrapped();
        w.amount_msat = None;
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::WrongAmount));
        let mut i = inner();
        i.amount_msat = None;
        assert_eq!(ok(&i, &wrapped()), Err(WrappedInvoiceFault::WrongAmount));
        // overflow of inner + fee
        assert_eq!(
            check(&inner(), &wrapped(), u64::MAX, &FeeCaps::UNLIMITED),
            Err(WrappedInvoiceFault::WrongAmount)
        );
    }

    #[test]
    fn fee_cap_uses_effective_fee() {
        // cap exactly the quoted fee: exact amount passes, +999 msat rounding does not
        let caps = FeeCaps {
            max_fee_msat: Some(FEE),
            max_fee_ppm: None,
        };
        assert_eq!(check(&inner(), &wrapped(), FEE, &caps), Ok(()));
        let mut w = wrapped();
        w.amount_msat = Some(100_000_999);
        assert_eq!(
            check(&inner(), &w, FEE, &caps),
            Err(WrappedInvoiceFault::FeeOverCap)
        );
        // ppm cap: 2 % of 100k sat is exactly the fee
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(20_000),
        };
        assert_eq!(check(&inner(), &wrapped(), FEE, &caps), Ok(()));
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(19_999),
        };
        assert_eq!(
            check(&inner(), &wrapped(), FEE, &caps),
            Err(WrappedInvoiceFault::FeeOverCap)
        );
    }

    #[test]
    fn fee_must_be_below_amount() {
        // inner of 0 msat: the whole payment would be fee
        let mut i = inner();
        i.amount_msat = Some(0);
        let mut w = wrapped();
        w.amount_msat = Some(FEE);
        assert_eq!(ok(&i, &w), Err(WrappedInvoiceFault::FeeOverCap));
    }

    #[test]
    fn expiry_must_not_outlive_inner() {
        let mut w = wrapped();
        w.timestamp = inner().timestamp + WRAPPED_EXPIRY_SKEW_SECS;
        assert_eq!(ok(&inner(), &w), Ok(()));
        w.timestamp += 1;
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::ExpiryTooLong));
        let mut w = wrapped();
        w.expiry_secs = Some(86_400);
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::ExpiryTooLong));
        // no expiry field means the 3600 s default
        let mut w = wrapped();
        w.expiry_secs = None;
        assert_eq!(ok(&inner(), &w), Ok(()));
        let mut i = inner();
        i.expiry_secs = Some(600);
        assert_eq!(ok(&i, &w), Err(WrappedInvoiceFault::ExpiryTooLong));
        // shorter is fine
        let mut w = wrapped();
        w.expiry_secs = Some(60);
        assert_eq!(ok(&inner(), &w), Ok(()));
    }

    #[test]
    fn final_cltv_range() {
        for (cltv, good) in [
            (24, true),
            (23, false),
            (720, true),
            (721, false),
            (5000, false),
        ] {
            let mut w = wrapped();
            w.min_final_cltv = cltv;
            let r = ok(&inner(), &w);
            assert_eq!(r.is_ok(), good, "{} -> {:?}", cltv, r);
            if !good {
                assert_eq!(r, Err(WrappedInvoiceFault::CltvInsane));
            }
        }
    }

    #[test]
    fn route_hints_only_to_the_lsp() {
        let mut w = wrapped();
        w.hints = vec![];
        assert_eq!(ok(&inner(), &w), Ok(()));
        let mut w = wrapped();
        w.hints.push(hint(pubkey(LSP), 43, 0, 0, 40));
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::ForeignRouteHint));
        let mut w = wrapped();
        w.hints = vec![hint(pubkey(WALLET), 44, 0, 0, 40)];
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::ForeignRouteHint));
        // two-hop hint through a third node is fine; through the wallet is not
        let mut two = hint(pubkey(10), 45, 0, 0, 40);
        two.0.push(hint(pubkey(11), 46, 0, 0, 40).0[0].clone());
        let mut w = wrapped();
        w.hints = vec![two.clone()];
        assert_eq!(ok(&inner(), &w), Ok(()));
        two.0.push(hint(pubkey(WALLET), 47, 0, 0, 40).0[0].clone());
        w.hints = vec![two];
        assert_eq!(ok(&inner(), &w), Err(WrappedInvoiceFault::ForeignRouteHint));
    }

    #[test]
    fn info_parses_and_filters_methods() {
        let json = r#"{
			"connection_methods": [
				{"address": "r46dwvxcdri754hf6n3rwexmc53h5x4natg5g6hidnxfzejm5xrqn2id.onion", "port": 9735, "type": "torv3"},
				{"address": "45.79.192.236", "port": 9735, "type": "ipv4"},
				{"address": "not an ip", "port": 9735, "type": "ipv4"},
				{"address": "::1", "port": 9735, "type": "ipv6"},
				{"address": "lsp.example.com", "port": 9735, "type": "dns"},
				{"address": "lsp.example.com", "port": 0, "type": "dns"},
				{"address": "ws.example.com", "port": 443, "type": "websocket"},
				{"address": "x", "port": 1, "type": "carrier-pigeon"}
			],
			"pubkey": "031b301307574bbe9b9ac7b79cbe1700e31e544513eae0b5d7497483083f99e581",
			"extra": true
		}"#;
        let info: InfoResponse = serde_json::from_str(json).unwrap();
        assert_eq!(info.connection_methods.len(), 8);
        assert_eq!(info.connection_methods[7].kind, ConnectionType::Unknown);
        let kinds: Vec<_> = info
            .usable_methods()
            .iter()
            .map(|m| (m.kind, m.address.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ConnectionType::Websocket, "ws.example.com"),
                (ConnectionType::Dns, "lsp.example.com"),
                (ConnectionType::Ipv4, "45.79.192.236"),
                (ConnectionType::Ipv6, "::1"),
            ]
        );
        assert!(info.check_identity(None).is_ok());
        assert!(info.check_identity(Some(&info.pubkey.clone())).is_ok());
        assert_eq!(
            info.check_identity(Some(&pubkey(3))),
            Err(Error::LspIdentityMismatch)
        );
        // a bad pubkey is a parse error
        assert!(serde_json::from_str::<InfoResponse>(
            r#"{"pubkey":"02zz","connection_methods":[]}"#
        )
        .is_err());
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("a.b-c.example"));
        assert!(is_hostname("localhost"));
        assert!(!is_hostname(""));
        assert!(!is_hostname("-a.com"));
        assert!(!is_hostname("a..com"));
        assert!(!is_hostname("a b.com"));
        assert!(!is_hostname("a.com/evil"));
    }

    #[test]
    fn fee_response_either_field() {
        let q =
            serde_json::from_str::<FeeResponse>(r#"{"id":"9b1deb4d-3b7d","amount_msat":2500000}"#)
                .unwrap()
                .into_quote()
                .unwrap();
        assert_eq!(
            q,
            FeeQuote {
                id: "9b1deb4d-3b7d".into(),
                fee_msat: 2_500_000
            }
        );
        let q = serde_json::from_str::<FeeResponse>(r#"{"id":"x","fee_amount_msat":7}"#)
            .unwrap()
            .into_quote()
            .unwrap();
        assert_eq!(q.fee_msat, 7);
        let q = serde_json::from_str::<FeeResponse>(
            r#"{"id":"x","fee_amount_msat":7,"amount_msat":7}"#,
        )
        .unwrap()
        .into_quote()
        .unwrap();
        assert_eq!(q.fee_msat, 7);
        let e = serde_json::from_str::<FeeResponse>(
            r#"{"id":"x","fee_amount_msat":7,"amount_msat":8}"#,
        )
        .unwrap()
        .into_quote();
        assert_eq!(e.unwrap_err().code(), "LSP_BAD_RESPONSE");
        let e = serde_json::from_str::<FeeResponse>(r#"{"id":"x"}"#)
            .unwrap()
            .into_quote();
        assert_eq!(e.unwrap_err().code(), "LSP_BAD_RESPONSE");
        let e = serde_json::from_str::<FeeResponse>(r#"{"id":"","amount_msat":1}"#)
            .unwrap()
            .into_quote();
        assert!(e.is_err());
        let e = serde_json::from_str::<FeeResponse>(r#"{"id":"a\nb","amount_msat":1}"#)
            .unwrap()
            .into_quote();
        assert!(e.is_err());
        let long = format!(
            r#"{{"id":"{}","amount_msat":1}}"#,
            "a".repeat(MAX_FEE_ID_LEN + 1)
        );
        assert!(serde_json::from_str::<FeeResponse>(&long)
            .unwrap()
            .into_quote()
            .is_err());
        // negative or fractional amounts do not parse
        assert!(serde_json::from_str::<FeeResponse>(r#"{"id":"x","amount_msat":-1}"#).is_err());
        assert!(serde_json::from_str::<FeeResponse>(r#"{"id":"x","amount_msat":1.5}"#).is_err());
    }

    #[test]
    fn check_fee_returns_inner_amount() {
        let q = FeeQuote {
            id: "x".into(),
            fee_msat: 2_000_000,
        };
        assert_eq!(
            check_fee(&q, 100_000_000, &FeeCaps::default()),
            Ok(98_000_000)
        );
        assert!(matches!(
            check_fee(&q, 2_000_000, &FeeCaps::UNLIMITED),
            Err(Error::FeeAboveCap { .. })
        ));
        assert!(matches!(
            check_fee(&q, 1_000_000, &FeeCaps::UNLIMITED),
            Err(Error::FeeAboveCap { .. })
        ));
        let caps = FeeCaps {
            max_fee_msat: Some(1_999_999),
            max_fee_ppm: None,
        };
        assert_eq!(
            check_fee(&q, 100_000_000, &caps),
            Err(Error::FeeAboveCap {
                fee_msat: 2_000_000,
                cap_msat: 1_999_999
            })
        );
    }

    #[test]
    fn requests_serialize_as_the_api_wants() {
        let r = FeeRequest {
            amount_msat: 100_000_000,
            pubkey: pubkey(1),
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["amount_msat"], 100_000_000);
        assert_eq!(v["pubkey"], pubkey(1).to_string());
        let p = ProposalRequest {
            bolt11: "lnbcrt1".into(),
            fee_id: "id".into(),
            simple_taproot: None,
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"bolt11":"lnbcrt1","fee_id":"id"}"#
        );
        let p = ProposalRequest {
            simple_taproot: Some(true),
            ..p
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"bolt11":"lnbcrt1","fee_id":"id","simpleTaproot":true}"#
        );
        let r: ProposalResponse = serde_json::from_str(r#"{"jit_bolt11":"lnbcrt5"}"#).unwrap();
        assert_eq!(r.jit_bolt11, "lnbcrt5");
    }

    #[test]
    fn error_mapping() {
        assert_eq!(
            map_error_response(
                400,
                r#"{"error":"Bad Request","message":"Cannot fund new channel at this time"}"#
            ),
            LspRejection::NoLiquidity
        );
        assert_eq!(
            map_error_response(
                400,
                r#"{"error":"x","message":"Invoice amount is too high"}"#
            ),
            LspRejection::PaymentTooLarge
        );
        assert_eq!(
            map_error_response(400, r#"{"message":"amount too low"}"#),
            LspRejection::PaymentTooSmall
        );
        assert_eq!(
            map_error_response(
                403,
                r#"{"message":"Service not available in your country"}"#
            ),
            LspRejection::Unavailable
        );
        assert_eq!(
            map_error_response(401, "<html>nope</html>"),
            LspRejection::Unauthorized
        );
        assert_eq!(map_error_response(403, ""), LspRejection::Unauthorized);
        assert_eq!(map_error_response(451, ""), LspRejection::Unavailable);
        assert_eq!(map_error_response(429, ""), LspRejection::RateLimited);
        assert_eq!(
            map_error_response(400, r#"{"error":"whatever"}"#),
            LspRejection::InvalidParams
        );
        assert_eq!(map_error_response(502, ""), LspRejection::ServerError);
        assert_eq!(map_error_response(418, ""), LspRejection::Other);
        // the text never reaches the error's message
        let e = Error::LspRejected(map_error_response(
            400,
            r#"{"message":"<script>Cannot fund</script>"}"#,
        ));
        assert!(!e.to_string().contains("script"));
    }

    fn arrival_terms(wrapped_msat: Option<u64>) -> FlowTerms {
        let wrapped_invoice = wrapped_msat.map_or(String::new(), |msat| {
            let mut w = Inv::new();
            w.signer = LSP;
            w.amount_msat = Some(msat);
            w.build().to_string()
        });
        FlowTerms {
            fee_id: "x".into(),
            fee_msat: 2_000_000,
            inner_amount_msat: 98_000_000,
            wrapped_invoice,
        }
    }

    /// The wrapped invoice carried the fee: the LSP delivers the inner amount in full, and any
    /// skim (exact to the msat, no rounding allowance) is the fee taken twice.
    #[test]
    fn arrival_refuses_the_fee_taken_twice() {
        let caps = FeeCaps::UNLIMITED;
        for t in [arrival_terms(Some(100_000_000)), arrival_terms(None)] {
            assert_eq!(t.shortfall_msat(), 0);
            assert_eq!(check_htlc_arrival(&t, &caps, 98_000_000, 0), Ok(()));
            assert_eq!(check_htlc_arrival(&t, &caps, 98_000_001, 0), Ok(()));
            // the double charge the old rules let through: the whole fee, half, 1 sat, 1 msat
            for (amount, skim) in [
                (96_000_000, 2_000_000),
                (97_000_000, 1_000_000),
                (97_999_000, 1_000),
                (97_999_999, 1),
            ] {
                assert_eq!(
                    check_htlc_arrival(&t, &caps, amount, skim),
                    Err(Error::SkimTooHigh {
                        skimmed_msat: skim,
                        allowed_msat: 0
                    }),
                    "skim {skim}"
                );
            }
            assert_eq!(
                check_htlc_arrival(&t, &caps, 97_999_999, 0),
                Err(Error::Underpaid {
                    received_msat: 97_999_999,
                    expected_msat: 98_000_000
                })
            );
            assert_eq!(
                check_htlc_arrival(&t, &caps, u64::MAX, 0),
                Ok(()),
                "more than the inner amount is no loss"
            );
        }
    }

    /// A wrapped invoice rounded down (within the tolerance of its check) leaves the LSP short of
    /// its quoted fee: it may skim exactly that much, so it keeps the quoted fee to the msat. One
    /// rounded up already left the LSP the excess: no skim on top.
    #[test]
    fn arrival_lets_the_lsp_keep_exactly_the_quoted_fee() {
        let caps = FeeCaps::UNLIMITED;
        let short = arrival_terms(Some(99_999_400));
        assert_eq!(short.shortfall_msat(), 600);
        assert_eq!(check_htlc_arrival(&short, &caps, 97_999_400, 600), Ok(()));
        assert_eq!(short.fee_taken_msat(97_999_400, 600), 2_000_000);
        assert_eq!(
            check_htlc_arrival(&short, &caps, 97_999_399, 601),
            Err(Error::SkimTooHigh {
                skimmed_msat: 601,
                allowed_msat: 600
            })
        );
        let over = arrival_terms(Some(100_000_600));
        assert_eq!(over.shortfall_msat(), 0);
        assert_eq!(
            check_htlc_arrival(&over, &caps, 97_999_999, 1),
            Err(Error::SkimTooHigh {
                skimmed_msat: 1,
                allowed_msat: 0
            })
        );
        // caps still bound the agreed fee plus the skim: 2 % of 100k sat is exactly the fee
        let caps = FeeCaps {
            max_fee_msat: None,
            max_fee_ppm: Some(20_000),
        };
        assert_eq!(
            check_htlc_arrival(&short, &caps, 97_999_999, 1),
            Err(Error::SkimTooHigh {
                skimmed_msat: 1,
                allowed_msat: 0
            })
        );
    }

    /// The fee recorded for a REST-flow receive is what the payer paid minus what arrived.
    #[test]
    fn fee_taken_is_wrapped_minus_received() {
        let t = arrival_terms(Some(100_000_000));
        assert_eq!(t.fee_taken_msat(98_000_000, 0), 2_000_000);
        assert_eq!(t.fee_taken_msat(97_999_000, 1_000), 2_001_000);
        let t = arrival_terms(Some(100_000_600));
        assert_eq!(t.fee_taken_msat(98_000_000, 0), 2_000_600);
        let unreadable = arrival_terms(None);
        assert_eq!(unreadable.fee_taken_msat(97_999_000, 1_000), 2_001_000);
    }
}
