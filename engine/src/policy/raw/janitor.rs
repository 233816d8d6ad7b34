//! The `janitor` section.

use std::collections::BTreeMap;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{JanitorPhase, JanitorTarget};
use crate::policy::checks::{ACCOUNT_ID, duration};

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
    #[garde(inner(pattern(ACCOUNT_ID)))]
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
