//! Reviewed deletion plans: what `janitor --dry-run --plan-out` writes and `--apply-plan`
//! reads. A plan pins what review saw of each resource (its fingerprint) and the policy it
//! was made under; applying it deletes exactly its unchanged items.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Resource;
use crate::decide::{Decision, fingerprint};
use driftguard_engine::policy::Policy;

/// The plan file's format version.
pub const PLAN_VERSION: u32 = 1;

/// A reviewed deletion plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Format version of this file.
    pub version: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The policy it was made under.
    pub policy_hash: String,
    /// The deletions, exactly.
    pub items: Vec<PlanItem>,
    /// Candidates a cap held back (not deleted by applying the plan).
    pub held: Vec<PlanItem>,
}

/// One planned deletion, with what review saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// The resource as listed.
    #[serde(flatten)]
    pub resource: Resource,
    /// Its fingerprint (name, tags, protection, managed state, place).
    pub fingerprint: String,
    /// The protected tag that matches, if any (never set for a planned deletion).
    pub protected_by: Option<(String, String)>,
    /// Phase-1 working directory.
    pub workdir: Option<String>,
}

/// The plan of a run decided in plan mode: its deletions as items, its held candidates.
pub fn make(policy: &Policy, resources: &[Resource], decisions: &[Decision], now: DateTime<Utc>) -> Plan {
    let item = |resource: &Resource, workdir: Option<String>| PlanItem {
        resource: resource.clone(),
        fingerprint: fingerprint(policy, resource),
        protected_by: policy.protection().protected_by(&resource.tags),
        workdir,
    };
    Plan {
        version: PLAN_VERSION,
        created_at: now,
        policy_hash: policy.hash().to_owned(),
        items: resources
            .iter()
            .zip(decisions)
            .filter_map(|(r, d)| match d {
                Decision::Delete { workdir } => Some(item(r, workdir.clone())),
                _ => None,
            })
            .collect(),
        held: resources
            .iter()
            .zip(decisions)
            .filter(|(_, d)| matches!(d, Decision::Held { .. }))
            .map(|(r, _)| item(r, None))
            .collect(),
    }
}

/// Why a plan item is not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not listed: already gone before applying (not a failure).
    Gone,
    /// Its account was not verified in this run: nothing there is known, let alone gone.
    AccountRefused,
    /// Its fingerprint changed since planning (at this inventory index).
    Changed(usize),
}

/// Matches a plan's items against this run's inventory: the inventory indexes that may go
/// (each still to pass the caps and selection), and every item refused, with why.
/// `reached` says whether an item's account was verified in this run.
pub fn check(
    policy: &Policy,
    plan: &Plan,
    inventory: &[Resource],
    reached: impl Fn(&Resource) -> bool,
) -> (BTreeSet<usize>, Vec<(PlanItem, Refusal)>) {
    let mut chosen = BTreeSet::new();
    let mut refused = Vec::new();
    for item in &plan.items {
        let found = inventory.iter().position(|r| {
            r.provider == item.resource.provider
                && r.account == item.resource.account
                && r.resource_type == item.resource.resource_type
                && r.id == item.resource.id
        });
        match found {
            None if !reached(&item.resource) => refused.push((item.clone(), Refusal::AccountRefused)),
            None => refused.push((item.clone(), Refusal::Gone)),
            Some(index) if fingerprint(policy, &inventory[index]) != item.fingerprint => {
                refused.push((item.clone(), Refusal::Changed(index)));
            }
            Some(index) => {
                chosen.insert(index);
            }
        }
    }
    (chosen, refused)
}
