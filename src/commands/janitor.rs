//! `driftguard janitor`: removes expired resources with a two-phase nuke.
//!
//! Order of work, so a bad input leaves nothing half-done: read every Terraform state
//! (the janitor never touches what a state manages, so an unreadable state stops the run),
//! list every account, and only then decide ([`driftguard_janitor::decide`]) and act. Each
//! deletion step is persisted before it runs ([`driftguard_janitor::machine`]); a crashed
//! run's deletions are finished by the next run after the hard blocks are checked again.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::policy::Policy;
use driftguard_engine::policy::raw::{JanitorPhase, JanitorTarget};
use driftguard_engine::tfstate::StateFile;
use driftguard_janitor::decide::{Decision, Mode, decide, fingerprint};
use driftguard_janitor::machine::{ItemEffect, ItemEvent, ItemState, step};
use driftguard_janitor::{Resource, Skip};
use driftguard_providers::aws::Aws;
use driftguard_providers::aws_janitor::AwsAccount;
use driftguard_providers::janitor::{DeleteOptions, JanitorCloud};
use driftguard_store::{JanitorItem, JanitorTransition, Store};
use serde::{Deserialize, Serialize};

use super::{load_for_action, open_store, run_record};
use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;

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

/// The clouds of the policy the janitor can act on in this build.
fn clouds(runtime: &tokio::runtime::Runtime, policy: &Policy) -> Vec<Box<dyn JanitorCloud>> {
    let mut out: Vec<Box<dyn JanitorCloud>> = Vec::new();
    for account in &policy.providers.aws {
        if account.regions.is_empty() {
            continue;
        }
        let clients = runtime.block_on(async {
            let mut clients = Vec::new();
            for region in &account.regions {
                clients.push(Aws::connect(region, account.endpoint.as_deref(), policy.retry).await);
            }
            clients
        });
        out.push(Box::new(AwsAccount::new(&account.account, clients)));
    }
    out
}

/// Deletion order across types: what uses others goes first (instances use roles through
/// instance profiles; buckets and databases stand alone), roles last.
fn order(target: JanitorTarget) -> u8 {
    match target {
        JanitorTarget::AwsInstance => 0,
        JanitorTarget::AwsDbInstance => 1,
        JanitorTarget::AwsS3Bucket | JanitorTarget::GoogleStorageBucket => 2,
        JanitorTarget::AzurermResourceGroup => 3,
        JanitorTarget::AwsIamRole => 4,
    }
}

/// What one run did, for the summary and the exit code.
#[derive(Debug, Default)]
struct Tally {
    lines: Vec<String>,
    counts: BTreeMap<&'static str, usize>,
    failed: usize,
}

impl Tally {
    fn note(&mut self, what: &'static str, line: String) {
        *self.counts.entry(what).or_default() += 1;
        self.lines.push(line);
    }
}

/// One run's context.
struct Janitor<'a> {
    policy: &'a Policy,
    store: &'a mut Store,
    runtime: &'a tokio::runtime::Runtime,
    run_id: String,
    dry_run: bool,
    now: DateTime<Utc>,
    items: BTreeMap<String, JanitorItem>,
    tally: Tally,
}

impl Janitor<'_> {
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
        // Under dry-run the machine runs in memory only: the store keeps saying what really happened.
        if !self.dry_run {
            self.store.record_janitor_transition(&item, &transition).map_err(|error| error.to_string())?;
        }
        self.items.insert(item.key.clone(), item);
        audit::emit(
            &record,
            &format!("{} {} -> {}", resource.key(), record.from_state.as_deref().unwrap_or("none"), to),
        );
        Ok(effect)
    }

    /// One cloud mutation: audited as simulated under dry-run (and not made), else made
    /// and audited with its outcome.
    fn mutation(
        &mut self,
        cloud: &dyn JanitorCloud,
        resource: &Resource,
        api: &str,
        call: impl FnOnce(&dyn JanitorCloud) -> Result<(), String>,
    ) -> Result<(), String> {
        if self.dry_run {
            let record = self.record(AuditEventName::CloudMutation, resource, api, Outcome::Simulated);
            audit::emit(&record, &format!("dry-run: would call {api} on {}", resource.key()));
            return Ok(());
        }
        let result = call(cloud);
        let outcome = if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
        let mut record = self.record(AuditEventName::CloudMutation, resource, api, outcome);
        record.reason = result.as_ref().err().cloned();
        audit::emit(&record, &format!("{api} on {}", resource.key()));
        result
    }

    fn decision(&self, resource: &Resource, decision: &Decision, outcome: Outcome, reason: Option<String>) {
        let mut record = self.record(AuditEventName::JanitorDecision, resource, decision.name(), outcome);
        record.reason = reason;
        audit::emit(&record, &format!("janitor: {} {}", decision.name(), resource.key()));
    }

    fn mark(&mut self, cloud: &dyn JanitorCloud, resource: &Resource) {
        let tag = self.policy.janitor.mark_tag.clone();
        let value = self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let runtime = self.runtime;
        self.decision(resource, &Decision::Mark, Outcome::Noted, Some(format!("{tag}={value}")));
        let result = self.mutation(cloud, resource, "tag:mark", |cloud| {
            runtime.block_on(cloud.set_tag(resource, &tag, &value)).map_err(|error| error.to_string())
        });
        match result.and_then(|()| self.transition(resource, &ItemEvent::Marked).map(|_| ())) {
            Ok(()) => self.tally.note("marked", format!("marked    {}", resource.key())),
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
        let result = self.mutation(cloud, resource, "tag:unmark", |cloud| {
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

    /// Runs the IaC destroy in `workdir`; `Err` says why it did not succeed.
    fn run_iac(&self, workdir: &str) -> Result<(), String> {
        let iac = &self.policy.janitor.iac;
        let timeout = self.policy.janitor.iac_timeout;
        self.runtime.block_on(async {
            let mut command = tokio::process::Command::new(&iac.command);
            command
                .args(&iac.args)
                .current_dir(workdir)
                .envs(&iac.env)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true);
            let child = command.spawn().map_err(|error| format!("cannot start {:?}: {error}", iac.command))?;
            let pid = child.id();
            match tokio::time::timeout(timeout, child.wait_with_output()).await {
                Ok(Ok(output)) if output.status.success() => Ok(()),
                Ok(Ok(output)) => {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    if stderr.contains("Error acquiring the state lock") {
                        Err("state lock held by another run".to_owned())
                    } else {
                        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
                        Err(format!("exit {}: {last}", output.status.code().map_or(-1, |c| c)))
                    }
                }
                Ok(Err(error)) => Err(format!("waiting for {:?}: {error}", iac.command)),
                Err(_) => {
                    // Interrupt first, as a person would: terraform then releases its state
                    // lock. The child is killed on drop if it does not stop.
                    if let Some(pid) = pid {
                        let _ = std::process::Command::new("kill").arg("-INT").arg(pid.to_string()).status();
                    }
                    Err(format!("timed out after {}s", timeout.as_secs()))
                }
            }
        })
    }

    /// The deletion of the due resources: phase 1 per working directory, verification,
    /// then phase 2 for whatever is left, in dependency order.
    fn delete_all(&mut self, due: &[(&dyn JanitorCloud, Resource, Option<String>)]) {
        let options = DeleteOptions {
            ec2_disable_termination_protection: self.policy.janitor.ec2_disable_termination_protection,
            rds_skip_final_snapshot: self.policy.janitor.rds_skip_final_snapshot,
            rds_disable_deletion_protection: self.policy.janitor.rds_disable_deletion_protection,
        };
        let iac_phase = self.policy.janitor.phases.contains(&JanitorPhase::Iac);
        let api_phase = self.policy.janitor.phases.contains(&JanitorPhase::Api);
        let mut by_workdir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut direct = Vec::new();
        for (index, (_, resource, workdir)) in due.iter().enumerate() {
            if self.state_of(resource) == Some(ItemState::Phase2) {
                // Resumed after an interruption: the API deletion is idempotent, run it again.
                direct.push(index);
                continue;
            }
            let phase1 = iac_phase && workdir.is_some();
            self.decision(
                resource,
                &Decision::Delete { workdir: workdir.clone() },
                if self.dry_run { Outcome::Simulated } else { Outcome::Noted },
                Some(if phase1 {
                    "phase 1 (IaC), then phase 2 for what remains".into()
                } else {
                    "phase 2 (API)".into()
                }),
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
                let started = Instant::now();
                let result = self.run_iac(&dir);
                let mut record = run_record(
                    self.policy,
                    &self.run_id,
                    false,
                    AuditEventName::JanitorIac,
                    if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed },
                );
                record.action =
                    format!("{} {}", self.policy.janitor.iac.command, self.policy.janitor.iac.args.join(" "));
                record.reason = Some(format!(
                    "in {dir} for {} resource(s), {:.1}s{}",
                    members.len(),
                    started.elapsed().as_secs_f64(),
                    result.as_ref().err().map(|e| format!(": {e}")).unwrap_or_default()
                ));
                audit::emit(&record, &format!("phase 1 in {dir}"));
                result
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
        for index in direct {
            let (cloud, resource, _) = &due[index];
            let (cloud, resource) = (*cloud, resource.clone());
            if !api_phase {
                let _ = self.transition(&resource, &ItemEvent::ApiFailed { reason: "phase 2 (api) is off".into() });
                self.fail(&resource, "still there after phase 1 and janitor.phases has no api phase");
                continue;
            }
            let runtime = self.runtime;
            let api = format!("delete:{}", resource.resource_type.as_str());
            let result = self.mutation(cloud, &resource, &api, |cloud| {
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

    fn fail(&mut self, resource: &Resource, reason: &str) {
        self.tally.failed += 1;
        self.tally.note("failed", format!("failed    {} ({reason})", resource.key()));
    }
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

#[allow(clippy::too_many_lines)]
pub fn run(cli: &Cli, plan_out: Option<&Path>, apply_plan: Option<&Path>) -> Exit {
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    if !policy.janitor.enabled {
        eprintln!("driftguard janitor: janitor.enabled is false in {}; nothing to do", policy.source);
        return Exit::Success;
    }
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
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("driftguard janitor: cannot start the async runtime: {error}");
            return Exit::Runtime;
        }
    };
    let run_id = uuid::Uuid::new_v4().to_string();
    let started = Utc::now();

    // 1. What Terraform manages: the janitor never touches it, so no state, no run.
    let states = match super::detect::load_states(&runtime, &policy, &[]) {
        Ok(states) => states,
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!(
                "driftguard janitor: a Terraform state is unreadable, so what it manages is unknown; nothing was marked or deleted"
            );
            return Exit::Runtime;
        }
    };
    let managed = managed_ids(&states);

    // 2. Every account's inventory, before anything is decided.
    let clouds = clouds(&runtime, &policy);
    let unsupported: Vec<&str> = policy
        .janitor
        .targets
        .iter()
        .filter(|t| matches!(t, JanitorTarget::GoogleStorageBucket | JanitorTarget::AzurermResourceGroup))
        .map(|t| t.as_str())
        .collect();
    if !unsupported.is_empty() && (!policy.providers.gcp.is_empty() || !policy.providers.azure.is_empty()) {
        eprintln!("driftguard janitor: {} not supported by this build yet: skipped", unsupported.join(", "));
    }
    let mut inventory: Vec<(usize, Resource)> = Vec::new();
    for (index, cloud) in clouds.iter().enumerate() {
        match runtime.block_on(cloud.inventory(&policy.janitor.targets)) {
            Ok(resources) => {
                for mut resource in resources {
                    let tf_type = resource.resource_type.as_str().to_owned();
                    resource.managed = managed.contains(&(tf_type.clone(), resource.id.clone()))
                        || managed.contains(&(tf_type, resource.name.clone()));
                    inventory.push((index, resource));
                }
            }
            Err(error) => {
                eprintln!("driftguard janitor: listing {} account {}: {error}", cloud.provider(), cloud.account());
                eprintln!("driftguard janitor: inventory failed; nothing was marked or deleted");
                return Exit::Runtime;
            }
        }
    }

    let mut store = match open_store(&policy) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let items = match store.janitor_items() {
        Ok(items) => items.into_iter().map(|item| (item.key.clone(), item)).collect(),
        Err(error) => {
            eprintln!("driftguard janitor: {error}");
            return Exit::Runtime;
        }
    };
    if let Err(error) = store.begin_run(&run_id, "janitor", started) {
        eprintln!("driftguard janitor: {error}");
        return Exit::Runtime;
    }
    audit::emit(
        &run_record(&policy, &run_id, policy.dry_run, AuditEventName::RunStarted, Outcome::Noted),
        "janitor run started",
    );
    let now = Utc::now();
    let mut janitor = Janitor {
        policy: &policy,
        store: &mut store,
        runtime: &runtime,
        run_id: run_id.clone(),
        dry_run: policy.dry_run,
        now,
        items,
        tally: Tally::default(),
    };

    // 3. Revenants: deleted earlier, listed again.
    for (_, resource) in &inventory {
        if janitor.state_of(resource) == Some(ItemState::Deleted) {
            let _ = janitor.transition(resource, &ItemEvent::Reappeared);
            janitor.tally.note("revenant", format!("revenant  {} (deleted earlier, listed again)", resource.key()));
        }
    }

    // 4. Decide.
    let resources: Vec<Resource> = inventory.iter().map(|(_, r)| r.clone()).collect();
    let mut refused: Vec<String> = Vec::new();
    let decisions = match &plan {
        None if plan_out.is_some() => decide(&policy, &resources, now, Mode::Plan),
        None => decide(&policy, &resources, now, Mode::Scheduled),
        Some(plan) => {
            let mut chosen = BTreeSet::new();
            for item in &plan.items {
                let found = resources.iter().position(|r| {
                    r.provider == item.resource.provider
                        && r.account == item.resource.account
                        && r.resource_type == item.resource.resource_type
                        && r.id == item.resource.id
                });
                match found {
                    None => refused.push(format!("gone      {} (already gone before applying)", item.resource.key())),
                    Some(index) if fingerprint(&policy, &resources[index]) != item.fingerprint => {
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
            decide(&policy, &resources, now, Mode::Apply(&chosen))
        }
    };
    for line in refused {
        let what = if line.starts_with("gone") { "gone" } else { "refused" };
        janitor.tally.note(what, line);
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
        // Not listed any more: the interrupted deletion got there.
        if let Some(resource) = resource_of_item(&item) {
            let _ = janitor.transition(&resource, &ItemEvent::Gone);
            janitor.tally.note("deleted", format!("deleted   {} (finished before an interruption)", item.key));
        }
    }

    // 6. Carry the decisions out.
    for ((cloud_index, resource), decision) in inventory.iter().zip(&decisions) {
        let cloud = clouds[*cloud_index].as_ref();
        let state = janitor.state_of(resource);
        if state.is_some_and(ItemState::in_flight) && plan.is_none() && plan_out.is_none() {
            match decision {
                Decision::Delete { .. } | Decision::Wait { .. } | Decision::Held { .. } => {
                    // Still qualifies: finish through the API (the IaC run is not repeated).
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
            fingerprint: fingerprint(&policy, resource),
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
        if let Err(error) = std::fs::write(path, serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n") {
            eprintln!("driftguard janitor: cannot write {}: {error}", path.display());
            return Exit::Runtime;
        }
    } else {
        let deleted_keys: Vec<Resource> = due.iter().map(|(_, r, _)| r.clone()).collect();
        janitor.delete_all(&due);
        // 8. Revenant check after the policy's delay (longer delays: the next run checks).
        let delay = policy.janitor.revenant_check_after;
        if !janitor.dry_run && !deleted_keys.is_empty() && delay <= Duration::from_mins(5) {
            std::thread::sleep(delay);
            for (index, cloud) in clouds.iter().enumerate() {
                let Ok(again) = runtime.block_on(cloud.inventory(&policy.janitor.targets)) else { continue };
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

    let tally = std::mem::take(&mut janitor.tally);
    drop(janitor);
    let run_status = if tally.failed > 0 { "failed" } else { "succeeded" };
    let _ = store.finish_run(&run_id, run_status, Utc::now());
    let mut finished = run_record(
        &policy,
        &run_id,
        policy.dry_run,
        AuditEventName::RunFinished,
        if tally.failed > 0 { Outcome::Failed } else { Outcome::Succeeded },
    );
    let counts: Vec<String> = tally.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    finished.reason = Some(counts.join(", "));
    audit::emit(&finished, "janitor run finished");
    for line in &tally.lines {
        eprintln!("{line}");
    }
    eprintln!(
        "janitor: {} resource(s) listed; {}; dry-run {}",
        resources.len(),
        if counts.is_empty() { "nothing to do".to_owned() } else { counts.join(", ") },
        if policy.dry_run { "on" } else { "off" }
    );
    if tally.failed > 0 { Exit::Runtime } else { Exit::Success }
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
        tags: BTreeMap::new(),
        created_at: None,
        managed: false,
    })
}
