//! The AWS remediation calls. Each variant is one API operation with the parameters it
//! needs, typed; its recorded form keeps the names AWS gives them (`IpPermissions`,
//! `HttpTokens`, ...), so an audit record reads like the CloudTrail entry it caused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Action;

/// One AWS API call that restores a declared value. Every call is idempotent: making it
/// again after an answer was lost changes nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsCall {
    /// `ec2:{Authorize,Revoke}SecurityGroup{Ingress,Egress}`.
    SecurityGroupRules {
        /// The group.
        group_id: String,
        /// Authorise (a declared rule went missing) or revoke (a rule appeared).
        change: RuleChange,
        /// Ingress or egress.
        direction: Direction,
        /// The rules.
        permissions: Vec<IpPermission>,
    },
    /// `ec2:CreateTags` (with a value) or `ec2:DeleteTags` (without).
    Ec2Tag {
        /// The tagged resource.
        resource_id: String,
        /// The tag.
        tag: Tag,
    },
    /// `ec2:ModifyInstanceAttribute`.
    InstanceAttribute {
        /// The instance.
        instance_id: String,
        /// The one attribute it sets.
        change: InstanceChange,
    },
    /// `ec2:MonitorInstances` (on) or `ec2:UnmonitorInstances` (off).
    InstanceMonitoring {
        /// The instance.
        instance_id: String,
        /// Detailed monitoring on.
        enabled: bool,
    },
    /// `ec2:ModifyInstanceMetadataOptions`.
    InstanceMetadataTokens {
        /// The instance.
        instance_id: String,
        /// `required` or `optional`.
        http_tokens: String,
    },
    /// `s3:PutBucketVersioning`.
    BucketVersioning {
        /// The bucket.
        bucket: String,
        /// `Enabled` or `Suspended`.
        status: String,
    },
    /// `s3:PutPublicAccessBlock` for one flag (the executor keeps the other three).
    BucketPublicAccess {
        /// The bucket.
        bucket: String,
        /// The flag.
        flag: PublicAccessFlag,
        /// Its declared value.
        value: bool,
    },
    /// `s3:PutBucketEncryption`: the default rule, from the setting that drifted.
    BucketEncryption {
        /// The bucket.
        bucket: String,
        /// The drifted setting.
        setting: EncryptionSetting,
    },
    /// `s3:PutBucketTagging` for one key (S3 replaces the set: the executor keeps the rest).
    BucketTag {
        /// The bucket.
        bucket: String,
        /// The tag.
        tag: Tag,
    },
    /// `rds:ModifyDBInstance`, applied immediately.
    DbInstance {
        /// The instance identifier.
        db_instance_id: String,
        /// The one setting it changes.
        change: DbChange,
    },
    /// `rds:AddTagsToResource` (with a value) or `rds:RemoveTagsFromResource` (without).
    DbTag {
        /// The instance identifier (the executor looks up its ARN).
        db_instance_id: String,
        /// The tag.
        tag: Tag,
    },
    /// `iam:UpdateAssumeRolePolicy`.
    RoleTrustPolicy {
        /// The role.
        role_name: String,
        /// The declared trust policy.
        document: Value,
    },
    /// `iam:UpdateRole` (maximum session duration).
    RoleMaxSessionDuration {
        /// The role.
        role_name: String,
        /// Seconds.
        seconds: i32,
    },
    /// `iam:TagRole` (with a value) or `iam:UntagRole` (without).
    RoleTag {
        /// The role.
        role_name: String,
        /// The tag.
        tag: Tag,
    },
    /// `iam:CreatePolicyVersion`, set as the default version.
    PolicyDocument {
        /// The policy.
        policy_arn: String,
        /// The declared document.
        document: Value,
    },
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

impl AwsCall {
    /// The API operation's name.
    pub fn api(&self) -> &'static str {
        use {
            Direction::{Egress, Ingress},
            RuleChange::{Authorize, Revoke},
        };
        match self {
            AwsCall::SecurityGroupRules { change, direction, .. } => match (change, direction) {
                (Authorize, Ingress) => "ec2:AuthorizeSecurityGroupIngress",
                (Revoke, Ingress) => "ec2:RevokeSecurityGroupIngress",
                (Authorize, Egress) => "ec2:AuthorizeSecurityGroupEgress",
                (Revoke, Egress) => "ec2:RevokeSecurityGroupEgress",
            },
            AwsCall::Ec2Tag { tag, .. } => {
                if tag.value.is_some() {
                    "ec2:CreateTags"
                } else {
                    "ec2:DeleteTags"
                }
            }
            AwsCall::InstanceAttribute { .. } => "ec2:ModifyInstanceAttribute",
            AwsCall::InstanceMonitoring { enabled: true, .. } => "ec2:MonitorInstances",
            AwsCall::InstanceMonitoring { enabled: false, .. } => "ec2:UnmonitorInstances",
            AwsCall::InstanceMetadataTokens { .. } => "ec2:ModifyInstanceMetadataOptions",
            AwsCall::BucketVersioning { .. } => "s3:PutBucketVersioning",
            AwsCall::BucketPublicAccess { .. } => "s3:PutPublicAccessBlock",
            AwsCall::BucketEncryption { .. } => "s3:PutBucketEncryption",
            AwsCall::BucketTag { .. } => "s3:PutBucketTagging",
            AwsCall::DbInstance { .. } => "rds:ModifyDBInstance",
            AwsCall::DbTag { tag, .. } => {
                if tag.value.is_some() {
                    "rds:AddTagsToResource"
                } else {
                    "rds:RemoveTagsFromResource"
                }
            }
            AwsCall::RoleTrustPolicy { .. } => "iam:UpdateAssumeRolePolicy",
            AwsCall::RoleMaxSessionDuration { .. } => "iam:UpdateRole",
            AwsCall::RoleTag { tag, .. } => {
                if tag.value.is_some() {
                    "iam:TagRole"
                } else {
                    "iam:UntagRole"
                }
            }
            AwsCall::PolicyDocument { .. } => "iam:CreatePolicyVersion",
        }
    }

    /// The resource it acts on.
    pub fn target(&self) -> &str {
        match self {
            AwsCall::SecurityGroupRules { group_id: id, .. }
            | AwsCall::Ec2Tag { resource_id: id, .. }
            | AwsCall::InstanceAttribute { instance_id: id, .. }
            | AwsCall::InstanceMonitoring { instance_id: id, .. }
            | AwsCall::InstanceMetadataTokens { instance_id: id, .. }
            | AwsCall::BucketVersioning { bucket: id, .. }
            | AwsCall::BucketPublicAccess { bucket: id, .. }
            | AwsCall::BucketEncryption { bucket: id, .. }
            | AwsCall::BucketTag { bucket: id, .. }
            | AwsCall::DbInstance { db_instance_id: id, .. }
            | AwsCall::DbTag { db_instance_id: id, .. }
            | AwsCall::RoleTrustPolicy { role_name: id, .. }
            | AwsCall::RoleMaxSessionDuration { role_name: id, .. }
            | AwsCall::RoleTag { role_name: id, .. }
            | AwsCall::PolicyDocument { policy_arn: id, .. } => id,
        }
    }

    /// Its parameters, as recorded.
    fn params(&self) -> Value {
        match self {
            AwsCall::SecurityGroupRules { permissions, .. } => json!({ "IpPermissions": permissions }),
            AwsCall::Ec2Tag { tag, .. }
            | AwsCall::BucketTag { tag, .. }
            | AwsCall::DbTag { tag, .. }
            | AwsCall::RoleTag { tag, .. } => match &tag.value {
                Some(value) => json!({"Key": tag.key, "Value": value}),
                None => json!({"Key": tag.key}),
            },
            AwsCall::InstanceAttribute { change: InstanceChange::DisableApiTermination(flag), .. } => {
                json!({ "DisableApiTermination": flag })
            }
            AwsCall::InstanceAttribute { change: InstanceChange::SecurityGroups(groups), .. } => {
                json!({ "Groups": groups })
            }
            AwsCall::InstanceMonitoring { .. } => json!({}),
            AwsCall::InstanceMetadataTokens { http_tokens, .. } => json!({ "HttpTokens": http_tokens }),
            AwsCall::BucketVersioning { status, .. } => json!({ "Status": status }),
            AwsCall::BucketPublicAccess { flag, value, .. } => json!({ flag.as_str(): value }),
            AwsCall::BucketEncryption { setting: EncryptionSetting::SseAlgorithm(algorithm), .. } => {
                json!({ "rule.sse_algorithm": algorithm })
            }
            AwsCall::BucketEncryption { setting: EncryptionSetting::KmsMasterKeyId(key), .. } => {
                json!({ "rule.kms_master_key_id": key })
            }
            AwsCall::DbInstance { change, .. } => {
                let (name, value) = match change {
                    DbChange::PubliclyAccessible(flag) => ("publicly_accessible", json!(flag)),
                    DbChange::DeletionProtection(flag) => ("deletion_protection", json!(flag)),
                    DbChange::BackupRetentionPeriod(days) => ("backup_retention_period", json!(days)),
                };
                json!({ name: value, "ApplyImmediately": true })
            }
            AwsCall::RoleTrustPolicy { document, .. } => json!({ "PolicyDocument": document }),
            AwsCall::RoleMaxSessionDuration { seconds, .. } => json!({ "MaxSessionDuration": seconds }),
            AwsCall::PolicyDocument { document, .. } => json!({ "PolicyDocument": document, "SetAsDefault": true }),
        }
    }

    /// The recorded form.
    pub fn record(&self) -> Action {
        Action { api: self.api().to_owned(), target: self.target().to_owned(), params: self.params() }
    }

    /// Reads a recorded AWS call back. Refuses what no variant means (an unknown API, a
    /// missing or mistyped parameter), naming the API and the parameter.
    pub fn read(action: &Action) -> Result<AwsCall, String> {
        let api = action.api.as_str();
        let target = action.target.clone();
        let empty = Map::new();
        let params = Params { api, map: action.params.as_object().unwrap_or(&empty) };
        let tag = |remove: bool| -> Result<Tag, String> {
            Ok(Tag { key: params.text("Key")?, value: if remove { None } else { Some(params.text("Value")?) } })
        };
        let rules = |change, direction| -> Result<AwsCall, String> {
            let mut permissions: Vec<IpPermission> = params.typed("IpPermissions")?;
            // Records written before plans named the group itself said `self`.
            for permission in &mut permissions {
                for pair in &mut permission.user_id_group_pairs {
                    if pair.group_id == "self" {
                        pair.group_id.clone_from(&target);
                    }
                }
            }
            Ok(AwsCall::SecurityGroupRules { group_id: target.clone(), change, direction, permissions })
        };
        Ok(match api {
            "ec2:AuthorizeSecurityGroupIngress" => rules(RuleChange::Authorize, Direction::Ingress)?,
            "ec2:RevokeSecurityGroupIngress" => rules(RuleChange::Revoke, Direction::Ingress)?,
            "ec2:AuthorizeSecurityGroupEgress" => rules(RuleChange::Authorize, Direction::Egress)?,
            "ec2:RevokeSecurityGroupEgress" => rules(RuleChange::Revoke, Direction::Egress)?,
            "ec2:CreateTags" => AwsCall::Ec2Tag { resource_id: target, tag: tag(false)? },
            "ec2:DeleteTags" => AwsCall::Ec2Tag { resource_id: target, tag: tag(true)? },
            "ec2:ModifyInstanceAttribute" => {
                let change = if params.map.contains_key("Groups") {
                    InstanceChange::SecurityGroups(params.typed("Groups")?)
                } else {
                    InstanceChange::DisableApiTermination(params.flag("DisableApiTermination")?)
                };
                AwsCall::InstanceAttribute { instance_id: target, change }
            }
            "ec2:MonitorInstances" => AwsCall::InstanceMonitoring { instance_id: target, enabled: true },
            "ec2:UnmonitorInstances" => AwsCall::InstanceMonitoring { instance_id: target, enabled: false },
            "ec2:ModifyInstanceMetadataOptions" => {
                AwsCall::InstanceMetadataTokens { instance_id: target, http_tokens: params.text("HttpTokens")? }
            }
            "s3:PutBucketVersioning" => AwsCall::BucketVersioning { bucket: target, status: params.text("Status")? },
            "s3:PutPublicAccessBlock" => {
                let mut flags = PublicAccessFlag::ALL.into_iter().filter(|flag| params.map.contains_key(flag.as_str()));
                let (Some(flag), None) = (flags.next(), flags.next()) else {
                    return Err(format!("{api}: exactly one public access flag expected"));
                };
                AwsCall::BucketPublicAccess { bucket: target, flag, value: params.flag(flag.as_str())? }
            }
            "s3:PutBucketEncryption" => {
                let setting = if params.map.contains_key("rule.kms_master_key_id") {
                    EncryptionSetting::KmsMasterKeyId(params.text("rule.kms_master_key_id")?)
                } else {
                    EncryptionSetting::SseAlgorithm(params.text("rule.sse_algorithm")?)
                };
                AwsCall::BucketEncryption { bucket: target, setting }
            }
            "s3:PutBucketTagging" => {
                let remove = !params.map.contains_key("Value");
                AwsCall::BucketTag { bucket: target, tag: tag(remove)? }
            }
            "rds:ModifyDBInstance" => {
                let change = if params.map.contains_key("publicly_accessible") {
                    DbChange::PubliclyAccessible(params.flag("publicly_accessible")?)
                } else if params.map.contains_key("deletion_protection") {
                    DbChange::DeletionProtection(params.flag("deletion_protection")?)
                } else {
                    DbChange::BackupRetentionPeriod(params.typed("backup_retention_period")?)
                };
                AwsCall::DbInstance { db_instance_id: target, change }
            }
            "rds:AddTagsToResource" => AwsCall::DbTag { db_instance_id: target, tag: tag(false)? },
            "rds:RemoveTagsFromResource" => AwsCall::DbTag { db_instance_id: target, tag: tag(true)? },
            "iam:UpdateAssumeRolePolicy" => {
                AwsCall::RoleTrustPolicy { role_name: target, document: params.value("PolicyDocument")?.clone() }
            }
            "iam:UpdateRole" => {
                AwsCall::RoleMaxSessionDuration { role_name: target, seconds: params.typed("MaxSessionDuration")? }
            }
            "iam:TagRole" => AwsCall::RoleTag { role_name: target, tag: tag(false)? },
            "iam:UntagRole" => AwsCall::RoleTag { role_name: target, tag: tag(true)? },
            "iam:CreatePolicyVersion" => {
                AwsCall::PolicyDocument { policy_arn: target, document: params.value("PolicyDocument")?.clone() }
            }
            other => return Err(format!("{other}: no AWS remediation call of DriftGuard has this API name")),
        })
    }
}

/// A recorded call's parameters, read with errors that name the call and the parameter.
struct Params<'a> {
    api: &'a str,
    map: &'a Map<String, Value>,
}

impl Params<'_> {
    fn value(&self, key: &str) -> Result<&Value, String> {
        self.map.get(key).ok_or_else(|| format!("{}: parameter {key} is missing", self.api))
    }

    fn text(&self, key: &str) -> Result<String, String> {
        self.typed(key)
    }

    fn flag(&self, key: &str) -> Result<bool, String> {
        self.typed(key)
    }

    fn typed<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, String> {
        T::deserialize(self.value(key)?).map_err(|error| format!("{}: parameter {key}: {error}", self.api))
    }
}

#[cfg(test)]
mod tests;
