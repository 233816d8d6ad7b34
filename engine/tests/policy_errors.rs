//! Table tests: each policy mistake and the exact diagnostics it produces.
//! The messages are an interface (people read them; editors and CI parse them).

use driftguard_engine::policy::{CliOverrides, compile};

/// The smallest valid policy; cases append or replace sections.
const FLOW: &str = "flows:\n  - name: all\n    steps: [classify, plan, report]\n";

fn errors(text: &str) -> Vec<String> {
    match compile("p.yaml", text, None, &CliOverrides::default()) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
    }
}

fn check(case: &str, text: &str, expected: &[&str]) {
    let got = errors(text);
    assert_eq!(got, expected, "case {case}:\n{text}");
}

#[test]
fn the_smallest_policy_compiles() {
    check("minimal", FLOW, &[]);
}

#[test]
fn the_shipped_policies_compile() {
    for path in [
        "../policy.yaml",
        "../examples/strict-production.yaml",
        "../examples/sandbox-janitor.yaml",
        "../examples/local-emulator.yaml",
    ] {
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(errors(&text), Vec::<String>::new(), "{path}");
    }
}

#[test]
fn mistakes_are_reported_exactly() {
    let cases: &[(&str, String, &[&str])] = &[
        (
            "yaml syntax",
            format!("{FLOW}retry: [1, 2\n"),
            &["p.yaml:5:1: YAML syntax error: while parsing a flow sequence, expected ',' or ']'"],
        ),
        ("empty file", String::new(), &["p.yaml:1:1: the policy file is empty"]),
        (
            "not a mapping",
            "- a\n- b\n".to_owned(),
            &["p.yaml:1:1: a policy is a mapping of sections (dry_run, flows, …), found a list"],
        ),
        (
            "unknown top-level key with suggestion",
            format!("{FLOW}retyr:\n  max_attempts: 3\n"),
            &["p.yaml:4:1: retyr: unknown key \"retyr\"; did you mean \"retry\"?"],
        ),
        (
            "unknown nested key with suggestion",
            format!("{FLOW}retry:\n  max_atempts: 3\n"),
            &["p.yaml:5:3: retry.max_atempts: unknown key \"max_atempts\"; did you mean \"max_attempts\"?"],
        ),
        (
            "unknown key without a close match",
            format!("{FLOW}store:\n  colour: blue\n"),
            &["p.yaml:5:3: store.colour: unknown key \"colour\"; known keys here: path"],
        ),
        (
            "duplicate key",
            format!("{FLOW}dry_run: true\ndry_run: false\n"),
            &["p.yaml:5:1: dry_run: duplicate key \"dry_run\" (first defined at line 4)"],
        ),
        (
            "wrong type: string for number",
            format!("{FLOW}retry:\n  max_attempts: lots\n"),
            &["p.yaml:5:17: retry.max_attempts: expected a whole number, found string \"lots\""],
        ),
        (
            "wrong type: scalar for list",
            "flows: everything\n".to_owned(),
            &["p.yaml:1:8: flows: expected a list, found string \"everything\""],
        ),
        (
            "wrong type: string for boolean",
            format!("{FLOW}dry_run: maybe\n"),
            &["p.yaml:4:10: dry_run: expected true or false, found string \"maybe\""],
        ),
        (
            "unparsable duration",
            format!("{FLOW}retry:\n  base_delay: 1h30m\n"),
            &[
                "p.yaml:5:15: retry.base_delay: invalid duration \"1h30m\": write a whole number and a unit (ms, s, m, h, d), e.g. 200ms, 90s, 24h",
            ],
        ),
        (
            "duration with a space",
            format!("{FLOW}janitor:\n  grace_period: 24 hours\n"),
            &[
                "p.yaml:5:17: janitor.grace_period: invalid duration \"24 hours\": write a whole number and a unit (ms, s, m, h, d), e.g. 200ms, 90s, 24h",
            ],
        ),
        (
            "invalid cron",
            format!("{FLOW}schedules:\n  detect:\n    cron: \"*/15 * * *\"\n"),
            &[
                "p.yaml:6:11: schedules.detect.cron: invalid cron expression \"*/15 * * *\": expected 5 fields (minute hour day month weekday) or 6 (second first), found 4",
            ],
        ),
        (
            "cron value out of range",
            format!("{FLOW}schedules:\n  janitor:\n    cron: \"0 25 * * *\"\n"),
            &[
                "p.yaml:6:11: schedules.janitor.cron: invalid cron expression \"0 25 * * *\": Component error: Number out of bounds.",
            ],
        ),
        (
            "unknown severity with suggestion",
            format!("{FLOW}classification:\n  default_severity: critcal\n"),
            &["p.yaml:5:21: classification.default_severity: unknown severity \"critcal\"; did you mean \"critical\"?"],
        ),
        (
            "unknown severity without suggestion",
            format!(
                "{FLOW}classification:\n  rules:\n    - name: r\n      severity: urgent\n"
            ),
            &[
                "p.yaml:7:17: classification.rules[0].severity: unknown severity \"urgent\"; expected one of: info, low, medium, high, critical",
            ],
        ),
        (
            "rule without severity",
            format!("{FLOW}classification:\n  rules:\n    - name: r\n"),
            &["p.yaml:6:7: classification.rules[0].severity: missing required key"],
        ),
        (
            "invalid regex",
            format!(
                "{FLOW}classification:\n  rules:\n    - name: r\n      severity: low\n      match:\n        actual_matches: \"(0.0.0.0\"\n"
            ),
            &[
                "p.yaml:9:25: classification.rules[0].match.actual_matches: invalid regular expression \"(0.0.0.0\": unclosed group",
            ],
        ),
        (
            "invalid glob",
            format!(
                "{FLOW}classification:\n  ignore:\n    - resource_type: \"aws_[\"\n      attribute: tags\n"
            ),
            &[
                "p.yaml:6:22: classification.ignore[0].resource_type: invalid glob \"aws_[\": unclosed character class; missing ']'",
            ],
        ),
        (
            "invalid glob in a list",
            "flows:\n  - name: a\n    match:\n      resource_type: [ok, \"{x\"]\n    steps: [classify, plan, report]\n  - name: b\n    steps: [classify, plan, report]\n".to_owned(),
            &["p.yaml:4:27: flows[0].match.resource_type[1]: invalid glob \"{x\": unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"],
        ),
        (
            "zero cap",
            format!("{FLOW}protection:\n  caps:\n    max_deletions_per_run: 0\n"),
            &["p.yaml:6:28: protection.caps.max_deletions_per_run: lower than 1"],
        ),
        (
            "negative cap",
            format!("{FLOW}protection:\n  caps:\n    max_remediations_per_run: -3\n"),
            &["p.yaml:6:31: protection.caps.max_remediations_per_run: lower than 1"],
        ),
        (
            "percentage over 100",
            format!("{FLOW}protection:\n  caps:\n    max_delete_percent: 150\n"),
            &["p.yaml:6:25: protection.caps.max_delete_percent: greater than 100"],
        ),
        (
            "zero per-type cap",
            format!("{FLOW}protection:\n  caps:\n    max_deletions_per_type:\n      aws_instance: 0\n"),
            &[
                "p.yaml:7:21: protection.caps.max_deletions_per_type.aws_instance: lower than 1: a cap of 0 deletes nothing; remove the type from janitor.targets instead",
            ],
        ),
        (
            "unknown per-type cap",
            format!("{FLOW}protection:\n  caps:\n    max_deletions_per_type:\n      aws_instances: 2\n"),
            &[
                "p.yaml:7:22: protection.caps.max_deletions_per_type.aws_instances: unknown janitor resource type \"aws_instances\"; did you mean \"aws_instance\"?",
            ],
        ),
        (
            "max_delay below base_delay",
            format!("{FLOW}retry:\n  base_delay: 2s\n  max_delay: 500ms\n"),
            &["p.yaml:6:14: retry.max_delay: max_delay (500ms) is below base_delay (2s)"],
        ),
        (
            "remediate without classify",
            "flows:\n  - name: a\n    steps: [remediate, verify]\n".to_owned(),
            &["p.yaml:3:13: flows[0].steps[0]: a flow must start with classify, not remediate"],
        ),
        (
            "remediate without plan",
            "flows:\n  - name: a\n    steps: [classify, remediate, verify]\n".to_owned(),
            &["p.yaml:3:23: flows[0].steps[1]: remediate cannot follow classify; after classify comes plan"],
        ),
        (
            "remediate without verify",
            "flows:\n  - name: a\n    steps: [classify, plan, remediate]\n".to_owned(),
            &["p.yaml:3:29: flows[0].steps[2]: a flow cannot end with remediate; after remediate comes verify"],
        ),
        (
            "flow ending at plan",
            "flows:\n  - name: a\n    steps: [classify, plan]\n".to_owned(),
            &[
                "p.yaml:3:23: flows[0].steps[1]: a flow cannot end with plan; after plan comes report, remediate or escalate",
            ],
        ),
        (
            "step after escalate",
            "flows:\n  - name: a\n    steps: [classify, plan, escalate, report]\n".to_owned(),
            &["p.yaml:3:39: flows[0].steps[3]: report cannot follow escalate: escalate ends a flow"],
        ),
        (
            "unknown step",
            "flows:\n  - name: a\n    steps: [classify, plan, fix]\n".to_owned(),
            &["p.yaml:3:29: flows[0].steps[2]: unknown step \"fix\"; expected one of: classify, plan, report, remediate, verify, escalate"],
        ),
        ("no flows", "dry_run: true\n".to_owned(), &[
            "p.yaml:1:1: flows: no flows: every finding needs a path; add at least a catch-all flow, e.g. steps [classify, plan, report]",
        ]),
        (
            "no catch-all flow",
            "flows:\n  - name: a\n    match:\n      environment: [dev]\n    steps: [classify, plan, report]\n".to_owned(),
            &["p.yaml:4:7: flows[0].match: no flow matches every finding: end the list with a catch-all flow (no match conditions)"],
        ),
        (
            "unreachable flow",
            "flows:\n  - name: a\n    steps: [classify, plan, report]\n  - name: b\n    steps: [classify, plan, escalate]\n".to_owned(),
            &["p.yaml:4:11: flows[1].name: flow \"b\" is unreachable: flows[0] (\"a\") before it matches every finding"],
        ),
        (
            "duplicate rule names",
            format!(
                "{FLOW}classification:\n  rules:\n    - name: r\n      severity: low\n    - name: r\n      severity: high\n"
            ),
            &["p.yaml:8:13: classification.rules[1].name: duplicate classification rule name \"r\" (also classification.rules[0])"],
        ),
        (
            "duplicate flow names",
            "flows:\n  - name: a\n    match: {severity: [high]}\n    steps: [classify, plan, escalate]\n  - name: a\n    steps: [classify, plan, report]\n".to_owned(),
            &["p.yaml:5:11: flows[1].name: duplicate flow name \"a\" (also flows[0])"],
        ),
        (
            "janitor without prefix or protection",
            format!(
                "{FLOW}providers:\n  aws:\n    - account: \"123456789012\"\n      environment: sandbox\n      regions: [us-east-1]\njanitor:\n  enabled: true\n  targets: [aws_instance]\n  delete_allowlist:\n    aws: [\"123456789012\"]\n"
            ),
            &[
                "p.yaml:10:12: janitor.enabled: the janitor needs protection.name_prefix: it only ever deletes resources whose name carries it",
                "p.yaml:10:12: janitor.enabled: the janitor needs at least one protection.tags rule (e.g. key Environment, values [production])",
            ],
        ),
        (
            "janitor with an empty prefix",
            format!(
                "{FLOW}providers:\n  aws:\n    - account: \"123456789012\"\n      environment: sandbox\n      regions: [us-east-1]\nprotection:\n  name_prefix: \"\"\n  tags: [{{key: Protected}}]\njanitor:\n  enabled: true\n  targets: [aws_instance]\n  delete_allowlist:\n    aws: [\"123456789012\"]\n"
            ),
            &["p.yaml:10:16: protection.name_prefix: the janitor needs protection.name_prefix: it only ever deletes resources whose name carries it"],
        ),
        (
            "janitor deleting where it does not scan",
            format!(
                "{FLOW}protection:\n  name_prefix: dg-\n  tags: [{{key: Protected}}]\njanitor:\n  enabled: true\n  targets: [aws_instance]\n  delete_allowlist:\n    aws: [\"123456789012\"]\n"
            ),
            &["p.yaml:11:11: janitor.delete_allowlist.aws[0]: account \"123456789012\" may be deleted in but is not scanned: add it to providers.aws"],
        ),
        (
            "unknown janitor target",
            format!("{FLOW}janitor:\n  targets: [aws_s3_buckets]\n"),
            &["p.yaml:5:13: janitor.targets[0]: unknown janitor target \"aws_s3_buckets\"; did you mean \"aws_s3_bucket\"?"],
        ),
        (
            "account id not quoted",
            format!("{FLOW}providers:\n  aws:\n    - account: 012345678901\n      environment: dev\n      regions: [us-east-1]\n"),
            &["p.yaml:6:16: providers.aws[0].account: expected a string, found number 12345678901"],
        ),
        (
            "account id malformed",
            format!("{FLOW}providers:\n  aws:\n    - account: \"12345\"\n      environment: dev\n      regions: [us-east-1]\n"),
            &["p.yaml:6:16: providers.aws[0].account: must be a 12-digit AWS account id, quoted (pattern ^[0-9]{12}$)"],
        ),
        (
            "a tab used for indentation",
            format!("{FLOW}retry:\n\tmax_attempts: 3\n"),
            &["p.yaml:5:1: tabs are not allowed for indentation"],
        ),
        (
            "a tab after spaces, deeper in the file",
            format!("{FLOW}retry:\n  max_attempts: 3\n  base_delay: 1s\n  \tmax_delay: 2s\n"),
            &["p.yaml:7:3: tabs are not allowed for indentation"],
        ),
        (
            "role ARN malformed",
            format!("{FLOW}providers:\n  aws:\n    - account: \"123456789012\"\n      environment: dev\n      regions: [us-east-1]\n      assume_role:\n        role_arn: arn:aws:iam::12:role/x\n"),
            &["p.yaml:10:19: providers.aws[0].assume_role.role_arn: must be an IAM role ARN, e.g. arn:aws:iam::222222222222:role/driftguard (pattern ^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$)"],
        ),
        (
            "assume_role without role_arn, bad session name and a session too long",
            format!("{FLOW}providers:\n  aws:\n    - account: \"123456789012\"\n      environment: dev\n      regions: [us-east-1]\n      assume_role:\n        session_name: \"a b\"\n        duration: 13h\n"),
            &[
                "p.yaml:9:7: providers.aws[0].assume_role.role_arn: missing required key",
                "p.yaml:10:23: providers.aws[0].assume_role.session_name: must be 2 to 64 of letters, digits and _+=,.@- (pattern ^[A-Za-z0-9_+=,.@-]+$)",
                "p.yaml:11:19: providers.aws[0].assume_role.duration: 13h is outside what STS accepts for a role session: 15m to 12h",
            ],
        ),
        (
            "external id and profile malformed",
            format!("{FLOW}providers:\n  aws:\n    - account: \"123456789012\"\n      environment: dev\n      regions: [us-east-1]\n      profile: \"my profile\"\n      assume_role:\n        role_arn: arn:aws:iam::123456789012:role/driftguard\n        external_id: \"x\"\n    - account: \"123456789013\"\n      environment: dev\n      regions: [us-east-1]\n      profile: {}\n      assume_role:\n        role_arn: arn:aws:iam::123456789013:role/driftguard\n        external_id: \"a b\"\n        session_name: {}\n", "p".repeat(129), "s".repeat(65)),
            &[
                "p.yaml:9:16: providers.aws[0].profile: must be a profile name (up to 128 of letters, digits and _.+@-) (pattern ^[A-Za-z0-9_.+@-]+$)",
                "p.yaml:12:22: providers.aws[0].assume_role.external_id: must be at least 2 characters long",
                "p.yaml:16:16: providers.aws[1].profile: must be at most 128 characters long",
                "p.yaml:19:22: providers.aws[1].assume_role.external_id: must be 2 to 1224 of letters, digits and _+=,.@:/- (pattern ^[A-Za-z0-9_+=,.@:/-]+$)",
                "p.yaml:20:23: providers.aws[1].assume_role.session_name: must be at most 64 characters long",
            ],
        ),
        (
            "azure tenant without client, client secret without both",
            format!("{FLOW}providers:\n  azure:\n    - subscription: 00000000-0000-0000-0000-000000000001\n      environment: dev\n      tenant_id: 00000000-0000-0000-0000-0000000000aa\n    - subscription: 00000000-0000-0000-0000-000000000002\n      environment: dev\n      client_secret_env: DG_SECRET\n"),
            &[
                "p.yaml:8:18: providers.azure[0].tenant_id: tenant_id needs client_id: both name the service principal to sign in as",
                "p.yaml:11:26: providers.azure[1].client_secret_env: client_secret_env needs tenant_id and client_id: whose secret it is",
            ],
        ),
        (
            "gcp impersonation of something that is not a service account",
            format!("{FLOW}providers:\n  gcp:\n    - project: p\n      environment: dev\n      impersonate_service_account: alice@example.com\n"),
            &["p.yaml:8:36: providers.gcp[0].impersonate_service_account: must be a service account email, NAME@PROJECT.iam.gserviceaccount.com (pattern ^[a-z0-9-]+@[a-z0-9.-]+\\.iam\\.gserviceaccount\\.com$)"],
        ),
        (
            "percentage floor below 1",
            format!("{FLOW}protection:\n  caps:\n    percent_min_population: 0\n"),
            &["p.yaml:6:29: protection.caps.percent_min_population: lower than 1"],
        ),
        (
            "s3 state without bucket",
            format!("{FLOW}terraform:\n  states:\n    - name: s\n      backend: s3\n      key: k\n      region: eu-west-1\n"),
            &["p.yaml:6:7: terraform.states[0].bucket: an s3 state source needs bucket"],
        ),
        (
            "unsupported version",
            format!("version: 2\n{FLOW}"),
            &["p.yaml:1:10: version: unsupported policy version 2; this DriftGuard reads version 1"],
        ),
        (
            "many mistakes at once, in source order",
            "dry_run: yes\nflows:\n  - name: a\n    steps: [classify, plan]\nretry:\n  base_delay: soon\n  max_atempts: 2\nprotection:\n  caps:\n    max_delete_percent: 0\n".to_owned(),
            &[
                "p.yaml:1:10: dry_run: expected true or false, found string \"yes\"",
                "p.yaml:4:23: flows[0].steps[1]: a flow cannot end with plan; after plan comes report, remediate or escalate",
                "p.yaml:6:15: retry.base_delay: invalid duration \"soon\": write a whole number and a unit (ms, s, m, h, d), e.g. 200ms, 90s, 24h",
                "p.yaml:7:3: retry.max_atempts: unknown key \"max_atempts\"; did you mean \"max_attempts\"?",
                "p.yaml:10:25: protection.caps.max_delete_percent: lower than 1",
            ],
        ),
        (
            "errors in two list elements keep their own indices",
            "flows:\n  - name: a\n    match: {severity: [bad]}\n    steps: [classify, plan, report]\n  - name: b\n    match: {severity: [worse]}\n    steps: [classify, plan, report]\n  - name: c\n    steps: [classify, plan, jump]\n".to_owned(),
            &[
                "p.yaml:3:24: flows[0].match.severity[0]: unknown severity \"bad\"; expected one of: info, low, medium, high, critical",
                "p.yaml:6:24: flows[1].match.severity[0]: unknown severity \"worse\"; expected one of: info, low, medium, high, critical",
                "p.yaml:9:29: flows[2].steps[2]: unknown step \"jump\"; expected one of: classify, plan, report, remediate, verify, escalate",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (case, text, expected) in cases {
        let got = errors(text);
        if got != *expected {
            failures.push(format!("case {case}:\n  expected: {expected:#?}\n  got:      {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(cases.len() >= 25);
}
