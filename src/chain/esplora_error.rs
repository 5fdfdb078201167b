//! The Esplora client's error type.

use core::fmt;

use crate::net::HttpError;

/// Why an Esplora call failed. Each variant has a stable [`code`](EsploraError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsploraError {
    /// The HTTP request failed (its own code is kept: `http_status`, `http_timeout`, ...).
    Http(HttpError),
    /// The server's answer is not the documented shape; `what` names the endpoint's value.
    Parse {
        /// The endpoint's value that did not parse (`"tip hash"`, `"header"`, ...).
        what: &'static str,
        /// The parser's message.
        message: String,
    },
    /// The answer parsed but contradicts what was asked or what it claims (a header whose
    /// hash is not the one requested, a transaction whose txid differs, a proof that does
    /// not reach the block's merkle root). Treat the server as unreliable.
    Mismatch(String),
}

impl EsploraError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EsploraError::Http(e) => e.code(),
            EsploraError::Parse { .. } => "esplora_parse",
            EsploraError::Mismatch(_) => "esplora_mismatch",
        }
    }

    pub(crate) fn parse(what: &'static str, message: impl fmt::Display) -> EsploraError {
        EsploraError::Parse {
            what,
            message: message.to_string(),
        }
    }
}

impl From<HttpError> for EsploraError {
    fn from(e: HttpError) -> Self {
        EsploraError::Http(e)
    }
}

impl fmt::Display for EsploraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EsploraError::Http(e) => write!(f, "esplora: {e}"),
            EsploraError::Parse { what, message } => {
                write!(f, "esplora: cannot parse {what}: {message}")
            }
            EsploraError::Mismatch(m) => write!(f, "esplora: inconsistent answer: {m}"),
        }
    }
}

impl std::error::Error for EsploraError {}
