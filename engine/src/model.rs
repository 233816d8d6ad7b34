//! Vocabulary shared by the policy, the state machines and the audit log.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Cosmetic (tags).
    #[default]
    Low,
    /// Cost or behaviour (instance type).
    Medium,
    /// Security posture weakened.
    High,
    /// Exposure now (open ingress, public data).
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The lower-case name used in the policy and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl Provider {
    /// The lower-case name used in the policy and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of drift a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// An attribute differs from the state.
    Modified,
    /// In a state, gone from the cloud.
    Missing,
    /// In the cloud, in no state.
    Unmanaged,
}

impl FindingKind {
    /// The lower-case name used in the policy and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Modified => "modified",
            FindingKind::Missing => "missing",
            FindingKind::Unmanaged => "unmanaged",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of a flow: what the policy may ask the state machine to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Give the finding a severity (classification rules).
    Classify,
    /// Compute the API calls that would restore the declared state.
    Plan,
    /// Report only (the finding stays open).
    Report,
    /// Run the planned calls.
    Remediate,
    /// Re-collect and confirm the drift is gone.
    Verify,
    /// Hand the finding to people (notifications).
    Escalate,
}

impl Step {
    /// The lower-case name used in the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Classify => "classify",
            Step::Plan => "plan",
            Step::Report => "report",
            Step::Remediate => "remediate",
            Step::Verify => "verify",
            Step::Escalate => "escalate",
        }
    }

    /// Steps that may legally follow `prev` in a flow (`None` = the start of the flow).
    /// This is the state graph of [`crate::finding`], seen from the policy.
    pub fn successors(prev: Option<Step>) -> &'static [Step] {
        match prev {
            None => &[Step::Classify],
            Some(Step::Classify) => &[Step::Plan],
            Some(Step::Plan) => &[Step::Report, Step::Remediate, Step::Escalate],
            Some(Step::Remediate) => &[Step::Verify],
            Some(Step::Verify | Step::Report) => &[Step::Escalate],
            Some(Step::Escalate) => &[],
        }
    }

    /// Whether a flow may end after this step.
    pub fn may_end(self) -> bool {
        matches!(self, Step::Report | Step::Verify | Step::Escalate)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON unless stdout is a terminal.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation and all audit events.
    Info,
    /// Problems that did not stop a run.
    Warn,
    /// Failures.
    Error,
}

/// How a schedule splits its job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobSplit {
    /// One job for every account.
    #[default]
    All,
    /// One job per account, project or subscription.
    Account,
    /// One job per AWS account and region (detect only).
    Region,
}

/// Resource types the janitor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JanitorTarget {
    /// S3 buckets (all object versions first).
    AwsS3Bucket,
    /// EC2 instances.
    AwsInstance,
    /// RDS instances.
    AwsDbInstance,
    /// IAM roles (policies and instance profiles first).
    AwsIamRole,
    /// Cloud Storage buckets.
    GoogleStorageBucket,
    /// Azure resource groups.
    AzurermResourceGroup,
}

impl JanitorTarget {
    /// Every target.
    pub const ALL: [JanitorTarget; 6] = [
        JanitorTarget::AwsS3Bucket,
        JanitorTarget::AwsInstance,
        JanitorTarget::AwsDbInstance,
        JanitorTarget::AwsIamRole,
        JanitorTarget::GoogleStorageBucket,
        JanitorTarget::AzurermResourceGroup,
    ];

    /// The Terraform resource type name, as written in the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            JanitorTarget::AwsS3Bucket => "aws_s3_bucket",
            JanitorTarget::AwsInstance => "aws_instance",
            JanitorTarget::AwsDbInstance => "aws_db_instance",
            JanitorTarget::AwsIamRole => "aws_iam_role",
            JanitorTarget::GoogleStorageBucket => "google_storage_bucket",
            JanitorTarget::AzurermResourceGroup => "azurerm_resource_group",
        }
    }

    /// The cloud it lives in.
    pub fn provider(self) -> Provider {
        match self {
            JanitorTarget::AwsS3Bucket
            | JanitorTarget::AwsInstance
            | JanitorTarget::AwsDbInstance
            | JanitorTarget::AwsIamRole => Provider::Aws,
            JanitorTarget::GoogleStorageBucket => Provider::Gcp,
            JanitorTarget::AzurermResourceGroup => Provider::Azure,
        }
    }
}

/// A janitor phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JanitorPhase {
    /// Phase 1: IaC destroy.
    Iac,
    /// Phase 2: direct API deletion.
    Api,
}

/// Webhook body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Slack incoming-webhook JSON (`text` and `blocks`); Mattermost and others accept it.
    Slack,
    /// `{"source":"driftguard", "cycle": ..., "items": [...]}`.
    Generic,
}

/// What a webhook announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// Findings a flow escalated.
    Escalated,
    /// Resources the janitor marked for deletion (the grace period starts).
    JanitorMarked,
    /// An account, project or subscription refused for a job: its credentials reach
    /// another account, or none (nothing was listed or changed there).
    AccountRefused,
}
