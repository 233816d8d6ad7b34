//! The AWS remediation calls. Each variant is one API operation with the parameters it
//! needs, typed; its recorded form keeps the names AWS gives them (`IpPermissions`,
//! `HttpTokens`, ...), so an audit record reads like the CloudTrail entry it caused.

use serde_json::{Value, json};

use super::Action;

mod read;
mod types;

pub use types::*;

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
}

#[cfg(test)]
mod tests;
