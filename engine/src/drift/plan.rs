//! Remediation planning: for each finding, the explicit API calls that restore the declared
//! state, as the type's catalogue entry says (its tag calls, or the attribute's builder).
//! Drift with no safe automatic fix (an instance's type or profile, missing and unmanaged
//! resources, unknown attributes) gets no calls, so its flow escalates it.

use serde_json::Value;

use crate::catalogue::{self, Fix};
use crate::model::FindingKind;
use crate::remediation::RemediationCall;
use crate::report::DetectedDrift;

/// The calls that fix one finding (empty: no automatic fix). `declared` is the attribute's
/// whole declared value (a set's every atom), when the finding's resource is declared.
pub fn actions(finding: &DetectedDrift, declared: Option<&Value>) -> Vec<RemediationCall> {
    if finding.kind != FindingKind::Modified {
        return Vec::new();
    }
    let Some(attribute) = finding.attribute.as_deref() else { return Vec::new() };
    let Some(entry) = catalogue::entry(&finding.resource_type) else { return Vec::new() };
    let id = finding.resource_id.as_str();
    if let Some(tag) = attribute.strip_prefix("tags.") {
        let Some(call) = entry.tags else { return Vec::new() };
        // Tag values are text in the normal form; anything else has no safe fix.
        return match &finding.expected {
            None => vec![call(id, tag, None)],
            Some(Value::String(value)) => vec![call(id, tag, Some(value))],
            Some(_) => Vec::new(),
        };
    }
    let Some((attribute, key)) = entry.attribute_of(attribute) else { return Vec::new() };
    let fix = Fix { id, key, expected: finding.expected.as_ref(), actual: finding.actual.as_ref(), declared };
    attribute.fix.and_then(|build| build(&fix)).into_iter().collect()
}
