//! `driftguard detect` against a real AWS emulator (moto on 127.0.0.1): a Terraform state
//! shaped as Terraform writes it, live resources of every supported type, drift applied
//! outside Terraform, and the exact findings, remediation and dry-run behaviour checked.

mod common;

use std::path::Path;

use common::moto::Moto;
use common::run;

fn policy(dir: &Path, endpoint: &str, dry_run: bool) -> std::path::PathBuf {
    policy_with(dir, endpoint, dry_run, "")
}

fn policy_with(dir: &Path, endpoint: &str, dry_run: bool, extra: &str) -> std::path::PathBuf {
    let governance = common::sandbox_autofix();
    let text = format!(
        r"{head}{governance}protection:
  tags:
    - key: Environment
      values: [production]
retry:
  max_attempts: 8
  base_delay: 5ms
  max_delay: 100ms
{extra}",
        head = common::policy_head(dry_run, &dir.join("state.db"), endpoint, None),
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn detect(dir: &Path, policy: &Path, state: &Path) -> (i32, serde_json::Value, String, String) {
    detect_with(dir, policy, &["--state", state.to_str().unwrap()])
}

fn detect_with(dir: &Path, policy: &Path, extra: &[&str]) -> (i32, serde_json::Value, String, String) {
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let (code, stdout, stderr) = run(common::emulated(dir)
        .args(["detect", "--once", "--policy"])
        .arg(policy)
        .args(extra)
        .arg("--report")
        .arg(&report));
    let report =
        std::fs::read_to_string(&report).map_or(serde_json::Value::Null, |t| serde_json::from_str(&t).unwrap());
    (code, report, stdout, stderr)
}

/// (resource_type, attribute, kind, severity, state) of each finding, sorted.
fn summary(report: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    let mut rows: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |key: &str| f[key].as_str().unwrap_or("-").to_owned();
            (s("resource_type"), s("attribute"), s("kind"), s("severity"), s("state"))
        })
        .collect();
    rows.sort();
    rows
}

fn row(t: &str, a: &str, k: &str, s: &str, st: &str) -> (String, String, String, String, String) {
    (t.into(), a.into(), k.into(), s.into(), st.into())
}

/// The findings after `aws_fixture.py mutate`, one per change, with `fixable_state` for
/// those DriftGuard can fix (the rest are escalated).
fn every_finding(fixable_state: &str) -> Vec<(String, String, String, String, String)> {
    let f = fixable_state;
    vec![
        row("aws_db_instance", "backup_retention_period", "modified", "medium", f),
        row("aws_db_instance", "deletion_protection", "modified", "medium", f),
        row("aws_db_instance", "publicly_accessible", "modified", "critical", f),
        row("aws_iam_policy", "policy", "modified", "high", f),
        row("aws_iam_role", "assume_role_policy", "modified", "high", f),
        row("aws_iam_role", "max_session_duration", "modified", "low", f),
        row("aws_instance", "disable_api_termination", "modified", "low", f),
        row("aws_instance", "instance_type", "modified", "medium", "escalated"),
        row("aws_instance", "metadata_options.http_tokens", "modified", "high", f),
        row("aws_s3_bucket", "-", "unmanaged", "low", "escalated"),
        row("aws_s3_bucket_public_access_block", "block_public_acls", "modified", "critical", f),
        row("aws_s3_bucket_server_side_encryption_configuration", "rule.sse_algorithm", "modified", "critical", f),
        row("aws_s3_bucket_versioning", "versioning_configuration.status", "modified", "high", f),
        row("aws_security_group", "ingress", "modified", "critical", f),
        row("aws_security_group", "tags.Team", "modified", "low", f),
        row("aws_vpc_security_group_ingress_rule", "-", "missing", "medium", "escalated"),
    ]
}

fn seeded(dir: &Path) -> (Moto, std::path::PathBuf, serde_json::Value) {
    let moto = Moto::start(0.0);
    let state = dir.join("terraform.tfstate");
    let ids: serde_json::Value = serde_json::from_str(&moto.fixture(&["seed", state.to_str().unwrap()])).unwrap();
    (moto, state, ids)
}

#[test]
fn no_drift_right_after_apply_then_every_kind_after_changes_outside_terraform() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, ids) = seeded(dir.path());
    let policy = policy(dir.path(), &moto.endpoint, true);

    let (code, report, _, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary(&report), vec![], "{stderr}");

    moto.fixture(&["mutate", &ids.to_string()]);
    let (code, report, stdout, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&report), every_finding("dry_run"), "{stderr}");
    let ingress = report["findings"].as_array().unwrap().iter().find(|f| f["attribute"] == "ingress").unwrap();
    assert_eq!(ingress["actual"], "tcp 22-22 from 0.0.0.0/0");
    assert_eq!(ingress["address"], "module.network.aws_security_group.web");
    assert_eq!(ingress["controls"], serde_json::json!(["CIS-AWS-5.2", "CIS-AWS-5.3"]));
    assert_eq!(ingress["actions"][0]["api"], "ec2:RevokeSecurityGroupIngress");
    let simulated = stdout.lines().filter(|l| l.contains("\"cloud.mutation\"") && l.contains("\"simulated\"")).count();
    assert_eq!(simulated, 13, "one simulated call per fixable finding");
    let rule = report["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "missing").unwrap();
    assert_eq!(rule["address"], "module.network.aws_vpc_security_group_ingress_rule.postgres");
    assert_eq!(rule["resource_id"], ids["rule"]);
}

#[test]
fn dry_run_leaves_the_emulator_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, ids) = seeded(dir.path());
    moto.fixture(&["mutate", &ids.to_string()]);
    let policy = policy(dir.path(), &moto.endpoint, false);
    let before = moto.fixture(&["snapshot"]);
    let mutations_before = moto.stats()["mutations"].clone();
    // The policy would remediate; --dry-run must win.
    let (code, _, _, stderr) = detect_with(dir.path(), &policy, &["--dry-run", "--state", state.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(moto.stats()["mutations"], mutations_before, "dry-run sent a write");
    assert_eq!(moto.fixture(&["snapshot"]), before, "dry-run changed the emulator");
}

#[test]
fn remediation_restores_the_declared_state_and_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, ids) = seeded(dir.path());
    moto.fixture(&["mutate", &ids.to_string()]);
    let policy = policy(dir.path(), &moto.endpoint, false);
    let (code, report, stdout, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&report), every_finding("remediated"), "{stderr}\n{stdout}");
    let succeeded = stdout.lines().filter(|l| l.contains("\"cloud.mutation\"") && l.contains("\"succeeded\"")).count();
    assert_eq!(succeeded, 13);
    // Every call's record names who made it: the caller the job verified.
    for line in stdout.lines().filter(|l| l.contains("\"cloud.mutation\"")) {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["principal"], "arn:aws:sts::123456789012:user/moto", "{record}");
    }
    // The cloud really is back: a second run finds only what cannot be fixed automatically.
    let (code, report, _, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        summary(&report),
        vec![
            row("aws_instance", "instance_type", "modified", "medium", "escalated"),
            row("aws_s3_bucket", "-", "unmanaged", "low", "escalated"),
            row("aws_vpc_security_group_ingress_rule", "-", "missing", "medium", "escalated"),
        ]
    );
    let snapshot: serde_json::Value = serde_json::from_str(&moto.fixture(&["snapshot"])).unwrap();
    let bucket = snapshot["buckets"].as_array().unwrap().iter().find(|b| b["name"] == "dg-data-bucket").unwrap();
    assert_eq!(bucket["versioning"], "Enabled");
    assert_eq!(bucket["block"]["BlockPublicAcls"], true);
    assert_eq!(bucket["encryption"], "AES256");
    let db = &snapshot["databases"][0];
    assert_eq!(
        (&db["PubliclyAccessible"], &db["DeletionProtection"], &db["BackupRetentionPeriod"]),
        (&false.into(), &false.into(), &7.into())
    );
    let instance = &snapshot["instances"][0];
    assert_eq!(instance["MetadataOptions"]["HttpTokens"], "required");
    assert_eq!(instance["DisableApiTermination"], false);
    let role = snapshot["roles"].as_array().unwrap().iter().find(|r| r["RoleName"] == "dg-app").unwrap();
    assert_eq!(role["MaxSessionDuration"], 3600);
    assert_eq!(
        snapshot["policy_documents"]["dg-read"]["Statement"][0]["Action"],
        serde_json::json!(["s3:GetObject", "s3:ListBucket"])
    );
}

#[test]
fn a_resource_deleted_during_remediation_is_reported_missing_in_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    // Someone deletes the database between DriftGuard's collection and its first fix.
    let (moto, state, ids) = seeded(dir.path());
    moto.fixture(&["mutate", &ids.to_string()]);
    moto.vanish_on("ModifyDBInstance");
    let policy = policy(dir.path(), &moto.endpoint, false);
    let (code, report, stdout, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(moto.stats()["vanished ModifyDBInstance"], 1);
    let database: Vec<_> = summary(&report).into_iter().filter(|r| r.0 == "aws_db_instance").collect();
    assert_eq!(
        database,
        vec![
            row("aws_db_instance", "-", "missing", "medium", "escalated"),
            row("aws_db_instance", "backup_retention_period", "modified", "medium", "resolved"),
            row("aws_db_instance", "deletion_protection", "modified", "medium", "resolved"),
            row("aws_db_instance", "publicly_accessible", "modified", "critical", "resolved"),
        ],
        "{stderr}"
    );
    let not_found = stdout
        .lines()
        .filter(|l| l.contains("\"cloud.mutation\"") && l.contains("\"failed\"") && l.contains("target not found"))
        .count();
    assert!(not_found >= 1, "the NotFound is audited: {stdout}");
    // The other findings were fixed as usual.
    let others: Vec<_> =
        summary(&report).into_iter().filter(|r| r.0 != "aws_db_instance" && r.4 == "remediated").collect();
    assert_eq!(others.len(), 10, "{others:#?}");
}

#[test]
fn buckets_are_scanned_in_the_policy_regions_only() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let path = policy(dir.path(), &moto.endpoint, true);
    // us-east-1 only (as seeded): the eu-west-1 bucket is out of scope, as the first test shows.
    // With eu-west-1 in scope it is seen, read through its own region, and unmanaged.
    let text =
        std::fs::read_to_string(&path).unwrap().replace("regions: [us-east-1]", "regions: [us-east-1, eu-west-1]");
    std::fs::write(&path, text).unwrap();
    let (code, report, _, stderr) = detect(dir.path(), &path, &state);
    assert_eq!(code, 2, "{stderr}");
    let found: Vec<_> =
        report["findings"].as_array().unwrap().iter().map(|f| f["resource_id"].as_str().unwrap()).collect();
    assert_eq!(found, vec!["dg-eu-bucket"], "{stderr}");
}

#[test]
fn throttling_and_server_errors_are_retried_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    // Seed without faults, then detect through a server failing 30% of calls.
    let clean = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    let ids = clean.fixture(&["seed", state.to_str().unwrap()]);
    clean.fixture(&["mutate", ids.trim()]);
    let policy_clean = policy(dir.path(), &clean.endpoint, true);
    let (code, expected, _, stderr) = detect(dir.path(), &policy_clean, &state);
    assert_eq!(code, 2, "{stderr}");
    drop(clean);

    let faulty_dir = tempfile::tempdir().unwrap();
    let faulty = Moto::start(0.3);
    // Seeding goes through the faulty layer too; boto3 retries it on its own.
    let state2 = faulty_dir.path().join("terraform.tfstate");
    let ids2 = faulty.fixture(&["seed", state2.to_str().unwrap()]);
    faulty.fixture(&["mutate", ids2.trim()]);
    let policy_faulty = policy(faulty_dir.path(), &faulty.endpoint, true);
    let (code, got, stdout, stderr) = detect(faulty_dir.path(), &policy_faulty, &state2);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&got), summary(&expected));
    let injected = faulty.injected_faults();
    assert!(injected > 5, "faults were injected: {injected}");
    assert!(stdout.contains("\"cloud.call.retry\""), "retries are logged");
}

#[test]
fn state_from_the_s3_backend_and_a_resource_deleted_outside_terraform_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, ids) = seeded(dir.path());
    moto.fixture(&["upload", "dg-tfstate", "prod/terraform.tfstate", state.to_str().unwrap()]);
    moto.fixture(&["delete-policy", ids["policy"].as_str().unwrap()]);
    let extra = "terraform:\n  states:\n    - name: prod\n      backend: s3\n      bucket: dg-tfstate\n      key: prod/terraform.tfstate\n      region: us-east-1\ndetection:\n  unmanaged:\n    exclude_names: [default, dg-tfstate]\n";
    let policy = policy_with(dir.path(), &moto.endpoint, true, extra);
    let (code, report, _, stderr) = detect_with(dir.path(), &policy, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&report), vec![row("aws_iam_policy", "-", "missing", "medium", "escalated")], "{stderr}");
    assert!(stderr.contains("from 1 state file(s)"), "{stderr}");
}

/// Types DriftGuard does not compare yet are reported, never dropped: counted per type in
/// the report's `unsupported` section, named on stderr, and in one `state.unsupported`
/// audit record per run; the supported ones are compared as ever.
#[test]
fn types_not_compared_are_reported_in_the_report_the_log_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    let mut document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    for (kind, name) in [("aws_lambda_function", "a"), ("aws_lambda_function", "b"), ("aws_sqs_queue", "q")] {
        document["resources"].as_array_mut().unwrap().push(serde_json::json!({
            "mode": "managed", "type": kind, "name": name,
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": name, "arn": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")}}]
        }));
    }
    std::fs::write(&state, document.to_string()).unwrap();
    let policy = policy(dir.path(), &moto.endpoint, true);
    let (code, report, stdout, stderr) = detect(dir.path(), &policy, &state);
    assert_eq!(code, 0, "no drift in what is compared: {stderr}");
    assert_eq!(report["unsupported"], serde_json::json!({"aws_lambda_function": 2, "aws_sqs_queue": 1}));
    assert!(
        stderr
            .contains("not compared (types DriftGuard does not know yet): aws_lambda_function (2), aws_sqs_queue (1)"),
        "{stderr}"
    );
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["event"] == "state.unsupported")
        .collect();
    assert_eq!(records.len(), 1, "{stdout}");
    assert_eq!(records[0]["reason"], "aws_lambda_function: 2, aws_sqs_queue: 1");
}

/// Reads follow the states: a resource no state declares costs the listing it is on, not
/// reads of its own. Ten more buckets, instances and roles outside Terraform change no
/// per-resource count (bucket tags come from the Resource Groups Tagging API, role tags
/// from `GetAccountAuthorizationDetails`, bucket regions from `ListBuckets` filtered by
/// region), and they are still reported unmanaged.
#[test]
fn undeclared_resources_cost_listings_not_reads_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let (moto, state, _) = seeded(dir.path());
    // What the bulk reads bring is used: a tag excludes resources from the unmanaged report.
    let exclude = "detection:\n  unmanaged:\n    enabled: true\n    resource_types: [aws_instance, aws_s3_bucket, aws_iam_role]\n    exclude_tags:\n      expires-at: \"2020-01-01\"\n";
    let path = policy_with(dir.path(), &moto.endpoint, true, exclude);
    let calls = |from: &serde_json::Value, to: &serde_json::Value, operation: &str| {
        let key = format!("call {operation}");
        to[&key].as_u64().unwrap_or(0) - from[&key].as_u64().unwrap_or(0)
    };
    let start = moto.stats();
    let (code, _, _, stderr) = detect(dir.path(), &path, &state);
    assert_eq!(code, 0, "{stderr}");
    let first = moto.stats();
    moto.janitor_fixture(&["create-fleet", "extra", "10", "0"]);
    moto.janitor_fixture(&["create-roles", "extra-role", "10", "5"]);
    let seeded = moto.stats();
    let (code, report, _, stderr) = detect(dir.path(), &path, &state);
    assert_eq!(code, 2, "{stderr}");
    let second = moto.stats();
    for operation in [
        "s3 GET location",
        "s3 GET tagging",
        "s3 GET versioning",
        "iam GetRole",
        "iam ListAttachedRolePolicies",
        "iam ListRolePolicies",
        "ec2 DescribeInstanceAttribute",
    ] {
        assert_eq!(
            calls(&start, &first, operation),
            calls(&seeded, &second, operation),
            "{operation}: {first:#} then {second:#}"
        );
    }
    assert_eq!(calls(&start, &second, "s3 GET location"), 0);
    let unmanaged: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unmanaged")
        .filter_map(|f| f["resource_id"].as_str())
        .collect();
    // Buckets, instances and the first five roles carry expires-at 2020-01-01: excluded.
    let extra: Vec<&str> = unmanaged.iter().copied().filter(|id| id.starts_with("extra")).collect();
    assert_eq!(extra, ["extra-role-05", "extra-role-06", "extra-role-07", "extra-role-08", "extra-role-09"]);
    let instances =
        report["findings"].as_array().unwrap().iter().filter(|f| f["resource_type"] == "aws_instance").count();
    assert_eq!(instances, 0, "{stderr}");
}
