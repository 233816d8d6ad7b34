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

mod janitor;
mod providers;

pub use janitor::*;
pub use providers::*;

use super::checks::{CronText, ENV_NAME, RegexText, cron_expr, duration, glob, regex_opt};
use crate::model::{FindingKind, Provider, Severity, Step};
use crate::model::{JobSplit, LogFormat, LogLevel, NotifyEvent, WebhookFormat};

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
            detect: Schedule { cron: "*/15 * * * *".into(), jitter: "0s".to_owned(), split: JobSplit::All },
            janitor: Schedule { cron: "0 * * * *".into(), jitter: "0s".to_owned(), split: JobSplit::All },
        }
    }
}

/// A cron schedule with optional start jitter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Cron expression, e.g. `*/15 * * * *`.
    #[garde(custom(cron_expr))]
    pub cron: CronText,
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
        Self { cron: "0 * * * *".into(), jitter: "0s".to_owned(), split: JobSplit::All }
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
    pub actual_matches: Option<RegexText>,
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
    #[garde(pattern(ENV_NAME))]
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
