//! Live collection in DriftGuard's normal form: everything the comparison needs from one
//! account and region, read concurrently under the account's pace.

use std::collections::{BTreeMap, BTreeSet};

use driftguard_engine::catalogue::{self, Listing, Scope};
use driftguard_engine::drift::normalize::{
    RuleSource, boolean, insert_tags, policy_document, protocol, rule_atom, scalar, string_set,
};
use driftguard_engine::drift::{Attributes, Normalized};
use futures_util::{StreamExt, stream};
use serde_json::Value;

use crate::aws::AwsClient;
use crate::retry::CallError;

/// Per-resource reads (an instance's attribute, a bucket's documents) in flight at once in
/// one collection; the account's pace bounds the request rate whatever this is.
const READS_IN_FLIGHT: usize = 8;

/// Turns the "not configured" error of an optional bucket setting into `None`.
fn absent_as_none<T>(code: &'static str) -> impl Fn(CallError) -> Result<Option<T>, CallError> {
    move |error| if error.code == code { Ok(None) } else { Err(error) }
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter().filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().unwrap_or_default().to_owned()))).collect()
}

fn normalized(resource_type: &str, id: &str, attributes: Attributes) -> Normalized {
    Normalized { resource_type: resource_type.to_owned(), id: id.to_owned(), address: String::new(), attributes }
}

fn permission_atoms(permissions: &[aws_sdk_ec2::types::IpPermission], group_id: &str) -> Value {
    let mut atoms = Vec::new();
    for permission in permissions {
        let protocol_name = permission.ip_protocol().unwrap_or("-1");
        let from = i64::from(permission.from_port().unwrap_or(-1));
        let to = i64::from(permission.to_port().unwrap_or(-1));
        let mut sources: Vec<RuleSource> =
            permission.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(|c| RuleSource::Cidr(c.to_owned())).collect();
        sources.extend(
            permission.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()).map(|c| RuleSource::Cidr6(c.to_owned())),
        );
        sources.extend(
            permission.user_id_group_pairs().iter().filter_map(|pair| pair.group_id()).map(|group| {
                if group == group_id { RuleSource::SelfGroup } else { RuleSource::Group(group.to_owned()) }
            }),
        );
        sources.extend(
            permission
                .prefix_list_ids()
                .iter()
                .filter_map(|p| p.prefix_list_id())
                .map(|p| RuleSource::PrefixList(p.to_owned())),
        );
        atoms.extend(sources.iter().map(|source| rule_atom(protocol_name, from, to, source)));
    }
    string_set(atoms)
}

impl AwsClient {
    /// Everything DriftGuard compares in this region: every listing the catalogue's
    /// entries name, all at once (the account's pace bounds the rate). `global` adds the
    /// account-wide listings (S3, IAM), collected once per account, with only the buckets
    /// that live in `bucket_regions` (the account's regions in the policy: its scan scope).
    pub async fn collect(&self, global: bool, bucket_regions: &[String]) -> Result<Vec<Normalized>, CallError> {
        let listings: BTreeSet<Listing> = catalogue::entries()
            .filter_map(|entry| entry.listing)
            .filter(|listing| global || listing.scope() == Scope::Regional)
            .collect();
        let reads = listings.iter().map(|listing| self.list(*listing, bucket_regions));
        let mut resources = Vec::new();
        for listed in futures_util::future::join_all(reads).await {
            resources.extend(listed?);
        }
        Ok(resources)
    }

    /// One listing of the catalogue, in the normal form of the types it serves.
    async fn list(&self, listing: Listing, bucket_regions: &[String]) -> Result<Vec<Normalized>, CallError> {
        match listing {
            Listing::Ec2Instances => self.instances().await,
            Listing::Ec2SecurityGroups => self.security_groups().await,
            Listing::Ec2SecurityGroupRules => self.security_group_rules().await,
            Listing::RdsDbInstances => self.databases().await,
            Listing::S3Buckets => self.buckets(bucket_regions).await,
            Listing::IamRoles => self.roles().await,
            Listing::IamPolicies => self.policies().await,
        }
    }

    async fn instances(&self) -> Result<Vec<Normalized>, CallError> {
        let instances = self.live_instances().await?;
        let instances: Vec<&aws_sdk_ec2::types::Instance> =
            instances.iter().filter(|instance| instance.instance_id().is_some()).collect();
        // One attribute read per instance: several in flight (the account's pace still
        // bounds the rate), answers kept in the listing's order.
        // The futures are made first, then streamed: a closure inside the stream would make
        // the collector's future fail `Send` (a higher-ranked lifetime the compiler cannot prove).
        let reads: Vec<_> = instances
            .iter()
            .map(|instance| self.termination_protected(instance.instance_id().unwrap_or_default()))
            .collect();
        let terminations: Vec<Result<_, CallError>> = stream::iter(reads).buffered(READS_IN_FLIGHT).collect().await;
        let mut out = Vec::new();
        for (instance, termination) in instances.into_iter().zip(terminations) {
            let termination = termination?;
            let Some(id) = instance.instance_id() else { continue };
            let mut a = Attributes::new();
            a.insert(
                "instance_type".into(),
                scalar(Value::from(instance.instance_type().map(|t| t.as_str().to_owned()))),
            );
            a.insert(
                "vpc_security_group_ids".into(),
                string_set(instance.security_groups().iter().filter_map(|g| g.group_id()).map(str::to_owned)),
            );
            // Terraform records the profile's name; the API returns its ARN.
            let profile = instance.iam_instance_profile().and_then(|p| p.arn()).and_then(|arn| arn.rsplit('/').next());
            a.insert("iam_instance_profile".into(), scalar(Value::from(profile.map(str::to_owned))));
            a.insert("disable_api_termination".into(), Value::Bool(termination));
            let tokens = instance.metadata_options().and_then(|m| m.http_tokens()).map(|t| t.as_str().to_owned());
            a.insert("metadata_options.http_tokens".into(), scalar(Value::from(tokens)));
            let monitoring = instance.monitoring().and_then(|m| m.state()).is_some_and(|s| s.as_str() == "enabled");
            a.insert("monitoring".into(), Value::Bool(monitoring));
            insert_tags(&mut a, ec2_tags(instance.tags()));
            out.push(normalized("aws_instance", id, a));
        }
        Ok(out)
    }

    async fn security_groups(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeSecurityGroups",
                self.ec2().describe_security_groups().set_next_token(token.clone()).max_results(100)
            )?;
            for group in page.security_groups() {
                let Some(id) = group.group_id() else { continue };
                let mut a = Attributes::new();
                a.insert("name".into(), scalar(Value::from(group.group_name().map(str::to_owned))));
                a.insert("ingress".into(), permission_atoms(group.ip_permissions(), id));
                a.insert("egress".into(), permission_atoms(group.ip_permissions_egress(), id));
                insert_tags(&mut a, ec2_tags(group.tags()));
                out.push(normalized("aws_security_group", id, a));
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn security_group_rules(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeSecurityGroupRules",
                self.ec2().describe_security_group_rules().set_next_token(token.clone()).max_results(1000)
            )?;
            for rule in page.security_group_rules() {
                let Some(id) = rule.security_group_rule_id() else { continue };
                let resource_type = if rule.is_egress() == Some(true) {
                    "aws_vpc_security_group_egress_rule"
                } else {
                    "aws_vpc_security_group_ingress_rule"
                };
                let protocol_name = rule.ip_protocol().map(protocol);
                let all = protocol_name.as_deref() == Some("-1");
                let mut a = Attributes::new();
                a.insert("security_group_id".into(), scalar(Value::from(rule.group_id().map(str::to_owned))));
                a.insert("cidr_ipv4".into(), scalar(Value::from(rule.cidr_ipv4().map(str::to_owned))));
                a.insert("cidr_ipv6".into(), scalar(Value::from(rule.cidr_ipv6().map(str::to_owned))));
                a.insert(
                    "referenced_security_group_id".into(),
                    scalar(Value::from(rule.referenced_group_info().and_then(|g| g.group_id()).map(str::to_owned))),
                );
                a.insert("prefix_list_id".into(), scalar(Value::from(rule.prefix_list_id().map(str::to_owned))));
                a.insert("ip_protocol".into(), Value::from(protocol_name));
                a.insert("from_port".into(), if all { Value::Null } else { Value::from(rule.from_port()) });
                a.insert("to_port".into(), if all { Value::Null } else { Value::from(rule.to_port()) });
                insert_tags(&mut a, ec2_tags(rule.tags()));
                out.push(normalized(resource_type, id, a));
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn databases(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        for db in &self.all_databases().await? {
            let Some(id) = db.db_instance_identifier() else { continue };
            let mut a = Attributes::new();
            a.insert("instance_class".into(), scalar(Value::from(db.db_instance_class().map(str::to_owned))));
            a.insert("publicly_accessible".into(), Value::Bool(db.publicly_accessible().unwrap_or(false)));
            a.insert("storage_encrypted".into(), Value::Bool(db.storage_encrypted().unwrap_or(false)));
            a.insert("deletion_protection".into(), Value::Bool(db.deletion_protection().unwrap_or(false)));
            a.insert("backup_retention_period".into(), Value::from(db.backup_retention_period()));
            let tags = db
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())));
            insert_tags(&mut a, tags);
            out.push(normalized("aws_db_instance", id, a));
        }
        Ok(out)
    }

    async fn buckets(&self, regions: &[String]) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut clients: BTreeMap<String, aws_sdk_s3::Client> = BTreeMap::new();
        loop {
            let page = send!(self, "s3:ListBuckets", self.s3().list_buckets().set_continuation_token(token.clone()))?;
            let mut wanted: Vec<(String, aws_sdk_s3::Client)> = Vec::new();
            for bucket in page.buckets() {
                let Some(name) = bucket.name() else { continue };
                let region = match bucket.bucket_region() {
                    Some(region) if !region.is_empty() => region.to_owned(),
                    _ => self.bucket_region(name).await?,
                };
                if !regions.contains(&region) {
                    continue;
                }
                let client = clients.entry(region.clone()).or_insert_with(|| self.s3_in(&region)).clone();
                wanted.push((name.to_owned(), client));
            }
            // Each bucket's documents: several buckets in flight, results in listing order.
            let reads: Vec<_> = wanted.iter().map(|(name, client)| self.bucket(client, name)).collect();
            let read: Vec<Result<Vec<Normalized>, CallError>> =
                stream::iter(reads).buffered(READS_IN_FLIGHT).collect().await;
            for resources in read {
                out.extend(resources?);
            }
            token = page.continuation_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// A bucket as the four Terraform resources that describe it.
    async fn bucket(&self, s3: &aws_sdk_s3::Client, name: &str) -> Result<Vec<Normalized>, CallError> {
        let tags = send!(self, "s3:GetBucketTagging", s3.get_bucket_tagging().bucket(name))
            .map(Some)
            .or_else(absent_as_none("NoSuchTagSet"))?;
        let mut bucket = Attributes::new();
        if let Some(tags) = &tags {
            insert_tags(&mut bucket, tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
        }
        let versioning = send!(self, "s3:GetBucketVersioning", s3.get_bucket_versioning().bucket(name))?;
        let mut versioning_attributes = Attributes::new();
        versioning_attributes.insert(
            "versioning_configuration.status".into(),
            scalar(Value::from(versioning.status().map(|s| s.as_str().to_owned()))),
        );
        let encryption = send!(self, "s3:GetBucketEncryption", s3.get_bucket_encryption().bucket(name))
            .map(Some)
            .or_else(absent_as_none("ServerSideEncryptionConfigurationNotFoundError"))?;
        let rule =
            encryption.as_ref().and_then(|e| e.server_side_encryption_configuration()).and_then(|c| c.rules().first());
        let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
        let mut encryption_attributes = Attributes::new();
        encryption_attributes.insert(
            "rule.sse_algorithm".into(),
            scalar(Value::from(default.map(|d| d.sse_algorithm().as_str().to_owned()))),
        );
        encryption_attributes.insert(
            "rule.kms_master_key_id".into(),
            scalar(Value::from(default.and_then(|d| d.kms_master_key_id()).map(str::to_owned))),
        );
        encryption_attributes.insert(
            "rule.bucket_key_enabled".into(),
            Value::Bool(
                rule.and_then(aws_sdk_s3::types::ServerSideEncryptionRule::bucket_key_enabled).unwrap_or(false),
            ),
        );
        let block = send!(self, "s3:GetPublicAccessBlock", s3.get_public_access_block().bucket(name))
            .map(Some)
            .or_else(absent_as_none("NoSuchPublicAccessBlockConfiguration"))?;
        let config = block.as_ref().and_then(|b| b.public_access_block_configuration());
        let mut block_attributes = Attributes::new();
        block_attributes.insert(
            "block_public_acls".into(),
            boolean(
                config
                    .and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::block_public_acls)
                    .map(Value::Bool)
                    .as_ref(),
            ),
        );
        block_attributes.insert(
            "block_public_policy".into(),
            boolean(
                config
                    .and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::block_public_policy)
                    .map(Value::Bool)
                    .as_ref(),
            ),
        );
        block_attributes.insert(
            "ignore_public_acls".into(),
            boolean(
                config
                    .and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::ignore_public_acls)
                    .map(Value::Bool)
                    .as_ref(),
            ),
        );
        block_attributes.insert(
            "restrict_public_buckets".into(),
            boolean(
                config
                    .and_then(aws_sdk_s3::types::PublicAccessBlockConfiguration::restrict_public_buckets)
                    .map(Value::Bool)
                    .as_ref(),
            ),
        );
        Ok(vec![
            normalized("aws_s3_bucket", name, bucket),
            normalized("aws_s3_bucket_versioning", name, versioning_attributes),
            normalized("aws_s3_bucket_server_side_encryption_configuration", name, encryption_attributes),
            normalized("aws_s3_bucket_public_access_block", name, block_attributes),
        ])
    }

    async fn roles(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(self, "iam:ListRoles", self.iam().list_roles().set_marker(marker.clone()).max_items(100))?;
            for role in page.roles() {
                let name = role.role_name();
                // ListRoles leaves out tags and may leave out the session duration.
                let full = send!(self, "iam:GetRole", self.iam().get_role().role_name(name))?;
                let role = full.role().unwrap_or(role);
                let mut a = Attributes::new();
                a.insert(
                    "assume_role_policy".into(),
                    role.assume_role_policy_document().map_or(Value::Null, policy_document),
                );
                a.insert("max_session_duration".into(), Value::from(role.max_session_duration().or(Some(3600))));
                insert_tags(&mut a, role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
                out.push(normalized("aws_iam_role", name, a));
            }
            marker = if page.is_truncated() { page.marker().map(str::to_owned) } else { None };
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    async fn policies(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "iam:ListPolicies",
                self.iam().list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).set_marker(marker.clone())
            )?;
            for policy in page.policies() {
                let (Some(arn), Some(version)) = (policy.arn(), policy.default_version_id()) else { continue };
                let document = send!(
                    self,
                    "iam:GetPolicyVersion",
                    self.iam().get_policy_version().policy_arn(arn).version_id(version)
                )?;
                let mut a = Attributes::new();
                let text = document.policy_version().and_then(|v| v.document());
                a.insert("policy".into(), text.map_or(Value::Null, policy_document));
                out.push(normalized("aws_iam_policy", arn, a));
            }
            marker = if page.is_truncated() { page.marker().map(str::to_owned) } else { None };
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
}
