//! Drift: declared (Terraform state) versus live (cloud) attributes, compared semantically.
//!
//! Both sides are first brought to one normal form per resource type ([`normalize`]):
//! a flat map from attribute path to a canonical JSON value. Sets become sorted lists,
//! policy documents canonical JSON, empty values null, security-group rules one atom
//! per (protocol, ports, source). Comparing is then plain equality, and each difference is
//! one [`DetectedDrift`] with a stable fingerprint.

pub mod declared;
pub mod normalize;
pub mod plan;
mod types;

pub use types::{Attributes, Normalized};

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::catalogue;
use crate::model::{FindingKind, Provider};
use crate::report::DetectedDrift;

/// Attributes whose value is a set of atoms: one finding per atom added or removed.
pub const SET_ATTRIBUTES: &[&str] = &["ingress", "egress"];

/// Where a set of resources lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Cloud.
    pub provider: Provider,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
}

/// Which live resources count as unmanaged when no state has them.
pub trait UnmanagedScope {
    /// Whether this live resource, absent from every state, is a finding.
    fn counts(&self, resource: &Normalized) -> bool;
}

impl<F: Fn(&Normalized) -> bool> UnmanagedScope for F {
    fn counts(&self, resource: &Normalized) -> bool {
        self(resource)
    }
}

fn drift(
    scope: &Location,
    resource: &Normalized,
    live_tags: &BTreeMap<String, String>,
    kind: FindingKind,
) -> DetectedDrift {
    DetectedDrift {
        provider: scope.provider,
        account: scope.account.clone(),
        region: scope.region.clone(),
        resource_type: resource.resource_type.clone(),
        resource_id: resource.id.clone(),
        address: resource.address.clone(),
        kind,
        attribute: None,
        expected: None,
        actual: None,
        tags: live_tags.clone(),
        actions: Vec::new(),
    }
}

/// A `missing` finding for a declared resource: what a remediation that met NotFound
/// turns into, so the run reports what really happened to the resource.
pub fn missing(scope: &Location, resource: &Normalized) -> DetectedDrift {
    drift(scope, resource, &resource.tags(), FindingKind::Missing)
}

/// Removes from the groups' `ingress`/`egress` sets the atoms that standalone rule
/// resources of the same state declare: those are compared as the rules themselves, so
/// one revoked rule is one finding (the rule is missing), not two.
fn without_standalone_rules(
    resources: &[Normalized],
    standalone: &BTreeMap<(String, &'static str), BTreeSet<String>>,
) -> Vec<Normalized> {
    resources
        .iter()
        .map(|resource| {
            let mut resource = resource.clone();
            if resource.resource_type == "aws_security_group" {
                for direction in ["ingress", "egress"] {
                    let Some(atoms) = standalone.get(&(resource.id.clone(), direction)) else { continue };
                    if let Some(Value::Array(items)) = resource.attributes.get(direction) {
                        let kept: Vec<Value> = items
                            .iter()
                            .filter(|item| item.as_str().is_none_or(|atom| !atoms.contains(atom)))
                            .cloned()
                            .collect();
                        resource.attributes.insert(direction.to_owned(), normalize::scalar(Value::Array(kept)));
                    }
                }
            }
            resource
        })
        .collect()
}

/// Compares declared against live resources of one scope. `declared` are those whose
/// state places them in this scope; `live` is everything collected there. Returns the
/// differences, sorted (address, attribute) for stable reports.
pub fn diff(
    scope: &Location,
    declared: &[Normalized],
    live: &[Normalized],
    unmanaged: &dyn UnmanagedScope,
) -> Vec<DetectedDrift> {
    let mut standalone: BTreeMap<(String, &'static str), BTreeSet<String>> = BTreeMap::new();
    for (group, direction, atom) in declared.iter().filter_map(normalize::standalone_rule_atom) {
        standalone.entry((group, direction)).or_default().insert(atom);
    }
    // Borrowed unless there is something to take out: the diff of a large estate copies nothing.
    let (declared, live): (Cow<'_, [Normalized]>, Cow<'_, [Normalized]>) = if standalone.is_empty() {
        (Cow::Borrowed(declared), Cow::Borrowed(live))
    } else {
        (
            Cow::Owned(without_standalone_rules(declared, &standalone)),
            Cow::Owned(without_standalone_rules(live, &standalone)),
        )
    };
    let (declared, live) = (declared.as_ref(), live.as_ref());
    let live_by_key: BTreeMap<(&str, &str), &Normalized> =
        live.iter().map(|resource| ((resource.resource_type.as_str(), resource.id.as_str()), resource)).collect();
    let declared_keys: BTreeSet<(&str, &str)> =
        declared.iter().map(|resource| (resource.resource_type.as_str(), resource.id.as_str())).collect();
    let mut findings = Vec::new();
    for want in declared {
        let Some(have) = live_by_key.get(&(want.resource_type.as_str(), want.id.as_str())) else {
            findings.push(drift(scope, want, &want.tags(), FindingKind::Missing));
            continue;
        };
        let live_tags = have.tags();
        let keys: BTreeSet<&String> =
            want.attributes.keys().chain(have.attributes.keys().filter(|key| key.starts_with("tags."))).collect();
        for key in keys {
            let expected = want.attributes.get(key).cloned().unwrap_or(Value::Null);
            let actual = have.attributes.get(key).cloned().unwrap_or(Value::Null);
            if expected == actual {
                continue;
            }
            if SET_ATTRIBUTES.contains(&key.as_str()) {
                // Keyed by canonical text: JSON values have no order of their own.
                let as_set = |value: &Value| -> BTreeMap<String, Value> {
                    value
                        .as_array()
                        .map(|items| items.iter().map(|item| (item.to_string(), item.clone())).collect())
                        .unwrap_or_default()
                };
                let (want_set, have_set) = (as_set(&expected), as_set(&actual));
                for (text, added) in &have_set {
                    if !want_set.contains_key(text) {
                        let mut finding = drift(scope, want, &live_tags, FindingKind::Modified);
                        finding.attribute = Some(key.clone());
                        finding.actual = Some(added.clone());
                        findings.push(finding);
                    }
                }
                for (text, removed) in &want_set {
                    if !have_set.contains_key(text) {
                        let mut finding = drift(scope, want, &live_tags, FindingKind::Modified);
                        finding.attribute = Some(key.clone());
                        finding.expected = Some(removed.clone());
                        findings.push(finding);
                    }
                }
                continue;
            }
            let mut finding = drift(scope, want, &live_tags, FindingKind::Modified);
            finding.attribute = Some(key.clone());
            finding.expected = (!expected.is_null()).then_some(expected);
            finding.actual = (!actual.is_null()).then_some(actual);
            findings.push(finding);
        }
    }
    for have in live {
        // Only types the catalogue lists as resources of their own: a bucket's versioning
        // or encryption is part of an unmanaged bucket, not a second finding.
        let own_resource = catalogue::entry(&have.resource_type).is_some_and(|entry| entry.unmanaged);
        if own_resource
            && !declared_keys.contains(&(have.resource_type.as_str(), have.id.as_str()))
            && unmanaged.counts(have)
        {
            findings.push(drift(scope, have, &have.tags(), FindingKind::Unmanaged));
        }
    }
    for finding in &mut findings {
        finding.actions = plan::actions(finding);
    }
    findings.sort_by(|a, b| {
        (&a.resource_type, &a.resource_id, &a.attribute, a.kind).cmp(&(
            &b.resource_type,
            &b.resource_id,
            &b.attribute,
            b.kind,
        ))
    });
    findings
}

#[cfg(test)]
mod tests;
