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

pub mod daemon;
pub mod fakes;
pub mod moto;

/// `driftguard janitor --once --policy POLICY EXTRA...` with test credentials for every
/// cloud (never real ones): exit code, the JSON events on stdout, stderr.
pub fn janitor(dir: &Path, policy: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let (code, stdout, stderr) = run(driftguard(dir)
        .args(["janitor", "--once", "--policy"])
        .arg(policy)
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AZURE_ACCESS_TOKEN", "fake-arm-token-not-a-secret")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL"));
    (code, stdout.lines().filter_map(|line| serde_json::from_str(line).ok()).collect(), stderr)
}

/// The sample drift shipped in examples/.
pub fn sample_findings() -> PathBuf {
    root().join("examples/drift/sample-findings.json")
}
