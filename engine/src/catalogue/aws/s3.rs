//! S3: buckets and the configuration types the provider splits off them (v4+), each
//! compared for the buckets a state declares it for, and restored by one call where a
//! safe one exists.

use serde_json::Value;

use super::{Attribute, Entry, Fix, JanitorRole, Listing, Shape, expected_flag, expected_text, tag};
use crate::drift::normalize::{boolean, get, policy_document, scalar, string_set, strings, text};
use crate::model::{JanitorTarget, Provider};
use crate::remediation::RemediationCall;
use crate::remediation::aws::{AwsCall, EncryptionSetting, LoggingSetting, PublicAccessFlag};

/// What every entry of this file shares: a configuration type is named by its bucket.
const S3: Entry = Entry { service: "s3", ..Entry::blank(Provider::Aws, &["bucket", "id"]) };

const VERSIONING: &[Attribute] = &[Attribute {
    shape: Shape::Value,
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
        shape: Shape::Value,
        path: "rule.sse_algorithm",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "sse_algorithm"]),
        fix: Some(|f| encryption_fix(f, EncryptionSetting::SseAlgorithm)),
    },
    Attribute {
        shape: Shape::Value,
        path: "rule.kms_master_key_id",
        declared: |a| text(a, &["rule", "apply_server_side_encryption_by_default", "kms_master_key_id"]),
        fix: Some(|f| encryption_fix(f, EncryptionSetting::KmsMasterKeyId)),
    },
    Attribute {
        shape: Shape::Value,
        path: "rule.bucket_key_enabled",
        declared: |a| boolean(get(a, &["rule", "bucket_key_enabled"])),
        fix: None,
    },
];

/// Each flag is one call that writes the whole block (the executor keeps the other flags).
fn public_access_fix(f: &Fix<'_>, flag: PublicAccessFlag) -> Option<RemediationCall> {
    Some(AwsCall::BucketPublicAccess { bucket: f.id.to_owned(), flag, value: expected_flag(f)? }.into())
}

const PUBLIC_ACCESS_BLOCK: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "block_public_acls",
        declared: |a| boolean(a.get("block_public_acls")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::BlockPublicAcls)),
    },
    Attribute {
        shape: Shape::Value,
        path: "block_public_policy",
        declared: |a| boolean(a.get("block_public_policy")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::BlockPublicPolicy)),
    },
    Attribute {
        shape: Shape::Value,
        path: "ignore_public_acls",
        declared: |a| boolean(a.get("ignore_public_acls")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::IgnorePublicAcls)),
    },
    Attribute {
        shape: Shape::Value,
        path: "restrict_public_buckets",
        declared: |a| boolean(a.get("restrict_public_buckets")),
        fix: Some(|f| public_access_fix(f, PublicAccessFlag::RestrictPublicBuckets)),
    },
];

const BUCKET_POLICY: &[Attribute] = &[Attribute {
    shape: Shape::Value,
    path: "policy",
    declared: |a| a.get("policy").and_then(Value::as_str).map_or(Value::Null, policy_document),
    fix: Some(|f| {
        let document = f.expected.filter(|document| document.is_object())?.clone();
        Some(AwsCall::BucketPolicy { bucket: f.id.to_owned(), document }.into())
    }),
}];

const OWNERSHIP_CONTROLS: &[Attribute] = &[Attribute {
    shape: Shape::Value,
    path: "rule.object_ownership",
    declared: |a| text(a, &["rule", "object_ownership"]),
    fix: Some(|f| Some(AwsCall::BucketOwnership { bucket: f.id.to_owned(), ownership: expected_text(f)? }.into())),
}];

const LOGGING: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "target_bucket",
        declared: |a| text(a, &["target_bucket"]),
        fix: Some(|f| {
            let setting = LoggingSetting::TargetBucket(expected_text(f)?);
            Some(AwsCall::BucketLogging { bucket: f.id.to_owned(), setting }.into())
        }),
    },
    Attribute {
        shape: Shape::Value,
        path: "target_prefix",
        declared: |a| text(a, &["target_prefix"]),
        fix: Some(|f| {
            let setting =
                LoggingSetting::TargetPrefix(f.expected.and_then(Value::as_str).unwrap_or_default().to_owned());
            Some(AwsCall::BucketLogging { bucket: f.id.to_owned(), setting }.into())
        }),
    },
];

/// One CORS rule in normal form (both sides build it here): lists as sets, absent as null.
pub fn cors_rule(
    id: Option<&str>,
    headers: &[String],
    methods: &[String],
    origins: &[String],
    expose: &[String],
    max_age: Option<i64>,
) -> Value {
    let set = |items: &[String]| string_set(items.iter().cloned());
    serde_json::json!({
        "id": scalar(Value::from(id.map(str::to_owned))),
        "allowed_headers": set(headers),
        "allowed_methods": set(methods),
        "allowed_origins": set(origins),
        "expose_headers": set(expose),
        "max_age_seconds": max_age.filter(|age| *age != 0).map_or(Value::Null, Value::from),
    })
}

/// The rules of a configuration, in a stable order (S3 keeps the order, which matters
/// only among rules matching the same request; a reorder is not drift here).
pub fn cors_rules(mut rules: Vec<Value>) -> Value {
    rules.sort_by_key(ToString::to_string);
    scalar(Value::Array(rules))
}

const CORS: &[Attribute] = &[Attribute {
    shape: Shape::Value,
    path: "cors_rule",
    declared: |a| {
        let rules = a.get("cors_rule").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        cors_rules(
            rules
                .iter()
                .map(|rule| {
                    let list = |key: &str| strings(rule.get(key));
                    cors_rule(
                        rule.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()),
                        &list("allowed_headers"),
                        &list("allowed_methods"),
                        &list("allowed_origins"),
                        &list("expose_headers"),
                        rule.get("max_age_seconds").and_then(Value::as_i64),
                    )
                })
                .collect(),
        )
    },
    fix: None,
}];

const WEBSITE: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "index_document.suffix",
        declared: |a| text(a, &["index_document", "suffix"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "error_document.key",
        declared: |a| text(a, &["error_document", "key"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "redirect_all_requests_to.host_name",
        declared: |a| text(a, &["redirect_all_requests_to", "host_name"]),
        fix: None,
    },
];

/// One grant as an atom: `PERMISSION TYPE:GRANTEE` (`READ Group:http://acs.amazonaws.com/
/// groups/global/AllUsers`), the grantee being the canonical id, group URI or email.
pub fn grant_atom(permission: &str, grantee_type: &str, id: &str, uri: &str, email: &str) -> String {
    let grantee = [id, uri, email].into_iter().find(|value| !value.is_empty()).unwrap_or_default();
    format!("{permission} {grantee_type}:{grantee}")
}

/// A grant atom's parts: (permission, type, grantee).
pub fn parse_grant_atom(atom: &str) -> Option<(&str, &str, &str)> {
    let (permission, grantee) = atom.split_once(' ')?;
    let (grantee_type, value) = grantee.split_once(':')?;
    Some((permission, grantee_type, value))
}

const ACL: &[Attribute] = &[Attribute {
    shape: Shape::Set,
    path: "access_control_policy.grant",
    declared: |a| {
        // Every grant (`get` would take a one-grant list for the grant itself).
        let policy = a.get("access_control_policy").and_then(Value::as_array).and_then(|blocks| blocks.first());
        let grants = policy.and_then(|p| p.get("grant")).and_then(Value::as_array).cloned().unwrap_or_default();
        string_set(grants.iter().filter_map(|grant| {
            let grantee = get(grant, &["grantee"])?;
            let field = |key: &str| grantee.get(key).and_then(Value::as_str).unwrap_or_default();
            Some(grant_atom(
                grant.get("permission")?.as_str()?,
                field("type"),
                field("id"),
                field("uri"),
                field("email_address"),
            ))
        }))
    },
    fix: Some(|f| {
        let (grant, add) = match (f.expected, f.actual) {
            (None, Some(Value::String(atom))) => (atom, false),
            (Some(Value::String(atom)), None) => (atom, true),
            _ => return None,
        };
        parse_grant_atom(grant)?;
        Some(AwsCall::BucketAclGrant { bucket: f.id.to_owned(), grant: grant.clone(), add }.into())
    }),
}];

/// Every S3 type.
pub(super) static ENTRIES: &[Entry] = &[
    Entry {
        resource_type: "aws_s3_bucket",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketLocation (when the listing gives no region)", "s3:GetBucketTagging"],
        tags: Some(|id, key, value| AwsCall::BucketTag { bucket: id.to_owned(), tag: tag(key, value) }.into()),
        unmanaged: true,
        janitor: Some(JanitorRole { target: JanitorTarget::AwsS3Bucket, order: 2 }),
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_versioning",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketVersioning"],
        attributes: VERSIONING,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_server_side_encryption_configuration",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketEncryption"],
        attributes: ENCRYPTION,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_public_access_block",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetPublicAccessBlock"],
        attributes: PUBLIC_ACCESS_BLOCK,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_acl",
        // The provider's id is `BUCKET[,OWNER][,ACL]`: the bucket names it.
        identity: &["bucket"],
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketAcl"],
        attributes: ACL,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_policy",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketPolicy"],
        attributes: BUCKET_POLICY,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_ownership_controls",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketOwnershipControls"],
        attributes: OWNERSHIP_CONTROLS,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_logging",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketLogging"],
        attributes: LOGGING,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_cors_configuration",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketCors"],
        attributes: CORS,
        ..S3
    },
    Entry {
        resource_type: "aws_s3_bucket_website_configuration",
        listing: Some(Listing::S3Buckets),
        details: &["s3:GetBucketWebsite"],
        attributes: WEBSITE,
        ..S3
    },
];
