//! `driftguard detect`: Terraform state versus live AWS, through the finding state machine.
//!
//! Order of work, so a bad input leaves nothing half-done: read and parse every state,
//! collect every account and region, and only then decide and act. A failure before the
//! deciding stage exits 1 with nothing changed and no finding recorded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::catalogue;
use driftguard_engine::drift::declared::declared;
use driftguard_engine::drift::{Location, Normalized, Wanted, diff, missing};
use driftguard_engine::finding::State;
use driftguard_engine::identity::Refusal;
use driftguard_engine::model::Provider;
use driftguard_engine::policy::Policy;
use driftguard_engine::remediation::RemediationCall;
use driftguard_engine::report::{DriftReport, RefusedAccount, ReportFinding};
use driftguard_engine::tfstate::StateFile;
use driftguard_providers::aws::AwsClient;
use driftguard_providers::aws::execute;
use driftguard_store::FindingRecord;

use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::accounts::{self, AwsReach, Checked};
use crate::job::states::load_states;
use crate::job::{Bridge, JobEnv, load_for_action, open_store, run_record, run_status};
use crate::runner::{Executor, Failure, RunInfo, RunNotes, Runner};

/// One account and region to collect; `global` collects S3 and IAM too (once per account).
#[derive(Debug, Clone)]
struct Target {
    scope: Location,
    global: bool,
    /// The account's regions: buckets elsewhere are out of scope.
    bucket_regions: Vec<String>,
}

/// Every region of the verified accounts, or those of a split job's region. S3 and IAM
/// (account-wide) go with the account's first region, split or not.
fn targets(reached: &[AwsReach], region_only: Option<&str>) -> Vec<Target> {
    let mut out = Vec::new();
    for reach in reached {
        let account = &reach.account;
        for (index, region) in account.regions.iter().enumerate() {
            if region_only.is_some_and(|only| only != region) {
                continue;
            }
            out.push(Target {
                scope: Location { provider: Provider::Aws, account: account.id.clone(), region: region.clone() },
                global: index == 0,
                bucket_regions: account.regions.clone(),
            });
        }
    }
    out
}

/// (account, region) from an ARN; either may be empty (S3 and IAM are not regional).
fn placement(arn: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(arn) = arn else { return (None, None) };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 {
        return (None, None);
    }
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    (nonempty(parts[4]), nonempty(parts[3]))
}

/// Declared resources, placed.
#[derive(Debug, Default)]
struct Placed {
    /// Per target, the declared resources compared there.
    by_target: Vec<Vec<Normalized>>,
    /// Resources of types not compared, by type.
    unsupported: BTreeMap<String, usize>,
    /// Resources of supported types compared nowhere (a refused account, or outside the
    /// job's accounts and regions).
    unplaced: usize,
}

/// Places each declared resource in its target: by the account and region of its ARN; an
/// S3 bucket (whose ARN names no account) in the account whose credentials listed it
/// (`owners`); otherwise in the account of its state file's other ARNs. Nothing is placed
/// in a refused account, nor, while any account is refused, anything whose account is
/// unknown (it may be there): such resources are never compared, so never reported
/// missing. Pure, so that the property below can hold it to that.
fn place(states: &[StateFile], targets: &[Target], owners: &HashMap<&str, &str>, refused: &HashSet<&str>) -> Placed {
    let mut placed = Placed { by_target: vec![Vec::new(); targets.len()], ..Placed::default() };
    for state in states {
        let home = home_account(state);
        for resource in &state.resources {
            let Some(entry) = catalogue::entry(&resource.resource_type).filter(|entry| entry.compared()) else {
                *placed.unsupported.entry(resource.resource_type.clone()).or_default() += 1;
                continue;
            };
            let Some(normalized) = declared(resource) else { continue };
            let arn = resource.attributes.text("arn");
            let (account, region) = placement(arn.as_deref());
            let global_type = entry.scope() == Some(catalogue::Scope::Account);
            // A bucket is in the account whose listing holds it (bucket names are global).
            let listed_by = || {
                (entry.listing == Some(catalogue::Listing::S3Buckets))
                    .then(|| owners.get(normalized.id.as_str()).map(|owner| (*owner).to_owned()))
                    .flatten()
            };
            let account = account.or_else(listed_by).or_else(|| home.clone());
            let compared_nowhere = match account.as_deref() {
                Some(account) => refused.contains(account),
                None => !refused.is_empty(),
            };
            if compared_nowhere {
                placed.unplaced += 1;
                continue;
            }
            let mut candidates = targets.iter().enumerate().filter(|(_, target)| {
                let account_ok = account.as_deref().is_none_or(|a| a == target.scope.account);
                let region_ok = if global_type {
                    target.global
                } else {
                    region.as_deref().is_none_or(|r| r == target.scope.region)
                };
                account_ok && region_ok
            });
            // One place or none: a resource whose state names neither its account nor its
            // region (an ACL rule, the EBS default) is compared only where that cannot be
            // the wrong account or region; elsewhere it is left unplaced, never guessed.
            match (candidates.next(), candidates.next()) {
                (Some((index, _)), None) => placed.by_target[index].push(normalized),
                _ => placed.unplaced += 1,
            }
        }
    }
    placed
}

/// Which verified account listed each bucket (bucket names are global; `ListBuckets`
/// answers only with the caller's own).
fn bucket_owners<'t>(targets: &'t [Target], live: &'t [Vec<Normalized>]) -> HashMap<&'t str, &'t str> {
    let mut owners = HashMap::new();
    for (target, resources) in targets.iter().zip(live) {
        for resource in resources.iter().filter(|r| r.resource_type == "aws_s3_bucket") {
            owners.insert(resource.id.as_str(), target.scope.account.as_str());
        }
    }
    owners
}

/// The account a state file's resources live in, when their ARNs agree on one.
fn home_account(state: &StateFile) -> Option<String> {
    let mut accounts = state.resources.iter().filter_map(|resource| {
        let arn = resource.attributes.text("arn")?;
        driftguard_engine::identity::arn_account(&arn).map(str::to_owned)
    });
    let first = accounts.next()?;
    accounts.all(|account| account == first).then_some(first)
}

/// Executes remediation through the AWS adapter of the finding's account and region: only
/// verified accounts have one, so nothing is remediated in an account that was not.
struct AwsExecutor<'r> {
    runtime: Bridge<'r>,
    clients: HashMap<(String, String), Arc<AwsClient>>,
    /// Who calls are made as, per verified account.
    principals: HashMap<String, String>,
}

impl Executor for AwsExecutor<'_> {
    fn principal(&self, finding: &FindingRecord) -> Option<String> {
        self.principals.get(&finding.account).cloned()
    }

    fn execute(&mut self, finding: &FindingRecord, call: &RemediationCall) -> Result<(), Failure> {
        let RemediationCall::Aws(call) = call;
        let Some(aws) = self.clients.get(&(finding.account.clone(), finding.region.clone())) else {
            return Err(Failure::other(format!("no client for account {} region {}", finding.account, finding.region)));
        };
        let aws = Arc::clone(aws);
        self.runtime.block_on(async move { execute::execute(&aws, call).await }).map_err(|error| {
            if error.is_not_found() {
                Failure {
                    reason: format!("target not found ({error}): deleted since collection, reported as missing"),
                    target_gone: true,
                }
            } else if error.is_denied() {
                Failure::other(format!("permission denied ({error}); grant it or narrow the flow"))
            } else {
                Failure::other(error.to_string())
            }
        })
    }
}

async fn collect_all(
    targets: &[Target],
    clients: &HashMap<(String, String), Arc<AwsClient>>,
    concurrency: usize,
    wanted: &Arc<Wanted>,
) -> Vec<(usize, Result<Vec<Normalized>, String>)> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, target) in targets.iter().enumerate() {
        let aws = Arc::clone(&clients[&(target.scope.account.clone(), target.scope.region.clone())]);
        let semaphore = Arc::clone(&semaphore);
        let global = target.global;
        let bucket_regions = target.bucket_regions.clone();
        let wanted = Arc::clone(wanted);
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            // Boxed: the collector's future is large (every SDK request inline).
            (index, Box::pin(aws.collect(global, &bucket_regions, &wanted)).await.map_err(|error| error.to_string()))
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.unwrap_or_else(|error| (usize::MAX, Err(format!("collector task failed: {error}")))));
    }
    results.sort_by_key(|(index, _)| *index);
    results
}

pub fn run(cli: &Cli, state_paths: &[PathBuf], report_path: Option<&Path>, import_blocks: Option<&Path>) -> Exit {
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let _lock = match crate::job::lock_store(&policy, "detect") {
        Ok(lock) => lock,
        Err(exit) => return exit,
    };
    let runtime = match crate::job::runtime("detect") {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let outcome = match execute(&policy, Bridge::Owned(&runtime), &JobEnv::default(), state_paths) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("{error}");
            return Exit::Runtime;
        }
    };
    if let Some(path) = report_path
        && let Err(error) = write_report(path, &outcome.report)
    {
        eprintln!("driftguard detect: {error}");
        return Exit::Runtime;
    }
    if let Some(path) = import_blocks
        && let Err(error) = write_whole(path, &driftguard_engine::import::blocks(&outcome.report.findings))
    {
        eprintln!("driftguard detect: {error}");
        return Exit::Runtime;
    }
    summarize(&outcome.report, outcome.states, outcome.unplaced);
    for line in outcome.checked.lines() {
        eprintln!("{line}");
    }
    let drifted = outcome.report.findings.iter().any(|f| !matches!(f.state, State::Ignored));
    // A refused account was not governed at all: that outranks any drift found elsewhere.
    if !outcome.checked.refused.is_empty() {
        Exit::Runtime
    } else if drifted {
        Exit::Drift
    } else {
        Exit::Success
    }
}

/// Writes a report whole or not at all (a temporary file renamed over the old one), so a
/// reader never sees half a report.
pub fn write_report(path: &Path, report: &DriftReport) -> Result<(), String> {
    write_whole(path, &(serde_json::to_string_pretty(report).unwrap_or_default() + "\n"))
}

/// Writes a file whole or not at all (a temporary file renamed over the old one).
fn write_whole(path: &Path, text: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// What one detect cycle did.
#[derive(Debug)]
pub struct DetectOutcome {
    /// The drift report.
    pub report: DriftReport,
    /// State files read.
    pub states: usize,
    /// Declared resources of supported types that no verified account's scan covers (in
    /// a refused account, or outside every account and region of the job).
    pub unplaced: usize,
    /// What the identity checks found.
    pub checked: Checked,
    /// Escalations and remediation calls by outcome, for webhooks and metrics.
    pub notes: RunNotes,
    /// A stop request ended it between two findings.
    pub interrupted: bool,
}

/// One detect cycle under a compiled policy (the caller holds the store lock): read the
/// states, collect, diff, and take each finding through its flow. `Err` carries every
/// line of what went wrong; nothing was decided then.
pub fn execute(
    policy: &Policy,
    runtime: Bridge<'_>,
    env: &JobEnv,
    state_paths: &[PathBuf],
) -> Result<DetectOutcome, String> {
    let run_id = uuid::Uuid::new_v4().to_string();
    // Its records in doubt are calls in flight: no other job settles them.
    let _live = audit::LiveRun::enter(&run_id);
    let started = Utc::now();

    // 1. Declared state.
    let states = match load_states(runtime, env, policy, state_paths) {
        Ok(states) => states,
        Err(mut errors) => {
            errors.push(format!(
                "driftguard detect: {} state source(s) unreadable; nothing was compared or changed",
                errors.len()
            ));
            return Err(errors.join("\n"));
        }
    };

    // 2. Who each account's credentials are, before any other call there.
    let in_scope = accounts::in_scope(policy, env, Provider::Aws);
    if in_scope.is_empty() {
        return Err("driftguard detect: the policy lists no AWS account (providers.aws) in this job's scope".to_owned());
    }
    let checks = accounts::verify_aws(runtime, env, policy, &in_scope);
    let (reached, checked) = accounts::admit(policy, &run_id, checks, |reach| &reach.verified);

    // 3. Live state, every target of a verified account, before anything is decided.
    let targets = targets(&reached, env.region.as_deref());
    let clients: HashMap<(String, String), Arc<AwsClient>> = targets
        .iter()
        .filter_map(|target| {
            let reach = reached.iter().find(|reach| reach.account.id == target.scope.account)?;
            let calls = env.calls(policy, Provider::Aws, &target.scope.account);
            let aws = AwsClient::connect(&reach.session, &target.scope.region, calls);
            Some(((target.scope.account.clone(), target.scope.region.clone()), Arc::new(aws)))
        })
        .collect();
    let principals: HashMap<String, String> = reached
        .iter()
        .filter_map(|reach| Some((reach.account.id.clone(), reach.verified.principal()?.to_owned())))
        .collect();
    // State-directed: what the states declare, and the unmanaged types the policy reports.
    // One resource's normal form at a time: they are built again, placed, in step 4.
    let everything_declared = states.iter().flat_map(|state| &state.resources).filter_map(declared);
    let wanted =
        Arc::new(Wanted::new(everything_declared, |resource_type| policy.detection().reports_unmanaged(resource_type)));
    let collected = runtime.block_on(collect_all(&targets, &clients, policy.detection().concurrency, &wanted));
    let mut failures = Vec::new();
    let mut live: Vec<Vec<Normalized>> = vec![Vec::new(); targets.len()];
    for (index, result) in collected {
        match result {
            Ok(resources) if index < targets.len() => live[index] = resources,
            Ok(_) => {}
            Err(error) => failures.push(error),
        }
    }
    if !failures.is_empty() {
        let mut lines: Vec<String> = failures.iter().map(|failure| format!("driftguard detect: {failure}")).collect();
        lines.push("driftguard detect: collection failed; nothing was compared or changed".to_owned());
        return Err(lines.join("\n"));
    }

    // 4. Place declared resources in the targets of verified accounts.
    let refused: HashSet<&str> = checked.refused.iter().map(Refusal::account).collect();
    let Placed { by_target: declared_by_target, unsupported, unplaced } =
        place(&states, &targets, &bucket_owners(&targets, &live), &refused);

    // 5. Diff, decide, act.
    let mut findings_by_target = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let counts = |resource: &Normalized| policy.detection().counts_unmanaged(resource);
        findings_by_target.push(diff(&target.scope, &declared_by_target[index], &live[index], &counts));
    }
    let mut store = open_store(policy).map_err(|_| "driftguard detect: the store could not be opened".to_owned())?;
    store.begin_run(&run_id, "detect", started).map_err(|error| format!("driftguard detect: {error}"))?;
    let mut loaded = run_record(policy, &run_id, policy.dry_run(), AuditEventName::PolicyLoaded, Outcome::Succeeded);
    loaded.reason = Some(policy.source().to_owned());
    audit::emit(&loaded, "policy compiled and in force");
    audit::emit(
        &run_record(policy, &run_id, policy.dry_run(), AuditEventName::RunStarted, Outcome::Noted),
        "detect run started",
    );

    if !unsupported.is_empty() {
        let mut record =
            run_record(policy, &run_id, policy.dry_run(), AuditEventName::StateUnsupported, Outcome::Noted);
        record.reason =
            Some(unsupported.iter().map(|(kind, count)| format!("{kind}: {count}")).collect::<Vec<_>>().join(", "));
        audit::emit(&record, "resources of types DriftGuard does not compare were found in the states");
    }
    let mut executor = AwsExecutor { runtime, clients: clients.clone(), principals };
    let info = RunInfo { run_id: run_id.clone(), host: audit::host(), dry_run: policy.dry_run() };
    let mut runner = Runner::new(policy, &mut store, info, Utc::now()).with_executor(&mut executor);
    let mut interrupted = false;
    let outcome = (|| -> Result<Vec<ReportFinding>, crate::runner::RunError> {
        runner.resume()?;
        let mut entries: Vec<ReportFinding> = Vec::new();
        let mut seen = HashSet::new();
        for findings in &findings_by_target {
            for finding in findings {
                // Stop requested: the finding in hand finished its transition; start no other.
                // Findings not reached are not resolved either (`resolve_absent` is skipped).
                if env.stopping() {
                    interrupted = true;
                    return Ok(entries);
                }
                seen.insert(finding.fingerprint());
                entries.push(runner.process(finding)?);
            }
        }
        // A remediation target that answered NotFound was deleted after collection: its
        // finding failed with that reason, and the resource is reported missing now.
        let mut reported = HashSet::new();
        for record in runner.take_gone() {
            let Some(index) =
                targets.iter().position(|t| t.scope.account == record.account && t.scope.region == record.region)
            else {
                continue;
            };
            let Some(resource) = declared_by_target[index]
                .iter()
                .find(|r| r.resource_type == record.resource_type && r.id == record.resource_id)
            else {
                continue;
            };
            if reported.insert((resource.resource_type.clone(), resource.id.clone())) {
                let drift = missing(&targets[index].scope, resource);
                seen.insert(drift.fingerprint());
                entries.push(runner.process(&drift)?);
            }
        }
        let covered: HashSet<(String, String)> =
            targets.iter().map(|t| (t.scope.account.clone(), t.scope.region.clone())).collect();
        runner.resolve_absent(&seen, &|record| covered.contains(&(record.account.clone(), record.region.clone())))?;
        Ok(entries)
    })();
    let mut entries = outcome.map_err(|error| format!("driftguard detect: {error}"))?;

    // 6. Verify remediations against a fresh collection, retrying while attempts last.
    for _round in 0..10 {
        if runner.awaiting_verification().is_empty() || env.stopping() {
            break;
        }
        std::thread::sleep(policy.remediation().verify_after.min(std::time::Duration::from_mins(1)));
        let recollected = runtime.block_on(collect_all(&targets, &clients, policy.detection().concurrency, &wanted));
        let mut still = HashSet::new();
        for (index, result) in recollected {
            let Ok(resources) = result else { continue };
            let Some(target) = targets.get(index) else { continue };
            let counts = |resource: &Normalized| policy.detection().counts_unmanaged(resource);
            for finding in diff(&target.scope, &declared_by_target[index], &resources, &counts) {
                still.insert(finding.fingerprint());
            }
        }
        match runner.verify(&still) {
            Ok(verified) => {
                for entry in verified {
                    if let Some(existing) = entries.iter_mut().find(|e| e.id == entry.id) {
                        *existing = entry;
                    }
                }
            }
            Err(error) => return Err(format!("driftguard detect: {error}")),
        }
    }
    let notes = runner.take_notes();
    drop(runner);

    let refused_accounts = checked
        .refused
        .iter()
        .map(|refusal| RefusedAccount {
            provider: refusal.provider(),
            account: refusal.account().to_owned(),
            kind: refusal.kind().to_owned(),
            reason: refusal.describe(),
        })
        .collect();
    let counts = unsupported.iter().map(|(kind, count)| (kind.clone(), *count as u64)).collect();
    let report = DriftReport::new(&run_id, policy.hash(), policy.dry_run(), Utc::now(), entries)
        .with_coverage(counts, refused_accounts);
    let _ = store.finish_run(&run_id, run_status(!checked.refused.is_empty(), interrupted), Utc::now());
    let outcome = if checked.refused.is_empty() { Outcome::Succeeded } else { Outcome::Failed };
    let mut finished = run_record(policy, &run_id, policy.dry_run(), AuditEventName::RunFinished, outcome);
    let mut reason = format!("{} findings", report.summary.total);
    if !checked.refused.is_empty() {
        reason += &format!("; {} account(s) refused", checked.refused.len());
    }
    if interrupted {
        reason += "; interrupted by a stop request";
    }
    finished.reason = Some(reason);
    audit::emit(&finished, "detect run finished");
    Ok(DetectOutcome { report, states: states.len(), unplaced, interrupted, checked, notes })
}

fn summarize(report: &DriftReport, states: usize, unplaced: usize) {
    for finding in &report.findings {
        eprintln!(
            "{:<9} {:<8} {:<40} {:<28} -> {}",
            finding.kind.as_str(),
            finding.severity.map_or("-", |s| s.as_str()),
            if finding.address.is_empty() { &finding.resource_id } else { &finding.address },
            finding.attribute.as_deref().unwrap_or("-"),
            finding.state
        );
    }
    let s = &report.summary;
    eprintln!(
        "{} findings ({} modified, {} missing, {} unmanaged; {} critical, {} high) from {states} state file(s){}; dry-run {}",
        s.total,
        s.by_kind.modified,
        s.by_kind.missing,
        s.by_kind.unmanaged,
        s.by_severity.critical,
        s.by_severity.high,
        if unplaced > 0 { format!(", {unplaced} outside the verified accounts and regions") } else { String::new() },
        if report.dry_run { "on" } else { "off" },
    );
    if !report.unsupported.is_empty() {
        let types: Vec<String> = report.unsupported.iter().map(|(kind, count)| format!("{kind} ({count})")).collect();
        eprintln!("not compared (types DriftGuard does not know yet): {}", types.join(", "));
    }
}

#[cfg(test)]
mod tests {
    //! Placement as a property: whatever the states hold and whichever accounts were
    //! refused, nothing is compared (so nothing can be reported, remediated or resolved)
    //! in a refused account, and everything with a known account is compared there only.

    use proptest::prelude::*;

    use super::*;

    const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
    const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

    fn resource(kind: usize, account: usize, region: usize, n: usize, name: &str) -> serde_json::Value {
        let (account, region) = (ACCOUNTS[account], REGIONS[region]);
        let (kind, attributes) = match kind {
            0 => (
                "aws_instance",
                serde_json::json!({"id": format!("i-{n:08x}"), "arn": format!("arn:aws:ec2:{region}:{account}:instance/i-{n:08x}")}),
            ),
            1 => (
                "aws_iam_role",
                serde_json::json!({"id": format!("role-{n}"), "name": format!("role-{n}"), "arn": format!("arn:aws:iam::{account}:role/role-{n}")}),
            ),
            _ => (
                "aws_s3_bucket",
                serde_json::json!({"id": format!("bucket-{n}"), "bucket": format!("bucket-{n}"), "arn": format!("arn:aws:s3:::bucket-{n}")}),
            ),
        };
        serde_json::json!({"mode": "managed", "type": kind, "name": name,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": attributes}]})
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn nothing_is_compared_in_a_refused_account(
            refused in prop::collection::vec(any::<bool>(), 3),
            states in prop::collection::vec(prop::collection::vec((0..3usize, 0..3usize, 0..2usize, 0..8usize), 0..8), 1..4),
            owners in prop::collection::btree_map(0..8usize, 0..3usize, 0..6),
        ) {
            let refused_accounts: HashSet<&str> =
                ACCOUNTS.iter().zip(&refused).filter(|(_, r)| **r).map(|(a, _)| *a).collect();
            let targets: Vec<Target> = ACCOUNTS
                .iter()
                .filter(|a| !refused_accounts.contains(*a))
                .flat_map(|account| {
                    REGIONS.iter().enumerate().map(move |(index, region)| Target {
                        scope: Location { provider: Provider::Aws, account: (*account).to_owned(), region: (*region).to_owned() },
                        global: index == 0,
                        bucket_regions: REGIONS.map(str::to_owned).to_vec(),
                    })
                })
                .collect();
            // A bucket is listed only by a verified account's credentials.
            let names: BTreeMap<usize, String> = owners.keys().map(|n| (*n, format!("bucket-{n}"))).collect();
            let owner_map: HashMap<&str, &str> = owners
                .iter()
                .filter(|(_, a)| !refused[**a])
                .map(|(n, a)| (names[n].as_str(), ACCOUNTS[*a]))
                .collect();
            let files: Vec<StateFile> = states
                .iter()
                .enumerate()
                .map(|(index, resources)| {
                    let json = serde_json::json!({"version": 4, "terraform_version": "1.9.8", "serial": 1,
                        "lineage": format!("l{index}"), "outputs": {},
                        "resources": resources.iter().enumerate().map(|(i, (k, a, r, n))| {
                            // Buckets share names across states (as in life); other ids are unique.
                            let id = if *k == 2 { *n } else { 1000 * (index + 1) + i };
                            resource(*k, *a, *r, id, &format!("r{i}"))
                        }).collect::<Vec<_>>()});
                    driftguard_engine::tfstate::parse(&format!("s{index}"), json.to_string().as_bytes()).unwrap()
                })
                .collect();
            let placed = place(&files, &targets, &owner_map, &refused_accounts);
            let total: usize = files.iter().map(|f| f.resources.len()).sum();
            let compared: usize = placed.by_target.iter().map(Vec::len).sum();
            prop_assert_eq!(compared + placed.unplaced, total, "every resource is compared once or counted");
            for (target, resources) in targets.iter().zip(&placed.by_target) {
                prop_assert!(!refused_accounts.contains(target.scope.account.as_str()));
                for resource in resources {
                    let file = files.iter().find(|f| f.resources.iter().any(|r| r.id().as_deref() == Some(resource.id.as_str()))).unwrap();
                    let declared = file.resources.iter().find(|r| r.id().as_deref() == Some(resource.id.as_str())).unwrap();
                    let arn = declared.attributes.text("arn");
                    if let Some(account) = arn.as_deref().and_then(driftguard_engine::identity::arn_account) {
                        prop_assert_eq!(account, target.scope.account.as_str(), "compared in another account");
                    }
                    if let Some(owner) = owner_map.get(resource.id.as_str()) {
                        prop_assert_eq!(*owner, target.scope.account.as_str(), "a bucket compared away from its lister");
                    }
                }
            }
        }
    }
}
