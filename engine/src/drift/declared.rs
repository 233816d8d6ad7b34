//! The declared side of a comparison: a Terraform state instance of a compared type, in
//! the normal form its catalogue entry describes.

use serde_json::Value;

use super::normalize::{declared_tags, insert_tags};
use super::types::{Attributes, Normalized};
use crate::catalogue::{self, Shape};
use crate::tfstate::StateResource;

/// Whether drift detection compares this Terraform type (its catalogue entry says how).
pub fn compared(resource_type: &str) -> bool {
    catalogue::entry(resource_type).is_some_and(catalogue::Entry::compared)
}

/// The declared side of a state resource, for the compared types (else `None`): its id
/// and attributes as its catalogue entry reads them.
pub fn declared(resource: &StateResource) -> Option<Normalized> {
    let entry = catalogue::entry(&resource.resource_type).filter(|entry| entry.compared())?;
    let a = &resource.attributes.value();
    let id = entry.state_id(a)?;
    let mut out = Attributes::new();
    for attribute in entry.attributes {
        let value = (attribute.declared)(a);
        if attribute.shape == Shape::Map {
            // One key per name; none declared is none live (an empty map is no keys).
            if let Value::Object(named) = value {
                out.extend(named.into_iter().map(|(name, value)| (format!("{}.{name}", attribute.path), value)));
            }
        } else {
            out.insert(attribute.path.to_owned(), value);
        }
    }
    if entry.tags.is_some() {
        insert_tags(&mut out, declared_tags(a));
    }
    Some(Normalized {
        resource_type: resource.resource_type.clone(),
        id,
        address: resource.address.clone(),
        attributes: out,
    })
}
