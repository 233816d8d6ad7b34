//! The AWS catalogue: one entry per Terraform type of the hashicorp/aws provider that
//! DriftGuard compares or deletes. Declared-side normalisers read a state instance's
//! attributes as provider v5 writes them (nested blocks as one-element lists, absent ≡
//! null ≡ the provider's default); the live collectors write the same paths with the same
//! helpers. Remediation builders return the one call that restores the declared value;
//! drift with no safe inverse (an instance's type or profile, a missing or unmanaged
//! resource) has none, and its flow escalates it.

use serde_json::{Value, json};

use super::{Attribute, Entry, Fix, JanitorRole, Listing, Scope, TagCalls};
use crate::drift::normalize::{
    RuleParts, RuleSource, boolean, declared_rules, number, parse_rule_atom, policy_document, protocol, string_set,
    strings, text,
};
use crate::finding::Action;
use crate::model::JanitorTarget;
use crate::model::Provider;

fn call(api: &str, target: &str, params: Value) -> Action {
    Action { api: api.to_owned(), target: target.to_owned(), params }
}

const EC2_TAGS: TagCalls = TagCalls { add: "ec2:CreateTags", remove: "ec2:DeleteTags" };

/// What every entry of this file shares.
const AWS: Entry = Entry {
    provider: Provider::Aws,
    resource_type: "",
    service: "",
    scope: Scope::Regional,
    identity: &["id"],
    listing: None,
    details: &[],
    attributes: &[],
    tags: None,
    unmanaged: false,
    janitor: None,
};

// aws_instance ---------------------------------------------------------------------------

const INSTANCE: &[Attribute] = &[
    Attribute { path: "instance_type", declared: |a| text(a, &["instance_type"]), fix: None },
    Attribute {
        path: "vpc_security_group_ids",
        declared: |a| string_set(strings(a.get("vpc_security_group_ids"))),
        fix: Some(|f| {
            let expected = f.expected_or_null();
            expected.is_array().then(|| call("ec2:ModifyInstanceAttribute", f.id, json!({"Groups": expected})))
        }),
    },
    // Terraform records the profile's name (the live side takes it from the ARN).
    Attribute { path: "iam_instance_profile", declared: |a| text(a, &["iam_instance_profile"]), fix: None },
    Attribute {
        path: "disable_api_termination",
        declared: |a| boolean(a.get("disable_api_termination")),
        fix: Some(|f| {
            Some(call("ec2:ModifyInstanceAttribute", f.id, json!({"DisableApiTermination": f.expected_or_null()})))
        }),
    },
    Attribute {
        path: "metadata_options.http_tokens",
        declared: |a| text(a, &["metadata_options", "http_tokens"]),
        fix: Some(|f| {
            let expected = f.expected_or_null();
            expected
                .is_string()
                .then(|| call("ec2:ModifyInstanceMetadataOptions", f.id, json!({"HttpTokens": expected})))
        }),
    },
    Attribute {
        path: "monitoring",
        declared: |a| boolean(a.get("monitoring")),
        fix: Some(|f| {
            Some(if f.expected_or_null() == Value::Bool(true) {
                call("ec2:MonitorInstances", f.id, json!({}))
            } else {
                call("ec2:UnmonitorInstances", f.id, json!({}))
            })
        }),
    },
];

// aws_security_group and its standalone rules ----------------------------------------------

/// A rule atom (`tcp 22-22 from 0.0.0.0/0`) as an `IpPermissions` element.
fn permission(atom: &str) -> Option<Value> {
    let RuleParts { protocol, ports, source } = parse_rule_atom(atom)?;
    let mut permission = json!({"IpProtocol": protocol});
    if let Some((from, to)) = ports {
        permission["FromPort"] = json!(from);
        permission["ToPort"] = json!(to);
    }
    match source {
        RuleSource::Cidr(cidr) => permission["IpRanges"] = json!([{"CidrIp": cidr}]),
        RuleSource::Cidr6(cidr) => permission["Ipv6Ranges"] = json!([{"CidrIpv6": cidr}]),
        RuleSource::Group(group) => permission["UserIdGroupPairs"] = json!([{"GroupId": group}]),
        RuleSource::SelfGroup => permission["UserIdGroupPairs"] = json!([{"GroupId": "self"}]),
        RuleSource::PrefixList(list) => permission["PrefixListIds"] = json!([{"PrefixListId": list}]),
    }
    Some(permission)
}

/// A rule someone added is revoked; a declared rule someone removed is authorised again.
fn rule_fix(f: &Fix<'_>) -> Option<Action> {
    let direction = if f.attribute == "ingress" { "Ingress" } else { "Egress" };
    match (f.expected, f.actual) {
        (None, Some(Value::String(atom))) => permission(atom)
            .map(|p| call(&format!("ec2:RevokeSecurityGroup{direction}"), f.id, json!({"IpPermissions": [p]}))),
        (Some(Value::String(atom)), None) => permission(atom)
            .map(|p| call(&format!("ec2:AuthorizeSecurityGroup{direction}"), f.id, json!({"IpPermissions": [p]}))),
        _ => None,
    }
}

const SECURITY_GROUP: &[Attribute] = &[
    Attribute { path: "name", declared: |a| text(a, &["name"]), fix: None },
    Attribute { path: "ingress", declared: |a| declared_rules(a, "ingress"), fix: Some(rule_fix) },
    Attribute { path: "egress", declared: |a| declared_rules(a, "egress"), fix: Some(rule_fix) },
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
    fix: Some(|f| {
        let expected = f.expected_or_null();
        expected.is_string().then(|| call("s3:PutBucketVersioning", f.id, json!({"Status": expected})))
    }),
}];

/// The whole rule is one call; the finding carries only the attribute that drifted.
fn encryption_fix(f: &Fix<'_>) -> Option<Action> {
    let expected = f.expected_or_null();
    expected.is_string().then(|| call("s3:PutBucketEncryption", f.id, json!({f.attribute: expected})))
}

const ENCRYPTION: &[Attribute] = &[
    Attribute {
        path: "rule.sse_algorithm",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "sse_algorithm"]),
        fix: Some(encryption_fix),
    },
    Attribute {
        path: "rule.kms_master_key_id",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "kms_master_key_id"]),
        fix: Some(encryption_fix),
    },
    Attribute {
        path: "rule.bucket_key_enabled",
        declared: |a| boolean(crate::drift::normalize::get(a, &["rule", "bucket_key_enabled"])),
        fix: None,
    },
];

/// Each flag is one call that writes the whole block (the executor keeps the other flags).
const PUBLIC_ACCESS_FIX: fn(&Fix<'_>) -> Option<Action> =
    |f| Some(call("s3:PutPublicAccessBlock", f.id, json!({f.attribute: f.expected_or_null()})));

const PUBLIC_ACCESS_BLOCK: &[Attribute] = &[
    Attribute {
        path: "block_public_acls",
        declared: |a| boolean(a.get("block_public_acls")),
        fix: Some(PUBLIC_ACCESS_FIX),
    },
    Attribute {
        path: "block_public_policy",
        declared: |a| boolean(a.get("block_public_policy")),
        fix: Some(PUBLIC_ACCESS_FIX),
    },
    Attribute {
        path: "ignore_public_acls",
        declared: |a| boolean(a.get("ignore_public_acls")),
        fix: Some(PUBLIC_ACCESS_FIX),
    },
    Attribute {
        path: "restrict_public_buckets",
        declared: |a| boolean(a.get("restrict_public_buckets")),
        fix: Some(PUBLIC_ACCESS_FIX),
    },
];

// RDS and IAM ------------------------------------------------------------------------------

const DB_FIX: fn(&Fix<'_>) -> Option<Action> =
    |f| Some(call("rds:ModifyDBInstance", f.id, json!({f.attribute: f.expected_or_null(), "ApplyImmediately": true})));

const DB_INSTANCE: &[Attribute] = &[
    Attribute { path: "instance_class", declared: |a| text(a, &["instance_class"]), fix: None },
    Attribute { path: "publicly_accessible", declared: |a| boolean(a.get("publicly_accessible")), fix: Some(DB_FIX) },
    Attribute { path: "storage_encrypted", declared: |a| boolean(a.get("storage_encrypted")), fix: None },
    Attribute { path: "deletion_protection", declared: |a| boolean(a.get("deletion_protection")), fix: Some(DB_FIX) },
    Attribute {
        path: "backup_retention_period",
        declared: |a| number(a, &["backup_retention_period"]),
        fix: Some(DB_FIX),
    },
];

const ROLE: &[Attribute] = &[
    Attribute {
        path: "assume_role_policy",
        declared: |a| a.get("assume_role_policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
        fix: Some(|f| {
            let expected = f.expected_or_null();
            expected.is_object().then(|| call("iam:UpdateAssumeRolePolicy", f.id, json!({"PolicyDocument": expected})))
        }),
    },
    Attribute {
        path: "max_session_duration",
        declared: |a| number(a, &["max_session_duration"]),
        fix: Some(|f| {
            let expected = f.expected_or_null();
            expected.is_number().then(|| call("iam:UpdateRole", f.id, json!({"MaxSessionDuration": expected})))
        }),
    },
];

const POLICY: &[Attribute] = &[Attribute {
    path: "policy",
    declared: |a| a.get("policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
    fix: Some(|f| {
        let expected = f.expected_or_null();
        expected
            .is_object()
            .then(|| call("iam:CreatePolicyVersion", f.id, json!({"PolicyDocument": expected, "SetAsDefault": true})))
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
        scope: Scope::Account,
        identity: &["bucket", "id"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketLocation (when the listing gives no region)", "s3:GetBucketTagging"],
        tags: Some(TagCalls { add: "s3:PutBucketTagging", remove: "s3:PutBucketTagging" }),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsS3Bucket, order: 2 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_versioning",
        service: "s3",
        scope: Scope::Account,
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketVersioning"],
        attributes: VERSIONING,
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_server_side_encryption_configuration",
        service: "s3",
        scope: Scope::Account,
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketEncryption"],
        attributes: ENCRYPTION,
        ..AWS
    },
    Entry {
        resource_type: "aws_s3_bucket_public_access_block",
        service: "s3",
        scope: Scope::Account,
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
        tags: Some(TagCalls { add: "rds:AddTagsToResource", remove: "rds:RemoveTagsFromResource" }),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsDbInstance, order: 1 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_iam_role",
        service: "iam",
        scope: Scope::Account,
        identity: &["name", "id"],
        listing: Some(Listing::IamRoles),
        details: &["iam:GetRole (tags, session duration)"],
        attributes: ROLE,
        tags: Some(TagCalls { add: "iam:TagRole", remove: "iam:UntagRole" }),
        unmanaged: true,
        // Last: instances use roles through instance profiles.
        janitor: Some(JanitorRole { target: JanitorTarget::AwsIamRole, order: 4 }),
        ..AWS
    },
    Entry {
        resource_type: "aws_iam_policy",
        service: "iam",
        scope: Scope::Account,
        identity: &["arn", "id"],
        listing: Some(Listing::IamPolicies),
        details: &["iam:GetPolicyVersion (the default document)"],
        attributes: POLICY,
        unmanaged: true,
        ..AWS
    },
];
