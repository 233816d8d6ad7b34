//! `driftguard janitor`: removes expired resources with a two-phase nuke.
//!
//! Order of work, so a bad input leaves nothing half-done: read every Terraform state
//! (the janitor never touches what a state manages, so an unreadable state stops the run),
//! list every account, and only then decide ([`driftguard_janitor::decide`]) and act. Each
//! deletion step is persisted before it runs ([`driftguard_janitor::machine`]); a crashed
//! run's deletions are finished by the next run after the hard blocks are checked again.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::identity::{Refusal, Verified};
use driftguard_engine::model::Provider;
use driftguard_engine::policy::raw::{JanitorPhase, JanitorTarget};
use driftguard_engine::policy::{Account, Identity, Policy};
use driftguard_engine::tfstate::StateFile;
use driftguard_janitor::decide::{Decision, Mode, decide, fingerprint, mark_value};
use driftguard_janitor::machine::{ItemEffect, ItemEvent, ItemState, step};
use driftguard_janitor::{Resource, Skip};
use driftguard_providers::aws::AwsClient;
use driftguard_providers::aws::janitor::AwsCloud;
use driftguard_providers::azure::ServicePrincipal;
use driftguard_providers::azure::janitor::AzureSubscription;
use driftguard_providers::gcp::janitor::GcsProject;
use driftguard_providers::iac;
use driftguard_providers::janitor::{DeleteOptions, JanitorCloud};
use driftguard_providers::retry::CallError;
use driftguard_store::{JanitorItem, JanitorTransition, OutboxState, Store};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::accounts::{self, Checked};
use crate::job::{JobEnv, load_for_action, open_store, run_record};

/// A reviewed deletion plan: what `--plan-out` writes and `--apply-plan` reads.
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

const PLAN_VERSION: u32 = 1;

/// What the policy's Terraform states say: the janitor never touches what they manage and
/// never runs a destroy on one of their files.
#[derive(Debug, Default)]
struct Known {
    /// (type, identifying value) of every managed resource instance.
    managed: BTreeSet<(String, String)>,
    /// Canonical paths of the local state files.
    state_files: BTreeSet<PathBuf>,
    /// Every identifying value, lowercased (ARM ids compare case-insensitively).
    values_lower: BTreeSet<String>,
}

impl Known {
    fn of(states: &[StateFile]) -> Self {
        let state_files = states.iter().filter_map(|state| std::fs::canonicalize(&state.source).ok()).collect();
        let managed = managed_ids(states);
        let values_lower = managed.iter().map(|(_, value)| value.to_lowercase()).collect();
        Self { managed, state_files, values_lower }
    }

    fn manages(&self, resource: &Resource) -> bool {
        let tf_type = resource.resource_type.as_str().to_owned();
        self.managed.contains(&(tf_type.clone(), resource.id.clone()))
            || self.managed.contains(&(tf_type, resource.name.clone()))
    }
}

/// Terraform types' ids as states record them, per type: what the janitor must never touch.
fn managed_ids(states: &[StateFile]) -> BTreeSet<(String, String)> {
    let mut ids = BTreeSet::new();
    for resource in states.iter().flat_map(|state| &state.resources) {
        // Every identifying attribute counts: a near miss here would delete a managed resource.
        for key in ["id", "bucket", "identifier", "name", "arn"] {
            if let Some(value) = resource.attributes.get(key).and_then(serde_json::Value::as_str)
                && !value.is_empty()
            {
                ids.insert((resource.resource_type.clone(), value.to_owned()));
            }
        }
    }
    ids
}

/// Every account, project and subscription of the policy whose provider has a janitor
/// target and whose identity this job verified: the scan scope (deletion is further
/// limited by `janitor.delete_allowlist`). A refused one is recorded and left out.
fn clouds(runtime: &Handle, env: &JobEnv, policy: &Policy, run_id: &str) -> (Vec<Box<dyn JanitorCloud>>, Checked) {
    let targets = &policy.janitor.targets;
    let wants = |provider: Provider| targets.iter().any(|t| t.provider() == provider);
    let mut checks: Vec<Check> = Vec::new();
    if wants(Provider::Aws) {
        let in_scope: Vec<&Account> = accounts::in_scope(policy, env, Provider::Aws)
            .into_iter()
            .filter(|account| !account.regions.is_empty())
            .collect();
        // Protection is read only where it decides something: the policy does not lift it.
        let termination_reads = (!policy.janitor.ec2_disable_termination_protection)
            .then(|| policy.protection.name_prefix.clone())
            .flatten();
        for result in accounts::verify_aws(runtime, env, policy, &in_scope) {
            checks.push(result.map(|reach| {
                let clients = reach
                    .account
                    .regions
                    .iter()
                    .map(|region| {
                        AwsClient::connect(&reach.session, region, env.calls(policy, Provider::Aws, &reach.account.id))
                    })
                    .collect();
                let cloud =
                    AwsCloud::new(&reach.verified, clients).reading_termination_protection(termination_reads.clone());
                (Box::new(cloud) as Box<dyn JanitorCloud>, reach.verified)
            }));
        }
    }
    if wants(Provider::Gcp) {
        for account in accounts::in_scope(policy, env, Provider::Gcp) {
            let Identity::Gcp { impersonate_service_account } = &account.identity else { continue };
            let calls = env.calls(policy, Provider::Gcp, &account.id);
            let impersonate = impersonate_service_account.as_deref();
            checks.push(runtime.block_on(async {
                let project = GcsProject::connect(&account.id, account.endpoint.as_deref(), impersonate, calls)
                    .await
                    .map_err(|error| unreachable(Provider::Gcp, &account.id, &error))?;
                let verified = project.verify(impersonate).await?;
                Ok((Box::new(project.verified(&verified)) as Box<dyn JanitorCloud>, verified))
            }));
        }
    }
    if wants(Provider::Azure) {
        for account in accounts::in_scope(policy, env, Provider::Azure) {
            let Identity::Azure { service_principal, client_secret_env } = &account.identity else { continue };
            let principal = service_principal.as_ref().map(|(tenant_id, client_id)| ServicePrincipal {
                tenant_id: tenant_id.clone(),
                client_id: client_id.clone(),
                client_secret_env: client_secret_env.clone(),
            });
            let calls = env.calls(policy, Provider::Azure, &account.id);
            checks.push(runtime.block_on(async {
                let subscription =
                    AzureSubscription::new(&account.id, account.endpoint.as_deref(), principal.as_ref(), calls)
                        .map_err(|error| unreachable(Provider::Azure, &account.id, &error))?;
                let verified = subscription.verify(principal.as_ref().map(|p| p.client_id.as_str())).await?;
                Ok((Box::new(subscription.verified(&verified)) as Box<dyn JanitorCloud>, verified))
            }));
        }
    }
    admit(policy, run_id, checks)
}

/// One account's identity check: its adapter, built from the verified identity, or why not.
type Check = Result<(Box<dyn JanitorCloud>, Verified), Refusal>;

/// Keeps the clouds whose identity was verified, in order; records every refusal.
fn admit(policy: &Policy, run_id: &str, checks: Vec<Check>) -> (Vec<Box<dyn JanitorCloud>>, Checked) {
    let mut admitted = Vec::new();
    let mut checked = Checked::default();
    for check in checks {
        match check {
            Ok((cloud, verified)) => {
                checked.note(Ok(&verified));
                admitted.push(cloud);
            }
            Err(refusal) => {
                accounts::record_refusal(policy, run_id, policy.dry_run, &refusal);
                checked.note(Err(&refusal));
            }
        }
    }
    (admitted, checked)
}

/// An adapter that could not even be built: the account cannot be reached.
fn unreachable(provider: Provider, account: &str, error: &CallError) -> Refusal {
    Refusal::Unreachable {
        provider,
        expected: account.to_owned(),
        reason: format!("{}: {}", error.code, error.message),
    }
}

/// Deletion order across types, from the catalogue: what uses others goes first.
fn order(target: JanitorTarget) -> u8 {
    driftguard_engine::catalogue::janitor_entry(target)
        .and_then(|entry| entry.janitor)
        .map_or(u8::MAX, |role| role.order)
}

/// What one run did, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct Tally {
    /// One line per resource acted on.
    pub lines: Vec<String>,
    /// How many of each (`marked`, `deleted`, `blocked`, ...).
    pub counts: BTreeMap<&'static str, usize>,
    /// Failures (a deletion, a mark, a refused plan item).
    pub failed: usize,
    /// Resources marked this run (announced by webhooks).
    pub marked: Vec<Resource>,
    /// Deletions by phase (`iac`, `api`) and outcome (`succeeded`, `failed`).
    pub deletions: BTreeMap<(&'static str, &'static str), usize>,
    /// A stop request ended the run early.
    pub interrupted: bool,
    /// The run's id (audit events carry it).
    pub run_id: String,
    /// What the identity checks found (refused accounts count as failures).
    pub checked: Checked,
}

impl Tally {
    fn note(&mut self, what: &'static str, line: String) {
        *self.counts.entry(what).or_default() += 1;
        self.lines.push(line);
    }
}

/// One run's context.
struct JanitorRun<'a> {
    policy: &'a Policy,
    store: &'a mut Store,
    runtime: &'a Handle,
    stop: &'a AtomicBool,
    run_id: String,
    dry_run: bool,
    now: DateTime<Utc>,
    items: BTreeMap<String, JanitorItem>,
    known: &'a Known,
    tally: Tally,
}

impl JanitorRun<'_> {
    fn record(&self, event: AuditEventName, resource: &Resource, action: &str, outcome: Outcome) -> AuditRecord {
        let mut record = run_record(self.policy, &self.run_id, self.dry_run, event, outcome);
        action.clone_into(&mut record.action);
        record.provider = Some(resource.provider.as_str().to_owned());
        record.account = Some(resource.account.clone());
        record.region = Some(resource.region.clone());
        record.resource_type = Some(resource.resource_type.as_str().to_owned());
        record.resource_id = Some(resource.id.clone());
        record
    }

    fn stopping(&mut self) -> bool {
        let stop = self.stop.load(Ordering::SeqCst);
        self.tally.interrupted |= stop;
        stop
    }

    fn state_of(&self, resource: &Resource) -> Option<ItemState> {
        self.items.get(&resource.key()).and_then(|item| ItemState::parse(&item.state))
    }

    /// Steps the item's machine, persists the transition (write-ahead) and audits it.
    fn transition(&mut self, resource: &Resource, event: &ItemEvent) -> Result<ItemEffect, String> {
        let from = self.state_of(resource);
        let (to, effect) = step(from, event).map_err(|error| format!("{}: {error}", resource.key()))?;
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
            // Deletions by phase and outcome (the daemon's metrics): who removed it is read
            // off the state it left from.
            let counted = match (from, event) {
                (Some(ItemState::Verifying | ItemState::Phase1), ItemEvent::Gone) => Some(("iac", "succeeded")),
                (_, ItemEvent::IacFailed { reason }) if reason != "interrupted" => Some(("iac", "failed")),
                (Some(ItemState::Phase2), ItemEvent::Gone | ItemEvent::ApiDeleted) => Some(("api", "succeeded")),
                (_, ItemEvent::ApiFailed { .. }) => Some(("api", "failed")),
                _ => None,
            };
            if let Some(key) = counted {
                *self.tally.deletions.entry(key).or_default() += 1;
            }
        }
        self.items.insert(item.key.clone(), item);
        Ok(effect)
    }

    /// One cloud mutation: audited as simulated under dry-run (and not made), else made
    /// and audited with its outcome.
    /// A real one is recorded in doubt before it is made and settled with its answer
    /// ([`audit::call`]); `detail` (the tag written) stays on the record.
    fn mutation(
        &mut self,
        cloud: &dyn JanitorCloud,
        resource: &Resource,
        api: &str,
        detail: Option<String>,
        call: impl FnOnce(&dyn JanitorCloud) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut record = self.record(
            AuditEventName::CloudMutation,
            resource,
            api,
            if self.dry_run { Outcome::Simulated } else { Outcome::Succeeded },
        );
        record.reason = detail;
        record.principal = cloud.principal().map(str::to_owned);
        if self.dry_run {
            audit::emit(&record, &format!("dry-run: would call {api} on {}", resource.key()));
            return Ok(());
        }
        let message = format!("{api} on {}", resource.key());
        match audit::call(self.store, &record, &message, &subject(resource), || call(cloud)) {
            Ok(result) => result,
            Err(error) => Err(format!("the store could not record the call: {error}")),
        }
    }

    fn decision(&self, resource: &Resource, decision: &Decision, outcome: Outcome, reason: Option<String>) {
        let mut record = self.record(AuditEventName::JanitorDecision, resource, decision.name(), outcome);
        record.reason = reason;
        audit::emit(&record, &format!("janitor: {} {}", decision.name(), resource.key()));
    }

    fn mark(&mut self, cloud: &dyn JanitorCloud, resource: &Resource) {
        let tag = self.policy.janitor.mark_tag.clone();
        let value = mark_value(resource.provider, self.now);
        let runtime = self.runtime;
        self.decision(resource, &Decision::Mark, Outcome::Noted, Some(format!("{tag}={value}")));
        let result = self.mutation(cloud, resource, "tag:mark", Some(format!("{tag}={value}")), |cloud| {
            runtime.block_on(cloud.set_tag(resource, &tag, &value)).map_err(|error| error.to_string())
        });
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

    fn unmark(&mut self, cloud: &dyn JanitorCloud, resource: &Resource, skip: &Skip) {
        let tag = self.policy.janitor.mark_tag.clone();
        let runtime = self.runtime;
        self.decision(resource, &Decision::Unmark { skip: skip.clone() }, Outcome::Noted, Some(skip.describe()));
        let result = self.mutation(cloud, resource, "tag:unmark", Some(tag.clone()), |cloud| {
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

    /// Runs the IaC destroy in `workdir` (see [`iac::destroy`]).
    fn run_iac(&self, workdir: &str) -> Result<(), String> {
        let iac = &self.policy.janitor.iac;
        let command = iac::Command { program: &iac.command, args: &iac.args, env: &iac.env };
        self.runtime.block_on(iac::destroy(&command, workdir, self.policy.janitor.iac_timeout))
    }

    /// The deletion of the due resources: phase 1 per working directory, verification,
    /// then phase 2 for whatever is left, in dependency order.
    fn delete_all(&mut self, due: &[(&dyn JanitorCloud, Resource, Option<String>)]) {
        if self.stopping() {
            return;
        }
        let options = DeleteOptions {
            ec2_disable_termination_protection: self.policy.janitor.ec2_disable_termination_protection,
            rds_skip_final_snapshot: self.policy.janitor.rds_skip_final_snapshot,
            rds_disable_deletion_protection: self.policy.janitor.rds_disable_deletion_protection,
        };
        let iac_phase = self.policy.janitor.phases.contains(&JanitorPhase::Iac);
        let api_phase = self.policy.janitor.phases.contains(&JanitorPhase::Api);
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
            if let Err(error) = self.transition(resource, &ItemEvent::Delete { phase1 }) {
                self.fail(resource, &error);
                continue;
            }
            match workdir {
                Some(dir) if phase1 => by_workdir.entry(dir.clone()).or_default().push(index),
                _ => direct.push(index),
            }
        }
        for (dir, members) in by_workdir {
            let result = if self.dry_run {
                Ok(())
            } else {
                let mut record =
                    run_record(self.policy, &self.run_id, false, AuditEventName::JanitorIac, Outcome::Succeeded);
                record.action =
                    format!("{} {}", self.policy.janitor.iac.command, self.policy.janitor.iac.args.join(" "));
                record.reason = Some(format!("in {dir} for {} resource(s)", members.len()));
                let message = format!("phase 1 in {dir}");
                // Recorded in doubt before it starts (a crash during the destroy is settled
                // from the directory's state by the next run), settled when it ends.
                match audit::begin(self.store, &record, &message, &format!("workdir:{dir}")) {
                    Err(error) => Err(format!("the store could not record the destroy: {error}")),
                    Ok(pending) => {
                        let started = Instant::now();
                        let result = self.run_iac(&dir);
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
            if self.dry_run {
                let mut record =
                    run_record(self.policy, &self.run_id, true, AuditEventName::JanitorIac, Outcome::Simulated);
                record.action =
                    format!("{} {}", self.policy.janitor.iac.command, self.policy.janitor.iac.args.join(" "));
                record.reason = Some(format!("would run in {dir} for {} resource(s)", members.len()));
                audit::emit(&record, &format!("dry-run: phase 1 in {dir}"));
            }
            for index in members {
                let (cloud, resource, _) = &due[index];
                let event = match &result {
                    Ok(()) => ItemEvent::IacSucceeded,
                    Err(reason) => ItemEvent::IacFailed { reason: reason.clone() },
                };
                match self.transition(resource, &event) {
                    Ok(ItemEffect::CheckGone) if !self.dry_run => match self.runtime.block_on(cloud.exists(resource)) {
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
                    Ok(ItemEffect::CheckGone) => {
                        // Dry-run: what phase 1 would leave is unknown; phase 2 would follow.
                        self.tally.note("would delete", format!("would delete {} (phase 1 in {dir})", resource.key()));
                    }
                    Ok(_) => direct.push(index),
                    Err(error) => self.fail(resource, &error),
                }
            }
        }
        direct.sort_by_key(|index| (order(due[*index].1.resource_type), *index));
        // Phase 1 may have taken long: list again and re-check every hard block right
        // before deleting (a protection tag added meanwhile wins).
        let mut fresh: BTreeMap<String, Option<Resource>> = BTreeMap::new();
        let mut contents: BTreeMap<String, Result<Vec<Resource>, String>> = BTreeMap::new();
        if !direct.is_empty() {
            let mut listed: BTreeMap<(String, String), Vec<Resource>> = BTreeMap::new();
            for index in &direct {
                let (cloud, resource, _) = &due[*index];
                let scope =
                    (format!("{}/{}", cloud.provider(), cloud.account()), resource.resource_type.as_str().to_owned());
                if !listed.contains_key(&scope) {
                    match self.runtime.block_on(cloud.inventory(&[resource.resource_type])) {
                        Ok(resources) => {
                            listed.insert(scope.clone(), resources);
                        }
                        Err(error) => {
                            self.fail(resource, &format!("re-listing before deletion: {error}"));
                            continue;
                        }
                    }
                }
                let now = listed[&scope].iter().find(|r| r.key() == resource.key()).cloned().map(|mut r| {
                    r.managed = self.known.manages(&r);
                    r
                });
                fresh.insert(resource.key(), now);
                let held = self.runtime.block_on(cloud.contents(resource)).map_err(|error| error.to_string());
                contents.insert(resource.key(), held);
            }
        }
        for index in direct {
            // A stop request: this deletion is not started; the item stays in flight in
            // the store and the next run resumes it after checking the hard blocks again.
            if self.stopping() {
                break;
            }
            let (cloud, resource, _) = &due[index];
            let (cloud, resource) = (*cloud, resource.clone());
            {
                match fresh.get(&resource.key()) {
                    None => continue, // re-listing failed: already reported
                    Some(None) => {
                        let _ = self.transition(&resource, &ItemEvent::Gone);
                        self.tally.note("deleted", format!("deleted   {} (gone before phase 2)", resource.key()));
                        continue;
                    }
                    Some(Some(now)) => {
                        let verdict = driftguard_janitor::select(self.policy, now, Utc::now());
                        let changed = fingerprint(self.policy, now) != fingerprint(self.policy, &resource);
                        let reason = match verdict {
                            driftguard_janitor::Verdict::Skip(skip) => Some(skip.describe()),
                            driftguard_janitor::Verdict::Candidate { .. } if changed => {
                                Some("changed during this run (tags, protection or managed state)".to_owned())
                            }
                            driftguard_janitor::Verdict::Candidate { .. } => {
                                self.contents_block(contents.get(&resource.key()))
                            }
                        };
                        if let Some(reason) = reason {
                            let _ = self.transition(&resource, &ItemEvent::Unmarked { reason: reason.clone() });
                            self.tally.note(
                                "blocked",
                                format!("blocked   {} (re-checked before deletion: {reason})", resource.key()),
                            );
                            continue;
                        }
                    }
                }
            }
            if !api_phase {
                let _ = self.transition(&resource, &ItemEvent::ApiFailed { reason: "phase 2 (api) is off".into() });
                self.fail(&resource, "still there after phase 1 and janitor.phases has no api phase");
                continue;
            }
            let runtime = self.runtime;
            let api = format!("delete:{}", resource.resource_type.as_str());
            let result = self.mutation(cloud, &resource, &api, None, |cloud| {
                runtime.block_on(cloud.delete(&resource, &options)).map_err(|error| error.to_string())
            });
            if self.dry_run {
                if !self.tally.lines.iter().any(|l| l.contains(&resource.key())) {
                    self.tally.note("would delete", format!("would delete {} (phase 2: API)", resource.key()));
                }
                continue;
            }
            match result {
                Ok(()) => {
                    let _ = self.transition(&resource, &ItemEvent::ApiDeleted);
                    self.tally.note("deleted", format!("deleted   {} (phase 2: API)", resource.key()));
                }
                Err(reason) => {
                    let _ = self.transition(&resource, &ItemEvent::ApiFailed { reason: reason.clone() });
                    self.fail(&resource, &reason);
                }
            }
        }
    }

    /// Whether phase 1 may run in `dir` for the candidates `ids`: the directory is one the
    /// policy lists (a resource's tag only chooses among them; it never names a path), its
    /// state is local, readable and none of the policy's states, and every resource in it
    /// belongs to one of the candidates (the destroy removes the whole root module, so one
    /// stranger in it refuses phase 1 and the candidates go through phase 2 alone).
    fn workdir_check(&self, dir: &str, ids: &[&str]) -> Result<(), String> {
        let canonical = std::fs::canonicalize(dir).map_err(|error| format!("working directory {dir}: {error}"))?;
        let listed = self.policy.janitor.iac_workdirs.iter().filter_map(|(_, d)| std::fs::canonicalize(d).ok());
        if !listed.into_iter().any(|allowed| allowed == canonical) {
            return Err(format!("working directory {dir} is not one of janitor.iac.workdirs"));
        }
        let state_path = canonical.join("terraform.tfstate");
        if self.known.state_files.contains(&state_path) {
            return Err(format!("{} is one of terraform.states: never destroyed", state_path.display()));
        }
        let name = state_path.display().to_string();
        let bytes = std::fs::read(&state_path)
            .map_err(|_| format!("no readable local state {name}: what the destroy would remove is unknown"))?;
        let state = driftguard_engine::tfstate::parse(&name, &bytes).map_err(|error| error.to_string())?;
        let strangers: Vec<&str> = state
            .resources
            .iter()
            .filter(|resource| {
                let values = resource.attributes.as_object().into_iter().flat_map(|map| map.values());
                !values.filter_map(serde_json::Value::as_str).any(|value| ids.contains(&value))
            })
            .map(|resource| resource.address.as_str())
            .collect();
        if strangers.is_empty() {
            Ok(())
        } else {
            Err(format!("its state also holds {} (not candidates of this run)", strangers.join(", ")))
        }
    }

    /// Why what a resource holds blocks its deletion: a contained resource with a
    /// protected tag or managed by a known state (an Azure resource group's delete takes
    /// everything in it), or contents that could not be listed.
    fn contents_block(&self, contents: Option<&Result<Vec<Resource>, String>>) -> Option<String> {
        match contents? {
            Err(error) => Some(format!("its contents could not be listed: {error}")),
            Ok(held) => held.iter().find_map(|inner| {
                if let Some((key, value)) = self.policy.protection.protected_by(&inner.tags) {
                    Some(format!("it holds {} protected by tag {key}={value}", inner.name))
                } else if self.known.values_lower.contains(&inner.id.to_lowercase()) {
                    Some(format!("it holds {}, managed by a known Terraform state", inner.name))
                } else {
                    None
                }
            }),
        }
    }

    fn fail(&mut self, resource: &Resource, reason: &str) {
        self.tally.failed += 1;
        self.tally.note("failed", format!("failed    {} ({reason})", resource.key()));
    }

    /// Settles the records of calls a stopped process left in doubt (it died between
    /// starting the call and recording the answer), from what the cloud shows now: one
    /// record per call, saying whether it took effect. Only resources of this run's
    /// accounts are judged; the others wait for a run that lists them.
    fn settle_in_doubt(
        &mut self,
        clouds: &[Box<dyn JanitorCloud>],
        inventory: &[(usize, Resource)],
    ) -> Result<(), String> {
        let in_doubt = |prefix| audit::in_doubt(self.store, prefix).map_err(|error| error.to_string());
        for entry in in_doubt("janitor:")? {
            let key = entry.subject.trim_start_matches("janitor:");
            let record: serde_json::Value = serde_json::from_str(&entry.record).unwrap_or_default();
            let action = record["action"].as_str().unwrap_or_default();
            let listed = inventory.iter().map(|(_, resource)| resource).find(|resource| resource.key() == key);
            let item = self.items.get(key).and_then(resource_of_item);
            let cloud = listed.or(item.as_ref()).and_then(|resource| {
                clouds.iter().find(|c| c.provider() == resource.provider && c.account() == resource.account)
            });
            let Some(cloud) = cloud else { continue };
            let verdict = if action.starts_with("delete:") {
                match (listed, &item) {
                    (Some(_), _) => Some((
                        Outcome::Failed,
                        "interrupted; the resource is still listed, so the deletion did not complete".to_owned(),
                    )),
                    (None, Some(resource)) => match self.runtime.block_on(cloud.exists(resource)) {
                        Ok(false) => Some((
                            Outcome::Succeeded,
                            "confirmed after an interruption: the resource is gone".to_owned(),
                        )),
                        Ok(true) => Some((
                            Outcome::Failed,
                            "interrupted; the resource is still there, so the deletion did not complete".to_owned(),
                        )),
                        // Left in doubt: the next run asks again.
                        Err(_) => None,
                    },
                    (None, None) => Some((
                        Outcome::Unknown,
                        "interrupted; the resource is neither listed nor in the store".to_owned(),
                    )),
                }
            } else {
                // A tag write: `reason` holds what was written (`Key=Value`) or removed (`Key`).
                let detail = record["reason"].as_str().unwrap_or_default();
                let (tag, value) = detail.split_once('=').map_or((detail, None), |(k, v)| (k, Some(v)));
                match listed {
                    None => Some((
                        Outcome::Unknown,
                        "interrupted; the resource is no longer listed, so whether the tag was written is unknown"
                            .to_owned(),
                    )),
                    Some(resource) => {
                        let now = resource.tags.get(tag).map(String::as_str);
                        let took = if action == "tag:mark" { now.is_some() && now == value } else { now.is_none() };
                        Some(if took {
                            (
                                Outcome::Succeeded,
                                format!("confirmed after an interruption: {detail} is as the call left it"),
                            )
                        } else {
                            (
                                Outcome::Failed,
                                format!(
                                    "interrupted; {detail} is not as the call would leave it, so it did not take effect"
                                ),
                            )
                        })
                    }
                }
            };
            if let Some((outcome, reason)) = verdict {
                audit::settle(self.store, &entry, outcome, &reason).map_err(|error| error.to_string())?;
            }
        }
        for entry in in_doubt("workdir:")? {
            let (outcome, reason) = iac_verdict(entry.subject.trim_start_matches("workdir:"));
            audit::settle(self.store, &entry, outcome, &reason).map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

/// What a destroy interrupted in `dir` did, read from the state it rewrites as it goes.
fn iac_verdict(dir: &str) -> (Outcome, String) {
    let path = Path::new(dir).join("terraform.tfstate");
    let name = path.display().to_string();
    let state = std::fs::read(&path)
        .map_err(|error| error.to_string())
        .and_then(|bytes| driftguard_engine::tfstate::parse(&name, &bytes).map_err(|error| error.to_string()));
    match state {
        Ok(state) if state.resources.is_empty() => {
            (Outcome::Succeeded, format!("confirmed after an interruption: {name} holds no resources"))
        }
        Ok(state) => {
            (Outcome::Failed, format!("interrupted; {name} still holds {} resource(s)", state.resources.len()))
        }
        Err(error) => (Outcome::Unknown, format!("interrupted; {name} cannot tell what was destroyed: {error}")),
    }
}

/// The outbox subject of a resource's records.
fn subject(resource: &Resource) -> String {
    format!("janitor:{}", resource.key())
}

fn read_plan(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|error| format!("{}:{}:{}: {error}", path.display(), error.line(), error.column()))?;
    if plan.version != PLAN_VERSION {
        return Err(format!("{}: plan format version {} is not {PLAN_VERSION}", path.display(), plan.version));
    }
    Ok(plan)
}

pub fn run(cli: &Cli, plan_out: Option<&Path>, apply_plan: Option<&Path>) -> Exit {
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    if !policy.janitor.enabled {
        eprintln!("driftguard janitor: janitor.enabled is false in {}; nothing to do", policy.source);
        return Exit::Success;
    }
    let _lock = match crate::job::lock_store(&policy, "janitor") {
        Ok(lock) => lock,
        Err(exit) => return exit,
    };
    if plan_out.is_some() && !policy.dry_run {
        eprintln!("driftguard janitor: --plan-out writes a plan for review and deletes nothing: add --dry-run");
        return Exit::Usage;
    }
    let plan = match apply_plan.map(read_plan).transpose() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("driftguard janitor: {error}; nothing was deleted");
            return Exit::Runtime;
        }
    };
    if let Some(plan) = &plan
        && plan.policy_hash != policy.hash
    {
        eprintln!(
            "driftguard janitor: the plan was made under another policy (hash {}, now {}): plan again; nothing was deleted",
            &plan.policy_hash[..plan.policy_hash.len().min(12)],
            &policy.hash[..12]
        );
        return Exit::Runtime;
    }
    let runtime = match crate::job::runtime("janitor") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let (tally, listed) = match execute(&policy, runtime.handle(), &JobEnv::default(), plan.as_ref(), plan_out) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("{error}");
            return Exit::Runtime;
        }
    };
    let counts: Vec<String> = tally.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    for line in &tally.lines {
        eprintln!("{line}");
    }
    eprintln!(
        "janitor: {} resource(s) listed; {}; dry-run {}",
        listed,
        if counts.is_empty() { "nothing to do".to_owned() } else { counts.join(", ") },
        if policy.dry_run { "on" } else { "off" }
    );
    if tally.failed > 0 { Exit::Runtime } else { Exit::Success }
}

/// One janitor run under a compiled policy (the caller holds the store lock): read the
/// states, list every account in the job's scope, decide and act. Returns what happened
/// and how many resources were listed; `Err` (every line of it) when nothing was done.
pub fn execute(
    policy: &Policy,
    runtime: &Handle,
    env: &JobEnv,
    plan: Option<&Plan>,
    plan_out: Option<&Path>,
) -> Result<(Tally, usize), String> {
    let run_id = uuid::Uuid::new_v4().to_string();
    // Its records in doubt are calls in flight: no other job settles them.
    let _live = audit::LiveRun::enter(&run_id);
    let started = Utc::now();

    // 1. What Terraform manages: the janitor never touches it, so no state, no run.
    let states = match crate::job::states::load_states(runtime, env, policy, &[]) {
        Ok(states) => states,
        Err(mut errors) => {
            errors.push(
                "driftguard janitor: a Terraform state is unreadable, so what it manages is unknown; nothing was marked or deleted"
                    .to_owned(),
            );
            return Err(errors.join("\n"));
        }
    };
    let known = Known::of(&states);

    // 2. Who each account's credentials are, before any other call there; then every
    // verified account's inventory, before anything is decided.
    let (clouds, checked) = clouds(runtime, env, policy, &run_id);
    let mut store = open_store(policy).map_err(|_| "driftguard janitor: the store could not be opened".to_owned())?;
    // A simulation writes nothing to the store, not even its run.
    if !policy.dry_run {
        store.begin_run(&run_id, "janitor", started).map_err(|error| format!("driftguard janitor: {error}"))?;
    }
    audit::emit(
        &run_record(policy, &run_id, policy.dry_run, AuditEventName::RunStarted, Outcome::Noted),
        "janitor run started",
    );
    let (mut tally, listed) =
        match cycle(policy, runtime, &env.stop, &clouds, &known, &mut store, &run_id, plan, plan_out) {
            Ok(done) => done,
            Err(error) => {
                if !policy.dry_run {
                    let _ = store.finish_run(&run_id, "failed", Utc::now());
                }
                let mut finished =
                    run_record(policy, &run_id, policy.dry_run, AuditEventName::RunFinished, Outcome::Failed);
                finished.reason = Some(error.clone());
                audit::emit(&finished, "janitor run failed");
                return Err(format!("driftguard janitor: {error}"));
            }
        };
    // A refused account was not governed: the run failed there, whatever it did elsewhere.
    tally.failed += checked.refused.len();
    for line in checked.lines() {
        tally.note("accounts refused", line);
    }
    tally.checked = checked;
    let run_status = match (tally.failed > 0, tally.interrupted) {
        (true, _) => "failed",
        (false, true) => "interrupted",
        (false, false) => "succeeded",
    };
    if !policy.dry_run {
        let _ = store.finish_run(&run_id, run_status, Utc::now());
    }
    let mut finished = run_record(
        policy,
        &run_id,
        policy.dry_run,
        AuditEventName::RunFinished,
        if tally.failed > 0 { Outcome::Failed } else { Outcome::Succeeded },
    );
    let mut counts: Vec<String> = tally.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if tally.interrupted {
        counts.push("interrupted by a stop request".to_owned());
    }
    finished.reason = Some(counts.join(", "));
    audit::emit(&finished, "janitor run finished");
    Ok((tally, listed))
}

/// A resource rebuilt from its store row (for items no longer listed).
fn resource_of_item(item: &JanitorItem) -> Option<Resource> {
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

/// One janitor cycle over these clouds: list, decide, act. Separate from [`run`] (which
/// reads the policy, the states and the plan) so that it runs against any
/// [`JanitorCloud`], in-memory fakes included. Returns what happened and how many
/// resources were listed; `Err` when listing failed (nothing was done then).
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn cycle(
    policy: &Policy,
    runtime: &Handle,
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
        match runtime.block_on(cloud.inventory(&policy.janitor.targets)) {
            Ok(resources) => {
                for mut resource in resources {
                    resource.managed = known.manages(&resource);
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
        dry_run: policy.dry_run,
        now,
        items,
        known,
        tally: Tally::default(),
    };

    // Calls a stopped run left in doubt get their one record, from what the listing shows.
    if !janitor.dry_run {
        janitor.settle_in_doubt(clouds, &inventory)?;
    }

    // 3. Revenants: deleted earlier, listed again.
    for (_, resource) in &inventory {
        if janitor.state_of(resource) == Some(ItemState::Deleted) {
            let _ = janitor.transition(resource, &ItemEvent::Reappeared);
            janitor.tally.note("revenant", format!("revenant  {} (deleted earlier, listed again)", resource.key()));
        }
    }

    // 4. Decide.
    // A mark counts only if this janitor made it (its store says so): a mark tag copied
    // by a launch template, a restore or a person would otherwise skip the grace period.
    // An untrusted mark is ignored: a candidate is marked afresh, anything else left alone.
    let mark_tag = policy.janitor.mark_tag.clone();
    let resources: Vec<Resource> = inventory
        .iter()
        .map(|(_, resource)| {
            let mut resource = resource.clone();
            let trusted = janitor.state_of(&resource).is_some_and(|state| {
                matches!(state, ItemState::Marked | ItemState::Blocked | ItemState::Failed) || state.in_flight()
            });
            if !trusted && resource.tags.remove(&mark_tag).is_some() {
                let mut record =
                    janitor.record(AuditEventName::JanitorDecision, &resource, "ignore_mark", Outcome::Noted);
                record.reason = Some(format!("{mark_tag} was not written by this janitor (no record in its store)"));
                audit::emit(&record, &format!("janitor: untrusted mark on {}", resource.key()));
            }
            resource
        })
        .collect();
    let mut refused: Vec<String> = Vec::new();
    let decisions = match plan {
        None if plan_out.is_some() => decide(policy, &resources, now, Mode::Plan),
        None => decide(policy, &resources, now, Mode::Scheduled),
        Some(plan) => {
            let mut chosen = BTreeSet::new();
            for item in &plan.items {
                let found = resources.iter().position(|r| {
                    r.provider == item.resource.provider
                        && r.account == item.resource.account
                        && r.resource_type == item.resource.resource_type
                        && r.id == item.resource.id
                });
                let reached = clouds
                    .iter()
                    .any(|c| c.provider() == item.resource.provider && c.account() == item.resource.account);
                match found {
                    // Its account was refused this run: nothing there is known, let alone gone.
                    None if !reached => refused
                        .push(format!("refused   {} (its account was not verified in this run)", item.resource.key())),
                    None => refused.push(format!("gone      {} (already gone before applying)", item.resource.key())),
                    Some(index) if fingerprint(policy, &resources[index]) != item.fingerprint => {
                        let decision = Decision::Skip { skip: Skip::NotInPlan };
                        janitor.decision(
                            &resources[index],
                            &decision,
                            Outcome::Blocked,
                            Some("fingerprint changed since planning: tags, protection or managed state differ".into()),
                        );
                        refused.push(format!("refused   {} (changed since planning)", item.resource.key()));
                    }
                    Some(index) => {
                        chosen.insert(index);
                    }
                }
            }
            decide(policy, &resources, now, Mode::Apply(&chosen))
        }
    };
    for line in refused {
        if line.starts_with("gone") {
            janitor.tally.note("gone", line);
        } else {
            // Automation must see that the reviewed plan was not carried out in full.
            janitor.tally.failed += 1;
            janitor.tally.note("refused", line);
        }
    }

    // 5. Resume deletions a crash interrupted (after the hard blocks said yes again).
    let mut due: Vec<(&dyn JanitorCloud, Resource, Option<String>)> = Vec::new();
    let listed: HashSet<String> = resources.iter().map(Resource::key).collect();
    let in_flight: Vec<JanitorItem> = janitor
        .items
        .values()
        .filter(|item| ItemState::parse(&item.state).is_some_and(ItemState::in_flight))
        .cloned()
        .collect();
    for item in in_flight {
        if listed.contains(&item.key) {
            continue;
        }
        // Not listed any more: gone only if the API says so (the resource may simply be
        // outside this scan now: a type, region or account taken out of the policy).
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

    // 6. Carry the decisions out.
    for ((cloud_index, resource), decision) in inventory.iter().zip(&decisions) {
        // A stop request: the decision in hand was carried out; no further one starts.
        if janitor.stopping() {
            break;
        }
        let cloud = clouds[*cloud_index].as_ref();
        let state = janitor.state_of(resource);
        if state.is_some_and(ItemState::in_flight) && plan.is_none() && plan_out.is_none() {
            match decision {
                Decision::Delete { .. } => {
                    // Still qualifies and fits under the caps: finish through the API (the
                    // IaC run is not repeated).
                    let event = match state {
                        Some(ItemState::Phase1) => Some(ItemEvent::IacFailed { reason: "interrupted".into() }),
                        Some(ItemState::Verifying) => Some(ItemEvent::StillThere),
                        _ => None,
                    };
                    if let Some(event) = event
                        && let Err(error) = janitor.transition(resource, &event)
                    {
                        janitor.fail(resource, &error);
                        continue;
                    }
                    janitor.tally.note("resumed", format!("resumed   {} (interrupted deletion)", resource.key()));
                    due.push((cloud, resource.clone(), None));
                }
                Decision::Wait { .. } | Decision::Held { .. } => {
                    // A cap or a longer grace period now holds it back: it waits, however far it got.
                    let reason = format!("interrupted deletion held back: {}", decision.name());
                    if !janitor.dry_run {
                        let _ = janitor.transition(resource, &ItemEvent::Held { reason: reason.clone() });
                    }
                    janitor.tally.note("held", format!("held      {} ({reason})", resource.key()));
                }
                Decision::Skip { skip } | Decision::Unmark { skip } => janitor.unmark(cloud, resource, skip),
                Decision::Mark => {}
            }
            continue;
        }
        match decision {
            Decision::Skip { skip: Skip::NoPrefix | Skip::NotATarget | Skip::Disabled | Skip::NotInPlan } => {}
            Decision::Skip { skip } => {
                janitor.decision(resource, decision, Outcome::Blocked, Some(skip.describe()));
                janitor.tally.note("blocked", format!("blocked   {} ({})", resource.key(), skip.describe()));
            }
            Decision::Mark if plan_out.is_some() => {}
            Decision::Mark => janitor.mark(cloud, resource),
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

    // 7. Plan for review, or delete.
    if let Some(path) = plan_out {
        let item = |resource: &Resource, workdir: Option<String>| PlanItem {
            resource: resource.clone(),
            fingerprint: fingerprint(policy, resource),
            protected_by: policy.protection.protected_by(&resource.tags),
            workdir,
        };
        let plan = Plan {
            version: PLAN_VERSION,
            created_at: now,
            policy_hash: policy.hash.clone(),
            items: resources
                .iter()
                .zip(&decisions)
                .filter_map(|(r, d)| match d {
                    Decision::Delete { workdir } => Some(item(r, workdir.clone())),
                    _ => None,
                })
                .collect(),
            held: resources
                .iter()
                .zip(&decisions)
                .filter(|(_, d)| matches!(d, Decision::Held { .. }))
                .map(|(r, _)| item(r, None))
                .collect(),
        };
        for entry in &plan.items {
            janitor.tally.note("planned", format!("planned   {}", entry.resource.key()));
        }
        std::fs::write(path, serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n")
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    } else {
        let deleted_keys: Vec<Resource> = due.iter().map(|(_, r, _)| r.clone()).collect();
        janitor.delete_all(&due);
        // 8. Revenant check after the policy's delay (longer delays: the next run checks).
        let delay = policy.janitor.revenant_check_after;
        if !janitor.dry_run && !deleted_keys.is_empty() && delay <= Duration::from_mins(5) {
            std::thread::sleep(delay);
            for (index, cloud) in clouds.iter().enumerate() {
                let again = match runtime.block_on(cloud.inventory(&policy.janitor.targets)) {
                    Ok(again) => again,
                    Err(error) => {
                        // Not a failed deletion: the next run's listing checks for revenants too.
                        let line =
                            format!("revenant check of {} {} skipped: {error}", cloud.provider(), cloud.account());
                        janitor.tally.note("unchecked", line);
                        continue;
                    }
                };
                for resource in again {
                    let was_deleted = deleted_keys.iter().any(|d| d.key() == resource.key());
                    if was_deleted && janitor.state_of(&resource) == Some(ItemState::Deleted) {
                        let _ = janitor.transition(&resource, &ItemEvent::Reappeared);
                        janitor
                            .tally
                            .note("revenant", format!("revenant  {} (listed again after deletion)", resource.key()));
                    }
                }
                let _ = index;
            }
        }
    }

    let mut tally = std::mem::take(&mut janitor.tally);
    run_id.clone_into(&mut tally.run_id);
    Ok((tally, resources.len()))
}

#[cfg(test)]
mod tests {
    //! The janitor's runtime as a property: random inventories and policies, run against an
    //! in-memory cloud that counts every mutation. Nothing here trusts `decide`: the
    //! checks are written from the policy and the inventory directly.

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use driftguard_engine::policy::{CliOverrides, compile};
    use driftguard_providers::janitor::CloudFuture;
    use proptest::prelude::*;

    use super::*;

    const ACCOUNT: &str = "111111111111";

    /// An account held in memory: what the janitor lists, tags and deletes.
    #[derive(Debug, Default)]
    struct MemoryCloud {
        resources: Mutex<Vec<Resource>>,
        mutations: AtomicUsize,
        deleted: Mutex<Vec<Resource>>,
        /// The account its resources are listed in (default [`ACCOUNT`]).
        label: Option<String>,
    }

    impl MemoryCloud {
        fn edit(&self, resource: &Resource, change: impl FnOnce(&mut Resource)) {
            self.mutations.fetch_add(1, Ordering::SeqCst);
            let mut resources = self.resources.lock().unwrap();
            if let Some(found) = resources.iter_mut().find(|r| r.key() == resource.key()) {
                change(found);
            }
        }
    }

    impl JanitorCloud for MemoryCloud {
        fn provider(&self) -> Provider {
            Provider::Aws
        }

        fn account(&self) -> &str {
            self.label.as_deref().unwrap_or(ACCOUNT)
        }

        fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
            let resources = self.resources.lock().unwrap();
            let listed: Vec<Resource> =
                resources.iter().filter(|r| targets.contains(&r.resource_type)).cloned().collect();
            drop(resources);
            Box::pin(async move { Ok(listed) })
        }

        fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
            self.edit(resource, |r| {
                r.tags.insert(key.to_owned(), value.to_owned());
            });
            Box::pin(async { Ok(()) })
        }

        fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
            self.edit(resource, |r| {
                r.tags.remove(key);
            });
            Box::pin(async { Ok(()) })
        }

        fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
            let present = self.resources.lock().unwrap().iter().any(|r| r.key() == resource.key());
            Box::pin(async move { Ok(present) })
        }

        fn delete<'a>(&'a self, resource: &'a Resource, _: &'a DeleteOptions) -> CloudFuture<'a, ()> {
            self.mutations.fetch_add(1, Ordering::SeqCst);
            let mut resources = self.resources.lock().unwrap();
            if let Some(index) = resources.iter().position(|r| r.key() == resource.key()) {
                self.deleted.lock().unwrap().push(resources.remove(index));
            }
            Box::pin(async { Ok(()) })
        }
    }

    fn policy(dry_run: bool, per_run: u32, protected_value: &str) -> Policy {
        let text = format!(
            "dry_run: {dry_run}\nflows:\n  - name: all\n    steps: [classify, plan, report]\nproviders:\n  aws:\n    - account: \"{ACCOUNT}\"\n      environment: sandbox\n      regions: [us-east-1]\nprotection:\n  name_prefix: dg-\n  tags:\n    - key: Environment\n      values: [\"{protected_value}\"]\n  caps:\n    max_deletions_per_run: {per_run}\n    max_delete_percent: 100\njanitor:\n  enabled: true\n  targets: [aws_s3_bucket, aws_instance]\n  default_ttl: 1h\n  grace_period: 0s\n  phases: [api]\n  revenant_check_after: 10m\n  delete_allowlist:\n    aws: [\"{ACCOUNT}\"]\n"
        );
        compile("p.yaml", &text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn arb_resource() -> impl Strategy<Value = Resource> {
        (
            prop::sample::select(vec!["dg-a", "dg-b", "dg-c", "other", "DG-d"]),
            0..1000u32,
            prop::sample::select(vec![None, Some("production"), Some("PRODUCTION"), Some("sandbox")]),
            prop::sample::select(vec![None, Some("2020-01-01"), Some("2999-01-01"), Some("garbage")]),
            prop::option::of(0..200i64),
            any::<bool>(),
        )
            .prop_map(|(name, n, environment, expires, age, bucket)| {
                let mut tags = BTreeMap::new();
                if let Some(value) = environment {
                    tags.insert("Environment".to_owned(), value.to_owned());
                }
                if let Some(value) = expires {
                    tags.insert("expires-at".to_owned(), value.to_owned());
                }
                Resource {
                    provider: Provider::Aws,
                    account: ACCOUNT.to_owned(),
                    region: "us-east-1".to_owned(),
                    resource_type: if bucket { JanitorTarget::AwsS3Bucket } else { JanitorTarget::AwsInstance },
                    id: format!("{name}-{n}"),
                    name: name.to_owned(),
                    tags,
                    created_at: age.map(|hours| Utc::now() - chrono::Duration::hours(hours)),
                    managed: false,
                    guards: Vec::new(),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn dry_run_never_mutates_and_records_nothing(
            inventory in prop::collection::vec(arb_resource(), 0..25),
            per_run in 1..6u32,
            marked in any::<bool>(),
        ) {
            let policy = policy(true, per_run, "production");
            let mut inventory = inventory;
            if marked {
                for resource in &mut inventory {
                    resource.tags.insert("driftguard-marked-at".into(), "2020-01-01T00:00:00Z".into());
                }
            }
            let cloud = std::sync::Arc::new(MemoryCloud { resources: Mutex::new(inventory.clone()), ..Default::default() });
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut store = Store::open_in_memory().unwrap();
            let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(Shared(std::sync::Arc::clone(&cloud)))];
            cycle(&policy, runtime.handle(), &AtomicBool::new(false), &clouds, &Known::default(), &mut store, "r", None, None).unwrap();
            prop_assert_eq!(cloud.mutations.load(Ordering::SeqCst), 0);
            prop_assert_eq!(&*cloud.resources.lock().unwrap(), &inventory);
            prop_assert!(store.janitor_items().unwrap().is_empty());
        }

        #[test]
        fn a_real_run_deletes_only_what_may_go_and_never_beyond_the_cap(
            inventory in prop::collection::vec(arb_resource(), 0..25),
            per_run in 1..6u32,
            managed_first in any::<bool>(),
        ) {
            let policy = policy(false, per_run, "production");
            let mut known = Known::default();
            if managed_first && let Some(first) = inventory.first() {
                known.managed.insert((first.resource_type.as_str().to_owned(), first.id.clone()));
            }
            let managed = &known.managed;
            let cloud = std::sync::Arc::new(MemoryCloud { resources: Mutex::new(inventory.clone()), ..Default::default() });
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut store = Store::open_in_memory().unwrap();
            let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(Shared(std::sync::Arc::clone(&cloud)))];
            let mut deleted_so_far = 0;
            for index in 0..3 {
                cycle(&policy, runtime.handle(), &AtomicBool::new(false), &clouds, &known, &mut store, &format!("r{index}"), None, None).unwrap();
                let deleted = cloud.deleted.lock().unwrap().len();
                prop_assert!(deleted - deleted_so_far <= per_run as usize, "cap broken in cycle {}", index);
                if index == 0 {
                    prop_assert_eq!(deleted, 0, "the first cycle only marks");
                }
                deleted_so_far = deleted;
            }
            for gone in cloud.deleted.lock().unwrap().iter() {
                let original = inventory.iter().find(|r| r.key() == gone.key()).unwrap();
                prop_assert!(original.name.starts_with("dg-"), "unprefixed {original:?}");
                prop_assert!(!original.tags.get("Environment").is_some_and(|v| v.eq_ignore_ascii_case("production")), "protected {original:?}");
                prop_assert!(!managed.contains(&(original.resource_type.as_str().to_owned(), original.id.clone())), "managed {original:?}");
                let expired = match original.tags.get("expires-at").map(String::as_str) {
                    Some("2020-01-01") => true,
                    Some(_) => false,
                    None => original.created_at.is_some_and(|t| t + chrono::Duration::hours(1) <= Utc::now()),
                };
                prop_assert!(expired, "unexpired {original:?}");
            }
        }
    }

    /// One policy account in the property below: its label, the account its credentials
    /// really reach (or none), and whether the allowlist names it.
    #[derive(Debug, Clone)]
    struct Estate {
        label: &'static str,
        reaches: Option<&'static str>,
        allowlisted: bool,
    }

    fn arb_estate(label: &'static str) -> impl Strategy<Value = Estate> {
        (prop::sample::select(vec![Some(label), Some("999999999999"), None]), any::<bool>())
            .prop_map(move |(reaches, allowlisted)| Estate { label, reaches, allowlisted })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]

        /// Whatever the credentials reach and the allowlist says: nothing is ever marked or
        /// deleted in an account that is not both verified (its credentials reach it) and
        /// allowlisted. The accounts go through the same admission as the real job
        /// ([`driftguard_engine::identity::judge`], then [`admit`]).
        #[test]
        fn nothing_is_marked_or_deleted_outside_verified_allowlisted_accounts(
            estates in (arb_estate("111111111111"), arb_estate("222222222222"), arb_estate("333333333333")),
            inventory in prop::collection::vec(arb_resource(), 1..12),
        ) {
            let mut estates = [estates.0, estates.1, estates.2];
            // The compiler refuses an enabled janitor that may delete nowhere.
            if !estates.iter().any(|e| e.allowlisted) {
                estates[0].allowlisted = true;
            }
            let allow: Vec<String> =
                estates.iter().filter(|e| e.allowlisted).map(|e| format!("\"{}\"", e.label)).collect();
            let mut text = String::from("dry_run: false\nflows:\n  - name: all\n    steps: [classify, plan, report]\nproviders:\n  aws:\n");
            for estate in &estates {
                text += &format!("    - account: \"{}\"\n      environment: sandbox\n      regions: [us-east-1]\n", estate.label);
            }
            text += "protection:\n  name_prefix: dg-\n  tags:\n    - key: Environment\n      values: [production]\n  caps:\n    max_deletions_per_run: 50\n    max_delete_percent: 100\njanitor:\n  enabled: true\n  targets: [aws_s3_bucket, aws_instance]\n  default_ttl: 1h\n  grace_period: 0s\n  phases: [api]\n  revenant_check_after: 10m\n  delete_allowlist:\n    aws: [";
            text += &allow.join(", ");
            text += "]\n";
            let policy = compile("p.yaml", &text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let clouds: Vec<std::sync::Arc<MemoryCloud>> = estates
                .iter()
                .map(|estate| {
                    // Each adapter lists its resources under its policy label (as the real
                    // ones do): only verification can tell a mislabelled one.
                    let resources = inventory
                        .iter()
                        .map(|r| Resource { account: estate.label.to_owned(), ..r.clone() })
                        .collect();
                    std::sync::Arc::new(MemoryCloud {
                        resources: Mutex::new(resources),
                        label: Some(estate.label.to_owned()),
                        ..Default::default()
                    })
                })
                .collect();
            let checks = estates
                .iter()
                .zip(&clouds)
                .map(|(estate, cloud)| {
                    let answer = estate
                        .reaches
                        .map(|account| driftguard_engine::identity::Caller { account: account.to_owned(), principal: None })
                        .ok_or_else(|| "AccessDenied".to_owned());
                    driftguard_engine::identity::judge(Provider::Aws, estate.label, answer).map(|verified| {
                        (Box::new(Shared(std::sync::Arc::clone(cloud))) as Box<dyn JanitorCloud>, verified)
                    })
                })
                .collect();
            let (admitted, checked) = admit(&policy, "r0", checks);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut store = Store::open_in_memory().unwrap();
            for index in 0..2 {
                cycle(&policy, runtime.handle(), &AtomicBool::new(false), &admitted, &Known::default(), &mut store, &format!("r{index}"), None, None).unwrap();
            }
            for (estate, cloud) in estates.iter().zip(&clouds) {
                let verified = estate.reaches == Some(estate.label);
                prop_assert_eq!(checked.refused.iter().any(|r| r.account() == estate.label), !verified);
                if !(verified && estate.allowlisted) {
                    prop_assert_eq!(cloud.mutations.load(Ordering::SeqCst), 0, "{:?} was touched", estate);
                    prop_assert!(cloud.deleted.lock().unwrap().is_empty());
                }
            }
        }
    }

    #[test]
    fn an_interrupted_destroy_is_judged_by_the_state_it_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| {
            let sub = dir.path().join(name);
            std::fs::create_dir(&sub).unwrap();
            sub
        };
        let empty = path("empty");
        std::fs::write(
            empty.join("terraform.tfstate"),
            r#"{"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "l", "resources": []}"#,
        )
        .unwrap();
        let (outcome, reason) = iac_verdict(empty.to_str().unwrap());
        assert_eq!(outcome, Outcome::Succeeded, "{reason}");
        let left = path("left");
        std::fs::write(
            left.join("terraform.tfstate"),
            r#"{"version": 4, "terraform_version": "1.9.8", "serial": 2, "lineage": "l", "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"attributes": {"id": "dg-b"}}]}]}"#,
        )
        .unwrap();
        let (outcome, reason) = iac_verdict(left.to_str().unwrap());
        assert_eq!(outcome, Outcome::Failed, "{reason}");
        assert!(reason.contains("still holds 1 resource(s)"), "{reason}");
        let (outcome, reason) = iac_verdict(path("none").to_str().unwrap());
        assert_eq!(outcome, Outcome::Unknown, "{reason}");
    }

    #[test]
    fn records_in_doubt_are_settled_once_by_a_later_run_never_while_their_run_is_live() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("terraform.tfstate"),
            r#"{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "resources": []}"#,
        )
        .unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let record =
            AuditRecord::new(AuditEventName::JanitorIac, "terraform destroy", Outcome::Succeeded, false, "x", "h", "p");
        let mut in_flight = record.clone();
        in_flight.run_id = "live-run".to_owned();
        let subject = format!("workdir:{}", dir.path().display());
        let stopped = audit::begin(&mut store, &record, "phase 1", &subject).unwrap();
        let live = audit::LiveRun::enter("live-run");
        let flying = audit::begin(&mut store, &in_flight, "phase 1", &subject).unwrap();
        let policy = policy(false, 1, "production");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(MemoryCloud::default())];
        let run = |store: &mut Store, id: &str| {
            cycle(
                &policy,
                runtime.handle(),
                &AtomicBool::new(false),
                &clouds,
                &Known::default(),
                store,
                id,
                None,
                None,
            )
            .unwrap();
        };
        run(&mut store, "r");
        // The stopped run's record was settled and written; the live one is a call in flight.
        store.outbox_flush().unwrap();
        let left: Vec<String> = store.outbox().unwrap().into_iter().map(|entry| entry.event_id).collect();
        assert_eq!(left, std::slice::from_ref(&flying.event_id));
        assert_ne!(stopped.event_id, flying.event_id);
        drop(live);
        run(&mut store, "r2");
        store.outbox_flush().unwrap();
        assert!(store.outbox().unwrap().is_empty());
    }

    /// Shares one in-memory cloud between the test and the janitor.
    #[derive(Debug)]
    struct Shared(std::sync::Arc<MemoryCloud>);

    impl JanitorCloud for Shared {
        fn provider(&self) -> Provider {
            self.0.provider()
        }
        fn account(&self) -> &str {
            self.0.account()
        }
        fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
            self.0.inventory(targets)
        }
        fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
            self.0.set_tag(resource, key, value)
        }
        fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
            self.0.remove_tag(resource, key)
        }
        fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
            self.0.exists(resource)
        }
        fn delete<'a>(&'a self, resource: &'a Resource, options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
            self.0.delete(resource, options)
        }
    }
}
