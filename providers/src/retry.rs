//! Every cloud call goes through [`call`]: errors are classified once (transient or not,
//! not-found or not), and transient ones retry with the policy's exponential backoff,
//! honouring `Retry-After` where the service sends it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use backon::{ExponentialBuilder, Retryable};
use driftguard_engine::policy::Retry;

use crate::pace::Pace;

/// Error codes that mean "you are sending too fast": transient, and they slow the
/// account's shared pace down, not only the call that got them.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "TooManyRequestsException",
    // gRPC (Cloud Storage) and Azure Resource Manager.
    "RESOURCE_EXHAUSTED",
    "TooManyRequests",
    "SubscriptionRequestsThrottled",
];

/// Other error codes that mean "try again".
const TRANSIENT_CODES: &[&str] = &[
    "PriorRequestNotComplete",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    // gRPC (Cloud Storage).
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
];

/// Error codes that mean the resource is not there.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchEntity",
    "NoSuchBucket",
    "NotFound",
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "InvalidGroup.NotFound",
    "InvalidGroupId.NotFound",
    "InvalidInstanceID.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidPermission.NotFound",
    // gRPC (Cloud Storage) and Azure Resource Manager.
    "NOT_FOUND",
    "ResourceGroupNotFound",
    "ResourceNotFound",
];

/// Error codes that mean DriftGuard's credentials may not do this.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    // gRPC (Cloud Storage) and Azure Resource Manager.
    "PERMISSION_DENIED",
    "AuthorizationFailed",
];

/// A failed cloud call, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct CallError {
    /// `service:Operation`.
    pub operation: String,
    /// The service's error code (or a transport category).
    pub code: String,
    /// The service's message.
    pub message: String,
    /// Worth retrying.
    pub transient: bool,
    /// How long the service asked us to wait.
    pub retry_after: Option<Duration>,
}

impl CallError {
    /// The answer without the operation (for records that name the operation already):
    /// `code: message`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }

    /// The target does not exist (deleting it is then done; remediating it is moot).
    pub fn is_not_found(&self) -> bool {
        NOT_FOUND_CODES.contains(&self.code.as_str()) || self.code.ends_with(".NotFound")
    }

    /// The service said we send too fast.
    pub fn is_throttling(&self) -> bool {
        THROTTLING_CODES.contains(&self.code.as_str())
    }

    /// The credentials lack permission.
    pub fn is_denied(&self) -> bool {
        DENIED_CODES.contains(&self.code.as_str())
    }

    /// An error made here rather than by a service.
    pub fn local(operation: &str, message: impl Into<String>) -> Self {
        Self {
            operation: operation.to_owned(),
            code: "Invalid".to_owned(),
            message: message.into(),
            transient: false,
            retry_after: None,
        }
    }
}

/// Classifies an SDK error: construction failures are permanent; timeouts, dispatch
/// failures, 5xx, 429 and throttling codes are transient; the rest (auth, validation,
/// not found) is permanent.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &str,
    error: &SdkError<E, Response>,
) -> CallError {
    let status = error.raw_response().map(|response| response.status().as_u16());
    let retry_after = error
        .raw_response()
        .and_then(|response| response.headers().get("retry-after"))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // No credentials: the request was never sent (the SDK reports it as a dispatch
    // failure); say why instead, and retry only what may pass on its own.
    if let Some(credentials) = credentials_failure(error) {
        return CallError { operation: operation.to_owned(), retry_after: None, ..credentials };
    }
    let (code, message, transient) = match error {
        SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_owned(), format!("{error:?}"), false),
        SdkError::TimeoutError(_) => ("Timeout".to_owned(), "the request timed out".to_owned(), true),
        SdkError::DispatchFailure(failure) => ("DispatchFailure".to_owned(), format!("{failure:?}"), true),
        SdkError::ResponseError(_) => {
            ("ResponseError".to_owned(), "the response could not be read".to_owned(), status.is_none_or(|s| s >= 500))
        }
        SdkError::ServiceError(service) => {
            let inner = service.err();
            // S3 answers HEAD requests without a body: a bare 403 is a denial all the same.
            let code = match (inner.code(), status) {
                (Some(code), _) => code.to_owned(),
                (None, Some(403)) => "AccessDenied".to_owned(),
                (None, _) => "Unknown".to_owned(),
            };
            let message = inner.message().unwrap_or_default().to_owned();
            let transient = TRANSIENT_CODES.contains(&code.as_str())
                || THROTTLING_CODES.contains(&code.as_str())
                || status.is_some_and(|s| s >= 500 || s == 429);
            (code, message, transient)
        }
        _ => ("Unknown".to_owned(), format!("{error:?}"), false),
    };
    CallError { operation: operation.to_owned(), code, message, transient, retry_after }
}

/// A call that failed before it was sent because no credentials could be had: missing
/// ones, a broken profile, or a role that could not be assumed. Transient only when
/// getting them timed out or STS was throttled or down; a refused `AssumeRole` (denied,
/// wrong external id) is permanent and says so in STS's own words.
fn credentials_failure(error: &(dyn std::error::Error + 'static)) -> Option<CallError> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut chain = std::iter::successors(Some(error), |e| e.source());
    let credentials = chain.find_map(|e| e.downcast_ref::<CredentialsError>())?;
    let mut transient = matches!(credentials, CredentialsError::ProviderTimedOut(_));
    let mut code = "CredentialsError".to_owned();
    let mut message = match credentials {
        CredentialsError::CredentialsNotLoaded(_) => "no credentials found".to_owned(),
        CredentialsError::ProviderTimedOut(_) => "getting credentials timed out".to_owned(),
        CredentialsError::InvalidConfiguration(_) => "invalid credentials configuration".to_owned(),
        _ => "cannot get credentials".to_owned(),
    };
    let assumed = std::iter::successors(Some(credentials as &(dyn std::error::Error + 'static)), |e| e.source())
        .find_map(|e| e.downcast_ref::<SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError, Response>>());
    if let Some(assumed) = assumed {
        let inner = classify("sts:AssumeRole", assumed);
        transient = inner.transient;
        code = format!("AssumeRole:{}", inner.code);
        message = format!("sts:AssumeRole failed: {}: {}", inner.code, inner.message);
    } else if let Some(source) = std::error::Error::source(credentials) {
        message = format!("{message}: {source}");
    }
    Some(CallError { operation: String::new(), code, message, transient, retry_after: None })
}

/// Sees every attempt of every cloud call: the daemon's metrics. `operation` is
/// `service:Operation`; `error` is `None` for a success.
pub trait CallObserver: Send + Sync {
    /// One attempt ended.
    fn attempt(&self, provider: &str, operation: &str, error: Option<&CallError>);
    /// A transient failure will be retried.
    fn retry(&self, provider: &str, operation: &str, error: &CallError);
}

/// How one adapter makes its calls: the policy's retries, the pace shared by every call
/// to the same account (see [`crate::pace`]), and who watches.
#[derive(Clone)]
pub struct Calls {
    /// Retry settings.
    pub retry: Retry,
    provider: &'static str,
    pace: Option<Arc<Pace>>,
    observer: Option<Arc<dyn CallObserver>>,
}

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calls")
            .field("retry", &self.retry)
            .field("provider", &self.provider)
            .field("pace", &self.pace)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl Calls {
    /// Calls with these retries, unpaced and unobserved.
    pub fn new(retry: Retry, provider: &'static str) -> Self {
        Self { retry, provider, pace: None, observer: None }
    }

    /// Every call first waits for this pace.
    #[must_use]
    pub fn paced(mut self, pace: Arc<Pace>) -> Self {
        self.pace = Some(pace);
        self
    }

    /// Every attempt is reported here.
    #[must_use]
    pub fn observed(mut self, observer: Option<Arc<dyn CallObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// The provider name calls are reported under.
    pub fn provider(&self) -> &'static str {
        self.provider
    }
}

/// The policy's backoff: exponential from `base_delay` to `max_delay`, `max_attempts` in
/// all, with jitter when the policy says so. Cloud calls and webhooks share it.
pub fn backoff(retry: &Retry) -> ExponentialBuilder {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(retry.base_delay)
        .with_max_delay(retry.max_delay)
        .with_max_times(usize::try_from(retry.max_attempts.saturating_sub(1)).unwrap_or(0));
    if retry.jitter { backoff.with_jitter() } else { backoff }
}

/// Runs one idempotent call with retries of transient failures. Each attempt waits for the
/// account's pace first; a throttling answer slows that pace down for every caller.
pub async fn call<T, F, Fut>(calls: &Calls, operation: &str, mut attempt: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let retry = &calls.retry;
    let backoff = backoff(retry);
    let paced = || {
        // Boxed: SDK request futures are large, and every caller's future would carry one.
        let sent = Box::pin(attempt());
        async move {
            if let Some(pace) = &calls.pace {
                pace.ready().await;
            }
            let result = sent.await;
            if let Some(observer) = &calls.observer {
                observer.attempt(calls.provider, operation, result.as_ref().err());
            }
            result
        }
    };
    paced
        .retry(backoff)
        .when(|error: &CallError| error.transient)
        .adjust(|error: &CallError, delay| error.retry_after.map(|after| after.min(retry.max_delay)).or(delay))
        .notify(|error: &CallError, delay: Duration| {
            if error.is_throttling()
                && let Some(pace) = &calls.pace
            {
                pace.slow_down(delay);
            }
            if let Some(observer) = &calls.observer {
                observer.retry(calls.provider, operation, error);
            }
            tracing::warn!(
                event = "cloud.call.retry",
                provider = calls.provider,
                operation,
                error_code = error.code.as_str(),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "transient failure; retrying"
            );
        })
        .await
}
