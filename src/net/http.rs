//! HTTP over the browser's `fetch`: GET/POST of bytes, text and JSON with default headers
//! and a timeout.
//!
//! Guarantees: a call resolves within its timeout (the `AbortController` also aborts a body
//! still downloading); a non-2xx status is an error carrying the status and the start of the
//! body; the browser's opaque network failures (DNS, refused, CORS) are
//! [`HttpError::Network`]; no body larger than the client's limit
//! ([`DEFAULT_MAX_BODY_BYTES`] unless set) is held in memory: a `Content-Length` over it, or a
//! body that streams past it, aborts the request with [`HttpError::BodyTooLarge`].

use core::cell::Cell;
use core::time::Duration;
use std::rc::Rc;

use js_sys::Uint8Array;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, ReadableStreamDefaultReader, Request, RequestInit, Response,
};

use super::limits::{declared_length_over, ByteBudget, DEFAULT_MAX_BODY_BYTES};
use super::parse_retry_after;
use super::HttpError;
use crate::browser::{self, RustTimer};

/// A request body and the `Content-Type` it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `text/plain` (Esplora's `POST /tx` takes the hex transaction this way).
    Text(String),
    /// `application/json`.
    Json(String),
    /// `application/octet-stream`.
    Bytes(Vec<u8>),
}

/// A successful (2xx) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status, 200..=299.
    pub status: u16,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, HttpError> {
        core::str::from_utf8(&self.body).map_err(|_| HttpError::BodyNotText)
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Json(e.to_string()))
    }
}

/// A fetch client: a per-request timeout and headers sent with every request.
#[derive(Debug, Clone)]
pub struct HttpClient {
    timeout: Duration,
    headers: Vec<(String, String)>,
    max_body_bytes: usize,
}

impl HttpClient {
    /// A client whose requests are aborted after `timeout`.
    pub fn new(timeout: Duration) -> HttpClient {
        HttpClient {
            timeout,
            headers: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Sets the largest response body read (default [`DEFAULT_MAX_BODY_BYTES`]).
    pub fn with_max_body_bytes(mut self, limit: usize) -> HttpClient {
        self.max_body_bytes = limit;
        self
    }

    /// Adds a header sent with every request (e.g. an `x-auth-token`).
    pub fn with_header(mut self, name: &str, value: &str) -> HttpClient {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one request; `Ok` only for a 2xx status with its whole body read.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<Body>,
    ) -> Result<HttpResponse, HttpError> {
        let invalid = |e: JsValue| HttpError::InvalidRequest(browser::describe_js_error(&e));
        let headers = Headers::new().map_err(invalid)?;
        for (name, value) in &self.headers {
            headers.set(name, value).map_err(invalid)?;
        }
        let init = RequestInit::new();
        init.set_method(method);
        match &body {
            Some(Body::Text(text)) => {
                headers.set("content-type", "text/plain").map_err(invalid)?;
                init.set_body(&JsValue::from_str(text));
            }
            Some(Body::Json(json)) => {
                headers
                    .set("content-type", "application/json")
                    .map_err(invalid)?;
                init.set_body(&JsValue::from_str(json));
            }
            Some(Body::Bytes(bytes)) => {
                headers
                    .set("content-type", "application/octet-stream")
                    .map_err(invalid)?;
                init.set_body(&Uint8Array::from(bytes.as_slice()).into());
            }
            None => {}
        }
        init.set_headers(&headers);
        let controller = AbortController::new().map_err(invalid)?;
        init.set_signal(Some(&controller.signal()));
        let request = Request::new_with_str_and_init(url, &init).map_err(invalid)?;

        let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        let timed_out = Rc::new(Cell::new(false));
        let _timer = {
            let timed_out = timed_out.clone();
            let controller = controller.clone();
            RustTimer::new(millis, move || {
                timed_out.set(true);
                controller.abort();
            })
        };
        let failed = |e: JsValue| {
            if timed_out.get() {
                HttpError::Timeout { millis }
            } else {
                HttpError::Network(browser::describe_js_error(&e))
            }
        };

        let response: Response = JsFuture::from(browser::fetch(&request))
            .await
            .map_err(failed)?
            .dyn_into()
            .map_err(|_| HttpError::Network("fetch did not give a Response".into()))?;
        let limit = self.max_body_bytes;
        let too_large = || {
            controller.abort();
            HttpError::BodyTooLarge { limit }
        };
        let declared = response.headers().get("content-length").ok().flatten();
        if declared_length_over(declared.as_deref(), limit) {
            return Err(too_large());
        }
        // The body is read chunk by chunk and counted, so a missing or lying Content-Length
        // cannot make the wallet hold more than `limit`.
        let mut body = Vec::new();
        if let Some(stream) = response.body() {
            let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
            let mut budget = ByteBudget::new(limit);
            loop {
                let chunk = JsFuture::from(reader.read()).await.map_err(failed)?;
                let done = js_sys::Reflect::get(&chunk, &"done".into())
                    .map(|d| d.is_truthy())
                    .unwrap_or(true);
                if done {
                    break;
                }
                let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(failed)?;
                let bytes: Uint8Array = value.unchecked_into();
                if budget.take(bytes.length() as usize).is_err() {
                    let _ = reader.cancel();
                    return Err(too_large());
                }
                body.extend_from_slice(&bytes.to_vec());
            }
        }
        let status = response.status();
        if (200..300).contains(&status) {
            Ok(HttpResponse { status, body })
        } else {
            let retry_after = response.headers().get("retry-after").ok().flatten();
            Err(HttpError::from_status(status, &body)
                .with_retry_after(retry_after.as_deref().and_then(parse_retry_after)))
        }
    }

    /// GET, the body as bytes.
    pub async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, HttpError> {
        Ok(self.send("GET", url, None).await?.body)
    }

    /// GET, the body as UTF-8 text.
    pub async fn get_text(&self, url: &str) -> Result<String, HttpError> {
        self.send("GET", url, None)
            .await?
            .text()
            .map(str::to_string)
    }

    /// GET, the body parsed as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, HttpError> {
        self.send("GET", url, None).await?.json()
    }

    /// POST a JSON body, the answer parsed as JSON.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, HttpError> {
        let json =
            serde_json::to_string(body).map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
        self.send("POST", url, Some(Body::Json(json))).await?.json()
    }

    /// POST a text body, the answer as text.
    pub async fn post_text(&self, url: &str, body: &str) -> Result<String, HttpError> {
        self.send("POST", url, Some(Body::Text(body.to_string())))
            .await?
            .text()
            .map(str::to_string)
    }
}
