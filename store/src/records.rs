//! Plain-data rows exchanged with the store. They carry no behaviour so that
//! callers (engine, janitor, CLI) can build and inspect them freely.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One finding: a drifted attribute or an unmanaged resource, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Stable identifier of the finding.
    pub id: String,
    /// Content fingerprint; the same drift seen again yields the same value.
    pub fingerprint: String,
    /// Cloud provider, e.g. `aws`.
    pub provider: String,
    /// Account / subscription / project the resource lives in.
    pub account: String,
    /// Region of the resource.
    pub region: String,
    /// Provider resource type, e.g. `aws_s3_bucket`.
    pub resource_type: String,
    /// Provider resource identifier.
    pub resource_id: String,
    /// Terraform address (or an empty string for unmanaged resources).
    pub address: String,
    /// Kind of finding, e.g. `drift` or `unmanaged`.
    pub kind: String,
    /// Drifted attribute path (empty when not attribute-specific).
    pub attribute: String,
    /// Severity assigned by policy, if any.
    pub severity: Option<String>,
    /// Name of the policy flow handling this finding, if any.
    pub flow: Option<String>,
    /// Current lifecycle state.
    pub state: String,
    /// Remediation attempts so far.
    pub attempts: u32,
    /// Free-form details (observed/expected values, tags, ...).
    pub detail: serde_json::Value,
    /// When the finding was first recorded.
    pub created_at: DateTime<Utc>,
    /// When the finding last changed.
    pub updated_at: DateTime<Utc>,
}

/// Progress of the side effects attached to a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectsStatus {
    /// The transition has no effects.
    None,
    /// Effects are recorded but not yet confirmed as executed.
    Pending,
    /// Effects ran successfully.
    Done,
    /// Effects ran and failed.
    Failed,
}

impl EffectsStatus {
    /// The value stored in `transitions.effects_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Inverse of [`EffectsStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "pending" => Some(Self::Pending),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One state-machine transition of a finding, with its intended effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// Sequence number; `None` for a transition not yet stored.
    pub seq: Option<i64>,
    /// Run that produced the transition.
    pub run_id: String,
    /// Finding the transition belongs to.
    pub finding_id: String,
    /// When the transition happened.
    pub at: DateTime<Utc>,
    /// State before the transition.
    pub from_state: String,
    /// State after the transition.
    pub to_state: String,
    /// Event that triggered the transition.
    pub event: String,
    /// Effects to execute, as a JSON array (empty or null when none).
    pub effects: serde_json::Value,
    /// Progress of `effects`; derived by the store when recording.
    pub effects_status: EffectsStatus,
    /// Outcome message of the effects, once completed.
    pub outcome: Option<String>,
    /// Whether the run was a dry run (effects are only simulated).
    pub dry_run: bool,
    /// Hash of the policy in force when the transition was decided.
    pub policy_hash: String,
}

impl TransitionRecord {
    /// Whether the transition carries effects to execute.
    pub fn has_effects(&self) -> bool {
        match &self.effects {
            serde_json::Value::Null => false,
            serde_json::Value::Array(items) => !items.is_empty(),
            _ => true,
        }
    }
}

/// An acknowledgement silencing a finding, possibly until a deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckRecord {
    /// Acknowledged finding.
    pub finding_id: String,
    /// Fingerprint at acknowledgement time; a changed drift voids the ack.
    pub fingerprint: String,
    /// Expiry; `None` means until revoked.
    pub until: Option<DateTime<Utc>>,
    /// Why the finding was acknowledged.
    pub reason: String,
    /// Who acknowledged it.
    pub by_whom: String,
    /// When the acknowledgement was made.
    pub created_at: DateTime<Utc>,
}

/// Selection for [`crate::Store::history`]; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryFilter {
    /// Only transitions of this finding id.
    pub finding: Option<String>,
    /// Only transitions whose finding has this resource id or address.
    pub resource: Option<String>,
    /// Only transitions at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many entries: the most recent ones.
    pub limit: Option<usize>,
}

/// A transition joined with identifying fields of its finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The transition itself.
    #[serde(flatten)]
    pub transition: TransitionRecord,
    /// Provider of the finding's resource.
    pub provider: String,
    /// Resource type of the finding.
    pub resource_type: String,
    /// Resource id of the finding.
    pub resource_id: String,
    /// Terraform address of the finding.
    pub address: String,
}

/// One resource the janitor has acted on, keyed by `key` (provider/account/region/type/id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JanitorItem {
    /// `provider/account/region/type/id`.
    pub key: String,
    /// Cloud provider.
    pub provider: String,
    /// Account, project or subscription.
    pub account: String,
    /// Region or location.
    pub region: String,
    /// Janitor target type, e.g. `aws_s3_bucket`.
    pub resource_type: String,
    /// Cloud id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Deletion state (the janitor's `ItemState` name).
    pub state: String,
    /// Context: mark time, workdir, last reason, deleted-at.
    pub detail: serde_json::Value,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One janitor transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JanitorTransition {
    /// The run.
    pub run_id: String,
    /// The item.
    pub key: String,
    /// When.
    pub at: DateTime<Utc>,
    /// From state (`none` for a new item).
    pub from_state: String,
    /// To state.
    pub to_state: String,
    /// The event name.
    pub event: String,
    /// Why, where the event says.
    pub reason: Option<String>,
    /// Under dry-run.
    pub dry_run: bool,
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// The record is final: write it.
    Ready,
    /// The record of a call that was started and whose answer was not recorded: the call
    /// may or may not have taken effect. Whoever owns the subject settles it from live
    /// state, then it is written.
    InDoubt,
}

impl OutboxState {
    /// The value stored in `audit_outbox.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::InDoubt => "in_doubt",
        }
    }

    /// Inverse of [`OutboxState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ready" => Some(Self::Ready),
            "in_doubt" => Some(Self::InDoubt),
            _ => None,
        }
    }
}

/// An audit record on its way to the log: stored before (or with) what it tells of, and
/// removed once written, so a crash in between writes it on the next start instead of
/// losing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The record's unique id (also its `event_id` field in the log).
    pub event_id: String,
    /// The run that made it.
    pub run_id: String,
    /// What settles it when in doubt: `finding:ID`, `janitor:KEY` or `workdir:DIR`.
    pub subject: String,
    /// Ready or in doubt.
    pub state: OutboxState,
    /// The audit record, as JSON text (stored as is: no parse on the hot path).
    pub record: String,
    /// Its human-readable message.
    pub message: String,
}

impl AsRef<OutboxEntry> for OutboxEntry {
    fn as_ref(&self) -> &OutboxEntry {
        self
    }
}
