//! S3 in the normal form: every bucket in the account's scanned regions, with its tags
//! (what unmanaged detection and classification need), and each configuration document
//! a state declares for it, read in the bucket's own region. A document no state declares
//! for a bucket is not read.

use std::collections::BTreeMap;

use driftguard_engine::drift::normalize::{boolean, insert_tags, policy_document, scalar, string_set};
use driftguard_engine::drift::{Attributes, Normalized, Wanted};
use serde_json::Value;

use super::{absent_as_none, in_order, normalized, text};
use crate::aws::{AwsClient, ListedBucket};
use crate::retry::CallError;

impl AwsClient {
    pub(super) async fn buckets(&self, regions: &[String], wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let listed = self.buckets_in(regions).await?;
        // Buckets no state declares need only their tags (unmanaged detection, classification):
        // the bulk view of each region that has one, asked once.
        // Collected first: a closure held across the await would make the future fail `Send`.
        let undeclared: Vec<&ListedBucket> =
            listed.iter().filter(|b| !wanted.details("aws_s3_bucket", &b.name)).collect();
        let bulk = self.bulk_tags(undeclared).await?;
        let mut clients: BTreeMap<&str, aws_sdk_s3::Client> = BTreeMap::new();
        for bucket in &listed {
            clients.entry(&bucket.region).or_insert_with(|| self.s3_in(&bucket.region));
        }
        // Each bucket's documents: several buckets in flight, results in listing order.
        let read = in_order(listed.len(), |index| {
            let bucket = &listed[index];
            let known = if wanted.details("aws_s3_bucket", &bucket.name) { None } else { bulk.of(bucket) };
            self.bucket(clients[bucket.region.as_str()].clone(), &bucket.name, wanted, known)
        })
        .await;
        let mut out = Vec::new();
        for resources in read {
            out.extend(resources?);
        }
        Ok(out)
    }

    /// A bucket as the Terraform resources that describe it: the bucket, and each of its
    /// configuration types that a state declares for it.
    /// `known_tags`: the bucket's tags from the bulk view, when it needs no more than
    /// that; else they are read from the bucket.
    async fn bucket(
        &self,
        s3: aws_sdk_s3::Client,
        name: &str,
        wanted: &Wanted,
        known_tags: Option<Vec<(String, String)>>,
    ) -> Result<Vec<Normalized>, CallError> {
        let s3 = &s3;
        let tags = match known_tags {
            Some(tags) => tags,
            None => self.bucket_tag_set(s3, name).await?,
        };
        let mut bucket = Attributes::new();
        insert_tags(&mut bucket, tags);
        let mut out = vec![normalized("aws_s3_bucket", name, bucket)];
        let read = |resource_type: &str| wanted.details(resource_type, name);
        if read("aws_s3_bucket_versioning") {
            let versioning = send!(self, "s3:GetBucketVersioning", s3.get_bucket_versioning().bucket(name))?;
            let mut a = Attributes::new();
            a.insert(
                "versioning_configuration.status".into(),
                text(versioning.status().map(aws_sdk_s3::types::BucketVersioningStatus::as_str)),
            );
            out.push(normalized("aws_s3_bucket_versioning", name, a));
        }
        if read("aws_s3_bucket_server_side_encryption_configuration") {
            out.push(self.bucket_encryption(s3, name).await?);
        }
        if read("aws_s3_bucket_public_access_block") {
            out.push(self.bucket_public_access(s3, name).await?);
        }
        if read("aws_s3_bucket_acl") {
            let acl = send!(self, "s3:GetBucketAcl", s3.get_bucket_acl().bucket(name))?;
            let atoms = acl.grants().iter().map(|grant| {
                let grantee = grant.grantee();
                driftguard_engine::catalogue::aws::grant_atom(
                    grant.permission().map(aws_sdk_s3::types::Permission::as_str).unwrap_or_default(),
                    grantee.map(|g| g.r#type().as_str()).unwrap_or_default(),
                    grantee.and_then(|g| g.id()).unwrap_or_default(),
                    grantee.and_then(|g| g.uri()).unwrap_or_default(),
                    grantee.and_then(|g| g.email_address()).unwrap_or_default(),
                )
            });
            let mut a = Attributes::new();
            a.insert("access_control_policy.grant".into(), string_set(atoms));
            out.push(normalized("aws_s3_bucket_acl", name, a));
        }
        if read("aws_s3_bucket_policy") {
            let policy = send!(self, "s3:GetBucketPolicy", s3.get_bucket_policy().bucket(name))
                .map(Some)
                .or_else(absent_as_none("NoSuchBucketPolicy"))?;
            let mut a = Attributes::new();
            let text = policy.as_ref().and_then(|p| p.policy());
            a.insert("policy".into(), text.map_or(Value::Null, policy_document));
            out.push(normalized("aws_s3_bucket_policy", name, a));
        }
        if read("aws_s3_bucket_ownership_controls") {
            let controls =
                send!(self, "s3:GetBucketOwnershipControls", s3.get_bucket_ownership_controls().bucket(name))
                    .map(Some)
                    .or_else(absent_as_none("OwnershipControlsNotFoundError"))?;
            let ownership = controls
                .as_ref()
                .and_then(|c| c.ownership_controls())
                .and_then(|c| c.rules().first())
                .map(|rule| rule.object_ownership().as_str().to_owned());
            let mut a = Attributes::new();
            a.insert("rule.object_ownership".into(), scalar(Value::from(ownership)));
            out.push(normalized("aws_s3_bucket_ownership_controls", name, a));
        }
        if read("aws_s3_bucket_logging") {
            let logging = send!(self, "s3:GetBucketLogging", s3.get_bucket_logging().bucket(name))?;
            let enabled = logging.logging_enabled();
            let mut a = Attributes::new();
            a.insert("target_bucket".into(), scalar(Value::from(enabled.map(|l| l.target_bucket().to_owned()))));
            a.insert("target_prefix".into(), scalar(Value::from(enabled.map(|l| l.target_prefix().to_owned()))));
            out.push(normalized("aws_s3_bucket_logging", name, a));
        }
        if read("aws_s3_bucket_cors_configuration") {
            let cors = send!(self, "s3:GetBucketCors", s3.get_bucket_cors().bucket(name))
                .map(Some)
                .or_else(absent_as_none("NoSuchCORSConfiguration"))?;
            let rules: Vec<Value> = cors
                .as_ref()
                .map(aws_sdk_s3::operation::get_bucket_cors::GetBucketCorsOutput::cors_rules)
                .unwrap_or_default()
                .iter()
                .map(|rule| {
                    driftguard_engine::catalogue::aws::cors_rule(
                        rule.id(),
                        rule.allowed_headers(),
                        rule.allowed_methods(),
                        rule.allowed_origins(),
                        rule.expose_headers(),
                        rule.max_age_seconds().map(i64::from),
                    )
                })
                .collect();
            let mut a = Attributes::new();
            a.insert("cors_rule".into(), driftguard_engine::catalogue::aws::cors_rules(rules));
            out.push(normalized("aws_s3_bucket_cors_configuration", name, a));
        }
        if read("aws_s3_bucket_website_configuration") {
            let website = send!(self, "s3:GetBucketWebsite", s3.get_bucket_website().bucket(name))
                .map(Some)
                .or_else(absent_as_none("NoSuchWebsiteConfiguration"))?;
            let website = website.as_ref();
            let mut a = Attributes::new();
            let index = website.and_then(|w| w.index_document()).map(|d| d.suffix().to_owned());
            let error = website.and_then(|w| w.error_document()).map(|d| d.key().to_owned());
            let redirect = website.and_then(|w| w.redirect_all_requests_to()).map(|r| r.host_name().to_owned());
            a.insert("index_document.suffix".into(), scalar(Value::from(index)));
            a.insert("error_document.key".into(), scalar(Value::from(error)));
            a.insert("redirect_all_requests_to.host_name".into(), scalar(Value::from(redirect)));
            out.push(normalized("aws_s3_bucket_website_configuration", name, a));
        }
        Ok(out)
    }

    async fn bucket_encryption(&self, s3: &aws_sdk_s3::Client, name: &str) -> Result<Normalized, CallError> {
        let encryption = send!(self, "s3:GetBucketEncryption", s3.get_bucket_encryption().bucket(name))
            .map(Some)
            .or_else(absent_as_none("ServerSideEncryptionConfigurationNotFoundError"))?;
        let rule =
            encryption.as_ref().and_then(|e| e.server_side_encryption_configuration()).and_then(|c| c.rules().first());
        let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
        let mut a = Attributes::new();
        a.insert(
            "rule.sse_algorithm".into(),
            scalar(Value::from(default.map(|d| d.sse_algorithm().as_str().to_owned()))),
        );
        a.insert("rule.kms_master_key_id".into(), text(default.and_then(|d| d.kms_master_key_id())));
        a.insert(
            "rule.bucket_key_enabled".into(),
            Value::Bool(
                rule.and_then(aws_sdk_s3::types::ServerSideEncryptionRule::bucket_key_enabled).unwrap_or(false),
            ),
        );
        Ok(normalized("aws_s3_bucket_server_side_encryption_configuration", name, a))
    }

    async fn bucket_public_access(&self, s3: &aws_sdk_s3::Client, name: &str) -> Result<Normalized, CallError> {
        use aws_sdk_s3::types::PublicAccessBlockConfiguration as Block;
        let block = send!(self, "s3:GetPublicAccessBlock", s3.get_public_access_block().bucket(name))
            .map(Some)
            .or_else(absent_as_none("NoSuchPublicAccessBlockConfiguration"))?;
        let config = block.as_ref().and_then(|b| b.public_access_block_configuration());
        let flag = |read: fn(&Block) -> Option<bool>| boolean(config.and_then(read).map(Value::Bool).as_ref());
        let mut a = Attributes::new();
        a.insert("block_public_acls".into(), flag(Block::block_public_acls));
        a.insert("block_public_policy".into(), flag(Block::block_public_policy));
        a.insert("ignore_public_acls".into(), flag(Block::ignore_public_acls));
        a.insert("restrict_public_buckets".into(), flag(Block::restrict_public_buckets));
        Ok(normalized("aws_s3_bucket_public_access_block", name, a))
    }
}
