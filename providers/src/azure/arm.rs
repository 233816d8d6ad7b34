//! Azure Resource Manager plumbing the generated 0.21 client lacks, used by the
//! subscription adapter: credentials (a pre-obtained token, a service principal of its
//! own), a transport that reads ARM's error answers in full (status, code, message,
//! `Retry-After`) and keeps the bearer token out of azure_core's logs, and the
//! classification of every error for DriftGuard's one retry loop.

use std::sync::Arc;
use std::time::Duration;

use azure_core::auth::{AccessToken, Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::headers::{self, Headers};
use azure_core::{BytesStream, Context, HttpClient, Policy, PolicyResult, Request, Response};
use serde_json::Value;

use crate::retry::CallError;

/// The operation name of building a client (credentials, endpoint).
pub(super) const OP_SETUP: &str = "resources:Connect";

/// A pre-obtained ARM bearer token (e.g. `az account get-access-token --query accessToken
/// -o tsv`). When set, it is used as is instead of azure_identity's credential chain.
pub const TOKEN_ENV: &str = "AZURE_ACCESS_TOKEN";

/// One request and its body, at most; reqwest has no timeout of its own here.
const REQUEST_TIMEOUT: Duration = Duration::from_mins(1);

/// One subscription's own service principal (the policy's `tenant_id` and `client_id`).
#[derive(Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// Microsoft Entra tenant.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// The environment variable holding the client secret; without one, the workload
    /// identity token in `AZURE_FEDERATED_TOKEN_FILE` is used.
    pub client_secret_env: Option<String>,
}

impl std::fmt::Debug for ServicePrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePrincipal")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret_env", &self.client_secret_env)
            .finish()
    }
}

impl ServicePrincipal {
    pub(super) fn credential(&self, http: Arc<dyn HttpClient>) -> Result<Arc<dyn TokenCredential>, CallError> {
        let options = azure_identity::TokenCredentialOptions::default();
        let authority = options.authority_host().map_err(|error| classify(OP_SETUP, &error))?;
        if let Some(variable) = &self.client_secret_env {
            // The value is a secret: only the variable's name may appear in an error.
            let secret = std::env::var(variable)
                .ok()
                .filter(|secret| !secret.trim().is_empty())
                .ok_or_else(|| CallError::local(OP_SETUP, format!("${variable} (client_secret_env) is not set")))?;
            return Ok(Arc::new(azure_identity::ClientSecretCredential::new(
                http,
                authority,
                self.tenant_id.clone(),
                self.client_id.clone(),
                secret,
            )));
        }
        let path = std::env::var("AZURE_FEDERATED_TOKEN_FILE").map_err(|_| {
            CallError::local(
                OP_SETUP,
                "a service principal without client_secret_env signs in with a workload identity token, \
                 but AZURE_FEDERATED_TOKEN_FILE is not set",
            )
        })?;
        let token = std::fs::read_to_string(&path).map_err(|error| {
            CallError::local(OP_SETUP, format!("cannot read AZURE_FEDERATED_TOKEN_FILE {path}: {error}"))
        })?;
        Ok(Arc::new(azure_identity::WorkloadIdentityCredential::new(
            http,
            authority,
            self.tenant_id.clone(),
            self.client_id.clone(),
            token.trim().to_owned(),
        )))
    }
}

/// What the Authorization header holds while the request goes through azure_core's
/// policies (see [`RedactBearer`]).
const REDACTED: &str = "[redacted]";

/// How long the service asked us to wait, when it said: `retry-after-ms`,
/// `x-ms-retry-after-ms` or `Retry-After` (seconds or an HTTP date), in azure_core's order.
pub(super) fn retry_after(headers: &Headers) -> Option<Duration> {
    [headers::RETRY_AFTER_MS, headers::X_MS_RETRY_AFTER_MS, headers::RETRY_AFTER]
        .iter()
        .any(|name| headers.get_optional_str(name).is_some())
        .then(|| azure_core::lro::get_retry_after(headers))
}

/// Statuses worth another attempt: throttling, timeouts and the gateway/server 5xx. (The
/// same set azure_core's own retry policy uses.)
pub(super) fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The code for an error answer without an ARM code: the status's name, so that a bare
/// 404 reads `NotFound` and a bare 429 `TooManyRequests`, like the codes retry.rs knows.
pub(super) fn status_name(status: u16) -> String {
    match status {
        400 => "BadRequest".to_owned(),
        401 => "Unauthorized".to_owned(),
        403 => "Forbidden".to_owned(),
        404 => "NotFound".to_owned(),
        405 => "MethodNotAllowed".to_owned(),
        408 => "RequestTimeout".to_owned(),
        409 => "Conflict".to_owned(),
        412 => "PreconditionFailed".to_owned(),
        429 => "TooManyRequests".to_owned(),
        500 => "InternalServerError".to_owned(),
        502 => "BadGateway".to_owned(),
        503 => "ServiceUnavailable".to_owned(),
        504 => "GatewayTimeout".to_owned(),
        other => other.to_string(),
    }
}

/// An ARM error answer, as our transport read it: `{"error": {"code", "message"}}`.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {code}: {message}")]
pub(super) struct ArmFailure {
    status: u16,
    code: String,
    message: String,
    retry_after: Option<Duration>,
}

impl ArmFailure {
    fn new(status: u16, headers: &Headers, body: &[u8]) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let detail = json.as_ref().map(|json| json.get("error").unwrap_or(json));
        let field = |name: &str| {
            detail
                .and_then(|detail| detail.get(name))
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        let code = field("code")
            .or_else(|| headers.get_optional_string(&headers::ERROR_CODE))
            .unwrap_or_else(|| status_name(status));
        let message = field("message").unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() { format!("HTTP {status} without a body") } else { text.chars().take(500).collect() }
        });
        Self { status, code, message, retry_after: retry_after(headers) }
    }
}

/// Classifies an azure_core error: ARM error answers by status and code; transport
/// failures (connection, timeout, broken body) are transient; credential, decoding and
/// other local failures are not.
pub(super) fn classify(operation: &str, error: &azure_core::Error) -> CallError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.get_ref().map(|inner| inner as _);
    while let Some(inner) = cause {
        if let Some(failure) = inner.downcast_ref::<ArmFailure>() {
            return CallError {
                operation: operation.to_owned(),
                code: failure.code.clone(),
                message: failure.message.clone(),
                transient: transient_status(failure.status),
                retry_after: failure.retry_after,
            };
        }
        cause = inner.source();
    }
    let (code, transient) = match error.kind() {
        ErrorKind::HttpResponse { status, error_code } => {
            let status = u16::from(*status);
            (error_code.clone().unwrap_or_else(|| status_name(status)), transient_status(status))
        }
        ErrorKind::Io => ("TransportError".to_owned(), true),
        ErrorKind::Credential => ("CredentialUnavailable".to_owned(), false),
        ErrorKind::DataConversion => ("InvalidResponse".to_owned(), false),
        ErrorKind::MockFramework | ErrorKind::Other => ("Unknown".to_owned(), false),
    };
    CallError { operation: operation.to_owned(), code, message: describe(error), transient, retry_after: None }
}

/// The error and its causes on one line (azure_core's Display shows only the outermost).
pub(super) fn describe(error: &azure_core::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

/// A bearer token obtained elsewhere ([`TOKEN_ENV`]). ARM tells when it has expired
/// (401 `ExpiredAuthenticationToken`); its real expiry is unknown here, so it is given one
/// far in the future and never refreshed.
pub(super) struct StaticToken(AccessToken);

impl StaticToken {
    pub(super) fn new(token: &str) -> Result<Self, CallError> {
        let expires_on = azure_core::date::parse_rfc3339("9999-12-31T23:59:59Z")
            .map_err(|error| CallError::local(OP_SETUP, error.to_string()))?;
        Ok(Self(AccessToken::new(Secret::new(token.to_owned()), expires_on)))
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        Ok(self.0.clone())
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// The Authorization header's value, carried past azure_core's transport policy.
#[derive(Clone)]
struct Bearer(String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Keeps the bearer token out of logs. azure_core 0.21's transport policy logs every
/// request at debug level, and its `Headers` Debug redacts every header *except*
/// Authorization, so with DriftGuard's log level at debug the token would be written out.
/// This per-retry policy (the last before the transport) moves the header's value into
/// the request context and leaves `[redacted]` in the header; [`ArmTransport`] puts it
/// back just for the exchange.
#[derive(Debug)]
pub(super) struct RedactBearer;

#[async_trait::async_trait]
impl Policy for RedactBearer {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let Some((policy, rest)) = next.split_first() else {
            return Err(azure_core::Error::message(ErrorKind::Other, "no transport after the redaction policy"));
        };
        match request.headers().get_optional_string(&headers::AUTHORIZATION) {
            Some(value) if value != REDACTED => {
                let mut ctx = ctx.clone();
                ctx.insert(Bearer(value));
                request.insert_header(headers::AUTHORIZATION, REDACTED);
                policy.send(&ctx, request, rest).await
            }
            _ => policy.send(ctx, request, rest).await,
        }
    }
}

/// The transport: the HTTP client ([`super::http::Http`]), with the bearer token restored from
/// the context, a time limit, and error answers read in full. A non-2xx answer becomes an
/// error carrying an [`ArmFailure`] (status, ARM code, message, `Retry-After`), which
/// [`classify`] finds again; success bodies are read here too, so the time limit covers them.
#[derive(Debug)]
pub(super) struct ArmTransport {
    http: Arc<dyn HttpClient>,
}

impl ArmTransport {
    /// `http` behind this transport.
    pub(super) fn new(http: Arc<dyn HttpClient>) -> Self {
        Self { http }
    }

    async fn exchange(&self, request: &Request) -> PolicyResult {
        let response = self.http.execute_request(request).await?;
        let (status, headers, body) = response.deconstruct();
        let body = body.collect().await?;
        if status.is_success() {
            return Ok(Response::new(status, headers, Box::pin(BytesStream::new(body))));
        }
        let failure = ArmFailure::new(u16::from(status), &headers, &body);
        let kind = ErrorKind::http_response(status, Some(failure.code.clone()));
        Err(azure_core::Error::full(kind, failure, format!("ARM answered {}", u16::from(status))))
    }
}

#[async_trait::async_trait]
impl Policy for ArmTransport {
    async fn send(&self, ctx: &Context, request: &mut Request, _next: &[Arc<dyn Policy>]) -> PolicyResult {
        let bearer = ctx.get::<Bearer>().cloned();
        if let Some(Bearer(value)) = bearer {
            request.insert_header(headers::AUTHORIZATION, value);
        }
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await;
        request.insert_header(headers::AUTHORIZATION, REDACTED);
        result.unwrap_or_else(|_| {
            Err(azure_core::Error::message(
                ErrorKind::Io,
                format!("no complete answer within {} s", REQUEST_TIMEOUT.as_secs()),
            ))
        })
    }
}
