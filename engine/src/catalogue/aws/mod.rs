//! The AWS catalogue: one entry per Terraform type of the hashicorp/aws provider that
//! DriftGuard compares or deletes. Declared-side normalisers read a state instance's
//! attributes as provider v5 writes them (nested blocks as one-element lists, absent ≡
//! null ≡ the provider's default); the live collectors write the same paths with the same
//! helpers. Remediation builders return the one call that restores the declared value;
//! drift with no safe inverse (an instance's type or profile, a missing or unmanaged
//! resource) has none, and its flow escalates it.

mod iam;
mod network;
mod rds;
mod s3;

pub use iam::{oidc_url, saml_metadata};
pub use network::{EBS_DEFAULT_ID, ROUTE_TARGETS, acl_atom, route_atom};
pub use s3::{cors_rule, cors_rules, grant_atom, parse_grant_atom};

use serde_json::Value;

use super::{Attribute, Element, Entry, Fix, JanitorRole, Listing, PartOf, Shape, TagCall};
use crate::drift::normalize::{
    RuleParts, RuleSource, boolean, declared_rules, number, parse_rule_atom, protocol, standalone_rule_atom,
    string_set, strings, text,
};
use crate::drift::types::Normalized;
use crate::model::JanitorTarget;
use crate::model::Provider;
use crate::remediation::RemediationCall;
use crate::remediation::aws::{
    AwsCall, DbChange, Direction, GroupPair, InstanceChange, IpPermission, IpRange, Ipv6Range, PrefixListRef,
    RuleChange, Tag,
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
    Attribute { shape: Shape::Value, path: "instance_type", declared: |a| text(a, &["instance_type"]), fix: None },
    Attribute {
        shape: Shape::Value,
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
    Attribute {
        shape: Shape::Value,
        path: "iam_instance_profile",
        declared: |a| text(a, &["iam_instance_profile"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "disable_api_termination",
        declared: |a| boolean(a.get("disable_api_termination")),
        fix: Some(|f| {
            let change = InstanceChange::DisableApiTermination(expected_flag(f)?);
            Some(AwsCall::InstanceAttribute { instance_id: f.id.to_owned(), change }.into())
        }),
    },
    Attribute {
        shape: Shape::Value,
        path: "metadata_options.http_tokens",
        declared: |a| text(a, &["metadata_options", "http_tokens"]),
        fix: Some(|f| {
            let http_tokens = expected_text(f)?;
            Some(AwsCall::InstanceMetadataTokens { instance_id: f.id.to_owned(), http_tokens }.into())
        }),
    },
    Attribute {
        shape: Shape::Value,
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
    Attribute { shape: Shape::Value, path: "name", declared: |a| text(a, &["name"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "ingress",
        declared: |a| declared_rules(a, "ingress"),
        fix: Some(|f| rule_fix(f, Direction::Ingress)),
    },
    Attribute {
        shape: Shape::Set,
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

/// A standalone rule's atom in its group's set (the rule itself has an id and is listed).
fn rule_element(rule: &Normalized, attribute: &'static str) -> Vec<Element> {
    standalone_rule_atom(rule).map(|(parent, key)| Element { parent, attribute, key }).into_iter().collect()
}

fn ingress_rule_element(rule: &Normalized) -> Vec<Element> {
    rule_element(rule, "ingress")
}

fn egress_rule_element(rule: &Normalized) -> Vec<Element> {
    rule_element(rule, "egress")
}

const SECURITY_GROUP_RULE: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "security_group_id",
        declared: |a| text(a, &["security_group_id"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "cidr_ipv4", declared: |a| text(a, &["cidr_ipv4"]), fix: None },
    Attribute { shape: Shape::Value, path: "cidr_ipv6", declared: |a| text(a, &["cidr_ipv6"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "referenced_security_group_id",
        declared: |a| text(a, &["referenced_security_group_id"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "prefix_list_id", declared: |a| text(a, &["prefix_list_id"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "ip_protocol",
        declared: |a| a.get("ip_protocol").and_then(Value::as_str).map(protocol).map_or(Value::Null, Value::String),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "from_port", declared: |a| rule_port(a, "from_port"), fix: None },
    Attribute { shape: Shape::Value, path: "to_port", declared: |a| rule_port(a, "to_port"), fix: None },
];

// RDS ------------------------------------------------------------------------------

/// One setting per call, applied immediately (the declared value, when it is one).
fn db_fix(f: &Fix<'_>, change: Option<DbChange>) -> Option<RemediationCall> {
    Some(AwsCall::DbInstance { db_instance_id: f.id.to_owned(), change: change? }.into())
}

/// The declared setting of a database (instance or cluster) as the change that restores it.
fn db_change(f: &Fix<'_>, path: &str) -> Option<DbChange> {
    match path {
        "publicly_accessible" => expected_flag(f).map(DbChange::PubliclyAccessible),
        "deletion_protection" => expected_flag(f).map(DbChange::DeletionProtection),
        "backup_retention_period" => {
            let days = f.expected.and_then(Value::as_i64).and_then(|days| i32::try_from(days).ok());
            days.map(DbChange::BackupRetentionPeriod)
        }
        _ => None,
    }
}

/// The protection and backup settings instances and clusters share, each restored by
/// `fix` (the instance's or the cluster's call).
const fn db_safety_nets(fix: [fn(&Fix<'_>) -> Option<RemediationCall>; 2]) -> [Attribute; 3] {
    [
        Attribute {
            shape: Shape::Value,
            path: "storage_encrypted",
            declared: |a| boolean(a.get("storage_encrypted")),
            fix: None,
        },
        Attribute {
            shape: Shape::Value,
            path: "deletion_protection",
            declared: |a| boolean(a.get("deletion_protection")),
            fix: Some(fix[0]),
        },
        Attribute {
            shape: Shape::Value,
            path: "backup_retention_period",
            declared: |a| number(a, &["backup_retention_period"]),
            fix: Some(fix[1]),
        },
    ]
}

const DB_INSTANCE_NETS: [Attribute; 3] = db_safety_nets([
    |f| db_fix(f, db_change(f, "deletion_protection")),
    |f| db_fix(f, db_change(f, "backup_retention_period")),
]);

const DB_INSTANCE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "instance_class", declared: |a| text(a, &["instance_class"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "publicly_accessible",
        declared: |a| boolean(a.get("publicly_accessible")),
        fix: Some(|f| db_fix(f, db_change(f, "publicly_accessible"))),
    },
    DB_INSTANCE_NETS[0],
    DB_INSTANCE_NETS[1],
    DB_INSTANCE_NETS[2],
];

/// Every AWS type, compared or deleted.
static ENTRIES: &[Entry] = &[
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
        part_of: Some(PartOf { parent: "aws_security_group", elements: ingress_rule_element, through_parent: None }),
        tags: Some(EC2_TAGS),
        ..AWS
    },
    Entry {
        resource_type: "aws_vpc_security_group_egress_rule",
        service: "ec2",
        listing: Some(Listing::Ec2SecurityGroupRules),
        attributes: SECURITY_GROUP_RULE,
        part_of: Some(PartOf { parent: "aws_security_group", elements: egress_rule_element, through_parent: None }),
        tags: Some(EC2_TAGS),
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
];

/// Every AWS type, compared or deleted, service by service.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    ENTRIES.iter().chain(network::ENTRIES).chain(s3::ENTRIES).chain(rds::ENTRIES).chain(iam::ENTRIES)
}
