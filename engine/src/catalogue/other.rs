//! Google Cloud and Azure: the types the janitor deletes (drift detection covers AWS only
//! so far, so none is compared).

use super::{Entry, JanitorRole, Scope};
use crate::model::JanitorTarget;
use crate::model::Provider;

/// Every type of the other clouds.
pub static ENTRIES: [Entry; 2] = [
    Entry {
        provider: Provider::Gcp,
        resource_type: "google_storage_bucket",
        service: "storage",
        scope: Scope::Account,
        identity: &["name", "id"],
        listing: None,
        details: &[],
        attributes: &[],
        tags: None,
        unmanaged: false,
        janitor: Some(JanitorRole { target: JanitorTarget::GoogleStorageBucket, order: 2 }),
    },
    Entry {
        provider: Provider::Azure,
        resource_type: "azurerm_resource_group",
        service: "resources",
        scope: Scope::Account,
        identity: &["name", "id"],
        listing: None,
        details: &[],
        attributes: &[],
        tags: None,
        unmanaged: false,
        // After the things a group could hold a reference to; deleting it takes its contents.
        janitor: Some(JanitorRole { target: JanitorTarget::AzurermResourceGroup, order: 3 }),
    },
];
