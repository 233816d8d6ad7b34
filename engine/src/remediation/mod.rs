//! Remediation calls: the typed contract between the planner (which decides them, from the
//! catalogue) and the executors (which make them). One variant per cloud, one variant per
//! API call inside it, so an executor is an exhaustive match and a call it cannot make does
//! not compile rather than failing at run time.
//!
//! A call's recorded form, [`Action`] (`api`, `target`, `params`), is what the store keeps
//! with a transition's effects, what audit records name and what the drift report lists:
//! it is a documented interface (auditors search `api`), so it stays as it was written
//! before calls were typed, and stores written by earlier versions resume. Converting is
//! lossless both ways ([`RemediationCall::record`] and `TryFrom<Action>`); a recorded call
//! no variant reads is refused with the reason, never guessed at.

pub mod aws;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use aws::AwsCall;

/// One cloud API call that restores declared state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Action", into = "Action")]
pub enum RemediationCall {
    /// An AWS call.
    Aws(AwsCall),
}

impl RemediationCall {
    /// The API operation as AWS (or the cloud) names it, e.g. `ec2:RevokeSecurityGroupIngress`:
    /// the `operation` of its audit record.
    pub fn api(&self) -> &'static str {
        match self {
            RemediationCall::Aws(call) => call.api(),
        }
    }

    /// The resource it acts on (its cloud id, name or ARN).
    pub fn target(&self) -> &str {
        match self {
            RemediationCall::Aws(call) => call.target(),
        }
    }

    /// The recorded form.
    pub fn record(&self) -> Action {
        match self {
            RemediationCall::Aws(call) => call.record(),
        }
    }
}

impl From<AwsCall> for RemediationCall {
    fn from(call: AwsCall) -> Self {
        RemediationCall::Aws(call)
    }
}

impl From<RemediationCall> for Action {
    fn from(call: RemediationCall) -> Self {
        call.record()
    }
}

impl TryFrom<Action> for RemediationCall {
    type Error = String;

    fn try_from(action: Action) -> Result<Self, String> {
        match action.api.split_once(':') {
            Some(("ec2" | "s3" | "rds" | "iam", _)) => AwsCall::read(&action).map(RemediationCall::Aws),
            _ => Err(format!("{}: no remediation call of DriftGuard has this API name", action.api)),
        }
    }
}

// The schema is the recorded form's: that is what the report and the audit log carry.
impl JsonSchema for RemediationCall {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Action::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        Action::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Action::json_schema(generator)
    }
}

/// A remediation call as recorded: in the store, the audit log and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// The API operation, e.g. `ec2:RevokeSecurityGroupIngress`.
    pub api: String,
    /// The resource it acts on.
    pub target: String,
    /// Its parameters.
    pub params: serde_json::Value,
}
