//! What the policy's Terraform states manage: the janitor never touches it. Every
//! identifying attribute of every state instance counts (a near miss here would delete a
//! managed resource), and a resource is managed when its id or its name is one of them.

use std::collections::BTreeSet;

use driftguard_engine::catalogue;
use driftguard_engine::tfstate::StateFile;

use crate::Resource;

/// The managed resources of the states, as identifying values per type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Managed {
    /// (type, identifying value) of every managed instance.
    ids: BTreeSet<(String, String)>,
    /// Every identifying value, lower-cased (ARM ids compare case-insensitively).
    values_lower: BTreeSet<String>,
}

impl Managed {
    /// What these states manage.
    pub fn of(states: &[StateFile]) -> Self {
        // The state attributes that identify an instance of any type of the catalogue,
        // applied to every instance of every type (a wider net only keeps more out).
        let identifying: BTreeSet<&str> =
            catalogue::entries().flat_map(|entry| entry.identity.iter().copied()).collect();
        let mut ids = BTreeSet::new();
        for resource in states.iter().flat_map(|state| &state.resources) {
            for (key, value) in resource.attributes.texts() {
                if identifying.contains(key.as_ref()) && !value.is_empty() {
                    ids.insert((resource.resource_type.clone(), value.into_owned()));
                }
            }
        }
        Self::from_ids(ids)
    }

    /// From (type, identifying value) pairs.
    pub fn from_ids(ids: BTreeSet<(String, String)>) -> Self {
        let values_lower = ids.iter().map(|(_, value)| value.to_lowercase()).collect();
        Self { ids, values_lower }
    }

    /// Whether a state manages this resource (by its id or its name, within its type).
    pub fn manages(&self, resource: &Resource) -> bool {
        let kind = resource.resource_type.as_str().to_owned();
        self.ids.contains(&(kind.clone(), resource.id.clone())) || self.ids.contains(&(kind, resource.name.clone()))
    }

    /// Whether any state manages something with this id, whatever its type (what an Azure
    /// resource group holds is listed with its full ARM id and no Terraform type).
    pub fn holds(&self, id: &str) -> bool {
        self.values_lower.contains(&id.to_lowercase())
    }
}
