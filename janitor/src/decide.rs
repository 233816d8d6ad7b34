//! One janitor run's decisions, pure: for every listed resource, what happens to it this
//! run — nothing, mark, unmark, wait out the grace period, delete, or held back by a cap.
//! The runtime carries the decisions out; it can only delete what [`decide`] returned as
//! [`Decision::Delete`], and [`decide`] only returns that for a [`select`] candidate that
//! was marked a full grace period ago and fits under every cap.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use driftguard_engine::model::Provider;
use driftguard_engine::policy::Policy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{CapHit, Population, Resource, Skip, Verdict, apply_caps, select};

/// What happens to one resource this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Not a candidate and not marked: left alone.
    Skip {
        /// The block.
        skip: Skip,
    },
    /// A new candidate: write the mark tag (deletion comes a grace period later).
    Mark,
    /// Marked earlier but no longer qualifies: remove the mark.
    Unmark {
        /// Why it stopped qualifying.
        skip: Skip,
    },
    /// Marked; the grace period has not run out.
    Wait {
        /// When it may be deleted.
        until: DateTime<Utc>,
    },
    /// Marked a full grace period ago: delete it.
    Delete {
        /// Its phase-1 working directory, if it has one.
        workdir: Option<String>,
    },
    /// Would be deleted, but a cap holds it back.
    Held {
        /// The cap.
        cap: CapHit,
    },
}

impl Decision {
    /// The short name used in logs and summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Skip { .. } => "skip",
            Decision::Mark => "mark",
            Decision::Unmark { .. } => "unmark",
            Decision::Wait { .. } => "wait",
            Decision::Delete { .. } => "delete",
            Decision::Held { .. } => "held",
        }
    }

    /// Whether carrying it out changes the cloud.
    pub fn mutates(&self) -> bool {
        matches!(self, Decision::Mark | Decision::Unmark { .. } | Decision::Delete { .. })
    }
}

/// The mark tag's value: the time, as RFC 3339 where tags allow it; Cloud Storage labels
/// allow only lowercase letters, digits, `_` and `-`, so there it is `20261123t014915z`.
pub fn mark_value(provider: Provider, now: DateTime<Utc>) -> String {
    match provider {
        Provider::Gcp => now.format("%Y%m%dt%H%M%Sz").to_string(),
        Provider::Aws | Provider::Azure => now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn parse_mark(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dt%H%M%Sz").ok().map(|time| time.and_utc())
}

/// When a resource was marked, from its mark tag (an unparsable mark counts as made now:
/// the grace period starts again rather than being skipped; a mark in the future too).
pub fn marked_at(policy: &Policy, resource: &Resource, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = resource.tags.get(&policy.janitor().mark_tag)?;
    Some(parse_mark(text).unwrap_or(now).min(now))
}

/// The phase-1 working directory: the resource's workdir tag, else the first matching
/// name glob of the policy, else none (phase 1 is skipped for it).
pub fn workdir(policy: &Policy, resource: &Resource) -> Option<String> {
    let iac = &policy.janitor().iac;
    if let Some(tag) = &iac.workdir_tag
        && let Some(dir) = resource.tags.get(tag)
        && !dir.is_empty()
    {
        return Some(dir.clone());
    }
    policy.janitor().iac_workdirs.iter().find(|(glob, _)| glob.is_match(&resource.name)).map(|(_, dir)| dir.clone())
}

/// How many prefixed resources each population (a type in an account) has where deletion
/// is allowed: the base of the percentage cap. Only allowlisted accounts count: a scanned
/// production fleet must not make a sandbox wipe look small.
pub fn prefixed_counts(policy: &Policy, inventory: &[Resource]) -> BTreeMap<Population, usize> {
    let mut counts = BTreeMap::new();
    let allowed = |resource: &Resource| policy.allowlisted(resource.provider, &resource.account);
    if let Some(prefix) = policy.protection().name_prefix.as_deref().filter(|p| !p.is_empty()) {
        for resource in inventory.iter().filter(|r| r.name.starts_with(prefix) && allowed(r)) {
            *counts.entry(Population::of(resource)).or_default() += 1;
        }
    }
    counts
}

/// How a run decides.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// The daemon's way: mark new candidates, delete those marked a grace period ago.
    Scheduled,
    /// Planning for review: every candidate is due now (the review is the grace period);
    /// marks are left as they are.
    Plan,
    /// Applying a reviewed plan: only these inventory indexes may go, each still a
    /// candidate; everything else is left exactly as it is.
    Apply(&'a std::collections::BTreeSet<usize>),
}

/// Decides the run. Caps apply in every mode, in inventory order, with the percentage
/// taken of each account's prefixed resources of the type in the whole inventory.
pub fn decide(policy: &Policy, inventory: &[Resource], now: DateTime<Utc>, mode: Mode<'_>) -> Vec<Decision> {
    let mut decisions: Vec<Decision> = Vec::with_capacity(inventory.len());
    let mut due: Vec<(Population, usize)> = Vec::new();
    for (index, resource) in inventory.iter().enumerate() {
        if let Mode::Apply(chosen) = mode
            && !chosen.contains(&index)
        {
            decisions.push(Decision::Skip { skip: Skip::NotInPlan });
            continue;
        }
        let reviewed = !matches!(mode, Mode::Scheduled);
        let marked = marked_at(policy, resource, now);
        let decision = match (select(policy, resource, now), marked) {
            (Verdict::Skip(skip), _) if reviewed => Decision::Skip { skip },
            (Verdict::Skip(skip), None) => Decision::Skip { skip },
            (Verdict::Skip(skip), Some(_)) => Decision::Unmark { skip },
            (Verdict::Candidate { .. }, _) if reviewed => {
                due.push((Population::of(resource), index));
                Decision::Delete { workdir: workdir(policy, resource) }
            }
            (Verdict::Candidate { .. }, None) => Decision::Mark,
            (Verdict::Candidate { .. }, Some(at)) => {
                let grace = chrono::Duration::from_std(policy.janitor().grace_period).unwrap_or(chrono::Duration::MAX);
                match at.checked_add_signed(grace) {
                    Some(until) if until <= now => {
                        due.push((Population::of(resource), index));
                        Decision::Delete { workdir: workdir(policy, resource) }
                    }
                    Some(until) => Decision::Wait { until },
                    None => Decision::Wait { until: DateTime::<Utc>::MAX_UTC },
                }
            }
        };
        decisions.push(decision);
    }
    let capped = apply_caps(policy, &due, &prefixed_counts(policy, inventory));
    for (index, cap) in capped.held {
        decisions[index] = Decision::Held { cap };
    }
    decisions
}

/// What a reviewed plan pins about a resource: anything that, changed, could change the
/// decision (name, tags, protection, managed state, place). Hex SHA-256.
pub fn fingerprint(policy: &Policy, resource: &Resource) -> String {
    let protected = policy.protection().protected_by(&resource.tags);
    let canonical = serde_json::json!([
        resource.provider,
        resource.account,
        resource.region,
        resource.resource_type,
        resource.id,
        resource.name,
        // Without the mark tag: marking after planning is not a change of the resource.
        resource.tags.iter().filter(|(k, _)| **k != policy.janitor().mark_tag).collect::<BTreeMap<_, _>>(),
        protected,
        resource.managed,
        resource.created_at,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}
