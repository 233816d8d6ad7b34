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

use crate::aws::{AwsClient, ListedBucket, in_order};
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
    /// ones that can be candidates) when they are refreshed, so that a protected one is
    /// blocked at selection. `None` when the policy lifts protection anyway: no read is
    /// needed.
    termination_reads: Option<String>,
    /// The policy's name prefix: the listing reads the tags of these names only (no other
    /// is ever touched). `None`: every name's.
    names: Option<String>,
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

/// The indexes of the EC2 instances among `resources` that live in `region`, and the
/// instances.
fn instances_in<'r>(resources: &'r [Resource], region: &str) -> (Vec<usize>, Vec<&'r Resource>) {
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.resource_type == JanitorTarget::AwsInstance && r.region == region)
        .unzip()
}

/// Answers each resource no batch answered with a call of its own, several in flight (on
/// AWS each call is a round trip); one answer per resource, in order.
async fn one_by_one<F, Fut>(mut answers: Vec<Option<Result<(), CallError>>>, call: F) -> Vec<Result<(), CallError>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), CallError>>,
{
    let rest: Vec<usize> = (0..answers.len()).filter(|index| answers[*index].is_none()).collect();
    let done = in_order(rest.len(), |k| {
        let index = rest[k];
        let answer = call(index);
        async move { (index, answer.await) }
    })
    .await;
    for (index, answer) in done {
        answers[index] = Some(answer);
    }
    answers.into_iter().map(|answer| answer.unwrap_or(Ok(()))).collect()
}

/// AWS's refusal of a protected instance, said in the policy's terms.
fn protection_refusal(error: CallError, options: DeleteOptions) -> CallError {
    if error.code == "OperationNotPermitted" && !options.ec2_disable_termination_protection {
        return CallError::local(
            "ec2:TerminateInstances",
            format!(
                "termination protection is on and the policy does not allow lifting it \
                 (janitor.ec2_disable_termination_protection): {}",
                error.message
            ),
        );
    }
    error
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
            names: None,
        }
    }

    /// Lists the tags and details of names with `prefix` only.
    #[must_use]
    pub fn scanning_names(mut self, prefix: Option<String>) -> Self {
        self.names = prefix.filter(|prefix| !prefix.is_empty());
        self
    }

    /// Reads instances' termination protection for names with `prefix` when refreshing.
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
    /// Every bucket of `regions` (one `ListBuckets` per region); the tags of those whose
    /// name has `names` from the Resource Groups Tagging API (bucket by bucket where it is
    /// not served). The janitor's last look before acting reads each bucket's own tags
    /// ([`JanitorCloud::refresh`]).
    async fn janitor_buckets(
        &self,
        account: &str,
        regions: &[String],
        names: Option<&str>,
    ) -> Result<Vec<Resource>, CallError> {
        let listed = self.buckets_in(regions).await?;
        let wanted = |name: &str| names.is_none_or(|prefix| name.starts_with(prefix));
        // Collected first: a closure held across the await would make the future fail `Send`.
        let prefixed: Vec<&ListedBucket> = listed.iter().filter(|b| wanted(&b.name)).collect();
        let bulk = self.bulk_tags(prefixed).await?;
        let mut out = Vec::with_capacity(listed.len());
        for bucket in listed {
            let tags = if wanted(&bucket.name) {
                match bulk.of(&bucket) {
                    Some(tags) => tags.into_iter().collect(),
                    None => match self.bucket_tags(&bucket.region, &bucket.name).await? {
                        Some(tags) => tags,
                        // Deleted between the listing and now.
                        None => continue,
                    },
                }
            } else {
                BTreeMap::new()
            };
            out.push(resource(
                account,
                &bucket.region,
                JanitorTarget::AwsS3Bucket,
                &bucket.name,
                &bucket.name,
                tags,
                time(bucket.created.as_ref()),
            ));
        }
        Ok(out)
    }

    /// One bucket's own tags (`None`: the bucket is gone).
    async fn bucket_tags(&self, region: &str, name: &str) -> Result<Option<BTreeMap<String, String>>, CallError> {
        match self.bucket_tag_set(&self.s3_in(region), name).await {
            Ok(tags) => Ok(Some(tags.into_iter().collect())),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every live instance with its tags (`DescribeInstances`, 1,000 a page); termination
    /// protection is read when a candidate is refreshed ([`AwsClient::refresh_instances`]).
    async fn janitor_instances(&self, account: &str) -> Result<Vec<Resource>, CallError> {
        self.live_instances(|instance| self.listed_instance(account, instance)).await
    }

    /// An instance as the janitor lists it: its Name tag is its name (the prefix applies
    /// to it: an instance without one is never a candidate), and the service that owns it.
    fn listed_instance(&self, account: &str, instance: &aws_sdk_ec2::types::Instance) -> Option<Resource> {
        let id = instance.instance_id()?;
        let tags: BTreeMap<String, String> = instance
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect();
        let name = tags.get("Name").cloned().unwrap_or_default();
        let owner = instance_owner(instance, &tags);
        let mut listed =
            resource(account, &self.region, JanitorTarget::AwsInstance, id, &name, tags, time(instance.launch_time()));
        // Instances another service owns come back when deleted (and their owner may be
        // managed by Terraform under another type): never the janitor's to delete one by
        // one. Listed with the owner, so the block is a recorded decision.
        if let Some(owner) = owner {
            listed.guards.push(Guard::OwnedBy { owner });
        }
        Some(listed)
    }

    /// These instances as they are now (`DescribeInstances` filtered by id, 200 ids a
    /// call; terminated ones are gone), with termination protection read for names with
    /// `termination_reads`.
    async fn refresh_instances(
        &self,
        account: &str,
        resources: &[&Resource],
        termination_reads: Option<&str>,
    ) -> Result<Vec<Option<Resource>>, CallError> {
        let ids: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
        let live = self.instances_by_id(&ids).await?;
        let mut now: Vec<Option<Resource>> = resources
            .iter()
            .map(|wanted| {
                live.iter()
                    .filter(|i| i.instance_id() == Some(wanted.id.as_str()))
                    .filter(|i| !crate::aws::on_its_way_out(i))
                    .find_map(|i| self.listed_instance(account, i))
            })
            .collect();
        let protected = in_order(now.len(), |index| {
            let read = now[index]
                .as_ref()
                .filter(|r| r.guards.is_empty() && termination_reads.is_some_and(|prefix| r.name.starts_with(prefix)));
            let id = read.map(|r| r.id.clone());
            async move {
                match id {
                    Some(id) => self.still_termination_protected(&id).await,
                    None => Ok(false),
                }
            }
        })
        .await;
        for (listed, protected) in now.iter_mut().zip(protected) {
            if protected? && let Some(listed) = listed {
                listed.guards.push(Guard::TerminationProtection);
            }
        }
        Ok(now)
    }

    /// The instances with these ids, whatever their state (`DescribeInstances` with an
    /// `instance-id` filter: an id that no longer exists is simply absent, where the
    /// `InstanceIds` parameter would fail the whole call).
    async fn instances_by_id(&self, ids: &[String]) -> Result<Vec<aws_sdk_ec2::types::Instance>, CallError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(200) {
            let filter =
                aws_sdk_ec2::types::Filter::builder().name("instance-id").set_values(Some(chunk.to_vec())).build();
            let mut token: Option<String> = None;
            loop {
                let page = send!(
                    self,
                    "ec2:DescribeInstances",
                    self.ec2().describe_instances().filters(filter.clone()).set_next_token(token.clone())
                )?;
                out.extend(page.reservations().iter().flat_map(|r| r.instances().iter().cloned()));
                token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
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

    /// Every role but the service-linked ones; the tags (`GetRole`) of names with `names`.
    async fn janitor_roles(&self, account: &str, names: Option<&str>) -> Result<Vec<Resource>, CallError> {
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
                // ListRoles leaves tags out.
                let tags = if names.is_none_or(|prefix| name.starts_with(prefix)) {
                    match self.role_tags(name).await? {
                        Some(tags) => tags,
                        None => continue,
                    }
                } else {
                    BTreeMap::new()
                };
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

    /// One role's tags (`None`: the role is gone).
    async fn role_tags(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, CallError> {
        match send!(self, "iam:GetRole", self.iam().get_role().role_name(name)) {
            Ok(full) => Ok(Some(
                full.role()
                    .map(aws_sdk_iam::types::Role::tags)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            )),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
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
            let complete = listing.is_truncated() != Some(true);
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
            // The listing was whole: no second listing to find it empty (an object written
            // meanwhile makes DeleteBucket fail as BucketNotEmpty: the next run tries again).
            if complete {
                break;
            }
        }
        send!(self, "s3:DeleteBucket", s3.delete_bucket().bucket(bucket))?;
        Ok(())
    }

    /// Terminates these instances (of this region) together: `TerminateInstances` with up
    /// to 1,000 ids, then one wait for all of them. Termination protection is AWS's own
    /// block: a batch it refuses (one protected instance fails the whole call, as does one
    /// id that no longer exists) is terminated again one by one, so that each instance
    /// gets its own answer. Where the policy lifts protection, it is read and lifted first.
    async fn terminate_instances(
        &self,
        resources: &[&Resource],
        options: &DeleteOptions,
    ) -> Vec<Result<(), CallError>> {
        let mut answers: Vec<Option<Result<(), CallError>>> = vec![None; resources.len()];
        if options.ec2_disable_termination_protection {
            for (index, resource) in resources.iter().enumerate() {
                if let Err(error) = self.lift_termination_protection(&resource.id).await {
                    answers[index] = Some(Err(error));
                }
            }
        }
        let pending: Vec<usize> = (0..resources.len()).filter(|index| answers[*index].is_none()).collect();
        for chunk in pending.chunks(1000) {
            let ids: Vec<String> = chunk.iter().map(|index| resources[*index].id.clone()).collect();
            let batch =
                send!(self, "ec2:TerminateInstances", self.ec2().terminate_instances().set_instance_ids(Some(ids)));
            match batch {
                Ok(_) => {}
                Err(error) if error.transient => {
                    for index in chunk {
                        answers[*index] = Some(Err(error.clone()));
                    }
                }
                Err(_) => {
                    for index in chunk {
                        let id = resources[*index].id.as_str();
                        let one =
                            send!(self, "ec2:TerminateInstances", self.ec2().terminate_instances().instance_ids(id));
                        let one = gone_is_done(one.map(drop)).map_err(|error| protection_refusal(error, *options));
                        if one.is_err() {
                            answers[*index] = Some(one);
                        }
                    }
                }
            }
        }
        // Wait for every instance whose termination was accepted.
        let accepted: Vec<String> = (0..resources.len())
            .filter(|index| answers[*index].is_none())
            .map(|index| resources[index].id.clone())
            .collect();
        if !accepted.is_empty() {
            let waited = wait_until("ec2:DescribeInstances", || async {
                Ok(self.instances_by_id(&accepted).await?.iter().all(crate::aws::on_its_way_out))
            })
            .await;
            if let Err(error) = waited {
                for answer in answers.iter_mut().filter(|answer| answer.is_none()) {
                    *answer = Some(Err(error.clone()));
                }
            }
        }
        answers.into_iter().map(|answer| answer.unwrap_or(Ok(()))).collect()
    }

    /// Lifts an instance's termination protection if it is on (the policy allows it).
    async fn lift_termination_protection(&self, id: &str) -> Result<(), CallError> {
        if self.still_termination_protected(id).await? {
            let off = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build();
            send!(
                self,
                "ec2:ModifyInstanceAttribute",
                self.ec2().modify_instance_attribute().instance_id(id).disable_api_termination(off)
            )?;
        }
        Ok(())
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
                    page.reservations()
                        .iter()
                        .flat_map(aws_sdk_ec2::types::Reservation::instances)
                        .any(|i| !crate::aws::on_its_way_out(i))
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
            let names = self.names.as_deref();
            if targets.contains(&JanitorTarget::AwsS3Bucket) {
                out.extend(home.janitor_buckets(&self.account, &self.region_names(), names).await?);
            }
            if targets.contains(&JanitorTarget::AwsIamRole) {
                out.extend(home.janitor_roles(&self.account, names).await?);
            }
            for aws in &self.regions {
                if targets.contains(&JanitorTarget::AwsInstance) {
                    out.extend(aws.janitor_instances(&self.account).await?);
                }
                if targets.contains(&JanitorTarget::AwsDbInstance) {
                    out.extend(aws.janitor_databases(&self.account).await?);
                }
            }
            Ok(out)
        })
    }

    fn refresh<'a>(&'a self, resources: &'a [Resource]) -> CloudFuture<'a, Vec<Option<Resource>>> {
        Box::pin(async move {
            let mut now: Vec<Option<Resource>> = vec![None; resources.len()];
            // Instances: per region, by id, in batches.
            for aws in &self.regions {
                let (indexes, wanted) = instances_in(resources, &aws.region);
                if wanted.is_empty() {
                    continue;
                }
                let refreshed =
                    aws.refresh_instances(&self.account, &wanted, self.termination_reads.as_deref()).await?;
                for (index, resource) in indexes.into_iter().zip(refreshed) {
                    now[index] = resource;
                }
            }
            // Databases: one listing per region says everything (tags and protection included).
            let databases: Vec<usize> =
                (0..resources.len()).filter(|i| resources[*i].resource_type == JanitorTarget::AwsDbInstance).collect();
            if !databases.is_empty() {
                let mut listed = Vec::new();
                for aws in &self.regions {
                    listed.extend(aws.janitor_databases(&self.account).await?);
                }
                for index in databases {
                    now[index] = listed.iter().find(|r| r.key() == resources[index].key()).cloned();
                }
            }
            // Buckets and roles: each one's own tags, several in flight.
            let targets: Vec<usize> = (0..resources.len())
                .filter(|i| {
                    matches!(resources[*i].resource_type, JanitorTarget::AwsS3Bucket | JanitorTarget::AwsIamRole)
                })
                .collect();
            let read = in_order(targets.len(), |k| {
                let index = targets[k];
                let resource = &resources[index];
                async move {
                    let tags = if resource.resource_type == JanitorTarget::AwsS3Bucket {
                        self.client(&resource.region).bucket_tags(&resource.region, &resource.id).await?
                    } else {
                        self.home().role_tags(&resource.id).await?
                    };
                    Ok::<_, CallError>((index, tags.map(|tags| Resource { tags, ..resource.clone() })))
                }
            })
            .await;
            for answer in read {
                let (index, resource) = answer?;
                now[index] = resource;
            }
            Ok(now)
        })
    }

    fn set_tag_many<'a>(
        &'a self,
        resources: &'a [Resource],
        key: &'a str,
        value: &'a str,
    ) -> CloudFuture<'a, Vec<Result<(), CallError>>> {
        Box::pin(async move {
            let mut answers: Vec<Option<Result<(), CallError>>> = vec![None; resources.len()];
            // EC2 takes up to 1,000 ids in one CreateTags; a batch refused as a whole (an id
            // gone meanwhile fails it) is written again one by one below.
            for aws in &self.regions {
                let (indexes, _) = instances_in(resources, &aws.region);
                for chunk in indexes.chunks(1000) {
                    let ids: Vec<String> = chunk.iter().map(|i| resources[*i].id.clone()).collect();
                    let tag = aws_sdk_ec2::types::Tag::builder().key(key).value(value).build();
                    let answer = match send!(
                        aws,
                        "ec2:CreateTags",
                        aws.ec2().create_tags().set_resources(Some(ids)).tags(tag)
                    ) {
                        Ok(_) => Some(Ok(())),
                        Err(error) if error.transient => Some(Err(error)),
                        // Refused as a whole: written one by one below.
                        Err(_) => None,
                    };
                    for index in chunk {
                        answers[*index].clone_from(&answer);
                    }
                }
            }
            // The rest one call each (S3 reads and rewrites a bucket's whole tag set).
            Ok(one_by_one(answers, |index| self.tag_call(&resources[index], key, Some(value))).await)
        })
    }

    fn delete_many<'a>(
        &'a self,
        resources: &'a [Resource],
        options: &'a DeleteOptions,
    ) -> CloudFuture<'a, Vec<Result<(), CallError>>> {
        Box::pin(async move {
            let mut answers: Vec<Option<Result<(), CallError>>> = vec![None; resources.len()];
            for aws in &self.regions {
                let (indexes, instances) = instances_in(resources, &aws.region);
                if instances.is_empty() {
                    continue;
                }
                for (index, answer) in indexes.into_iter().zip(aws.terminate_instances(&instances, options).await) {
                    answers[index] = Some(answer);
                }
            }
            // Buckets, databases and roles one by one (they do not depend on each other;
            // the caller hands over one type at a time).
            Ok(one_by_one(answers, |index| self.delete(&resources[index], options)).await)
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
                JanitorTarget::AwsInstance => {
                    aws.terminate_instances(&[resource], options).await.pop().unwrap_or(Ok(()))
                }
                JanitorTarget::AwsDbInstance => aws.delete_database(resource, options).await,
                JanitorTarget::AwsIamRole => aws.delete_role(resource).await,
                other => Err(CallError::local("delete", format!("{} is not an AWS type", other.as_str()))),
            };
            gone_is_done(result)
        })
    }
}
