//! Live collection in DriftGuard's normal form: everything the comparison needs from one
//! account and region, read concurrently under the account's pace.

use std::collections::BTreeSet;

use driftguard_engine::catalogue::{self, Listing, Scope};
use driftguard_engine::drift::normalize::{RuleSource, insert_tags, protocol, rule_atom, scalar, string_set};
use driftguard_engine::drift::{Attributes, Normalized, Wanted};
use serde_json::Value;

use crate::aws::AwsClient;
use crate::retry::CallError;

mod iam;
mod network;
mod rds;
mod s3;

use crate::aws::in_order;

/// Turns the "not configured" error of an optional bucket setting into `None`.
fn absent_as_none<T>(code: &'static str) -> impl Fn(CallError) -> Result<Option<T>, CallError> {
    move |error| if error.code == code { Ok(None) } else { Err(error) }
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter().filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().unwrap_or_default().to_owned()))).collect()
}

/// An optional text field in the normal form (absent and empty are null).
fn text(value: Option<&str>) -> Value {
    scalar(Value::from(value.map(str::to_owned)))
}

/// The token (EC2) or marker (RDS, IAM) of the next page, when there is one.
fn next_page(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_owned)
}

/// An instance as drift compares it, all but its termination protection (a read of its
/// own, made only for declared instances).
fn listed_instance(instance: &aws_sdk_ec2::types::Instance) -> Option<Normalized> {
    let id = instance.instance_id()?;
    let mut a = Attributes::new();
    a.insert("instance_type".into(), text(instance.instance_type().map(aws_sdk_ec2::types::InstanceType::as_str)));
    a.insert(
        "vpc_security_group_ids".into(),
        string_set(instance.security_groups().iter().filter_map(|g| g.group_id()).map(str::to_owned)),
    );
    // Terraform records the profile's name; the API returns its ARN.
    let profile = instance.iam_instance_profile().and_then(|p| p.arn()).and_then(|arn| arn.rsplit('/').next());
    a.insert("iam_instance_profile".into(), text(profile));
    let tokens = instance.metadata_options().and_then(|m| m.http_tokens()).map(|t| t.as_str().to_owned());
    a.insert("metadata_options.http_tokens".into(), scalar(Value::from(tokens)));
    let monitoring = instance.monitoring().and_then(|m| m.state()).is_some_and(|s| s.as_str() == "enabled");
    a.insert("monitoring".into(), Value::Bool(monitoring));
    insert_tags(&mut a, ec2_tags(instance.tags()));
    Some(normalized("aws_instance", id, a))
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
    /// `wanted` says which listings run and whose details are read (state-directed).
    pub async fn collect(
        &self,
        global: bool,
        bucket_regions: &[String],
        wanted: &Wanted,
    ) -> Result<Vec<Normalized>, CallError> {
        let listings: BTreeSet<Listing> = catalogue::entries()
            .filter_map(|entry| entry.listing)
            .filter(|listing| global || listing.scope() == Scope::Regional)
            .filter(|listing| wanted.lists(*listing))
            .collect();
        let reads = listings.iter().map(|listing| self.list(*listing, bucket_regions, wanted));
        let mut resources = Vec::new();
        for listed in futures_util::future::join_all(reads).await {
            resources.extend(listed?);
        }
        Ok(resources)
    }

    /// One listing of the catalogue, in the normal form of the types it serves.
    async fn list(
        &self,
        listing: Listing,
        bucket_regions: &[String],
        wanted: &Wanted,
    ) -> Result<Vec<Normalized>, CallError> {
        match listing {
            Listing::Ec2Instances => self.instances(wanted).await,
            Listing::Ec2SecurityGroups => self.security_groups().await,
            Listing::Ec2SecurityGroupRules => self.security_group_rules().await,
            Listing::Ec2Vpcs => self.vpcs(wanted).await,
            Listing::Ec2Subnets => self.subnets(wanted).await,
            Listing::Ec2InternetGateways => self.internet_gateways().await,
            Listing::Ec2RouteTables => self.route_tables(wanted).await,
            Listing::Ec2NetworkAcls => self.network_acls(wanted).await,
            Listing::Ec2Addresses => self.addresses().await,
            Listing::Ec2KeyPairs => self.key_pairs().await,
            Listing::Ec2Volumes => self.volumes(wanted).await,
            Listing::Ec2EbsEncryptionByDefault => self.ebs_encryption_by_default().await,
            Listing::Ec2NetworkInterfaces => self.network_interfaces(wanted).await,
            Listing::Ec2LaunchTemplates => self.launch_templates(wanted).await,
            Listing::Ec2FlowLogs => self.flow_logs().await,
            Listing::Ec2VpcEndpoints => self.vpc_endpoints().await,
            Listing::RdsDbInstances => self.databases().await,
            Listing::RdsDbClusters => self.db_clusters().await,
            Listing::RdsDbSubnetGroups => self.db_subnet_groups(wanted).await,
            Listing::RdsDbParameterGroups => self.db_parameter_groups(wanted).await,
            Listing::RdsDbClusterParameterGroups => self.db_cluster_parameter_groups(wanted).await,
            Listing::RdsDbSnapshots => self.db_snapshots(wanted).await,
            Listing::S3Buckets => self.buckets(bucket_regions, wanted).await,
            Listing::IamRoles => self.roles(wanted).await,
            Listing::IamPolicies => self.policies(wanted).await,
            Listing::IamUsers => self.users(wanted).await,
            Listing::IamGroups => self.groups(wanted).await,
            Listing::IamInstanceProfiles => self.instance_profiles().await,
            Listing::IamOidcProviders => self.oidc_providers(wanted).await,
            Listing::IamSamlProviders => self.saml_providers(wanted).await,
            Listing::IamPasswordPolicy => self.password_policy().await,
        }
    }

    async fn instances(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let listed = self.live_instances(listed_instance).await?;
        // One attribute read per instance, several in flight (the account's pace still
        // bounds the rate), answers in the listing's order. Only declared instances: an
        // unmanaged one needs no attribute compared.
        let terminations = in_order(listed.len(), |index| {
            let id = listed[index].id.as_str();
            let read = wanted.details("aws_instance", id);
            async move { if read { self.termination_protected(id).await.map(Some) } else { Ok(None) } }
        })
        .await;
        let mut out = Vec::with_capacity(listed.len());
        for (mut instance, termination) in listed.into_iter().zip(terminations) {
            if let Some(termination) = termination? {
                instance.attributes.insert("disable_api_termination".into(), Value::Bool(termination));
            }
            out.push(instance);
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
                a.insert("name".into(), text(group.group_name()));
                a.insert("ingress".into(), permission_atoms(group.ip_permissions(), id));
                a.insert("egress".into(), permission_atoms(group.ip_permissions_egress(), id));
                insert_tags(&mut a, ec2_tags(group.tags()));
                out.push(normalized("aws_security_group", id, a));
            }
            token = next_page(page.next_token());
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
                a.insert("security_group_id".into(), text(rule.group_id()));
                a.insert("cidr_ipv4".into(), text(rule.cidr_ipv4()));
                a.insert("cidr_ipv6".into(), text(rule.cidr_ipv6()));
                a.insert(
                    "referenced_security_group_id".into(),
                    text(rule.referenced_group_info().and_then(|g| g.group_id())),
                );
                a.insert("prefix_list_id".into(), text(rule.prefix_list_id()));
                a.insert("ip_protocol".into(), Value::from(protocol_name));
                a.insert("from_port".into(), if all { Value::Null } else { Value::from(rule.from_port()) });
                a.insert("to_port".into(), if all { Value::Null } else { Value::from(rule.to_port()) });
                insert_tags(&mut a, ec2_tags(rule.tags()));
                out.push(normalized(resource_type, id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
