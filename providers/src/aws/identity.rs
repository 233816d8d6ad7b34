//! Reaching an account, and proving the credentials reach the account the policy names.
//!
//! AWS: the base credentials come from the standard chain (environment, web identity /
//! OIDC token file, SSO, shared profile, container or instance role), or from the
//! account's `profile`. With `assume_role`, aws-config's assume-role provider turns them
//! into the role's temporary credentials; the SDK's identity cache keeps those and
//! refreshes them before they expire (no STS request is signed here). Every client of
//! the account is built from one [`AwsSession`], so they share one set of credentials.
//!
//! Verification asks who the credentials are (`sts:GetCallerIdentity`, which needs no IAM
//! permission) and hands the answer to [`driftguard_engine::identity::judge`].

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::SharedCredentialsProvider;
use driftguard_engine::identity::{Caller, Refusal, Verified, judge};
use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Account, Identity};

use crate::retry::{CallError, Calls, call, classify};

/// The call that verifies an account.
pub const VERIFY_OPERATION: &str = "sts:GetCallerIdentity";

/// How long one identity answer may take: credentials that hang (an unreachable STS or
/// SSO endpoint) must not hold a job forever.
const VERIFY_TIMEOUT: Duration = Duration::from_mins(1);

/// The SDK configuration of one AWS account: its credentials (assumed-role ones when the
/// policy says so), its endpoint, and no SDK retries (DriftGuard retries with the policy's
/// settings, so there is one retry policy, not two).
#[derive(Debug, Clone)]
pub struct AwsSession {
    config: aws_config::SdkConfig,
    /// Where the account's buckets live, as its listings found them (shared by every
    /// client of the session): a bucket's location is never asked twice in one run.
    bucket_regions: BucketRegions,
}

/// Bucket name → region, learnt from `ListBuckets` filtered by region (each listing
/// overwrites what it sees) or from `GetBucketLocation`.
pub type BucketRegions = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>;

impl AwsSession {
    /// The session of a policy account. Loads the base chain (or the profile); nothing is
    /// requested from AWS until the first call.
    pub async fn open(account: &Account) -> Self {
        let (profile, assume_role) = match &account.identity {
            Identity::Aws { profile, assume_role } => (profile.as_deref(), assume_role.as_ref()),
            Identity::Gcp { .. } | Identity::Azure { .. } => (None, None),
        };
        let region = account.regions.first().map_or("us-east-1", String::as_str);
        let base = load(region, account.endpoint.as_deref(), profile).await;
        let Some(role) = assume_role else { return Self { config: base, bucket_regions: BucketRegions::default() } };
        let mut builder =
            AssumeRoleProvider::builder(role.role_arn.clone()).session_name(role.session_name.clone()).configure(&base);
        if let Some(external_id) = &role.external_id {
            builder = builder.external_id(external_id.clone());
        }
        if let Some(duration) = role.duration {
            builder = builder.session_length(duration);
        }
        let provider = builder.build().await;
        // The base config's identity cache (a lazy cache) holds the role's credentials and
        // refreshes them ahead of expiry; every client built from this config shares it.
        let config = base.into_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
        Self { config, bucket_regions: BucketRegions::default() }
    }

    /// The ambient credentials at an optional endpoint (the S3 state backend, which may
    /// live in an account the policy does not scan).
    pub async fn ambient(region: &str, endpoint: Option<&str>) -> Self {
        Self { config: load(region, endpoint, None).await, bucket_regions: BucketRegions::default() }
    }

    /// The configuration for clients of one region.
    /// The session's bucket regions (see [`BucketRegions`]).
    pub fn bucket_regions(&self) -> BucketRegions {
        self.bucket_regions.clone()
    }

    pub fn config(&self, region: &str) -> aws_config::SdkConfig {
        self.config.clone().into_builder().region(aws_config::Region::new(region.to_owned())).build()
    }

    /// Who these credentials are, judged against the account the policy names.
    pub async fn verify(&self, expected: &str, calls: &Calls) -> Result<Verified, Refusal> {
        let sts = aws_sdk_sts::Client::new(&self.config);
        let answer = tokio::time::timeout(
            VERIFY_TIMEOUT,
            call(calls, VERIFY_OPERATION, || {
                let request = sts.get_caller_identity();
                async move { request.send().await.map_err(|error| classify(VERIFY_OPERATION, &error)) }
            }),
        )
        .await
        .unwrap_or_else(|_| {
            Err(CallError::local(VERIFY_OPERATION, format!("no answer within {}s", VERIFY_TIMEOUT.as_secs())))
        });
        let answer = answer.map_err(|error| error.reason()).and_then(|output| {
            let account = output.account().filter(|a| !a.is_empty()).ok_or("STS answered without an account id")?;
            Ok(Caller { account: account.to_owned(), principal: output.arn().map(str::to_owned) })
        });
        judge(Provider::Aws, expected, answer.map_err(|error: String| error))
    }
}

async fn load(region: &str, endpoint: Option<&str>, profile: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .retry_config(RetryConfig::disabled());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
