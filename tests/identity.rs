//! Accounts are identities, against a real AWS emulator: one moto server hosting a hub
//! account (the base credentials, 123456789012) and member accounts reached by
//! `sts:AssumeRole` (moto places calls made with assumed-role credentials in the role's
//! account). Every job verifies each account with `sts:GetCallerIdentity` before any other
//! call there; a policy account whose credentials reach another account is refused for the
//! whole job, whatever the allowlist says.

mod common;

use std::path::{Path, PathBuf};

use common::moto::Moto;
use common::{emulated, janitor, run_json};

const GOOD: &str = "111111111111";
const NOT_ALLOWED: &str = "222222222222";
/// The label of the mislabelled account: its role lives in [`REAL`].
const LABEL: &str = "333333333333";
const REAL: &str = "444444444444";

fn account(id: &str, role_account: &str, endpoint: &str) -> String {
    common::member_account(id, role_account, endpoint, "dg-janitor")
}

fn policy(dir: &Path, endpoint: &str, accounts: &[(&str, &str)], allow: &[&str], extra: &str) -> PathBuf {
    let providers: String = accounts.iter().map(|(id, role)| account(id, role, endpoint)).collect();
    common::janitor_accounts_policy(dir, "policy", &providers, allow, extra)
}

fn snapshot(moto: &Moto, accounts: &[&str]) -> serde_json::Value {
    let mut args = vec!["snapshot"];
    args.extend_from_slice(accounts);
    serde_json::from_str(&moto.accounts_fixture(&args)).unwrap()
}

fn live(snapshot: &serde_json::Value, account: &str) -> (Vec<String>, Vec<String>) {
    let buckets = snapshot[account]["buckets"].as_object().unwrap().keys().cloned().collect();
    let instances = snapshot[account]["instances"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, i)| i["state"] != "terminated")
        .map(|(name, _)| name.clone())
        .collect();
    (buckets, instances)
}

fn marked(snapshot: &serde_json::Value, account: &str) -> usize {
    let buckets = snapshot[account]["buckets"].as_object().unwrap().values();
    let instances = snapshot[account]["instances"].as_object().unwrap().values().map(|i| &i["tags"]);
    buckets.chain(instances).filter(|tags| tags.get("driftguard-marked-at").is_some()).count()
}

#[test]
fn the_janitor_deletes_only_in_verified_allowlisted_accounts_and_refuses_a_mislabelled_one() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.accounts_fixture(&["seed", GOOD, NOT_ALLOWED, REAL]);
    // The mislabelled account is allowlisted too: the label alone must never be enough.
    let policy = policy(
        dir.path(),
        &moto.endpoint,
        &[(GOOD, GOOD), (NOT_ALLOWED, NOT_ALLOWED), (LABEL, REAL)],
        &[GOOD, LABEL],
        "",
    );
    let before = snapshot(&moto, &[REAL]);

    // Run 1 marks; run 2 (grace 0s) deletes. Both refuse the mislabelled account: exit 1.
    for run in 0..2 {
        let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
        assert_eq!(code, 1, "run {run}: a refused account fails the run: {stderr}");
        let refusals: Vec<&serde_json::Value> =
            events.iter().filter(|e| e["event"] == "account.identity_mismatch").collect();
        assert_eq!(refusals.len(), 1, "run {run}: {stderr}");
        let refusal = refusals[0];
        assert_eq!(refusal["account"], LABEL);
        assert_eq!(refusal["actual_account"], REAL);
        assert_eq!(refusal["principal"], format!("arn:aws:sts::{REAL}:assumed-role/driftguard/dg-janitor"));
        assert_eq!(refusal["outcome"], "blocked");
        assert_eq!(refusal["action"], "sts:GetCallerIdentity");
        assert!(refusal["reason"].as_str().unwrap().contains("nothing is listed, compared or changed"), "{refusal}");
        // Nothing of the refused account appears in any other record.
        for event in &events {
            if event["event"] != "account.identity_mismatch" {
                assert_ne!(event["account"], LABEL, "run {run}: the refused account was touched: {event}");
                assert_ne!(event["account"], REAL, "run {run}: {event}");
            }
        }
        assert!(stderr.contains(&format!("refused   AWS account {LABEL}: the credentials reach {REAL}")), "{stderr}");
        // Every call's record names who made it: the assumed role of the verified account.
        for mutation in events.iter().filter(|e| e["event"] == "cloud.mutation") {
            assert_eq!(mutation["account"], GOOD, "{mutation}");
            assert_eq!(mutation["principal"], format!("arn:aws:sts::{GOOD}:assumed-role/driftguard/dg-janitor"));
        }
        // Not allowlisted: blocked with its reason, never marked.
        assert!(
            events.iter().any(|e| e["event"] == "janitor.decision"
                && e["account"] == NOT_ALLOWED
                && e["reason"] == "account not in janitor.delete_allowlist"),
            "{stderr}"
        );
    }
    let after = snapshot(&moto, &[GOOD, NOT_ALLOWED, REAL]);
    assert_eq!(live(&after, GOOD), (vec![format!("dg-new-{GOOD}")], vec![]), "the verified account was cleaned");
    let untouched = (
        vec![format!("dg-new-{NOT_ALLOWED}"), format!("dg-old-{NOT_ALLOWED}")],
        vec![format!("dg-old-vm-{NOT_ALLOWED}")],
    );
    assert_eq!(live(&after, NOT_ALLOWED), untouched);
    assert_eq!(marked(&after, NOT_ALLOWED), 0);
    assert_eq!(after[REAL], before[REAL], "the refused account is exactly as it was: no mark, no deletion");
    assert_eq!(marked(&after, REAL), 0);
}

#[test]
fn detect_places_every_bucket_in_the_account_whose_credentials_listed_it() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.accounts_fixture(&["seed", GOOD, NOT_ALLOWED, REAL]);
    // Two states, one per account. Bucket ARNs name no account; state A also holds a role
    // whose ARN does (so its missing bucket belongs to GOOD), state B nothing else.
    let bucket = |name: &str| {
        let expires = if name.starts_with("dg-old") { "2020-01-01" } else { "2999-01-01" };
        serde_json::json!({"mode": "managed", "type": "aws_s3_bucket", "name": name.replace('-', "_"),
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": name, "bucket": name,
                "arn": format!("arn:aws:s3:::{name}"), "tags": {"expires-at": expires}}}]})
    };
    let state = |resources: Vec<serde_json::Value>, lineage: &str| {
        serde_json::json!({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": lineage,
            "outputs": {}, "resources": resources})
    };
    let role = serde_json::json!({"mode": "managed", "type": "aws_iam_role", "name": "app",
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"id": "driftguard", "name": "driftguard",
            "arn": format!("arn:aws:iam::{GOOD}:role/driftguard"), "max_session_duration": 3600,
            "assume_role_policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringEquals\":{\"sts:ExternalId\":\"dg-external\"}}}]}"}}]});
    let a = dir.path().join("a.tfstate");
    let b = dir.path().join("b.tfstate");
    let declared_a =
        vec![bucket(&format!("dg-old-{GOOD}")), bucket(&format!("dg-new-{GOOD}")), bucket("dg-gone-a"), role];
    std::fs::write(&a, state(declared_a, "a").to_string()).unwrap();
    let declared_b = vec![bucket(&format!("dg-old-{NOT_ALLOWED}")), bucket(&format!("dg-new-{NOT_ALLOWED}"))];
    std::fs::write(&b, state(declared_b, "b").to_string()).unwrap();
    let extra = format!(
        "terraform:\n  states:\n    - name: a\n      backend: local\n      paths: [\"{}\"]\n    - name: b\n      backend: local\n      paths: [\"{}\"]\ndetection:\n  unmanaged:\n    resource_types: [aws_s3_bucket]\n",
        a.display(),
        b.display()
    );
    let two = policy(dir.path(), &moto.endpoint, &[(GOOD, GOOD), (NOT_ALLOWED, NOT_ALLOWED)], &[GOOD], &extra);
    let report = dir.path().join("report.json");
    let (code, events, stderr) =
        run_json(emulated(dir.path()).args(["detect", "--once", "--policy"]).arg(&two).arg("--report").arg(&report));
    assert_eq!(code, 2, "one bucket is missing: {stderr}");
    let findings: Vec<(String, String, String)> =
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&report).unwrap()).unwrap()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["resource_type"] == "aws_s3_bucket")
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_owned(),
                    f["account"].as_str().unwrap().to_owned(),
                    f["resource_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
    assert_eq!(
        findings,
        [("missing".to_owned(), GOOD.to_owned(), "dg-gone-a".to_owned())],
        "no false missing or unmanaged: every bucket is compared in its own account: {stderr}"
    );
    assert!(events.iter().all(|e| e["event"] != "account.identity_mismatch"), "{stderr}");

    // The mislabelled account joins: refused, its buckets neither compared nor reported.
    let three =
        policy(dir.path(), &moto.endpoint, &[(GOOD, GOOD), (NOT_ALLOWED, NOT_ALLOWED), (LABEL, REAL)], &[GOOD], &extra);
    let (code, events, stderr) =
        run_json(emulated(dir.path()).args(["detect", "--once", "--policy"]).arg(&three).arg("--report").arg(&report));
    assert_eq!(code, 1, "a refused account fails the run: {stderr}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["refused_accounts"][0]["account"], LABEL, "{written}");
    assert_eq!(written["refused_accounts"][0]["kind"], "identity_mismatch");
    assert!(
        written["findings"].as_array().unwrap().iter().all(|f| f["account"] != LABEL && f["account"] != REAL),
        "{written}"
    );
    assert_eq!(events.iter().filter(|e| e["event"] == "account.identity_mismatch").count(), 1, "{stderr}");
    // The store's record of the runs says what the exit code and the audit log say.
    let store = rusqlite::Connection::open(dir.path().join("policy.db")).unwrap();
    let statuses: Vec<String> = store
        .prepare("SELECT status FROM runs ORDER BY started_at")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(statuses, ["succeeded", "failed"]);
}

#[test]
fn an_unreachable_account_is_refused_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.accounts_fixture(&["seed", GOOD]);
    // NOT_ALLOWED's endpoint answers nothing (a closed port): its identity cannot be had.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let providers = account(GOOD, GOOD, &moto.endpoint) + &account(NOT_ALLOWED, NOT_ALLOWED, &dead);
    let policy = policy(dir.path(), &moto.endpoint, &[(GOOD, GOOD)], &[GOOD, NOT_ALLOWED], "");
    let text = std::fs::read_to_string(&policy).unwrap().replace(&account(GOOD, GOOD, &moto.endpoint), &providers);
    std::fs::write(&policy, text).unwrap();
    let (code, events, stderr) = janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 1, "{stderr}");
    let refusal = events.iter().find(|e| e["event"] == "account.unreachable").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(refusal["account"], NOT_ALLOWED);
    assert_eq!(refusal["outcome"], "failed");
    assert!(
        refusal["reason"].as_str().unwrap().starts_with(&format!("AWS account {NOT_ALLOWED} could not be verified"))
    );
    // The reachable account was governed as usual.
    assert_eq!(marked(&snapshot(&moto, &[GOOD]), GOOD), 2, "{stderr}");
    assert!(events.iter().filter(|e| e["event"] == "cloud.mutation").all(|e| e["account"] == GOOD), "{stderr}");
}

/// Short-lived base credentials from the standard chain: a web identity (OIDC) token, as
/// on EKS or in GitHub Actions, gives the hub's credentials (moto's
/// `AssumeRoleWithWebIdentity` accepts any token), and the member account is reached from
/// them through its role. The STS endpoint of the token exchange is the emulator
/// (`AWS_ENDPOINT_URL_STS`); on AWS it needs no setting.
#[test]
fn web_identity_base_credentials_reach_a_member_account_through_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.accounts_fixture(&["seed", GOOD]);
    let token = dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmEifQ.").unwrap();
    let policy = policy(dir.path(), &moto.endpoint, &[(GOOD, GOOD)], &[GOOD], "");
    let (code, events, stderr) = run_json(
        emulated(dir.path())
            .args(["janitor", "--once", "--dry-run", "--policy"])
            .arg(&policy)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci")
            .env("AWS_ROLE_SESSION_NAME", "github-actions")
            .env("AWS_ENDPOINT_URL_STS", &moto.endpoint),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!events.iter().any(|e| e["event"].as_str().is_some_and(|n| n.starts_with("account."))), "{stderr}");
    let would = events.iter().filter(|e| e["event"] == "cloud.mutation" && e["outcome"] == "simulated").count();
    assert_eq!(would, 2, "the member's expired bucket and instance would be marked: {stderr}");
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "cloud.mutation")
            .all(|e| e["principal"] == format!("arn:aws:sts::{GOOD}:assumed-role/driftguard/dg-janitor"))
    );
}
