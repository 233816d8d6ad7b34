//! The policy file as written by people: every field optional or defaulted, so that
//! deserialisation never stops at the first missing key and the compiler can collect
//! every mistake in one pass (see `compile.rs`). Nothing here is trusted: only
//! [`crate::policy::Policy`], built by the compiler, is.
//!
//! These types are also the source of `schemas/policy.schema.json` (via schemars), so
//! doc comments here are what editors show on hover.

use std::collections::BTreeMap;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::checks::{cron_expr, duration, glob, regex_opt};
use crate::model::{FindingKind, Provider, Severity, Step};
pub use crate::model::{JanitorPhase, JanitorTarget, JobSplit, LogFormat, LogLevel, NotifyEvent, WebhookFormat};

/// The current (and only) policy format version.
pub const POLICY_VERSION: u32 = 1;

/// DriftGuard policy: the one file that governs drift detection, remediation and the janitor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "DriftGuard policy")]
pub struct PolicyFile {
    /// Policy format version. Must be 1.
    #[garde(skip)]
    pub version: u32,
    /// Global simulation switch. When true (the default) nothing in any cloud is changed:
    /// every would-be mutation is only written to the audit log. `--dry-run` forces it on.
    #[garde(skip)]
    pub dry_run: bool,
    /// Where DriftGuard keeps its state (findings, transitions, janitor progress).
    #[garde(dive)]
    pub store: StoreSection,
    /// Log output.
    #[garde(dive)]
    pub logging: LoggingSection,
    /// Terraform state sources: what "declared" means.
    #[garde(dive)]
    pub terraform: TerraformSection,
    /// Cloud accounts, projects and subscriptions DriftGuard may look at.
    #[garde(dive)]
    pub providers: ProvidersSection,
    /// When the daemon runs each job.
    #[garde(dive)]
    pub schedules: SchedulesSection,
    /// What drift detection looks at beyond the states.
    #[garde(dive)]
    pub detection: DetectionSection,
    /// How findings are ranked (severity) and which drift is ignored.
    #[garde(dive)]
    pub classification: ClassificationSection,
    /// The paths findings take through the state machine, first match wins.
    #[garde(dive)]
    pub flows: Vec<FlowSpec>,
    /// Where automatic remediation is allowed at all.
    #[garde(dive)]
    pub remediation: RemediationSection,
    /// Blast-radius limits. These are hard blocks, never overridden by a flow.
    #[garde(dive)]
    pub protection: ProtectionSection,
    /// The janitor: removal of expired resources.
    #[garde(dive)]
    pub janitor: JanitorSection,
    /// Retry of transient cloud API failures.
    #[garde(dive)]
    pub retry: RetrySection,
    /// The long-running daemon (`driftguard run`): shutdown, metrics, reports.
    #[garde(dive)]
    pub daemon: DaemonSection,
    /// Where escalated findings and janitor marks are announced.
    #[garde(dive)]
    pub notifications: NotificationsSection,
}

impl Default for PolicyFile {
    fn default() -> Self {
        Self {
            version: POLICY_VERSION,
            dry_run: true,
            store: StoreSection::default(),
            logging: LoggingSection::default(),
            terraform: TerraformSection::default(),
            providers: ProvidersSection::default(),
            schedules: SchedulesSection::default(),
            detection: DetectionSection::default(),
            classification: ClassificationSection::default(),
            flows: Vec::new(),
            remediation: RemediationSection::default(),
            protection: ProtectionSection::default(),
            janitor: JanitorSection::default(),
            retry: RetrySection::default(),
            daemon: DaemonSection::default(),
            notifications: NotificationsSection::default(),
        }
    }
}

/// Embedded store settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Path of the SQLite database. Its directory is locked by the running daemon.
    #[garde(length(min = 1))]
    pub path: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self { path: "/var/lib/driftguard/state.db".to_owned() }
    }
}

/// Log output settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// `json` (one object per line), `text`, or `auto` (json unless stdout is a terminal).
    #[garde(skip)]
    pub format: LogFormat,
    /// Minimum level: trace, debug, info, warn, error. Audit events are always info.
    #[garde(skip)]
    pub level: LogLevel,
}

impl Default for LoggingSection {
    fn default() -> Self {
        Self { format: LogFormat::Auto, level: LogLevel::Info }
    }
}

/// Terraform state sources.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct TerraformSection {
    /// Every state DriftGuard knows. A resource in any of them is "managed".
    #[garde(dive)]
    pub states: Vec<StateSource>,
}

/// One Terraform state (format version 4), read from local files or the S3 backend.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct StateSource {
    /// A unique name for this source, used in findings and logs.
    #[garde(length(min = 1))]
    pub name: String,
    /// `local` (files and globs) or `s3` (the Terraform S3 backend).
    #[garde(skip)]
    pub backend: StateBackend,
    /// For `local`: file paths or globs, e.g. `/srv/terraform/*/terraform.tfstate`.
    #[garde(inner(custom(glob)))]
    pub paths: Vec<String>,
    /// For `s3`: the bucket holding the state.
    #[garde(skip)]
    pub bucket: Option<String>,
    /// For `s3`: the object key of the state.
    #[garde(skip)]
    pub key: Option<String>,
    /// For `s3`: the bucket's region.
    #[garde(skip)]
    pub region: Option<String>,
}

/// Where a Terraform state lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// Files on this machine.
    #[default]
    Local,
    /// The Terraform S3 backend.
    S3,
}

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
    #[garde(pattern(r"^[0-9]{12}$"))]
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
    #[garde(inner(pattern(r"^[A-Za-z0-9_.+@-]{1,128}$")))]
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
    #[garde(required, inner(pattern(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$")))]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires (`sts:ExternalId`), if any.
    #[garde(inner(pattern(r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$")))]
    pub external_id: Option<String>,
    /// The session name, seen in CloudTrail and in every audit record's `principal`.
    /// Default `driftguard`.
    #[garde(inner(pattern(r"^[A-Za-z0-9_+=,.@-]{2,64}$")))]
    pub session_name: Option<String>,
    /// How long each set of temporary credentials lives (15m to 12h; the role's maximum
    /// session duration must allow it). Default: STS's default, 1h.
    #[garde(inner(custom(super::checks::duration)))]
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
    #[garde(inner(pattern(r"^[a-z0-9-]+@[a-z0-9.-]+\.iam\.gserviceaccount\.com$")))]
    pub impersonate_service_account: Option<String>,
}

/// One Azure subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSubscription {
    /// The subscription id (a GUID).
    #[garde(pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"))]
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
    #[garde(inner(pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")))]
    pub tenant_id: Option<String>,
    /// The application (client) id of this subscription's service principal.
    #[garde(inner(pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")))]
    pub client_id: Option<String>,
    /// The environment variable holding that application's client secret (a secret is
    /// never written in the policy).
    #[garde(inner(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$")))]
    pub client_secret_env: Option<String>,
}

/// Job schedules. Cron expressions have five fields (minute first) or six (second first).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulesSection {
    /// When drift detection runs.
    #[garde(dive)]
    pub detect: Schedule,
    /// When the janitor runs.
    #[garde(dive)]
    pub janitor: Schedule,
}

impl Default for SchedulesSection {
    fn default() -> Self {
        Self {
            detect: Schedule { cron: "*/15 * * * *".to_owned(), jitter: "0s".to_owned(), split: JobSplit::All },
            janitor: Schedule { cron: "0 * * * *".to_owned(), jitter: "0s".to_owned(), split: JobSplit::All },
        }
    }
}

/// A cron schedule with optional start jitter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Cron expression, e.g. `*/15 * * * *`.
    #[garde(custom(cron_expr))]
    pub cron: String,
    /// Random delay added to each start, so many daemons do not hit an API at once.
    #[garde(custom(duration))]
    pub jitter: String,
    /// `all` (one job for every account), `account` (one job per AWS account, GCP project
    /// or Azure subscription) or `region` (detect only: one job per AWS account and
    /// region). Split jobs never delay each other; each never overlaps itself, and caps
    /// apply per job run.
    #[garde(skip)]
    pub split: JobSplit,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { cron: "0 * * * *".to_owned(), jitter: "0s".to_owned(), split: JobSplit::All }
    }
}

/// Drift detection scope.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionSection {
    /// Which live resources in no known state are findings.
    #[garde(dive)]
    pub unmanaged: UnmanagedSection,
    /// Account/region collections running at once.
    #[garde(range(min = 1, max = 64))]
    pub concurrency: i64,
}

impl Default for DetectionSection {
    fn default() -> Self {
        Self { unmanaged: UnmanagedSection::default(), concurrency: 4 }
    }
}

/// The unmanaged-resource scope.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct UnmanagedSection {
    /// Report live resources that no known state manages.
    #[garde(skip)]
    pub enabled: bool,
    /// Resource type globs that count.
    #[garde(inner(custom(glob)))]
    pub resource_types: Vec<String>,
    /// Name or id globs that never count (e.g. every VPC's `default` security group).
    #[garde(inner(custom(glob)))]
    pub exclude_names: Vec<String>,
    /// Tags that exclude a resource (value `*`: any value).
    #[garde(skip)]
    pub exclude_tags: BTreeMap<String, String>,
}

impl Default for UnmanagedSection {
    fn default() -> Self {
        Self {
            enabled: true,
            resource_types: [
                "aws_instance",
                "aws_security_group",
                "aws_s3_bucket",
                "aws_db_instance",
                "aws_iam_role",
                "aws_iam_policy",
            ]
            .map(str::to_owned)
            .to_vec(),
            exclude_names: vec!["default".to_owned()],
            exclude_tags: BTreeMap::new(),
        }
    }
}

/// Classification: severity by ordered rules, plus drift to ignore.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct ClassificationSection {
    /// Severity when no rule matches.
    #[garde(skip)]
    pub default_severity: Severity,
    /// The tag (or label) whose value names a resource's environment.
    #[garde(length(min = 1))]
    pub environment_tag: String,
    /// Ordered rules; the first that matches decides.
    #[garde(dive)]
    pub rules: Vec<ClassificationRule>,
    /// Drift that is not drift: matching attributes never become findings.
    #[garde(dive)]
    pub ignore: Vec<IgnoreRule>,
}

impl Default for ClassificationSection {
    fn default() -> Self {
        Self {
            default_severity: Severity::Low,
            environment_tag: "Environment".to_owned(),
            rules: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

/// One classification rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct ClassificationRule {
    /// Unique rule name; it appears in findings and audit events.
    #[garde(length(min = 1))]
    pub name: String,
    /// What the rule applies to. Every given condition must hold.
    #[serde(rename = "match")]
    #[garde(dive)]
    pub matcher: Matcher,
    /// The severity a matching finding gets.
    #[garde(required)]
    pub severity: Option<Severity>,
    /// Control ids carried into the finding, e.g. `CIS-AWS-5.2`.
    #[garde(inner(length(min = 1)))]
    pub controls: Vec<String>,
}

/// Conditions on a finding. Absent conditions match everything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Matcher {
    /// Providers, e.g. `[aws]`.
    #[garde(skip)]
    pub provider: Vec<Provider>,
    /// Resource type globs, e.g. `aws_security_group*`.
    #[garde(inner(custom(glob)))]
    pub resource_type: Vec<String>,
    /// Attribute path globs, e.g. `ingress*` or `tags.*`.
    #[garde(inner(custom(glob)))]
    pub attribute: Vec<String>,
    /// Finding kinds: modified, missing, unmanaged.
    #[garde(skip)]
    pub kind: Vec<FindingKind>,
    /// Environments (exact, case-insensitive).
    #[garde(skip)]
    pub environment: Vec<String>,
    /// Severities (for flows; classification rules set severity rather than match it).
    #[garde(skip)]
    pub severity: Vec<Severity>,
    /// Tags that must all be present with these values (value match case-insensitive).
    #[garde(skip)]
    pub tags: BTreeMap<String, String>,
    /// A regular expression the drifted (actual) value, as JSON text, must match.
    #[garde(custom(regex_opt))]
    pub actual_matches: Option<String>,
}

/// A rule that drops drift before it becomes a finding.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct IgnoreRule {
    /// Resource type glob.
    #[garde(custom(glob))]
    pub resource_type: String,
    /// Attribute path glob, e.g. `tags.LastModified`.
    #[garde(custom(glob))]
    pub attribute: String,
}

/// A path through the finding state machine for the findings it matches.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSpec {
    /// Unique flow name.
    #[garde(length(min = 1))]
    pub name: String,
    /// Which findings take this flow. An empty match takes every finding.
    #[serde(rename = "match")]
    #[garde(dive)]
    pub matcher: Matcher,
    /// The steps, in order. Legal: classify → plan → (report | escalate | remediate → verify),
    /// optionally ending in escalate after report or verify.
    #[garde(length(min = 1))]
    pub steps: Vec<Step>,
    /// Remediation attempts before the finding is escalated (flows that remediate).
    #[garde(range(min = 1, max = 10))]
    pub max_attempts: u32,
}

/// Where automatic remediation may happen at all. A flow that remediates a finding outside
/// these environments and severities reports it instead: two keys must agree before
/// DriftGuard changes anything.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationSection {
    /// Allowed (environment, severity) combinations.
    #[garde(dive)]
    pub allow: Vec<RemediationAllow>,
    /// Delay before re-collecting a remediated resource to verify the fix.
    #[garde(custom(duration))]
    pub verify_after: String,
}

impl Default for RemediationSection {
    fn default() -> Self {
        Self { allow: Vec::new(), verify_after: "5s".to_owned() }
    }
}

/// One allowed combination.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationAllow {
    /// Environments (case-insensitive).
    #[garde(length(min = 1))]
    pub environment: Vec<String>,
    /// Severities.
    #[garde(length(min = 1))]
    pub severity: Vec<Severity>,
}

/// Blast-radius limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionSection {
    /// Tags that make a resource untouchable: no remediation, no deletion. Values match
    /// case-insensitively; an empty `values` list protects any value of the key.
    #[garde(dive)]
    pub tags: Vec<ProtectedTag>,
    /// The janitor only ever touches resources whose name starts with this prefix.
    #[garde(skip)]
    pub name_prefix: Option<String>,
    /// Per-run caps.
    #[garde(dive)]
    pub caps: Caps,
}

/// A protected tag.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectedTag {
    /// Tag key (exact).
    #[garde(length(min = 1))]
    pub key: String,
    /// Protected values (case-insensitive). Empty: any value protects.
    #[garde(skip)]
    pub values: Vec<String>,
}

/// Per-run caps. A run that would exceed a cap stops at it and says so in the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Caps {
    /// Remediations per detect run.
    #[garde(range(min = 1))]
    pub max_remediations_per_run: i64,
    /// Deletions per janitor run, all types together.
    #[garde(range(min = 1))]
    pub max_deletions_per_run: i64,
    /// Deletions per janitor run for one resource type.
    #[garde(skip)]
    pub max_deletions_per_type: BTreeMap<String, i64>,
    /// Refuse to delete when more than this percentage of a type's prefixed resources in one
    /// account would go (only where the account holds at least `percent_min_population`
    /// of them).
    #[garde(range(min = 1, max = 100))]
    pub max_delete_percent: i64,
    /// The percentage cap applies only to an account holding at least this many prefixed
    /// resources of the type: a percentage means nothing on a population of one. Below it,
    /// the per-run and per-type caps still apply. Default 10.
    #[garde(range(min = 1, max = 1_000_000))]
    pub percent_min_population: i64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_remediations_per_run: 20,
            max_deletions_per_run: 10,
            max_deletions_per_type: BTreeMap::new(),
            max_delete_percent: 50,
            percent_min_population: 10,
        }
    }
}

/// The janitor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct JanitorSection {
    /// Off unless switched on.
    #[garde(skip)]
    pub enabled: bool,
    /// Resource types the janitor may remove.
    #[garde(skip)]
    pub targets: Vec<JanitorTarget>,
    /// Tag (or label) names that say when a resource expires.
    #[garde(dive)]
    pub ttl_tags: TtlTags,
    /// Lifetime of a prefixed resource that carries neither TTL tag, from its creation.
    #[garde(custom(duration))]
    pub default_ttl: String,
    /// Time between marking a resource and deleting it.
    #[garde(custom(duration))]
    pub grace_period: String,
    /// Tag (or label) written when a resource is marked for deletion.
    #[garde(length(min = 1))]
    pub mark_tag: String,
    /// The phases, in order: `iac` (IaC destroy) then `api` (direct deletion).
    #[garde(length(min = 1))]
    pub phases: Vec<JanitorPhase>,
    /// Accounts, projects and subscriptions the janitor may delete in (scanning may cover more).
    #[garde(dive)]
    pub delete_allowlist: DeleteAllowlist,
    /// Phase 1: the IaC destroy command.
    #[garde(dive)]
    pub iac: IacCommand,
    /// EC2: lift termination protection before terminating.
    #[garde(skip)]
    pub ec2_disable_termination_protection: bool,
    /// RDS: skip the final snapshot.
    #[garde(skip)]
    pub rds_skip_final_snapshot: bool,
    /// RDS: lift deletion protection before deleting.
    #[garde(skip)]
    pub rds_disable_deletion_protection: bool,
    /// Re-list deleted resources after this delay and flag any that came back.
    #[garde(custom(duration))]
    pub revenant_check_after: String,
}

impl Default for JanitorSection {
    fn default() -> Self {
        Self {
            enabled: false,
            targets: Vec::new(),
            ttl_tags: TtlTags::default(),
            default_ttl: "72h".to_owned(),
            grace_period: "24h".to_owned(),
            mark_tag: "driftguard-marked-at".to_owned(),
            phases: vec![JanitorPhase::Iac, JanitorPhase::Api],
            delete_allowlist: DeleteAllowlist::default(),
            iac: IacCommand::default(),
            ec2_disable_termination_protection: false,
            rds_skip_final_snapshot: false,
            rds_disable_deletion_protection: false,
            revenant_check_after: "60s".to_owned(),
        }
    }
}

/// TTL tag names.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct TtlTags {
    /// Holds an RFC 3339 date or date-time.
    #[garde(length(min = 1))]
    pub expires_at: String,
    /// Holds a duration from creation, e.g. `48h`.
    #[garde(length(min = 1))]
    pub ttl: String,
}

impl Default for TtlTags {
    fn default() -> Self {
        Self { expires_at: "expires-at".to_owned(), ttl: "ttl".to_owned() }
    }
}

/// Where the janitor may delete.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct DeleteAllowlist {
    /// AWS account ids.
    #[garde(inner(pattern(r"^[0-9]{12}$")))]
    pub aws: Vec<String>,
    /// GCP project ids.
    #[garde(skip)]
    pub gcp: Vec<String>,
    /// Azure subscription ids.
    #[garde(skip)]
    pub azure: Vec<String>,
}

/// The phase-1 IaC destroy command.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct IacCommand {
    /// Executable, looked up in PATH.
    #[garde(length(min = 1))]
    pub command: String,
    /// Arguments.
    #[garde(skip)]
    pub args: Vec<String>,
    /// Tag whose value picks a resource's working directory among `workdirs`' values (a tag
    /// never names a path the policy does not list).
    #[garde(skip)]
    pub workdir_tag: Option<String>,
    /// Name globs mapped to working directories: the only directories phase 1 runs in.
    #[garde(skip)]
    pub workdirs: BTreeMap<String, String>,
    /// Kill the command after this long.
    #[garde(custom(duration))]
    pub timeout: String,
    /// Extra environment for the command.
    #[garde(skip)]
    pub env: BTreeMap<String, String>,
}

impl Default for IacCommand {
    fn default() -> Self {
        Self {
            command: "terraform".to_owned(),
            args: vec!["destroy".to_owned(), "-auto-approve".to_owned(), "-input=false".to_owned()],
            workdir_tag: Some("driftguard-iac-dir".to_owned()),
            workdirs: BTreeMap::new(),
            timeout: "15m".to_owned(),
            env: BTreeMap::new(),
        }
    }
}

/// Retry of transient failures (throttling, 5xx, timeouts) with exponential backoff.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySection {
    /// Attempts in all, the first included.
    #[garde(range(min = 1, max = 20))]
    pub max_attempts: i64,
    /// First backoff delay.
    #[garde(custom(duration))]
    pub base_delay: String,
    /// Largest backoff delay.
    #[garde(custom(duration))]
    pub max_delay: String,
    /// Randomise delays so that clients do not retry in lockstep.
    #[garde(skip)]
    pub jitter: bool,
}

impl Default for RetrySection {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: "200ms".to_owned(), max_delay: "30s".to_owned(), jitter: true }
    }
}

impl FlowSpec {
    /// Remediation attempts when a flow does not say.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
}

impl Default for FlowSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            matcher: Matcher::default(),
            steps: Vec::new(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// The daemon (`driftguard run`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSection {
    /// How long SIGTERM/SIGINT waits for running jobs to finish the transition they are in
    /// (nothing new starts meanwhile). Keep systemd's TimeoutStopSec above it.
    #[garde(custom(duration))]
    pub shutdown_timeout: String,
    /// Address of the HTTP listener for /metrics, /healthz and /readyz (loopback by
    /// default); empty turns it off.
    #[garde(skip)]
    pub metrics_listen: String,
    /// Where each detect cycle's drift report is written (replaced atomically); empty
    /// writes none.
    #[garde(skip)]
    pub report_path: String,
}

impl Default for DaemonSection {
    fn default() -> Self {
        Self {
            shutdown_timeout: "60s".to_owned(),
            metrics_listen: "127.0.0.1:9464".to_owned(),
            report_path: "/var/lib/driftguard/report.json".to_owned(),
        }
    }
}

/// Announcements.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsSection {
    /// Webhooks: each gets one aggregated message per cycle that has something to say.
    #[garde(dive)]
    pub webhooks: Vec<Webhook>,
}

/// One webhook. Its URL is a secret, so it is never written here: `url_env` names the
/// environment variable that holds it (e.g. set in /etc/default/driftguard).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Webhook {
    /// Name, used in logs and metrics instead of the URL.
    #[garde(length(min = 1))]
    pub name: String,
    /// Body format: `slack` (Slack-compatible `text` + `blocks`) or `generic` (JSON).
    #[garde(skip)]
    pub format: WebhookFormat,
    /// The environment variable holding the URL.
    #[garde(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub url_env: String,
    /// What to announce.
    #[garde(length(min = 1))]
    pub events: Vec<NotifyEvent>,
    /// Most messages per minute to this webhook; more wait their turn.
    #[garde(range(min = 1, max = 600))]
    pub max_per_minute: u32,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            name: String::new(),
            format: WebhookFormat::Generic,
            url_env: String::new(),
            events: vec![NotifyEvent::Escalated, NotifyEvent::JanitorMarked, NotifyEvent::AccountRefused],
            max_per_minute: 6,
        }
    }
}
