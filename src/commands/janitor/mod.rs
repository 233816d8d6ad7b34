//! `driftguard janitor`: removes expired resources with a two-phase nuke.
//!
//! Order of work, so a bad input leaves nothing half-done: read every Terraform state
//! (the janitor never touches what a state manages, so an unreadable state stops the run),
//! verify and list every account, and only then decide ([`driftguard_janitor::decide`])
//! and act ([`run::JanitorRun`]). Each deletion step is persisted before it runs
//! ([`driftguard_janitor::machine`]); a crashed run's deletions are finished by the next
//! run after the hard blocks are checked again ([`driftguard_janitor::rules`]).

mod cycle;
mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::Utc;
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::identity::{Refusal, Verified};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Account, Identity, Policy};
use driftguard_engine::tfstate::StateFile;
use driftguard_janitor::Resource;
use driftguard_janitor::known::Managed;
use driftguard_janitor::plan::{PLAN_VERSION, Plan};
use driftguard_providers::aws::AwsClient;
use driftguard_providers::aws::janitor::AwsCloud;
use driftguard_providers::azure::ServicePrincipal;
use driftguard_providers::azure::janitor::AzureCloud;
use driftguard_providers::gcp::janitor::GcpCloud;
use driftguard_providers::janitor::JanitorCloud;
use driftguard_providers::retry::CallError;

use self::cycle::cycle;
use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::accounts::{self, Checked};
use crate::job::{Bridge, JobEnv, load_for_action, open_store, run_record, run_status};

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
fn clouds(runtime: Bridge<'_>, env: &JobEnv, policy: &Policy, run_id: &str) -> (Vec<Box<dyn JanitorCloud>>, Checked) {
    let targets = &policy.janitor().targets;
    let wants = |provider: Provider| targets.iter().any(|t| t.provider() == provider);
    let mut checks: Vec<Check> = Vec::new();
    if wants(Provider::Aws) {
        let in_scope: Vec<&Account> = accounts::in_scope(policy, env, Provider::Aws)
            .into_iter()
            .filter(|account| !account.regions.is_empty())
            .collect();
        let termination_reads = driftguard_janitor::termination_reads(policy).map(str::to_owned);
        let prefix = policy.protection().name_prefix.clone();
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
                let cloud = AwsCloud::new(&reach.verified, clients)
                    .reading_termination_protection(termination_reads.clone())
                    .scanning_names(prefix.clone());
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
                let project = GcpCloud::connect(&account.id, account.endpoint.as_deref(), impersonate, calls)
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
                let subscription = AzureCloud::new(&account.id, account.endpoint.as_deref(), principal.as_ref(), calls)
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
    let (admitted, checked) = accounts::admit(policy, run_id, checks, |(_, verified)| verified);
    (admitted.into_iter().map(|(cloud, _)| cloud).collect(), checked)
}

/// An adapter that could not even be built: the account cannot be reached.
fn unreachable(provider: Provider, account: &str, error: &CallError) -> Refusal {
    Refusal::Unreachable { provider, expected: account.to_owned(), reason: error.reason() }
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
    let (tally, listed) = match execute(&policy, Bridge::Owned(&runtime), &JobEnv::default(), plan.as_ref(), plan_out) {
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
    runtime: Bridge<'_>,
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
    let run_status = run_status(tally.failed > 0, tally.interrupted);
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
