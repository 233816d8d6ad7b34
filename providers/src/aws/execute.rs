//! Remediation calls → AWS SDK requests: one arm per [`AwsCall`] variant, so a call the
//! planner can make and this executor cannot does not compile. Each call is idempotent
//! (applying the declared value again is harmless), so retrying a transient failure is safe.

use aws_sdk_ec2::types as ec2;
use aws_sdk_s3::types as s3;
use driftguard_engine::remediation::aws::{
    AwsCall, DbChange, Direction, EncryptionSetting, InstanceChange, IpPermission, LoggingSetting, PublicAccessFlag,
    RuleChange, Tag, VpcFlag,
};

use crate::aws::AwsClient;
use crate::retry::CallError;

mod iam;

fn permissions(permissions: &[IpPermission]) -> Vec<ec2::IpPermission> {
    permissions
        .iter()
        .map(|permission| {
            let mut builder = ec2::IpPermission::builder()
                .ip_protocol(&permission.ip_protocol)
                .set_from_port(permission.from_port)
                .set_to_port(permission.to_port);
            for range in &permission.ip_ranges {
                builder = builder.ip_ranges(ec2::IpRange::builder().cidr_ip(&range.cidr_ip).build());
            }
            for range in &permission.ipv6_ranges {
                builder = builder.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(&range.cidr_ipv6).build());
            }
            for pair in &permission.user_id_group_pairs {
                builder = builder.user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(&pair.group_id).build());
            }
            for list in &permission.prefix_list_ids {
                builder =
                    builder.prefix_list_ids(ec2::PrefixListId::builder().prefix_list_id(&list.prefix_list_id).build());
            }
            builder.build()
        })
        .collect()
}

fn s3_tag(key: &str, value: &str, operation: &str) -> Result<s3::Tag, CallError> {
    s3::Tag::builder().key(key).value(value).build().map_err(|error| CallError::local(operation, error.to_string()))
}

/// Makes one remediation call.
pub async fn execute(aws: &AwsClient, call: &AwsCall) -> Result<(), CallError> {
    let (ec2_client, rds_client, iam_client) = (aws.ec2(), aws.rds(), aws.iam());
    match call {
        AwsCall::SecurityGroupRules { group_id, change, direction, permissions: rules } => {
            let rules = Some(permissions(rules));
            match (change, direction) {
                (RuleChange::Revoke, Direction::Ingress) => send!(
                    aws,
                    "ec2:RevokeSecurityGroupIngress",
                    ec2_client.revoke_security_group_ingress().group_id(group_id).set_ip_permissions(rules)
                )
                .map(drop),
                (RuleChange::Authorize, Direction::Ingress) => send!(
                    aws,
                    "ec2:AuthorizeSecurityGroupIngress",
                    ec2_client.authorize_security_group_ingress().group_id(group_id).set_ip_permissions(rules)
                )
                .map(drop),
                (RuleChange::Revoke, Direction::Egress) => send!(
                    aws,
                    "ec2:RevokeSecurityGroupEgress",
                    ec2_client.revoke_security_group_egress().group_id(group_id).set_ip_permissions(rules)
                )
                .map(drop),
                (RuleChange::Authorize, Direction::Egress) => send!(
                    aws,
                    "ec2:AuthorizeSecurityGroupEgress",
                    ec2_client.authorize_security_group_egress().group_id(group_id).set_ip_permissions(rules)
                )
                .map(drop),
            }
        }
        AwsCall::Ec2Tag { resource_id, tag: Tag { key, value: Some(value) } } => {
            let tag = ec2::Tag::builder().key(key).value(value).build();
            send!(aws, "ec2:CreateTags", ec2_client.create_tags().resources(resource_id).tags(tag)).map(drop)
        }
        AwsCall::Ec2Tag { resource_id, tag: Tag { key, value: None } } => {
            let tag = ec2::Tag::builder().key(key).build();
            send!(aws, "ec2:DeleteTags", ec2_client.delete_tags().resources(resource_id).tags(tag)).map(drop)
        }
        AwsCall::KeyPairTag { key_name, tag } => {
            let described = send!(aws, "ec2:DescribeKeyPairs", ec2_client.describe_key_pairs().key_names(key_name))?;
            let id = described
                .key_pairs()
                .first()
                .and_then(|key| key.key_pair_id())
                .ok_or_else(|| CallError::local("ec2:DescribeKeyPairs", format!("no id for key pair {key_name}")))?
                .to_owned();
            let call = AwsCall::Ec2Tag { resource_id: id, tag: tag.clone() };
            Box::pin(execute(aws, &call)).await
        }
        AwsCall::InstanceAttribute { instance_id, change } => {
            let request = ec2_client.modify_instance_attribute().instance_id(instance_id);
            let request = match change {
                InstanceChange::DisableApiTermination(flag) => {
                    request.disable_api_termination(ec2::AttributeBooleanValue::builder().value(*flag).build())
                }
                InstanceChange::SecurityGroups(groups) => request.set_groups(Some(groups.clone())),
            };
            send!(aws, "ec2:ModifyInstanceAttribute", request).map(drop)
        }
        AwsCall::InstanceMonitoring { instance_id, enabled: true } => {
            send!(aws, "ec2:MonitorInstances", ec2_client.monitor_instances().instance_ids(instance_id)).map(drop)
        }
        AwsCall::InstanceMonitoring { instance_id, enabled: false } => {
            send!(aws, "ec2:UnmonitorInstances", ec2_client.unmonitor_instances().instance_ids(instance_id)).map(drop)
        }
        AwsCall::InstanceMetadataTokens { instance_id, http_tokens } => send!(
            aws,
            "ec2:ModifyInstanceMetadataOptions",
            ec2_client
                .modify_instance_metadata_options()
                .instance_id(instance_id)
                .http_tokens(ec2::HttpTokensState::from(http_tokens.as_str()))
        )
        .map(drop),
        AwsCall::BucketVersioning { bucket, status } => {
            let s3_client = bucket_client(aws, bucket).await?;
            let configuration = s3::VersioningConfiguration::builder()
                .status(s3::BucketVersioningStatus::from(status.as_str()))
                .build();
            send!(
                aws,
                "s3:PutBucketVersioning",
                s3_client.put_bucket_versioning().bucket(bucket).versioning_configuration(configuration)
            )
            .map(drop)
        }
        AwsCall::BucketPublicAccess { bucket, flag, value } => {
            let s3_client = bucket_client(aws, bucket).await?;
            // One finding is one flag: read the others so that only it changes.
            let current = send!(aws, "s3:GetPublicAccessBlock", s3_client.get_public_access_block().bucket(bucket))
                .map(Some)
                .or_else(
                    |error| if error.code == "NoSuchPublicAccessBlockConfiguration" { Ok(None) } else { Err(error) },
                )?;
            let config = current.as_ref().and_then(|c| c.public_access_block_configuration());
            let now = |read: fn(&s3::PublicAccessBlockConfiguration) -> Option<bool>| config.and_then(read);
            let set =
                |which: PublicAccessFlag, now: Option<bool>| if which == *flag { *value } else { now.unwrap_or(false) };
            let configuration = s3::PublicAccessBlockConfiguration::builder()
                .block_public_acls(set(
                    PublicAccessFlag::BlockPublicAcls,
                    now(s3::PublicAccessBlockConfiguration::block_public_acls),
                ))
                .block_public_policy(set(
                    PublicAccessFlag::BlockPublicPolicy,
                    now(s3::PublicAccessBlockConfiguration::block_public_policy),
                ))
                .ignore_public_acls(set(
                    PublicAccessFlag::IgnorePublicAcls,
                    now(s3::PublicAccessBlockConfiguration::ignore_public_acls),
                ))
                .restrict_public_buckets(set(
                    PublicAccessFlag::RestrictPublicBuckets,
                    now(s3::PublicAccessBlockConfiguration::restrict_public_buckets),
                ))
                .build();
            send!(
                aws,
                "s3:PutPublicAccessBlock",
                s3_client.put_public_access_block().bucket(bucket).public_access_block_configuration(configuration)
            )
            .map(drop)
        }
        AwsCall::BucketEncryption { bucket, setting } => {
            let s3_client = bucket_client(aws, bucket).await?;
            let (algorithm, key) = match setting {
                EncryptionSetting::SseAlgorithm(algorithm) => (algorithm.as_str(), None),
                EncryptionSetting::KmsMasterKeyId(key) => ("AES256", Some(key.clone())),
            };
            let default = s3::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3::ServerSideEncryption::from(algorithm))
                .set_kms_master_key_id(key)
                .build()
                .map_err(|error| CallError::local("s3:PutBucketEncryption", error.to_string()))?;
            let configuration = s3::ServerSideEncryptionConfiguration::builder()
                .rules(s3::ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build())
                .build()
                .map_err(|error| CallError::local("s3:PutBucketEncryption", error.to_string()))?;
            send!(
                aws,
                "s3:PutBucketEncryption",
                s3_client.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(configuration)
            )
            .map(drop)
        }
        AwsCall::BucketTag { bucket, tag } => {
            let s3_client = bucket_client(aws, bucket).await?;
            // S3 tags are replaced as a whole: read, change one key, write back.
            let current = aws.bucket_tag_set(&s3_client, bucket).await?;
            let mut tags: Vec<(String, String)> = current.into_iter().filter(|(k, _)| *k != tag.key).collect();
            if let Some(value) = &tag.value {
                tags.push((tag.key.clone(), value.clone()));
            }
            if tags.is_empty() {
                send!(aws, "s3:DeleteBucketTagging", s3_client.delete_bucket_tagging().bucket(bucket)).map(drop)
            } else {
                let mut tagging = s3::Tagging::builder();
                for (k, v) in &tags {
                    tagging = tagging.tag_set(s3_tag(k, v, "s3:PutBucketTagging")?);
                }
                let tagging =
                    tagging.build().map_err(|error| CallError::local("s3:PutBucketTagging", error.to_string()))?;
                send!(aws, "s3:PutBucketTagging", s3_client.put_bucket_tagging().bucket(bucket).tagging(tagging))
                    .map(drop)
            }
        }
        AwsCall::BucketPolicy { bucket, document } => {
            let s3_client = bucket_client(aws, bucket).await?;
            send!(aws, "s3:PutBucketPolicy", s3_client.put_bucket_policy().bucket(bucket).policy(document.to_string()))
                .map(drop)
        }
        AwsCall::BucketAclGrant { bucket, grant, add } => acl_grant(aws, bucket, grant, *add).await,
        AwsCall::BucketOwnership { bucket, ownership } => {
            let s3_client = bucket_client(aws, bucket).await?;
            let rule = s3::OwnershipControlsRule::builder()
                .object_ownership(s3::ObjectOwnership::from(ownership.as_str()))
                .build()
                .map_err(|error| CallError::local("s3:PutBucketOwnershipControls", error.to_string()))?;
            let controls = s3::OwnershipControls::builder()
                .rules(rule)
                .build()
                .map_err(|error| CallError::local("s3:PutBucketOwnershipControls", error.to_string()))?;
            send!(
                aws,
                "s3:PutBucketOwnershipControls",
                s3_client.put_bucket_ownership_controls().bucket(bucket).ownership_controls(controls)
            )
            .map(drop)
        }
        AwsCall::BucketLogging { bucket, setting } => {
            let s3_client = bucket_client(aws, bucket).await?;
            let current = send!(aws, "s3:GetBucketLogging", s3_client.get_bucket_logging().bucket(bucket))?;
            let enabled = current.logging_enabled();
            let (mut target, mut prefix) = (
                enabled.map(|l| l.target_bucket().to_owned()).unwrap_or_default(),
                enabled.map(|l| l.target_prefix().to_owned()).unwrap_or_default(),
            );
            match setting {
                LoggingSetting::TargetBucket(bucket) => target.clone_from(bucket),
                LoggingSetting::TargetPrefix(text) => prefix.clone_from(text),
            }
            let logging = s3::LoggingEnabled::builder()
                .target_bucket(target)
                .target_prefix(prefix)
                .build()
                .map_err(|error| CallError::local("s3:PutBucketLogging", error.to_string()))?;
            let status = s3::BucketLoggingStatus::builder().logging_enabled(logging).build();
            send!(
                aws,
                "s3:PutBucketLogging",
                s3_client.put_bucket_logging().bucket(bucket).bucket_logging_status(status)
            )
            .map(drop)
        }
        AwsCall::DbInstance { db_instance_id, change } => {
            let request =
                rds_client.modify_db_instance().db_instance_identifier(db_instance_id).apply_immediately(true);
            let request = match *change {
                DbChange::PubliclyAccessible(flag) => request.publicly_accessible(flag),
                DbChange::DeletionProtection(flag) => request.deletion_protection(flag),
                DbChange::BackupRetentionPeriod(days) => request.backup_retention_period(days),
            };
            send!(aws, "rds:ModifyDBInstance", request).map(drop)
        }
        AwsCall::DbCluster { cluster_id, change } => {
            let request = rds_client.modify_db_cluster().db_cluster_identifier(cluster_id).apply_immediately(true);
            let request = match *change {
                DbChange::PubliclyAccessible(_) => {
                    return Err(CallError::local(
                        "rds:ModifyDBCluster",
                        "a cluster has no public accessibility of its own",
                    ));
                }
                DbChange::DeletionProtection(flag) => request.deletion_protection(flag),
                DbChange::BackupRetentionPeriod(days) => request.backup_retention_period(days),
            };
            send!(aws, "rds:ModifyDBCluster", request).map(drop)
        }
        AwsCall::DbParameter { cluster, group, name, value } => {
            let mut parameter = aws_sdk_rds::types::Parameter::builder()
                .parameter_name(name)
                .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate);
            if let Some(value) = value {
                parameter = parameter.parameter_value(value);
            }
            let parameter = parameter.build();
            match (cluster, value.is_some()) {
                (false, true) => send!(
                    aws,
                    "rds:ModifyDBParameterGroup",
                    rds_client.modify_db_parameter_group().db_parameter_group_name(group).parameters(parameter)
                )
                .map(drop),
                (false, false) => send!(
                    aws,
                    "rds:ResetDBParameterGroup",
                    rds_client.reset_db_parameter_group().db_parameter_group_name(group).parameters(parameter)
                )
                .map(drop),
                (true, true) => send!(
                    aws,
                    "rds:ModifyDBClusterParameterGroup",
                    rds_client
                        .modify_db_cluster_parameter_group()
                        .db_cluster_parameter_group_name(group)
                        .parameters(parameter)
                )
                .map(drop),
                (true, false) => send!(
                    aws,
                    "rds:ResetDBClusterParameterGroup",
                    rds_client
                        .reset_db_cluster_parameter_group()
                        .db_cluster_parameter_group_name(group)
                        .parameters(parameter)
                )
                .map(drop),
            }
        }
        AwsCall::SnapshotRestore { snapshot_id, account, add } => {
            let request =
                rds_client.modify_db_snapshot_attribute().db_snapshot_identifier(snapshot_id).attribute_name("restore");
            let request = if *add { request.values_to_add(account) } else { request.values_to_remove(account) };
            send!(aws, "rds:ModifyDBSnapshotAttribute", request).map(drop)
        }
        AwsCall::DbTag { db_instance_id, tag } => {
            let described = send!(
                aws,
                "rds:DescribeDBInstances",
                rds_client.describe_db_instances().db_instance_identifier(db_instance_id)
            )?;
            let arn = described
                .db_instances()
                .first()
                .and_then(|db| db.db_instance_arn())
                .ok_or_else(|| CallError::local("rds:DescribeDBInstances", format!("no ARN for {db_instance_id}")))?
                .to_owned();
            match &tag.value {
                Some(value) => {
                    let tag = aws_sdk_rds::types::Tag::builder().key(&tag.key).value(value).build();
                    send!(aws, "rds:AddTagsToResource", rds_client.add_tags_to_resource().resource_name(&arn).tags(tag))
                        .map(drop)
                }
                None => send!(
                    aws,
                    "rds:RemoveTagsFromResource",
                    rds_client.remove_tags_from_resource().resource_name(&arn).tag_keys(&tag.key)
                )
                .map(drop),
            }
        }
        AwsCall::RoleTrustPolicy { role_name, document } => send!(
            aws,
            "iam:UpdateAssumeRolePolicy",
            iam_client.update_assume_role_policy().role_name(role_name).policy_document(document.to_string())
        )
        .map(drop),
        AwsCall::RoleMaxSessionDuration { role_name, seconds } => {
            send!(aws, "iam:UpdateRole", iam_client.update_role().role_name(role_name).max_session_duration(*seconds))
                .map(drop)
        }
        AwsCall::RoleTag { role_name, tag: Tag { key, value: Some(value) } } => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| CallError::local("iam:TagRole", error.to_string()))?;
            send!(aws, "iam:TagRole", iam_client.tag_role().role_name(role_name).tags(tag)).map(drop)
        }
        AwsCall::RoleTag { role_name, tag: Tag { key, value: None } } => {
            send!(aws, "iam:UntagRole", iam_client.untag_role().role_name(role_name).tag_keys(key)).map(drop)
        }
        AwsCall::PolicyDocument { policy_arn, document } => send!(
            aws,
            "iam:CreatePolicyVersion",
            iam_client
                .create_policy_version()
                .policy_arn(policy_arn)
                .policy_document(document.to_string())
                .set_as_default(true)
        )
        .map(drop),
        AwsCall::PolicyAttachment { principal, name, policy_arn, attach } => {
            iam::attachment(aws, *principal, name, policy_arn, *attach).await
        }
        AwsCall::InlinePolicy { principal, name, policy_name, document } => {
            iam::inline(aws, *principal, name, policy_name, document.as_ref()).await
        }
        AwsCall::GroupMembership { user_name, group_name, add } => {
            iam::membership(aws, user_name, group_name, *add).await
        }
        AwsCall::UserTag { user_name, tag } => iam::user_tag(aws, user_name, tag).await,
        AwsCall::AccessKeyStatus { access_key_id, status } => iam::access_key(aws, access_key_id, status).await,
        AwsCall::PasswordPolicy { change } => iam::password_policy(aws, *change).await,
        AwsCall::OidcClientId { provider_arn, client_id, add } => {
            iam::oidc_client(aws, provider_arn, client_id, *add).await
        }
        AwsCall::VpcAttribute { vpc_id, flag, value } => {
            let value = ec2::AttributeBooleanValue::builder().value(*value).build();
            let request = ec2_client.modify_vpc_attribute().vpc_id(vpc_id);
            let request = match flag {
                VpcFlag::EnableDnsSupport => request.enable_dns_support(value),
                VpcFlag::EnableDnsHostnames => request.enable_dns_hostnames(value),
            };
            send!(aws, "ec2:ModifyVpcAttribute", request).map(drop)
        }
        AwsCall::SubnetPublicIp { subnet_id, map_public_ip_on_launch } => {
            let value = ec2::AttributeBooleanValue::builder().value(*map_public_ip_on_launch).build();
            send!(
                aws,
                "ec2:ModifySubnetAttribute",
                ec2_client.modify_subnet_attribute().subnet_id(subnet_id).map_public_ip_on_launch(value)
            )
            .map(drop)
        }
        AwsCall::DeleteRoute { route_table_id, destination } => {
            let request = ec2_client.delete_route().route_table_id(route_table_id);
            let request = if destination.starts_with("pl-") {
                request.destination_prefix_list_id(destination)
            } else if destination.contains(':') {
                request.destination_ipv6_cidr_block(destination)
            } else {
                request.destination_cidr_block(destination)
            };
            send!(aws, "ec2:DeleteRoute", request).map(drop)
        }
        AwsCall::NetworkAclEntry { network_acl_id, entry, create: false } => send!(
            aws,
            "ec2:DeleteNetworkAclEntry",
            ec2_client
                .delete_network_acl_entry()
                .network_acl_id(network_acl_id)
                .rule_number(entry.rule_number)
                .egress(entry.egress)
        )
        .map(drop),
        AwsCall::NetworkAclEntry { network_acl_id, entry, create: true } => {
            let mut request = ec2_client
                .create_network_acl_entry()
                .network_acl_id(network_acl_id)
                .rule_number(entry.rule_number)
                .egress(entry.egress)
                .rule_action(ec2::RuleAction::from(entry.rule_action.as_str()))
                .protocol(protocol_number(&entry.protocol));
            request = if entry.cidr_block.contains(':') {
                request.ipv6_cidr_block(&entry.cidr_block)
            } else {
                request.cidr_block(&entry.cidr_block)
            };
            if let Some(ports) = entry.port_range {
                request = request.port_range(ec2::PortRange::builder().from(ports.from).to(ports.to).build());
            }
            if let Some(icmp) = entry.icmp_type_code {
                request =
                    request.icmp_type_code(ec2::IcmpTypeCode::builder().r#type(icmp.r#type).code(icmp.code).build());
            }
            send!(aws, "ec2:CreateNetworkAclEntry", request).map(drop)
        }
        AwsCall::EbsEncryptionByDefault { enabled: true } => {
            send!(aws, "ec2:EnableEbsEncryptionByDefault", ec2_client.enable_ebs_encryption_by_default()).map(drop)
        }
        AwsCall::EbsEncryptionByDefault { enabled: false } => {
            send!(aws, "ec2:DisableEbsEncryptionByDefault", ec2_client.disable_ebs_encryption_by_default()).map(drop)
        }
        AwsCall::InterfaceSourceDestCheck { network_interface_id, enabled } => {
            let value = ec2::AttributeBooleanValue::builder().value(*enabled).build();
            send!(
                aws,
                "ec2:ModifyNetworkInterfaceAttribute",
                ec2_client
                    .modify_network_interface_attribute()
                    .network_interface_id(network_interface_id)
                    .source_dest_check(value)
            )
            .map(drop)
        }
    }
}

/// One grant added to or removed from a bucket's ACL: read, changed, written whole (the
/// API replaces the ACL), owner kept.
async fn acl_grant(aws: &AwsClient, bucket: &str, atom: &str, add: bool) -> Result<(), CallError> {
    use driftguard_engine::catalogue::aws::{grant_atom, parse_grant_atom};
    let s3_client = bucket_client(aws, bucket).await?;
    let current = send!(aws, "s3:GetBucketAcl", s3_client.get_bucket_acl().bucket(bucket))?;
    let atom_of = |grant: &s3::Grant| {
        let grantee = grant.grantee();
        grant_atom(
            grant.permission().map(s3::Permission::as_str).unwrap_or_default(),
            grantee.map(|g| g.r#type().as_str()).unwrap_or_default(),
            grantee.and_then(|g| g.id()).unwrap_or_default(),
            grantee.and_then(|g| g.uri()).unwrap_or_default(),
            grantee.and_then(|g| g.email_address()).unwrap_or_default(),
        )
    };
    let owner = current.owner().and_then(|owner| owner.id()).unwrap_or_default();
    let owners_own = |grant: &s3::Grant| grant.grantee().and_then(|g| g.id()).is_some_and(|id| id == owner);
    if !add && current.grants().iter().any(|grant| atom_of(grant) == atom && owners_own(grant)) {
        // Never lock the owner out of its own bucket: that drift is escalated, not fixed.
        return Err(CallError::local("s3:PutBucketAcl", "refusing to remove the bucket owner's own grant"));
    }
    let mut grants: Vec<s3::Grant> = current.grants().iter().filter(|grant| atom_of(grant) != atom).cloned().collect();
    if add {
        let (permission, grantee_type, value) = parse_grant_atom(atom)
            .ok_or_else(|| CallError::local("s3:PutBucketAcl", format!("not a grant: {atom}")))?;
        let grantee_type = s3::Type::from(grantee_type);
        let mut grantee = s3::Grantee::builder().r#type(grantee_type.clone());
        grantee = match grantee_type {
            s3::Type::Group => grantee.uri(value),
            s3::Type::AmazonCustomerByEmail => grantee.email_address(value),
            _ => grantee.id(value),
        };
        let grantee = grantee.build().map_err(|error| CallError::local("s3:PutBucketAcl", error.to_string()))?;
        grants.push(s3::Grant::builder().grantee(grantee).permission(s3::Permission::from(permission)).build());
    }
    let policy =
        s3::AccessControlPolicy::builder().set_grants(Some(grants)).set_owner(current.owner().cloned()).build();
    send!(aws, "s3:PutBucketAcl", s3_client.put_bucket_acl().bucket(bucket).access_control_policy(policy)).map(drop)
}

/// The API takes ACL protocols as numbers.
fn protocol_number(protocol: &str) -> &str {
    match protocol {
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        "icmpv6" => "58",
        other => other,
    }
}

/// Bucket calls go to the bucket's own region (a NoSuchBucket on the lookup is a NotFound).
async fn bucket_client(aws: &AwsClient, bucket: &str) -> Result<aws_sdk_s3::Client, CallError> {
    Ok(aws.s3_in(&aws.bucket_region(bucket).await?))
}
