//! RDS in the normal form: instances (Aurora cluster members as cluster instances),
//! clusters, subnet and parameter groups, and manual snapshots. AWS's own groups
//! and automated snapshots are listed only when a state declares them.

use driftguard_engine::drift::normalize::{insert_tags, string_set};
use driftguard_engine::drift::{Attributes, Normalized, Wanted};
use serde_json::Value;

use super::{next_page, normalized, text};
use crate::aws::AwsClient;
use crate::retry::CallError;

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
}

/// Names AWS gives the groups it makes.
fn aws_default(name: &str) -> bool {
    name == "default" || name.starts_with("default.") || name.starts_with("default:")
}

impl AwsClient {
    pub(super) async fn databases(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        for db in &self.all_databases().await? {
            let Some(id) = db.db_instance_identifier() else { continue };
            let mut a = Attributes::new();
            a.insert("instance_class".into(), text(db.db_instance_class()));
            a.insert("publicly_accessible".into(), Value::Bool(db.publicly_accessible().unwrap_or(false)));
            insert_tags(&mut a, rds_tags(db.tag_list()));
            if let Some(cluster) = db.db_cluster_identifier() {
                // Aurora: the cluster holds storage, backups and protection.
                a.insert("cluster_identifier".into(), Value::from(cluster));
                out.push(normalized("aws_rds_cluster_instance", id, a));
                continue;
            }
            a.insert("storage_encrypted".into(), Value::Bool(db.storage_encrypted().unwrap_or(false)));
            a.insert("deletion_protection".into(), Value::Bool(db.deletion_protection().unwrap_or(false)));
            a.insert("backup_retention_period".into(), Value::from(db.backup_retention_period()));
            out.push(normalized("aws_db_instance", id, a));
        }
        Ok(out)
    }

    pub(super) async fn db_clusters(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page =
                send!(self, "rds:DescribeDBClusters", self.rds().describe_db_clusters().set_marker(marker.clone()))?;
            for cluster in page.db_clusters() {
                let Some(id) = cluster.db_cluster_identifier() else { continue };
                let mut a = Attributes::new();
                a.insert("engine".into(), text(cluster.engine()));
                a.insert("storage_encrypted".into(), Value::Bool(cluster.storage_encrypted().unwrap_or(false)));
                a.insert("deletion_protection".into(), Value::Bool(cluster.deletion_protection().unwrap_or(false)));
                a.insert("backup_retention_period".into(), Value::from(cluster.backup_retention_period()));
                out.push(normalized("aws_rds_cluster", id, a));
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn db_subnet_groups(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBSubnetGroups",
                self.rds().describe_db_subnet_groups().set_marker(marker.clone())
            )?;
            for group in page.db_subnet_groups() {
                let Some(name) = group.db_subnet_group_name() else { continue };
                if aws_default(name) && !wanted.details("aws_db_subnet_group", name) {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("description".into(), text(group.db_subnet_group_description()));
                a.insert(
                    "subnet_ids".into(),
                    string_set(group.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_owned)),
                );
                out.push(normalized("aws_db_subnet_group", name, a));
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn db_parameter_groups(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBParameterGroups",
                self.rds().describe_db_parameter_groups().set_marker(marker.clone())
            )?;
            for group in page.db_parameter_groups() {
                let Some(name) = group.db_parameter_group_name() else { continue };
                let declared = wanted.details("aws_db_parameter_group", name);
                if aws_default(name) && !declared {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("family".into(), text(group.db_parameter_group_family()));
                a.insert("description".into(), text(group.description()));
                if declared {
                    for (parameter, value) in self.user_parameters(name).await? {
                        a.insert(format!("parameter.{}", parameter.to_ascii_lowercase()), Value::from(value));
                    }
                }
                out.push(normalized("aws_db_parameter_group", name, a));
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// The parameters set in a group (source `user`), by name.
    async fn user_parameters(&self, group: &str) -> Result<Vec<(String, String)>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBParameters",
                self.rds()
                    .describe_db_parameters()
                    .db_parameter_group_name(group)
                    .source("user")
                    .set_marker(marker.clone())
            )?;
            for parameter in page.parameters() {
                if let (Some(name), Some(value)) = (parameter.parameter_name(), parameter.parameter_value()) {
                    out.push((name.to_owned(), value.to_owned()));
                }
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn db_cluster_parameter_groups(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBClusterParameterGroups",
                self.rds().describe_db_cluster_parameter_groups().set_marker(marker.clone())
            )?;
            for group in page.db_cluster_parameter_groups() {
                let Some(name) = group.db_cluster_parameter_group_name() else { continue };
                let declared = wanted.details("aws_rds_cluster_parameter_group", name);
                if aws_default(name) && !declared {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("family".into(), text(group.db_parameter_group_family()));
                a.insert("description".into(), text(group.description()));
                if declared {
                    for (parameter, value) in self.user_cluster_parameters(name).await? {
                        a.insert(format!("parameter.{}", parameter.to_ascii_lowercase()), Value::from(value));
                    }
                }
                out.push(normalized("aws_rds_cluster_parameter_group", name, a));
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn user_cluster_parameters(&self, group: &str) -> Result<Vec<(String, String)>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBClusterParameters",
                self.rds()
                    .describe_db_cluster_parameters()
                    .db_cluster_parameter_group_name(group)
                    .source("user")
                    .set_marker(marker.clone())
            )?;
            for parameter in page.parameters() {
                if let (Some(name), Some(value)) = (parameter.parameter_name(), parameter.parameter_value()) {
                    out.push((name.to_owned(), value.to_owned()));
                }
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn db_snapshots(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBSnapshots",
                self.rds().describe_db_snapshots().snapshot_type("manual").set_marker(marker.clone())
            )?;
            for snapshot in page.db_snapshots() {
                let Some(id) = snapshot.db_snapshot_identifier() else { continue };
                let mut a = Attributes::new();
                a.insert("db_instance_identifier".into(), text(snapshot.db_instance_identifier()));
                a.insert("encrypted".into(), Value::Bool(snapshot.encrypted().unwrap_or(false)));
                if wanted.details("aws_db_snapshot", id) {
                    let read = send!(
                        self,
                        "rds:DescribeDBSnapshotAttributes",
                        self.rds().describe_db_snapshot_attributes().db_snapshot_identifier(id)
                    )?;
                    let shared = read
                        .db_snapshot_attributes_result()
                        .map(aws_sdk_rds::types::DbSnapshotAttributesResult::db_snapshot_attributes)
                        .unwrap_or_default()
                        .iter()
                        .filter(|attribute| attribute.attribute_name() == Some("restore"))
                        .flat_map(|attribute| attribute.attribute_values().iter().cloned());
                    a.insert("shared_accounts".into(), string_set(shared));
                }
                insert_tags(&mut a, rds_tags(snapshot.tag_list()));
                out.push(normalized("aws_db_snapshot", id, a));
            }
            marker = next_page(page.marker());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
}
