//! The store as users meet it: history, resume-safe reruns, acknowledgements, and
//! refusal of a store written by a newer version.

mod common;

use common::{driftguard, run, sample_findings, test_policy};

fn history(dir: &std::path::Path, policy: &std::path::Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) =
        run(driftguard(dir).args(["history", "--format", "json", "--policy"]).arg(policy).args(extra));
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn simulate(dir: &std::path::Path, policy: &std::path::Path) -> serde_json::Value {
    simulate_from(dir, policy, &sample_findings())
}

fn simulate_from(dir: &std::path::Path, policy: &std::path::Path, findings: &std::path::Path) -> serde_json::Value {
    let report = dir.join("report.json");
    let (code, _, stderr) = run(driftguard(dir)
        .arg("simulate")
        .arg("--policy")
        .arg(policy)
        .arg("--findings")
        .arg(findings)
        .arg("--report")
        .arg(&report));
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

#[test]
fn history_filters_by_resource_since_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    simulate(dir.path(), &policy);
    let all = history(dir.path(), &policy, &[]);
    assert_eq!(all.len(), 14);
    let sg = history(dir.path(), &policy, &["--resource", "sg-0a1b2c3d"]);
    assert_eq!(sg.len(), 4);
    assert!(sg.iter().all(|entry| entry["resource_id"] == "sg-0a1b2c3d"));
    let by_address = history(dir.path(), &policy, &["--resource", "aws_instance.app[0]"]);
    assert_eq!(by_address.len(), 4);
    assert_eq!(history(dir.path(), &policy, &["--since", "1h"]).len(), 14);
    assert_eq!(history(dir.path(), &policy, &["--since", "2999-01-01"]).len(), 0);
    let last_two = history(dir.path(), &policy, &["--limit", "2"]);
    assert_eq!(last_two.len(), 2);
    assert_eq!(last_two[1]["seq"], all[13]["seq"]);
    let (code, _, stderr) =
        run(driftguard(dir.path()).args(["history", "--since", "last week", "--policy"]).arg(&policy));
    assert_eq!(code, 64, "{stderr}");
}

#[test]
fn a_second_run_over_the_same_drift_keeps_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let first = simulate(dir.path(), &policy);
    let second = simulate(dir.path(), &policy);
    let ids = |report: &serde_json::Value| -> Vec<String> {
        report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), ids(&second), "same drift, same finding ids");
    assert_eq!(first["findings"][0]["state"], "dry_run");
    assert_eq!(second["findings"][0]["state"], "dry_run");
    // Open findings at rest do not move again: no new transitions.
    assert_eq!(history(dir.path(), &policy, &[]).len(), 14);
}

#[test]
fn ack_suppresses_a_finding_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let report = simulate(dir.path(), &policy);
    let id = report["findings"][1]["id"].as_str().unwrap().to_owned();
    let (code, stdout, stderr) = run(driftguard(dir.path())
        .args([
            "ack",
            &id,
            "--until",
            "2999-12-31",
            "--reason",
            "known: resize approved in CHG-42",
            "--by",
            "alice",
            "--policy",
        ])
        .arg(&policy));
    assert_eq!(code, 0, "{stderr}");
    let event: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(event["event"], "finding.acknowledged");
    assert_eq!(event["finding_id"], id.as_str());
    assert_eq!(event["to_state"], "acknowledged");
    let entries = history(dir.path(), &policy, &["--finding", &id]);
    assert_eq!(entries.last().unwrap()["to_state"], "acknowledged");
    // A rerun leaves it acknowledged.
    let again = simulate(dir.path(), &policy);
    assert_eq!(again["findings"][1]["state"], "acknowledged");

    let (code, _, stderr) = run(driftguard(dir.path())
        .args(["ack", "f-nope", "--until", "2999-12-31", "--reason", "x", "--policy"])
        .arg(&policy));
    assert_eq!(code, 1);
    assert!(stderr.contains("no finding \"f-nope\""), "{stderr}");
    let (code, _, _) = run(driftguard(dir.path())
        .args(["ack", &id, "--until", "2001-01-01", "--reason", "x", "--policy"])
        .arg(&policy));
    assert_eq!(code, 64, "a date in the past is a usage error");
}

#[test]
fn an_acknowledgement_ends_at_its_date_or_when_the_drift_changes() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let first = simulate(dir.path(), &policy);
    let state_before = first["findings"][1]["state"].as_str().unwrap().to_owned();
    let id = first["findings"][1]["id"].as_str().unwrap().to_owned();
    let (code, _, stderr) = run(driftguard(dir.path())
        .args(["ack", &id, "--until", "2999-12-31", "--reason", "resize approved", "--policy"])
        .arg(&policy));
    assert_eq!(code, 0, "{stderr}");

    // The same drift with another actual value is another drift: not covered by the ack.
    let mut changed: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(sample_findings()).unwrap()).unwrap();
    changed[1]["actual"] = serde_json::json!("m5.8xlarge");
    let changed_path = dir.path().join("changed.json");
    std::fs::write(&changed_path, serde_json::to_string(&changed).unwrap()).unwrap();
    let report = simulate_from(dir.path(), &policy, &changed_path);
    let other = &report["findings"][1];
    assert_ne!(other["id"], id.as_str(), "a changed drift has a new fingerprint and id");
    assert_eq!(other["state"], state_before.as_str(), "the new drift is not acknowledged");

    // Time passes: the acknowledgement's end moves into the past (the runner compares
    // with the wall clock, so the store is edited as the clock would have it).
    let connection = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let past = "2001-01-01T00:00:00+00:00";
    let updated = connection
        .execute("UPDATE findings SET detail = json_set(detail, '$.ack_until', ?1) WHERE id = ?2", (past, &id))
        .unwrap();
    assert_eq!(updated, 1);
    connection.execute("UPDATE acknowledgements SET until = ?1 WHERE finding_id = ?2", (past, &id)).unwrap();
    drop(connection);

    let (stdout, _) = common::simulate_log(dir.path(), &policy);
    let reopened = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["finding_id"] == id.as_str() && event["from_state"] == "acknowledged");
    let reopened = reopened.unwrap_or_else(|| panic!("no audit event reopens {id}: {stdout}"));
    assert_eq!(reopened["event"], "finding.transition");
    assert_eq!(reopened["to_state"], "detected");
    let entries = history(dir.path(), &policy, &["--finding", &id]);
    assert!(entries.iter().any(|e| e["event"] == "ack_expired"), "{entries:#?}");
    assert_eq!(entries.last().unwrap()["to_state"], state_before.as_str(), "reopened and taken through its flow again");
}

#[test]
fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let connection = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let (code, _, stderr) = run(driftguard(dir.path()).args(["history", "--policy"]).arg(&policy));
    assert_eq!(code, 1);
    assert!(stderr.contains("has format version 99, newer than this driftguard supports"), "{stderr}");
}

/// A `planned -> to_state` transition of a run that crashed before its effects ran.
fn decided_by_a_crashed_run(
    id: &str,
    to_state: &str,
    effects: serde_json::Value,
) -> driftguard_store::TransitionRecord {
    driftguard_store::TransitionRecord {
        seq: None,
        run_id: "crashed-run".into(),
        finding_id: id.to_owned(),
        at: chrono::Utc::now(),
        from_state: "planned".into(),
        to_state: to_state.into(),
        event: "decide".into(),
        effects,
        effects_status: driftguard_store::EffectsStatus::Pending,
        outcome: None,
        dry_run: to_state == "dry_run",
        policy_hash: "0".repeat(64),
    }
}

#[test]
fn effects_left_pending_by_a_crash_are_resumed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let report = simulate(dir.path(), &policy);
    let id = report["findings"][0]["id"].as_str().unwrap().to_owned();
    // A crash right after the write-ahead commit: the transition, its effects and their
    // audit records (in the outbox) are durable; nothing of them ran or was written.
    let mut store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let finding = store.finding(&id).unwrap().unwrap();
    let effects = serde_json::json!([{"effect": "would_remediate", "actions": [
        {"api": "ec2:RevokeSecurityGroupIngress", "target": "sg-0a1b2c3d", "params": {"IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}}]}]);
    let transition = decided_by_a_crashed_run(&id, "dry_run", effects);
    let record = serde_json::json!({
        "event_id": "crashed-run-would-be-call", "event": "cloud.mutation",
        "action": "ec2:RevokeSecurityGroupIngress", "outcome": "simulated", "dry_run": true,
        "run_id": "crashed-run", "host": "h", "policy_hash": "0".repeat(64),
        "finding_id": id, "resource_id": "sg-0a1b2c3d"})
    .to_string();
    let entry = driftguard_store::OutboxEntry {
        event_id: "crashed-run-would-be-call".into(),
        run_id: "crashed-run".into(),
        subject: format!("finding:{id}"),
        state: driftguard_store::OutboxState::Ready,
        record,
        message: "dry-run: would call ec2:RevokeSecurityGroupIngress on sg-0a1b2c3d".into(),
    };
    store.record_transition_audited(&finding, &transition, &[entry]).unwrap();
    assert_eq!(store.pending_effects().unwrap().len(), 1);
    drop(store);

    let simulate_again = || {
        let (stdout, stderr) = common::simulate_log(dir.path(), &policy);
        (stdout, stderr)
    };
    let (stdout, stderr) = simulate_again();
    assert!(stderr.contains("resumed the effects of 1 interrupted transition(s)"), "{stderr}");
    let resumed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event["event"] == "cloud.mutation" && event["finding_id"] == id.as_str())
        .collect();
    assert_eq!(resumed.len(), 1, "the interrupted would-be call is audited: {stdout}");
    assert_eq!(resumed[0]["event_id"], "crashed-run-would-be-call", "the stored record, written once");
    assert_eq!(resumed[0]["run_id"], "crashed-run");
    let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    assert!(store.pending_effects().unwrap().is_empty());
    assert!(store.outbox().unwrap().is_empty(), "written, so out of the outbox");
    store.integrity_check().unwrap();
    drop(store);
    // The next run does not write it again.
    let (stdout, _) = common::simulate_log(dir.path(), &policy);
    assert!(!stdout.contains("crashed-run-would-be-call"), "{stdout}");
}

#[test]
fn stored_effects_naming_a_call_no_executor_makes_stop_the_run_and_stay_pending() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let report = simulate(dir.path(), &policy);
    let id = report["findings"][0]["id"].as_str().unwrap().to_owned();
    let mut store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let finding = store.finding(&id).unwrap().unwrap();
    // Not a call DriftGuard plans: a hand-edited or foreign store. It is neither made nor
    // dropped; the run stops and names it.
    let effects = serde_json::json!([{"effect": "remediate", "actions": [
        {"api": "ec2:TerminateInstances", "target": "i-0a1b2c3d", "params": {}}]}]);
    let transition = decided_by_a_crashed_run(&id, "remediating", effects);
    store.record_transition(&finding, &transition).unwrap();
    drop(store);

    let (code, stdout, stderr) = run(driftguard(dir.path())
        .arg("simulate")
        .arg("--policy")
        .arg(&policy)
        .arg("--findings")
        .arg(sample_findings()));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("finding {id}: the stored effects of transition")), "{stderr}");
    assert!(stderr.contains("ec2:TerminateInstances: no AWS remediation call"), "{stderr}");
    assert!(!stdout.contains("ec2:TerminateInstances"), "{stdout}");
    let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    assert_eq!(store.pending_effects().unwrap().len(), 1, "kept for a driftguard that reads it");
}
