//! What one collection has to read: state-directed. A type is listed only when a state
//! declares it (or one of its parts) or the policy reports its unmanaged instances; the
//! detail reads a comparison needs (a bucket's documents, a role's attachments, an
//! instance's termination protection) are made only for the resources the states declare.
//! Unmanaged detection needs existence, region and tags only.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use super::types::Normalized;
use crate::catalogue::{self, Listing};

/// The types to list and the resources whose details to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Listed types.
    types: BTreeSet<&'static str>,
    /// (type, id) of the resources whose details are read.
    details: BTreeSet<(&'static str, String)>,
    /// Every detail of every listed resource (benchmarks and the no-state case of tools
    /// that want the whole estate).
    all_details: bool,
}

impl Wanted {
    /// From the declared resources of every state and the unmanaged types the policy
    /// reports (`unmanaged` says whether a type counts). Takes the declared resources by
    /// reference or by value: a large state's normal forms need not all be held at once.
    pub fn new(
        declared: impl IntoIterator<Item = impl Borrow<Normalized>>,
        unmanaged: impl Fn(&str) -> bool,
    ) -> Wanted {
        let mut wanted = Wanted::default();
        for resource in declared {
            let resource = resource.borrow();
            let Some(entry) = catalogue::entry(&resource.resource_type) else { continue };
            wanted.types.insert(entry.resource_type);
            match entry.part_of {
                Some(part_of) => {
                    let Some(parent) = catalogue::entry(part_of.parent) else { continue };
                    wanted.types.insert(parent.resource_type);
                    for element in (part_of.elements)(resource) {
                        wanted.details.insert((parent.resource_type, element.parent));
                    }
                    if part_of.through_parent.is_none() {
                        wanted.details.insert((entry.resource_type, resource.id.clone()));
                    }
                }
                None => {
                    wanted.details.insert((entry.resource_type, resource.id.clone()));
                }
            }
        }
        for entry in catalogue::entries().filter(|entry| entry.compared() && entry.unmanaged) {
            if unmanaged(entry.resource_type) {
                wanted.types.insert(entry.resource_type);
            }
        }
        wanted
    }

    /// Every compared type, with every detail.
    pub fn everything() -> Wanted {
        let types = catalogue::entries().filter(|entry| entry.compared()).map(|entry| entry.resource_type).collect();
        Wanted { types, details: BTreeSet::new(), all_details: true }
    }

    /// Whether this listing runs: some type it serves is wanted.
    pub fn lists(&self, listing: Listing) -> bool {
        catalogue::entries().any(|entry| entry.listing == Some(listing) && self.types.contains(entry.resource_type))
    }

    /// Whether instances of this type are wanted at all (a listing serving several types
    /// builds only the wanted ones).
    pub fn has_type(&self, resource_type: &str) -> bool {
        self.all_details || self.types.contains(resource_type)
    }

    /// Whether this resource's detail reads are made.
    pub fn details(&self, resource_type: &str, id: &str) -> bool {
        self.all_details
            || self.details.range((resource_type, id.to_owned())..=(resource_type, id.to_owned())).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Attributes;

    fn declared(resource_type: &str, id: &str) -> Normalized {
        Normalized {
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            address: String::new(),
            attributes: Attributes::new(),
        }
    }

    #[test]
    fn only_declared_types_and_reported_unmanaged_types_are_listed() {
        let states = [
            declared("aws_s3_bucket_versioning", "data"),
            declared("aws_iam_role_policy_attachment", "app/arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ];
        let wanted = Wanted::new(&states, |kind| kind == "aws_instance");
        assert!(wanted.lists(Listing::S3Buckets));
        assert!(wanted.lists(Listing::IamRoles), "a part lists its parent");
        assert!(wanted.lists(Listing::Ec2Instances), "reported unmanaged");
        assert!(!wanted.lists(Listing::IamUsers));
        assert!(!wanted.lists(Listing::RdsDbInstances));
        assert!(wanted.details("aws_s3_bucket_versioning", "data"));
        assert!(!wanted.details("aws_s3_bucket_versioning", "stray"), "an undeclared bucket's documents are not read");
        assert!(wanted.details("aws_iam_role", "app"), "a part's parent is read in detail");
        assert!(!wanted.details("aws_instance", "i-1"), "unmanaged instances need no detail");
        assert!(Wanted::everything().details("aws_instance", "i-1"));
    }
}
