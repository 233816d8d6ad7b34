//! Remediation planning: for each finding, the explicit API calls that restore the declared
//! state, as the type's catalogue entry says (its tag calls, or the attribute's builder).
//! Drift with no safe automatic fix (an instance's type or profile, missing and unmanaged
//! resources, unknown attributes) gets no calls, so its flow escalates it.

use serde_json::json;

use crate::catalogue::{self, Fix};
use crate::finding::Action;
use crate::model::FindingKind;
use crate::report::DetectedDrift;

/// The calls that fix one finding (empty: no automatic fix).
pub fn actions(finding: &DetectedDrift) -> Vec<Action> {
    if finding.kind != FindingKind::Modified {
        return Vec::new();
    }
    let Some(attribute) = finding.attribute.as_deref() else { return Vec::new() };
    let Some(entry) = catalogue::entry(&finding.resource_type) else { return Vec::new() };
    let id = finding.resource_id.as_str();
    if let Some(tag) = attribute.strip_prefix("tags.") {
        let Some(calls) = entry.tags else { return Vec::new() };
        let (api, params) = match &finding.expected {
            Some(value) => (calls.add, json!({"Key": tag, "Value": value})),
            None => (calls.remove, json!({"Key": tag})),
        };
        return vec![Action { api: api.to_owned(), target: id.to_owned(), params }];
    }
    let fix = Fix { id, attribute, expected: finding.expected.as_ref(), actual: finding.actual.as_ref() };
    entry.attribute(attribute).and_then(|a| a.fix).and_then(|build| build(&fix)).into_iter().collect()
}
