//! Helpers for the binary's integration tests: run `driftguard` in a private temp dir with
//! a clean `DRIFTGUARD_*` environment, so tests run in parallel without touching each other.

#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_driftguard");

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command for the binary, with every inherited `DRIFTGUARD_*` variable removed.
pub fn driftguard(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("DRIFTGUARD_") {
            command.env_remove(key);
        }
    }
    command.env("DRIFTGUARD_LOG_FORMAT", "json");
    command
}

/// A command for the binary with test credentials for the local emulators, never real
/// ones: no AWS profile, no instance metadata, no endpoint from the caller's environment.
pub fn emulated(dir: &Path) -> Command {
    let mut command = driftguard(dir);
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AZURE_ACCESS_TOKEN", "fake-arm-token-not-a-secret")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    command
}

/// Runs and returns (exit code, the JSON lines on stdout, stderr).
pub fn run_json(command: &mut Command) -> (i32, Vec<serde_json::Value>, String) {
    let (code, stdout, stderr) = run(command);
    (code, stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect(), stderr)
}

/// Runs and returns (exit code, stdout, stderr).
pub fn run(command: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = command.output().expect("run driftguard");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A policy for tests: the local-emulator example with its store moved into `dir`.
pub fn test_policy(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/local-emulator.yaml")).unwrap();
    let store = dir.join("state.db");
    let text = text.replace("./target/driftguard-demo/state.db", &store.display().to_string());
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The default policy's classification rules and flows that remediate every sandbox
/// finding (then verify, else escalate): the drift tests' governance, as policy YAML.
pub fn sandbox_autofix() -> String {
    let default = std::fs::read_to_string(root().join("policy.yaml")).unwrap();
    let classification =
        &default[default.find("\nclassification:").unwrap()..default.find("\n# The path each finding").unwrap()];
    format!(
        r"{classification}
flows:
  - name: sandbox-autofix
    match:
      environment: [sandbox]
    steps: [classify, plan, remediate, verify, escalate]
  - name: report
    steps: [classify, plan, report]
remediation:
  verify_after: 0s
  allow:
    - environment: [sandbox]
      severity: [info, low, medium, high, critical]
"
    )
}

/// Replaces the emulator's random resource ids (`i-0a1b…`, `sg-…`, `sgr-…`, ...) by their
/// prefix, so that two emulators seeded alike compare equal.
pub fn mask_ids(text: &str) -> String {
    const PREFIXES: [&str; 9] = ["i-", "sg-", "sgr-", "vpc-", "subnet-", "eni-", "ami-", "r-", "vol-"];
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'scan: while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if boundary {
            for prefix in PREFIXES {
                if text[i..].starts_with(prefix) {
                    let rest = &bytes[i + prefix.len()..];
                    let hex = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                    if hex >= 8 {
                        out.push_str(prefix);
                        out.push('*');
                        i += prefix.len() + hex;
                        continue 'scan;
                    }
                }
            }
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Fields an emulator draws at random or from the clock (ids, times, addresses, tokens,
/// the janitor's mark time): not part of what a run must reproduce.
const VOLATILE: [&str; 14] = [
    "Time",
    "Date",
    "Token",
    "Ip",
    "DnsName",
    "AttachmentId",
    "MacAddress",
    "RoleId",
    "PolicyId",
    "marked-at",
    "VersionId",
    "Dbi",
    "ResourceId",
    "Address",
];

/// A JSON document as sorted `path = value` lines with ids masked and volatile fields
/// left out: equal for two emulators that hold the same resources in the same state.
pub fn cloud_lines(json: &serde_json::Value) -> Vec<String> {
    fn walk(path: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        let last = path.rsplit('/').next().unwrap_or_default();
        if VOLATILE.iter().any(|v| last.contains(v)) {
            return;
        }
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    walk(&format!("{path}/{}", mask_ids(key)), value, out);
                }
            }
            serde_json::Value::Array(items) => {
                for value in items {
                    walk(&format!("{path}[]"), value, out);
                }
            }
            leaf => out.push(format!("{path} = {}", mask_ids(&leaf.to_string()))),
        }
    }
    let mut out = Vec::new();
    walk("", json, &mut out);
    out.sort();
    out
}

/// Asserts two sorted line lists are equal, printing only the lines that differ.
pub fn assert_same_lines(got: &[String], want: &[String], what: &str) {
    let only_got: Vec<&String> = got.iter().filter(|l| !want.contains(l)).collect();
    let only_want: Vec<&String> = want.iter().filter(|l| !got.contains(l)).collect();
    assert!(
        got == want,
        "{what}: {} vs {} lines\nonly here: {only_got:#?}\nonly in the reference: {only_want:#?}",
        got.len(),
        want.len()
    );
}

/// The first keys of the test policies: version, `dry_run`, the store at `store`, JSON
/// logs, the one emulated AWS account (sandbox, us-east-1) at `endpoint`, and the local
/// Terraform state `(name, path)` if given.
#[allow(dead_code)]
pub fn policy_head(dry_run: bool, store: &Path, endpoint: &str, state: Option<(&str, &Path)>) -> String {
    let terraform = state.map_or_else(String::new, |(name, path)| {
        format!(
            "terraform:\n  states:\n    - name: {name}\n      backend: local\n      paths: [\"{}\"]\n",
            path.display()
        )
    });
    format!(
        r#"version: 1
dry_run: {dry_run}
store:
  path: {store}
logging:
  format: json
providers:
  aws:
    - account: "123456789012"
      environment: sandbox
      regions: [us-east-1]
      endpoint: {endpoint}
{terraform}"#,
        store = store.display()
    )
}

/// A policy that remediates every sandbox finding and janitors every AWS type, against
/// one emulated account, with its own store `NAME.db` and file `NAME.yaml` in `dir`; the
/// state at `state` is what Terraform manages. `attempts`: retry.max_attempts.
pub fn acting_policy(dir: &Path, name: &str, endpoint: &str, state: &Path, attempts: u32) -> PathBuf {
    let governance = sandbox_autofix();
    let text = format!(
        r#"{head}{governance}protection:
  tags:
    - key: Environment
      values: [production]
  name_prefix: dg-
  caps:
    max_remediations_per_run: 100
    max_deletions_per_run: 20
    max_delete_percent: 100
janitor:
  enabled: true
  targets: [aws_s3_bucket, aws_instance, aws_db_instance, aws_iam_role]
  grace_period: 0s
  phases: [api]
  revenant_check_after: 10m
  ec2_disable_termination_protection: true
  rds_skip_final_snapshot: true
  rds_disable_deletion_protection: true
  delete_allowlist:
    aws: ["123456789012"]
retry:
  max_attempts: {attempts}
  base_delay: 5ms
  max_delay: 100ms
"#,
        head = policy_head(false, &dir.join(format!("{name}.db")), endpoint, Some(("app", state))),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A member account reached by assuming `arn:aws:iam::ROLE_ACCOUNT:role/driftguard` (with
/// the fixture's external id), as a `providers.aws` entry at `endpoint`.
pub fn member_account(id: &str, role_account: &str, endpoint: &str, session: &str) -> String {
    format!(
        r#"    - account: "{id}"
      environment: sandbox
      regions: [us-east-1]
      endpoint: {endpoint}
      assume_role:
        role_arn: arn:aws:iam::{role_account}:role/driftguard
        external_id: dg-external
        session_name: {session}
        duration: 1h
"#
    )
}

/// A janitor policy over `accounts` (`providers.aws` entries) with its store `NAME.db` and
/// file `NAME.yaml` in `dir`: buckets and instances, prefix `dg-`, protected by
/// `Environment=production`, grace 0s, phase api only, deleting in `allow`; `extra` is
/// appended.
pub fn janitor_accounts_policy(dir: &Path, name: &str, accounts: &str, allow: &[&str], extra: &str) -> PathBuf {
    let allow: Vec<String> = allow.iter().map(|id| format!("\"{id}\"")).collect();
    let text = format!(
        r"version: 1
dry_run: false
store:
  path: {store}
logging:
  format: json
providers:
  aws:
{accounts}flows:
  - name: report
    steps: [classify, plan, report]
protection:
  tags:
    - key: Environment
      values: [production]
  name_prefix: dg-
  caps:
    max_deletions_per_run: 20
    max_delete_percent: 100
janitor:
  enabled: true
  targets: [aws_s3_bucket, aws_instance]
  grace_period: 0s
  phases: [api]
  revenant_check_after: 10m
  delete_allowlist:
    aws: [{allow}]
retry:
  max_attempts: 3
  base_delay: 5ms
  max_delay: 50ms
{extra}",
        store = dir.join(format!("{name}.db")).display(),
        allow = allow.join(", "),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

pub mod daemon;
pub mod fakes;
pub mod moto;

/// `driftguard janitor --once --policy POLICY EXTRA...` with test credentials for every
/// cloud (never real ones): exit code, the JSON events on stdout, stderr.
pub fn janitor(dir: &Path, policy: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    run_json(emulated(dir).args(["janitor", "--once", "--policy"]).arg(policy).args(extra))
}

/// The sample drift shipped in examples/.
pub fn sample_findings() -> PathBuf {
    root().join("examples/drift/sample-findings.json")
}

/// `driftguard simulate` of the sample findings under `policy`, in `dir`: its stdout and
/// stderr (it must exit 0).
#[allow(dead_code)]
pub fn simulate_log(dir: &Path, policy: &Path) -> (String, String) {
    let (code, stdout, stderr) =
        run(driftguard(dir).arg("simulate").arg("--policy").arg(policy).arg("--findings").arg(sample_findings()));
    assert_eq!(code, 0, "{stderr}");
    (stdout, stderr)
}
