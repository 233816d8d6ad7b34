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
    /// `ec2:DescribeVpcs`, then for declared VPCs `ec2:DescribeVpcAttribute` (DNS).
    Ec2Vpcs,
    /// `ec2:DescribeSubnets`.
    Ec2Subnets,
    /// `ec2:DescribeInternetGateways`.
    Ec2InternetGateways,
    /// `ec2:DescribeRouteTables`: tables with their routes and associations.
    Ec2RouteTables,
    /// `ec2:DescribeNetworkAcls`: ACLs with their entries.
    Ec2NetworkAcls,
    /// `ec2:DescribeAddresses`.
    Ec2Addresses,
    /// `ec2:DescribeKeyPairs`.
    Ec2KeyPairs,
    /// `ec2:DescribeVolumes`.
    Ec2Volumes,
    /// `ec2:GetEbsEncryptionByDefault`.
    Ec2EbsEncryptionByDefault,
    /// `ec2:DescribeNetworkInterfaces`.
    Ec2NetworkInterfaces,
    /// `ec2:DescribeLaunchTemplates`, then the latest version of declared templates.
    Ec2LaunchTemplates,
    /// `ec2:DescribeFlowLogs`.
    Ec2FlowLogs,
    /// `ec2:DescribeVpcEndpoints`.
    Ec2VpcEndpoints,
    /// `rds:DescribeDBInstances`: instances, and Aurora cluster members as cluster instances.
    RdsDbInstances,
    /// `rds:DescribeDBClusters`.
    RdsDbClusters,
    /// `rds:DescribeDBSubnetGroups`.
    RdsDbSubnetGroups,
    /// `rds:DescribeDBParameterGroups`, then `rds:DescribeDBParameters` for declared groups.
    RdsDbParameterGroups,
    /// `rds:DescribeDBClusterParameterGroups`, then `rds:DescribeDBClusterParameters` for
    /// declared groups.
    RdsDbClusterParameterGroups,
    /// `rds:DescribeDBSnapshots` (manual), then `rds:DescribeDBSnapshotAttributes` for
    /// declared snapshots.
    RdsDbSnapshots,
    /// `s3:ListBuckets`, then each bucket's documents in its own region: one listing gives
    /// the bucket and its three configuration types.
    S3Buckets,
    /// `iam:ListRoles`, then `iam:GetRole` per role.
    IamRoles,
    /// `iam:ListPolicies` (customer managed), then `iam:GetPolicyVersion` per policy.
    IamPolicies,
    /// `iam:ListUsers`, then per user its tags, and for declared users their attachments,
    /// inline policies and groups; access keys when they are compared.
    IamUsers,
    /// `iam:ListGroups`, then for declared groups their attachments and inline policies.
    IamGroups,
    /// `iam:ListInstanceProfiles` (with their roles).
    IamInstanceProfiles,
    /// `iam:ListOpenIDConnectProviders`, then `iam:GetOpenIDConnectProvider` per provider.
    IamOidcProviders,
    /// `iam:ListSAMLProviders`, then `iam:GetSAMLProvider` per provider.
    IamSamlProviders,
    /// `iam:GetAccountPasswordPolicy`.
    IamPasswordPolicy,
}

impl Listing {
    /// Where it runs: per region, or once per account.
    pub fn scope(self) -> Scope {
        match self {
            Listing::Ec2Instances
            | Listing::Ec2SecurityGroups
            | Listing::Ec2SecurityGroupRules
            | Listing::Ec2Vpcs
            | Listing::Ec2Subnets
            | Listing::Ec2InternetGateways
            | Listing::Ec2RouteTables
            | Listing::Ec2NetworkAcls
            | Listing::Ec2Addresses
            | Listing::Ec2KeyPairs
            | Listing::Ec2Volumes
            | Listing::Ec2EbsEncryptionByDefault
            | Listing::Ec2NetworkInterfaces
            | Listing::Ec2LaunchTemplates
            | Listing::Ec2FlowLogs
            | Listing::Ec2VpcEndpoints
            | Listing::RdsDbInstances
            | Listing::RdsDbClusters
            | Listing::RdsDbSubnetGroups
            | Listing::RdsDbParameterGroups
            | Listing::RdsDbClusterParameterGroups
            | Listing::RdsDbSnapshots => Scope::Regional,
            Listing::S3Buckets
            | Listing::IamRoles
            | Listing::IamPolicies
            | Listing::IamUsers
            | Listing::IamGroups
            | Listing::IamInstanceProfiles
            | Listing::IamOidcProviders
            | Listing::IamSamlProviders
            | Listing::IamPasswordPolicy => Scope::Account,
        }
    }
}

/// What a remediation builder sees of one finding.
#[derive(Debug, Clone, Copy)]
pub struct Fix<'a> {
    /// The resource's cloud id.
    pub id: &'a str,
    /// For a [`Shape::Map`] attribute, the key that drifted (an inline policy's name).
    pub key: Option<&'a str>,
    /// The declared value (absent for a set element that appeared).
    pub expected: Option<&'a Value>,
    /// The live value (absent for a set element that went missing).
    pub actual: Option<&'a Value>,
    /// The attribute's whole declared value (every atom of a set), when known.
    pub declared: Option<&'a Value>,
}

/// How an attribute's value is compared, and what one finding about it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// One value: one finding when it differs.
    Value,
    /// A set of atoms (rules, policy ARNs): one finding per atom added or removed, so each
    /// can be revoked or restored on its own.
    Set,
    /// Named documents (inline policies): the normal form holds one key per name,
    /// `path.NAME`, and each name is compared, and fixed, on its own.
    Map,
}

/// One compared attribute of a type.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// How it is compared.
    pub shape: Shape,
    /// Its path in the normal form (`instance_type`, `metadata_options.http_tokens`).
    pub path: &'static str,
    /// The declared side: from a state instance's attributes to the normal form (the live
    /// side writes the same form with the same helpers, `drift::normalize`). A map
    /// attribute's builder returns an object (name to value), spread into `path.NAME` keys.
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

/// A type that is part of another's set or map attribute: a standalone security group
/// rule of its group's `ingress`, a policy attachment of its role's `managed_policy_arns`,
/// an inline policy of its role's `inline_policy`. Terraform records such a part twice
/// (as its own resource and, after a refresh, in its parent), and the cloud only in the
/// parent. The comparison takes the parts out of the parent on both sides, so what the
/// parent still holds beyond its declared value was added outside Terraform (one finding
/// on the parent, fixable), and a declared part is compared once, as itself.
#[derive(Debug, Clone, Copy)]
pub struct PartOf {
    /// The parent's Terraform type.
    pub parent: &'static str,
    /// From the part's declared normal form, each element it declares (a legacy rule with
    /// two CIDRs declares two atoms).
    pub elements: fn(&crate::drift::types::Normalized) -> Vec<Element>,
    /// How the part itself is compared: `None` when the live side lists the part as a
    /// resource of its own (a rule has an id of its own); else through its parent's live
    /// value. A set element absent from the parent is the part gone missing; a map key's
    /// value is compared with the part's attribute of this path (an inline policy's
    /// `policy`), one fixable finding on the part.
    pub through_parent: Option<Through>,
}

/// One element a part declares in its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The parent's id.
    pub parent: String,
    /// The parent's [`Shape::Set`] or [`Shape::Map`] attribute that holds it.
    pub attribute: &'static str,
    /// The set's atom, or the map's key.
    pub key: String,
}

/// How a part with no live listing of its own is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Through {
    /// Present in the parent's set, or missing.
    Presence,
    /// The parent's map value under the part's key equals the part's attribute of this path.
    Value(&'static str),
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
    /// For types whose Terraform id is not the cloud's (an attachment's is random): the id
    /// made from the instance's attributes, in the form of the provider's import id
    /// (`role/arn`). Used instead of `identity`.
    pub composite_id: Option<fn(&Value) -> Option<String>>,
    /// Part of another type's set or map attribute.
    pub part_of: Option<PartOf>,
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
            composite_id: None,
            part_of: None,
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

    /// The attribute a normal-form key belongs to, with the map key for a map attribute
    /// (`inline_policy.admin` is `inline_policy`'s key `admin`).
    pub fn attribute_of<'k>(&self, key: &'k str) -> Option<(&Attribute, Option<&'k str>)> {
        if let Some(attribute) = self.attribute(key).filter(|a| a.shape != Shape::Map) {
            return Some((attribute, None));
        }
        self.attributes.iter().filter(|a| a.shape == Shape::Map).find_map(|attribute| {
            let name = key.strip_prefix(attribute.path)?.strip_prefix('.')?;
            Some((attribute, Some(name)))
        })
    }

    /// Its id in a state instance's attributes.
    pub fn state_id(&self, attributes: &Value) -> Option<String> {
        match self.composite_id {
            Some(compose) => compose(attributes),
            None => {
                self.identity.iter().find_map(|key| attributes.get(*key).and_then(Value::as_str)).map(str::to_owned)
            }
        }
    }
}

/// Every entry of every cloud.
pub fn entries() -> impl Iterator<Item = &'static Entry> {
    aws::entries().chain(other::ENTRIES.iter())
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
    /// Drift detection compares it (a part such as a policy attachment is compared
    /// through its parent and may have no attribute of its own).
    pub compared: bool,
    /// The type whose set or map attribute holds it (a rule's group, an attachment's role).
    pub part_of: Option<&'static str>,
    /// Compared through that parent's live value (it has no live id of its own).
    pub through_parent: bool,
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
                compared: entry.compared(),
                part_of: entry.part_of.map(|part_of| part_of.parent),
                through_parent: entry.part_of.is_some_and(|part_of| part_of.through_parent.is_some()),
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

    fn entry_of(resource_type: &str) -> &'static Entry {
        entry(resource_type).unwrap_or_else(|| panic!("{resource_type}: no entry"))
    }

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
        let compared = entries().filter(|entry| entry.compared() && entry.provider == Provider::Aws).count();
        assert!(compared >= 55, "{compared} AWS types compared: issue 14 asks for at least 55");
        for entry in entries().filter(|entry| entry.compared()) {
            for attribute in entry.attributes.iter().filter(|a| a.shape == Shape::Map) {
                assert!(!attribute.path.contains('.'), "{}: a map's path is one segment", entry.resource_type);
            }
            if let Some(part_of) = entry.part_of {
                let parent = entry_of(part_of.parent);
                // A part compared through its parent has no live instances of its own.
                if part_of.through_parent.is_some() {
                    assert_eq!(parent.listing, entry.listing, "{}: listed with its parent", entry.resource_type);
                }
                // What a part adds outside Terraform is drift on its parent (or part of an
                // unmanaged parent): never a second, unmanaged finding.
                assert!(!entry.unmanaged, "{}: never unmanaged on its own", entry.resource_type);
            }
        }
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
