//! The AWS client of one account and region: the SDK clients built from an account's
//! session (verified, for everything but reading an S3 state backend, whose bucket may
//! live in an account of no job), the reads that drift collection and the janitor share,
//! and the S3 state backend. Every call goes through [`crate::retry`].

use std::collections::BTreeMap;

use crate::aws::identity::{AwsSession, BucketRegions};
use crate::retry::{CallError, Calls};

/// Bucket name → its tags, as the Resource Groups Tagging API shows them in one region.
type BucketTags = BTreeMap<String, Vec<(String, String)>>;

/// The bulk view of bucket tags, per region: `None` for a region where the Resource
/// Groups Tagging API is refused or not served.
#[derive(Debug, Default)]
pub(crate) struct BulkTags(BTreeMap<String, Option<BucketTags>>);

impl BulkTags {
    /// This bucket's tags from the bulk view (a bucket it does not show has none), or
    /// `None` where its region has no bulk view: read the bucket itself then.
    pub(crate) fn of(&self, bucket: &ListedBucket) -> Option<Vec<(String, String)>> {
        let region = self.0.get(&bucket.region)?.as_ref()?;
        Some(region.get(&bucket.name).cloned().unwrap_or_default())
    }
}

/// Whether an instance is on its way out (terminated or shutting down): gone, for
/// collection and the janitor alike.
pub(crate) fn on_its_way_out(instance: &aws_sdk_ec2::types::Instance) -> bool {
    instance.state().and_then(|s| s.name()).is_some_and(|n| n.as_str() == "terminated" || n.as_str() == "shutting-down")
}

/// A bucket as `ListBuckets` shows it, placed in its region.
#[derive(Debug, Clone)]
pub(crate) struct ListedBucket {
    pub name: String,
    pub region: String,
    pub created: Option<aws_smithy_types::DateTime>,
}

/// Clients for one account and region.
#[derive(Debug, Clone)]
pub struct AwsClient {
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    rds: aws_sdk_rds::Client,
    iam: aws_sdk_iam::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
    bucket_regions: BucketRegions,
    /// The loaded configuration, for S3 clients of other regions (bucket calls must go
    /// to the bucket's own region: elsewhere AWS answers 301 PermanentRedirect).
    config: aws_config::SdkConfig,
    calls: Calls,
    /// The region.
    pub region: String,
}

/// Instances per `DescribeInstances` page. An answer is parsed whole (about 9 KiB of SDK
/// structs per instance, after the XML) before any of it is kept, so the page size is the
/// transient peak of a listing: 100 holds it near a megabyte, for one call per 100
/// instances where 1,000 would take one per 1,000 (0.009 calls per instance more).
/// moto counts reservations, not instances, against it: one reservation of many instances
/// is one answer there whatever this says.
const INSTANCE_PAGE: i32 = 100;

impl AwsClient {
    /// Clients for one region of an account's session (its credentials and endpoint).
    pub fn connect(session: &AwsSession, region: &str, calls: Calls) -> Self {
        let config = session.config(region);
        let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        Self {
            ec2: aws_sdk_ec2::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            rds: aws_sdk_rds::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(&config),
            bucket_regions: session.bucket_regions(),
            config,
            calls,
            region: region.to_owned(),
        }
    }

    /// Every instance that is not on its way out (terminated, shutting-down), all pages:
    /// what drift collection and the janitor both start from. Each instance becomes what
    /// the caller keeps (`keep`) as its page arrives, and the page is dropped: the SDK's
    /// instance takes about 9 KiB, and 10,000 of them held at once were most of a detect
    /// cycle's memory. Pages are [`INSTANCE_PAGE`] instances.
    pub(crate) async fn live_instances<T>(
        &self,
        mut keep: impl FnMut(&aws_sdk_ec2::types::Instance) -> Option<T> + Send,
    ) -> Result<Vec<T>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeInstances",
                self.ec2.describe_instances().set_next_token(token.clone()).max_results(INSTANCE_PAGE)
            )?;
            for instance in page.reservations().iter().flat_map(aws_sdk_ec2::types::Reservation::instances) {
                if instance.instance_id().is_some() && !on_its_way_out(instance) {
                    out.extend(keep(instance));
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Whether an instance's termination protection is on (`DescribeInstances` does not
    /// say): drift collection compares it, the janitor reads it before deciding and again
    /// before terminating.
    pub(crate) async fn termination_protected(&self, id: &str) -> Result<bool, CallError> {
        let answer = send!(
            self,
            "ec2:DescribeInstanceAttribute",
            self.ec2
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        )?;
        Ok(answer.disable_api_termination().and_then(aws_sdk_ec2::types::AttributeBooleanValue::value).unwrap_or(false))
    }

    /// Every DB instance, all pages.
    pub(crate) async fn all_databases(&self) -> Result<Vec<aws_sdk_rds::types::DbInstance>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBInstances",
                self.rds.describe_db_instances().set_marker(marker.clone()).max_records(100)
            )?;
            out.extend(page.db_instances().iter().cloned());
            marker = page.marker().filter(|m| !m.is_empty()).map(str::to_owned);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
    /// Where a bucket lives. `GetBucketLocation` answers from any region; its legacy
    /// values are `null` for us-east-1 and `EU` for eu-west-1.
    pub async fn bucket_region(&self, name: &str) -> Result<String, CallError> {
        if let Some(region) = self.known_bucket_region(name) {
            return Ok(region);
        }
        let location = send!(self, "s3:GetBucketLocation", self.s3.get_bucket_location().bucket(name))?;
        let region = match location.location_constraint().map(aws_sdk_s3::types::BucketLocationConstraint::as_str) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(other) => other.to_owned(),
        };
        self.learn_bucket_region(name, &region);
        Ok(region)
    }

    fn known_bucket_region(&self, name: &str) -> Option<String> {
        self.bucket_regions.lock().ok().and_then(|known| known.get(name).cloned())
    }

    fn learn_bucket_region(&self, name: &str, region: &str) {
        if let Ok(mut known) = self.bucket_regions.lock() {
            known.insert(name.to_owned(), region.to_owned());
        }
    }

    /// The account's buckets in `regions`, with each one's region and creation time: one
    /// `ListBuckets` per region, filtered by `BucketRegion` (no `GetBucketLocation` per
    /// bucket). A bucket listed under two regions means the endpoint ignored the filter
    /// (an S3-compatible store): its location is then asked once.
    pub(crate) async fn buckets_in(&self, regions: &[String]) -> Result<Vec<ListedBucket>, CallError> {
        let mut seen: BTreeMap<String, (Vec<String>, Option<aws_smithy_types::DateTime>)> = BTreeMap::new();
        for region in regions {
            let mut token: Option<String> = None;
            loop {
                let page = send!(
                    self,
                    "s3:ListBuckets",
                    self.s3.list_buckets().bucket_region(region).set_continuation_token(token.clone())
                )?;
                for bucket in page.buckets() {
                    let Some(name) = bucket.name() else { continue };
                    // AWS names the region in the answer when the request filters; trust it over the filter.
                    let listed = bucket.bucket_region().filter(|r| !r.is_empty()).unwrap_or(region);
                    let entry =
                        seen.entry(name.to_owned()).or_insert_with(|| (Vec::new(), bucket.creation_date().copied()));
                    if !entry.0.iter().any(|r| r == listed) {
                        entry.0.push(listed.to_owned());
                    }
                }
                token = page.continuation_token().filter(|t| !t.is_empty()).map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        let mut out = Vec::with_capacity(seen.len());
        for (name, (listed_in, created)) in seen {
            let region = match listed_in.as_slice() {
                [only] => only.clone(),
                _ => match self.bucket_region(&name).await {
                    Ok(region) => region,
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error),
                },
            };
            if !regions.contains(&region) {
                continue;
            }
            self.learn_bucket_region(&name, &region);
            out.push(ListedBucket { name, region, created });
        }
        Ok(out)
    }

    /// The tags of every tagged bucket the Resource Groups Tagging API shows in `region`
    /// (`GetResources`, 100 per page): a handful of calls instead of one `GetBucketTagging`
    /// per bucket. That API is eventually consistent: it serves inventory (unmanaged
    /// resources, janitor listings); comparisons and the janitor's last look before it
    /// acts read each bucket's own tags. `None` where the API is refused or not served
    /// (the caller reads bucket by bucket instead).
    async fn bucket_tags_in(&self, region: &str) -> Result<Option<BucketTags>, CallError> {
        let tagging = if region == self.region {
            self.tagging.clone()
        } else {
            aws_sdk_resourcegroupstagging::Client::from_conf(
                aws_sdk_resourcegroupstagging::config::Builder::from(&self.config)
                    .region(aws_config::Region::new(region.to_owned()))
                    .build(),
            )
        };
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = match send!(
                self,
                "tag:GetResources",
                tagging
                    .get_resources()
                    .resource_type_filters("s3:bucket")
                    .resources_per_page(100)
                    .set_pagination_token(token.clone())
            ) {
                Ok(page) => page,
                Err(error) if !error.transient => {
                    tracing::warn!(
                        target: "driftguard::collect",
                        region,
                        code = %error.code,
                        "tag:GetResources refused or not served; reading bucket tags one bucket at a time"
                    );
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            for mapping in page.resource_tag_mapping_list() {
                let Some(name) = mapping.resource_arn().and_then(|arn| arn.strip_prefix("arn:")).and_then(|arn| {
                    // arn:PARTITION:s3:::NAME
                    let mut parts = arn.splitn(5, ':');
                    let (_partition, service, _, _, name) =
                        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                    (service == "s3" && !name.contains('/')).then_some(name)
                }) else {
                    continue;
                };
                let tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                out.insert(name.to_owned(), tags);
            }
            token = page.pagination_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(Some(out));
            }
        }
    }

    /// The bulk view of the regions these buckets live in, each region asked once.
    pub(crate) async fn bulk_tags<'b>(
        &self,
        buckets: impl IntoIterator<Item = &'b ListedBucket>,
    ) -> Result<BulkTags, CallError> {
        let mut bulk = BulkTags::default();
        for bucket in buckets {
            if !bulk.0.contains_key(&bucket.region) {
                let tags = self.bucket_tags_in(&bucket.region).await?;
                bulk.0.insert(bucket.region.clone(), tags);
            }
        }
        Ok(bulk)
    }

    /// A bucket's own tags (`GetBucketTagging` through `s3`, a client of the bucket's
    /// region; no tag set is no tags).
    pub(crate) async fn bucket_tag_set(
        &self,
        s3: &aws_sdk_s3::Client,
        name: &str,
    ) -> Result<Vec<(String, String)>, CallError> {
        match send!(self, "s3:GetBucketTagging", s3.get_bucket_tagging().bucket(name)) {
            Ok(output) => Ok(output.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()),
            Err(error) if error.code == "NoSuchTagSet" => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// An S3 client for another region (same credentials, endpoint and settings).
    pub(crate) fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.region {
            return self.s3.clone();
        }
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .region(aws_config::Region::new(region.to_owned()))
                .force_path_style(true)
                .build(),
        )
    }
    /// Reads a Terraform state from the S3 backend.
    pub async fn read_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, CallError> {
        let object = send!(self, "s3:GetObject", self.s3.get_object().bucket(bucket).key(key))?;
        object
            .body
            .collect()
            .await
            .map(|data| data.into_bytes().to_vec())
            .map_err(|error| CallError { transient: true, ..CallError::local("s3:GetObject", error.to_string()) })
    }

    pub(crate) fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }

    pub(crate) fn rds(&self) -> &aws_sdk_rds::Client {
        &self.rds
    }

    pub(crate) fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }

    pub(crate) fn calls(&self) -> &Calls {
        &self.calls
    }
}
