//! The validated policy. Only the compiler builds it, so holding a [`Policy`] means every
//! duration parsed, every cron expression and glob compiled and every flow is legal.

use std::collections::BTreeMap;
use std::time::Duration;

use super::checks::{Glob, Regex};
use crate::model::{
    FindingKind, JanitorPhase, JanitorTarget, JobSplit, LogFormat, LogLevel, NotifyEvent, Provider, Severity, Step,
    WebhookFormat,
};

/// A compiled, validated policy. Only the compiler builds one and nothing changes it
/// afterwards: its fields are private and read through the accessors below, so holding a
/// `Policy` means every value in it was checked.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(super) source: String,
    pub(super) hash: String,
    pub(super) dry_run: bool,
    pub(super) store_path: String,
    pub(super) log_format: LogFormat,
    pub(super) log_level: LogLevel,
    pub(super) states: Vec<StateSource>,
    pub(super) accounts: Vec<Account>,
    pub(super) detect_schedule: Schedule,
    pub(super) janitor_schedule: Schedule,
    pub(super) detection: Detection,
    pub(super) classification: Classification,
    pub(super) flows: Vec<Flow>,
    pub(super) remediation: Remediation,
    pub(super) protection: Protection,
    pub(super) janitor: Janitor,
    pub(super) retry: Retry,
    pub(super) daemon: DaemonSettings,
    pub(super) webhooks: Vec<Webhook>,
}

impl Policy {
    /// The file it came from (as named on the command line).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// SHA-256 of the file's bytes, hex: every audit event carries it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Global simulation switch (already forced on by `--dry-run`).
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// SQLite store path.
    pub fn store_path(&self) -> &str {
        &self.store_path
    }

    /// Log output format.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }

    /// Log level.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }

    /// Terraform state sources.
    pub fn states(&self) -> &[StateSource] {
        &self.states
    }

    /// Accounts, projects and subscriptions: one [`Account`] each, in policy order (AWS,
    /// GCP, Azure).
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The detect job's schedule.
    pub fn detect_schedule(&self) -> &Schedule {
        &self.detect_schedule
    }

    /// The janitor job's schedule.
    pub fn janitor_schedule(&self) -> &Schedule {
        &self.janitor_schedule
    }

    /// Detection scope.
    pub fn detection(&self) -> &Detection {
        &self.detection
    }

    /// Classification.
    pub fn classification(&self) -> &Classification {
        &self.classification
    }

    /// Flows, first match wins; the last one matches everything.
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    /// Where remediation is allowed.
    pub fn remediation(&self) -> &Remediation {
        &self.remediation
    }

    /// Blast-radius limits.
    pub fn protection(&self) -> &Protection {
        &self.protection
    }

    /// The janitor.
    pub fn janitor(&self) -> &Janitor {
        &self.janitor
    }

    /// Retry settings.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// The daemon.
    pub fn daemon(&self) -> &DaemonSettings {
        &self.daemon
    }

    /// Webhooks.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// Whether the janitor may delete in this account (`janitor.delete_allowlist`).
    pub fn allowlisted(&self, provider: Provider, id: &str) -> bool {
        self.account(provider, id).is_some_and(|account| account.allowlisted)
    }

    /// Most requests per second to one account, project or subscription.
    pub fn requests_per_second(&self, provider: Provider, account: &str) -> u32 {
        self.account(provider, account).map_or_else(|| default_requests_per_second(provider), |account| account.rate)
    }
}

/// One webhook, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Name, used in logs and metrics instead of the URL.
    pub name: String,
    /// Body format.
    pub format: WebhookFormat,
    /// The environment variable holding the URL (a secret: never in the policy).
    pub url_env: String,
    /// What it announces.
    pub events: Vec<NotifyEvent>,
    /// Most messages per minute.
    pub max_per_minute: u32,
}

/// The phase-1 IaC destroy command, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IacCommand {
    /// Executable, looked up in PATH.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Tag whose value picks a resource's working directory among the policy's.
    pub workdir_tag: Option<String>,
    /// Extra environment for the command.
    pub env: BTreeMap<String, String>,
}

impl Policy {
    /// The account, project or subscription with this id.
    pub fn account(&self, provider: Provider, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.provider == provider && account.id == id)
    }

    /// A resource's environment: its environment tag (`classification.environment_tag`),
    /// else its account's. Flows, classification and `remediation.allow` all ask this.
    pub fn environment<'s>(
        &'s self,
        provider: Provider,
        account: &str,
        tags: &'s BTreeMap<String, String>,
    ) -> Option<&'s str> {
        tags.get(&self.classification.environment_tag)
            .or_else(|| self.account(provider, account).map(|account| &account.environment))
            .map(String::as_str)
    }
}

/// One account, project or subscription: where it is, how it is reached, and what the
/// policy allows there. Its id is only a claim until a job verifies it (the providers'
/// identity check): nothing is listed or changed in an account whose identity was not
/// verified in this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The cloud.
    pub provider: Provider,
    /// AWS account id, GCP project id or Azure subscription id.
    pub id: String,
    /// Its environment (flows and classification use it when a resource has no tag).
    pub environment: String,
    /// Whether the janitor may delete there (`janitor.delete_allowlist`).
    pub allowlisted: bool,
    /// Most requests per second, across every job.
    pub rate: u32,
    /// Regions to scan (AWS; empty elsewhere).
    pub regions: Vec<String>,
    /// Endpoint override (a local emulator, a sovereign cloud).
    pub endpoint: Option<String>,
    /// How its credentials are obtained.
    pub identity: Identity,
}

/// How an account's credentials are obtained. Secrets are never here: only where they are
/// found (a profile name, an environment variable's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// AWS: the default chain or a named profile, then optionally a role.
    Aws {
        /// Shared-config profile for the base credentials.
        profile: Option<String>,
        /// A role in the account to assume with the base credentials.
        assume_role: Option<AssumeRole>,
    },
    /// GCP: Application Default Credentials, optionally impersonating a service account.
    Gcp {
        /// The service account to impersonate.
        impersonate_service_account: Option<String>,
    },
    /// Azure: the default chain, or one service principal.
    Azure {
        /// Tenant and client id of the service principal, when set.
        service_principal: Option<(String, String)>,
        /// The variable holding its client secret (else a workload identity token).
        client_secret_env: Option<String>,
    },
}

/// A role to assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The external id, if the trust policy requires one.
    pub external_id: Option<String>,
    /// The session name (default `driftguard`).
    pub session_name: String,
    /// Session length (STS's default when `None`).
    pub duration: Option<Duration>,
}

impl AssumeRole {
    /// The session name when the policy gives none.
    pub const DEFAULT_SESSION_NAME: &'static str = "driftguard";

    /// The account the role lives in (the fifth field of its ARN).
    pub fn account(&self) -> Option<&str> {
        crate::identity::arn_account(&self.role_arn)
    }
}

/// A Terraform state source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    /// Local files and globs.
    Local {
        /// Source name.
        name: String,
        /// Paths or globs.
        paths: Vec<String>,
    },
    /// The S3 backend.
    S3 {
        /// Source name.
        name: String,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Region.
        region: String,
    },
}

/// A compiled schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Six-field cron expression (seconds first), as the scheduler wants it.
    pub cron: String,
    /// Start jitter.
    pub jitter: Duration,
    /// How the job is split (per account, per region).
    pub split: JobSplit,
}

/// Compiled daemon settings.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// Drain time on SIGTERM/SIGINT.
    pub shutdown_timeout: Duration,
    /// Metrics and health listener, if on.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Where each detect cycle's report goes, if anywhere.
    pub report_path: Option<std::path::PathBuf>,
}

/// The request rate per second to one account when the policy sets none (Resource
/// Manager budgets requests per subscription per hour, hence Azure's lower default).
pub fn default_requests_per_second(provider: Provider) -> u32 {
    match provider {
        Provider::Aws => 20,
        Provider::Gcp => 50,
        Provider::Azure => 10,
    }
}

/// What a matcher looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Cloud.
    pub provider: Provider,
    /// Terraform resource type, e.g. `aws_security_group`.
    pub resource_type: &'a str,
    /// Drifted attribute path, when there is one.
    pub attribute: Option<&'a str>,
    /// Kind of drift.
    pub kind: FindingKind,
    /// Environment (from the environment tag or the account).
    pub environment: Option<&'a str>,
    /// Severity, once classified.
    pub severity: Option<Severity>,
    /// Resource tags.
    pub tags: &'a BTreeMap<String, String>,
    /// The drifted (live) value.
    pub actual: Option<&'a serde_json::Value>,
}

/// A compiled matcher: every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub(super) providers: Vec<Provider>,
    pub(super) resource_types: Vec<Glob>,
    pub(super) attributes: Vec<Glob>,
    pub(super) kinds: Vec<FindingKind>,
    pub(super) environments: Vec<String>,
    pub(super) severities: Vec<Severity>,
    pub(super) tags: BTreeMap<String, String>,
    pub(super) actual: Option<Regex>,
}

impl Matcher {
    /// Whether the subject meets every condition.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let any_glob = |globs: &[Glob], text: Option<&str>| {
            globs.is_empty() || text.is_some_and(|text| globs.iter().any(|glob| glob.is_match(text)))
        };
        (self.providers.is_empty() || self.providers.contains(&subject.provider))
            && any_glob(&self.resource_types, Some(subject.resource_type))
            && any_glob(&self.attributes, subject.attribute)
            && (self.kinds.is_empty() || self.kinds.contains(&subject.kind))
            && (self.environments.is_empty()
                || subject.environment.is_some_and(|env| self.environments.iter().any(|e| e.eq_ignore_ascii_case(env))))
            && (self.severities.is_empty() || subject.severity.is_some_and(|s| self.severities.contains(&s)))
            && self
                .tags
                .iter()
                .all(|(key, value)| subject.tags.get(key).is_some_and(|actual| actual.eq_ignore_ascii_case(value)))
            && self
                .actual
                .as_ref()
                .is_none_or(|regex| subject.actual.is_some_and(|value| regex.is_match(&value.to_string())))
    }

    /// Whether the matcher has no conditions.
    pub fn is_catch_all(&self) -> bool {
        self.providers.is_empty()
            && self.resource_types.is_empty()
            && self.attributes.is_empty()
            && self.kinds.is_empty()
            && self.environments.is_empty()
            && self.severities.is_empty()
            && self.tags.is_empty()
            && self.actual.is_none()
    }
}

/// Compiled detection scope.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Report unmanaged resources at all.
    pub unmanaged_enabled: bool,
    /// Types that count.
    pub unmanaged_types: Vec<Glob>,
    /// Names or ids that never count.
    pub exclude_names: Vec<Glob>,
    /// Tags that exclude.
    pub exclude_tags: BTreeMap<String, String>,
    /// Collections at once.
    pub concurrency: usize,
}

impl Detection {
    /// Whether unmanaged instances of this type are reported at all (so listed).
    pub fn reports_unmanaged(&self, resource_type: &str) -> bool {
        self.unmanaged_enabled && self.unmanaged_types.iter().any(|glob| glob.is_match(resource_type))
    }

    /// Whether a live resource in no state is a finding.
    pub fn counts_unmanaged(&self, resource: &crate::drift::Normalized) -> bool {
        let name = resource.attributes.get("name").and_then(serde_json::Value::as_str);
        let tags = resource.tags();
        self.reports_unmanaged(&resource.resource_type)
            && !self
                .exclude_names
                .iter()
                .any(|glob| glob.is_match(&resource.id) || name.is_some_and(|n| glob.is_match(n)))
            && !self.exclude_tags.iter().any(|(key, value)| tags.get(key).is_some_and(|v| value == "*" || v == value))
    }
}

/// A compiled classification rule.
#[derive(Debug, Clone)]
pub struct ClassificationRule {
    /// Rule name.
    pub name: String,
    /// Conditions.
    pub matcher: Matcher,
    /// Resulting severity.
    pub severity: Severity,
    /// Control ids.
    pub controls: Vec<String>,
}

/// The outcome of classifying a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// Severity.
    pub severity: Severity,
    /// The rule that decided, or `None` for the default severity.
    pub rule: Option<String>,
    /// Control ids of that rule.
    pub controls: Vec<String>,
}

/// Compiled classification.
#[derive(Debug, Clone)]
pub struct Classification {
    /// Severity when no rule matches.
    pub default_severity: Severity,
    /// The tag naming a resource's environment.
    pub environment_tag: String,
    /// Ordered rules.
    pub rules: Vec<ClassificationRule>,
    /// Ignore rules: (resource type, attribute).
    pub ignore: Vec<(Glob, Glob)>,
}

impl Classification {
    /// Ranks a finding: the first matching rule decides.
    pub fn classify(&self, subject: &Subject<'_>) -> Classified {
        self.rules.iter().find(|rule| rule.matcher.matches(subject)).map_or_else(
            || Classified { severity: self.default_severity, rule: None, controls: Vec::new() },
            |rule| Classified {
                severity: rule.severity,
                rule: Some(rule.name.clone()),
                controls: rule.controls.clone(),
            },
        )
    }

    /// Whether drift of this attribute is ignored by policy.
    pub fn is_ignored(&self, resource_type: &str, attribute: &str) -> bool {
        self.ignore.iter().any(|(types, attributes)| types.is_match(resource_type) && attributes.is_match(attribute))
    }
}

/// A compiled flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Flow name.
    pub name: String,
    /// Which findings take it.
    pub matcher: Matcher,
    /// Its steps (a legal path, checked).
    pub steps: Vec<Step>,
    /// Remediation attempts before escalation.
    pub max_attempts: u32,
}

impl Flow {
    /// The step after `step` in this flow, if any.
    pub fn after(&self, step: Step) -> Option<Step> {
        let index = self.steps.iter().position(|s| *s == step)?;
        self.steps.get(index + 1).copied()
    }
}

/// Compiled remediation guard.
#[derive(Debug, Clone)]
pub struct Remediation {
    /// Allowed (environments, severities).
    pub allow: Vec<(Vec<String>, Vec<Severity>)>,
    /// Delay before verification.
    pub verify_after: Duration,
}

impl Remediation {
    /// Whether automatic remediation is allowed for this environment and severity.
    pub fn allows(&self, environment: Option<&str>, severity: Severity) -> bool {
        let Some(environment) = environment else { return false };
        self.allow.iter().any(|(environments, severities)| {
            environments.iter().any(|e| e.eq_ignore_ascii_case(environment)) && severities.contains(&severity)
        })
    }
}

/// Compiled protection.
#[derive(Debug, Clone)]
pub struct Protection {
    /// Protected tags: key and lower-cased values (empty: any value).
    pub tags: Vec<(String, Vec<String>)>,
    /// Janitor name prefix.
    pub name_prefix: Option<String>,
    /// Caps.
    pub max_remediations_per_run: u32,
    /// Caps.
    pub max_deletions_per_run: u32,
    /// Caps per resource type.
    pub max_deletions_per_type: BTreeMap<String, u32>,
    /// Percentage cap.
    pub max_delete_percent: u8,
    /// The percentage cap applies from this many prefixed resources of a type in an account.
    pub percent_min_population: usize,
}

impl Protection {
    /// The protected tag that blocks this resource, if any. Keys match case-insensitively
    /// too: GCS label keys must be lowercase and Azure tag names are case-insensitive, so
    /// `Environment` must also catch `environment` and `ENVIRONMENT`. A block errs wide.
    pub fn protected_by(&self, tags: &BTreeMap<String, String>) -> Option<(String, String)> {
        self.tags.iter().find_map(|(key, values)| {
            tags.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).find_map(|(k, value)| {
                (values.is_empty() || values.iter().any(|v| v.eq_ignore_ascii_case(value)))
                    .then(|| (k.clone(), value.clone()))
            })
        })
    }
}

/// Compiled janitor settings.
#[derive(Debug, Clone)]
pub struct Janitor {
    /// Whether it runs.
    pub enabled: bool,
    /// Target types.
    pub targets: Vec<JanitorTarget>,
    /// Tag names.
    pub expires_at_tag: String,
    /// Tag names.
    pub ttl_tag: String,
    /// Default TTL.
    pub default_ttl: Duration,
    /// Grace between mark and delete.
    pub grace_period: Duration,
    /// Mark tag.
    pub mark_tag: String,
    /// Phases in order.
    pub phases: Vec<JanitorPhase>,
    /// Phase-1 command.
    pub iac: IacCommand,
    /// Phase-1 timeout.
    pub iac_timeout: Duration,
    /// Workdir globs.
    pub iac_workdirs: Vec<(Glob, String)>,
    /// EC2 switch.
    pub ec2_disable_termination_protection: bool,
    /// RDS switch.
    pub rds_skip_final_snapshot: bool,
    /// RDS switch.
    pub rds_disable_deletion_protection: bool,
    /// Revenant check delay.
    pub revenant_check_after: Duration,
}

/// Compiled retry settings.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all.
    pub max_attempts: u32,
    /// First delay.
    pub base_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Jitter on.
    pub jitter: bool,
}

impl Policy {
    /// The flow a finding takes: the first whose matcher matches (the last matches all).
    pub fn flow_for(&self, subject: &Subject<'_>) -> &Flow {
        self.flows
            .iter()
            .find(|flow| flow.matcher.matches(subject))
            .unwrap_or_else(|| self.flows.last().expect("the compiler guarantees a catch-all flow"))
    }

    /// The flow with this name.
    pub fn flow_named(&self, name: &str) -> Option<&Flow> {
        self.flows.iter().find(|flow| flow.name == name)
    }
}
