//! The typed parameters of the AWS calls: changes, flags and the API's own structures
//! (`IpPermissions`, network ACL entries), in the names AWS gives them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A VPC setting `ec2:ModifyVpcAttribute` restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcFlag {
    /// `EnableDnsSupport`.
    EnableDnsSupport,
    /// `EnableDnsHostnames`.
    EnableDnsHostnames,
}

impl VpcFlag {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            VpcFlag::EnableDnsSupport => "EnableDnsSupport",
            VpcFlag::EnableDnsHostnames => "EnableDnsHostnames",
        }
    }
}

/// One network ACL entry, in the API's names (what `ec2:CreateNetworkAclEntry` takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AclEntry {
    /// Its number (evaluation order).
    pub rule_number: i32,
    /// Outbound.
    pub egress: bool,
    /// `allow` or `deny`.
    pub rule_action: String,
    /// Canonical protocol (`tcp`, `-1`, ...).
    pub protocol: String,
    /// Ports, for TCP and UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<PortRange>,
    /// ICMP type and code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type_code: Option<IcmpTypeCode>,
    /// The CIDR block (IPv4 or IPv6).
    pub cidr_block: String,
}

/// A port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PortRange {
    /// First port.
    pub from: i32,
    /// Last port.
    pub to: i32,
}

/// An ICMP type and code (-1: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IcmpTypeCode {
    /// The type.
    pub r#type: i32,
    /// The code.
    pub code: i32,
}

/// Whose IAM policies a call changes: the operation's name says it (`AttachRolePolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A role.
    Role,
    /// A user.
    User,
    /// A group.
    Group,
}

impl Principal {
    /// Every principal kind.
    pub const ALL: [Principal; 3] = [Principal::Role, Principal::User, Principal::Group];

    /// As in the API's operation names.
    pub fn as_str(self) -> &'static str {
        match self {
            Principal::Role => "Role",
            Principal::User => "User",
            Principal::Group => "Group",
        }
    }

    /// The name parameter of its operations (`RoleName`).
    pub fn name_parameter(self) -> &'static str {
        match self {
            Principal::Role => "RoleName",
            Principal::User => "UserName",
            Principal::Group => "GroupName",
        }
    }

    pub(super) fn api(self, verb: &str) -> &'static str {
        // Twelve operation names, spelled out so that each is a searchable literal.
        match (verb, self) {
            ("Attach", Principal::Role) => "iam:AttachRolePolicy",
            ("Attach", Principal::User) => "iam:AttachUserPolicy",
            ("Attach", Principal::Group) => "iam:AttachGroupPolicy",
            ("Detach", Principal::Role) => "iam:DetachRolePolicy",
            ("Detach", Principal::User) => "iam:DetachUserPolicy",
            ("Detach", Principal::Group) => "iam:DetachGroupPolicy",
            ("Put", Principal::Role) => "iam:PutRolePolicy",
            ("Put", Principal::User) => "iam:PutUserPolicy",
            ("Put", Principal::Group) => "iam:PutGroupPolicy",
            (_, Principal::Role) => "iam:DeleteRolePolicy",
            (_, Principal::User) => "iam:DeleteUserPolicy",
            (_, Principal::Group) => "iam:DeleteGroupPolicy",
        }
    }

    /// (verb, principal) of one of its operation names.
    pub(super) fn parse_api(api: &str) -> Option<(&'static str, Principal)> {
        ["Attach", "Detach", "Put", "Delete"]
            .into_iter()
            .flat_map(|verb| Principal::ALL.into_iter().map(move |principal| (verb, principal)))
            .find(|(verb, principal)| principal.api(verb) == api)
    }
}

/// One setting of the account's password policy, with its declared value, named as the
/// API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// `MinimumPasswordLength`.
    MinimumPasswordLength(i32),
    /// `MaxPasswordAge` (0: passwords never expire).
    MaxPasswordAge(i32),
    /// `PasswordReusePrevention` (0: not enforced).
    PasswordReusePrevention(i32),
    /// `RequireSymbols`.
    RequireSymbols(bool),
    /// `RequireNumbers`.
    RequireNumbers(bool),
    /// `RequireUppercaseCharacters`.
    RequireUppercaseCharacters(bool),
    /// `RequireLowercaseCharacters`.
    RequireLowercaseCharacters(bool),
    /// `AllowUsersToChangePassword`.
    AllowUsersToChangePassword(bool),
    /// `HardExpiry`.
    HardExpiry(bool),
}

impl PasswordChange {
    /// The API parameter's name and the value.
    pub fn parameter(self) -> (&'static str, Value) {
        match self {
            PasswordChange::MinimumPasswordLength(n) => ("MinimumPasswordLength", json!(n)),
            PasswordChange::MaxPasswordAge(n) => ("MaxPasswordAge", json!(n)),
            PasswordChange::PasswordReusePrevention(n) => ("PasswordReusePrevention", json!(n)),
            PasswordChange::RequireSymbols(b) => ("RequireSymbols", json!(b)),
            PasswordChange::RequireNumbers(b) => ("RequireNumbers", json!(b)),
            PasswordChange::RequireUppercaseCharacters(b) => ("RequireUppercaseCharacters", json!(b)),
            PasswordChange::RequireLowercaseCharacters(b) => ("RequireLowercaseCharacters", json!(b)),
            PasswordChange::AllowUsersToChangePassword(b) => ("AllowUsersToChangePassword", json!(b)),
            PasswordChange::HardExpiry(b) => ("HardExpiry", json!(b)),
        }
    }

    /// Reads [`PasswordChange::parameter`] back.
    pub fn from_parameter(name: &str, value: &Value) -> Option<PasswordChange> {
        let number = || value.as_i64().and_then(|n| i32::try_from(n).ok());
        let flag = || value.as_bool();
        Some(match name {
            "MinimumPasswordLength" => PasswordChange::MinimumPasswordLength(number()?),
            "MaxPasswordAge" => PasswordChange::MaxPasswordAge(number()?),
            "PasswordReusePrevention" => PasswordChange::PasswordReusePrevention(number()?),
            "RequireSymbols" => PasswordChange::RequireSymbols(flag()?),
            "RequireNumbers" => PasswordChange::RequireNumbers(flag()?),
            "RequireUppercaseCharacters" => PasswordChange::RequireUppercaseCharacters(flag()?),
            "RequireLowercaseCharacters" => PasswordChange::RequireLowercaseCharacters(flag()?),
            "AllowUsersToChangePassword" => PasswordChange::AllowUsersToChangePassword(flag()?),
            "HardExpiry" => PasswordChange::HardExpiry(flag()?),
            _ => return None,
        })
    }
}

/// Authorise or revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleChange {
    /// Add the rules.
    Authorize,
    /// Remove the rules.
    Revoke,
}

/// Which rules of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

/// One tag to write (`value`) or remove (no `value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value to write; none removes the key.
    pub value: Option<String>,
}

/// The instance attribute `ec2:ModifyInstanceAttribute` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceChange {
    /// Termination protection.
    DisableApiTermination(bool),
    /// The security groups of the primary interface (the whole set).
    SecurityGroups(Vec<String>),
}

/// One flag of a bucket's public access block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicAccessFlag {
    /// `block_public_acls`.
    BlockPublicAcls,
    /// `block_public_policy`.
    BlockPublicPolicy,
    /// `ignore_public_acls`.
    IgnorePublicAcls,
    /// `restrict_public_buckets`.
    RestrictPublicBuckets,
}

impl PublicAccessFlag {
    /// Every flag.
    pub const ALL: [PublicAccessFlag; 4] = [
        PublicAccessFlag::BlockPublicAcls,
        PublicAccessFlag::BlockPublicPolicy,
        PublicAccessFlag::IgnorePublicAcls,
        PublicAccessFlag::RestrictPublicBuckets,
    ];

    /// Its attribute path (the Terraform argument's name).
    pub fn as_str(self) -> &'static str {
        match self {
            PublicAccessFlag::BlockPublicAcls => "block_public_acls",
            PublicAccessFlag::BlockPublicPolicy => "block_public_policy",
            PublicAccessFlag::IgnorePublicAcls => "ignore_public_acls",
            PublicAccessFlag::RestrictPublicBuckets => "restrict_public_buckets",
        }
    }

    /// Parses [`PublicAccessFlag::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|flag| flag.as_str() == text)
    }
}

/// The setting of a bucket's default encryption rule that drifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionSetting {
    /// `rule.sse_algorithm` (`AES256`, `aws:kms`, ...).
    SseAlgorithm(String),
    /// `rule.kms_master_key_id` (the rule's algorithm is then AWS's default, `AES256`,
    /// unless the same run also restores the algorithm).
    KmsMasterKeyId(String),
}

/// The setting of a bucket's access logging that drifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggingSetting {
    /// `target_bucket`.
    TargetBucket(String),
    /// `target_prefix`.
    TargetPrefix(String),
}

/// The setting `rds:ModifyDBInstance` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbChange {
    /// `publicly_accessible`.
    PubliclyAccessible(bool),
    /// `deletion_protection`.
    DeletionProtection(bool),
    /// `backup_retention_period` (days).
    BackupRetentionPeriod(i32),
}

/// One `IpPermissions` element, in AWS's own field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `-1` (all).
    #[serde(default = "all_protocols")]
    pub ip_protocol: String,
    /// First port (none for all traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// Last port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// IPv4 sources or destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_ranges: Vec<IpRange>,
    /// IPv6 sources or destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_ranges: Vec<Ipv6Range>,
    /// Security groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_id_group_pairs: Vec<GroupPair>,
    /// Managed prefix lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<PrefixListRef>,
}

fn all_protocols() -> String {
    "-1".to_owned()
}

/// An IPv4 range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpRange {
    /// The CIDR block.
    pub cidr_ip: String,
}

/// An IPv6 range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv6Range {
    /// The CIDR block.
    pub cidr_ipv6: String,
}

/// A security group as a source or destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupPair {
    /// The group id.
    pub group_id: String,
}

/// A managed prefix list as a source or destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListRef {
    /// The prefix list id.
    pub prefix_list_id: String,
}
