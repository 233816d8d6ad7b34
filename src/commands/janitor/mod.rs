//! `driftguard janitor`: removes expired resources with a two-phase nuke.
//!
//! Order of work, so a bad input leaves nothing half-done: read every Terraform state
//! (the janitor never touches what a state manages, so an unreadable state stops the run),
//! verify and list every account, and only then decide ([`driftguard_janitor::decide`])
//! and act ([`run::JanitorRun`]). Each deletion step is persisted before it runs
//! ([`driftguard_janitor::machine`]); a crashed run's deletions are finished by the next
//! run after the hard blocks are checked again ([`driftguard_janitor::rules`]).

mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::identity::{Refusal, Verified};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Account, Identity, Policy};
use driftguard_engine::tfstate::StateFile;
use driftguard_janitor::decide::{Decision, Mode, decide};
use driftguard_janitor::known::Managed;
use driftguard_janitor::machine::{ItemEvent, ItemState};
use driftguard_janitor::plan::{self, PLAN_VERSION, Plan};
use driftguard_janitor::rules::{self, Resume};
use driftguard_janitor::{Resource, Skip};
use driftguard_providers::aws::AwsClient;
use driftguard_providers::aws::janitor::AwsCloud;
use driftguard_providers::azure::ServicePrincipal;
use driftguard_providers::azure::janitor::AzureSubscription;
use driftguard_providers::gcp::janitor::GcsProject;
use driftguard_providers::janitor::JanitorCloud;
use driftguard_providers::retry::CallError;
use driftguard_store::{JanitorItem, Store};
use tokio::runtime::Handle;

use self::run::{Due, JanitorRun};
use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::accounts::{self, Checked};
use crate::job::{JobEnv, load_for_action, open_store, run_record};

/// What the policy's Terraform states say: the janitor never touches what they manage
/// ([`Managed`]) and never runs a destroy on one of their files.
#[derive(Debug, Default)]
struct Known {
    /// What the states manage.
    managed: Managed,
    /// Canonical paths of the local state files.
    state_files: BTreeSet<PathBuf>,
}

impl Known {
    fn of(states: &[StateFile]) -> Self {
        let state_files = states.iter().filter_map(|state| std::fs::canonicalize(&state.source).ok()).collect();
        Self { managed: Managed::of(states), state_files }
    }
}

/// Every account, project and subscription of the policy whose provider has a janitor
/// target and whose identity this job verified: the scan scope (deletion is further
/// limited by `janitor.delete_allowlist`). A refused one is recorded and left out.
fn clouds(runtime: &Handle, env: &JobEnv, policy: &Policy, run_id: &str) -> (Vec<Box<dyn JanitorCloud>>, Checked) {
    let targets = &policy.janitor().targets;
    let wants = |provider: Provider| targets.iter().any(|t| t.provider() == provider);
    let mut checks: Vec<Check> = Vec::new();
    if wants(Provider::Aws) {
        let in_scope: Vec<&Account> = accounts::in_scope(policy, env, Provider::Aws)
            .into_iter()
            .filter(|account| !account.regions.is_empty())
            .collect();
        // Protection is read only where it decides something: the policy does not lift it.
        let termination_reads = (!policy.janitor().ec2_disable_termination_protection)
            .then(|| policy.protection().name_prefix.clone())
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
                accounts::record_refusal(policy, run_id, policy.dry_run(), &refusal);
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
    if !policy.janitor().enabled {
        eprintln!("driftguard janitor: janitor.enabled is false in {}; nothing to do", policy.source());
        return Exit::Success;
    }
    let _lock = match crate::job::lock_store(&policy, "janitor") {
        Ok(lock) => lock,
        Err(exit) => return exit,
    };
    if plan_out.is_some() && !policy.dry_run() {
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
        && plan.policy_hash != policy.hash()
    {
        eprintln!(
            "driftguard janitor: the plan was made under another policy (hash {}, now {}): plan again; nothing was deleted",
            &plan.policy_hash[..plan.policy_hash.len().min(12)],
            &policy.hash()[..12]
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
        if policy.dry_run() { "on" } else { "off" }
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
    if !policy.dry_run() {
        store.begin_run(&run_id, "janitor", started).map_err(|error| format!("driftguard janitor: {error}"))?;
    }
    audit::emit(
        &run_record(policy, &run_id, policy.dry_run(), AuditEventName::RunStarted, Outcome::Noted),
        "janitor run started",
    );
    let (mut tally, listed) =
        match cycle(policy, runtime, &env.stop, &clouds, &known, &mut store, &run_id, plan, plan_out) {
            Ok(done) => done,
            Err(error) => {
                if !policy.dry_run() {
                    let _ = store.finish_run(&run_id, "failed", Utc::now());
                }
                let mut finished =
                    run_record(policy, &run_id, policy.dry_run(), AuditEventName::RunFinished, Outcome::Failed);
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
    if !policy.dry_run() {
        let _ = store.finish_run(&run_id, run_status, Utc::now());
    }
    let mut finished = run_record(
        policy,
        &run_id,
        policy.dry_run(),
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
#[allow(clippy::too_many_arguments)]
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

    // Carry the decisions out.
    let mut due: Vec<Due<'_>> = Vec::new();
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
        janitor.delete_all(&due);
        revenant_check(&mut janitor, clouds, &deleted);
    }

    let mut tally = std::mem::take(&mut janitor.tally);
    run_id.clone_into(&mut tally.run_id);
    Ok((tally, resources.len()))
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
/// checks), list again and flag anything deleted that came back.
fn revenant_check(janitor: &mut JanitorRun<'_>, clouds: &[Box<dyn JanitorCloud>], deleted: &[String]) {
    let delay = janitor.policy.janitor().revenant_check_after;
    if janitor.dry_run || deleted.is_empty() || delay > Duration::from_mins(5) {
        return;
    }
    std::thread::sleep(delay);
    for cloud in clouds {
        let again = match janitor.runtime.block_on(cloud.inventory(&janitor.policy.janitor().targets)) {
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
