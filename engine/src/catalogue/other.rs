//! Google Cloud and Azure: the types the janitor deletes (drift detection covers AWS only
//! so far, so none is compared).

use super::{Entry, JanitorRole};
use crate::model::JanitorTarget;
use crate::model::Provider;

/// Every type of the other clouds.
pub static ENTRIES: [Entry; 2] = [
    Entry {
        resource_type: "google_storage_bucket",
        service: "storage",
        janitor: Some(JanitorRole { target: JanitorTarget::GoogleStorageBucket, order: 2 }),
        ..Entry::blank(Provider::Gcp, &["name", "id"])
    },
    Entry {
        resource_type: "azurerm_resource_group",
        service: "resources",
        // After the things a group could hold a reference to; deleting it takes its contents.
        janitor: Some(JanitorRole { target: JanitorTarget::AzurermResourceGroup, order: 3 }),
        ..Entry::blank(Provider::Azure, &["name", "id"])
    },
];
