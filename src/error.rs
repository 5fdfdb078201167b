//! The wallet's one error type.
//!
//! Every variant has a stable `UPPER_SNAKE` code ([`Error::code`]) that JS can branch on, an
//! optional stable `snake_case` sub-reason ([`Error::reason`]) for the variants that carry a
//! reason enum, and a human message ([`fmt::Display`]).
//!
//! No variant can carry text that came from outside the wallet: payloads are numbers, enums, and
//! `&'static str` written in this crate. An LSP's `message` string therefore can never reach the
//! user; what the LSP meant is mapped to an [`LspRejection`] first.

use core::fmt;

use bitcoin::Network;
use serde::{Deserialize, Serialize};

/// Why an LSP refused a request, mapped from an LSPS2 error code or an HTTP status (and, for
/// the REST flow, a few well-known phrases). Carries no LSP text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LspRejection {
    /// The token was refused or is stale (LSPS2 code 200, HTTP 401/403).
    Unauthorized,
    /// The request's parameters were refused, e.g. expired or altered LSPS2 fee params (code 201,
    /// HTTP 400 without a recognised phrase).
    InvalidParams,
    /// The payment is below what the LSP accepts (LSPS2 code 202).
    PaymentTooSmall,
    /// The payment is above what the LSP accepts (LSPS2 code 203, "amount is too high").
    PaymentTooLarge,
    /// The LSP cannot fund a channel right now ("Cannot fund new channel at this time").
    NoLiquidity,
    /// The service is not offered to this client (HTTP 404/451, geo-blocking).
    Unavailable,
    /// The LSP asks the wallet to slow down (HTTP 429).
    RateLimited,
    /// The LSP failed internally (HTTP 5xx, JSON-RPC internal errors).
    ServerError,
    /// Any other refusal.
    Other,
}

impl LspRejection {
    /// Stable snake_case code of this reason.
    pub fn code(&self) -> &'static str {
        match self {
            LspRejection::Unauthorized => "unauthorized",
            LspRejection::InvalidParams => "invalid_params",
            LspRejection::PaymentTooSmall => "payment_too_small",
            LspRejection::PaymentTooLarge => "payment_too_large",
            LspRejection::NoLiquidity => "no_liquidity",
            LspRejection::Unavailable => "unavailable",
            LspRejection::RateLimited => "rate_limited",
            LspRejection::ServerError => "server_error",
            LspRejection::Other => "other",
        }
    }

    /// Maps an LSPS0/LSPS2 JSON-RPC error code to a reason (bLIP-52: 200 stale token, 201 invalid
    /// params, 202 too small, 203 too large or no liquidity; JSON-RPC -32603 internal error).
    pub fn from_lsps2_code(code: i32) -> Self {
        match code {
            200 => LspRejection::Unauthorized,
            201 => LspRejection::InvalidParams,
            202 => LspRejection::PaymentTooSmall,
            203 => LspRejection::PaymentTooLarge,
            -32603 => LspRejection::ServerError,
            -32602 | -32600 | -32601 | -32700 => LspRejection::InvalidParams,
            _ => LspRejection::Other,
        }
    }

    fn message(&self) -> &'static str {
        match self {
            LspRejection::Unauthorized => "the LSP refused the access token",
            LspRejection::InvalidParams => "the LSP refused the request's parameters",
            LspRejection::PaymentTooSmall => "the amount is below the LSP's minimum",
            LspRejection::PaymentTooLarge => "the amount is above the LSP's maximum",
            LspRejection::NoLiquidity => "the LSP cannot open a channel right now",
            LspRejection::Unavailable => "the LSP does not offer this service to this wallet",
            LspRejection::RateLimited => "the LSP asks to retry later",
            LspRejection::ServerError => "the LSP failed internally",
            LspRejection::Other => "the LSP refused the request",
        }
    }
}

/// Why a wrapped invoice (`jit_bolt11` from the REST flow) was refused (protocols.md A).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WrappedInvoiceFault {
    /// Its payment hash differs from the wallet's own invoice.
    WrongHash,
    /// Its payee is not the LSP the wallet trusts for 0-conf.
    WrongPayee,
    /// It is for another network than the wallet's (or the wallet's own invoice is).
    WrongNetwork,
    /// Its amount is missing or is not the inner amount plus the quoted fee (1 sat tolerance).
    WrongAmount,
    /// The fee it implies is above the caller's cap or not below the amount.
    FeeOverCap,
    /// It stays payable longer than the wallet's own invoice.
    ExpiryTooLong,
    /// Its final CLTV delta is outside the sane range.
    CltvInsane,
    /// It carries a route hint that does not end at the LSP or passes through the LSP or wallet.
    ForeignRouteHint,
    /// It is not a valid, correctly signed BOLT11 invoice.
    Unparseable,
}

impl WrappedInvoiceFault {
    /// Stable snake_case code of this fault.
    pub fn code(&self) -> &'static str {
        match self {
            WrappedInvoiceFault::WrongHash => "wrong_hash",
            WrappedInvoiceFault::WrongPayee => "wrong_payee",
            WrappedInvoiceFault::WrongNetwork => "wrong_network",
            WrappedInvoiceFault::WrongAmount => "wrong_amount",
            WrappedInvoiceFault::FeeOverCap => "fee_over_cap",
            WrappedInvoiceFault::ExpiryTooLong => "expiry_too_long",
            WrappedInvoiceFault::CltvInsane => "cltv_insane",
            WrappedInvoiceFault::ForeignRouteHint => "foreign_route_hint",
            WrappedInvoiceFault::Unparseable => "unparseable",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            WrappedInvoiceFault::WrongHash => "its payment hash is not the wallet's",
            WrappedInvoiceFault::WrongPayee => "it is not payable to the configured LSP",
            WrappedInvoiceFault::WrongNetwork => "it is for another network",
            WrappedInvoiceFault::WrongAmount => "its amount is not the amount plus the quoted fee",
            WrappedInvoiceFault::FeeOverCap => "its fee is above the allowed maximum",
            WrappedInvoiceFault::ExpiryTooLong => "it expires after the wallet's own invoice",
            WrappedInvoiceFault::CltvInsane => "its final CLTV delta is out of range",
            WrappedInvoiceFault::ForeignRouteHint => "it routes through nodes other than the LSP",
            WrappedInvoiceFault::Unparseable => "it is not a valid invoice",
        }
    }
}

/// What is wrong with an LSPS2 `opening_fee_params_menu` or the entry chosen from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferFault {
    /// The menu is empty or no entry is usable for this receive.
    NoValidOffer,
    /// An entry has a field bLIP-52 does not define (the client must abort).
    UnknownField,
    /// An entry's `promise` is longer than 512 bytes (the client must abort).
    PromiseTooLong,
    /// Every otherwise usable entry expires too soon.
    Expired,
    /// The amount is outside every entry's `[min_payment_size_msat, max_payment_size_msat]`.
    AmountOutOfRange,
    /// Computing a fee overflowed u64 (the client must abort).
    Overflow,
    /// The menu or an entry is not well-formed JSON of the expected shape.
    Malformed,
    /// `buy` answered `client_trusts_lsp: true` (the LSP keeps the funding transaction until the
    /// wallet has revealed the preimage) to a wallet configured `trustMinimized`.
    ClientTrustsLsp,
}

impl OfferFault {
    /// Stable snake_case code of this fault.
    pub fn code(&self) -> &'static str {
        match self {
            OfferFault::NoValidOffer => "no_valid_offer",
            OfferFault::UnknownField => "unknown_field",
            OfferFault::PromiseTooLong => "promise_too_long",
            OfferFault::Expired => "expired",
            OfferFault::AmountOutOfRange => "amount_out_of_range",
            OfferFault::Overflow => "overflow",
            OfferFault::Malformed => "malformed",
            OfferFault::ClientTrustsLsp => "client_trusts_lsp",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            OfferFault::NoValidOffer => "the LSP offered no usable channel terms",
            OfferFault::UnknownField => "the LSP's terms contain an unknown field",
            OfferFault::PromiseTooLong => "the LSP's terms carry an oversized promise",
            OfferFault::Expired => "the LSP's terms have expired",
            OfferFault::AmountOutOfRange => "the amount is outside the LSP's limits",
            OfferFault::Overflow => "the LSP's fee cannot be computed (overflow)",
            OfferFault::Malformed => "the LSP's terms are malformed",
            OfferFault::ClientTrustsLsp => {
                "the LSP asks to be trusted with the channel's funding, and this wallet is trust-minimized"
            }
        }
    }
}

/// Why a Rapid Gossip Sync round failed. The routing graph is never trusted for safety, only for
/// finding routes: on any of these the previous graph is kept whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphFault {
    /// The RGS server could not be reached, or answered an HTTP error.
    Unreachable,
    /// The download took longer than allowed.
    Timeout,
    /// The snapshot is larger than the wallet accepts.
    TooLarge,
    /// The snapshot is not one (wrong prefix or version, truncated, undecodable).
    Malformed,
    /// The snapshot is for another chain.
    WrongChain,
    /// The snapshot is more than two weeks old.
    Stale,
    /// The snapshot holds counts no real graph has.
    AbsurdCounts,
    /// The graph refused the snapshot's content.
    Refused,
}

impl GraphFault {
    /// Stable snake_case code of this fault.
    pub fn code(&self) -> &'static str {
        match self {
            GraphFault::Unreachable => "unreachable",
            GraphFault::Timeout => "timeout",
            GraphFault::TooLarge => "too_large",
            GraphFault::Malformed => "malformed",
            GraphFault::WrongChain => "wrong_chain",
            GraphFault::Stale => "stale",
            GraphFault::AbsurdCounts => "absurd_counts",
            GraphFault::Refused => "refused",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            GraphFault::Unreachable => "the routing graph server could not be reached",
            GraphFault::Timeout => "the routing graph download timed out",
            GraphFault::TooLarge => "the routing graph snapshot is too large",
            GraphFault::Malformed => "the routing graph snapshot is malformed",
            GraphFault::WrongChain => "the routing graph snapshot is for another chain",
            GraphFault::Stale => "the routing graph snapshot is more than two weeks old",
            GraphFault::AbsurdCounts => "the routing graph snapshot holds impossible counts",
            GraphFault::Refused => "the routing graph refused the snapshot",
        }
    }
}

/// Every error the wallet reports. See the module doc for the guarantees on codes and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A config field is missing or invalid; `field` is the camelCase config key.
    InvalidConfig {
        /// The offending config key (camelCase, as JS passes it).
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The mnemonic is not a valid BIP39 English phrase.
    InvalidMnemonic,
    /// The storage refused a read or write: fatal, the node must stop.
    StorageFailed,
    /// Stored data could not be decoded: fatal, the node must stop.
    StorageCorrupt {
        /// Which record.
        what: &'static str,
    },
    /// Creating something that already exists (e.g. a wallet where one is stored).
    AlreadyExists {
        /// What exists.
        what: &'static str,
    },
    /// Something looked up does not exist.
    NotFound {
        /// What was looked up.
        what: &'static str,
    },
    /// Another tab or worker already runs this wallet: the same storage name, or the same seed
    /// under another storage name (one node per seed).
    AlreadyRunning,
    /// Something is for another network than the wallet's.
    NetworkMismatch {
        /// The wallet's network.
        expected: Network,
        /// The network found.
        found: Network,
    },
    /// An invoice given to pay, or built to receive, is not acceptable.
    InvalidInvoice {
        /// Why.
        reason: &'static str,
    },
    /// The LSP could not be reached (network error, timeout).
    LspUnreachable,
    /// The LSP answered something that is not a valid answer.
    LspBadResponse {
        /// Which part of the answer is bad.
        what: &'static str,
    },
    /// The LSP's node id differs from the one the wallet trusts: pinned in the config, or trusted on
    /// first use and stored with the wallet.
    LspIdentityMismatch,
    /// The LSP refused the request.
    LspRejected(LspRejection),
    /// The LSP's fee is above what the caller allows.
    FeeAboveCap {
        /// The fee asked.
        fee_msat: u64,
        /// The most the caller allows for this amount.
        cap_msat: u64,
    },
    /// The wrapped invoice from the REST flow failed a check.
    InvalidWrappedInvoice(WrappedInvoiceFault),
    /// The LSPS2 fee menu or the chosen entry failed a check.
    InvalidLsps2Offer(OfferFault),
    /// An arriving JIT payment had more skimmed than was agreed.
    SkimTooHigh {
        /// What the LSP withheld.
        skimmed_msat: u64,
        /// The most it may withhold.
        allowed_msat: u64,
    },
    /// A fee was skimmed from a payment that is not a known JIT receive.
    UnexpectedSkim {
        /// What the LSP withheld.
        skimmed_msat: u64,
    },
    /// An arriving payment is smaller than what is owed to the wallet.
    Underpaid {
        /// What arrived (after any skim).
        received_msat: u64,
        /// The least the wallet accepts.
        expected_msat: u64,
    },
    /// A variable-amount LSPS2 payment arrived for a size outside the bought terms'
    /// `[min_payment_size_msat, max_payment_size_msat]`, or its fee would not stay below it.
    PaymentOutOfRange {
        /// What the payer sent (arrived plus skimmed).
        sent_msat: u64,
        /// The smallest size the terms allow.
        min_msat: u64,
        /// The largest size the terms allow.
        max_msat: u64,
    },
    /// A msat computation overflowed u64.
    AmountOverflow,
    /// An amount given by the caller is not a whole number of msat in JS's exact integer range
    /// (0..=2^53-1), or is zero where a payment needs one.
    InvalidAmount {
        /// Why.
        reason: &'static str,
    },
    /// An outbound payment failed.
    PaymentFailed {
        /// Why.
        reason: &'static str,
    },
    /// `pay` stopped waiting (its `timeoutSecs`) while the payment is still in flight: it may
    /// still succeed or fail; the outcome comes as a `payment_sent` / `payment_failed` event and
    /// in the history. Nothing is lost and nothing should be paid again.
    PaymentPending,
    /// Not enough outbound balance (or on-chain funds) for the operation.
    InsufficientFunds,
    /// An on-chain address is not a valid address (one for another network is
    /// [`Error::NetworkMismatch`]).
    InvalidAddress,
    /// An on-chain amount is below the dust limit of the address it would pay: no node would
    /// relay the transaction.
    AmountBelowDust {
        /// The smallest amount that address can be paid.
        dust_sat: u64,
    },
    /// An on-chain send would leave less than the reserve the wallet keeps on chain to bump the
    /// fees of its anchor channels' closing transactions.
    AnchorReserve {
        /// The reserve kept.
        reserve_sat: u64,
        /// Confirmed on-chain funds now.
        confirmed_sat: u64,
    },
    /// An on-chain send could not be made or was refused by the chain; nothing was spent.
    OnchainSendFailed {
        /// Why.
        reason: &'static str,
    },
    /// No channel can take this incoming amount and no LSP is usable.
    NoInboundCapacity,
    /// Connecting to a peer failed.
    PeerConnectionFailed,
    /// The chain source (Esplora) failed or answered nonsense.
    ChainSourceFailed,
    /// The chain source could not serve a sync round (rate limit, server error, unreachable,
    /// timeout, a bad answer). Non-fatal: the wallet waits longer before the next round
    /// (`chain::pacing`) and catches up when it answers again; nothing is lost meanwhile.
    /// `reason` is the [`ChainFault`](crate::chain::pacing::ChainFault)'s name.
    ChainSourceUnavailable(crate::chain::pacing::ChainUnavailable),
    /// A routing graph sync (Rapid Gossip Sync) failed; the previous graph is kept. Non-fatal:
    /// receiving is unaffected, paying beyond the LSP may find no route until a sync succeeds.
    GraphSyncFailed(GraphFault),
    /// A channel operation failed.
    ChannelFailed {
        /// Why.
        reason: &'static str,
    },
    /// A JIT receive got an event its state does not allow.
    InvalidStateTransition {
        /// The state's name.
        from: &'static str,
        /// The trigger's name.
        trigger: &'static str,
    },
    /// The node is stopped.
    Stopped,
    /// Another context took this wallet's instance lock (`steal: true`) or the browser
    /// released it: the node stopped before its next write.
    LockLost,
    /// A JS argument other than a config field or an amount has the wrong type or value (a
    /// non-string where a string is expected, a bad storage name, a bad number).
    InvalidArgument {
        /// The argument's name (camelCase, as JS passes it).
        argument: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl Error {
    /// Stable UPPER_SNAKE code of this error, one per variant.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidConfig { .. } => "INVALID_CONFIG",
            Error::InvalidMnemonic => "INVALID_MNEMONIC",
            Error::StorageFailed => "STORAGE_FAILED",
            Error::StorageCorrupt { .. } => "STORAGE_CORRUPT",
            Error::AlreadyExists { .. } => "ALREADY_EXISTS",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::AlreadyRunning => "ALREADY_RUNNING",
            Error::NetworkMismatch { .. } => "NETWORK_MISMATCH",
            Error::InvalidInvoice { .. } => "INVALID_INVOICE",
            Error::LspUnreachable => "LSP_UNREACHABLE",
            Error::LspBadResponse { .. } => "LSP_BAD_RESPONSE",
            Error::LspIdentityMismatch => "LSP_IDENTITY_MISMATCH",
            Error::LspRejected(_) => "LSP_REJECTED",
            Error::FeeAboveCap { .. } => "FEE_ABOVE_CAP",
            Error::InvalidWrappedInvoice(_) => "INVALID_WRAPPED_INVOICE",
            Error::InvalidLsps2Offer(_) => "INVALID_LSPS2_OFFER",
            Error::SkimTooHigh { .. } => "SKIM_TOO_HIGH",
            Error::UnexpectedSkim { .. } => "UNEXPECTED_SKIM",
            Error::Underpaid { .. } => "UNDERPAID",
            Error::PaymentOutOfRange { .. } => "PAYMENT_OUT_OF_RANGE",
            Error::AmountOverflow => "AMOUNT_OVERFLOW",
            Error::InvalidAmount { .. } => "INVALID_AMOUNT",
            Error::PaymentFailed { .. } => "PAYMENT_FAILED",
            Error::PaymentPending => "PAYMENT_PENDING",
            Error::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Error::InvalidAddress => "INVALID_ADDRESS",
            Error::AmountBelowDust { .. } => "AMOUNT_BELOW_DUST",
            Error::AnchorReserve { .. } => "ANCHOR_RESERVE",
            Error::OnchainSendFailed { .. } => "ONCHAIN_SEND_FAILED",
            Error::NoInboundCapacity => "NO_INBOUND_CAPACITY",
            Error::PeerConnectionFailed => "PEER_CONNECTION_FAILED",
            Error::ChainSourceFailed => "CHAIN_SOURCE_FAILED",
            Error::ChainSourceUnavailable(_) => "CHAIN_SOURCE_UNAVAILABLE",
            Error::GraphSyncFailed(_) => "GRAPH_SYNC_FAILED",
            Error::ChannelFailed { .. } => "CHANNEL_FAILED",
            Error::InvalidStateTransition { .. } => "INVALID_STATE_TRANSITION",
            Error::Stopped => "STOPPED",
            Error::LockLost => "LOCK_LOST",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
        }
    }

    /// Stable snake_case sub-reason for the variants that wrap a reason enum
    /// ([`LspRejection`], [`WrappedInvoiceFault`], [`OfferFault`]); `None` for the others.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Error::LspRejected(r) => Some(r.code()),
            Error::InvalidWrappedInvoice(f) => Some(f.code()),
            Error::InvalidLsps2Offer(f) => Some(f.code()),
            Error::GraphSyncFailed(f) => Some(f.code()),
            Error::ChainSourceUnavailable(c) => Some(c.fault.code()),
            _ => None,
        }
    }

    /// The node's error for a store failure while handling `what` (a record kind, e.g.
    /// `"jit record"`): an undecodable record is `STORAGE_CORRUPT` naming it, a held instance
    /// lock `ALREADY_RUNNING`, any other failure `STORAGE_FAILED`.
    pub fn from_store(e: crate::store::StoreError, what: &'static str) -> Error {
        use crate::store::StoreError;
        match e {
            StoreError::Corrupt(_) => Error::StorageCorrupt { what },
            StoreError::AlreadyRunning => Error::AlreadyRunning,
            _ => Error::StorageFailed,
        }
    }

    /// True when the node must stop rather than carry on (storage can no longer be trusted).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::StorageFailed | Error::StorageCorrupt { .. } | Error::LockLost
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig { field, problem } => {
                write!(f, "Invalid config: {}: {}", field, problem)
            }
            Error::InvalidMnemonic => {
                f.write_str("The recovery phrase is not a valid BIP39 English phrase")
            }
            Error::StorageFailed => {
                f.write_str("The browser storage failed; the wallet stopped to protect its funds")
            }
            Error::StorageCorrupt { what } => write!(
                f,
                "Stored data is corrupt ({}); the wallet stopped to protect its funds",
                what
            ),
            Error::AlreadyExists { what } => write!(f, "{} already exists", what),
            Error::NotFound { what } => write!(f, "{} not found", what),
            Error::AlreadyRunning => {
                f.write_str("This wallet (this storage name or this seed) is already open in another tab, window or storage name")
            }
            Error::NetworkMismatch { expected, found } => write!(
                f,
                "Network mismatch: the wallet is on {}, this is for {}",
                expected, found
            ),
            Error::InvalidInvoice { reason } => write!(f, "Invalid invoice: {}", reason),
            Error::LspUnreachable => f.write_str("The LSP could not be reached"),
            Error::LspBadResponse { what } => {
                write!(f, "The LSP sent an invalid answer ({})", what)
            }
            Error::LspIdentityMismatch => {
                f.write_str("The LSP's node id is not the configured one")
            }
            Error::LspRejected(r) => write!(f, "LSP refused: {}", r.message()),
            Error::FeeAboveCap { fee_msat, cap_msat } => write!(
                f,
                "The LSP's fee of {} msat is above the allowed {} msat",
                fee_msat, cap_msat
            ),
            Error::InvalidWrappedInvoice(fault) => {
                write!(f, "The LSP's invoice was refused: {}", fault.message())
            }
            Error::InvalidLsps2Offer(fault) => write!(
                f,
                "The LSP's channel terms were refused: {}",
                fault.message()
            ),
            Error::SkimTooHigh {
                skimmed_msat,
                allowed_msat,
            } => write!(
                f,
                "The LSP withheld {} msat, more than the agreed {} msat",
                skimmed_msat, allowed_msat
            ),
            Error::UnexpectedSkim { skimmed_msat } => write!(
                f,
                "A peer withheld {} msat from a payment that allowed no fee",
                skimmed_msat
            ),
            Error::Underpaid {
                received_msat,
                expected_msat,
            } => write!(
                f,
                "Received {} msat, less than the {} msat owed",
                received_msat, expected_msat
            ),
            Error::PaymentOutOfRange {
                sent_msat,
                min_msat,
                max_msat,
            } => write!(
                f,
                "A payment of {} msat is outside the LSP's terms ({} to {} msat)",
                sent_msat, min_msat, max_msat
            ),
            Error::AmountOverflow => f.write_str("An amount computation overflowed"),
            Error::InvalidAmount { reason } => write!(f, "Invalid amount: {}", reason),
            Error::PaymentFailed { reason } => write!(f, "Payment failed: {}", reason),
            Error::PaymentPending => {
                f.write_str("The payment is still in flight; its outcome will show in the history")
            }
            Error::InsufficientFunds => f.write_str("Insufficient funds"),
            Error::InvalidAddress => f.write_str("Not a valid bitcoin address"),
            Error::AmountBelowDust { dust_sat } => write!(
                f,
                "The amount is below the {} sat dust limit of this address",
                dust_sat
            ),
            Error::AnchorReserve {
                reserve_sat,
                confirmed_sat,
            } => write!(
                f,
                "The wallet keeps {} sat on chain to bump its channels' closing fees ({} sat confirmed)",
                reserve_sat, confirmed_sat
            ),
            Error::OnchainSendFailed { reason } => {
                write!(f, "The on-chain send failed: {}", reason)
            }
            Error::NoInboundCapacity => f.write_str("No inbound capacity for this amount"),
            Error::PeerConnectionFailed => f.write_str("Could not connect to the peer"),
            Error::ChainSourceFailed => f.write_str("The chain source failed"),
            Error::ChainSourceUnavailable(c) => match c.retry_after_secs {
                Some(secs) => write!(
                    f,
                    "The chain source is unavailable ({}); it asked to wait {} s",
                    c.fault.code(),
                    secs
                ),
                None => write!(
                    f,
                    "The chain source is unavailable ({}); retrying later",
                    c.fault.code()
                ),
            },
            Error::GraphSyncFailed(fault) => {
                write!(f, "Routing graph sync failed: {}", fault.message())
            }
            Error::ChannelFailed { reason } => write!(f, "Channel operation failed: {}", reason),
            Error::InvalidStateTransition { from, trigger } => {
                write!(f, "A JIT receive in state {} cannot take {}", from, trigger)
            }
            Error::Stopped => f.write_str("The wallet is stopped"),
            Error::LockLost => {
                f.write_str("Another tab or worker took this wallet's lock; the wallet stopped")
            }
            Error::InvalidArgument { argument, problem } => {
                write!(f, "Invalid argument: {}: {}", argument, problem)
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashSet;

    /// One error of every variant.
    pub(crate) fn all() -> Vec<Error> {
        vec![
            Error::InvalidConfig {
                field: "esploraUrl",
                problem: "must be an http(s) URL",
            },
            Error::InvalidMnemonic,
            Error::StorageFailed,
            Error::StorageCorrupt { what: "jit record" },
            Error::AlreadyExists { what: "wallet" },
            Error::NotFound { what: "payment" },
            Error::AlreadyRunning,
            Error::NetworkMismatch {
                expected: Network::Regtest,
                found: Network::Bitcoin,
            },
            Error::InvalidInvoice { reason: "expired" },
            Error::LspUnreachable,
            Error::LspBadResponse { what: "fee" },
            Error::LspIdentityMismatch,
            Error::LspRejected(LspRejection::NoLiquidity),
            Error::FeeAboveCap {
                fee_msat: 2,
                cap_msat: 1,
            },
            Error::InvalidWrappedInvoice(WrappedInvoiceFault::WrongHash),
            Error::InvalidLsps2Offer(OfferFault::Expired),
            Error::SkimTooHigh {
                skimmed_msat: 2,
                allowed_msat: 1,
            },
            Error::UnexpectedSkim { skimmed_msat: 1 },
            Error::Underpaid {
                received_msat: 1,
                expected_msat: 2,
            },
            Error::PaymentOutOfRange {
                sent_msat: 1,
                min_msat: 2,
                max_msat: 3,
            },
            Error::AmountOverflow,
            Error::InvalidAmount {
                reason: "fractional",
            },
            Error::PaymentFailed { reason: "no route" },
            Error::PaymentPending,
            Error::InsufficientFunds,
            Error::InvalidAddress,
            Error::AmountBelowDust { dust_sat: 294 },
            Error::AnchorReserve {
                reserve_sat: 2,
                confirmed_sat: 1,
            },
            Error::OnchainSendFailed {
                reason: "refused by the chain",
            },
            Error::NoInboundCapacity,
            Error::PeerConnectionFailed,
            Error::ChainSourceFailed,
            Error::ChainSourceUnavailable(crate::chain::pacing::ChainUnavailable {
                fault: crate::chain::pacing::ChainFault::RateLimited,
                retry_after_secs: Some(20),
            }),
            Error::GraphSyncFailed(GraphFault::WrongChain),
            Error::ChannelFailed { reason: "closed" },
            Error::InvalidStateTransition {
                from: "claimed",
                trigger: "channel_ready",
            },
            Error::Stopped,
            Error::LockLost,
            Error::InvalidArgument {
                argument: "invoice",
                problem: "must be a string",
            },
        ]
    }

    #[test]
    fn codes_are_unique_upper_snake() {
        let mut seen = HashSet::new();
        for e in all() {
            let c = e.code();
            assert!(
                c.chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_'),
                "{}",
                c
            );
            assert!(seen.insert(c), "duplicate code {}", c);
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn reasons_are_snake_case_and_unique_per_enum() {
        let faults = [
            WrappedInvoiceFault::WrongHash,
            WrappedInvoiceFault::WrongPayee,
            WrappedInvoiceFault::WrongNetwork,
            WrappedInvoiceFault::WrongAmount,
            WrappedInvoiceFault::FeeOverCap,
            WrappedInvoiceFault::ExpiryTooLong,
            WrappedInvoiceFault::CltvInsane,
            WrappedInvoiceFault::ForeignRouteHint,
            WrappedInvoiceFault::Unparseable,
        ];
        let codes: HashSet<_> = faults.iter().map(|f| f.code()).collect();
        assert_eq!(codes.len(), faults.len());
        for f in faults {
            let e = Error::InvalidWrappedInvoice(f);
            assert_eq!(e.reason(), Some(f.code()));
            // serde names equal the codes, so JS sees one spelling.
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.code())
            );
        }
        let offers = [
            OfferFault::NoValidOffer,
            OfferFault::UnknownField,
            OfferFault::PromiseTooLong,
            OfferFault::Expired,
            OfferFault::AmountOutOfRange,
            OfferFault::Overflow,
            OfferFault::Malformed,
            OfferFault::ClientTrustsLsp,
        ];
        for f in offers {
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.code())
            );
        }
        let rejections = [
            LspRejection::Unauthorized,
            LspRejection::InvalidParams,
            LspRejection::PaymentTooSmall,
            LspRejection::PaymentTooLarge,
            LspRejection::NoLiquidity,
            LspRejection::Unavailable,
            LspRejection::RateLimited,
            LspRejection::ServerError,
            LspRejection::Other,
        ];
        for r in rejections {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
        assert_eq!(Error::Stopped.reason(), None);
    }

    #[test]
    fn lsps2_codes_map_to_reasons() {
        assert_eq!(
            LspRejection::from_lsps2_code(200),
            LspRejection::Unauthorized
        );
        assert_eq!(
            LspRejection::from_lsps2_code(201),
            LspRejection::InvalidParams
        );
        assert_eq!(
            LspRejection::from_lsps2_code(202),
            LspRejection::PaymentTooSmall
        );
        assert_eq!(
            LspRejection::from_lsps2_code(203),
            LspRejection::PaymentTooLarge
        );
        assert_eq!(
            LspRejection::from_lsps2_code(-32603),
            LspRejection::ServerError
        );
        assert_eq!(LspRejection::from_lsps2_code(12345), LspRejection::Other);
    }

    #[test]
    fn store_failures_map_to_one_code_each() {
        use crate::store::StoreError;
        assert_eq!(
            Error::from_store(StoreError::Corrupt("x".into()), "jit record"),
            Error::StorageCorrupt { what: "jit record" }
        );
        assert_eq!(
            Error::from_store(StoreError::AlreadyRunning, "lock"),
            Error::AlreadyRunning
        );
        for e in [StoreError::Closed, StoreError::QuotaExceeded("full".into())] {
            assert_eq!(Error::from_store(e, "x"), Error::StorageFailed);
        }
    }

    #[test]
    fn only_storage_and_lock_errors_are_fatal() {
        for e in all() {
            let fatal = matches!(
                e,
                Error::StorageFailed | Error::StorageCorrupt { .. } | Error::LockLost
            );
            assert_eq!(e.is_fatal(), fatal, "{:?}", e);
        }
    }
}
