//! RDS beyond single instances: Aurora clusters and their instances, subnet and
//! parameter groups (instance and cluster), and manual snapshots with whom they are shared. AWS's own groups
//! (`default`, `default.*`, `default:*`) and automated snapshots are listed only when a
//! state declares them.

use serde_json::Value;

use super::{Attribute, Entry, Fix, Listing, Shape, db_change, db_safety_nets, tag};
use crate::drift::normalize::{boolean, scalar, string_set, strings, text};
use crate::model::Provider;
use crate::remediation::RemediationCall;
use crate::remediation::aws::{AwsCall, DbChange};

/// What every entry of this file shares.
const RDS: Entry = Entry { service: "rds", unmanaged: true, ..Entry::blank(Provider::Aws, &["name", "id"]) };

fn cluster_fix(f: &Fix<'_>, change: Option<DbChange>) -> Option<RemediationCall> {
    Some(AwsCall::DbCluster { cluster_id: f.id.to_owned(), change: change? }.into())
}

const CLUSTER_NETS: [Attribute; 3] = db_safety_nets([
    |f| cluster_fix(f, db_change(f, "deletion_protection")),
    |f| cluster_fix(f, db_change(f, "backup_retention_period")),
]);

const CLUSTER: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "engine", declared: |a| text(a, &["engine"]), fix: None },
    CLUSTER_NETS[0],
    CLUSTER_NETS[1],
    CLUSTER_NETS[2],
];

const CLUSTER_INSTANCE: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "cluster_identifier",
        declared: |a| text(a, &["cluster_identifier"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "instance_class", declared: |a| text(a, &["instance_class"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "publicly_accessible",
        declared: |a| boolean(a.get("publicly_accessible")),
        fix: Some(|f| {
            let change = db_change(f, "publicly_accessible")?;
            Some(AwsCall::DbInstance { db_instance_id: f.id.to_owned(), change }.into())
        }),
    },
];

const SUBNET_GROUP: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "description", declared: |a| text(a, &["description"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "subnet_ids",
        declared: |a| string_set(strings(a.get("subnet_ids"))),
        fix: None,
    },
];

/// A parameter group's parameters as a map: name to value (the API's text).
fn declared_parameters(a: &Value) -> Value {
    let blocks = a.get("parameter").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let map: serde_json::Map<String, Value> = blocks
        .iter()
        // The provider writes names lowercased; the API answers `TimeZone`.
        .filter_map(|p| Some((p.get("name")?.as_str()?.to_ascii_lowercase(), p.get("value")?.clone())))
        .map(|(name, value)| (name, Value::from(value.as_str().map_or_else(|| value.to_string(), str::to_owned))))
        .collect();
    scalar(Value::Object(map))
}

/// The declared value written back, or a parameter set outside Terraform reset.
fn parameter_fix(f: &Fix<'_>, cluster: bool) -> Option<RemediationCall> {
    let value = f.expected.and_then(Value::as_str).map(str::to_owned);
    if f.expected.is_some() && value.is_none() {
        return None;
    }
    Some(AwsCall::DbParameter { cluster, group: f.id.to_owned(), name: f.key?.to_owned(), value }.into())
}

/// A parameter group's attributes; `fix` restores one parameter (instance or cluster group).
const fn parameter_group(fix: fn(&Fix<'_>) -> Option<RemediationCall>) -> [Attribute; 3] {
    [
        Attribute { shape: Shape::Value, path: "family", declared: |a| text(a, &["family"]), fix: None },
        Attribute { shape: Shape::Value, path: "description", declared: |a| text(a, &["description"]), fix: None },
        Attribute { shape: Shape::Map, path: "parameter", declared: declared_parameters, fix: Some(fix) },
    ]
}

const PARAMETER_GROUP: &[Attribute] = &parameter_group(|f| parameter_fix(f, false));
const CLUSTER_PARAMETER_GROUP: &[Attribute] = &parameter_group(|f| parameter_fix(f, true));

const SNAPSHOT: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "db_instance_identifier",
        declared: |a| text(a, &["db_instance_identifier"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "encrypted", declared: |a| boolean(a.get("encrypted")), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "shared_accounts",
        declared: |a| string_set(strings(a.get("shared_accounts"))),
        // Shared outside Terraform (`all`: public): unshared; a declared share restored.
        fix: Some(|f| {
            let (account, add) = match (f.expected, f.actual) {
                (None, Some(Value::String(account))) => (account, false),
                (Some(Value::String(account)), None) => (account, true),
                _ => return None,
            };
            Some(AwsCall::SnapshotRestore { snapshot_id: f.id.to_owned(), account: account.clone(), add }.into())
        }),
    },
];

/// Every RDS type beyond `aws_db_instance`.
pub(super) static ENTRIES: &[Entry] = &[
    Entry {
        resource_type: "aws_rds_cluster",
        identity: &["cluster_identifier", "id"],
        listing: Some(Listing::RdsDbClusters),
        attributes: CLUSTER,
        ..RDS
    },
    Entry {
        resource_type: "aws_rds_cluster_instance",
        identity: &["identifier", "id"],
        listing: Some(Listing::RdsDbInstances),
        attributes: CLUSTER_INSTANCE,
        tags: Some(|id, key, value| AwsCall::DbTag { db_instance_id: id.to_owned(), tag: tag(key, value) }.into()),
        ..RDS
    },
    Entry {
        resource_type: "aws_db_subnet_group",
        listing: Some(Listing::RdsDbSubnetGroups),
        attributes: SUBNET_GROUP,
        ..RDS
    },
    Entry {
        resource_type: "aws_db_parameter_group",
        listing: Some(Listing::RdsDbParameterGroups),
        details: &["rds:DescribeDBParameters (user-set parameters, declared groups)"],
        attributes: PARAMETER_GROUP,
        ..RDS
    },
    // aws_db_option_group is not here: moto 5.2.5 answers an unfiltered
    // DescribeOptionGroups with HTTP 500, so no listing of it can be proven.
    Entry {
        resource_type: "aws_rds_cluster_parameter_group",
        listing: Some(Listing::RdsDbClusterParameterGroups),
        details: &["rds:DescribeDBClusterParameters (user-set parameters, declared groups)"],
        attributes: CLUSTER_PARAMETER_GROUP,
        ..RDS
    },
    Entry {
        resource_type: "aws_db_snapshot",
        identity: &["db_snapshot_identifier", "id"],
        listing: Some(Listing::RdsDbSnapshots),
        details: &["rds:DescribeDBSnapshotAttributes (restore, declared snapshots)"],
        attributes: SNAPSHOT,
        ..RDS
    },
];
