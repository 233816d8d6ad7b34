//! The command line as users meet it: exit codes, validate output, layered loading.

mod common;

use common::{driftguard, root, run, test_policy};

#[test]
fn validate_accepts_the_shipped_policies_with_a_one_line_summary() {
    let dir = tempfile::tempdir().unwrap();
    for policy in [
        "policy.yaml",
        "examples/strict-production.yaml",
        "examples/sandbox-janitor.yaml",
        "examples/local-emulator.yaml",
    ] {
        let (code, stdout, stderr) =
            run(driftguard(dir.path()).args(["validate", "--policy"]).arg(root().join(policy)));
        assert_eq!(code, 0, "{policy}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(": OK: "), "{stderr}");
        if policy.contains("janitor") {
            // The caps, the percentage's population floor included, are named.
            assert!(stderr.contains("% of a type's prefixed resources in an account holding at least 10)"), "{stderr}");
        }
    }
}

#[test]
fn validate_notes_an_account_reached_through_a_role_in_another_account() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "flows:\n  - name: a\n    steps: [classify, plan, report]\nproviders:\n  aws:\n    - account: \"333333333333\"\n      environment: sandbox\n      regions: [us-east-1]\n      assume_role:\n        role_arn: arn:aws:iam::444444444444:role/driftguard\n",
    )
    .unwrap();
    let (code, _, stderr) = run(driftguard(dir.path()).args(["validate", "--policy", "p.yaml"]));
    assert_eq!(code, 0, "it compiles (every job refuses the account at run time): {stderr}");
    assert!(stderr.contains("1 accounts (1 through an assumed role)"), "{stderr}");
    assert!(
        stderr.contains(
            "p.yaml: note: AWS account 333333333333: assume_role.role_arn is in account 444444444444; jobs will refuse 333333333333 (identity mismatch)"
        ),
        "{stderr}"
    );
}

#[test]
fn validate_lists_every_error_and_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("bad.yaml");
    std::fs::write(&policy, "flows:\n  - name: a\n    steps: [remediate]\nretry:\n  base_delay: 1s\n  max_delay: 10ms\nschedules:\n  detect: {cron: \"bad\"}\n").unwrap();
    let (code, stdout, stderr) = run(driftguard(dir.path()).args(["validate", "--policy", "bad.yaml"]));
    assert_eq!(code, 78);
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "bad.yaml:3:13: flows[0].steps[0]: a flow must start with classify, not remediate",
            "bad.yaml:6:14: retry.max_delay: max_delay (10ms) is below base_delay (1s)",
            "bad.yaml:8:18: schedules.detect.cron: invalid cron expression \"bad\": expected 5 fields (minute hour day month weekday) or 6 (second first), found 1",
            "bad.yaml: refused: 3 errors",
        ]
    );
}

#[test]
fn validate_json_prints_structured_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "flowz: []\n").unwrap();
    let (code, stdout, _) = run(driftguard(dir.path()).args(["validate", "--policy", "bad.yaml", "--format", "json"]));
    assert_eq!(code, 78);
    let errors: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        errors[0],
        serde_json::json!({"file": "bad.yaml", "line": 1, "column": 1, "path": "flowz", "message": "unknown key \"flowz\"; did you mean \"flows\"?"})
    );
}

#[test]
fn a_missing_policy_file_is_a_policy_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(driftguard(dir.path()).args(["validate", "--policy", "nope.yaml"]));
    assert_eq!(code, 78);
    assert!(stderr.starts_with("nope.yaml:1:1: nope.yaml: cannot read the policy: "), "{stderr}");
}

#[test]
fn environment_overrides_the_file_and_is_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    // The file says dry_run: true; the environment turns it off.
    let (code, _, stderr) =
        run(driftguard(dir.path()).arg("validate").arg("--policy").arg(&policy).env("DRIFTGUARD_DRY_RUN", "false"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("dry-run off"), "{stderr}");
    // --dry-run beats both.
    let (code, _, stderr) = run(driftguard(dir.path())
        .arg("validate")
        .arg("--policy")
        .arg(&policy)
        .arg("--dry-run")
        .env("DRIFTGUARD_DRY_RUN", "false"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("dry-run on"), "{stderr}");
    // Nested keys use "__"; a bad value is reported against the variable.
    let (code, _, stderr) = run(driftguard(dir.path())
        .arg("validate")
        .arg("--policy")
        .arg(&policy)
        .env("DRIFTGUARD_RETRY__MAX_ATTEMPTS", "0"));
    assert_eq!(code, 78);
    assert!(stderr.starts_with("$DRIFTGUARD_RETRY__MAX_ATTEMPTS:1:1: retry.max_attempts: lower than 1\n"), "{stderr}");
    // An unknown variable is an unknown key.
    let (code, _, stderr) = run(driftguard(dir.path())
        .arg("validate")
        .arg("--policy")
        .arg(&policy)
        .env("DRIFTGUARD_RETYR__MAX_ATTEMPTS", "3"));
    assert_eq!(code, 78);
    assert!(
        stderr
            .starts_with("$DRIFTGUARD_RETYR__MAX_ATTEMPTS:1:1: retyr: unknown key \"retyr\"; did you mean \"retry\"?"),
        "{stderr}"
    );
}

#[test]
fn the_policy_path_comes_from_the_environment_when_no_flag_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let (code, _, stderr) = run(driftguard(dir.path()).arg("validate").env("DRIFTGUARD_POLICY", &policy));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn usage_errors_exit_64_and_help_documents_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, _) = run(driftguard(dir.path()).arg("frobnicate"));
    assert_eq!(code, 64);
    let (code, _, _) = run(driftguard(dir.path()).args(["history", "--format", "xml"]));
    assert_eq!(code, 64);
    let (code, stdout, _) = run(driftguard(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for line in ["0   success", "2   detect --once: drift found", "64  usage error", "78  policy error"] {
        assert!(stdout.contains(line), "--help lacks {line:?}:\n{stdout}");
    }
    for command in ["run", "validate", "detect", "janitor", "history", "schema", "ack"] {
        assert!(stdout.contains(&format!("  {command} ")), "--help lacks {command}");
    }
}

#[test]
fn run_refuses_a_bad_policy_with_78_and_a_rejected_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "nonsense: true\n").unwrap();
    let (code, stdout, _) = run(driftguard(dir.path()).args(["run", "--policy", "bad.yaml"]));
    assert_eq!(code, 78, "run with a bad policy");
    let event: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event["event"], "policy.rejected");
}

#[test]
fn janitor_checks_the_policy_first_and_does_nothing_when_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    let text =
        std::fs::read_to_string(&policy).unwrap().replace("janitor:\n  enabled: true", "janitor:\n  enabled: false");
    std::fs::write(&policy, text).unwrap();
    let (code, stdout, stderr) = run(driftguard(dir.path()).args(["janitor", "--once", "--policy"]).arg(&policy));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("janitor.enabled is false"), "{stderr}");
    assert_eq!(stdout, "", "nothing done, nothing logged");
    std::fs::write(dir.path().join("bad.yaml"), "nonsense: true\n").unwrap();
    let (code, stdout, _) = run(driftguard(dir.path()).args(["janitor", "--once", "--policy", "bad.yaml"]));
    assert_eq!(code, 78);
    let event: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event["event"], "policy.rejected");
}

#[test]
fn detect_refuses_bad_state_files_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let policy = test_policy(dir.path());
    std::fs::write(dir.path().join("broken.tfstate"), "{\"version\": 4,\n \"resources\": [").unwrap();
    std::fs::write(dir.path().join("old.tfstate"), "{\"version\": 3, \"modules\": []}").unwrap();
    let (code, stdout, stderr) = run(driftguard(dir.path())
        .args([
            "detect",
            "--once",
            "--state",
            "broken.tfstate",
            "--state",
            "old.tfstate",
            "--state",
            "absent-*.tfstate",
            "--policy",
        ])
        .arg(&policy));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "", "no audit event: nothing was decided");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "broken.tfstate:2:15: not a valid Terraform state: EOF while parsing a list",
            "old.tfstate: unsupported state format version 3; DriftGuard reads version 4 (Terraform 0.12 and later)",
            "state path \"absent-*.tfstate\" matches no file",
            "driftguard detect: 3 state source(s) unreadable; nothing was compared or changed",
        ]
    );
    assert!(!dir.path().join("state.db").exists(), "no store was written");
}

/// `coverage --format json` prints the catalogue: the 11 compared AWS types of today and
/// the janitor's types, each with what it compares, restores and may delete.
#[test]
fn coverage_prints_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(driftguard(dir.path()).args(["coverage", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let compared: Vec<&str> = all
        .iter()
        .filter(|c| c["compared"] == true && c["provider"] == "aws")
        .map(|c| c["resource_type"].as_str().unwrap())
        .collect();
    assert!(compared.len() >= 55, "{} AWS types compared: {compared:?}", compared.len());
    for kind in ["aws_iam_role_policy_attachment", "aws_s3_bucket_policy", "aws_network_acl", "aws_rds_cluster"] {
        assert!(compared.contains(&kind), "{kind} is compared");
    }
    let attachment = all.iter().find(|c| c["resource_type"] == "aws_iam_role_policy_attachment").unwrap();
    assert_eq!(attachment["part_of"], "aws_iam_role", "compared through the role it is attached to");
    let role = all.iter().find(|c| c["resource_type"] == "aws_iam_role").unwrap();
    assert!(role["remediation"].as_array().unwrap().contains(&"managed_policy_arns".into()));
    assert!(role["remediation"].as_array().unwrap().contains(&"inline_policy".into()));
    for line in &all {
        for key in
            ["provider", "resource_type", "compared", "part_of", "attributes", "remediation", "unmanaged", "janitor"]
        {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    let role = all.iter().find(|c| c["resource_type"] == "aws_iam_role").unwrap();
    assert_eq!(
        role["remediation"],
        serde_json::json!([
            "assume_role_policy",
            "max_session_duration",
            "managed_policy_arns",
            "inline_policy",
            "tags.*"
        ])
    );
    assert_eq!(role["janitor"], true);
    let janitor: Vec<&str> =
        all.iter().filter(|c| c["janitor"] == true).map(|c| c["resource_type"].as_str().unwrap()).collect();
    assert_eq!(
        janitor,
        [
            "aws_instance",
            "aws_db_instance",
            "aws_s3_bucket",
            "aws_iam_role",
            "google_storage_bucket",
            "azurerm_resource_group"
        ]
    );
    let (code, text, _) = run(driftguard(dir.path()).args(["coverage"]));
    assert_eq!(code, 0);
    let total = all.len();
    let summary = format!(
        "{total} types: {} compared, 6 deletable by the janitor",
        all.iter().filter(|c| c["compared"] == true).count()
    );
    assert!(text.contains(&summary), "{summary}\n{text}");
}
