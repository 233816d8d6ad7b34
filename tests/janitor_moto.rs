//! `driftguard janitor` against a real AWS emulator (moto on 127.0.0.1): an account seeded
//! with one resource per reason to delete or keep; marks, grace, deletion in dependency
//! order, hard blocks, caps, reviewed plans, dry-run, resume after a crash.

mod common;

use std::path::{Path, PathBuf};

use common::janitor;
use common::moto::Moto;

const ACCOUNT: &str = "123456789012";

fn policy(dir: &Path, endpoint: &str, state: &Path, extra_janitor: &str, caps: &str) -> PathBuf {
    let text = format!(
        r#"{head}flows:
  - name: report
    steps: [classify, plan, report]
protection:
  tags:
    - key: Environment
      values: [production]
    - key: Protected
      values: ["true"]
  name_prefix: dg-
  caps:
    max_deletions_per_run: 20
    max_delete_percent: 100
{caps}
janitor:
  enabled: true
  targets: [aws_s3_bucket, aws_instance, aws_db_instance, aws_iam_role]
  grace_period: 0s
  phases: [api]
  revenant_check_after: 0s
  ec2_disable_termination_protection: true
  rds_skip_final_snapshot: true
  rds_disable_deletion_protection: true
  delete_allowlist:
    aws: ["{ACCOUNT}"]
{extra_janitor}
retry:
  max_attempts: 6
  base_delay: 5ms
  max_delay: 50ms
"#,
        head = common::policy_head(false, &dir.join("state.db"), endpoint, Some(("sandbox", state))),
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn seeded(dir: &Path) -> (Moto, PathBuf, serde_json::Value) {
    let moto = Moto::start(0.0);
    let state = dir.join("terraform.tfstate");
    let ids = serde_json::from_str(&moto.janitor_fixture(&["seed", state.to_str().unwrap()])).unwrap();
    (moto, state, ids)
}

fn snapshot(moto: &Moto) -> serde_json::Value {
    serde_json::from_str(&moto.janitor_fixture(&["snapshot"])).unwrap()
}

fn names(map: &serde_json::Value) -> Vec<String> {
    map.as_object().unwrap().keys().cloned().collect()
}

fn live_instances(snapshot: &serde_json::Value) -> Vec<String> {
    snapshot["instances"]
        .as_object()
        .unwrap()
        .values()
        .filter(|i| i["state"] != "terminated")
        .map(|i| i["tags"]["Name"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn marks_first_then_deletes_after_the_grace_period_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");

    // Run 1: every candidate is marked, nothing is deleted.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let after_mark = snapshot(&moto);
    assert_eq!(
        names(&after_mark["buckets"]),
        ["dg-managed-bucket", "dg-new-bucket", "dg-old-bucket", "dg-prod-bucket", "scratch-bucket"]
    );
    assert!(after_mark["buckets"]["dg-old-bucket"]["tags"]["driftguard-marked-at"].is_string(), "{stderr}");
    assert!(after_mark["databases"]["dg-old-db"]["tags"]["driftguard-marked-at"].is_string());
    assert!(after_mark["roles"]["dg-old-role"]["tags"]["driftguard-marked-at"].is_string());
    for kept in ["dg-new-bucket", "dg-prod-bucket", "scratch-bucket", "dg-managed-bucket"] {
        assert!(after_mark["buckets"][kept]["tags"].get("driftguard-marked-at").is_none(), "{kept} marked");
    }
    let marked: Vec<_> =
        events.iter().filter(|e| e["event"] == "janitor.transition" && e["to_state"] == "marked").collect();
    assert_eq!(marked.len(), 4, "bucket, instance, database, role: {stderr}");
    let blocked: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "janitor.decision" && e["outcome"] == "blocked")
        .map(|e| format!("{} {}", e["resource_id"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    for expected in [
        "dg-prod-bucket protected by tag Environment=Production",
        "dg-managed-bucket managed by a known Terraform state",
        "dg-new-bucket expires at 2999-01-01T00:00:00+00:00",
    ] {
        assert!(blocked.iter().any(|b| b == expected), "no {expected:?} in {blocked:#?}");
    }
    assert!(stderr.contains("4 marked"), "{stderr}");

    // Run 2 (grace 0s): the marked candidates go, with what they hold.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let after = snapshot(&moto);
    assert_eq!(names(&after["buckets"]), ["dg-managed-bucket", "dg-new-bucket", "dg-prod-bucket", "scratch-bucket"]);
    assert_eq!(names(&after["databases"]), Vec::<String>::new(), "{stderr}");
    assert!(after["roles"].get("dg-old-role").is_none(), "{stderr}");
    assert_eq!(after["profiles"], serde_json::json!([{"name": "dg-old-profile", "roles": []}]));
    assert_eq!(live_instances(&after), ["dg-keep-vm"]);
    let deleted: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "janitor.transition" && e["to_state"] == "deleted")
        .map(|e| e["resource_type"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["aws_instance", "aws_db_instance", "aws_s3_bucket", "aws_iam_role"], "dependency order");

    // Run 3: nothing left to do, nothing deleted twice.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!events.iter().any(|e| e["event"] == "cloud.mutation"), "{stderr}");

    // Something recreates a deleted bucket: the next run flags the revenant.
    moto.janitor_fixture(&["create-bucket", "dg-old-bucket", "2999-01-01"]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        events.iter().any(|e| e["event"] == "janitor.transition"
            && e["resource_id"] == "dg-old-bucket"
            && e["from_state"] == "deleted"
            && e["to_state"] == "revenant"),
        "{stderr}"
    );
    assert!(stderr.contains("revenant  aws/123456789012/us-east-1/aws_s3_bucket/dg-old-bucket"), "{stderr}");
}

#[test]
fn a_second_run_on_the_same_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    // Another process's run holds the lock.
    let held = std::fs::File::create(dir.path().join("state.db.lock")).unwrap();
    held.lock().unwrap();
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("another driftguard run holds"), "{stderr}");
    assert!(!events.iter().any(|e| e["event"] == "cloud.mutation"));
    drop(held);
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "released: {stderr}");
}

#[test]
fn a_marked_resource_that_stops_qualifying_is_unmarked() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    moto.janitor_fixture(&["tag", "bucket", "dg-old-bucket", "Protected", "TRUE"]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let after = snapshot(&moto);
    let bucket = &after["buckets"]["dg-old-bucket"];
    assert!(bucket["tags"].get("driftguard-marked-at").is_none(), "mark removed: {stderr}");
    assert_eq!(bucket["versions"], 4, "nothing deleted");
    assert!(events.iter().any(|e| e["event"] == "janitor.transition"
        && e["resource_id"] == "dg-old-bucket"
        && e["to_state"] == "unmarked"
        && e["reason"] == "protected by tag Protected=TRUE"));
}

#[test]
fn dry_run_leaves_the_emulator_unchanged_even_with_candidates_past_grace() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "marks: {stderr}");
    let before = snapshot(&moto);
    let mutations = moto.stats()["mutations"].clone();
    let (code, events, stderr) = janitor(dir.path(), &policy, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(moto.stats()["mutations"], mutations, "dry-run sent a write");
    assert_eq!(snapshot(&moto), before);
    let simulated = events.iter().filter(|e| e["event"] == "cloud.mutation" && e["outcome"] == "simulated").count();
    assert_eq!(simulated, 4, "one would-be deletion per candidate: {stderr}");
    assert!(stderr.contains("4 would delete"), "{stderr}");
    // The store still says marked: a simulation records nothing.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events.iter().filter(|e| e["to_state"] == "deleted").count(), 4, "{stderr}");
}

#[test]
fn caps_hold_back_what_exceeds_them_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    let text =
        std::fs::read_to_string(&policy).unwrap().replace("max_deletions_per_run: 20", "max_deletions_per_run: 2");
    std::fs::write(&policy, text).unwrap();
    janitor(dir.path(), &policy, &[]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let deleted = events.iter().filter(|e| e["event"] == "janitor.transition" && e["to_state"] == "deleted").count();
    assert_eq!(deleted, 2, "{stderr}");
    let held: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "janitor.decision" && e["action"] == "held").collect();
    assert_eq!(held.len(), 2, "{stderr}");
    assert!(held.iter().all(|e| e["reason"] == "cap: {\"cap\":\"per_run\",\"limit\":2}"), "{held:#?}");
    // Inventory order: buckets and roles first, so the instance and the database wait.
    assert!(held.iter().any(|e| e["resource_id"] == "dg-old-db"), "{held:#?}");
    assert!(snapshot(&moto)["databases"].get("dg-old-db").is_some());
    assert!(stderr.contains("2 held"), "{stderr}");
}

#[test]
fn a_reviewed_plan_deletes_exactly_its_unchanged_items() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, ids) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    let plan = dir.path().join("plan.json");
    let (code, _, stderr) = janitor(dir.path(), &policy, &["--dry-run", "--plan-out", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mut planned: Vec<&str> =
        written["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    planned.sort_unstable();
    let vm = ids["vm"].as_str().unwrap();
    let mut expected = vec!["dg-old-bucket", "dg-old-db", "dg-old-role", vm];
    expected.sort_unstable();
    assert_eq!(planned, expected);
    assert!(written["items"][0]["fingerprint"].as_str().unwrap().len() == 64);
    // Nothing was marked by planning.
    assert!(snapshot(&moto)["buckets"]["dg-old-bucket"]["tags"].get("driftguard-marked-at").is_none());

    // After review: one item changes, and a new expired resource appears.
    moto.janitor_fixture(&["tag", "bucket", "dg-old-bucket", "Owner", "alice"]);
    moto.janitor_fixture(&["create-bucket", "dg-later-bucket", "2020-01-01"]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &["--apply-plan", plan.to_str().unwrap()]);
    assert_eq!(code, 1, "a refused item means the plan was not carried out in full: {stderr}");
    let after = snapshot(&moto);
    assert!(after["buckets"].get("dg-old-bucket").is_some(), "changed since planning: refused");
    assert!(after["buckets"].get("dg-later-bucket").is_some(), "not in the plan: untouched");
    assert!(after["buckets"]["dg-later-bucket"]["tags"].get("driftguard-marked-at").is_none(), "not even marked");
    assert!(after["databases"].get("dg-old-db").is_none());
    assert!(after["roles"].get("dg-old-role").is_none());
    assert_eq!(live_instances(&after), ["dg-keep-vm"]);
    assert!(events.iter().any(|e| e["event"] == "janitor.decision"
        && e["resource_id"] == "dg-old-bucket"
        && e["outcome"] == "blocked"
        && e["reason"].as_str().unwrap().starts_with("fingerprint changed")));
    assert!(stderr.contains("refused   aws/123456789012/us-east-1/aws_s3_bucket/dg-old-bucket"), "{stderr}");

    let (code, _, stderr) = janitor(dir.path(), &policy, &["--plan-out", dir.path().join("p2.json").to_str().unwrap()]);
    assert_eq!(code, 64, "--plan-out without --dry-run is refused: {stderr}");
    std::fs::write(&plan, "{\"version\": 1, \"items\": [").unwrap();
    let (code, _, stderr) = janitor(dir.path(), &policy, &["--apply-plan", plan.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("plan.json:1:"), "a broken plan names the place: {stderr}");
}

#[test]
fn protection_the_policy_does_not_lift_blocks_at_selection_never_failing_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    // The seeded instance has termination protection, the database deletion protection;
    // the policy lifts neither, and allows two deletions per run.
    let text = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("ec2_disable_termination_protection: true", "ec2_disable_termination_protection: false")
        .replace("rds_disable_deletion_protection: true", "rds_disable_deletion_protection: false")
        .replace("max_deletions_per_run: 20", "max_deletions_per_run: 2");
    std::fs::write(&policy, &text).unwrap();
    let before = moto.stats()["mutations"].clone();

    // A plan for review promises only deletions that can happen.
    let plan = dir.path().join("plan.json");
    let (code, _, stderr) = janitor(dir.path(), &policy, &["--dry-run", "--plan-out", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mut planned: Vec<&str> =
        written["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    planned.sort_unstable();
    assert_eq!(planned, ["dg-old-bucket", "dg-old-role"], "{written}");
    assert_eq!(written["held"], serde_json::json!([]), "nothing held: the protected ones never reach the caps");
    assert_eq!(moto.stats()["mutations"], before, "planning writes nothing");

    // Scheduled runs: the protected ones are blocked with their reasons, never marked.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let blocked = |events: &[serde_json::Value], id: &str| -> Option<String> {
        events
            .iter()
            .find(|e| e["event"] == "janitor.decision" && e["outcome"] == "blocked" && e["resource_id"] == id)
            .and_then(|e| e["reason"].as_str().map(str::to_owned))
    };
    assert_eq!(
        blocked(&events, "dg-old-db").as_deref(),
        Some("deletion protection is on and janitor.rds_disable_deletion_protection is false"),
        "{stderr}"
    );
    let vm = snapshot(&moto)["instances"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, i)| i["tags"]["Name"] == "dg-old-vm")
        .map(|(id, _)| id.clone())
        .unwrap();
    assert_eq!(
        blocked(&events, &vm).as_deref(),
        Some("termination protection is on and janitor.ec2_disable_termination_protection is false"),
        "{stderr}"
    );
    let after = snapshot(&moto);
    assert!(after["databases"]["dg-old-db"]["tags"].get("driftguard-marked-at").is_none(), "no tag on a protected db");
    assert!(after["instances"][&vm]["tags"].get("driftguard-marked-at").is_none(), "no tag on a protected instance");
    assert!(stderr.contains("2 marked"), "{stderr}");

    // The two that can go go, within the cap of two: the protected ones spent none of it.
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "nothing failed: {stderr}");
    let deleted: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "janitor.transition" && e["to_state"] == "deleted")
        .map(|e| e["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["dg-old-bucket", "dg-old-role"], "{stderr}");
    assert!(!events.iter().any(|e| e["action"] == "held" || e["to_state"] == "failed"), "{stderr}");
    assert!(live_instances(&snapshot(&moto)).contains(&"dg-old-vm".to_owned()));

    // The policy now lifts protection: marked, then deleted.
    std::fs::write(
        &policy,
        text.replace("ec2_disable_termination_protection: false", "ec2_disable_termination_protection: true")
            .replace("rds_disable_deletion_protection: false", "rds_disable_deletion_protection: true"),
    )
    .unwrap();
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("2 marked"), "{stderr}");
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(live_instances(&snapshot(&moto)), ["dg-keep-vm"]);
    assert_eq!(names(&snapshot(&moto)["databases"]), Vec::<String>::new());
}

#[test]
fn the_percentage_cap_applies_only_where_an_account_holds_a_population_worth_one() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    std::fs::write(
        &state,
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "resources": []}"#,
    )
    .unwrap();
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    // The default cap: 50%, from a population of 10 (percent_min_population's default).
    let text = std::fs::read_to_string(&policy).unwrap().replace("    max_delete_percent: 100\n", "");
    std::fs::write(&policy, text).unwrap();
    let roles = |events: &[serde_json::Value], what: &str| -> usize {
        events
            .iter()
            .filter(|e| {
                e["resource_type"] == "aws_iam_role" && e["event"] == "janitor.transition" && e["to_state"] == what
            })
            .count()
    };

    // One expired role in an account holding one: a percentage of one means nothing.
    moto.janitor_fixture(&["create-roles", "dg-lonely", "1", "1"]);
    janitor(dir.path(), &policy, &[]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(roles(&events, "deleted"), 1, "{stderr}");

    // Twenty prefixed roles, fifteen expired: 75% of a real population, held as ever.
    moto.janitor_fixture(&["create-roles", "dg-fleet", "20", "15"]);
    janitor(dir.path(), &policy, &[]);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(roles(&events, "deleted"), 0, "{stderr}");
    let held: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "janitor.decision" && e["action"] == "held").collect();
    assert_eq!(held.len(), 15, "{stderr}");
    assert!(
        held.iter().all(|e| e["reason"] == "cap: {\"cap\":\"percent\",\"percent\":50,\"prefixed\":20}"),
        "{held:#?}"
    );
}

#[test]
fn a_deletion_interrupted_by_a_crash_is_finished_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    janitor(dir.path(), &policy, &[]);
    // A crash right after the write-ahead record of phase 2 for the bucket: the store
    // says phase2, the bucket is still there.
    let mut store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let key = format!("aws/{ACCOUNT}/us-east-1/aws_s3_bucket/dg-old-bucket");
    let mut item = store.janitor_items().unwrap().into_iter().find(|i| i.key == key).unwrap();
    item.state = "phase2".into();
    let transition = driftguard_store::JanitorTransition {
        run_id: "crashed".into(),
        key: key.clone(),
        at: chrono::Utc::now(),
        from_state: "marked".into(),
        to_state: "phase2".into(),
        event: "delete".into(),
        reason: None,
        dry_run: false,
    };
    store.record_janitor_transition(&item, &transition).unwrap();
    drop(store);
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("resumed   {key}")), "{stderr}");
    assert!(snapshot(&moto)["buckets"].get("dg-old-bucket").is_none());
    let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let history: Vec<String> =
        store.janitor_transitions(&key).unwrap().iter().map(|t| format!("{}>{}", t.from_state, t.to_state)).collect();
    assert_eq!(history, ["none>marked", "marked>phase2", "phase2>deleted"]);
    let deletes =
        events.iter().filter(|e| e["event"] == "cloud.mutation" && e["resource_id"] == "dg-old-bucket").count();
    assert_eq!(deletes, 1, "deleted once");
}

/// A Terraform root for phase 1: a working directory whose state holds these buckets, and
/// the stand-in's mode (see tests/support/fake_terraform.py).
fn iac_root(dir: &Path, buckets: &[&str], mode: &str) -> PathBuf {
    let root = dir.join(format!("iac-{}", buckets[0]));
    std::fs::create_dir_all(&root).unwrap();
    let resources: Vec<serde_json::Value> = buckets
        .iter()
        .enumerate()
        .map(|(index, bucket)| {
            serde_json::json!({"mode": "managed", "type": "aws_s3_bucket", "name": format!("b{index}"),
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": bucket, "bucket": bucket, "force_destroy": true}}]})
        })
        .collect();
    let state = serde_json::json!({
        "version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": buckets[0], "outputs": {},
        "resources": resources
    });
    std::fs::write(root.join("terraform.tfstate"), state.to_string()).unwrap();
    std::fs::write(root.join("fake-terraform.json"), serde_json::json!({"mode": mode}).to_string()).unwrap();
    root
}

fn invocations(root: &Path) -> usize {
    std::fs::read_to_string(root.join("fake-terraform.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"invocation\""))
        .count()
}

#[test]
fn phase_1_destroys_through_terraform_and_phase_2_takes_what_it_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let modes = [("dg-iac-ok", "success"), ("dg-iac-lock", "lock"), ("dg-iac-fail", "fail"), ("dg-iac-hang", "hang")];
    let mut workdirs = String::from("  iac:\n    command: ");
    workdirs += &common::root().join("tests/support/terraform").display().to_string();
    workdirs += "\n    args: [destroy, -auto-approve, -input=false, -no-color]\n    timeout: 2s\n    env:\n";
    workdirs += &format!("      AWS_ENDPOINT_URL: {}\n", moto.endpoint);
    workdirs +=
        &format!("      DG_FAKE_TERRAFORM_PYTHON: {}\n    workdirs:\n", common::moto::emulator_python().display());
    let mut roots = Vec::new();
    for (bucket, mode) in modes {
        moto.janitor_fixture(&["create-bucket", bucket, "2020-01-01"]);
        let root = iac_root(dir.path(), &[bucket], mode);
        workdirs += &format!("      \"{bucket}\": \"{}\"\n", root.display());
        roots.push(root);
    }
    // A root that also holds a protected bucket: its destroy would take that too.
    moto.janitor_fixture(&["create-bucket", "dg-iac-mixed", "2020-01-01"]);
    let mixed = iac_root(dir.path(), &["dg-iac-mixed", "dg-prod-bucket"], "success");
    workdirs += &format!("      \"dg-iac-mixed\": \"{}\"\n", mixed.display());
    // A resource whose tag names a directory the policy does not list.
    moto.janitor_fixture(&["create-bucket", "dg-iac-tagged", "2020-01-01"]);
    let elsewhere = iac_root(dir.path(), &["dg-iac-tagged"], "success");
    moto.janitor_fixture(&["tag", "bucket", "dg-iac-tagged", "driftguard-iac-dir", elsewhere.to_str().unwrap()]);
    let policy = policy(dir.path(), &moto.endpoint, &state, &workdirs, "");
    let text = std::fs::read_to_string(&policy).unwrap().replace("phases: [api]", "phases: [iac, api]");
    std::fs::write(&policy, text).unwrap();

    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "marks: {stderr}");
    // A simulation never runs the IaC tool.
    let (code, events, stderr) = janitor(dir.path(), &policy, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(roots.iter().all(|root| invocations(root) == 0), "dry-run ran terraform");
    assert_eq!(events.iter().filter(|e| e["event"] == "janitor.iac" && e["outcome"] == "simulated").count(), 4);
    assert!(invocations(&mixed) == 0 && invocations(&elsewhere) == 0);

    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let after = snapshot(&moto);
    for (bucket, _) in modes {
        assert!(after["buckets"].get(bucket).is_none(), "{bucket} left: {stderr}");
    }
    for root in &roots {
        assert_eq!(invocations(root), 1, "{}", root.display());
    }
    assert_eq!(invocations(&mixed), 0, "phase 1 refused: the root holds a protected bucket");
    assert_eq!(invocations(&elsewhere), 0, "phase 1 refused: a tag cannot name a directory");
    assert!(after["buckets"].get("dg-prod-bucket").is_some(), "the protected bucket survives");
    assert!(after["buckets"].get("dg-iac-mixed").is_none() && after["buckets"].get("dg-iac-tagged").is_none());
    let path_of = |bucket: &str| -> Vec<String> {
        let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
        let key = format!("aws/{ACCOUNT}/us-east-1/aws_s3_bucket/{bucket}");
        store.janitor_transitions(&key).unwrap().iter().map(|t| t.to_state.clone()).collect()
    };
    assert_eq!(path_of("dg-iac-ok"), ["marked", "phase1", "verifying", "deleted"], "terraform did it: {stderr}");
    for bucket in ["dg-iac-lock", "dg-iac-fail", "dg-iac-hang"] {
        assert_eq!(path_of(bucket), ["marked", "phase1", "phase2", "deleted"], "{bucket}: {stderr}");
    }
    for bucket in ["dg-iac-mixed", "dg-iac-tagged"] {
        assert_eq!(path_of(bucket), ["marked", "phase2", "deleted"], "{bucket}: {stderr}");
    }
    let refusals: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "janitor.decision" && e["action"] == "delete")
        .filter_map(|e| Some(format!("{} {}", e["resource_id"].as_str()?, e["reason"].as_str()?)))
        .collect();
    assert!(
        refusals.iter().any(
            |r| r.starts_with("dg-iac-mixed phase 2 (API); phase 1 refused: its state also holds aws_s3_bucket.b1")
        ),
        "{refusals:#?}"
    );
    assert!(
        refusals.iter().any(|r| r.starts_with("dg-iac-tagged phase 2 (API); phase 1 refused: working directory")
            && r.ends_with("is not one of janitor.iac.workdirs")),
        "{refusals:#?}"
    );
    let reasons: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "janitor.transition" && e["action"] == "iac_failed")
        .map(|e| format!("{} {}", e["resource_id"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert!(reasons.contains(&"dg-iac-lock state lock held by another run".to_owned()), "{reasons:#?}");
    assert!(reasons.contains(&"dg-iac-hang timed out after 2s".to_owned()), "{reasons:#?}");
    assert!(reasons.iter().any(|r| r.starts_with("dg-iac-fail exit 1: Error: ")), "{reasons:#?}");
    // The bucket terraform destroyed was not deleted again through the API.
    assert!(!events.iter().any(|e| e["event"] == "cloud.mutation" && e["resource_id"] == "dg-iac-ok"));
}

/// The cleanup's API calls grow with the candidates, not with the estate, and batch where
/// the API takes batches: bucket regions come from `ListBuckets` filtered by region (no
/// `GetBucketLocation`), bystanders' tags from the Resource Groups Tagging API (no
/// `GetBucketTagging` for them), every instance mark is one `CreateTags`, every
/// termination one `TerminateInstances` and one wait, every bucket emptied with one
/// listing. Counted at the emulator, two runs (mark, then delete).
#[test]
fn cleanup_calls_follow_the_candidates_in_batches() {
    const CANDIDATES: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    std::fs::write(
        &state,
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "resources": []}"#,
    )
    .unwrap();
    moto.janitor_fixture(&["create-fleet", "dg-fleet", &CANDIDATES.to_string(), "10"]);
    let policy = policy(dir.path(), &moto.endpoint, &state, "", "");
    let before = moto.stats();
    for run in ["mark", "delete"] {
        let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
        assert_eq!(code, 0, "{run}: {stderr}");
    }
    let after = moto.stats();
    let calls = |operation: &str| {
        let key = format!("call {operation}");
        after[&key].as_u64().unwrap_or(0) - before[&key].as_u64().unwrap_or(0)
    };
    let n = CANDIDATES as u64;
    let snapshot = snapshot(&moto);
    let buckets = names(&snapshot["buckets"]);
    assert!(!buckets.iter().any(|b| b.starts_with("dg-fleet-")), "{buckets:?}");
    assert_eq!(buckets.iter().filter(|b| b.starts_with("other-dg-fleet-")).count(), 10);
    let live = live_instances(&snapshot);
    assert!(!live.iter().any(|name| name.starts_with("dg-fleet-")), "{live:?}");
    assert_eq!(live.iter().filter(|name| name.starts_with("other-dg-fleet-")).count(), 10);

    assert_eq!(calls("s3 GET location"), 0, "regions come from the listing: {after:#}");
    assert!(calls("tagging GetResources") >= 1, "{after:#}");
    // Each candidate bucket's own tags: its last look in each run, and the mark's read-modify-write.
    assert_eq!(calls("s3 GET tagging"), 3 * n, "{after:#}");
    assert_eq!(calls("s3 GET versions"), n, "one listing empties a small bucket: {after:#}");
    assert_eq!(calls("ec2 CreateTags"), 1, "{after:#}");
    assert_eq!(calls("ec2 TerminateInstances"), 1, "{after:#}");
    // The policy lifts termination protection: read once per instance, right before.
    assert_eq!(calls("ec2 DescribeInstanceAttribute"), n, "{after:#}");
    assert!(calls("ec2 DescribeInstances") < n, "listings and one wait, not one per instance: {after:#}");
}
