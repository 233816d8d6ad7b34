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
pub(crate) mod types;
mod wanted;

pub use types::{Attributes, Normalized};
pub use wanted::Wanted;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::catalogue;
use crate::model::{FindingKind, Provider};
use crate::report::DetectedDrift;

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

/// The parts a scope declares, per parent (type, id): per attribute, the atoms or map keys
/// its parts name.
type Parts = BTreeMap<(String, String), BTreeMap<&'static str, BTreeSet<String>>>;

fn declared_parts(declared: &[Normalized]) -> Parts {
    let mut parts = Parts::new();
    for resource in declared {
        let Some(part_of) = catalogue::entry(&resource.resource_type).and_then(|entry| entry.part_of) else { continue };
        for element in (part_of.elements)(resource) {
            let parent = parts.entry((part_of.parent.to_owned(), element.parent)).or_default();
            parent.entry(element.attribute).or_default().insert(element.key);
        }
    }
    parts
}

/// Takes out of each parent's set or map the elements its declared parts name: those are
/// compared as the parts themselves, so one revoked rule is one finding (the rule is
/// missing), not two, and what a parent still holds beyond its own declared value was
/// added outside Terraform.
fn without_parts<'r>(resources: impl IntoIterator<Item = &'r Normalized>, parts: &Parts) -> Vec<Normalized> {
    resources
        .into_iter()
        .map(|resource| {
            let mut resource = resource.clone();
            let Some(attributes) = parts.get(&(resource.resource_type.clone(), resource.id.clone())) else {
                return resource;
            };
            for (attribute, elements) in attributes {
                if let Some(Value::Array(items)) = resource.attributes.get(*attribute) {
                    let kept: Vec<Value> = items
                        .iter()
                        .filter(|item| item.as_str().is_none_or(|atom| !elements.contains(atom)))
                        .cloned()
                        .collect();
                    resource.attributes.insert((*attribute).to_owned(), normalize::scalar(Value::Array(kept)));
                }
                for element in elements {
                    resource.attributes.remove(&format!("{attribute}.{element}"));
                }
            }
            resource
        })
        .collect()
}

/// A part with no listing of its own compared through its parent's live value (before
/// its parts were taken out): its elements must be there, and a map value must equal the
/// part's own attribute. `None`: not such a part.
fn compared_through_parent(
    scope: &Location,
    part: &Normalized,
    live_by_key: &BTreeMap<(&str, &str), &Normalized>,
) -> Option<Vec<DetectedDrift>> {
    let part_of = catalogue::entry(&part.resource_type)?.part_of?;
    let through = part_of.through_parent?;
    let mut findings = Vec::new();
    for catalogue::Element { parent, attribute, key: element } in (part_of.elements)(part) {
        let live = live_by_key.get(&(part_of.parent, parent.as_str())).map(|parent| &parent.attributes);
        let missing = || drift(scope, part, &part.tags(), FindingKind::Missing);
        match through {
            catalogue::Through::Presence => {
                let present = live
                    .and_then(|attributes| attributes.get(attribute))
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.iter().any(|item| item.as_str() == Some(element.as_str())));
                if !present {
                    findings.push(missing());
                    break;
                }
            }
            catalogue::Through::Value(path) => {
                let Some(actual) = live.and_then(|attributes| attributes.get(&format!("{attribute}.{element}"))) else {
                    findings.push(missing());
                    break;
                };
                let expected = part.attributes.get(path).cloned().unwrap_or(Value::Null);
                if &expected != actual {
                    let mut finding = drift(scope, part, &part.tags(), FindingKind::Modified);
                    finding.attribute = Some(path.to_owned());
                    finding.expected = (!expected.is_null()).then_some(expected);
                    finding.actual = (!actual.is_null()).then(|| actual.clone());
                    findings.push(finding);
                }
            }
        }
    }
    Some(findings)
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
    let mut findings = Vec::new();
    // The declared values whole, for the remediation builders (a set's other atoms).
    let as_declared: BTreeMap<(&str, &str), &Normalized> =
        declared.iter().map(|resource| ((resource.resource_type.as_str(), resource.id.as_str()), resource)).collect();
    // Parts compared through their parents see the parents whole.
    let whole: BTreeMap<(&str, &str), &Normalized> =
        live.iter().map(|resource| ((resource.resource_type.as_str(), resource.id.as_str()), resource)).collect();
    let mut own = Vec::with_capacity(declared.len());
    for want in declared {
        match compared_through_parent(scope, want, &whole) {
            Some(found) => findings.extend(found),
            None => own.push(want),
        }
    }
    let parts = declared_parts(declared);
    // Copied only when there is something to take out: the diff of a large estate copies nothing.
    let (taken_declared, taken_live);
    let (declared, live): (Vec<&Normalized>, &[Normalized]) = if parts.is_empty() {
        (own, live)
    } else {
        taken_declared = without_parts(own, &parts);
        taken_live = without_parts(live, &parts);
        (taken_declared.iter().collect(), &taken_live)
    };
    let live_by_key: BTreeMap<(&str, &str), &Normalized> =
        live.iter().map(|resource| ((resource.resource_type.as_str(), resource.id.as_str()), resource)).collect();
    let declared_keys: BTreeSet<(&str, &str)> =
        declared.iter().map(|resource| (resource.resource_type.as_str(), resource.id.as_str())).collect();
    for want in declared.iter().copied() {
        let Some(have) = live_by_key.get(&(want.resource_type.as_str(), want.id.as_str())) else {
            findings.push(drift(scope, want, &want.tags(), FindingKind::Missing));
            continue;
        };
        let entry = catalogue::entry(&want.resource_type);
        let live_tags = have.tags();
        // Keys only the live side has count where they are named: tags (for the types that
        // compare them; the others keep live tags for classification only) and map entries.
        let compares_tags = entry.is_some_and(|entry| entry.tags.is_some());
        let named = |key: &str| {
            (compares_tags && key.starts_with("tags."))
                || entry.and_then(|entry| entry.attribute_of(key)).is_some_and(|(_, name)| name.is_some())
        };
        let keys: BTreeSet<&String> =
            want.attributes.keys().chain(have.attributes.keys().filter(|key| named(key))).collect();
        for key in keys {
            let expected = want.attributes.get(key).cloned().unwrap_or(Value::Null);
            let actual = have.attributes.get(key).cloned().unwrap_or(Value::Null);
            if expected == actual {
                continue;
            }
            let set = entry.and_then(|entry| entry.attribute(key)).is_some_and(|a| a.shape == catalogue::Shape::Set);
            if set {
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
        let whole = finding.attribute.as_deref().and_then(|attribute| {
            as_declared.get(&(finding.resource_type.as_str(), finding.resource_id.as_str()))?.attributes.get(attribute)
        });
        finding.actions = plan::actions(finding, whole);
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
