//! Recorded calls read back: every `Action` an earlier run stored (or a reviewed plan
//! carries) becomes its typed call again, or is refused with the API and parameter named.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    AclEntry, Action, AwsCall, DbChange, Direction, EncryptionSetting, InstanceChange, IpPermission, LoggingSetting,
    PasswordChange, Principal, PublicAccessFlag, RuleChange, Tag, VpcFlag,
};

impl AwsCall {
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
