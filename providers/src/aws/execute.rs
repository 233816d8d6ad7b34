//! Planned remediation calls → AWS SDK requests. Each call is idempotent (applying the
//! declared value again is harmless), so retrying a transient failure is safe.

use aws_sdk_ec2::types as ec2;
use aws_sdk_s3::types as s3;
use serde_json::Value;

use crate::aws::AwsClient;
use crate::retry::CallError;

fn text<'a>(params: &'a Value, key: &str, operation: &str) -> Result<&'a str, CallError> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| CallError::local(operation, format!("missing string parameter {key}")))
}

fn permissions(params: &Value, group_id: &str) -> Vec<ec2::IpPermission> {
    let mut out = Vec::new();
    for permission in params.get("IpPermissions").and_then(Value::as_array).into_iter().flatten() {
        let mut builder = ec2::IpPermission::builder()
            .ip_protocol(permission.get("IpProtocol").and_then(Value::as_str).unwrap_or("-1"))
            .set_from_port(permission.get("FromPort").and_then(Value::as_i64).and_then(|p| i32::try_from(p).ok()))
            .set_to_port(permission.get("ToPort").and_then(Value::as_i64).and_then(|p| i32::try_from(p).ok()));
        for range in permission.get("IpRanges").and_then(Value::as_array).into_iter().flatten() {
            builder = builder
                .ip_ranges(ec2::IpRange::builder().set_cidr_ip(range["CidrIp"].as_str().map(str::to_owned)).build());
        }
        for range in permission.get("Ipv6Ranges").and_then(Value::as_array).into_iter().flatten() {
            builder = builder.ipv6_ranges(
                ec2::Ipv6Range::builder().set_cidr_ipv6(range["CidrIpv6"].as_str().map(str::to_owned)).build(),
            );
        }
        for pair in permission.get("UserIdGroupPairs").and_then(Value::as_array).into_iter().flatten() {
            let group = match pair["GroupId"].as_str() {
                Some("self") => group_id,
                other => other.unwrap_or_default(),
            };
            builder = builder.user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(group).build());
        }
        for list in permission.get("PrefixListIds").and_then(Value::as_array).into_iter().flatten() {
            builder = builder.prefix_list_ids(
                ec2::PrefixListId::builder()
                    .set_prefix_list_id(list["PrefixListId"].as_str().map(str::to_owned))
                    .build(),
            );
        }
        out.push(builder.build());
    }
    out
}

fn s3_tag(key: &str, value: &str, operation: &str) -> Result<s3::Tag, CallError> {
    s3::Tag::builder().key(key).value(value).build().map_err(|error| CallError::local(operation, error.to_string()))
}

/// Runs one planned call.
pub async fn execute(aws: &AwsClient, action: &driftguard_engine::finding::Action) -> Result<(), CallError> {
    let this = aws;
    let (ec2_client, s3_home, rds_client, iam_client) = aws.clients();
    let id = action.target.as_str();
    // Bucket calls go to the bucket's own region (a NoSuchBucket here is a NotFound).
    let s3_owned;
    let s3_client = if action.api.starts_with("s3:") {
        s3_owned = aws.s3_in(&aws.bucket_region(id).await?);
        &s3_owned
    } else {
        s3_home
    };
    let params = &action.params;
    match action.api.as_str() {
        "ec2:RevokeSecurityGroupIngress" => {
            send!(
                this,
                "ec2:RevokeSecurityGroupIngress",
                ec2_client
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(permissions(params, id)))
            )?;
        }
        "ec2:AuthorizeSecurityGroupIngress" => {
            send!(
                this,
                "ec2:AuthorizeSecurityGroupIngress",
                ec2_client
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(permissions(params, id)))
            )?;
        }
        "ec2:RevokeSecurityGroupEgress" => {
            send!(
                this,
                "ec2:RevokeSecurityGroupEgress",
                ec2_client
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(permissions(params, id)))
            )?;
        }
        "ec2:AuthorizeSecurityGroupEgress" => {
            send!(
                this,
                "ec2:AuthorizeSecurityGroupEgress",
                ec2_client
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(permissions(params, id)))
            )?;
        }
        "ec2:CreateTags" => {
            let tag = ec2::Tag::builder()
                .key(text(params, "Key", "ec2:CreateTags")?)
                .value(text(params, "Value", "ec2:CreateTags")?)
                .build();
            send!(this, "ec2:CreateTags", ec2_client.create_tags().resources(id).tags(tag))?;
        }
        "ec2:DeleteTags" => {
            let tag = ec2::Tag::builder().key(text(params, "Key", "ec2:DeleteTags")?).build();
            send!(this, "ec2:DeleteTags", ec2_client.delete_tags().resources(id).tags(tag))?;
        }
        "ec2:ModifyInstanceAttribute" => {
            let mut request = ec2_client.modify_instance_attribute().instance_id(id);
            if let Some(flag) = params.get("DisableApiTermination").and_then(Value::as_bool) {
                request = request.disable_api_termination(ec2::AttributeBooleanValue::builder().value(flag).build());
            }
            if let Some(groups) = params.get("Groups").and_then(Value::as_array) {
                request =
                    request.set_groups(Some(groups.iter().filter_map(Value::as_str).map(str::to_owned).collect()));
            }
            send!(this, "ec2:ModifyInstanceAttribute", request)?;
        }
        "ec2:MonitorInstances" => {
            send!(this, "ec2:MonitorInstances", ec2_client.monitor_instances().instance_ids(id))?;
        }
        "ec2:UnmonitorInstances" => {
            send!(this, "ec2:UnmonitorInstances", ec2_client.unmonitor_instances().instance_ids(id))?;
        }
        "ec2:ModifyInstanceMetadataOptions" => {
            let tokens = ec2::HttpTokensState::from(text(params, "HttpTokens", "ec2:ModifyInstanceMetadataOptions")?);
            send!(
                this,
                "ec2:ModifyInstanceMetadataOptions",
                ec2_client.modify_instance_metadata_options().instance_id(id).http_tokens(tokens)
            )?;
        }
        "s3:PutBucketVersioning" => {
            let status = s3::BucketVersioningStatus::from(text(params, "Status", "s3:PutBucketVersioning")?);
            let configuration = s3::VersioningConfiguration::builder().status(status).build();
            send!(
                this,
                "s3:PutBucketVersioning",
                s3_client.put_bucket_versioning().bucket(id).versioning_configuration(configuration)
            )?;
        }
        "s3:PutPublicAccessBlock" => {
            // One finding is one flag: read the others so that only it changes.
            let current = send!(this, "s3:GetPublicAccessBlock", s3_client.get_public_access_block().bucket(id))
                .map(Some)
                .or_else(
                    |error| if error.code == "NoSuchPublicAccessBlockConfiguration" { Ok(None) } else { Err(error) },
                )?;
            let config = current.as_ref().and_then(|c| c.public_access_block_configuration());
            let flag = |key: &str, now: Option<bool>| params.get(key).and_then(Value::as_bool).or(now).unwrap_or(false);
            let configuration = s3::PublicAccessBlockConfiguration::builder()
                .block_public_acls(flag(
                    "block_public_acls",
                    config.and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::block_public_acls),
                ))
                .block_public_policy(flag(
                    "block_public_policy",
                    config.and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::block_public_policy),
                ))
                .ignore_public_acls(flag(
                    "ignore_public_acls",
                    config.and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::ignore_public_acls),
                ))
                .restrict_public_buckets(flag(
                    "restrict_public_buckets",
                    config.and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::restrict_public_buckets),
                ))
                .build();
            send!(
                this,
                "s3:PutPublicAccessBlock",
                s3_client.put_public_access_block().bucket(id).public_access_block_configuration(configuration)
            )?;
        }
        "s3:PutBucketEncryption" => {
            let algorithm = params.get("rule.sse_algorithm").and_then(Value::as_str).unwrap_or("AES256");
            let default = s3::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3::ServerSideEncryption::from(algorithm))
                .set_kms_master_key_id(params.get("rule.kms_master_key_id").and_then(Value::as_str).map(str::to_owned))
                .build()
                .map_err(|error| CallError::local("s3:PutBucketEncryption", error.to_string()))?;
            let configuration = s3::ServerSideEncryptionConfiguration::builder()
                .rules(s3::ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build())
                .build()
                .map_err(|error| CallError::local("s3:PutBucketEncryption", error.to_string()))?;
            send!(
                this,
                "s3:PutBucketEncryption",
                s3_client.put_bucket_encryption().bucket(id).server_side_encryption_configuration(configuration)
            )?;
        }
        "s3:PutBucketTagging" => {
            // S3 tags are replaced as a whole: read, change one key, write back.
            let current = send!(this, "s3:GetBucketTagging", s3_client.get_bucket_tagging().bucket(id))
                .map(|output| output.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
                .or_else(|error| if error.code == "NoSuchTagSet" { Ok(Vec::new()) } else { Err(error) })?;
            let key = text(params, "Key", "s3:PutBucketTagging")?;
            let mut tags: Vec<(String, String)> = current.into_iter().filter(|(k, _)| k != key).collect();
            if let Some(value) = params.get("Value").and_then(Value::as_str) {
                tags.push((key.to_owned(), value.to_owned()));
            }
            if tags.is_empty() {
                send!(this, "s3:DeleteBucketTagging", s3_client.delete_bucket_tagging().bucket(id))?;
            } else {
                let mut tagging = s3::Tagging::builder();
                for (k, v) in &tags {
                    tagging = tagging.tag_set(s3_tag(k, v, "s3:PutBucketTagging")?);
                }
                let tagging =
                    tagging.build().map_err(|error| CallError::local("s3:PutBucketTagging", error.to_string()))?;
                send!(this, "s3:PutBucketTagging", s3_client.put_bucket_tagging().bucket(id).tagging(tagging))?;
            }
        }
        "rds:ModifyDBInstance" => {
            let mut request = rds_client.modify_db_instance().db_instance_identifier(id).apply_immediately(true);
            if let Some(flag) = params.get("publicly_accessible").and_then(Value::as_bool) {
                request = request.publicly_accessible(flag);
            }
            if let Some(flag) = params.get("deletion_protection").and_then(Value::as_bool) {
                request = request.deletion_protection(flag);
            }
            if let Some(days) = params.get("backup_retention_period").and_then(Value::as_i64) {
                request = request.backup_retention_period(i32::try_from(days).unwrap_or(0));
            }
            send!(this, "rds:ModifyDBInstance", request)?;
        }
        "rds:AddTagsToResource" | "rds:RemoveTagsFromResource" => {
            let described =
                send!(this, "rds:DescribeDBInstances", rds_client.describe_db_instances().db_instance_identifier(id))?;
            let arn = described
                .db_instances()
                .first()
                .and_then(|db| db.db_instance_arn())
                .ok_or_else(|| CallError::local("rds:DescribeDBInstances", format!("no ARN for {id}")))?
                .to_owned();
            let key = text(params, "Key", &action.api)?;
            if action.api == "rds:AddTagsToResource" {
                let tag =
                    aws_sdk_rds::types::Tag::builder().key(key).value(text(params, "Value", &action.api)?).build();
                send!(this, "rds:AddTagsToResource", rds_client.add_tags_to_resource().resource_name(&arn).tags(tag))?;
            } else {
                send!(
                    this,
                    "rds:RemoveTagsFromResource",
                    rds_client.remove_tags_from_resource().resource_name(&arn).tag_keys(key)
                )?;
            }
        }
        "iam:UpdateAssumeRolePolicy" => {
            let document = params.get("PolicyDocument").map(Value::to_string).unwrap_or_default();
            send!(
                this,
                "iam:UpdateAssumeRolePolicy",
                iam_client.update_assume_role_policy().role_name(id).policy_document(&document)
            )?;
        }
        "iam:UpdateRole" => {
            let seconds = params.get("MaxSessionDuration").and_then(Value::as_i64).and_then(|s| i32::try_from(s).ok());
            send!(this, "iam:UpdateRole", iam_client.update_role().role_name(id).set_max_session_duration(seconds))?;
        }
        "iam:TagRole" => {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(text(params, "Key", "iam:TagRole")?)
                .value(text(params, "Value", "iam:TagRole")?)
                .build()
                .map_err(|error| CallError::local("iam:TagRole", error.to_string()))?;
            send!(this, "iam:TagRole", iam_client.tag_role().role_name(id).tags(tag))?;
        }
        "iam:UntagRole" => {
            send!(
                this,
                "iam:UntagRole",
                iam_client.untag_role().role_name(id).tag_keys(text(params, "Key", "iam:UntagRole")?)
            )?;
        }
        "iam:CreatePolicyVersion" => {
            let document = params.get("PolicyDocument").map(Value::to_string).unwrap_or_default();
            send!(
                this,
                "iam:CreatePolicyVersion",
                iam_client.create_policy_version().policy_arn(id).policy_document(&document).set_as_default(true)
            )?;
        }
        other => return Err(CallError::local(other, "DriftGuard has no executor for this call")),
    }
    Ok(())
}
