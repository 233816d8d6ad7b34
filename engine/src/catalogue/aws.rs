//! The AWS catalogue: one entry per Terraform type of the hashicorp/aws provider that
//! DriftGuard compares or deletes. Declared-side normalisers read a state instance's
//! attributes as provider v5 writes them (nested blocks as one-element lists, absent ≡
//! null ≡ the provider's default); the live collectors write the same paths with the same
//! helpers. Remediation builders return the one call that restores the declared value;
//! drift with no safe inverse (an instance's type or profile, a missing or unmanaged
//! resource) has none, and its flow escalates it.

use serde_json::Value;

use super::{Attribute, Entry, Fix, JanitorRole, Listing, TagCall};
use crate::drift::normalize::{
    RuleParts, RuleSource, boolean, declared_rules, number, parse_rule_atom, policy_document, protocol, string_set,
    strings, text,
};
use crate::model::JanitorTarget;
use crate::model::Provider;
use crate::remediation::RemediationCall;
use crate::remediation::aws::{
    AwsCall, DbChange, Direction, EncryptionSetting, GroupPair, InstanceChange, IpPermission, IpRange, Ipv6Range,
    PrefixListRef, PublicAccessFlag, RuleChange, Tag,
};

fn tag(key: &str, value: Option<&str>) -> Tag {
    Tag { key: key.to_owned(), value: value.map(str::to_owned) }
}

const EC2_TAGS: TagCall = |id, key, value| AwsCall::Ec2Tag { resource_id: id.to_owned(), tag: tag(key, value) }.into();

/// A declared text value (the fix needs one).
fn expected_text(f: &Fix<'_>) -> Option<String> {
    f.expected.and_then(Value::as_str).map(str::to_owned)
}

/// A declared boolean (the normal form writes absent booleans as `false`).
fn expected_flag(f: &Fix<'_>) -> Option<bool> {
    f.expected.and_then(Value::as_bool)
}

/// What every entry of this file shares.
const AWS: Entry = Entry::blank(Provider::Aws, &["id"]);

// aws_instance ---------------------------------------------------------------------------

const INSTANCE: &[Attribute] = &[
    Attribute { path: "instance_type", declared: |a| text(a, &["instance_type"]), fix: None },
    Attribute {
        path: "vpc_security_group_ids",
        declared: |a| string_set(strings(a.get("vpc_security_group_ids"))),
        fix: Some(|f| {
            let groups =
                f.expected?.as_array()?.iter().map(|g| g.as_str().map(str::to_owned)).collect::<Option<_>>()?;
            Some(
                AwsCall::InstanceAttribute {
                    instance_id: f.id.to_owned(),
                    change: InstanceChange::SecurityGroups(groups),
                }
                .into(),
            )
        }),
    },
    // Terraform records the profile's name (the live side takes it from the ARN).
    Attribute { path: "iam_instance_profile", declared: |a| text(a, &["iam_instance_profile"]), fix: None },
    Attribute {
        path: "disable_api_termination",
        declared: |a| boolean(a.get("disable_api_termination")),
        fix: Some(|f| {
            let change = InstanceChange::DisableApiTermination(expected_flag(f)?);
            Some(AwsCall::InstanceAttribute { instance_id: f.id.to_owned(), change }.into())
        }),
    },
    Attribute {
        path: "metadata_options.http_tokens",
        declared: |a| text(a, &["metadata_options", "http_tokens"]),
        fix: Some(|f| {
            let http_tokens = expected_text(f)?;
            Some(AwsCall::InstanceMetadataTokens { instance_id: f.id.to_owned(), http_tokens }.into())
        }),
    },
    Attribute {
        path: "monitoring",
        declared: |a| boolean(a.get("monitoring")),
        fix: Some(|f| {
            let enabled = f.expected == Some(&Value::Bool(true));
            Some(AwsCall::InstanceMonitoring { instance_id: f.id.to_owned(), enabled }.into())
        }),
    },
];

// aws_security_group and its standalone rules ----------------------------------------------

/// A rule atom (`tcp 22-22 from 0.0.0.0/0`) of group `group_id` as an `IpPermissions`
/// element.
fn permission(atom: &str, group_id: &str) -> Option<IpPermission> {
    let RuleParts { protocol, ports, source } = parse_rule_atom(atom)?;
    let port = |port: i64| i32::try_from(port).ok();
    let (from_port, to_port) = match ports {
        Some((from, to)) => (Some(port(from)?), Some(port(to)?)),
        None => (None, None),
    };
    let mut permission = IpPermission {
        ip_protocol: protocol,
        from_port,
        to_port,
        ip_ranges: Vec::new(),
        ipv6_ranges: Vec::new(),
        user_id_group_pairs: Vec::new(),
        prefix_list_ids: Vec::new(),
    };
    match source {
        RuleSource::Cidr(cidr_ip) => permission.ip_ranges.push(IpRange { cidr_ip }),
        RuleSource::Cidr6(cidr_ipv6) => permission.ipv6_ranges.push(Ipv6Range { cidr_ipv6 }),
        RuleSource::Group(group_id) => permission.user_id_group_pairs.push(GroupPair { group_id }),
        RuleSource::SelfGroup => permission.user_id_group_pairs.push(GroupPair { group_id: group_id.to_owned() }),
        RuleSource::PrefixList(prefix_list_id) => permission.prefix_list_ids.push(PrefixListRef { prefix_list_id }),
    }
    Some(permission)
}

/// A rule someone added is revoked; a declared rule someone removed is authorised again.
fn rule_fix(f: &Fix<'_>, direction: Direction) -> Option<RemediationCall> {
    let (change, atom) = match (f.expected, f.actual) {
        (None, Some(Value::String(atom))) => (RuleChange::Revoke, atom),
        (Some(Value::String(atom)), None) => (RuleChange::Authorize, atom),
        _ => return None,
    };
    let permissions = vec![permission(atom, f.id)?];
    Some(AwsCall::SecurityGroupRules { group_id: f.id.to_owned(), change, direction, permissions }.into())
}

const SECURITY_GROUP: &[Attribute] = &[
    Attribute { path: "name", declared: |a| text(a, &["name"]), fix: None },
    Attribute {
        path: "ingress",
        declared: |a| declared_rules(a, "ingress"),
        fix: Some(|f| rule_fix(f, Direction::Ingress)),
    },
    Attribute {
        path: "egress",
        declared: |a| declared_rules(a, "egress"),
        fix: Some(|f| rule_fix(f, Direction::Egress)),
    },
];

/// `-1` (all traffic) has no ports: Terraform writes them, AWS does not.
fn rule_port(a: &Value, key: &str) -> Value {
    let all = a.get("ip_protocol").and_then(Value::as_str).map(protocol).as_deref() == Some("-1");
    if all { Value::Null } else { number(a, &[key]) }
}

const SECURITY_GROUP_RULE: &[Attribute] = &[
    Attribute { path: "security_group_id", declared: |a| text(a, &["security_group_id"]), fix: None },
    Attribute { path: "cidr_ipv4", declared: |a| text(a, &["cidr_ipv4"]), fix: None },
    Attribute { path: "cidr_ipv6", declared: |a| text(a, &["cidr_ipv6"]), fix: None },
    Attribute {
        path: "referenced_security_group_id",
        declared: |a| text(a, &["referenced_security_group_id"]),
        fix: None,
    },
    Attribute { path: "prefix_list_id", declared: |a| text(a, &["prefix_list_id"]), fix: None },
    Attribute {
        path: "ip_protocol",
        declared: |a| a.get("ip_protocol").and_then(Value::as_str).map(protocol).map_or(Value::Null, Value::String),
        fix: None,
    },
    Attribute { path: "from_port", declared: |a| rule_port(a, "from_port"), fix: None },
    Attribute { path: "to_port", declared: |a| rule_port(a, "to_port"), fix: None },
];

// S3 ---------------------------------------------------------------------------------------

const VERSIONING: &[Attribute] = &[Attribute {
    path: "versioning_configuration.status",
    declared: |a| {
        let status = text(a, &["versioning_configuration", "status"]);
        // "Disabled" is how Terraform writes a bucket that never had versioning.
        if status == "Disabled" { Value::Null } else { status }
    },
    fix: Some(|f| Some(AwsCall::BucketVersioning { bucket: f.id.to_owned(), status: expected_text(f)? }.into())),
}];

/// The whole rule is one call; the finding carries only the attribute that drifted.
fn encryption_fix(f: &Fix<'_>, setting: fn(String) -> EncryptionSetting) -> Option<RemediationCall> {
    Some(AwsCall::BucketEncryption { bucket: f.id.to_owned(), setting: setting(expected_text(f)?) }.into())
}

const ENCRYPTION: &[Attribute] = &[
    Attribute {
        path: "rule.sse_algorithm",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "sse_algorithm"]),
        fix: Some(|f| encryption_fix(f, EncryptionSetting::SseAlgorithm)),
    },
    Attribute {
        path: "rule.kms_master_key_id",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "kms_master_key_id"]),
        fix: Some(|f| encryption_fix(f, EncryptionSetting::KmsMasterKeyId)),
    },
    Attribute {
        path: "rule.bucket_key_enabled",
        declared: |a| boolean(crate::drift::normalize::get(a, &["rule", "bucket_key_enabled"])),
        fix: None,
    },
];

/// Each flag is one call that writes the whole block (the executor keeps the other flags).
fn public_access_fix(f: &Fix<'_>, flag: PublicAccessFlag) -> Option<RemediationCall> {
    Some(AwsCall::BucketPublicAccess { bucket: f.id.to_owned(), flag, value: expected_flag(f)? }.into())
}

const PUBLIC_ACCESS_BLOCK: &[Attribute] = &[
    Attribute {
        path: "block_public_acls",
        declared: |a| boolean(a.get("block_public_acls")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::BlockPublicAcls)),
    },
    Attribute {
        path: "block_public_policy",
        declared: |a| boolean(a.get("block_public_policy")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::BlockPublicPolicy)),
    },
    Attribute {
        path: "ignore_public_acls",
        declared: |a| boolean(a.get("ignore_public_acls")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::IgnorePublicAcls)),
    },
    Attribute {
        path: "restrict_public_buckets",
        declared: |a| boolean(a.get("restrict_public_buckets")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::RestrictPublicBuckets)),
    },
];

// RDS and IAM ------------------------------------------------------------------------------

/// One setting per call, applied immediately (the declared value, when it is one).
fn db_fix(f: &Fix<'_>, change: Option<DbChange>) -> Option<RemediationCall> {
    Some(AwsCall::DbInstance { db_instance_id: f.id.to_owned(), change: change? }.into())
}

const DB_INSTANCE: &[Attribute] = &[
    Attribute { path: "instance_class", declared: |a| text(a, &["instance_class"]), fix: None },
    Attribute {
        path: "publicly_accessible",
        declared: |a| boolean(a.get("publicly_accessible")),
        fix: Some(|f| db_fix(f, expected_flag(f).map(DbChange::PubliclyAccessible))),
    },
    Attribute { path: "storage_encrypted", declared: |a| boolean(a.get("storage_encrypted")), fix: None },
    Attribute {
        path: "deletion_protection",
        declared: |a| boolean(a.get("deletion_protection")),
        fix: Some(|f| db_fix(f, expected_flag(f).map(DbChange::DeletionProtection))),
    },
    Attribute {
        path: "backup_retention_period",
        declared: |a| number(a, &["backup_retention_period"]),
        fix: Some(|f| {
            let days = f.expected.and_then(Value::as_i64).and_then(|days| i32::try_from(days).ok());
            db_fix(f, days.map(DbChange::BackupRetentionPeriod))
        }),
    },
];

const ROLE: &[Attribute] = &[
    Attribute {
        path: "assume_role_policy",
        declared: |a| a.get("assume_role_policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
        fix: Some(|f| {
            let document = f.expected.filter(|document| document.is_object())?.clone();
            Some(AwsCall::RoleTrustPolicy { role_name: f.id.to_owned(), document }.into())
        }),
    },
    Attribute {
        path: "max_session_duration",
        declared: |a| number(a, &["max_session_duration"]),
        fix: Some(|f| {
            let seconds = i32::try_from(f.expected.and_then(Value::as_i64)?).ok()?;
            Some(AwsCall::RoleMaxSessionDuration { role_name: f.id.to_owned(), seconds }.into())
        }),
    },
];

const POLICY: &[Attribute] = &[Attribute {
    path: "policy",
    declared: |a| a.get("policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
    fix: Some(|f| {
        let document = f.expected.filter(|document| document.is_object())?.clone();
        Some(AwsCall::PolicyDocument { policy_arn: f.id.to_owned(), document }.into())
    }),
}];

/// Every AWS type, compared or deleted.
pub static ENTRIES: [Entry; 11] = [
    Entry {
        resource_type: "aws_instance",
        service: "ec2",
        listing: Some(Listing::Ec2Instances),
        details: &["ec2:DescribeInstanceAttribute (disableApiTermination)"],
        attributes: INSTANCE,
        tags: Some(EC2_TAGS),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsInstance, order: 0 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_security_group",
        service: "ec2",
        listing: Some(Listing::Ec2SecurityGroups),
        attributes: SECURITY_GROUP,
        tags: Some(EC2_TAGS),
        unmanaged: true,
        ..AWS
    },
    Entry {
        resource_type: "aws_vpc_security_group_ingress_rule",
        service: "ec2",
        listing: Some(Listing::Ec2SecurityGroupRules),
        attributes: SECURITY_GROUP_RULE,
        tags: Some(EC2_TAGS),
        unmanaged: true,
        ..AWS
    },
    Entry {
        resource_type: "aws_vpc_security_group_egress_rule",
        service: "ec2",
        listing: Some(Listing::Ec2SecurityGroupRules),
        attributes: SECURITY_GROUP_RULE,
        tags: Some(EC2_TAGS),
        unmanaged: true,
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket",
        service: "s3",
        identity: &["bucket", "id"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketLocation (when the listing gives no region)", "s3:GetBucketTagging"],
        tags: Some(|id, key, value| AwsCall::BucketTag { bucket: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsS3Bucket, order: 2 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_versioning",
        service: "s3",
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketVersioning"],
        attributes: VERSIONING,
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_server_side_encryption_configuration",
        service: "s3",
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketEncryption"],
        attributes: ENCRYPTION,
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_public_access_block",
        service: "s3",
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetPublicAccessBlock"],
        attributes: PUBLIC_ACCESS_BLOCK,
        ..AWS
    },
    Entry {
        resource_type: "aws_db_instance",
        service: "rds",
        // Newer providers record the DbiResourceId as `id`; the name is `identifier`.
        identity: &["identifier", "id"],
        listing: Some(Listing::RdsDbInstances),
        attributes: DB_INSTANCE,
        tags: Some(|id, key, value| AwsCall::DbTag { db_instance_id: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsDbInstance, order: 1 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_iam_role",
        service: "iam",
        identity: &["name", "id"],
        listing: Some(Listing::IamRoles),
        details: &["iam:GetRole (tags, session duration)"],
        attributes: ROLE,
        tags: Some(|id, key, value| AwsCall::RoleTag { role_name: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        // Last: instances use roles through instance profiles.
        janitor: Some(JanitorRole { target: JanitorTarget::AwsIamRole, order: 4 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_iam_policy",
        service: "iam",
        identity: &["arn", "id"],
        listing: Some(Listing::IamPolicies),
        details: &["iam:GetPolicyVersion (the default document)"],
        attributes: POLICY,
        unmanaged: true,
        ..AWS
    },
];
