//! The resource catalogue: every Terraform type DriftGuard knows, declared once, one
//! [`Entry`] per type, per cloud. An entry says everything the halves need to agree on:
//! which service and scope the type lives in, how a state names an instance of it, how the
//! live side is listed and which detail reads it costs, which attributes are compared (each
//! with its declared-side normaliser) and which of them can be restored by which call,
//! whether live instances count as unmanaged, and whether the janitor may delete it and in
//! which order. The comparison ([`crate::drift`]), the planner, the providers' collectors,
//! the janitor and `driftguard coverage` all read it; none keeps a list of its own.
//!
//! Adding a type: one entry here (and, when it needs a listing no entry uses yet, one
//! collector on the providers side for the new [`Listing`]), plus its test. See
//! ARCHITECTURE.md, "Adding a resource type".

pub mod aws;
mod other;

use serde::Serialize;
use serde_json::Value;

use crate::model::JanitorTarget;
use crate::model::Provider;
use crate::remediation::RemediationCall;

/// Where instances of a type live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One region (EC2, RDS): listed per region of the account.
    Regional,
    /// The whole account (S3 buckets, which each have a region of their own; IAM): listed
    /// once per account.
    Account,
}

/// How the live side of a type is listed: one enum the providers' collectors match
/// exhaustively, so a type without a collector does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// `ec2:DescribeInstances` (every page), with `ec2:DescribeInstanceAttribute` per instance.
    Ec2Instances,
    /// `ec2:DescribeSecurityGroups`: groups with their inline rules.
    Ec2SecurityGroups,
    /// `ec2:DescribeSecurityGroupRules`: standalone rules, ingress and egress.
    Ec2SecurityGroupRules,
    /// `rds:DescribeDBInstances`.
    RdsDbInstances,
    /// `s3:ListBuckets`, then each bucket's documents in its own region: one listing gives
    /// the bucket and its three configuration types.
    S3Buckets,
    /// `iam:ListRoles`, then `iam:GetRole` per role.
    IamRoles,
    /// `iam:ListPolicies` (customer managed), then `iam:GetPolicyVersion` per policy.
    IamPolicies,
}

impl Listing {
    /// Where it runs: per region, or once per account.
    pub fn scope(self) -> Scope {
        match self {
            Listing::Ec2Instances
            | Listing::Ec2SecurityGroups
            | Listing::Ec2SecurityGroupRules
            | Listing::RdsDbInstances => Scope::Regional,
            Listing::S3Buckets | Listing::IamRoles | Listing::IamPolicies => Scope::Account,
        }
    }
}

/// What a remediation builder sees of one finding.
#[derive(Debug, Clone, Copy)]
pub struct Fix<'a> {
    /// The resource's cloud id.
    pub id: &'a str,
    /// The declared value (absent for a set element that appeared).
    pub expected: Option<&'a Value>,
    /// The live value (absent for a set element that went missing).
    pub actual: Option<&'a Value>,
}

/// One compared attribute of a type.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// Its path in the normal form (`instance_type`, `metadata_options.http_tokens`).
    pub path: &'static str,
    /// The declared side: from a state instance's attributes to the normal form (the live
    /// side writes the same form with the same helpers, `drift::normalize`).
    pub declared: fn(&Value) -> Value,
    /// The call that restores the declared value, when a safe one exists.
    pub fix: Option<fn(&Fix<'_>) -> Option<RemediationCall>>,
}

/// The call that writes one tag of a type (`Some(value)`) or removes it (`None`), given
/// the resource's cloud id and the key.
pub type TagCall = fn(id: &str, key: &str, value: Option<&str>) -> RemediationCall;

/// What the janitor may do with a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JanitorRole {
    /// The policy's name for it (`janitor.targets`).
    pub target: JanitorTarget,
    /// Deletion order across types: what uses others goes first (0 first).
    pub order: u8,
}

/// One resource type, declared once.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The cloud.
    pub provider: Provider,
    /// The Terraform type.
    pub resource_type: &'static str,
    /// The cloud service that serves it (named by `driftguard coverage`).
    pub service: &'static str,
    /// How a state names an instance: the first of these attributes that is a string (the
    /// same value the live side uses as the id).
    pub identity: &'static [&'static str],
    /// How the live side is listed (`None`: not compared, e.g. a janitor-only type).
    pub listing: Option<Listing>,
    /// The detail reads each listed instance costs (named by `driftguard coverage`).
    pub details: &'static [&'static str],
    /// Compared attributes.
    pub attributes: &'static [Attribute],
    /// Tags are compared (`tags.*`), and restored with these calls.
    pub tags: Option<TagCall>,
    /// Live instances in no state are resources of their own, so they can be unmanaged
    /// findings (`detection.unmanaged` chooses which of these types are reported; a type
    /// that is part of another, such as a bucket's versioning, never is).
    pub unmanaged: bool,
    /// The janitor may delete it.
    pub janitor: Option<JanitorRole>,
}

impl Entry {
    /// An entry that is listed nowhere, compares nothing and deletes nothing: the base the
    /// per-cloud files fill in.
    pub(super) const fn blank(provider: Provider, identity: &'static [&'static str]) -> Entry {
        Entry {
            provider,
            resource_type: "",
            service: "",
            identity,
            listing: None,
            details: &[],
            attributes: &[],
            tags: None,
            unmanaged: false,
            janitor: None,
        }
    }

    /// Whether drift detection compares this type.
    pub fn compared(&self) -> bool {
        self.listing.is_some()
    }

    /// Where its instances are listed, for the compared types: per region or once per
    /// account (its listing's).
    pub fn scope(&self) -> Option<Scope> {
        self.listing.map(Listing::scope)
    }

    /// The attribute with this path.
    pub fn attribute(&self, path: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|attribute| attribute.path == path)
    }
}

/// Every entry of every cloud.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    aws::ENTRIES.iter().chain(other::ENTRIES.iter())
}

/// The entry of a Terraform type.
pub fn entry(resource_type: &str) -> Option<&'static Entry> {
    entries().find(|entry| entry.resource_type == resource_type)
}

/// The entry the janitor deletes as `target`.
pub fn janitor_entry(target: JanitorTarget) -> Option<&'static Entry> {
    entries().find(|entry| entry.janitor.is_some_and(|role| role.target == target))
}

/// One line of `driftguard coverage --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The cloud.
    pub provider: Provider,
    /// The Terraform type.
    pub resource_type: &'static str,
    /// The cloud service that serves it.
    pub service: &'static str,
    /// The detail reads each listed instance costs, beyond its listing.
    pub details: &'static [&'static str],
    /// Compared attribute paths (`tags.*` for every tag).
    pub attributes: Vec<&'static str>,
    /// The paths a safe call restores.
    pub remediation: Vec<&'static str>,
    /// Listed for unmanaged detection.
    pub unmanaged: bool,
    /// The janitor may delete it.
    pub janitor: bool,
}

/// The coverage of the whole catalogue, in catalogue order.
pub fn coverage() -> Vec<Coverage> {
    entries()
        .map(|entry| {
            let mut attributes: Vec<&'static str> = entry.attributes.iter().map(|a| a.path).collect();
            let mut remediation: Vec<&'static str> =
                entry.attributes.iter().filter(|a| a.fix.is_some()).map(|a| a.path).collect();
            if entry.tags.is_some() {
                attributes.push("tags.*");
                remediation.push("tags.*");
            }
            Coverage {
                provider: entry.provider,
                resource_type: entry.resource_type,
                service: entry.service,
                details: entry.details,
                attributes,
                remediation,
                unmanaged: entry.unmanaged,
                janitor: entry.janitor.is_some(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_type_is_declared_once_and_every_janitor_target_has_its_entry() {
        let mut seen = BTreeSet::new();
        for entry in entries() {
            assert!(seen.insert(entry.resource_type), "{} twice", entry.resource_type);
            assert!(!entry.identity.is_empty(), "{}: no identity", entry.resource_type);
            let paths: BTreeSet<&str> = entry.attributes.iter().map(|a| a.path).collect();
            assert_eq!(paths.len(), entry.attributes.len(), "{}: an attribute twice", entry.resource_type);
        }
        for target in JanitorTarget::ALL {
            let entry = janitor_entry(target).unwrap_or_else(|| panic!("{target:?} has no entry"));
            assert_eq!(entry.resource_type, target.as_str());
            assert_eq!(entry.provider, target.provider());
        }
        assert_eq!(entries().filter(|entry| entry.compared()).count(), 11, "the 11 compared types of today");
    }

    #[test]
    fn coverage_names_what_is_compared_and_what_can_be_fixed() {
        let all = coverage();
        let instance = all.iter().find(|c| c.resource_type == "aws_instance").unwrap();
        assert_eq!(
            instance.attributes,
            [
                "instance_type",
                "vpc_security_group_ids",
                "iam_instance_profile",
                "disable_api_termination",
                "metadata_options.http_tokens",
                "monitoring",
                "tags.*"
            ]
        );
        assert_eq!(
            instance.remediation,
            [
                "vpc_security_group_ids",
                "disable_api_termination",
                "metadata_options.http_tokens",
                "monitoring",
                "tags.*"
            ]
        );
        assert!(instance.unmanaged && instance.janitor);
        let versioning = all.iter().find(|c| c.resource_type == "aws_s3_bucket_versioning").unwrap();
        assert!(!versioning.unmanaged && !versioning.janitor);
        let group = all.iter().find(|c| c.resource_type == "azurerm_resource_group").unwrap();
        assert!(group.attributes.is_empty() && group.janitor);
    }
}
