//! The JSON log is an interface: every line of a run validates against
//! schemas/audit-event.schema.json, every persisted transition has exactly one audit
//! event, and secrets never appear in any output.

mod common;

use std::collections::HashMap;

use common::{driftguard, root, run, sample_findings, test_policy};

fn schema_validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/audit-event.schema.json")).unwrap())
            .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn every_log_line_of_a_run_matches_the_schema_and_every_transition_is_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let (stdout, _) = common::simulate_log(dir.path(), &policy);
    let validator = schema_validator();
    let mut transitions_logged: HashMap<(String, String, String), usize> = HashMap::new();
    let mut lines = 0;
    for line in stdout.lines() {
        lines += 1;
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let errors: Vec<String> =
            validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{line}\n{errors:#?}");
        assert!(value["timestamp"].as_str().unwrap().ends_with('Z'), "timestamps are UTC");
        if value["event"] == "finding.transition" {
            let key = (
                value["finding_id"].as_str().unwrap().to_owned(),
                value["from_state"].as_str().unwrap().to_owned(),
                value["to_state"].as_str().unwrap().to_owned(),
            );
            *transitions_logged.entry(key).or_default() += 1;
        }
    }
    assert!(lines > 10, "{stdout}");

    let (code, history, _) = run(driftguard(dir.path()).args(["history", "--format", "json", "--policy"]).arg(&policy));
    assert_eq!(code, 0);
    let history: Vec<serde_json::Value> = serde_json::from_str(&history).unwrap();
    assert_eq!(history.len(), transitions_logged.values().sum::<usize>());
    for entry in &history {
        let key = (
            entry["finding_id"].as_str().unwrap().to_owned(),
            entry["from_state"].as_str().unwrap().to_owned(),
            entry["to_state"].as_str().unwrap().to_owned(),
        );
        assert_eq!(transitions_logged.get(&key), Some(&1), "transition {key:?} audited once");
    }
}

#[test]
fn dry_run_mutations_are_audited_as_simulated() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let (stdout, _) = common::simulate_log(dir.path(), &policy);
    let mutations: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|value| value["event"] == "cloud.mutation")
        .collect();
    assert_eq!(mutations.len(), 1, "{stdout}");
    assert_eq!(mutations[0]["action"], "ec2:RevokeSecurityGroupIngress");
    assert_eq!(mutations[0]["outcome"], "simulated");
    assert_eq!(mutations[0]["dry_run"], true);
    assert_eq!(mutations[0]["resource_id"], "sg-0a1b2c3d");
}

#[test]
fn secrets_never_reach_any_output() {
    const CANARY: &str = "CANARY-7f3a9c1e-do-not-log";
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let mut text = std::fs::read_to_string(&policy).unwrap();
    // Secrets a policy may legitimately carry: IaC environment and endpoint credentials.
    text = text.replace("http://127.0.0.1:5000", &format!("http://user:{CANARY}@127.0.0.1:5000"));
    text.push_str(&format!("  iac:\n    command: terraform\n    env:\n      TF_TOKEN_app_terraform_io: {CANARY}\n"));
    std::fs::write(&policy, &text).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, format!("{text}\nretry: {{max_attempts: 0}}\n")).unwrap();

    let secret_env = [
        ("AWS_SECRET_ACCESS_KEY", CANARY),
        ("AWS_SESSION_TOKEN", CANARY),
        ("GOOGLE_APPLICATION_CREDENTIALS", CANARY),
        ("AZURE_CLIENT_SECRET", CANARY),
        ("DRIFTGUARD_JANITOR__IAC__ENV__SECRET", CANARY),
    ];
    let invocations: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["validate".into(), "--policy".into(), policy.clone().into()],
        vec!["validate".into(), "--format".into(), "json".into(), "--policy".into(), bad.clone().into()],
        vec![
            "simulate".into(),
            "--policy".into(),
            policy.clone().into(),
            "--findings".into(),
            sample_findings().into(),
        ],
        vec!["history".into(), "--format".into(), "json".into(), "--policy".into(), policy.clone().into()],
        vec!["detect".into(), "--once".into(), "--policy".into(), policy.clone().into()],
        vec!["detect".into(), "--once".into(), "--policy".into(), bad.clone().into()],
    ];
    for args in invocations {
        let (_, stdout, stderr) = run(driftguard(dir.path()).args(&args).envs(secret_env));
        assert!(!stdout.contains(CANARY) && !stderr.contains(CANARY), "{args:?} leaked:\n{stdout}\n{stderr}");
        assert!(
            !stdout.is_empty() || !stderr.is_empty(),
            "{args:?} printed nothing: the canary check would be vacuous"
        );
    }
}
