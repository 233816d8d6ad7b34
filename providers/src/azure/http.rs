//! The HTTP client under azure_core and azure_identity: the reqwest 0.13 (rustls, the
//! platform's trust roots) that the GCP adapter and the webhooks already use, instead of
//! azure_core 0.21's own reqwest 0.12 over the system's OpenSSL. One TLS stack in the
//! binary: no libssl and libcrypto to map and bind at every start (binding them was 11% of
//! the instructions `driftguard validate` ran, for a library only Azure calls used), one certificate
//! policy for every cloud, and no OpenSSL headers to build against.
//!
//! The exchange is azure_core's own reqwest transport's, field for field: every header as
//! given, the body as bytes or a stream, the answer's status, headers and body as a stream.

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::error::ErrorKind;
use azure_core::headers::{HeaderName, HeaderValue, Headers};
use azure_core::{Body, HttpClient, Method, Request, Response, StatusCode};
use futures_util::TryStreamExt;

use super::arm::OP_SETUP;
use crate::retry::CallError;

/// An azure_core HTTP client over reqwest 0.13.
#[derive(Debug, Clone)]
pub(super) struct Http(reqwest::Client);

impl Http {
    /// One client for a subscription's credential and its transport.
    pub(super) fn client() -> Result<Arc<dyn HttpClient>, CallError> {
        let client = reqwest::Client::builder()
            // As azure_core 0.21 builds its own client: no idle connections kept between
            // requests (hyper#2312, where a reused connection could hang a request).
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|error| CallError::local(OP_SETUP, format!("cannot build the Azure HTTP client: {error}")))?;
        Ok(Arc::new(Self(client)))
    }
}

#[async_trait::async_trait]
impl HttpClient for Http {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<Response> {
        let mut outgoing = self.0.request(method(*request.method())?, request.url().clone());
        for (name, value) in request.headers().iter() {
            outgoing = outgoing.header(name.as_str(), value.as_str());
        }
        let outgoing = match request.body().clone() {
            Body::Bytes(bytes) => outgoing.body(bytes),
            Body::SeekableStream(stream) => outgoing.body(reqwest::Body::wrap_stream(stream)),
        };
        let answer = outgoing.send().await.map_err(|error| {
            // reqwest's message names the URL; azure_core's policies log it already.
            azure_core::Error::full(ErrorKind::Io, error.without_url(), "the HTTP exchange failed")
        })?;
        let status = u16::from(answer.status());
        let status = StatusCode::try_from(status).map_err(|_| {
            azure_core::Error::message(ErrorKind::DataConversion, format!("invalid status code {status}"))
        })?;
        let headers = headers(answer.headers());
        let body = answer.bytes_stream().map_err(|error| {
            azure_core::Error::full(ErrorKind::Io, error.without_url(), "the answer's body could not be read")
        });
        Ok(Response::new(status, headers, Box::pin(body)))
    }
}

fn method(method: Method) -> azure_core::Result<reqwest::Method> {
    let name: &str = method.as_ref();
    reqwest::Method::from_bytes(name.as_bytes()).map_err(|error| {
        azure_core::Error::full(ErrorKind::DataConversion, error, format!("not an HTTP method: {name}"))
    })
}

/// The answer's headers; a value that is not text is left out, as azure_core does.
fn headers(map: &reqwest::header::HeaderMap) -> Headers {
    let pairs: HashMap<HeaderName, HeaderValue> = map
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((HeaderName::from(name.as_str().to_owned()), HeaderValue::from(value.to_owned())))
        })
        .collect();
    Headers::from(pairs)
}
