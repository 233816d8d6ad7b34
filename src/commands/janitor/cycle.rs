//! One janitor cycle over a set of verified clouds: list, settle what a crash left in
//! doubt, decide (the janitor core), and carry the decisions out through [`JanitorRun`].

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::policy::Policy;
use driftguard_janitor::decide::{Decision, Mode, decide};
use driftguard_janitor::machine::{ItemEvent, ItemState};
use driftguard_janitor::plan::{self, Plan};
use driftguard_janitor::rules::{self, Resume};
use driftguard_janitor::{Resource, Skip, Verdict, select};
use driftguard_providers::janitor::JanitorCloud;
use driftguard_store::{JanitorItem, Store};

use super::run::{Due, JanitorRun, resource_of_item};
use super::{Known, Tally};
use crate::audit;
use crate::job::Bridge;

/// One janitor cycle over these clouds: list, decide, act. Separate from the wiring
/// (`super::run` reads the plan, `super::execute` the states and builds the verified
/// clouds) so that it runs against any [`JanitorCloud`], in-memory fakes included. Returns what happened and how many
/// resources were listed; `Err` when listing failed (nothing was done then).
#[allow(clippy::too_many_arguments)]
pub(super) fn cycle(
    policy: &Policy,
    runtime: Bridge<'_>,
    stop: &AtomicBool,
    clouds: &[Box<dyn JanitorCloud>],
    known: &Known,
    store: &mut Store,
    run_id: &str,
    plan: Option<&Plan>,
    plan_out: Option<&Path>,
) -> Result<(Tally, usize), String> {
    let mut inventory: Vec<(usize, Resource)> = Vec::new();
    for (index, cloud) in clouds.iter().enumerate() {
        match runtime.block_on(cloud.inventory(&policy.janitor().targets)) {
            Ok(resources) => {
                for mut resource in resources {
                    resource.managed = known.managed.manages(&resource);
                    inventory.push((index, resource));
                }
            }
            Err(error) => {
                return Err(format!(
                    "listing {} account {}: {error}; inventory failed, nothing was marked or deleted",
                    cloud.provider(),
                    cloud.account()
                ));
            }
        }
    }

    let items = store
        .janitor_items()
        .map_err(|error| error.to_string())?
        .into_iter()
        .map(|item| (item.key.clone(), item))
        .collect();
    let now = Utc::now();
    let mut janitor = JanitorRun {
        policy,
        store,
        runtime,
        stop,
        run_id: run_id.to_owned(),
        dry_run: policy.dry_run(),
        now,
        items,
        known,
        tally: Tally::default(),
    };

    // The last look before acting: candidates and interrupted deletions are read again,
    // each from itself (the listing may come from a bulk, eventually consistent view, and
    // some guards take a read of their own: EC2 termination protection).
    refresh(&mut janitor, clouds, &mut inventory)?;

    // Calls a stopped run left in doubt get their one record, from what the listing shows.
    if !janitor.dry_run {
        janitor.settle_in_doubt(clouds, &inventory)?;
    }

    // Revenants: deleted earlier, listed again.
    for (_, resource) in &inventory {
        if janitor.state_of(resource) == Some(ItemState::Deleted) {
            let _ = janitor.transition(resource, &ItemEvent::Reappeared);
            janitor.tally.note("revenant", format!("revenant  {} (deleted earlier, listed again)", resource.key()));
        }
    }

    // Decide, on the resources as they count: an untrusted mark is ignored (a candidate is
    // marked afresh, anything else left alone).
    let resources: Vec<Resource> = inventory
        .iter()
        .map(|(_, resource)| {
            let state = janitor.state_of(resource);
            let mut resource = resource.clone();
            if rules::drop_untrusted_mark(policy, &mut resource, state) {
                let mark_tag = &policy.janitor().mark_tag;
                let mut record =
                    janitor.record(AuditEventName::JanitorDecision, &resource, "ignore_mark", Outcome::Noted);
                record.reason = Some(format!("{mark_tag} was not written by this janitor (no record in its store)"));
                audit::emit(&record, &format!("janitor: untrusted mark on {}", resource.key()));
            }
            resource
        })
        .collect();
    let decisions = match plan {
        None if plan_out.is_some() => decide(policy, &resources, now, Mode::Plan),
        None => decide(policy, &resources, now, Mode::Scheduled),
        Some(plan) => {
            let reached = |resource: &Resource| {
                clouds.iter().any(|c| c.provider() == resource.provider && c.account() == resource.account)
            };
            let (chosen, refused) = plan::check(policy, plan, &resources, reached);
            for (item, refusal) in refused {
                let key = item.resource.key();
                match refusal {
                    plan::Refusal::Gone => {
                        janitor.tally.note("gone", format!("gone      {key} (already gone before applying)"));
                    }
                    // Automation must see that the reviewed plan was not carried out in full.
                    plan::Refusal::AccountRefused => {
                        janitor.tally.failed += 1;
                        let line = format!("refused   {key} (its account was not verified in this run)");
                        janitor.tally.note("refused", line);
                    }
                    plan::Refusal::Changed(index) => {
                        let reason = "fingerprint changed since planning: tags, protection or managed state differ";
                        let decision = Decision::Skip { skip: Skip::NotInPlan };
                        janitor.decision(&resources[index], &decision, Outcome::Blocked, Some(reason.into()));
                        janitor.tally.failed += 1;
                        janitor.tally.note("refused", format!("refused   {key} (changed since planning)"));
                    }
                }
            }
            decide(policy, &resources, now, Mode::Apply(&chosen))
        }
    };

    // Deletions a crash interrupted whose resource is no longer listed: gone only if the
    // API says so (it may simply be outside this scan now: a type, region or account
    // taken out of the policy).
    let listed: HashSet<String> = resources.iter().map(Resource::key).collect();
    let in_flight: Vec<JanitorItem> = janitor
        .items
        .values()
        .filter(|item| ItemState::parse(&item.state).is_some_and(ItemState::in_flight) && !listed.contains(&item.key))
        .cloned()
        .collect();
    for item in in_flight {
        let Some(resource) = resource_of_item(&item) else { continue };
        let Some(cloud) = clouds.iter().find(|c| c.provider() == resource.provider && c.account() == resource.account)
        else {
            continue;
        };
        match runtime.block_on(cloud.exists(&resource)) {
            Ok(false) => {
                let _ = janitor.transition(&resource, &ItemEvent::Gone);
                janitor.tally.note("deleted", format!("deleted   {} (finished before an interruption)", item.key));
            }
            Ok(true) => {}
            Err(error) => janitor.fail(&resource, &format!("checking an interrupted deletion: {error}")),
        }
    }

    // Carry the decisions out (marks together per account, after the other decisions).
    let mut due: Vec<Due<'_>> = Vec::new();
    let mut marks: BTreeMap<usize, Vec<Resource>> = BTreeMap::new();
    for ((cloud_index, resource), decision) in inventory.iter().zip(&decisions) {
        // A stop request: the decision in hand was carried out; no further one starts.
        if janitor.stopping() {
            break;
        }
        let cloud = clouds[*cloud_index].as_ref();
        if let Some(state) = janitor.state_of(resource).filter(|state| state.in_flight())
            && plan.is_none()
            && plan_out.is_none()
        {
            carry_resumed(&mut janitor, cloud, resource, state, decision, &mut due);
            continue;
        }
        match decision {
            Decision::Skip { skip: Skip::NoPrefix | Skip::NotATarget | Skip::Disabled | Skip::NotInPlan } => {}
            Decision::Skip { skip } => {
                janitor.decision(resource, decision, Outcome::Blocked, Some(skip.describe()));
                janitor.tally.note("blocked", format!("blocked   {} ({})", resource.key(), skip.describe()));
            }
            Decision::Mark if plan_out.is_some() => {}
            Decision::Mark => marks.entry(*cloud_index).or_default().push(resource.clone()),
            Decision::Unmark { skip } => janitor.unmark(cloud, resource, skip),
            Decision::Wait { until } => {
                janitor.decision(resource, decision, Outcome::Noted, Some(format!("grace period until {until}")));
                janitor.tally.note("waiting", format!("waiting   {} (until {})", resource.key(), until.to_rfc3339()));
            }
            Decision::Held { cap } => {
                let reason = format!("cap: {}", serde_json::to_string(cap).unwrap_or_default());
                janitor.decision(resource, decision, Outcome::Blocked, Some(reason.clone()));
                if !janitor.dry_run {
                    let _ = janitor.transition(resource, &ItemEvent::Held { reason: reason.clone() });
                }
                janitor.tally.note("held", format!("held      {} ({reason})", resource.key()));
            }
            Decision::Delete { workdir } if plan_out.is_none() => due.push((cloud, resource.clone(), workdir.clone())),
            Decision::Delete { .. } => {}
        }
    }

    for (cloud_index, resources) in marks {
        if janitor.stopping() {
            break;
        }
        janitor.mark_all(clouds[cloud_index].as_ref(), &resources);
    }

    // Plan for review, or delete.
    if let Some(path) = plan_out {
        let plan = plan::make(policy, &resources, &decisions, now);
        for entry in &plan.items {
            janitor.tally.note("planned", format!("planned   {}", entry.resource.key()));
        }
        std::fs::write(path, serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n")
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    } else {
        let deleted: Vec<String> = due.iter().map(|(_, r, _)| r.key()).collect();
        let mut types: Vec<JanitorTarget> = due.iter().map(|(_, r, _)| r.resource_type).collect();
        types.sort_unstable();
        types.dedup();
        janitor.delete_all(&due);
        revenant_check(&mut janitor, clouds, &deleted, &types);
    }

    let mut tally = std::mem::take(&mut janitor.tally);
    run_id.clone_into(&mut tally.run_id);
    Ok((tally, resources.len()))
}

/// Reads the run's candidates (and resources whose deletion a crash interrupted) again,
/// one batch per account ([`JanitorCloud::refresh`]): what the decisions are then made on.
/// One found gone is dropped from the inventory. A failed read stops the run before
/// anything is marked or deleted, as a failed listing does.
fn refresh(
    janitor: &mut JanitorRun<'_>,
    clouds: &[Box<dyn JanitorCloud>],
    inventory: &mut Vec<(usize, Resource)>,
) -> Result<(), String> {
    let mut wanted: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (index, (cloud_index, resource)) in inventory.iter().enumerate() {
        let candidate = matches!(select(janitor.policy, resource, janitor.now), Verdict::Candidate { .. });
        if candidate || janitor.state_of(resource).is_some_and(ItemState::in_flight) {
            wanted.entry(*cloud_index).or_default().push(index);
        }
    }
    let mut gone: Vec<usize> = Vec::new();
    for (cloud_index, indexes) in wanted {
        let cloud = &clouds[cloud_index];
        let resources: Vec<Resource> = indexes.iter().map(|index| inventory[*index].1.clone()).collect();
        let now = janitor.runtime.block_on(cloud.refresh(&resources)).map_err(|error| {
            format!(
                "reading candidates again in {} account {}: {error}; nothing was marked or deleted",
                cloud.provider(),
                cloud.account()
            )
        })?;
        for (index, current) in indexes.into_iter().zip(now) {
            match current {
                Some(mut current) => {
                    current.managed = janitor.known.managed.manages(&current);
                    inventory[index].1 = current;
                }
                None => gone.push(index),
            }
        }
    }
    gone.sort_unstable();
    for index in gone.into_iter().rev() {
        inventory.remove(index);
    }
    Ok(())
}

/// A deletion a crash interrupted, and this run's decision about its resource
/// ([`rules::resume`]).
fn carry_resumed<'c>(
    janitor: &mut JanitorRun<'_>,
    cloud: &'c dyn JanitorCloud,
    resource: &Resource,
    state: ItemState,
    decision: &Decision,
    due: &mut Vec<Due<'c>>,
) {
    match rules::resume(state, decision) {
        Resume::Finish(event) => {
            if let Some(event) = event
                && let Err(error) = janitor.transition(resource, &event)
            {
                janitor.fail(resource, &error);
                return;
            }
            janitor.tally.note("resumed", format!("resumed   {} (interrupted deletion)", resource.key()));
            due.push((cloud, resource.clone(), None));
        }
        Resume::Hold(reason) => {
            if !janitor.dry_run {
                let _ = janitor.transition(resource, &ItemEvent::Held { reason: reason.clone() });
            }
            janitor.tally.note("held", format!("held      {} ({reason})", resource.key()));
        }
        Resume::Unmark(skip) => janitor.unmark(cloud, resource, &skip),
        Resume::Leave => {}
    }
}

/// After `revenant_check_after` (up to 5 minutes; longer delays: the next run's listing
/// checks), list the deleted types again and flag anything deleted that came back.
fn revenant_check(
    janitor: &mut JanitorRun<'_>,
    clouds: &[Box<dyn JanitorCloud>],
    deleted: &[String],
    types: &[JanitorTarget],
) {
    let delay = janitor.policy.janitor().revenant_check_after;
    if janitor.dry_run || deleted.is_empty() || delay > Duration::from_mins(5) {
        return;
    }
    std::thread::sleep(delay);
    for cloud in clouds {
        let again = match janitor.runtime.block_on(cloud.inventory(types)) {
            Ok(again) => again,
            Err(error) => {
                // Not a failed deletion: the next run's listing checks for revenants too.
                let line = format!("revenant check of {} {} skipped: {error}", cloud.provider(), cloud.account());
                janitor.tally.note("unchecked", line);
                continue;
            }
        };
        for resource in again {
            if deleted.contains(&resource.key()) && janitor.state_of(&resource) == Some(ItemState::Deleted) {
                let _ = janitor.transition(&resource, &ItemEvent::Reappeared);
                janitor.tally.note("revenant", format!("revenant  {} (listed again after deletion)", resource.key()));
            }
        }
    }
}
