//! The janitor's Google Cloud adapter: the Cloud Storage buckets of one project, through
//! the gRPC `StorageControl` client of `google-cloud-storage`. Buckets are global names
//! with a location, so one client serves every location of the project. A bucket must be
//! empty to go, so deletion removes every object generation first.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use driftguard_engine::identity::{Caller, Refusal, Verified, judge};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_janitor::Resource;
use google_cloud_storage::client::StorageControl;
use google_cloud_storage::model::{Bucket, UpdateBucketRequest};
use tokio::task::JoinSet;

use crate::janitor::{CloudFuture, DeleteOptions, JanitorCloud, gone_is_done};
use crate::retry::{CallError, Calls, call};

/// The call that verifies a project (a one-bucket page of its bucket listing).
pub const VERIFY_OPERATION: &str = "storage:ListBuckets";

/// One attempt's limit: a hung connection then fails as a transient "timeout" that
/// DriftGuard's retry policy can try again, instead of holding the janitor run forever.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The service's largest page: fewer round trips for big projects and buckets.
const PAGE_SIZE: i32 = 1000;

/// Object deletions in flight at once: the gRPC API has no batch delete, and one call at
/// a time would take hours for a bucket of a hundred thousand objects.
const DELETE_CONCURRENCY: usize = 16;

/// gRPC codes worth another attempt: the service is overloaded, briefly away, or lost
/// the call part-way (the retried call is idempotent here, or NotFound means done).
const TRANSIENT_CODES: &[&str] = &["UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "ABORTED", "INTERNAL"];

/// One Google Cloud project's buckets.
#[derive(Debug, Clone)]
pub struct GcpCloud {
    project: String,
    client: StorageControl,
    calls: Calls,
    principal: Option<String>,
}

impl GcpCloud {
    /// A client for `project`. An `http://` endpoint is a local fake of the gRPC API
    /// (plain HTTP/2), which needs no credentials and must not be sent real ones; any
    /// other endpoint, or none, uses Application Default Credentials.
    ///
    /// The crate's own retries are turned off: every call goes through
    /// [`crate::retry::call`] with the policy's settings, and two nested retry loops
    /// would multiply attempts and delays beyond what the policy says.
    /// With `impersonate`, the Application Default Credentials are exchanged for the service
    /// account's tokens (google-cloud-auth's impersonated credentials, through Google's IAM
    /// Credentials API), so each project can be reached as its own service account.
    pub async fn connect(
        project: &str,
        endpoint: Option<&str>,
        impersonate: Option<&str>,
        calls: Calls,
    ) -> Result<Self, CallError> {
        let mut builder = StorageControl::builder()
            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
            .with_attempt_timeout(ATTEMPT_TIMEOUT);
        let local = endpoint.is_some_and(|endpoint| endpoint.starts_with("http://"));
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        match (local, impersonate) {
            (true, None) => {
                builder = builder.with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build());
            }
            (true, Some(_)) => {
                return Err(CallError::local(
                    "storage:Connect",
                    "impersonate_service_account needs Google's IAM Credentials API; a local http:// endpoint is \
                     reached without credentials",
                ));
            }
            (false, Some(account)) => {
                let credentials = google_cloud_auth::credentials::Builder::default()
                    .build()
                    .and_then(|source| {
                        google_cloud_auth::credentials::impersonated::Builder::from_source_credentials(source)
                            .with_target_principal(account)
                            .build()
                    })
                    .map_err(|error| CallError {
                        operation: "storage:Connect".to_owned(),
                        code: "credentials".to_owned(),
                        message: format!("impersonating {account}: {error}"),
                        transient: false,
                        retry_after: None,
                    })?;
                builder = builder.with_credentials(credentials);
            }
            (false, None) => {}
        }
        let client = builder.build().await.map_err(|error| {
            let code = if error.is_default_credentials() {
                "credentials"
            } else if error.is_transport() {
                "transport"
            } else {
                "client"
            };
            // A client that cannot be built is a configuration problem: retrying the same
            // configuration gives the same answer.
            CallError {
                operation: "storage:Connect".to_owned(),
                code: code.to_owned(),
                message: error.to_string(),
                transient: false,
                retry_after: None,
            }
        })?;
        Ok(Self { project: project.to_owned(), client, calls, principal: None })
    }

    /// The project as verified: its calls are recorded as made by `verified`'s principal.
    #[must_use]
    pub fn verified(mut self, verified: &Verified) -> Self {
        self.principal = verified.principal().map(str::to_owned);
        self
    }

    /// Whether these credentials reach the project: its bucket listing must answer for it
    /// (one page of one bucket). A refusal, or a project the service does not know, makes
    /// the project unreachable; `principal` is who the credentials are, when known.
    pub async fn verify(&self, principal: Option<&str>) -> Result<Verified, Refusal> {
        let parent = format!("projects/{}", self.project);
        let answer = send(&self.calls, VERIFY_OPERATION, || {
            self.client.list_buckets().set_parent(&parent).set_page_size(1).send()
        })
        .await;
        let answer = answer
            .map(|_| Caller { account: self.project.clone(), principal: principal.map(str::to_owned) })
            .map_err(|error| error.reason());
        judge(Provider::Gcp, &self.project, answer)
    }

    async fn buckets(&self) -> Result<Vec<Resource>, CallError> {
        let parent = format!("projects/{}", self.project);
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = send(&self.calls, "storage:ListBuckets", || {
                self.client.list_buckets().set_parent(&parent).set_page_size(PAGE_SIZE).set_page_token(&token).send()
            })
            .await?;
            out.extend(page.buckets.into_iter().map(|bucket| self.resource(bucket)));
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    fn resource(&self, bucket: Bucket) -> Resource {
        // The janitor and Terraform know a bucket by its short name; `name` is the
        // resource path (`projects/_/buckets/NAME`).
        let id = if bucket.bucket_id.is_empty() {
            bucket.name.rsplit_once("/buckets/").map_or(bucket.name.as_str(), |(_, id)| id).to_owned()
        } else {
            bucket.bucket_id
        };
        let created_at = bucket
            .create_time
            .as_ref()
            .and_then(|time| DateTime::<Utc>::from_timestamp(time.seconds(), u32::try_from(time.nanos()).ok()?));
        Resource {
            provider: Provider::Gcp,
            account: self.project.clone(),
            // Locations come upper-case (`US-EAST1`); regions elsewhere are lower-case.
            region: bucket.location.to_lowercase(),
            resource_type: JanitorTarget::GoogleStorageBucket,
            name: id.clone(),
            id,
            tags: bucket.labels.into_iter().collect(),
            created_at,
            managed: false,
            guards: Vec::new(),
        }
    }

    /// Sets (`Some`) or removes (`None`) one label. The mask names the one label, so the
    /// others are left alone without a read-modify-write race: a `labels.KEY` path with
    /// KEY present in the sent labels sets it, absent removes it.
    async fn label(&self, resource: &Resource, key: &str, value: Option<&str>) -> Result<(), CallError> {
        check_type(resource, "storage:UpdateBucket")?;
        let mut bucket = Bucket::new().set_name(bucket_path(&resource.id));
        if let Some(value) = value {
            bucket = bucket.set_labels([(key, value)]);
        }
        let mut request = UpdateBucketRequest::new().set_bucket(bucket);
        // The mask type lives in a crate DriftGuard does not depend on; the field's own
        // default value is one.
        request.update_mask.get_or_insert_default().paths = vec![format!("labels.{key}")];
        send(&self.calls, "storage:UpdateBucket", || self.client.update_bucket().with_request(request.clone()).send())
            .await
            .map(|_| ())
    }

    async fn still_exists(&self, resource: &Resource) -> Result<bool, CallError> {
        check_type(resource, "storage:GetBucket")?;
        let name = bucket_path(&resource.id);
        match send(&self.calls, "storage:GetBucket", || self.client.get_bucket().set_name(&name).send()).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn delete_bucket(&self, resource: &Resource) -> Result<(), CallError> {
        check_type(resource, "storage:DeleteBucket")?;
        let bucket = bucket_path(&resource.id);
        self.delete_objects(&bucket).await?;
        gone_is_done(
            send(&self.calls, "storage:DeleteBucket", || self.client.delete_bucket().set_name(&bucket).send()).await,
        )
    }

    /// Deletes every generation, live and noncurrent: the bucket cannot go while any is
    /// left, and deleting by generation removes the version itself rather than turning a
    /// live object into a noncurrent one. Each page is deleted before the next is asked
    /// for; page tokens name the last object listed, so deletions do not shift them.
    async fn delete_objects(&self, bucket: &str) -> Result<(), CallError> {
        let mut token = String::new();
        loop {
            let page = send(&self.calls, "storage:ListObjects", || {
                self.client
                    .list_objects()
                    .set_parent(bucket)
                    .set_versions(true)
                    .set_page_size(PAGE_SIZE)
                    .set_page_token(&token)
                    .send()
            })
            .await;
            let page = match page {
                Ok(page) => page,
                // The bucket went away meanwhile: nothing left to empty.
                Err(error) if error.is_not_found() => return Ok(()),
                Err(error) => return Err(error),
            };
            let mut tasks = JoinSet::new();
            for object in page.objects {
                if tasks.len() >= DELETE_CONCURRENCY {
                    joined(tasks.join_next().await)?;
                }
                let client = self.client.clone();
                let calls = self.calls.clone();
                let bucket = bucket.to_owned();
                tasks.spawn(async move {
                    send(&calls, "storage:DeleteObject", || {
                        client
                            .delete_object()
                            .set_bucket(&bucket)
                            .set_object(&object.name)
                            .set_generation(object.generation)
                            .send()
                    })
                    .await
                });
            }
            // Dropping the set on an early return aborts the deletions still in flight.
            while let Some(result) = tasks.join_next().await {
                joined(Some(result))?;
            }
            if page.next_page_token.is_empty() {
                return Ok(());
            }
            token = page.next_page_token;
        }
    }
}

/// One finished object deletion: NotFound means someone else (or a lost answer to an
/// earlier attempt) already deleted it.
fn joined(result: Option<Result<Result<(), CallError>, tokio::task::JoinError>>) -> Result<(), CallError> {
    match result {
        None => Ok(()),
        Some(Ok(outcome)) => gone_is_done(outcome),
        Some(Err(error)) => Err(CallError::local("storage:DeleteObject", format!("deletion task failed: {error}"))),
    }
}

/// The gRPC API names buckets by path; `_` stands for "whatever project owns it", since
/// bucket names are global.
fn bucket_path(id: &str) -> String {
    format!("projects/_/buckets/{id}")
}

fn check_type(resource: &Resource, operation: &str) -> Result<(), CallError> {
    if resource.resource_type == JanitorTarget::GoogleStorageBucket {
        Ok(())
    } else {
        Err(CallError::local(operation, format!("{} is not a Google Cloud type", resource.resource_type.as_str())))
    }
}

/// Label values allow only lower-case letters, digits, `_` and `-`, at most 63 of them.
/// Checked here so that an unsafe value fails with a clear error before any call, rather
/// than as the service's INVALID_ARGUMENT (or, for a key with a `.`, a different mask).
fn label_value_safe(text: &str) -> bool {
    text.len() <= 63 && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Keys follow the value rules, are not empty, and start with a lower-case letter.
fn label_key_safe(key: &str) -> bool {
    key.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && label_value_safe(key)
}

fn invalid_label(message: String) -> CallError {
    CallError {
        operation: "storage:UpdateBucket".to_owned(),
        code: "INVALID_ARGUMENT".to_owned(),
        message,
        transient: false,
        retry_after: None,
    }
}

/// Runs one call through DriftGuard's retries, classifying the crate's error for them.
async fn send<T, F, Fut>(calls: &Calls, operation: &'static str, mut attempt: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = google_cloud_storage::Result<T>>,
{
    call(calls, operation, || {
        let pending = attempt();
        async move { pending.await.map_err(|error| classify(operation, &error)) }
    })
    .await
}

/// Classifies an error of the crate: the gRPC status code by its name (`NOT_FOUND`,
/// `FAILED_PRECONDITION`, ...) when the service answered; otherwise what went wrong on
/// the way. Overload and lost calls are transient; so are timeouts and transport
/// failures (a connection refused or reset), since the service may be back a moment
/// later. Anything else (a refused argument, a precondition, denied access) is permanent.
pub fn classify(operation: &str, error: &google_cloud_storage::Error) -> CallError {
    let (code, message, transient) = if let Some(status) = error.status() {
        let code = status.code.name();
        (code.to_owned(), status.message.clone(), TRANSIENT_CODES.contains(&code))
    } else if error.is_timeout() {
        ("timeout".to_owned(), error.to_string(), true)
    } else if error.is_authentication() {
        // Token fetches fail transiently too (the metadata server restarting, say); the
        // credentials error knows which.
        let transient = std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<google_cloud_gax::error::CredentialsError>())
            .is_some_and(google_cloud_gax::error::CredentialsError::is_transient);
        ("UNAUTHENTICATED".to_owned(), error.to_string(), transient)
    } else if error.is_connect() || error.is_io() || error.is_transport() {
        // An HTTP error that is not gRPC (a proxy or load balancer answering for a wrong
        // endpoint) is permanent unless it is an overload.
        let transient = error.http_status_code().is_none_or(|status| status >= 500 || status == 429);
        ("transport".to_owned(), error.to_string(), transient)
    } else {
        // Request encoding, response decoding or request routing failed in the client.
        ("client".to_owned(), error.to_string(), false)
    };
    CallError { operation: operation.to_owned(), code, message, transient, retry_after: None }
}

impl JanitorCloud for GcpCloud {
    fn provider(&self) -> Provider {
        Provider::Gcp
    }

    fn account(&self) -> &str {
        &self.project
    }

    fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        Box::pin(async move {
            if targets.contains(&JanitorTarget::GoogleStorageBucket) { self.buckets().await } else { Ok(Vec::new()) }
        })
    }

    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(async move {
            if !label_key_safe(key) {
                return Err(invalid_label(format!(
                    "label key {key:?} is not a GCS label key (lower-case letter first, then lower-case letters, digits, _ and -, at most 63)"
                )));
            }
            if !label_value_safe(value) {
                return Err(invalid_label(format!(
                    "label value {value:?} is not a GCS label value (lower-case letters, digits, _ and -, at most 63)"
                )));
            }
            self.label(resource, key, Some(value)).await
        })
    }

    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(async move {
            // A key GCS would refuse cannot be on the bucket: absent, so removed.
            if !label_key_safe(key) {
                return Ok(());
            }
            self.label(resource, key, None).await
        })
    }

    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        Box::pin(self.still_exists(resource))
    }

    fn delete<'a>(&'a self, resource: &'a Resource, _options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        Box::pin(async move { gone_is_done(self.delete_bucket(resource).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::{label_key_safe, label_value_safe};

    #[test]
    fn label_rules() {
        assert!(label_value_safe("2024-01-31t00-00-00z"));
        assert!(label_value_safe(""));
        assert!(!label_value_safe("2024-01-31T00:00:00Z"));
        assert!(!label_value_safe(&"a".repeat(64)));
        assert!(label_key_safe("driftguard-mark"));
        assert!(!label_key_safe("1abc"));
        assert!(!label_key_safe(""));
        assert!(!label_key_safe("a.b"));
    }
}
