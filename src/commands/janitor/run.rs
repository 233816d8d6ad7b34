//! One janitor run carrying out what the core decided: each item's transitions persisted
//! before their effects (write-ahead; in memory only under dry-run), each effect of the
//! deletion machine matched and executed, every call audited (in doubt before it is made).
//! The rules (trusted marks, phase-1 safety, the re-check, resumption, settlement) are the
//! janitor crate's; this file gathers their facts and acts on their answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Utc};
use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::model::{JanitorPhase, JanitorTarget};
use driftguard_engine::policy::Policy;
use driftguard_janitor::decide::{Decision, mark_value};
use driftguard_janitor::machine::{self, ItemEffect, ItemEvent, ItemState, step};
use driftguard_janitor::rules::{self, Call, Recheck, WorkdirFacts};
use driftguard_janitor::{Resource, Skip};
use driftguard_providers::iac;
use driftguard_providers::janitor::{DeleteOptions, JanitorCloud};
use driftguard_providers::retry::CallError;
use driftguard_store::{JanitorItem, JanitorTransition, OutboxEntry, OutboxState, Store};

use super::{Known, Tally, order};
use crate::audit::{self, OutboxSubject};
use crate::job::{Bridge, run_record};

/// A call recorded in doubt, waiting for its answer.
struct Intent {
    entry: OutboxEntry,
    reason: Option<String>,
    message: String,
}

/// One due deletion: the account's adapter, the resource as listed, its working directory.
pub(super) type Due<'c> = (&'c dyn JanitorCloud, Resource, Option<String>);

/// One run's context.
pub(super) struct JanitorRun<'a> {
    pub policy: &'a Policy,
    pub store: &'a mut Store,
    pub runtime: Bridge<'a>,
    pub stop: &'a AtomicBool,
    pub run_id: String,
    pub dry_run: bool,
    pub now: DateTime<Utc>,
    pub items: BTreeMap<String, JanitorItem>,
    pub known: &'a Known,
    pub tally: Tally,
}

/// The outbox subject of a resource's records.
fn subject(resource: &Resource) -> OutboxSubject {
    OutboxSubject::Janitor(resource.key())
}

impl JanitorRun<'_> {
    pub fn record(&self, event: AuditEventName, resource: &Resource, action: &str, outcome: Outcome) -> AuditRecord {
        let mut record = run_record(self.policy, &self.run_id, self.dry_run, event, outcome);
        action.clone_into(&mut record.action);
        record.provider = Some(resource.provider.as_str().to_owned());
        record.account = Some(resource.account.clone());
        record.region = Some(resource.region.clone());
        record.resource_type = Some(resource.resource_type.as_str().to_owned());
        record.resource_id = Some(resource.id.clone());
        record
    }

    pub fn stopping(&mut self) -> bool {
        let stop = self.stop.load(Ordering::SeqCst);
        self.tally.interrupted |= stop;
        stop
    }

    pub fn state_of(&self, resource: &Resource) -> Option<ItemState> {
        self.items.get(&resource.key()).and_then(|item| ItemState::parse(&item.state))
    }

    /// Steps the item's machine, persists the transition (write-ahead) and audits it.
    pub fn transition(&mut self, resource: &Resource, event: &ItemEvent) -> Result<ItemEffect, String> {
        let from = self.state_of(resource);
        let (to, effect) = step(from, event, self.dry_run).map_err(|error| format!("{}: {error}", resource.key()))?;
        let mut record = self.record(AuditEventName::JanitorTransition, resource, event.name(), Outcome::Noted);
        record.from_state = Some(from.map_or("none", ItemState::as_str).to_owned());
        record.to_state = Some(to.as_str().to_owned());
        record.reason = event.reason().map(str::to_owned);
        let mut detail = self.items.get(&resource.key()).map_or_else(|| serde_json::json!({}), |i| i.detail.clone());
        if let Some(object) = detail.as_object_mut() {
            if let Some(reason) = event.reason() {
                object.insert("reason".to_owned(), serde_json::json!(reason));
            }
            if to == ItemState::Deleted {
                object.insert("deleted_at".to_owned(), serde_json::json!(self.now.to_rfc3339()));
            }
            object.insert("tags".to_owned(), serde_json::json!(resource.tags));
        }
        let item = JanitorItem {
            key: resource.key(),
            provider: resource.provider.as_str().to_owned(),
            account: resource.account.clone(),
            region: resource.region.clone(),
            resource_type: resource.resource_type.as_str().to_owned(),
            resource_id: resource.id.clone(),
            name: resource.name.clone(),
            state: to.as_str().to_owned(),
            detail,
            updated_at: Utc::now(),
        };
        let transition = JanitorTransition {
            run_id: self.run_id.clone(),
            key: item.key.clone(),
            at: item.updated_at,
            from_state: from.map_or("none", ItemState::as_str).to_owned(),
            to_state: to.as_str().to_owned(),
            event: event.name().to_owned(),
            reason: event.reason().map(str::to_owned),
            dry_run: false,
        };
        let message = format!("{} {} -> {}", resource.key(), record.from_state.as_deref().unwrap_or("none"), to);
        if self.dry_run {
            // Under dry-run the machine runs in memory only: the store keeps saying what
            // really happened, and the record goes straight to the log.
            audit::emit(&record, &message);
        } else {
            // Stored with its record (the outbox), then written: a crash in between writes
            // the record at the next start, never loses it.
            let entries = [audit::entry(&record, &message, &subject(resource), OutboxState::Ready)];
            self.store
                .record_janitor_transition_audited(&item, &transition, &entries)
                .map_err(|error| error.to_string())?;
            audit::deliver(self.store, &entries).map_err(|error| error.to_string())?;
            // Deletions by phase and outcome (the daemon's metrics).
            if let Some(key) = machine::deletion_outcome(from, event) {
                *self.tally.deletions.entry(key).or_default() += 1;
            }
        }
        self.items.insert(item.key.clone(), item);
        Ok(effect)
    }

    /// One cloud call: audited as simulated under dry-run (and not made), else recorded in
    /// doubt before it is made and settled with its answer ([`audit::call`]); the call's
    /// detail (the tag written) stays on the record.
    fn mutation(
        &mut self,
        cloud: &dyn JanitorCloud,
        resource: &Resource,
        call: &Call,
        make: impl FnOnce(&dyn JanitorCloud) -> Result<(), String>,
    ) -> Result<(), String> {
        match self.intend(cloud, resource, call)? {
            None => Ok(()),
            Some(intent) => {
                let result = make(cloud);
                self.settle_call(&intent, &result)?;
                result
            }
        }
    }

    /// The first half of [`Self::mutation`], for calls made in a batch: the record, in
    /// doubt before the batch is sent. `None` under dry-run: audited as simulated, no call
    /// to make.
    fn intend(&mut self, cloud: &dyn JanitorCloud, resource: &Resource, call: &Call) -> Result<Option<Intent>, String> {
        let api = call.action();
        let mut record = self.record(
            AuditEventName::CloudMutation,
            resource,
            &api,
            if self.dry_run { Outcome::Simulated } else { Outcome::Succeeded },
        );
        record.reason = call.detail();
        record.principal = cloud.principal().map(str::to_owned);
        if self.dry_run {
            audit::emit(&record, &format!("dry-run: would call {api} on {}", resource.key()));
            return Ok(None);
        }
        let message = format!("{api} on {}", resource.key());
        match audit::begin(self.store, &record, &message, &subject(resource)) {
            Ok(entry) => Ok(Some(Intent { entry, reason: record.reason, message })),
            Err(error) => Err(format!("the store could not record the call: {error}")),
        }
    }

    /// The second half: the call's answer on its record (a failed call says why in its
    /// `reason`; a succeeded one keeps the record's own).
    fn settle_call(&mut self, intent: &Intent, result: &Result<(), String>) -> Result<(), String> {
        let settled = match result {
            Ok(()) => {
                audit::finish(self.store, &intent.entry, Outcome::Succeeded, intent.reason.clone(), &intent.message)
            }
            Err(reason) => audit::finish(
                self.store,
                &intent.entry,
                Outcome::Failed,
                Some(reason.clone()),
                &format!("{}: failed ({reason})", intent.message),
            ),
        };
        settled.map_err(|error| format!("the store could not record the call: {error}"))
    }

    pub fn decision(&self, resource: &Resource, decision: &Decision, outcome: Outcome, reason: Option<String>) {
        let mut record = self.record(AuditEventName::JanitorDecision, resource, decision.name(), outcome);
        record.reason = reason;
        audit::emit(&record, &format!("janitor: {} {}", decision.name(), resource.key()));
    }

    /// Marks these resources of one account: each decision and call recorded on its own,
    /// the tag written in as few calls as the cloud allows ([`JanitorCloud::set_tag_many`]).
    pub fn mark_all(&mut self, cloud: &dyn JanitorCloud, resources: &[Resource]) {
        let (tag, value) = (self.policy.janitor().mark_tag.clone(), mark_value(cloud.provider(), self.now));
        let call = Call::Mark { tag: tag.clone(), value: value.clone() };
        for resource in resources {
            self.decision(resource, &Decision::Mark, Outcome::Noted, call.detail());
        }
        let runtime = self.runtime;
        let answers =
            self.batch(cloud, resources, &call, |batch| runtime.block_on(cloud.set_tag_many(batch, &tag, &value)));
        for (resource, answer) in resources.iter().zip(answers) {
            // Under dry-run the machine still runs (in memory).
            self.marked(resource, answer.unwrap_or(Ok(())));
        }
    }

    /// One call for many resources of one account (`make` makes it, one answer per
    /// resource): each recorded in doubt before the call is sent and settled with its own
    /// answer. Per resource, in order: `None` under dry-run (audited as simulated, nothing
    /// sent), else its answer (a record the store could not keep is an error, and that
    /// resource is not sent).
    fn batch(
        &mut self,
        cloud: &dyn JanitorCloud,
        resources: &[Resource],
        call: &Call,
        make: impl FnOnce(&[Resource]) -> Result<Vec<Result<(), CallError>>, CallError>,
    ) -> Vec<Option<Result<(), String>>> {
        let intents: Vec<Result<Option<Intent>, String>> =
            resources.iter().map(|resource| self.intend(cloud, resource, call)).collect();
        let sent: Vec<Resource> = resources
            .iter()
            .zip(&intents)
            .filter(|(_, intent)| matches!(intent, Ok(Some(_))))
            .map(|(resource, _)| resource.clone())
            .collect();
        let mut answers = if sent.is_empty() {
            Vec::new()
        } else {
            match make(&sent) {
                Ok(answers) => answers.into_iter().map(|answer| answer.map_err(|error| error.to_string())).collect(),
                Err(error) => vec![Err(error.to_string()); sent.len()],
            }
        }
        .into_iter();
        let mut out = Vec::with_capacity(resources.len());
        for intent in intents {
            out.push(match intent {
                Err(error) => Some(Err(error)),
                Ok(None) => None,
                Ok(Some(intent)) => {
                    let answer = answers.next().unwrap_or_else(|| Err("no answer for this resource".to_owned()));
                    Some(self.settle_call(&intent, &answer).and(answer))
                }
            });
        }
        out
    }

    /// A mark's end: the item's transition, and the tally.
    fn marked(&mut self, resource: &Resource, result: Result<(), String>) {
        match result.and_then(|()| self.transition(resource, &ItemEvent::Marked).map(|_| ())) {
            Ok(()) => {
                self.tally.marked.push(resource.clone());
                self.tally.note("marked", format!("marked    {}", resource.key()));
            }
            Err(error) => {
                self.tally.failed += 1;
                self.tally.note("failed", format!("failed    {} (marking: {error})", resource.key()));
            }
        }
    }

    pub fn unmark(&mut self, cloud: &dyn JanitorCloud, resource: &Resource, skip: &Skip) {
        let tag = self.policy.janitor().mark_tag.clone();
        let runtime = self.runtime;
        self.decision(resource, &Decision::Unmark { skip: skip.clone() }, Outcome::Noted, Some(skip.describe()));
        let result = self.mutation(cloud, resource, &Call::Unmark { tag: tag.clone() }, |cloud| {
            runtime.block_on(cloud.remove_tag(resource, &tag)).map_err(|error| error.to_string())
        });
        let event = ItemEvent::Unmarked { reason: skip.describe() };
        let result = result.and_then(|()| match self.state_of(resource) {
            // Marked by hand or by a run whose store is gone: nothing to record but the tag.
            None | Some(ItemState::Unmarked | ItemState::Deleted | ItemState::Revenant) => Ok(()),
            Some(_) => self.transition(resource, &event).map(|_| ()),
        });
        match result {
            Ok(()) => self.tally.note("unmarked", format!("unmarked  {} ({})", resource.key(), skip.describe())),
            Err(error) => {
                self.tally.failed += 1;
                self.tally.note("failed", format!("failed    {} (unmarking: {error})", resource.key()));
            }
        }
    }

    /// The deletion of the due resources: phase 1 per working directory, verification,
    /// then phase 2 for whatever is left, in dependency order. Which phase a resource takes
    /// is its machine's effect, matched here and nowhere else.
    pub fn delete_all(&mut self, due: &[Due<'_>]) {
        if self.stopping() {
            return;
        }
        let iac_phase = self.policy.janitor().phases.contains(&JanitorPhase::Iac);
        // Phase 1 only where it provably removes nothing but this run's candidates.
        let mut refused_dirs: BTreeMap<String, String> = BTreeMap::new();
        if iac_phase {
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (_, resource, workdir) in due {
                if let Some(dir) = workdir {
                    groups.entry(dir.as_str()).or_default().push(resource.id.as_str());
                }
            }
            for (dir, ids) in groups {
                if let Err(reason) = self.workdir_check(dir, &ids) {
                    refused_dirs.insert(dir.to_owned(), reason);
                }
            }
        }
        let mut by_workdir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut direct = Vec::new();
        for (index, (_, resource, workdir)) in due.iter().enumerate() {
            if self.state_of(resource) == Some(ItemState::Phase2) {
                // Resumed after an interruption: the API deletion is idempotent, run it again.
                direct.push(index);
                continue;
            }
            let refused = workdir.as_ref().and_then(|dir| refused_dirs.get(dir));
            let phase1 = iac_phase && workdir.is_some() && refused.is_none();
            let how = match (phase1, refused) {
                (true, _) => "phase 1 (IaC), then phase 2 for what remains".to_owned(),
                (false, Some(reason)) => format!("phase 2 (API); phase 1 refused: {reason}"),
                (false, None) => "phase 2 (API)".to_owned(),
            };
            self.decision(
                resource,
                &Decision::Delete { workdir: workdir.clone() },
                if self.dry_run { Outcome::Simulated } else { Outcome::Noted },
                Some(how),
            );
            match self.transition(resource, &ItemEvent::Delete { phase1 }) {
                Ok(ItemEffect::RunIac | ItemEffect::WouldRunIac) => {
                    let dir = workdir.clone().unwrap_or_default();
                    by_workdir.entry(dir).or_default().push(index);
                }
                Ok(ItemEffect::DeleteViaApi | ItemEffect::WouldDeleteViaApi) => direct.push(index),
                Ok(ItemEffect::CheckGone | ItemEffect::Rest) => {}
                Err(error) => self.fail(resource, &error),
            }
        }
        let before_phase1 = direct.len();
        for (dir, members) in by_workdir {
            self.phase1(due, &dir, &members, &mut direct);
        }
        // What phase 1 left was last looked at before it ran (which may have taken long).
        let after_phase1: BTreeSet<usize> = direct[before_phase1..].iter().copied().collect();
        direct.sort_by_key(|index| (order(due[*index].1.resource_type), *index));
        self.phase2(due, &direct, &after_phase1);
    }

    /// Phase 1 in one working directory for its members: the destroy (recorded in doubt
    /// before it starts), then each member's machine says what to check or do next.
    fn phase1(&mut self, due: &[Due<'_>], dir: &str, members: &[usize], direct: &mut Vec<usize>) {
        let iac = &self.policy.janitor().iac;
        let action = format!("{} {}", iac.command, iac.args.join(" "));
        let result = if self.dry_run {
            let mut record =
                run_record(self.policy, &self.run_id, true, AuditEventName::JanitorIac, Outcome::Simulated);
            record.action = action;
            record.reason = Some(format!("would run in {dir} for {} resource(s)", members.len()));
            audit::emit(&record, &format!("dry-run: phase 1 in {dir}"));
            Ok(())
        } else {
            let mut record =
                run_record(self.policy, &self.run_id, false, AuditEventName::JanitorIac, Outcome::Succeeded);
            record.action = action;
            record.reason = Some(format!("in {dir} for {} resource(s)", members.len()));
            let message = format!("phase 1 in {dir}");
            // Recorded in doubt before it starts (a crash during the destroy is settled
            // from the directory's state by the next run), settled when it ends.
            match audit::begin(self.store, &record, &message, &OutboxSubject::Workdir(dir.to_owned())) {
                Err(error) => Err(format!("the store could not record the destroy: {error}")),
                Ok(pending) => {
                    let started = Instant::now();
                    let result = self.run_iac(dir);
                    let reason = format!(
                        "in {dir} for {} resource(s), {:.1}s{}",
                        members.len(),
                        started.elapsed().as_secs_f64(),
                        result.as_ref().err().map(|e| format!(": {e}")).unwrap_or_default()
                    );
                    let outcome = if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
                    match audit::finish(self.store, &pending, outcome, Some(reason), &message) {
                        Ok(()) => result,
                        Err(error) => Err(format!("the store could not record the destroy's end: {error}")),
                    }
                }
            }
        };
        for &index in members {
            let (cloud, resource, _) = &due[index];
            let event = match &result {
                Ok(()) => ItemEvent::IacSucceeded,
                Err(reason) => ItemEvent::IacFailed { reason: reason.clone() },
            };
            match self.transition(resource, &event) {
                Ok(ItemEffect::CheckGone) => match self.runtime.block_on(cloud.exists(resource)) {
                    Ok(false) => {
                        let _ = self.transition(resource, &ItemEvent::Gone);
                        self.tally.note("deleted", format!("deleted   {} (phase 1: IaC)", resource.key()));
                    }
                    Ok(true) => {
                        if self.transition(resource, &ItemEvent::StillThere).is_ok() {
                            direct.push(index);
                        }
                    }
                    Err(error) => self.fail(resource, &format!("verifying after phase 1: {error}")),
                },
                // A simulated destroy: what it would leave is unknown; phase 2 would follow.
                Ok(ItemEffect::Rest) if self.dry_run => {
                    self.tally.note("would delete", format!("would delete {} (phase 1 in {dir})", resource.key()));
                }
                Ok(ItemEffect::DeleteViaApi | ItemEffect::WouldDeleteViaApi) => direct.push(index),
                Ok(ItemEffect::RunIac | ItemEffect::WouldRunIac | ItemEffect::Rest) => {}
                Err(error) => self.fail(resource, &error),
            }
        }
    }

    /// Phase 2: every hard block is re-checked on the resource as last read (the cycle
    /// refreshed each candidate right before deciding; what phase 1 left is read again
    /// now: a protection tag added meanwhile wins), then the resources are deleted through
    /// the API in dependency order, a type of one account at a time, in batches where the
    /// cloud takes them ([`JanitorCloud::delete_many`]).
    fn phase2(&mut self, due: &[Due<'_>], direct: &[usize], after_phase1: &BTreeSet<usize>) {
        let options = DeleteOptions {
            ec2_disable_termination_protection: self.policy.janitor().ec2_disable_termination_protection,
            rds_skip_final_snapshot: self.policy.janitor().rds_skip_final_snapshot,
            rds_disable_deletion_protection: self.policy.janitor().rds_disable_deletion_protection,
        };
        let api_phase = self.policy.janitor().phases.contains(&JanitorPhase::Api);
        let now = self.reread(due, after_phase1);
        let mut verdicts: BTreeMap<usize, Recheck> = BTreeMap::new();
        for &index in direct {
            let (cloud, resource, _) = &due[index];
            let current = match now.get(&index) {
                Some(Ok(current)) => current.clone(),
                Some(Err(error)) => {
                    self.fail(resource, &format!("re-reading before deletion: {error}"));
                    continue;
                }
                None => Some(resource.clone()),
            };
            let contents = self.runtime.block_on(cloud.contents(resource)).map_err(|error| error.to_string());
            let verdict = rules::recheck(
                self.policy,
                resource,
                current.as_ref(),
                Some(&contents),
                &self.known.managed,
                Utc::now(),
            );
            verdicts.insert(index, verdict);
        }
        let mut batch: Vec<usize> = Vec::new();
        for &index in direct {
            // A stop request: this deletion is not started; the item stays in flight in
            // the store and the next run resumes it after checking the hard blocks again.
            if self.stopping() {
                batch.clear();
                break;
            }
            let resource = due[index].1.clone();
            match verdicts.remove(&index) {
                None => continue, // re-reading failed: already reported
                Some(Recheck::Gone) => {
                    let _ = self.transition(&resource, &ItemEvent::Gone);
                    self.tally.note("deleted", format!("deleted   {} (gone before phase 2)", resource.key()));
                    continue;
                }
                Some(Recheck::Block(reason)) => {
                    let _ = self.transition(&resource, &ItemEvent::Unmarked { reason: reason.clone() });
                    let line = format!("blocked   {} (re-checked before deletion: {reason})", resource.key());
                    self.tally.note("blocked", line);
                    continue;
                }
                Some(Recheck::Proceed) => {}
            }
            if !api_phase {
                let _ = self.transition(&resource, &ItemEvent::ApiFailed { reason: "phase 2 (api) is off".into() });
                self.fail(&resource, "still there after phase 1 and janitor.phases has no api phase");
                continue;
            }
            if let Some(&last) = batch.last()
                && !(std::ptr::addr_eq(due[last].0, due[index].0)
                    && due[last].1.resource_type == resource.resource_type)
            {
                self.delete_batch(due, &std::mem::take(&mut batch), options);
            }
            batch.push(index);
        }
        if !batch.is_empty() {
            self.delete_batch(due, &batch, options);
        }
    }

    /// These due resources as they are now, read again in one batch per account
    /// ([`JanitorCloud::refresh`]): `Ok(None)` for one that is gone.
    fn reread(&self, due: &[Due<'_>], indexes: &BTreeSet<usize>) -> BTreeMap<usize, Result<Option<Resource>, String>> {
        let mut out = BTreeMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &index in indexes {
            match groups.iter_mut().find(|group| std::ptr::addr_eq(due[group[0]].0, due[index].0)) {
                Some(group) => group.push(index),
                None => groups.push(vec![index]),
            }
        }
        for group in groups {
            let cloud = due[group[0]].0;
            let resources: Vec<Resource> = group.iter().map(|index| due[*index].1.clone()).collect();
            match self.runtime.block_on(cloud.refresh(&resources)) {
                Ok(now) => out.extend(group.into_iter().zip(now.into_iter().map(Ok))),
                Err(error) => out.extend(group.into_iter().map(|index| (index, Err(error.to_string())))),
            }
        }
        out
    }

    /// Deletes due resources of one type in one account: each deletion recorded in doubt
    /// before the batch is sent and settled with its own answer, each item's machine
    /// stepped with it.
    fn delete_batch(&mut self, due: &[Due<'_>], indexes: &[usize], options: DeleteOptions) {
        let Some(&first) = indexes.first() else { return };
        let cloud = due[first].0;
        let resources: Vec<Resource> = indexes.iter().map(|index| due[*index].1.clone()).collect();
        let runtime = self.runtime;
        let call = Call::Delete(resources[0].resource_type);
        let answers =
            self.batch(cloud, &resources, &call, |batch| runtime.block_on(cloud.delete_many(batch, &options)));
        for (resource, answer) in resources.iter().zip(answers) {
            match answer {
                // Dry-run: audited as simulated, nothing sent.
                None => {
                    if !self.tally.lines.iter().any(|l| l.contains(&resource.key())) {
                        self.tally.note("would delete", format!("would delete {} (phase 2: API)", resource.key()));
                    }
                }
                Some(Ok(())) => {
                    let _ = self.transition(resource, &ItemEvent::ApiDeleted);
                    self.tally.note("deleted", format!("deleted   {} (phase 2: API)", resource.key()));
                }
                Some(Err(reason)) => {
                    let _ = self.transition(resource, &ItemEvent::ApiFailed { reason: reason.clone() });
                    self.fail(resource, &reason);
                }
            }
        }
    }

    /// Runs the IaC destroy in `workdir` (see [`iac::destroy`]).
    fn run_iac(&self, workdir: &str) -> Result<(), String> {
        let iac = &self.policy.janitor().iac;
        let command = iac::Invocation { program: &iac.command, args: &iac.args, env: &iac.env };
        self.runtime.block_on(iac::destroy(&command, workdir, self.policy.janitor().iac_timeout))
    }

    /// The facts [`rules::phase1_allowed`] decides on, read from the file system.
    fn workdir_check(&self, dir: &str, ids: &[&str]) -> Result<(), String> {
        let canonical = std::fs::canonicalize(dir).map_err(|error| format!("working directory {dir}: {error}"))?;
        let mut listed = self.policy.janitor().iac_workdirs.iter().filter_map(|(_, d)| std::fs::canonicalize(d).ok());
        let state_path = canonical.join("terraform.tfstate");
        let name = state_path.display().to_string();
        let state = std::fs::read(&state_path)
            .map_err(|_| format!("no readable local state {name}: what the destroy would remove is unknown"))
            .and_then(|bytes| driftguard_engine::tfstate::parse(&name, bytes).map_err(|error| error.to_string()));
        let facts = WorkdirFacts {
            listed: listed.any(|allowed| allowed == canonical),
            state_path: &name,
            known_state: self.known.state_files.contains(&state_path),
            state: state.as_ref().map_err(String::as_str),
        };
        rules::phase1_allowed(dir, &facts, ids)
    }

    pub fn fail(&mut self, resource: &Resource, reason: &str) {
        self.tally.failed += 1;
        self.tally.note("failed", format!("failed    {} ({reason})", resource.key()));
    }

    /// Settles the records of calls a stopped process left in doubt (it died between
    /// starting the call and recording the answer), from what the cloud shows now: one
    /// record per call, saying whether it took effect ([`rules::settle`]). Only resources
    /// of this run's accounts are judged; the others wait for a run that lists them.
    pub fn settle_in_doubt(
        &mut self,
        clouds: &[Box<dyn JanitorCloud>],
        inventory: &[(usize, Resource)],
    ) -> Result<(), String> {
        let in_doubt = |store: &Store, wanted: fn(&OutboxSubject) -> bool| {
            audit::in_doubt(store, wanted).map_err(|error| error.to_string())
        };
        for (subject, entry) in in_doubt(self.store, |s| matches!(s, OutboxSubject::Janitor(_)))? {
            let OutboxSubject::Janitor(key) = subject else { continue };
            let record: serde_json::Value = serde_json::from_str(&entry.record).unwrap_or_default();
            let call = Call::of_record(record["action"].as_str().unwrap_or_default(), record["reason"].as_str());
            let listed = inventory.iter().map(|(_, resource)| resource).find(|resource| resource.key() == key);
            let item = self.items.get(&key).and_then(resource_of_item);
            let cloud = listed.or(item.as_ref()).and_then(|resource| {
                clouds.iter().find(|c| c.provider() == resource.provider && c.account() == resource.account)
            });
            let Some(cloud) = cloud else { continue };
            let verdict = match &call {
                None => Some((Outcome::Unknown, "interrupted; the call is not one this driftguard knows".to_owned())),
                Some(call) => {
                    // The API is asked only where the listing cannot tell: a deletion of a
                    // resource no longer listed.
                    let exists = match (call, listed, &item) {
                        (Call::Delete(_), None, Some(resource)) => self.runtime.block_on(cloud.exists(resource)).ok(),
                        _ => None,
                    };
                    rules::settle(call, listed, item.is_some(), exists)
                }
            };
            if let Some((outcome, reason)) = verdict {
                audit::settle(self.store, &entry, outcome, &reason).map_err(|error| error.to_string())?;
            }
        }
        for (subject, entry) in in_doubt(self.store, |s| matches!(s, OutboxSubject::Workdir(_)))? {
            let OutboxSubject::Workdir(dir) = subject else { continue };
            let (outcome, reason) = iac_verdict(&dir);
            audit::settle(self.store, &entry, outcome, &reason).map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

/// What a destroy interrupted in `dir` did ([`rules::iac_verdict`]), read from the state it
/// rewrites as it goes.
pub(super) fn iac_verdict(dir: &str) -> (Outcome, String) {
    let path = std::path::Path::new(dir).join("terraform.tfstate");
    let name = path.display().to_string();
    let state = std::fs::read(&path)
        .map_err(|error| error.to_string())
        .and_then(|bytes| driftguard_engine::tfstate::parse(&name, bytes).map_err(|error| error.to_string()));
    rules::iac_verdict(&name, state.as_ref().map_err(Clone::clone))
}

/// A resource rebuilt from its store row (for items no longer listed).
pub(super) fn resource_of_item(item: &JanitorItem) -> Option<Resource> {
    let resource_type: JanitorTarget = serde_json::from_value(serde_json::json!(item.resource_type)).ok()?;
    let provider = serde_json::from_value(serde_json::json!(item.provider)).ok()?;
    Some(Resource {
        provider,
        account: item.account.clone(),
        region: item.region.clone(),
        resource_type,
        id: item.resource_id.clone(),
        name: item.name.clone(),
        tags: serde_json::from_value(item.detail.get("tags").cloned().unwrap_or_default()).unwrap_or_default(),
        created_at: None,
        managed: false,
        guards: Vec::new(),
    })
}
