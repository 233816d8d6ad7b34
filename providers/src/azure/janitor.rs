//! The janitor's Azure adapter: the resource groups of one subscription, through Azure
//! Resource Manager (ARM) with the `azure_mgmt_resources` 0.21 client (api-version
//! 2021-04-01). A resource group is the unit a janitor deletes on Azure: deleting it
//! deletes everything in it, which ARM orders itself.
//!
//! Three things the generated 0.21 client does not do, done here:
//! - **One retry loop.** azure_core's pipeline retries 408/429/5xx by itself; it is
//!   switched off ([`RetryOptions::none`]) so that [`crate::retry::call`] and the
//!   policy's backoff are the only retries, as for every other cloud.
//! - **Error details.** azure_core turns an error answer into an `HttpError` that keeps
//!   the ARM error code but hides the headers, so `Retry-After` is lost. A transport of
//!   ours ([`ArmTransport`]) reads status, ARM code, message and `Retry-After` itself.
//! - **The long-running delete.** `resource_groups::delete` only sends the DELETE (202 +
//!   `Location`); [`AzureCloud::follow_deletion`] polls the `Location` URL.
//!
//! Listing pages are fetched here too (not with `list().into_stream()`): azure_core's
//! `Pageable` ends at the first failed page and cannot resume from a `nextLink`, so one
//! throttled page would restart the whole listing. Each page is retried on its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use azure_core::auth::TokenCredential;
use azure_core::headers::{self, Headers};
use azure_core::{
    ClientOptions, Context, Method, Pipeline, Policy, Request, Response, RetryOptions, StatusCode, TransportOptions,
    Url,
};
use azure_mgmt_resources::models::{ResourceGroup, ResourceGroupListResult, ResourceGroupPatchable};
use driftguard_engine::identity::{Caller, Refusal, Verified, judge};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_janitor::{Guard, Resource};
use serde_json::Value;
use tokio::time::Instant;

use super::arm::{
    ArmTransport, OP_SETUP, RedactBearer, ServicePrincipal, StaticToken, TOKEN_ENV, classify, retry_after,
};
use super::http::Http;
use crate::janitor::{CloudFuture, DeleteOptions, JanitorCloud};
use crate::retry::{CallError, Calls, call};

/// Azure Resource Manager in the public cloud.
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";

/// How long a resource group deletion may run before the janitor stops waiting (it keeps
/// going in Azure; the next run sees it gone or deletes again). Large groups take minutes.
pub const DELETE_TIMEOUT: Duration = Duration::from_mins(30);

/// The longest pause between two polls of a running deletion, whatever `Retry-After` says.
pub const MAX_POLL_PAUSE: Duration = Duration::from_secs(30);

/// The shortest pause between polls: a `Retry-After: 0` must not become a busy loop.
const MIN_POLL_PAUSE: Duration = Duration::from_millis(200);

/// The pause between polls when ARM sends no `Retry-After` (it normally says 15 s).
const DEFAULT_POLL_PAUSE: Duration = Duration::from_secs(15);

/// The api-version of the requests built here; the same as the 0.21 client's default
/// package (`package-resources-2021-04`), so every request speaks one version.
const API_VERSION: &str = "2021-04-01";

const OP_LIST: &str = "resources:ListResourceGroups";
const OP_GET: &str = "resources:GetResourceGroup";
const OP_UPDATE: &str = "resources:UpdateResourceGroup";
const OP_DELETE: &str = "resources:DeleteResourceGroup";
const OP_CONTENTS: &str = "resources:ListByResourceGroup";
/// The call that verifies a subscription.
pub const VERIFY_OPERATION: &str = "resources:GetSubscription";

/// One Azure subscription: its resource groups, through one ARM endpoint.
#[derive(Clone)]
pub struct AzureCloud {
    subscription: String,
    client: azure_mgmt_resources::Client,
    /// The client's own pipeline is private: listing pages and deletion polls go through
    /// this one, built from the same options (same transport, same error mapping).
    pipeline: Pipeline,
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
    calls: Calls,
    endpoint: Url,
    delete_timeout: Duration,
    principal: Option<String>,
}

impl std::fmt::Debug for AzureCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureCloud")
            .field("subscription", &self.subscription)
            .field("endpoint", &self.endpoint.as_str())
            .field("calls", &self.calls)
            .field("delete_timeout", &self.delete_timeout)
            .finish_non_exhaustive()
    }
}

impl AzureCloud {
    /// A subscription reached through `endpoint` (default [`DEFAULT_ENDPOINT`]; a sovereign
    /// cloud or a test server otherwise). Credentials: the token in [`TOKEN_ENV`] when set,
    /// else azure_identity's default chain (environment, managed identity, Azure CLI), asked
    /// for `{endpoint}/.default` like the generated client does.
    ///
    /// With a [`ServicePrincipal`], that application signs in to its own tenant instead
    /// (client secret, or workload identity federation), at `AZURE_AUTHORITY_HOST` or the
    /// public cloud's Microsoft Entra endpoint.
    pub fn new(
        subscription: &str,
        endpoint: Option<&str>,
        principal: Option<&ServicePrincipal>,
        calls: Calls,
    ) -> Result<Self, CallError> {
        // The id goes into URL paths: a GUID, never anything with a `/` or `?`.
        if subscription.is_empty() || !subscription.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(CallError::local(OP_SETUP, format!("not a subscription id: {subscription:?}")));
        }
        let raw = endpoint.unwrap_or(DEFAULT_ENDPOINT);
        let endpoint = Url::parse(raw)
            .map_err(|error| CallError::local(OP_SETUP, format!("bad ARM endpoint {raw:?}: {error}")))?;
        let http = Http::client()?;
        let credential: Arc<dyn TokenCredential> = match (principal, std::env::var(TOKEN_ENV)) {
            (Some(principal), _) => principal.credential(http.clone())?,
            (None, Ok(token)) if !token.trim().is_empty() => Arc::new(StaticToken::new(token.trim())?),
            _ => Arc::new(
                azure_identity::DefaultAzureCredentialBuilder::new()
                    .with_options(http.clone())
                    .build()
                    .map_err(|error| classify(OP_SETUP, &error))?,
            ),
        };
        let scope = endpoint
            .join(azure_core::auth::DEFAULT_SCOPE_SUFFIX)
            .map_err(|error| CallError::local(OP_SETUP, format!("no token scope for {raw:?}: {error}")))?;
        let scopes = vec![scope.to_string()];
        let options = ClientOptions::default()
            .retry(RetryOptions::none())
            .per_retry_policies(vec![Arc::new(RedactBearer) as Arc<dyn Policy>])
            .transport(TransportOptions::new_custom_policy(Arc::new(ArmTransport::new(http))));
        let pipeline =
            Pipeline::new(Some("driftguard"), Some(env!("CARGO_PKG_VERSION")), options.clone(), Vec::new(), Vec::new());
        let client = azure_mgmt_resources::Client::new(endpoint.clone(), credential.clone(), scopes.clone(), options);
        Ok(Self {
            subscription: subscription.to_owned(),
            client,
            pipeline,
            credential,
            scopes,
            calls,
            endpoint,
            delete_timeout: DELETE_TIMEOUT,
            principal: None,
        })
    }

    /// The subscription as verified: its calls are recorded as made by `verified`'s principal.
    #[must_use]
    pub fn verified(mut self, verified: &Verified) -> Self {
        self.principal = verified.principal().map(str::to_owned);
        self
    }

    /// Whether these credentials reach the subscription: `GET /subscriptions/{id}` must
    /// answer with that id. `principal` is who the credentials are, when known.
    pub async fn verify(&self, principal: Option<&str>) -> Result<Verified, Refusal> {
        let mut url = self.endpoint.clone();
        url.set_path(&format!("/subscriptions/{}", self.subscription));
        url.set_query(None);
        url.query_pairs_mut().append_pair("api-version", API_VERSION);
        let url = &url;
        let answer: Result<Value, CallError> = call(&self.calls, VERIFY_OPERATION, || async move {
            let response = self.get_raw(url).await.map_err(|error| classify(VERIFY_OPERATION, &error))?;
            response.into_body().json().await.map_err(|error| classify(VERIFY_OPERATION, &error))
        })
        .await;
        let answer = answer.map_err(|error| error.reason()).and_then(|body| {
            let id = body.get("subscriptionId").and_then(Value::as_str).filter(|id| !id.is_empty());
            let id = id.ok_or_else(|| "Resource Manager answered without a subscriptionId".to_owned())?;
            Ok(Caller { account: id.to_owned(), principal: principal.map(str::to_owned) })
        });
        judge(Provider::Azure, &self.subscription, answer)
    }

    /// The same with another bound on waiting for one deletion (tests use seconds).
    #[must_use]
    pub fn with_delete_timeout(mut self, timeout: Duration) -> Self {
        self.delete_timeout = timeout;
        self
    }

    /// A GET of a URL built here (listing pages, deletion polls), authorised like the
    /// generated client's requests.
    async fn get_raw(&self, url: &Url) -> azure_core::Result<Response> {
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self.credential.get_token(&scopes).await?;
        let mut request = Request::new(url.clone(), Method::Get);
        request.insert_header(headers::AUTHORIZATION, format!("Bearer {}", token.token.secret()));
        self.pipeline.send(&Context::new(), &mut request).await
    }

    /// A link from ARM (`nextLink`, `Location`), resolved against the endpoint. The bearer
    /// token goes only where the endpoint is: a link to another origin is refused rather
    /// than followed with the token.
    fn resolve(&self, operation: &str, link: &str) -> Result<Url, CallError> {
        let url = self
            .endpoint
            .join(link)
            .map_err(|error| CallError::local(operation, format!("ARM sent an unusable link {link:?}: {error}")))?;
        if url.origin() != self.endpoint.origin() {
            return Err(CallError::local(
                operation,
                format!(
                    "ARM sent a link to {}, not to the endpoint {}; not sending the token there",
                    url.origin().ascii_serialization(),
                    self.endpoint.origin().ascii_serialization()
                ),
            ));
        }
        Ok(url)
    }

    /// Every resource group of the subscription, page by page along `nextLink`.
    async fn list_groups(&self) -> Result<Vec<ResourceGroup>, CallError> {
        let mut url = self.endpoint.clone();
        url.set_path(&format!("/subscriptions/{}/resourcegroups", self.subscription));
        url.set_query(None);
        url.query_pairs_mut().append_pair("api-version", API_VERSION);
        let mut groups = Vec::new();
        loop {
            let page_url = &url;
            let page: ResourceGroupListResult = call(&self.calls, OP_LIST, || async move {
                let response = self.get_raw(page_url).await.map_err(|error| classify(OP_LIST, &error))?;
                response.into_body().json().await.map_err(|error| classify(OP_LIST, &error))
            })
            .await?;
            groups.extend(page.value);
            let Some(link) = page.next_link.filter(|link| !link.is_empty()) else { return Ok(groups) };
            let mut next = self.resolve(OP_LIST, &link)?;
            if !next.query_pairs().any(|(key, _)| key == "api-version") {
                next.query_pairs_mut().append_pair("api-version", API_VERSION);
            }
            // A service that links a page to itself would otherwise be listed forever.
            if next == url {
                return Err(CallError::local(OP_LIST, "ARM's nextLink points at the page it came with"));
            }
            url = next;
        }
    }

    /// What a group holds (deleting the group deletes all of it), page by page.
    async fn list_contents(&self, group: &Resource) -> Result<Vec<Resource>, CallError> {
        let mut url = self.endpoint.clone();
        url.set_path(&format!("/subscriptions/{}/resourcegroups/{}/resources", self.subscription, group.id));
        url.set_query(None);
        url.query_pairs_mut().append_pair("api-version", API_VERSION);
        let mut out = Vec::new();
        loop {
            let page_url = &url;
            let page: Value = call(&self.calls, OP_CONTENTS, || async move {
                let response = self.get_raw(page_url).await.map_err(|error| classify(OP_CONTENTS, &error))?;
                response.into_body().json().await.map_err(|error| classify(OP_CONTENTS, &error))
            })
            .await?;
            for item in page.get("value").and_then(Value::as_array).into_iter().flatten() {
                let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                out.push(Resource {
                    provider: Provider::Azure,
                    account: self.subscription.clone(),
                    region: text("location"),
                    resource_type: JanitorTarget::AzurermResourceGroup,
                    id: text("id"),
                    name: text("name"),
                    tags: tags(item.get("tags")),
                    created_at: None,
                    managed: false,
                    guards: Vec::new(),
                });
            }
            let Some(link) = page.get("nextLink").and_then(Value::as_str).filter(|l| !l.is_empty()) else {
                return Ok(out);
            };
            let next = self.resolve(OP_CONTENTS, link)?;
            if next == url {
                return Err(CallError::local(OP_CONTENTS, "ARM's nextLink points at the page it came with"));
            }
            url = next;
        }
    }

    async fn get_group(&self, name: &str) -> Result<ResourceGroup, CallError> {
        call(&self.calls, OP_GET, || async move {
            self.client
                .resource_groups_client()
                .get(name, &self.subscription)
                .await
                .map_err(|error| classify(OP_GET, &error))
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) one tag. ARM's PATCH replaces `tags` as a whole, so
    /// the current tags are read first and written back with the one change. (Between the
    /// GET and the PATCH another writer's tag change could be lost; ARM offers no ETag on
    /// resource groups in this API version.)
    async fn change_tag(&self, resource: &Resource, key: &str, value: Option<&str>) -> Result<(), CallError> {
        ensure_group(resource, OP_UPDATE)?;
        let group = self.get_group(&resource.id).await?;
        let mut tags = tags(group.tags.as_ref());
        let changed = match value {
            Some(value) => tags.insert(key.to_owned(), value.to_owned()).as_deref() != Some(value),
            None => tags.remove(key).is_some(),
        };
        if !changed {
            return Ok(());
        }
        let patch = ResourceGroupPatchable {
            tags: Some(Value::Object(tags.into_iter().map(|(key, value)| (key, Value::String(value))).collect())),
            ..ResourceGroupPatchable::default()
        };
        let name = resource.id.as_str();
        call(&self.calls, OP_UPDATE, || {
            let patch = patch.clone();
            async move {
                self.client
                    .resource_groups_client()
                    .update(name, patch, &self.subscription)
                    .await
                    .map(|_| ())
                    .map_err(|error| classify(OP_UPDATE, &error))
            }
        })
        .await
    }

    /// Sends the DELETE and follows the deletion to its end: gone is success, a deletion
    /// ARM gives up on (and rolls back) is the error ARM reports for it.
    async fn delete_group(&self, name: &str) -> Result<(), CallError> {
        let sent = call(&self.calls, OP_DELETE, || async move {
            self.client
                .resource_groups_client()
                .delete(name, &self.subscription)
                .send()
                .await
                .map_err(|error| classify(OP_DELETE, &error))
        })
        .await;
        let response = match sent {
            Ok(response) => response.into_raw_response(),
            // Already gone: deleting it again is done.
            Err(error) if is_gone(&error) => return Ok(()),
            Err(error) => return Err(error),
        };
        // 200/204: deleted at once (ARM answers 202 for any group that had resources).
        if response.status() != StatusCode::Accepted {
            return Ok(());
        }
        let Some(location) = response.headers().get_optional_str(&headers::LOCATION) else {
            // ARM always sends Location with this 202; without it there is nothing to
            // follow. The deletion runs on: the next attempt finds it gone (404) or waits.
            return Err(CallError {
                code: "NoOperationLocation".to_owned(),
                transient: true,
                ..CallError::local(OP_DELETE, format!("deletion of {name} accepted without a Location to follow"))
            });
        };
        let location = self.resolve(OP_DELETE, location)?;
        tracing::info!(event = "azure.resource_group.deleting", group = name, "resource group deletion accepted");
        self.follow_deletion(name, location, poll_pause(response.headers())).await
    }

    /// Polls a deletion's `Location` (ARM's "202 Accepted and Location" pattern) until it
    /// answers 200/204 (deleted). 202 means still running: wait as `Retry-After` says,
    /// within [`MIN_POLL_PAUSE`]..[`MAX_POLL_PAUSE`]. An error status is the operation's
    /// failure, with ARM's code (e.g. 409 `ResourceGroupDeletionBlocked`: the group stays).
    /// Throttling and 5xx on a poll are retried by [`call`] like any request.
    async fn follow_deletion(&self, name: &str, mut location: Url, mut pause: Duration) -> Result<(), CallError> {
        let deadline = Instant::now() + self.delete_timeout;
        let mut polls = 0_u32;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(CallError {
                    code: "Timeout".to_owned(),
                    transient: true,
                    ..CallError::local(
                        OP_DELETE,
                        format!(
                            "deletion of resource group {name} still running after {} s (it goes on in Azure)",
                            self.delete_timeout.as_secs()
                        ),
                    )
                });
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            let poll_url = &location;
            let polled = call(&self.calls, OP_DELETE, || async move {
                self.get_raw(poll_url).await.map_err(|error| classify(OP_DELETE, &error))
            })
            .await;
            polls += 1;
            let response = match polled {
                Ok(response) => response,
                // An operation ARM no longer knows: the group itself says how it ended.
                Err(error) if error.code == "NotFound" || error.code == "OperationNotFound" => {
                    return match self.get_group(name).await {
                        Err(gone) if is_gone(&gone) => Ok(()),
                        Ok(group) if is_deleting(&group) => Ok(()),
                        _ => Err(error),
                    };
                }
                Err(error) => return Err(error),
            };
            if response.status() != StatusCode::Accepted {
                tracing::info!(event = "azure.resource_group.deleted", group = name, polls, "resource group deleted");
                return Ok(());
            }
            if let Some(next) = response.headers().get_optional_str(&headers::LOCATION) {
                location = self.resolve(OP_DELETE, next)?;
            }
            pause = poll_pause(response.headers());
            tracing::debug!(
                event = "azure.resource_group.deleting",
                group = name,
                polls,
                pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                "resource group deletion still running"
            );
        }
    }

    /// A listed group as the janitor sees it, or `None` for groups it must not touch.
    fn resource(&self, group: ResourceGroup) -> Option<Resource> {
        // Deleting: already on its way out.
        if is_deleting(&group) {
            return None;
        }
        // managedBy: owned by another service (e.g. an AKS cluster's node resource group),
        // which deletes it with its owner; deleting it directly is wrong. Listed with that
        // guard, so the block is a recorded decision.
        let owner = group.managed_by.clone().filter(|owner| !owner.is_empty());
        let guards = owner.into_iter().map(|owner| Guard::OwnedBy { owner }).collect();
        let name = group.name.filter(|name| !name.is_empty())?;
        Some(Resource {
            provider: Provider::Azure,
            account: self.subscription.clone(),
            region: group.location,
            resource_type: JanitorTarget::AzurermResourceGroup,
            id: name.clone(),
            name,
            tags: tags(group.tags.as_ref()),
            // ARM's resource-group list and get (api-version 2021-04-01) carry no creation
            // time (`$expand=createdTime` exists for resources, not for groups), so age-based
            // rules see none for Azure groups.
            created_at: None,
            managed: false,
            guards,
        })
    }
}

impl JanitorCloud for AzureCloud {
    fn provider(&self) -> Provider {
        Provider::Azure
    }

    fn account(&self) -> &str {
        &self.subscription
    }

    fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        Box::pin(async move {
            if !targets.contains(&JanitorTarget::AzurermResourceGroup) {
                return Ok(Vec::new());
            }
            let groups = self.list_groups().await?;
            Ok(groups.into_iter().filter_map(|group| self.resource(group)).collect())
        })
    }

    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(self.change_tag(resource, key, Some(value)))
    }

    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(self.change_tag(resource, key, None))
    }

    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        Box::pin(async move {
            ensure_group(resource, OP_GET)?;
            // GET rather than HEAD (check_existence): only the body says "Deleting".
            match self.get_group(&resource.id).await {
                Ok(group) => Ok(!is_deleting(&group)),
                Err(error) if is_gone(&error) => Ok(false),
                Err(error) => Err(error),
            }
        })
    }

    fn contents<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, Vec<Resource>> {
        Box::pin(self.list_contents(resource))
    }

    fn delete<'a>(&'a self, resource: &'a Resource, _options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        Box::pin(async move {
            ensure_group(resource, OP_DELETE)?;
            self.delete_group(&resource.id).await
        })
    }
}

fn ensure_group(resource: &Resource, operation: &str) -> Result<(), CallError> {
    if resource.resource_type == JanitorTarget::AzurermResourceGroup {
        Ok(())
    } else {
        Err(CallError::local(operation, format!("{} is not an Azure type", resource.resource_type.as_str())))
    }
}

fn is_deleting(group: &ResourceGroup) -> bool {
    group
        .properties
        .as_ref()
        .and_then(|properties| properties.provisioning_state.as_deref())
        .is_some_and(|state| state.eq_ignore_ascii_case("Deleting"))
}

/// The group is not there. `ResourceGroupNotFound` is checked here as well as by
/// [`CallError::is_not_found`], so that this adapter does not depend on retry.rs's list;
/// other 404 codes (`SubscriptionNotFound`) are not "the group is gone".
fn is_gone(error: &CallError) -> bool {
    error.is_not_found() || error.code == "ResourceGroupNotFound"
}

fn tags(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(key, value)| (key.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
                .collect()
        })
        .unwrap_or_default()
}

fn poll_pause(headers: &Headers) -> Duration {
    retry_after(headers).unwrap_or(DEFAULT_POLL_PAUSE).clamp(MIN_POLL_PAUSE, MAX_POLL_PAUSE)
}
