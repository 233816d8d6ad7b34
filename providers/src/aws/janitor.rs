//! The janitor's AWS adapter: S3 buckets, EC2 instances, RDS instances and IAM roles of
//! one account. Regional services are listed per region of the policy; S3 and IAM once
//! (buckets of the account's regions only). Deletion follows each service's dependencies.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use driftguard_engine::catalogue;
use driftguard_engine::identity::Verified;
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_engine::remediation::RemediationCall;
use driftguard_janitor::{Guard, Resource};

use crate::aws::AwsClient;
use crate::janitor::{CloudFuture, DeleteOptions, JanitorCloud, gone_is_done};
use crate::retry::CallError;

/// One verified AWS account: a client per region of the policy; the first also serves S3
/// and IAM.
#[derive(Debug, Clone)]
pub struct AwsCloud {
    account: String,
    principal: Option<String>,
    regions: Vec<AwsClient>,
    /// Read termination protection of instances whose name has this prefix (the only
    /// ones that can be candidates), so that a protected one is blocked at selection.
    /// `None` when the policy lifts protection anyway: no read is needed.
    termination_reads: Option<String>,
}

fn time(value: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    value.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// Who owns an instance that another service launched and would replace: an Auto Scaling
/// group, an EKS node group, a Spot fleet or request.
fn instance_owner(instance: &aws_sdk_ec2::types::Instance, tags: &BTreeMap<String, String>) -> Option<String> {
    if let Some(group) = tags.get("aws:autoscaling:groupName") {
        return Some(format!("Auto Scaling group {group}"));
    }
    if let Some((_, group)) = tags.iter().find(|(k, _)| k.starts_with("eks:")) {
        return Some(format!("EKS node group {group}"));
    }
    if let Some(fleet) = tags.get("aws:ec2spot:fleet-request-id") {
        return Some(format!("Spot fleet {fleet}"));
    }
    if tags.keys().any(|k| k.starts_with("aws:ec2spot:"))
        || instance.instance_lifecycle().is_some_and(|l| l.as_str() == "spot")
    {
        return Some("a Spot request".to_owned());
    }
    None
}

fn resource(
    account: &str,
    region: &str,
    resource_type: JanitorTarget,
    id: &str,
    name: &str,
    tags: BTreeMap<String, String>,
    created_at: Option<DateTime<Utc>>,
) -> Resource {
    Resource {
        provider: Provider::Aws,
        account: account.to_owned(),
        region: region.to_owned(),
        resource_type,
        id: id.to_owned(),
        name: name.to_owned(),
        tags,
        created_at,
        managed: false,
        guards: Vec::new(),
    }
}

/// Waits with growing pauses (0.1 s doubling to 5 s, about 4 minutes in all) until
/// `done` says so; the cloud finishes terminations in its own time.
async fn wait_until<F, Fut>(operation: &str, mut done: F) -> Result<(), CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, CallError>>,
{
    let mut pause = Duration::from_millis(100);
    for _ in 0..60 {
        if done().await? {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    Err(CallError { transient: true, ..CallError::local(operation, "still not gone after waiting about 4 minutes") })
}

/// The next marker of an IAM listing (`Marker` + `IsTruncated` paging).
fn next_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    if truncated { marker.map(str::to_owned) } else { None }
}

/// Every item of an IAM listing: `page(marker)` returns one page's items and the next marker.
async fn iam_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), CallError>>,
{
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let (items, next) = page(marker).await?;
        out.extend(items);
        match next {
            Some(next) => marker = Some(next),
            None => return Ok(out),
        }
    }
}

impl AwsCloud {
    /// A verified account with one client per region; `regions` must not be empty.
    pub fn new(account: &Verified, regions: Vec<AwsClient>) -> Self {
        Self {
            account: account.account().to_owned(),
            principal: account.principal().map(str::to_owned),
            regions,
            termination_reads: None,
        }
    }

    /// Reads instances' termination protection for names with `prefix` while listing.
    #[must_use]
    pub fn reading_termination_protection(mut self, prefix: Option<String>) -> Self {
        self.termination_reads = prefix;
        self
    }

    fn home(&self) -> &AwsClient {
        &self.regions[0]
    }

    fn client(&self, region: &str) -> &AwsClient {
        self.regions.iter().find(|aws| aws.region == region).unwrap_or_else(|| self.home())
    }

    fn region_names(&self) -> Vec<String> {
        self.regions.iter().map(|aws| aws.region.clone()).collect()
    }

    /// Tag calls are the catalogue's, made by the remediation executor: one implementation
    /// of each tag API.
    async fn tag_call(&self, resource: &Resource, key: &str, value: Option<&str>) -> Result<(), CallError> {
        let aws = self.client(&resource.region);
        let Some(call) = catalogue::janitor_entry(resource.resource_type).and_then(|entry| entry.tags) else {
            return Err(CallError::local("tag", format!("{} has no tag call", resource.resource_type.as_str())));
        };
        match call(&resource.id, key, value) {
            RemediationCall::Aws(call) => crate::aws::execute::execute(aws, &call).await,
        }
    }
}

impl AwsClient {
    async fn janitor_buckets(&self, account: &str, regions: &[String]) -> Result<Vec<Resource>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(self, "s3:ListBuckets", self.s3().list_buckets().set_continuation_token(token.clone()))?;
            for bucket in page.buckets() {
                let Some(name) = bucket.name() else { continue };
                let region = match bucket.bucket_region() {
                    Some(region) if !region.is_empty() => region.to_owned(),
                    _ => match self.bucket_region(name).await {
                        Ok(region) => region,
                        // Deleted between the listing and now.
                        Err(error) if error.is_not_found() => continue,
                        Err(error) => return Err(error),
                    },
                };
                if !regions.contains(&region) {
                    continue;
                }
                let s3 = self.s3_in(&region);
                let tags = match send!(self, "s3:GetBucketTagging", s3.get_bucket_tagging().bucket(name)) {
                    Ok(output) => output.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
                    Err(error) if error.code == "NoSuchTagSet" => BTreeMap::new(),
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error),
                };
                out.push(resource(
                    account,
                    &region,
                    JanitorTarget::AwsS3Bucket,
                    name,
                    name,
                    tags,
                    time(bucket.creation_date()),
                ));
            }
            token = page.continuation_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn janitor_instances(
        &self,
        account: &str,
        termination_reads: Option<&str>,
    ) -> Result<Vec<Resource>, CallError> {
        let mut out = Vec::new();
        for instance in &self.live_instances().await? {
            let Some(id) = instance.instance_id() else { continue };
            let tags: BTreeMap<String, String> = instance
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            // The prefix applies to the Name tag: an instance without one is never a candidate.
            let name = tags.get("Name").cloned().unwrap_or_default();
            let owner = instance_owner(instance, &tags);
            let mut listed = resource(
                account,
                &self.region,
                JanitorTarget::AwsInstance,
                id,
                &name,
                tags,
                time(instance.launch_time()),
            );
            // Instances another service owns come back when deleted (and their owner may
            // be managed by Terraform under another type): never the janitor's to delete
            // one by one. Listed with the owner, so the block is a recorded decision.
            if let Some(owner) = owner {
                listed.guards.push(Guard::OwnedBy { owner });
            } else if termination_reads.is_some_and(|prefix| name.starts_with(prefix))
                && self.still_termination_protected(id).await?
            {
                listed.guards.push(Guard::TerminationProtection);
            }
            out.push(listed);
        }
        Ok(out)
    }

    /// Termination protection, where a terminated instance has none to guard.
    async fn still_termination_protected(&self, id: &str) -> Result<bool, CallError> {
        match self.termination_protected(id).await {
            // Terminated between the listing and now: nothing to guard.
            Err(error) if error.is_not_found() => Ok(false),
            answer => answer,
        }
    }

    async fn janitor_databases(&self, account: &str) -> Result<Vec<Resource>, CallError> {
        let mut out = Vec::new();
        for db in &self.all_databases().await? {
            let Some(id) = db.db_instance_identifier() else { continue };
            // On its way out: nothing left to decide.
            if db.db_instance_status() == Some("deleting") {
                continue;
            }
            let tags = db
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect();
            let mut listed = resource(
                account,
                &self.region,
                JanitorTarget::AwsDbInstance,
                id,
                id,
                tags,
                time(db.instance_create_time()),
            );
            // A member of an Aurora cluster: the cluster owns it (a Terraform
            // aws_rds_cluster_instance manages it under another type).
            if let Some(cluster) = db.db_cluster_identifier() {
                listed.guards.push(Guard::OwnedBy { owner: format!("Aurora cluster {cluster}") });
            }
            if db.deletion_protection() == Some(true) {
                listed.guards.push(Guard::DeletionProtection);
            }
            out.push(listed);
        }
        Ok(out)
    }

    async fn janitor_roles(&self, account: &str) -> Result<Vec<Resource>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(self, "iam:ListRoles", self.iam().list_roles().set_marker(marker.clone()).max_items(100))?;
            for role in page.roles() {
                // Service-linked roles belong to AWS services and cannot be deleted directly.
                if role.path().starts_with("/aws-service-role/") {
                    continue;
                }
                let name = role.role_name();
                let full = match send!(self, "iam:GetRole", self.iam().get_role().role_name(name)) {
                    Ok(full) => full,
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error),
                };
                let role = full.role().unwrap_or(role);
                let tags = role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                out.push(resource(
                    account,
                    "global",
                    JanitorTarget::AwsIamRole,
                    name,
                    name,
                    tags,
                    time(Some(role.create_date())),
                ));
            }
            marker = if page.is_truncated() { page.marker().map(str::to_owned) } else { None };
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn delete_bucket(&self, resource: &Resource) -> Result<(), CallError> {
        let s3 = self.s3_in(&resource.region);
        let bucket = resource.id.as_str();
        // Every object version and delete marker first: a bucket must be empty to go.
        loop {
            let listing =
                send!(self, "s3:ListObjectVersions", s3.list_object_versions().bucket(bucket).max_keys(1000))?;
            let mut objects = Vec::new();
            for (key, version) in listing
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(listing.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            {
                let Some(key) = key else { continue };
                let object = aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .map_err(|error| CallError::local("s3:DeleteObjects", error.to_string()))?;
                objects.push(object);
            }
            if objects.is_empty() {
                break;
            }
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|error| CallError::local("s3:DeleteObjects", error.to_string()))?;
            let result = send!(self, "s3:DeleteObjects", s3.delete_objects().bucket(bucket).delete(delete.clone()))?;
            if let Some(error) = result.errors().first() {
                return Err(CallError::local(
                    "s3:DeleteObjects",
                    format!(
                        "{} of the objects could not be deleted, first {:?}: {}",
                        result.errors().len(),
                        error.key().unwrap_or_default(),
                        error.message().unwrap_or_default()
                    ),
                ));
            }
        }
        send!(self, "s3:DeleteBucket", s3.delete_bucket().bucket(bucket))?;
        Ok(())
    }

    async fn delete_instance(&self, resource: &Resource, options: &DeleteOptions) -> Result<(), CallError> {
        let id = resource.id.as_str();
        // Read again right before terminating: protection switched on since the listing wins.
        if self.still_termination_protected(id).await? {
            if !options.ec2_disable_termination_protection {
                return Err(CallError::local(
                    "ec2:TerminateInstances",
                    "termination protection is on and the policy does not allow lifting it \
                     (janitor.ec2_disable_termination_protection)",
                ));
            }
            let off = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build();
            send!(
                self,
                "ec2:ModifyInstanceAttribute",
                self.ec2().modify_instance_attribute().instance_id(id).disable_api_termination(off)
            )?;
        }
        send!(self, "ec2:TerminateInstances", self.ec2().terminate_instances().instance_ids(id))?;
        wait_until("ec2:DescribeInstances", || async {
            match send!(self, "ec2:DescribeInstances", self.ec2().describe_instances().instance_ids(id)) {
                Ok(page) => Ok(page
                    .reservations()
                    .iter()
                    .flat_map(aws_sdk_ec2::types::Reservation::instances)
                    .all(|i| i.state().and_then(|s| s.name()).is_some_and(|n| n.as_str() == "terminated"))),
                Err(error) if error.is_not_found() => Ok(true),
                Err(error) => Err(error),
            }
        })
        .await
    }

    async fn delete_database(&self, resource: &Resource, options: &DeleteOptions) -> Result<(), CallError> {
        let id = resource.id.as_str();
        let described =
            send!(self, "rds:DescribeDBInstances", self.rds().describe_db_instances().db_instance_identifier(id))?;
        let protected = described
            .db_instances()
            .first()
            .and_then(aws_sdk_rds::types::DbInstance::deletion_protection)
            .unwrap_or(false);
        if protected {
            if !options.rds_disable_deletion_protection {
                return Err(CallError::local(
                    "rds:DeleteDBInstance",
                    "deletion protection is on and the policy does not allow lifting it \
                     (janitor.rds_disable_deletion_protection)",
                ));
            }
            send!(
                self,
                "rds:ModifyDBInstance",
                self.rds()
                    .modify_db_instance()
                    .db_instance_identifier(id)
                    .deletion_protection(false)
                    .apply_immediately(true)
            )?;
        }
        let mut request = self.rds().delete_db_instance().db_instance_identifier(id);
        request = if options.rds_skip_final_snapshot {
            request.skip_final_snapshot(true)
        } else {
            let snapshot = format!("{id}-driftguard-final-{}", Utc::now().format("%Y%m%d%H%M%S"));
            request.skip_final_snapshot(false).final_db_snapshot_identifier(snapshot)
        };
        match send!(self, "rds:DeleteDBInstance", request) {
            Ok(_) => Ok(()),
            // A retry after a lost answer finds the deletion already under way: done.
            Err(error) if error.code == "InvalidDBInstanceState" => {
                let now = send!(
                    self,
                    "rds:DescribeDBInstances",
                    self.rds().describe_db_instances().db_instance_identifier(id)
                );
                match now {
                    Ok(page) if page.db_instances().iter().all(|db| db.db_instance_status() == Some("deleting")) => {
                        Ok(())
                    }
                    Err(gone) if gone.is_not_found() => Ok(()),
                    _ => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn delete_role(&self, resource: &Resource) -> Result<(), CallError> {
        let role = resource.id.as_str();
        // Each listing is read whole before anything is removed: deleting while following
        // markers could skip entries.
        let attached = iam_pages(|marker| async move {
            let page = send!(
                self,
                "iam:ListAttachedRolePolicies",
                self.iam().list_attached_role_policies().role_name(role).set_marker(marker)
            )?;
            let arns = page.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect();
            Ok((arns, next_marker(page.is_truncated(), page.marker())))
        })
        .await?;
        for arn in &attached {
            let detached =
                send!(self, "iam:DetachRolePolicy", self.iam().detach_role_policy().role_name(role).policy_arn(arn));
            gone_is_done(detached.map(|_| ()))?;
        }
        let inline = iam_pages(|marker| async move {
            let page = send!(
                self,
                "iam:ListRolePolicies",
                self.iam().list_role_policies().role_name(role).set_marker(marker)
            )?;
            Ok((page.policy_names().to_vec(), next_marker(page.is_truncated(), page.marker())))
        })
        .await?;
        for name in &inline {
            let deleted =
                send!(self, "iam:DeleteRolePolicy", self.iam().delete_role_policy().role_name(role).policy_name(name));
            gone_is_done(deleted.map(|_| ()))?;
        }
        let profiles = iam_pages(|marker| async move {
            let page = send!(
                self,
                "iam:ListInstanceProfilesForRole",
                self.iam().list_instance_profiles_for_role().role_name(role).set_marker(marker)
            )?;
            let names = page.instance_profiles().iter().map(|p| p.instance_profile_name().to_owned()).collect();
            Ok((names, next_marker(page.is_truncated(), page.marker())))
        })
        .await?;
        for profile in &profiles {
            let removed = send!(
                self,
                "iam:RemoveRoleFromInstanceProfile",
                self.iam().remove_role_from_instance_profile().instance_profile_name(profile).role_name(role)
            );
            gone_is_done(removed.map(|_| ()))?;
        }
        send!(self, "iam:DeleteRole", self.iam().delete_role().role_name(role))?;
        Ok(())
    }

    async fn still_exists(&self, resource: &Resource) -> Result<bool, CallError> {
        let id = resource.id.as_str();
        let result = match resource.resource_type {
            JanitorTarget::AwsS3Bucket => {
                send!(self, "s3:HeadBucket", self.s3_in(&resource.region).head_bucket().bucket(id)).map(|_| true)
            }
            JanitorTarget::AwsInstance => {
                send!(self, "ec2:DescribeInstances", self.ec2().describe_instances().instance_ids(id)).map(|page| {
                    page.reservations().iter().flat_map(aws_sdk_ec2::types::Reservation::instances).any(|i| {
                        i.state()
                            .and_then(|s| s.name())
                            .is_some_and(|n| n.as_str() != "terminated" && n.as_str() != "shutting-down")
                    })
                })
            }
            JanitorTarget::AwsDbInstance => {
                send!(self, "rds:DescribeDBInstances", self.rds().describe_db_instances().db_instance_identifier(id))
                    .map(|page| page.db_instances().iter().any(|db| db.db_instance_status() != Some("deleting")))
            }
            JanitorTarget::AwsIamRole => send!(self, "iam:GetRole", self.iam().get_role().role_name(id)).map(|_| true),
            other => return Err(CallError::local("exists", format!("{} is not an AWS type", other.as_str()))),
        };
        match result {
            Err(error) if error.is_not_found() || error.code == "NotFound" || error.code == "404" => Ok(false),
            other => other,
        }
    }
}

impl JanitorCloud for AwsCloud {
    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn account(&self) -> &str {
        &self.account
    }

    fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let home = self.home();
            if targets.contains(&JanitorTarget::AwsS3Bucket) {
                out.extend(home.janitor_buckets(&self.account, &self.region_names()).await?);
            }
            if targets.contains(&JanitorTarget::AwsIamRole) {
                out.extend(home.janitor_roles(&self.account).await?);
            }
            for aws in &self.regions {
                if targets.contains(&JanitorTarget::AwsInstance) {
                    out.extend(aws.janitor_instances(&self.account, self.termination_reads.as_deref()).await?);
                }
                if targets.contains(&JanitorTarget::AwsDbInstance) {
                    out.extend(aws.janitor_databases(&self.account).await?);
                }
            }
            Ok(out)
        })
    }

    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(self.tag_call(resource, key, Some(value)))
    }

    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        Box::pin(self.tag_call(resource, key, None))
    }

    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        Box::pin(async move {
            let aws = if resource.resource_type == JanitorTarget::AwsIamRole {
                self.home()
            } else {
                self.client(&resource.region)
            };
            aws.still_exists(resource).await
        })
    }

    fn delete<'a>(&'a self, resource: &'a Resource, options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        Box::pin(async move {
            let aws = if resource.resource_type == JanitorTarget::AwsIamRole {
                self.home()
            } else {
                self.client(&resource.region)
            };
            let result = match resource.resource_type {
                JanitorTarget::AwsS3Bucket => aws.delete_bucket(resource).await,
                JanitorTarget::AwsInstance => aws.delete_instance(resource, options).await,
                JanitorTarget::AwsDbInstance => aws.delete_database(resource, options).await,
                JanitorTarget::AwsIamRole => aws.delete_role(resource).await,
                other => Err(CallError::local("delete", format!("{} is not an AWS type", other.as_str()))),
            };
            gone_is_done(result)
        })
    }
}
