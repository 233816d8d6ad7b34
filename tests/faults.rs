//! The fault suite: remediation and the janitor through a fault layer in front of moto
//! (tests/support/moto_server.py) that fails a share of calls with throttling and 5xx in
//! each protocol's own envelope, delays every call, and (janitor) loses answers after the
//! call was carried out. Each run must end exactly as a fault-free run does: the same
//! findings, the same report, the same cloud, and nothing changed or deleted twice.
//!
//! `DG_FAULT_SUITE_RATE` sets the share (default 0.3, the figure).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::moto::Moto;

fn rate() -> f64 {
    std::env::var("DG_FAULT_SUITE_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(0.3)
}

fn drift_policy(dir: &Path, endpoint: &str, state: &Path) -> PathBuf {
    common::acting_policy(dir, "policy", endpoint, state, 12)
}

/// `driftguard ARGS` with test credentials: (code, JSON events, stderr).
fn driftguard_json(dir: &Path, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    common::run_json(common::emulated(dir).args(args))
}

/// Mutations per (operation, target).
type Mutations = BTreeMap<(String, String), usize>;

/// Mutations per (operation, target), as the emulator carried them out.
fn mutation_counts(moto: &Moto) -> Mutations {
    let mut counts = BTreeMap::new();
    for (service, operation, target) in moto.mutations() {
        *counts.entry((format!("{service} {operation}"), common::mask_ids(&target))).or_default() += 1;
    }
    counts
}

/// (resource, attribute, kind, severity, state) of each finding, sorted.
fn findings(report: &serde_json::Value) -> Vec<String> {
    let mut rows: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let row = format!("{} {} {} {} {}", f["resource_id"], f["attribute"], f["kind"], f["severity"], f["state"]);
            common::mask_ids(&row)
        })
        .collect();
    rows.sort();
    rows
}

/// One remediating detect run on a fresh, seeded and drifted emulator, faults armed or not:
/// (report findings, cloud snapshot, mutation counts, events).
fn remediate(faults: Option<f64>) -> (Vec<String>, Vec<String>, Mutations, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    let ids = moto.fixture(&["seed", state.to_str().unwrap()]);
    moto.fixture(&["mutate", ids.trim()]);
    let before = mutation_counts(&moto);
    let policy = drift_policy(dir.path(), &moto.endpoint, &state);
    if let Some(rate) = faults {
        // No lost answers here: CreatePolicyVersion is not idempotent, and neither is
        // AWS; a lost answer there is the crash suite's case (decided again from live state).
        moto.arm_faults(rate, 20, false);
    }
    let report = dir.path().join("report.json");
    let (code, events, stderr) = driftguard_json(
        dir.path(),
        &["detect", "--once", "--policy", policy.to_str().unwrap(), "--report", report.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    moto.arm_faults(0.0, 0, false);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let mut counts = mutation_counts(&moto);
    for (key, n) in before {
        *counts.get_mut(&key).unwrap() -= n;
    }
    counts.retain(|_, n| *n > 0);
    if faults.is_some() {
        let injected = moto.injected_faults();
        assert!(injected > 10, "faults were injected: {injected}");
    }
    let cloud = common::cloud_lines(&serde_json::from_str(&moto.fixture(&["snapshot"])).unwrap());
    (findings(&report), cloud, counts, events)
}

#[test]
fn remediation_under_faults_ends_as_a_fault_free_run() {
    let (clean_findings, clean_cloud, clean_mutations, clean_events) = remediate(None);
    let (findings, cloud, mutations, events) = remediate(Some(rate()));
    common::assert_same_lines(&findings, &clean_findings, "the same findings and states");
    common::assert_same_lines(&cloud, &clean_cloud, "the same cloud (fixes applied and verified)");
    assert_eq!(mutations, clean_mutations, "each change made as often as without faults: none lost, none twice");
    let succeeded = |events: &[serde_json::Value]| {
        let mut calls: Vec<String> = events
            .iter()
            .filter(|e| e["event"] == "cloud.mutation" && e["outcome"] == "succeeded")
            .map(|e| common::mask_ids(&format!("{} {}", e["action"], e["resource_id"])))
            .collect();
        calls.sort();
        calls
    };
    assert_eq!(succeeded(&events), succeeded(&clean_events), "one audit record per call, as without faults");
    assert!(events.iter().any(|e| e["event"] == "cloud.call.retry"), "the faults were met and retried");
}

/// Two janitor runs (mark, then delete) on a fresh seeded emulator: (final cloud, deletions
/// per target, janitor transitions per resource).
fn janitor(faults: Option<f64>) -> (Vec<String>, Mutations, Vec<String>, BTreeMap<String, usize>) {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    moto.janitor_fixture(&["seed", state.to_str().unwrap()]);
    let policy = drift_policy(dir.path(), &moto.endpoint, &state);
    if let Some(rate) = faults {
        moto.arm_faults(rate, 20, true);
    }
    let mut transitions = Vec::new();
    for _ in 0..2 {
        let (code, events, stderr) =
            driftguard_json(dir.path(), &["janitor", "--once", "--policy", policy.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        transitions.extend(
            events
                .iter()
                .filter(|e| e["event"] == "janitor.transition")
                .map(|e| common::mask_ids(&format!("{} {} -> {}", e["resource_id"], e["from_state"], e["to_state"]))),
        );
    }
    moto.arm_faults(0.0, 0, false);
    // Lost answers per operation ("ec2 TerminateInstances" -> n).
    let lost: BTreeMap<String, usize> = moto
        .stats()
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("lost ")?.to_owned(), usize::try_from(v.as_u64()?).ok()?)))
        .collect();
    if faults.is_some() {
        assert!(!lost.is_empty(), "answers were lost after the emulator acted");
    }
    let deletions: Mutations = mutation_counts(&moto)
        .into_iter()
        .filter(|((operation, _), _)| {
            ["DELETE bucket", "TerminateInstances", "DeleteDBInstance", "DeleteRole"]
                .iter()
                .any(|d| operation.ends_with(d))
        })
        .collect();
    transitions.sort();
    let cloud = common::cloud_lines(&serde_json::from_str(&moto.janitor_fixture(&["snapshot"])).unwrap());
    (cloud, deletions, transitions, lost)
}

#[test]
fn the_janitor_under_faults_and_lost_answers_ends_as_a_fault_free_run() {
    let (clean_cloud, clean_deletions, clean_transitions, _) = janitor(None);
    let (cloud, deletions, transitions, lost) = janitor(Some(rate()));
    common::assert_same_lines(&cloud, &clean_cloud, "the same resources deleted and kept");
    common::assert_same_lines(&transitions, &clean_transitions, "the same path through the deletion machine");
    let targets = |m: &Mutations| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(targets(&deletions), targets(&clean_deletions), "the same resources deleted");
    // A deletion repeats only where its answer was lost after the emulator acted: the
    // retry of an idempotent delete, which AWS answers as done. Nothing else repeats.
    for ((operation, target), count) in &deletions {
        let extra = count - clean_deletions[&(operation.clone(), target.clone())];
        let lost_here = lost.get(operation).copied().unwrap_or(0);
        assert!(extra <= lost_here, "{operation} {target}: {extra} extra call(s), {lost_here} lost answer(s)");
    }
}
