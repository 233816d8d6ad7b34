//! The AWS remediation calls. Each variant is one API operation with the parameters it
//! needs, typed; its recorded form keeps the names AWS gives them (`IpPermissions`,
//! `HttpTokens`, ...), so an audit record reads like the CloudTrail entry it caused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Action;

/// The target a region's EBS default encryption is recorded under.
pub const EBS_DEFAULT_TARGET: &str = "ebs-encryption-by-default";

/// The target the account's password policy is recorded under (Terraform's id for it).
pub const PASSWORD_POLICY_ID: &str = "iam-account-password-policy";

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
    /// `ec2:CreateTags` / `ec2:DeleteTags` on a key pair, which Terraform names by its
    /// name and the API tags by its id (the executor looks it up).
    KeyPairTag {
        /// The key pair's name.
        key_name: String,
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
    /// `s3:PutBucketPolicy` with the declared document.
    BucketPolicy {
        /// The bucket.
        bucket: String,
        /// The declared policy.
        document: Value,
    },
    /// `s3:PutBucketAcl` with one grant added (a declared one went missing) or removed (one
    /// was added outside Terraform); the executor keeps the owner and the other grants.
    BucketAclGrant {
        /// The bucket.
        bucket: String,
        /// The grant atom (`READ Group:http://acs.amazonaws.com/groups/global/AllUsers`).
        grant: String,
        /// Add (true) or remove.
        add: bool,
    },
    /// `s3:PutBucketOwnershipControls`.
    BucketOwnership {
        /// The bucket.
        bucket: String,
        /// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`.
        ownership: String,
    },
    /// `s3:PutBucketLogging` for one setting (the executor keeps the other).
    BucketLogging {
        /// The bucket.
        bucket: String,
        /// The setting that drifted, with its declared value.
        setting: LoggingSetting,
    },
    /// `rds:ModifyDBInstance`, applied immediately.
    DbInstance {
        /// The instance identifier.
        db_instance_id: String,
        /// The one setting it changes.
        change: DbChange,
    },
    /// `rds:ModifyDBCluster`, applied immediately.
    DbCluster {
        /// The cluster identifier.
        cluster_id: String,
        /// The one setting it changes.
        change: DbChange,
    },
    /// `rds:Modify[DBCluster|DB]ParameterGroup` (the declared value) or
    /// `rds:Reset…ParameterGroup` (a parameter set outside Terraform goes back to the
    /// family's default).
    DbParameter {
        /// A cluster parameter group (else an instance one).
        cluster: bool,
        /// The parameter group.
        group: String,
        /// The parameter.
        name: String,
        /// The declared value; none resets it.
        value: Option<String>,
    },
    /// `rds:ModifyDBSnapshotAttribute` (`restore`): an account (or `all`: public) the
    /// snapshot is shared with, added or removed.
    SnapshotRestore {
        /// The snapshot.
        snapshot_id: String,
        /// The account id, or `all`.
        account: String,
        /// Share (true) or unshare.
        add: bool,
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
    /// `iam:Attach{Role,User,Group}Policy` (a declared attachment went missing) or
    /// `iam:Detach…Policy` (a policy was attached outside Terraform).
    PolicyAttachment {
        /// Whose attachments.
        principal: Principal,
        /// The role, user or group.
        name: String,
        /// The managed policy.
        policy_arn: String,
        /// Attach (true) or detach.
        attach: bool,
    },
    /// `iam:Put{Role,User,Group}Policy` (the declared document) or `iam:Delete…Policy`
    /// (an inline policy added outside Terraform).
    InlinePolicy {
        /// Whose inline policy.
        principal: Principal,
        /// The role, user or group.
        name: String,
        /// The inline policy's name.
        policy_name: String,
        /// The declared document; none deletes the policy.
        document: Option<Value>,
    },
    /// `iam:AddUserToGroup` or `iam:RemoveUserFromGroup`.
    GroupMembership {
        /// The user.
        user_name: String,
        /// The group.
        group_name: String,
        /// Add (true) or remove.
        add: bool,
    },
    /// `iam:TagUser` (with a value) or `iam:UntagUser` (without).
    UserTag {
        /// The user.
        user_name: String,
        /// The tag.
        tag: Tag,
    },
    /// `iam:UpdateAccessKey` (the executor finds the key's user).
    AccessKeyStatus {
        /// The key id (never its secret).
        access_key_id: String,
        /// `Active` or `Inactive`.
        status: String,
    },
    /// `iam:UpdateAccountPasswordPolicy` for one setting (the executor keeps the others:
    /// the API resets what it is not given).
    PasswordPolicy {
        /// The setting and its declared value.
        change: PasswordChange,
    },
    /// `ec2:ModifyVpcAttribute` (one flag per call, as the API wants).
    VpcAttribute {
        /// The VPC.
        vpc_id: String,
        /// The flag.
        flag: VpcFlag,
        /// Its declared value.
        value: bool,
    },
    /// `ec2:ModifySubnetAttribute` (`MapPublicIpOnLaunch`).
    SubnetPublicIp {
        /// The subnet.
        subnet_id: String,
        /// The declared value.
        map_public_ip_on_launch: bool,
    },
    /// `ec2:DeleteRoute`: a route added outside Terraform.
    DeleteRoute {
        /// The table.
        route_table_id: String,
        /// The route's destination (CIDR, IPv6 CIDR or prefix list).
        destination: String,
    },
    /// `ec2:CreateNetworkAclEntry` (a declared entry went missing) or
    /// `ec2:DeleteNetworkAclEntry` (one was added outside Terraform).
    NetworkAclEntry {
        /// The ACL.
        network_acl_id: String,
        /// The entry.
        entry: AclEntry,
        /// Create (true) or delete.
        create: bool,
    },
    /// `ec2:EnableEbsEncryptionByDefault` or `ec2:DisableEbsEncryptionByDefault` (the region's).
    EbsEncryptionByDefault {
        /// The declared setting.
        enabled: bool,
    },
    /// `ec2:ModifyNetworkInterfaceAttribute` (`SourceDestCheck`).
    InterfaceSourceDestCheck {
        /// The interface.
        network_interface_id: String,
        /// The declared value.
        enabled: bool,
    },
    /// `iam:AddClientIDToOpenIDConnectProvider` or `iam:RemoveClientIDFromOpenIDConnectProvider`.
    OidcClientId {
        /// The provider.
        provider_arn: String,
        /// The client id (audience).
        client_id: String,
        /// Add (true) or remove.
        add: bool,
    },
}

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

    fn api(self, verb: &str) -> &'static str {
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
    fn parse_api(api: &str) -> Option<(&'static str, Principal)> {
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
            AwsCall::Ec2Tag { tag, .. } | AwsCall::KeyPairTag { tag, .. } => {
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
            AwsCall::BucketPolicy { .. } => "s3:PutBucketPolicy",
            AwsCall::BucketOwnership { .. } => "s3:PutBucketOwnershipControls",
            AwsCall::BucketAclGrant { .. } => "s3:PutBucketAcl",
            AwsCall::BucketLogging { .. } => "s3:PutBucketLogging",
            AwsCall::DbInstance { .. } => "rds:ModifyDBInstance",
            AwsCall::DbCluster { .. } => "rds:ModifyDBCluster",
            AwsCall::DbParameter { cluster: false, value: Some(_), .. } => "rds:ModifyDBParameterGroup",
            AwsCall::DbParameter { cluster: false, value: None, .. } => "rds:ResetDBParameterGroup",
            AwsCall::DbParameter { cluster: true, value: Some(_), .. } => "rds:ModifyDBClusterParameterGroup",
            AwsCall::DbParameter { cluster: true, value: None, .. } => "rds:ResetDBClusterParameterGroup",
            AwsCall::SnapshotRestore { .. } => "rds:ModifyDBSnapshotAttribute",
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
            AwsCall::PolicyAttachment { principal, attach, .. } => {
                principal.api(if *attach { "Attach" } else { "Detach" })
            }
            AwsCall::InlinePolicy { principal, document, .. } => {
                principal.api(if document.is_some() { "Put" } else { "Delete" })
            }
            AwsCall::GroupMembership { add: true, .. } => "iam:AddUserToGroup",
            AwsCall::GroupMembership { add: false, .. } => "iam:RemoveUserFromGroup",
            AwsCall::UserTag { tag, .. } => {
                if tag.value.is_some() {
                    "iam:TagUser"
                } else {
                    "iam:UntagUser"
                }
            }
            AwsCall::AccessKeyStatus { .. } => "iam:UpdateAccessKey",
            AwsCall::PasswordPolicy { .. } => "iam:UpdateAccountPasswordPolicy",
            AwsCall::OidcClientId { add: true, .. } => "iam:AddClientIDToOpenIDConnectProvider",
            AwsCall::OidcClientId { add: false, .. } => "iam:RemoveClientIDFromOpenIDConnectProvider",
            AwsCall::VpcAttribute { .. } => "ec2:ModifyVpcAttribute",
            AwsCall::SubnetPublicIp { .. } => "ec2:ModifySubnetAttribute",
            AwsCall::DeleteRoute { .. } => "ec2:DeleteRoute",
            AwsCall::NetworkAclEntry { create: true, .. } => "ec2:CreateNetworkAclEntry",
            AwsCall::NetworkAclEntry { create: false, .. } => "ec2:DeleteNetworkAclEntry",
            AwsCall::EbsEncryptionByDefault { enabled: true } => "ec2:EnableEbsEncryptionByDefault",
            AwsCall::EbsEncryptionByDefault { enabled: false } => "ec2:DisableEbsEncryptionByDefault",
            AwsCall::InterfaceSourceDestCheck { .. } => "ec2:ModifyNetworkInterfaceAttribute",
        }
    }

    /// The resource it acts on.
    pub fn target(&self) -> &str {
        match self {
            AwsCall::SecurityGroupRules { group_id: id, .. }
            | AwsCall::Ec2Tag { resource_id: id, .. }
            | AwsCall::KeyPairTag { key_name: id, .. }
            | AwsCall::InstanceAttribute { instance_id: id, .. }
            | AwsCall::InstanceMonitoring { instance_id: id, .. }
            | AwsCall::InstanceMetadataTokens { instance_id: id, .. }
            | AwsCall::BucketVersioning { bucket: id, .. }
            | AwsCall::BucketPublicAccess { bucket: id, .. }
            | AwsCall::BucketEncryption { bucket: id, .. }
            | AwsCall::BucketTag { bucket: id, .. }
            | AwsCall::BucketPolicy { bucket: id, .. }
            | AwsCall::BucketOwnership { bucket: id, .. }
            | AwsCall::BucketAclGrant { bucket: id, .. }
            | AwsCall::BucketLogging { bucket: id, .. }
            | AwsCall::DbInstance { db_instance_id: id, .. }
            | AwsCall::DbCluster { cluster_id: id, .. }
            | AwsCall::DbParameter { group: id, .. }
            | AwsCall::SnapshotRestore { snapshot_id: id, .. }
            | AwsCall::DbTag { db_instance_id: id, .. }
            | AwsCall::RoleTrustPolicy { role_name: id, .. }
            | AwsCall::RoleMaxSessionDuration { role_name: id, .. }
            | AwsCall::RoleTag { role_name: id, .. }
            | AwsCall::PolicyDocument { policy_arn: id, .. }
            | AwsCall::PolicyAttachment { name: id, .. }
            | AwsCall::InlinePolicy { name: id, .. }
            | AwsCall::GroupMembership { user_name: id, .. }
            | AwsCall::UserTag { user_name: id, .. }
            | AwsCall::AccessKeyStatus { access_key_id: id, .. }
            | AwsCall::OidcClientId { provider_arn: id, .. }
            | AwsCall::VpcAttribute { vpc_id: id, .. }
            | AwsCall::SubnetPublicIp { subnet_id: id, .. }
            | AwsCall::DeleteRoute { route_table_id: id, .. }
            | AwsCall::NetworkAclEntry { network_acl_id: id, .. }
            | AwsCall::InterfaceSourceDestCheck { network_interface_id: id, .. } => id,
            // The region's one setting.
            AwsCall::EbsEncryptionByDefault { .. } => EBS_DEFAULT_TARGET,
            // The account's one password policy.
            AwsCall::PasswordPolicy { .. } => PASSWORD_POLICY_ID,
        }
    }

    /// Its parameters, as recorded.
    fn params(&self) -> Value {
        match self {
            AwsCall::SecurityGroupRules { permissions, .. } => json!({ "IpPermissions": permissions }),
            AwsCall::Ec2Tag { tag, .. }
            | AwsCall::BucketTag { tag, .. }
            | AwsCall::DbTag { tag, .. }
            | AwsCall::RoleTag { tag, .. }
            | AwsCall::UserTag { tag, .. } => match &tag.value {
                Some(value) => json!({"Key": tag.key, "Value": value}),
                None => json!({"Key": tag.key}),
            },
            AwsCall::KeyPairTag { tag, .. } => match &tag.value {
                Some(value) => json!({"Key": tag.key, "Value": value, "ResourceType": "key-pair"}),
                None => json!({"Key": tag.key, "ResourceType": "key-pair"}),
            },
            AwsCall::InstanceAttribute { change: InstanceChange::DisableApiTermination(flag), .. } => {
                json!({ "DisableApiTermination": flag })
            }
            AwsCall::InstanceAttribute { change: InstanceChange::SecurityGroups(groups), .. } => {
                json!({ "Groups": groups })
            }
            AwsCall::InstanceMonitoring { .. } | AwsCall::EbsEncryptionByDefault { .. } => json!({}),
            AwsCall::InstanceMetadataTokens { http_tokens, .. } => json!({ "HttpTokens": http_tokens }),
            AwsCall::BucketVersioning { status, .. } | AwsCall::AccessKeyStatus { status, .. } => {
                json!({ "Status": status })
            }
            AwsCall::BucketPublicAccess { flag, value, .. } => json!({ flag.as_str(): value }),
            AwsCall::BucketEncryption { setting: EncryptionSetting::SseAlgorithm(algorithm), .. } => {
                json!({ "rule.sse_algorithm": algorithm })
            }
            AwsCall::BucketEncryption { setting: EncryptionSetting::KmsMasterKeyId(key), .. } => {
                json!({ "rule.kms_master_key_id": key })
            }
            AwsCall::BucketPolicy { document, .. } => json!({ "Policy": document }),
            AwsCall::BucketOwnership { ownership, .. } => json!({ "ObjectOwnership": ownership }),
            AwsCall::BucketAclGrant { grant, add: true, .. } => json!({ "AddGrant": grant }),
            AwsCall::BucketAclGrant { grant, add: false, .. } => json!({ "RemoveGrant": grant }),
            AwsCall::BucketLogging { setting: LoggingSetting::TargetBucket(target), .. } => {
                json!({ "TargetBucket": target })
            }
            AwsCall::BucketLogging { setting: LoggingSetting::TargetPrefix(prefix), .. } => {
                json!({ "TargetPrefix": prefix })
            }
            AwsCall::DbInstance { change, .. } | AwsCall::DbCluster { change, .. } => {
                let (name, value) = match change {
                    DbChange::PubliclyAccessible(flag) => ("publicly_accessible", json!(flag)),
                    DbChange::DeletionProtection(flag) => ("deletion_protection", json!(flag)),
                    DbChange::BackupRetentionPeriod(days) => ("backup_retention_period", json!(days)),
                };
                json!({ name: value, "ApplyImmediately": true })
            }
            AwsCall::DbParameter { name, value: Some(value), .. } => {
                json!({ "ParameterName": name, "ParameterValue": value, "ApplyMethod": "immediate" })
            }
            AwsCall::DbParameter { name, value: None, .. } => json!({ "ParameterName": name }),
            AwsCall::SnapshotRestore { account, add: true, .. } => {
                json!({ "AttributeName": "restore", "ValuesToAdd": [account] })
            }
            AwsCall::SnapshotRestore { account, add: false, .. } => {
                json!({ "AttributeName": "restore", "ValuesToRemove": [account] })
            }
            AwsCall::RoleTrustPolicy { document, .. } => json!({ "PolicyDocument": document }),
            AwsCall::RoleMaxSessionDuration { seconds, .. } => json!({ "MaxSessionDuration": seconds }),
            AwsCall::PolicyDocument { document, .. } => json!({ "PolicyDocument": document, "SetAsDefault": true }),
            AwsCall::PolicyAttachment { policy_arn, .. } => json!({ "PolicyArn": policy_arn }),
            AwsCall::InlinePolicy { policy_name, document: Some(document), .. } => {
                json!({ "PolicyName": policy_name, "PolicyDocument": document })
            }
            AwsCall::InlinePolicy { policy_name, document: None, .. } => json!({ "PolicyName": policy_name }),
            AwsCall::GroupMembership { group_name, .. } => json!({ "GroupName": group_name }),
            AwsCall::PasswordPolicy { change } => {
                let (name, value) = change.parameter();
                json!({ name: value })
            }
            AwsCall::OidcClientId { client_id, .. } => json!({ "ClientID": client_id }),
            AwsCall::VpcAttribute { flag, value, .. } => json!({ flag.as_str(): value }),
            AwsCall::SubnetPublicIp { map_public_ip_on_launch, .. } => {
                json!({ "MapPublicIpOnLaunch": map_public_ip_on_launch })
            }
            AwsCall::DeleteRoute { destination, .. } => json!({ "Destination": destination }),
            AwsCall::NetworkAclEntry { entry, .. } => json!(entry),
            AwsCall::InterfaceSourceDestCheck { enabled, .. } => json!({ "SourceDestCheck": enabled }),
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
            "ec2:CreateTags" | "ec2:DeleteTags" => {
                let tag = tag(api == "ec2:DeleteTags")?;
                if params.map.get("ResourceType").and_then(Value::as_str) == Some("key-pair") {
                    AwsCall::KeyPairTag { key_name: target, tag }
                } else {
                    AwsCall::Ec2Tag { resource_id: target, tag }
                }
            }
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
            "s3:PutBucketPolicy" => AwsCall::BucketPolicy { bucket: target, document: params.value("Policy")?.clone() },
            "s3:PutBucketAcl" => {
                let add = params.map.contains_key("AddGrant");
                let grant = params.text(if add { "AddGrant" } else { "RemoveGrant" })?;
                AwsCall::BucketAclGrant { bucket: target, grant, add }
            }
            "s3:PutBucketOwnershipControls" => {
                AwsCall::BucketOwnership { bucket: target, ownership: params.text("ObjectOwnership")? }
            }
            "s3:PutBucketLogging" => {
                let setting = if params.map.contains_key("TargetBucket") {
                    LoggingSetting::TargetBucket(params.text("TargetBucket")?)
                } else {
                    LoggingSetting::TargetPrefix(params.text("TargetPrefix")?)
                };
                AwsCall::BucketLogging { bucket: target, setting }
            }
            "rds:ModifyDBInstance" | "rds:ModifyDBCluster" => {
                let change = if params.map.contains_key("publicly_accessible") {
                    DbChange::PubliclyAccessible(params.flag("publicly_accessible")?)
                } else if params.map.contains_key("deletion_protection") {
                    DbChange::DeletionProtection(params.flag("deletion_protection")?)
                } else {
                    DbChange::BackupRetentionPeriod(params.typed("backup_retention_period")?)
                };
                if api == "rds:ModifyDBCluster" {
                    AwsCall::DbCluster { cluster_id: target, change }
                } else {
                    AwsCall::DbInstance { db_instance_id: target, change }
                }
            }
            "rds:ModifyDBParameterGroup" | "rds:ModifyDBClusterParameterGroup" => AwsCall::DbParameter {
                cluster: api == "rds:ModifyDBClusterParameterGroup",
                group: target,
                name: params.text("ParameterName")?,
                value: Some(params.text("ParameterValue")?),
            },
            "rds:ResetDBParameterGroup" | "rds:ResetDBClusterParameterGroup" => AwsCall::DbParameter {
                cluster: api == "rds:ResetDBClusterParameterGroup",
                group: target,
                name: params.text("ParameterName")?,
                value: None,
            },
            "rds:ModifyDBSnapshotAttribute" => {
                let add = params.map.contains_key("ValuesToAdd");
                let accounts: Vec<String> = params.typed(if add { "ValuesToAdd" } else { "ValuesToRemove" })?;
                let [account] =
                    <[String; 1]>::try_from(accounts).map_err(|_| format!("{api}: exactly one account expected"))?;
                AwsCall::SnapshotRestore { snapshot_id: target, account, add }
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
            "iam:AddUserToGroup" | "iam:RemoveUserFromGroup" => AwsCall::GroupMembership {
                user_name: target,
                group_name: params.text("GroupName")?,
                add: api == "iam:AddUserToGroup",
            },
            "iam:TagUser" => AwsCall::UserTag { user_name: target, tag: tag(false)? },
            "iam:UntagUser" => AwsCall::UserTag { user_name: target, tag: tag(true)? },
            "iam:UpdateAccessKey" => AwsCall::AccessKeyStatus { access_key_id: target, status: params.text("Status")? },
            "iam:UpdateAccountPasswordPolicy" => {
                let mut settings = params.map.iter();
                let (Some((name, value)), None) = (settings.next(), settings.next()) else {
                    return Err(format!("{api}: exactly one setting expected"));
                };
                let change = PasswordChange::from_parameter(name, value)
                    .ok_or_else(|| format!("{api}: parameter {name}: not a password policy setting of that type"))?;
                AwsCall::PasswordPolicy { change }
            }
            "ec2:ModifyVpcAttribute" => {
                let flag = if params.map.contains_key("EnableDnsSupport") {
                    VpcFlag::EnableDnsSupport
                } else {
                    VpcFlag::EnableDnsHostnames
                };
                AwsCall::VpcAttribute { vpc_id: target, flag, value: params.flag(flag.as_str())? }
            }
            "ec2:ModifySubnetAttribute" => AwsCall::SubnetPublicIp {
                subnet_id: target,
                map_public_ip_on_launch: params.flag("MapPublicIpOnLaunch")?,
            },
            "ec2:DeleteRoute" => {
                AwsCall::DeleteRoute { route_table_id: target, destination: params.text("Destination")? }
            }
            "ec2:CreateNetworkAclEntry" | "ec2:DeleteNetworkAclEntry" => AwsCall::NetworkAclEntry {
                network_acl_id: target,
                entry: AclEntry::deserialize(&action.params).map_err(|error| format!("{api}: {error}"))?,
                create: api == "ec2:CreateNetworkAclEntry",
            },
            "ec2:EnableEbsEncryptionByDefault" => AwsCall::EbsEncryptionByDefault { enabled: true },
            "ec2:DisableEbsEncryptionByDefault" => AwsCall::EbsEncryptionByDefault { enabled: false },
            "ec2:ModifyNetworkInterfaceAttribute" => AwsCall::InterfaceSourceDestCheck {
                network_interface_id: target,
                enabled: params.flag("SourceDestCheck")?,
            },
            "iam:AddClientIDToOpenIDConnectProvider" | "iam:RemoveClientIDFromOpenIDConnectProvider" => {
                AwsCall::OidcClientId {
                    provider_arn: target,
                    client_id: params.text("ClientID")?,
                    add: api == "iam:AddClientIDToOpenIDConnectProvider",
                }
            }
            other => match Principal::parse_api(other) {
                Some((verb @ ("Attach" | "Detach"), principal)) => AwsCall::PolicyAttachment {
                    principal,
                    name: target,
                    policy_arn: params.text("PolicyArn")?,
                    attach: verb == "Attach",
                },
                Some((verb, principal)) => AwsCall::InlinePolicy {
                    principal,
                    name: target,
                    policy_name: params.text("PolicyName")?,
                    document: if verb == "Put" { Some(params.value("PolicyDocument")?.clone()) } else { None },
                },
                None => return Err(format!("{other}: no AWS remediation call of DriftGuard has this API name")),
            },
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
