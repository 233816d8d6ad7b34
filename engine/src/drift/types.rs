//! The normal form's types: what both sides of a comparison are brought to.

use std::collections::BTreeMap;

use serde_json::Value;

/// A flat, normalised attribute map (`tags.Owner`, `ingress`, `versioning_configuration.status`).
pub type Attributes = BTreeMap<String, Value>;

/// One resource in normal form, declared or live.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// Terraform resource type.
    pub resource_type: String,
    /// Cloud id as Terraform records it (instance id, bucket name, role name, …).
    pub id: String,
    /// Terraform address (declared side only).
    pub address: String,
    /// Attributes.
    pub attributes: Attributes,
}

impl Normalized {
    /// Tags, from the `tags.*` attributes.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.attributes
            .iter()
            .filter_map(|(key, value)| {
                let tag = key.strip_prefix("tags.")?;
                Some((tag.to_owned(), value.as_str().unwrap_or_default().to_owned()))
            })
            .collect()
    }
}
