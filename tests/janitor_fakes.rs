//! `driftguard janitor` on Google Cloud Storage and Azure resource groups, against the
//! project's own fakes of their wire APIs (no emulator exists for either; see
//! tests/common/fakes.rs): the same marks, grace, hard blocks and dry-run guarantees as on
//! AWS, through the one `JanitorCloud` trait.

mod common;

use std::path::{Path, PathBuf};

use common::fakes::Fake;
use common::janitor;

const PROJECT: &str = "dg-sandbox";
const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000aa";

fn policy(dir: &Path, gcs: Option<&Fake>, azure: Option<&Fake>) -> PathBuf {
    let mut providers = String::from("providers:\n");
    let mut targets = Vec::new();
    let mut allow = String::new();
    if let Some(fake) = gcs {
        providers += &format!(
            "  gcp:\n    - project: {PROJECT}\n      environment: sandbox\n      endpoint: {}\n",
            fake.endpoint()
        );
        targets.push("google_storage_bucket");
        allow += &format!("    gcp: [{PROJECT}]\n");
    }
    if let Some(fake) = azure {
        providers += &format!(
            "  azure:\n    - subscription: {SUBSCRIPTION}\n      environment: sandbox\n      endpoint: {}\n",
            fake.endpoint()
        );
        targets.push("azurerm_resource_group");
        allow += &format!("    azure: [\"{SUBSCRIPTION}\"]\n");
    }
    let text = format!(
        r"version: 1
dry_run: false
store:
  path: {store}
logging:
  format: json
{providers}flows:
  - name: report
    steps: [classify, plan, report]
protection:
  tags:
    - key: Environment
      values: [production]
    - key: environment
      values: [production]
  name_prefix: dg-
  caps:
    max_deletions_per_run: 10
    max_delete_percent: 100
janitor:
  enabled: true
  targets: [{targets}]
  grace_period: 0s
  phases: [api]
  revenant_check_after: 0s
  delete_allowlist:
{allow}retry:
  max_attempts: 6
  base_delay: 5ms
  max_delay: 50ms
",
        store = dir.join("state.db").display(),
        targets = targets.join(", "),
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn bucket_names(gcs: &Fake) -> Vec<String> {
    let state = gcs.admin("admin_port", "GET", "/state", None);
    let mut names: Vec<String> =
        state["buckets"].as_array().unwrap().iter().map(|b| b["bucket_id"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

#[test]
fn cloud_storage_buckets_are_marked_then_emptied_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let gcs = Fake::gcs();
    let seed = |name: &str, labels: serde_json::Value| {
        let body = serde_json::json!({"project": PROJECT, "name": name, "location": "EU", "labels": labels,
            "create_time": "2026-01-01T00:00:00Z", "versioning": true});
        gcs.admin("admin_port", "POST", "/buckets", Some(&body));
    };
    seed("dg-old", serde_json::json!({"expires-at": "2020-01-01"}));
    seed("dg-new", serde_json::json!({"expires-at": "2999-01-01"}));
    seed("dg-prod", serde_json::json!({"expires-at": "2020-01-01", "environment": "production"}));
    seed("other", serde_json::json!({"expires-at": "2020-01-01"}));
    gcs.admin(
        "admin_port",
        "POST",
        "/objects",
        Some(&serde_json::json!({"bucket": "dg-old", "name": "a.csv", "generations": 3})),
    );
    gcs.admin(
        "admin_port",
        "POST",
        "/objects",
        Some(&serde_json::json!({"bucket": "dg-old", "name": "b.csv", "generations": 1})),
    );
    let policy = policy(dir.path(), Some(&gcs), None);

    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 marked"), "{stderr}");
    let state = gcs.admin("admin_port", "GET", "/state", None);
    let old = state["buckets"].as_array().unwrap().iter().find(|b| b["bucket_id"] == "dg-old");
    let mark = old.unwrap()["labels"]["driftguard-marked-at"].as_str().unwrap().to_owned();
    assert!(mark.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "a label-safe mark: {mark}");
    assert!(events.iter().any(|e| e["event"] == "janitor.decision"
        && e["resource_id"] == "dg-prod"
        && e["reason"] == "protected by tag environment=production"));

    let mutations = gcs.admin("admin_port", "GET", "/stats", None)["mutations"].clone();
    let before = gcs.admin("admin_port", "GET", "/state", None);
    let (code, _, stderr) = janitor(dir.path(), &policy, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(gcs.admin("admin_port", "GET", "/stats", None)["mutations"], mutations, "dry-run sent a write");
    assert_eq!(gcs.admin("admin_port", "GET", "/state", None), before);

    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(bucket_names(&gcs), ["dg-new", "dg-prod", "other"], "{stderr}");
}

#[test]
fn azure_resource_groups_follow_the_long_running_delete_and_survive_throttling() {
    let dir = tempfile::tempdir().unwrap();
    let azure = Fake::azure();
    let seed = |name: &str, tags: serde_json::Value| {
        let body =
            serde_json::json!({"subscription": SUBSCRIPTION, "name": name, "location": "westeurope", "tags": tags});
        azure.admin("port", "POST", "/_fake/groups", Some(&body));
    };
    seed("dg-old-rg", serde_json::json!({"expires-at": "2020-01-01"}));
    seed("dg-stuck-rg", serde_json::json!({"expires-at": "2020-01-01", "fake-delete-fails": "true"}));
    seed("dg-new-rg", serde_json::json!({"expires-at": "2999-01-01"}));
    seed("dg-prod-rg", serde_json::json!({"expires-at": "2020-01-01", "Environment": "Production"}));
    seed("dg-ageless-rg", serde_json::json!({}));
    seed("other-rg", serde_json::json!({"expires-at": "2020-01-01"}));
    // Deleting a group deletes what it holds: a protected vault inside blocks the group.
    let body = serde_json::json!({"subscription": SUBSCRIPTION, "name": "dg-holds-rg", "location": "westeurope",
        "tags": {"expires-at": "2020-01-01"},
        "resources": [{"name": "kv-prod", "type": "Microsoft.KeyVault/vaults", "tags": {"Environment": "production"}}]});
    azure.admin("port", "POST", "/_fake/groups", Some(&body));
    let policy = policy(dir.path(), None, Some(&azure));

    azure.admin("port", "POST", "/_fake/throttle", Some(&serde_json::json!({"next": 3})));
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("3 marked"), "{stderr}");
    assert!(
        azure.admin("port", "GET", "/_fake/stats", None)["throttled"].as_u64().unwrap() >= 3,
        "throttled and retried"
    );

    let before = azure.admin("port", "GET", "/_fake/state", None);
    let mutations = azure.admin("port", "GET", "/_fake/stats", None)["mutations"].clone();
    let (code, _, stderr) = janitor(dir.path(), &policy, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(azure.admin("port", "GET", "/_fake/stats", None)["mutations"], mutations, "dry-run sent a write");
    assert_eq!(azure.admin("port", "GET", "/_fake/state", None), before);

    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 1, "the stuck group's deletion fails: {stderr}");
    let state = azure.admin("port", "GET", "/_fake/state", None);
    let mut names: Vec<&str> =
        state["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["dg-ageless-rg", "dg-holds-rg", "dg-new-rg", "dg-prod-rg", "dg-stuck-rg", "other-rg"],
        "{stderr}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "janitor.transition"
            && e["resource_id"] == "dg-holds-rg"
            && e["to_state"] == "unmarked"
            && e["reason"] == "it holds kv-prod protected by tag Environment=production"),
        "{stderr}"
    );
    let failed = events.iter().find(|e| e["event"] == "janitor.transition" && e["to_state"] == "failed").unwrap();
    assert_eq!(failed["resource_id"], "dg-stuck-rg");
    assert!(failed["reason"].as_str().unwrap().contains("ResourceGroupDeletionBlocked"), "{failed}");
    assert!(events.iter().any(|e| e["event"] == "janitor.decision"
        && e["resource_id"] == "dg-ageless-rg"
        && e["reason"] == "no expiry tag and no creation time"));
    let all = events.iter().map(ToString::to_string).collect::<String>() + &stderr;
    assert!(!all.contains("fake-arm-token-not-a-secret"), "the token reached the log");
}

#[test]
fn an_azure_deletion_whose_operation_arm_forgot_is_settled_by_the_group_itself() {
    let dir = tempfile::tempdir().unwrap();
    // Operation records expire in ARM: polling a finished deletion's Location answers 404.
    let azure = Fake::azure_with(&[("AZ_FAKE_FORGET_OPERATIONS", "1")]);
    let body = serde_json::json!({"subscription": SUBSCRIPTION, "name": "dg-old-rg", "location": "westeurope",
        "tags": {"expires-at": "2020-01-01"}});
    azure.admin("port", "POST", "/_fake/groups", Some(&body));
    let policy = policy(dir.path(), None, Some(&azure));
    let (code, _, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "a forgotten operation on a group that is gone is a deletion: {stderr}");
    assert!(events.iter().any(|e| e["to_state"] == "deleted" && e["resource_id"] == "dg-old-rg"), "{stderr}");
    assert!(azure.admin("port", "GET", "/_fake/state", None)["groups"].as_array().unwrap().is_empty());
}

/// A project the credentials cannot list (the fake knows only the projects it was given)
/// is refused for the run; the reachable project is governed as usual.
#[test]
fn a_project_the_credentials_cannot_list_is_refused_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let gcs = Fake::gcs();
    let body = serde_json::json!({"project": PROJECT, "name": "dg-old", "location": "EU",
        "labels": {"expires-at": "2020-01-01"}, "create_time": "2026-01-01T00:00:00Z"});
    gcs.admin("admin_port", "POST", "/buckets", Some(&body));
    let policy = policy(dir.path(), Some(&gcs), None);
    let text = std::fs::read_to_string(&policy).unwrap().replace(
        "  gcp:\n",
        &format!("  gcp:\n    - project: dg-typo\n      environment: sandbox\n      endpoint: {}\n", gcs.endpoint()),
    );
    std::fs::write(&policy, text.replace(&format!("gcp: [{PROJECT}]"), &format!("gcp: [{PROJECT}, dg-typo]"))).unwrap();
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 1, "a refused project fails the run: {stderr}");
    let refusal = events.iter().find(|e| e["event"] == "account.unreachable").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(refusal["account"], "dg-typo");
    assert_eq!(refusal["provider"], "gcp");
    assert_eq!(refusal["action"], "storage:ListBuckets");
    assert!(refusal["reason"].as_str().unwrap().contains("PERMISSION_DENIED"), "{refusal}");
    assert!(stderr.contains("1 marked"), "the reachable project was governed: {stderr}");
    assert!(events.iter().filter(|e| e["event"] == "cloud.mutation").all(|e| e["account"] == PROJECT));
}

/// Subscriptions are checked with `GET /subscriptions/{id}` as the credentials that will
/// act there: an unknown one, and one its service principal may not reach, are refused;
/// one reached as its own service principal (client secret, token from the fake's Entra
/// endpoint) is governed, and every call's record names that principal.
#[test]
fn each_subscription_is_verified_as_its_own_principal_before_anything_happens_there() {
    const TENANT: &str = "00000000-0000-0000-0000-0000000000e1";
    const CLIENT: &str = "00000000-0000-0000-0000-0000000000c1";
    const OWN: &str = "00000000-0000-0000-0000-0000000000bb";
    const FORBIDDEN: &str = "00000000-0000-0000-0000-0000000000cc";
    const UNKNOWN: &str = "00000000-0000-0000-0000-0000000000dd";
    let principals =
        serde_json::json!({format!("{TENANT}/{CLIENT}"): {"secret": "s3cr3t-not-logged", "subscriptions": [OWN]}});
    let azure = Fake::azure_with(&[("AZ_FAKE_PRINCIPALS", &principals.to_string())]);
    for subscription in [SUBSCRIPTION, OWN, FORBIDDEN] {
        let body = serde_json::json!({"subscription": subscription, "name": "dg-old-rg", "location": "westeurope",
            "tags": {"expires-at": "2020-01-01"}});
        azure.admin("port", "POST", "/_fake/groups", Some(&body));
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), None, Some(&azure));
    let member = |subscription: &str, principal: bool| {
        let mut text = format!(
            "    - subscription: \"{subscription}\"\n      environment: sandbox\n      endpoint: {}\n",
            azure.endpoint()
        );
        if principal {
            text += &format!(
                "      tenant_id: {TENANT}\n      client_id: {CLIENT}\n      client_secret_env: DG_TEST_AZURE_SECRET\n"
            );
        }
        text
    };
    let text = std::fs::read_to_string(&policy).unwrap().replace(
        "  azure:\n",
        &format!("  azure:\n{}{}{}", member(OWN, true), member(FORBIDDEN, true), member(UNKNOWN, false)),
    );
    let text = text.replace(
        &format!("azure: [\"{SUBSCRIPTION}\"]"),
        &format!("azure: [\"{SUBSCRIPTION}\", \"{OWN}\", \"{FORBIDDEN}\", \"{UNKNOWN}\"]"),
    );
    std::fs::write(&policy, text).unwrap();
    let (code, events, stderr) = run_janitor_with_secret(dir.path(), &policy, &azure.endpoint());
    assert_eq!(code, 1, "{stderr}");
    let refused: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "account.unreachable")
        .map(|e| (e["account"].as_str().unwrap().to_owned(), e["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    assert!(refused.iter().any(|(s, r)| s == FORBIDDEN && r.contains("AuthorizationFailed")), "{refused:#?}");
    assert!(refused.iter().any(|(s, r)| s == UNKNOWN && r.contains("SubscriptionNotFound")), "{refused:#?}");
    let marks: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "cloud.mutation" && e["action"] == "tag:mark").collect();
    let mut marked: Vec<&str> = marks.iter().map(|e| e["account"].as_str().unwrap()).collect();
    marked.sort_unstable();
    assert_eq!(marked, [SUBSCRIPTION, OWN], "{stderr}");
    let own = marks.iter().find(|e| e["account"] == OWN).unwrap();
    assert_eq!(own["principal"], CLIENT, "the call names the service principal that made it");
    let all = events.iter().map(ToString::to_string).collect::<String>() + &stderr;
    assert!(!all.contains("s3cr3t-not-logged"), "the client secret reached the log");
    // Nothing was written in the refused subscriptions.
    let state = azure.admin("port", "GET", "/_fake/state", None);
    for group in state["groups"].as_array().unwrap() {
        if group["subscription"] == FORBIDDEN {
            assert!(group["tags"].get("driftguard-marked-at").is_none(), "{group}");
        }
    }
}

/// `janitor --once` with the service principal's secret and the fake as Entra's authority.
fn run_janitor_with_secret(dir: &Path, policy: &Path, authority: &str) -> (i32, Vec<serde_json::Value>, String) {
    common::run_json(
        common::emulated(dir)
            .args(["janitor", "--once", "--policy"])
            .arg(policy)
            .env("DG_TEST_AZURE_SECRET", "s3cr3t-not-logged")
            .env("AZURE_AUTHORITY_HOST", authority),
    )
}

/// The fakes hold to what their doc comments say (the projects and subscriptions they know
/// included): their own self-tests, run against fresh fake processes.
#[test]
fn the_fakes_pass_their_own_self_tests() {
    for script in ["gcs_fake_selftest.py", "azure_arm_fake_selftest.py"] {
        let output = std::process::Command::new(common::moto::emulator_python())
            .arg(common::root().join("tests/support").join(script))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{script}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
