//! Detected drift (the input of the finding state machine) and the drift report (the
//! output of `detect`, schemas/drift-report.schema.json). Plain data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{FindingKind, Provider, Severity};
use crate::remediation::RemediationCall;

/// One difference between declared and live state, as a collector reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectedDrift {
    /// Cloud.
    pub provider: Provider,
    /// Account, project or subscription.
    pub account: String,
    /// Region (or location).
    pub region: String,
    /// Terraform resource type.
    pub resource_type: String,
    /// Cloud id.
    pub resource_id: String,
    /// Terraform address (empty for unmanaged resources).
    #[serde(default)]
    pub address: String,
    /// Kind of drift.
    pub kind: FindingKind,
    /// Drifted attribute path (modified only).
    #[serde(default)]
    pub attribute: Option<String>,
    /// Declared value.
    #[serde(default)]
    pub expected: Option<serde_json::Value>,
    /// Live value.
    #[serde(default)]
    pub actual: Option<serde_json::Value>,
    /// Live tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The calls that would restore declared state (empty: no automatic fix).
    #[serde(default)]
    pub actions: Vec<RemediationCall>,
}

impl DetectedDrift {
    /// A stable fingerprint: the same drift gives the same value in every run, a changed
    /// drift (other actual value) a different one. Tags are left out: they are context.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        let canonical = serde_json::json!([
            self.provider,
            self.account,
            self.region,
            self.resource_type,
            self.resource_id,
            self.kind,
            self.attribute,
            self.expected,
            self.actual,
        ]);
        hasher.update(canonical.to_string().as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// Counts by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KindCounts {
    /// Modified.
    pub modified: u64,
    /// Missing.
    pub missing: u64,
    /// Unmanaged.
    pub unmanaged: u64,
}

/// Counts by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeverityCounts {
    /// Info.
    pub info: u64,
    /// Low.
    pub low: u64,
    /// Medium.
    pub medium: u64,
    /// High.
    pub high: u64,
    /// Critical.
    pub critical: u64,
}

/// Report summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// All findings in the report.
    pub total: u64,
    /// By kind.
    pub by_kind: KindCounts,
    /// By severity.
    pub by_severity: SeverityCounts,
}

/// One finding in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportFinding {
    /// Finding id (stable for the same drift).
    pub id: String,
    /// Drift fingerprint.
    pub fingerprint: String,
    /// Cloud.
    pub provider: Provider,
    /// Account, project or subscription.
    pub account: String,
    /// Region.
    pub region: String,
    /// Terraform resource type.
    pub resource_type: String,
    /// Terraform address.
    pub address: String,
    /// Cloud id.
    pub resource_id: String,
    /// Kind.
    pub kind: FindingKind,
    /// Attribute (modified only).
    pub attribute: Option<String>,
    /// Declared value.
    pub expected: Option<serde_json::Value>,
    /// Live value.
    pub actual: Option<serde_json::Value>,
    /// Severity.
    pub severity: Option<Severity>,
    /// Control ids.
    pub controls: Vec<String>,
    /// State-machine state after this run.
    pub state: crate::finding::State,
    /// Calls planned (run, or would run under dry-run).
    pub actions: Vec<RemediationCall>,
}

/// The drift report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "DriftGuard drift report")]
pub struct DriftReport {
    /// Report format version.
    pub version: u32,
    /// When the run finished.
    pub generated_at: DateTime<Utc>,
    /// The run.
    pub run_id: String,
    /// Policy file hash.
    pub policy_hash: String,
    /// Whether the run was a simulation.
    pub dry_run: bool,
    /// Counts.
    pub summary: Summary,
    /// Findings.
    pub findings: Vec<ReportFinding>,
    /// Declared resources of Terraform types DriftGuard does not compare, counted by type:
    /// reported, never silently dropped.
    #[serde(default)]
    pub unsupported: BTreeMap<String, u64>,
    /// Accounts refused for this run: their credentials reach another account or none, so
    /// nothing there was compared (their open findings are left as they were).
    #[serde(default)]
    pub refused_accounts: Vec<RefusedAccount>,
}

/// An account a run refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefusedAccount {
    /// Cloud.
    pub provider: Provider,
    /// The policy's account, project or subscription.
    pub account: String,
    /// `identity_mismatch` or `unreachable`.
    pub kind: String,
    /// Why, in words.
    pub reason: String,
}

impl DriftReport {
    /// The same report with what the run could not compare.
    #[must_use]
    pub fn with_coverage(mut self, unsupported: BTreeMap<String, u64>, refused: Vec<RefusedAccount>) -> Self {
        self.unsupported = unsupported;
        self.refused_accounts = refused;
        self
    }

    /// Builds a report, computing the summary from the findings.
    pub fn new(
        run_id: &str,
        policy_hash: &str,
        dry_run: bool,
        generated_at: DateTime<Utc>,
        findings: Vec<ReportFinding>,
    ) -> Self {
        let mut summary = Summary::default();
        for finding in &findings {
            summary.total += 1;
            match finding.kind {
                FindingKind::Modified => summary.by_kind.modified += 1,
                FindingKind::Missing => summary.by_kind.missing += 1,
                FindingKind::Unmanaged => summary.by_kind.unmanaged += 1,
            }
            match finding.severity {
                Some(Severity::Info) => summary.by_severity.info += 1,
                Some(Severity::Low) => summary.by_severity.low += 1,
                Some(Severity::Medium) => summary.by_severity.medium += 1,
                Some(Severity::High) => summary.by_severity.high += 1,
                Some(Severity::Critical) => summary.by_severity.critical += 1,
                None => {}
            }
        }
        Self {
            version: 1,
            generated_at,
            run_id: run_id.to_owned(),
            policy_hash: policy_hash.to_owned(),
            dry_run,
            summary,
            findings,
            unsupported: BTreeMap::new(),
            refused_accounts: Vec::new(),
        }
    }
}
