//! The least-privilege IAM policies in docs/iam/ against an emulator that enforces IAM
//! (moto's INITIAL_NO_AUTH_ACTION_COUNT switch, turned on by tests/support/iam_fixture.py):
//! with detect-only.json, `detect` collects everything and every write is denied, and
//! DriftGuard says so; with full.json, remediation and the janitor succeed.

mod common;

use std::path::Path;
use std::process::Command;

use common::moto::{Moto, emulator_python};
use common::root;

/// The policy, with a store of its own per user: the full-permission run starts as a
/// fresh deployment would, not from the detect-only run's escalations.
fn policy(dir: &Path, endpoint: &str, state: &Path, user: &str) -> std::path::PathBuf {
    common::acting_policy(dir, user, endpoint, state, 3)
}

/// Runs `driftguard ARGS` signed with `key`: (code, JSON events, stderr).
fn as_user(dir: &Path, key: &serde_json::Value, args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    common::run_json(
        common::emulated(dir)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", key["access_key_id"].as_str().unwrap())
            .env("AWS_SECRET_ACCESS_KEY", key["secret_access_key"].as_str().unwrap()),
    )
}

fn mutations<'a>(events: &'a [serde_json::Value], outcome: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["event"] == "cloud.mutation" && e["outcome"] == outcome).collect()
}

#[test]
fn detect_only_can_read_everything_and_change_nothing_full_can_remediate_and_janitor() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    let ids = moto.fixture(&["seed", state.to_str().unwrap()]);
    moto.fixture(&["mutate", ids.trim()]);
    moto.janitor_fixture(&["create-bucket", "dg-expired-scratch", "2020-01-01"]);
    // IAM enforcement on from here: every request must be signed by a known user and allowed.
    let output = Command::new(emulator_python())
        .arg(root().join("tests/support/iam_fixture.py"))
        .args(["--endpoint", &moto.endpoint, "--enforce"])
        .output()
        .unwrap();
    assert!(output.status.success(), "iam_fixture: {}", String::from_utf8_lossy(&output.stderr));
    let keys: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let auth = |on: &str| {
        let output = Command::new(emulator_python())
            .arg(root().join("tests/support/iam_fixture.py"))
            .args(["--endpoint", &moto.endpoint, "--auth", on])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    // The snapshot (with the fixture's own key) includes the users the fixture made.
    auth("off");
    let before = moto.fixture(&["snapshot"]);
    auth("on");
    let detect_policy = policy(dir.path(), &moto.endpoint, &state, "detect");
    let policy = detect_policy.to_str().unwrap();

    // Unknown credentials are refused by the emulator (enforcement is really on), at the
    // identity check, before anything else is asked.
    let stranger = serde_json::json!({"access_key_id": "testing", "secret_access_key": "testing"});
    let (code, events, stderr) = as_user(dir.path(), &stranger, &["detect", "--once", "--policy", policy]);
    assert_eq!(code, 1, "{stderr}");
    let refusal = events.iter().find(|e| e["event"] == "account.unreachable").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(refusal["action"], "sts:GetCallerIdentity");
    assert!(refusal["reason"].as_str().unwrap().contains("AccessDenied"), "{refusal}");

    // detect-only: every finding is found; every fix is denied and reported as such.
    let (code, events, stderr) = as_user(dir.path(), &keys["detect"], &["detect", "--once", "--policy", policy]);
    assert_eq!(code, 2, "drift found: {stderr}");
    let finished = events.iter().find(|e| e["event"] == "run.finished").unwrap();
    // The 16 of the drift fixture, the expired bucket, and the fixture's three IAM
    // policies (detect, full, hub; unmanaged: no state declares them).
    assert_eq!(finished["reason"], "20 findings", "collection saw everything: {stderr}");
    assert!(mutations(&events, "succeeded").is_empty(), "a write got through: {stderr}");
    let failed = mutations(&events, "failed");
    let findings: std::collections::BTreeSet<&str> = failed.iter().filter_map(|e| e["finding_id"].as_str()).collect();
    assert_eq!(findings.len(), 13, "every fixable finding was tried and denied: {stderr}");
    for event in &failed {
        let reason = event["reason"].as_str().unwrap();
        assert!(reason.starts_with("permission denied (") && reason.contains("AccessDenied"), "{reason}");
        assert!(reason.contains("grant it or narrow the flow"), "{reason}");
    }
    // The janitor cannot even mark.
    let (code, events, stderr) = as_user(dir.path(), &keys["detect"], &["janitor", "--once", "--policy", policy]);
    assert_eq!(code, 1, "{stderr}");
    let mark = mutations(&events, "failed");
    assert_eq!(mark.len(), 1, "{stderr}");
    assert_eq!(mark[0]["action"], "tag:mark");
    assert!(mark[0]["reason"].as_str().unwrap().contains("AccessDenied"), "{mark:?}");

    // Nothing changed (snapshot through the fixture's own key, with enforcement paused).
    auth("off");
    assert_eq!(moto.fixture(&["snapshot"]), before, "the detect-only user changed something");
    auth("on");

    // full: remediation succeeds and is verified; the janitor marks, then deletes.
    let full_policy = self::policy(dir.path(), &moto.endpoint, &state, "full");
    let policy = full_policy.to_str().unwrap();
    let (code, events, stderr) = as_user(dir.path(), &keys["full"], &["detect", "--once", "--policy", policy]);
    assert_eq!(code, 2, "{stderr}");
    assert!(mutations(&events, "failed").is_empty(), "{stderr}");
    assert_eq!(mutations(&events, "succeeded").len(), 13, "{stderr}");
    let remediated =
        events.iter().filter(|e| e["event"] == "finding.transition" && e["to_state"] == "remediated").count();
    assert_eq!(remediated, 13, "{stderr}");
    for _ in 0..2 {
        let (code, _, stderr) = as_user(dir.path(), &keys["full"], &["janitor", "--once", "--policy", policy]);
        assert_eq!(code, 0, "{stderr}");
    }
    auth("off");
    let after: serde_json::Value = serde_json::from_str(&moto.janitor_fixture(&["snapshot"])).unwrap();
    assert!(after["buckets"].get("dg-expired-scratch").is_none(), "the janitor deleted with full.json");
}

/// Hub and spoke under IAM enforcement: the hub user holds only docs/iam/hub.json, the
/// member account's `driftguard` role only docs/iam/full.json; the janitor reaches the
/// member account through the role and cleans it. A role the hub may not assume makes
/// the account unreachable: refused, nothing touched, exit 1.
#[test]
fn a_hub_holding_only_hub_json_governs_a_member_account_through_its_role() {
    const MEMBER: &str = "222222222222";
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.accounts_fixture(&["seed", MEMBER]);
    moto.accounts_fixture(&["attach", MEMBER, root().join("docs/iam/full.json").to_str().unwrap()]);
    let iam = |args: &[&str]| {
        let output = Command::new(emulator_python())
            .arg(root().join("tests/support/iam_fixture.py"))
            .args(["--endpoint", &moto.endpoint])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "iam_fixture: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    };
    let keys: serde_json::Value = serde_json::from_slice(&iam(&["--enforce"])).unwrap();
    let policy = |role: &str| {
        let account = common::member_account(MEMBER, MEMBER, &moto.endpoint, "driftguard")
            .replace("role/driftguard", &format!("role/{role}"));
        common::janitor_accounts_policy(dir.path(), role, &account, &[MEMBER], "")
    };
    let member = policy("driftguard");
    for run in 0..2 {
        let (code, events, stderr) =
            as_user(dir.path(), &keys["hub"], &["janitor", "--once", "--policy", member.to_str().unwrap()]);
        assert_eq!(code, 0, "run {run}: {stderr}");
        assert!(mutations(&events, "failed").is_empty(), "run {run}: {stderr}");
        for event in mutations(&events, "succeeded") {
            assert_eq!(event["principal"], format!("arn:aws:sts::{MEMBER}:assumed-role/driftguard/driftguard"));
        }
    }
    iam(&["--auth", "off"]);
    let after: serde_json::Value = serde_json::from_str(&moto.accounts_fixture(&["snapshot", MEMBER])).unwrap();
    iam(&["--auth", "on"]);
    let buckets: Vec<&String> = after[MEMBER]["buckets"].as_object().unwrap().keys().collect();
    assert_eq!(buckets, [&format!("dg-new-{MEMBER}")], "the expired bucket went, through the member role");

    // hub.json allows only roles named driftguard: another one cannot be assumed.
    let other = policy("other");
    let (code, events, stderr) =
        as_user(dir.path(), &keys["hub"], &["janitor", "--once", "--policy", other.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let refusal = events.iter().find(|e| e["event"] == "account.unreachable").unwrap_or_else(|| panic!("{stderr}"));
    let reason = refusal["reason"].as_str().unwrap();
    assert!(reason.contains("sts:AssumeRole failed: AccessDenied"), "{reason}");
    assert!(!events.iter().any(|e| e["event"] == "cloud.mutation"), "{stderr}");
}

/// docs/iam/ stays in step with the code: tests/support/iam_selftest.py reads every
/// `send!` of the AWS adapters, checks each JSON file holds exactly the actions its job
/// calls, and proves against moto that each action is needed (removing any one breaks a
/// call) and that the detect-only user can write nothing.
#[test]
fn the_iam_documents_list_exactly_what_the_code_calls() {
    let output = Command::new(emulator_python()).arg(root().join("tests/support/iam_selftest.py")).output().unwrap();
    assert!(
        output.status.success(),
        "iam_selftest.py:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
