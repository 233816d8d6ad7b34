//! The `providers` section: clouds and their accounts, projects and subscriptions.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::policy::checks::{
    ACCOUNT_ID, AWS_PROFILE, ENV_NAME, EXTERNAL_ID, GUID, ROLE_ARN, SERVICE_ACCOUNT, SESSION_NAME,
};

/// Clouds and their accounts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct ProvidersSection {
    /// AWS accounts.
    #[garde(dive)]
    pub aws: Vec<AwsAccount>,
    /// GCP projects.
    #[garde(dive)]
    pub gcp: Vec<GcpProject>,
    /// Azure subscriptions.
    #[garde(dive)]
    pub azure: Vec<AzureSubscription>,
}

/// One AWS account. Credentials never come from here: the base credentials are the standard
/// AWS chain's (environment, web identity / OIDC token, SSO, profile, instance or task
/// role), or the named `profile`'s; `assume_role` then reaches the account through a role
/// in it (hub and spoke). Every job verifies with `sts:GetCallerIdentity` that the
/// credentials reach `account` before it lists or changes anything there.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct AwsAccount {
    /// The 12-digit account id (quote it: YAML would drop leading zeros).
    #[garde(pattern(ACCOUNT_ID))]
    pub account: String,
    /// The environment this account belongs to (e.g. `sandbox`, `production`), used by
    /// flows and classification when a resource carries no environment tag.
    #[garde(length(min = 1))]
    pub environment: String,
    /// Regions to scan.
    #[garde(length(min = 1), inner(length(min = 1)))]
    pub regions: Vec<String>,
    /// Optional endpoint override (e.g. a local emulator). Defaults to AWS.
    #[garde(skip)]
    pub endpoint: Option<String>,
    /// Most API requests per second DriftGuard sends to this account, across every job
    /// of the process (a token bucket); throttling answers slow it down further.
    /// Default 20.
    #[garde(inner(range(min = 1, max = 100_000)))]
    pub max_requests_per_second: Option<u32>,
    /// A named profile of the shared AWS config files (`~/.aws/config`, `~/.aws/credentials`)
    /// for this account's base credentials, instead of the default chain's.
    #[garde(inner(pattern(AWS_PROFILE), length(max = 128)))]
    pub profile: Option<String>,
    /// Reach this account by assuming a role in it with the base credentials (the names of
    /// the Terraform AWS provider's `assume_role` block). The temporary credentials are
    /// cached and refreshed before they expire.
    #[garde(dive)]
    pub assume_role: Option<AssumeRole>,
}

/// A role to assume (`sts:AssumeRole`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct AssumeRole {
    /// The role's ARN, e.g. `arn:aws:iam::222222222222:role/driftguard`. Its account must
    /// be this entry's `account`: credentials of a role elsewhere are refused at run time.
    #[garde(required, inner(pattern(ROLE_ARN)))]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires (`sts:ExternalId`), if any.
    #[garde(inner(pattern(EXTERNAL_ID), length(min = 2, max = 1224)))]
    pub external_id: Option<String>,
    /// The session name, seen in CloudTrail and in every audit record's `principal`.
    /// Default `driftguard`.
    #[garde(inner(pattern(SESSION_NAME), length(min = 2, max = 64)))]
    pub session_name: Option<String>,
    /// How long each set of temporary credentials lives (15m to 12h; the role's maximum
    /// session duration must allow it). Default: STS's default, 1h.
    #[garde(inner(custom(crate::policy::checks::duration)))]
    pub duration: Option<String>,
}

/// One GCP project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct GcpProject {
    /// The project id.
    #[garde(length(min = 1))]
    pub project: String,
    /// The environment this project belongs to.
    #[garde(length(min = 1))]
    pub environment: String,
    /// Optional endpoint override.
    #[garde(skip)]
    pub endpoint: Option<String>,
    /// Most API requests per second to this project, across every job. Default 50.
    #[garde(inner(range(min = 1, max = 100_000)))]
    pub max_requests_per_second: Option<u32>,
    /// A service account to impersonate for this project (the Application Default
    /// Credentials need `roles/iam.serviceAccountTokenCreator` on it). Default: the
    /// Application Default Credentials themselves.
    #[garde(inner(pattern(SERVICE_ACCOUNT)))]
    pub impersonate_service_account: Option<String>,
}

/// One Azure subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSubscription {
    /// The subscription id (a GUID).
    #[garde(pattern(GUID))]
    pub subscription: String,
    /// The environment this subscription belongs to.
    #[garde(length(min = 1))]
    pub environment: String,
    /// Optional Resource Manager endpoint override.
    #[garde(skip)]
    pub endpoint: Option<String>,
    /// Most API requests per second to this subscription, across every job. Default 10
    /// (Resource Manager budgets requests per subscription per hour).
    #[garde(inner(range(min = 1, max = 100_000)))]
    pub max_requests_per_second: Option<u32>,
    /// The Microsoft Entra tenant of this subscription's service principal. With
    /// `client_id`: sign in as that application in that tenant (a client secret from
    /// `client_secret_env`, else a workload identity token from `AZURE_FEDERATED_TOKEN_FILE`)
    /// instead of the default credential chain.
    #[garde(inner(pattern(GUID)))]
    pub tenant_id: Option<String>,
    /// The application (client) id of this subscription's service principal.
    #[garde(inner(pattern(GUID)))]
    pub client_id: Option<String>,
    /// The environment variable holding that application's client secret (a secret is
    /// never written in the policy).
    #[garde(inner(pattern(ENV_NAME)))]
    pub client_secret_env: Option<String>,
}
