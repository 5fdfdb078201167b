//! The HTTP layer's error type.

use core::fmt;

/// How much of an error response body is kept (in bytes, cut at a char boundary).
pub const MAX_ERROR_BODY: usize = 4096;

/// Why an HTTP request failed. Each variant has a stable [`code`](HttpError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The request could not be built (bad URL, bad header name or value).
    InvalidRequest(String),
    /// No response: DNS, connection refused, CORS refusal, offline. Browsers hide which.
    Network(String),
    /// No complete response within the timeout; the request was aborted.
    Timeout {
        /// The timeout that ran out, in milliseconds.
        millis: u64,
    },
    /// The server answered with a non-2xx status; `body` is the start of its body
    /// (lossy UTF-8, at most [`MAX_ERROR_BODY`] bytes).
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the body, lossy UTF-8.
        body: String,
        /// The `Retry-After` header in seconds, when present in that form and readable by the
        /// page (a cross-origin server must expose it with `Access-Control-Expose-Headers`).
        retry_after_secs: Option<u32>,
    },
    /// A 2xx body was not valid UTF-8 where text was expected.
    BodyNotText,
    /// A 2xx body was not the expected JSON.
    Json(String),
    /// The response body is larger than the client reads (declared by `Content-Length`, or
    /// counted as it streamed in); the request was aborted.
    BodyTooLarge {
        /// The most bytes the client reads.
        limit: usize,
    },
}

impl HttpError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HttpError::InvalidRequest(_) => "http_invalid_request",
            HttpError::Network(_) => "http_network",
            HttpError::Timeout { .. } => "http_timeout",
            HttpError::Status { .. } => "http_status",
            HttpError::BodyNotText => "http_body_not_text",
            HttpError::Json(_) => "http_json",
            HttpError::BodyTooLarge { .. } => "http_body_too_large",
        }
    }

    /// The HTTP status for [`HttpError::Status`], else `None`.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Builds a [`HttpError::Status`], keeping at most [`MAX_ERROR_BODY`] bytes of the body.
    pub fn from_status(status: u16, body: &[u8]) -> HttpError {
        let text = String::from_utf8_lossy(body);
        let mut end = text.len().min(MAX_ERROR_BODY);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        HttpError::Status {
            status,
            body: text[..end].to_string(),
            retry_after_secs: None,
        }
    }

    /// This error with the server's `Retry-After` (a [`HttpError::Status`]; others unchanged).
    pub fn with_retry_after(self, secs: Option<u32>) -> HttpError {
        match self {
            HttpError::Status { status, body, .. } => HttpError::Status {
                status,
                body,
                retry_after_secs: secs,
            },
            other => other,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            HttpError::Network(m) => write!(f, "network error: {m}"),
            HttpError::Timeout { millis } => write!(f, "no response within {millis} ms"),
            HttpError::Status { status, body, .. } => write!(f, "HTTP {status}: {body}"),
            HttpError::BodyNotText => write!(f, "the response body is not UTF-8 text"),
            HttpError::Json(m) => write!(f, "unexpected JSON: {m}"),
            HttpError::BodyTooLarge { limit } => {
                write!(f, "the response body is larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for HttpError {}

/// The seconds of a `Retry-After` header in its delta-seconds form (`"120"`). The HTTP-date form
/// gives `None`: the wallet then backs off on its own schedule.
pub fn parse_retry_after(value: &str) -> Option<u32> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        v.parse::<u64>()
            .map_or(u32::MAX, |s| s.min(u64::from(u32::MAX)) as u32),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_body_is_truncated_at_a_char_boundary() {
        let body = "é".repeat(MAX_ERROR_BODY); // 2 bytes each
        let e = HttpError::from_status(503, body.as_bytes());
        match &e {
            HttpError::Status { status, body, .. } => {
                assert_eq!(*status, 503);
                assert_eq!(body.len(), MAX_ERROR_BODY);
            }
            _ => panic!("wrong variant"),
        }
        assert_eq!(e.code(), "http_status");
        assert_eq!(e.status(), Some(503));
        let odd = format!("x{}", "é".repeat(MAX_ERROR_BODY));
        match HttpError::from_status(500, odd.as_bytes()) {
            HttpError::Status { body, .. } => assert_eq!(body.len(), MAX_ERROR_BODY - 1),
            _ => panic!("wrong variant"),
        }
    }

    #[test]
    fn invalid_utf8_is_kept_lossily() {
        match HttpError::from_status(400, &[b'b', b'a', b'd', 0xff]) {
            HttpError::Status { body, .. } => assert_eq!(body, "bad\u{fffd}"),
            _ => panic!("wrong variant"),
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        assert_eq!(parse_retry_after("120"), Some(120));
        assert_eq!(parse_retry_after(" 3 "), Some(3));
        assert_eq!(parse_retry_after("99999999999"), Some(u32::MAX));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
