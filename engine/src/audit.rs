//! The audit vocabulary: the JSON log is an interface (schemas/audit-event.schema.json).
//! Every state transition and every cloud mutation, or would-be mutation under dry-run,
//! is one [`AuditRecord`]. Emission (through tracing) lives in the binary; the shape lives here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The target every audit event is logged under: filter on it in Datadog or Splunk.
pub const AUDIT_TARGET: &str = "driftguard::audit";

/// Stable event names. Adding one is a compatible change; renaming one is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AuditEventName {
    /// A policy was compiled and took effect.
    #[serde(rename = "policy.loaded")]
    PolicyLoaded,
    /// A policy was refused (startup, reload, validate).
    #[serde(rename = "policy.rejected")]
    PolicyRejected,
    /// A run of a job began.
    #[serde(rename = "run.started")]
    RunStarted,
    /// A run of a job ended.
    #[serde(rename = "run.finished")]
    RunFinished,
    /// A finding moved from one state to another.
    #[serde(rename = "finding.transition")]
    FindingTransition,
    /// A cloud mutation ran, failed, or (dry-run) would have run.
    #[serde(rename = "cloud.mutation")]
    CloudMutation,
    /// A person acknowledged a finding.
    #[serde(rename = "finding.acknowledged")]
    FindingAcknowledged,
    /// The janitor decided about a resource: mark, unmark, wait, delete, held by a cap,
    /// or skipped (a prefixed resource a hard block protects), with the reason.
    #[serde(rename = "janitor.decision")]
    JanitorDecision,
    /// A resource's deletion moved from one state to another (marked, phase1, verifying,
    /// phase2, deleted, failed, blocked, unmarked, revenant).
    #[serde(rename = "janitor.transition")]
    JanitorTransition,
    /// Phase 1 ran the IaC destroy in a working directory (or, dry-run, would have).
    #[serde(rename = "janitor.iac")]
    JanitorIac,
    /// The daemon started, began draining, or stopped (`action` says which).
    #[serde(rename = "daemon.lifecycle")]
    DaemonLifecycle,
    /// A scheduled job did not start: its previous run was still going, or the daemon
    /// was draining.
    #[serde(rename = "job.skipped")]
    JobSkipped,
    /// A webhook message was delivered or given up on (`reason` names the webhook, never
    /// its URL).
    #[serde(rename = "notification.sent")]
    NotificationSent,
    /// An account's credentials reach another account than the policy says (`account` is
    /// the policy's, `actual_account` and `principal` what the credentials reach): the
    /// account is refused for the whole job, nothing is listed or changed there.
    #[serde(rename = "account.identity_mismatch")]
    AccountIdentityMismatch,
    /// An account could not be reached: the role could not be assumed, the credentials
    /// were refused, or the project or subscription did not answer for itself. Refused
    /// for the whole job, like a mismatch.
    #[serde(rename = "account.unreachable")]
    AccountUnreachable,
    /// Resources of Terraform types DriftGuard does not compare were found in a state:
    /// reported, never silently dropped (`reason` lists the types and counts).
    #[serde(rename = "state.unsupported")]
    StateUnsupported,
}

impl AuditEventName {
    /// Every event name.
    pub const ALL: [AuditEventName; 16] = [
        AuditEventName::PolicyLoaded,
        AuditEventName::PolicyRejected,
        AuditEventName::RunStarted,
        AuditEventName::RunFinished,
        AuditEventName::FindingTransition,
        AuditEventName::CloudMutation,
        AuditEventName::FindingAcknowledged,
        AuditEventName::JanitorDecision,
        AuditEventName::JanitorTransition,
        AuditEventName::JanitorIac,
        AuditEventName::DaemonLifecycle,
        AuditEventName::JobSkipped,
        AuditEventName::NotificationSent,
        AuditEventName::AccountIdentityMismatch,
        AuditEventName::AccountUnreachable,
        AuditEventName::StateUnsupported,
    ];

    /// The dotted name as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEventName::PolicyLoaded => "policy.loaded",
            AuditEventName::PolicyRejected => "policy.rejected",
            AuditEventName::RunStarted => "run.started",
            AuditEventName::RunFinished => "run.finished",
            AuditEventName::FindingTransition => "finding.transition",
            AuditEventName::CloudMutation => "cloud.mutation",
            AuditEventName::FindingAcknowledged => "finding.acknowledged",
            AuditEventName::JanitorDecision => "janitor.decision",
            AuditEventName::DaemonLifecycle => "daemon.lifecycle",
            AuditEventName::JobSkipped => "job.skipped",
            AuditEventName::NotificationSent => "notification.sent",
            AuditEventName::JanitorTransition => "janitor.transition",
            AuditEventName::JanitorIac => "janitor.iac",
            AuditEventName::AccountIdentityMismatch => "account.identity_mismatch",
            AuditEventName::AccountUnreachable => "account.unreachable",
            AuditEventName::StateUnsupported => "state.unsupported",
        }
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Succeeded,
    /// Tried and failed.
    Failed,
    /// Dry-run: would have been done.
    Simulated,
    /// Refused by a guard (protection, cap, allowlist).
    Blocked,
    /// Nothing to do, or an informational record.
    Noted,
    /// A call was started and the process stopped before its answer was recorded, and
    /// live state cannot tell whether it took effect (the resource is no longer listed,
    /// or a working directory's state is unreadable). Rare: most such calls are settled
    /// as succeeded or failed from what the cloud shows on the next run.
    Unknown,
}

/// Who/what/why/when of one audited decision or mutation. Flat on purpose: log platforms
/// index top-level fields, and tracing records scalar fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRecord {
    /// Unique id of this record (a UUID). A record written again after a crash (the
    /// process died between writing the line and recording that it did) carries the same
    /// id and the same fields: deduplicate on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Stable event name.
    pub event: AuditEventName,
    /// What was done or decided, e.g. `transition`, `ec2:RevokeSecurityGroupIngress`.
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether this was a simulation.
    pub dry_run: bool,
    /// The run (one job execution) this belongs to.
    pub run_id: String,
    /// The host DriftGuard runs on.
    pub host: String,
    /// SHA-256 of the policy file in force.
    pub policy_hash: String,
    /// aws, gcp, azure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Account, project or subscription (as the policy names it; on every record of a
    /// call, the verified one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Who made the call, as the cloud verified it at the start of the job: an AWS caller
    /// ARN (for an assumed role `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`), a GCP
    /// service account, an Azure client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The account the credentials really reach, on `account.identity_mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_account: Option<String>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Terraform resource type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Cloud resource id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Finding id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Policy rule or flow that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// State before a transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_state: Option<String>,
    /// State after a transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_state: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AuditRecord {
    /// A record with the required fields and nothing about a resource yet.
    pub fn new(
        event: AuditEventName,
        action: &str,
        outcome: Outcome,
        dry_run: bool,
        run_id: &str,
        host: &str,
        policy_hash: &str,
    ) -> Self {
        Self {
            event_id: None,
            event,
            action: action.to_owned(),
            outcome,
            dry_run,
            run_id: run_id.to_owned(),
            host: host.to_owned(),
            policy_hash: policy_hash.to_owned(),
            provider: None,
            account: None,
            principal: None,
            actual_account: None,
            region: None,
            resource_type: None,
            resource_id: None,
            finding_id: None,
            rule: None,
            severity: None,
            from_state: None,
            to_state: None,
            reason: None,
        }
    }
}

/// One line of DriftGuard's JSON log, audit or not. The schema in `schemas/` is generated
/// from this type (audit lines also carry every required field of [`AuditRecord`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "DriftGuard JSON log line")]
pub struct LogLine {
    /// RFC 3339 UTC time.
    pub timestamp: String,
    /// TRACE, DEBUG, INFO, WARN or ERROR.
    pub level: LogLevelName,
    /// Human-readable summary.
    pub message: String,
    /// Module that logged it; audit events use `driftguard::audit`.
    pub target: String,
    /// Stable event name (audit events use [`AuditEventName`]).
    pub event: String,
    /// The audit fields, present on audit lines.
    #[serde(flatten)]
    pub audit: Option<AuditFields>,
}

/// Log levels as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevelName {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// The optional fields any line may carry (their types are fixed even where optional).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AuditFields {
    /// See [`AuditRecord::event_id`].
    pub event_id: Option<String>,
    /// See [`AuditRecord::action`].
    pub action: Option<String>,
    /// See [`AuditRecord::outcome`].
    pub outcome: Option<Outcome>,
    /// See [`AuditRecord::dry_run`].
    pub dry_run: Option<bool>,
    /// See [`AuditRecord::run_id`].
    pub run_id: Option<String>,
    /// See [`AuditRecord::host`].
    pub host: Option<String>,
    /// See [`AuditRecord::policy_hash`].
    pub policy_hash: Option<String>,
    /// See [`AuditRecord::provider`].
    pub provider: Option<String>,
    /// See [`AuditRecord::account`].
    pub account: Option<String>,
    /// See [`AuditRecord::principal`].
    pub principal: Option<String>,
    /// See [`AuditRecord::actual_account`].
    pub actual_account: Option<String>,
    /// See [`AuditRecord::region`].
    pub region: Option<String>,
    /// See [`AuditRecord::resource_type`].
    pub resource_type: Option<String>,
    /// See [`AuditRecord::resource_id`].
    pub resource_id: Option<String>,
    /// See [`AuditRecord::finding_id`].
    pub finding_id: Option<String>,
    /// See [`AuditRecord::rule`].
    pub rule: Option<String>,
    /// See [`AuditRecord::severity`].
    pub severity: Option<String>,
    /// See [`AuditRecord::from_state`].
    pub from_state: Option<String>,
    /// See [`AuditRecord::to_state`].
    pub to_state: Option<String>,
    /// See [`AuditRecord::reason`].
    pub reason: Option<String>,
}

/// The JSON schema of a log line: generated from [`LogLine`], plus the rule that lines
/// with target `driftguard::audit` carry the required audit fields.
pub fn log_line_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(LogLine)).unwrap_or_default();
    let event_names: Vec<&str> = AuditEventName::ALL.iter().map(|name| name.as_str()).collect();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "if".to_owned(),
            serde_json::json!({"properties": {"target": {"const": AUDIT_TARGET}}, "required": ["target"]}),
        );
        object.insert(
            "then".to_owned(),
            serde_json::json!({
                "required": ["event_id", "action", "outcome", "dry_run", "run_id", "host", "policy_hash"],
                "properties": {
                    "event_id": {"type": "string", "minLength": 1},
                    "event": {"enum": event_names},
                    "action": {"type": "string"},
                    "dry_run": {"type": "boolean"},
                    "run_id": {"type": "string", "minLength": 1},
                    "host": {"type": "string", "minLength": 1},
                    "policy_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$|^none$"}
                }
            }),
        );
    }
    schema
}
