use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::model::{Provider, Severity};
use crate::policy::{CliOverrides, compile};
use crate::remediation::{AwsCall, RemediationCall};

const POLICY: &str = r#"
providers:
  aws:
    - account: "111111111111"
      environment: sandbox
      regions: [us-east-1]
    - account: "222222222222"
      environment: production
      regions: [us-east-1]
classification:
  default_severity: low
  rules:
    - name: open-ingress
      match: { attribute: [ingress] }
      severity: critical
      controls: [CIS-5.2]
  ignore:
    - resource_type: aws_instance
      attribute: monitoring
remediation:
  allow:
    - environment: [sandbox]
      severity: [low, critical]
protection:
  tags:
    - key: Environment
      values: [production]
flows:
  - name: fix-sandbox
    match: { environment: [sandbox] }
    steps: [classify, plan, remediate, verify, escalate]
  - name: report-the-rest
    steps: [classify, plan, report]
"#;

fn policy() -> Policy {
    compile("p.yaml", POLICY, None, &CliOverrides::default()).unwrap()
}

fn call() -> RemediationCall {
    AwsCall::InstanceMonitoring { instance_id: "i-1".into(), enabled: false }.into()
}

fn drift(account: &str, attribute: &str, tags: &[(&str, &str)]) -> DetectedDrift {
    DetectedDrift {
        provider: Provider::Aws,
        account: account.to_owned(),
        region: "us-east-1".into(),
        resource_type: if attribute == "ingress" { "aws_security_group" } else { "aws_instance" }.into(),
        resource_id: "r-1".into(),
        address: "x.y".into(),
        kind: FindingKind::Modified,
        attribute: Some(attribute.to_owned()),
        expected: None,
        actual: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        actions: vec![call()],
    }
}

fn machine(state: State) -> Machine {
    Machine { state, attempts: 1, severity: Some(Severity::Low), flow: Some("fix-sandbox".into()), ack_until: None }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap()
}

fn seen(drift: &DetectedDrift) -> Seen<'_> {
    Seen { drift, dry_run: false, target_gone: false, applied: None, queued_for_verification: false, now: now() }
}

fn classify(severity: Severity, rule: Option<&str>, flow: &str, controls: &[&str]) -> Event {
    Event::Classify {
        severity,
        rule: rule.map(str::to_owned),
        flow: flow.to_owned(),
        controls: controls.iter().map(|c| (*c).to_owned()).collect(),
    }
}

#[test]
fn classification_takes_the_environment_from_the_tag_else_the_account() {
    let policy = policy();
    let cases = [
        // (account, attribute, tags, expected event)
        ("111111111111", "instance_type", &[][..], Some(classify(Severity::Low, None, "fix-sandbox", &[]))),
        ("222222222222", "instance_type", &[][..], Some(classify(Severity::Low, None, "report-the-rest", &[]))),
        (
            "111111111111",
            "instance_type",
            &[("Environment", "production")][..],
            Some(classify(Severity::Low, None, "report-the-rest", &[])),
        ),
        (
            "222222222222",
            "instance_type",
            &[("Environment", "sandbox")][..],
            Some(classify(Severity::Low, None, "fix-sandbox", &[])),
        ),
        // An account the policy does not list has no environment: the catch-all flow.
        ("333333333333", "instance_type", &[][..], Some(classify(Severity::Low, None, "report-the-rest", &[]))),
        (
            "111111111111",
            "ingress",
            &[][..],
            Some(classify(Severity::Critical, Some("open-ingress"), "fix-sandbox", &["CIS-5.2"])),
        ),
        ("111111111111", "monitoring", &[][..], Some(Event::Ignore)),
    ];
    for (account, attribute, tags, expected) in cases {
        let drift = drift(account, attribute, tags);
        let got = next_event(&policy, &machine(State::Detected), &seen(&drift));
        assert_eq!(got, expected, "{account} {attribute} {tags:?}");
    }
}

#[test]
fn an_ignore_rule_never_hides_a_missing_resource() {
    let policy = policy();
    let mut missing = drift("111111111111", "monitoring", &[]);
    missing.kind = FindingKind::Missing;
    let got = next_event(&policy, &machine(State::Detected), &seen(&missing));
    assert!(matches!(got, Some(Event::Classify { .. })), "{got:?}");
}

#[test]
fn each_state_meets_the_event_the_run_has_seen() {
    let policy = policy();
    let drift = drift("111111111111", "instance_type", &[]);
    let failed: Result<(), String> = Err("throttled".into());
    let succeeded: Result<(), String> = Ok(());
    let base = seen(&drift);
    let expired = Machine { ack_until: Some(now()), ..machine(State::Acknowledged) };
    let acknowledged = Machine { ack_until: Some(now() + chrono::Duration::hours(1)), ..machine(State::Acknowledged) };
    let cases: Vec<(&str, Machine, Seen<'_>, Option<Event>)> = vec![
        ("classified plans", machine(State::Classified), base, Some(Event::Plan { actions: vec![call()] })),
        ("planned decides", machine(State::Planned), base, Some(Event::Decide { actions: vec![call()] })),
        ("reported, acting run", machine(State::Reported), base, Some(Event::Reevaluate)),
        ("dry_run, acting run", machine(State::DryRun), base, Some(Event::Reevaluate)),
        ("reported, simulation", machine(State::Reported), Seen { dry_run: true, ..base }, None),
        ("dry_run, simulation", machine(State::DryRun), Seen { dry_run: true, ..base }, None),
        ("failed retries", machine(State::Failed), base, Some(Event::Retry { actions: vec![call()] })),
        ("failed, target gone", machine(State::Failed), Seen { target_gone: true, ..base }, Some(Event::DriftGone)),
        (
            "calls succeeded",
            machine(State::Remediating),
            Seen { applied: Some(&succeeded), ..base },
            Some(Event::Applied),
        ),
        (
            "calls failed",
            machine(State::Remediating),
            Seen { applied: Some(&failed), ..base },
            Some(Event::ApplyFailed { reason: "throttled".into() }),
        ),
        ("calls interrupted by a crash", machine(State::Remediating), base, Some(Event::Interrupted)),
        ("verification queued", machine(State::Verifying), Seen { queued_for_verification: true, ..base }, None),
        (
            "left verifying by a crash",
            machine(State::Verifying),
            base,
            Some(Event::StillDrifted {
                reason: "the drift is still there after remediation (verified after an interruption)".into(),
            }),
        ),
        ("acknowledgement expired", expired, base, Some(Event::AckExpired)),
        ("acknowledgement running", acknowledged, base, None),
        ("acknowledged for good", machine(State::Acknowledged), base, None),
        ("escalated waits for people", machine(State::Escalated), base, None),
        ("remediated is terminal", machine(State::Remediated), base, None),
        ("resolved is terminal", machine(State::Resolved), base, None),
        ("ignored is terminal", machine(State::Ignored), base, None),
    ];
    for (case, machine, seen, expected) in cases {
        assert_eq!(next_event(&policy, &machine, &seen), expected, "{case}");
    }
}

#[test]
fn the_context_carries_the_flow_and_every_guard_the_policy_sets() {
    let policy = policy();
    let cases = [
        // (account, tags, severity, protected, remediation allowed)
        ("111111111111", &[][..], Some(Severity::Low), None, true),
        ("111111111111", &[][..], Some(Severity::Medium), None, false),
        ("111111111111", &[][..], None, None, false),
        ("222222222222", &[][..], Some(Severity::Critical), None, false),
        ("222222222222", &[("Environment", "sandbox")][..], Some(Severity::Critical), None, true),
        (
            "111111111111",
            &[("Environment", "production")][..],
            Some(Severity::Low),
            Some(("Environment".to_owned(), "production".to_owned())),
            false,
        ),
    ];
    for (account, tags, severity, protected, allowed) in cases {
        let drift = drift(account, "instance_type", tags);
        let machine = Machine { severity, ..machine(State::Planned) };
        let context = context(&policy, &machine, &drift, true, 3);
        assert_eq!(context.protected, protected, "{account} {tags:?}");
        assert_eq!(context.remediation_allowed, allowed, "{account} {tags:?} {severity:?}");
        assert_eq!(context.steps.len(), 5, "the fix-sandbox flow");
        assert!(context.dry_run);
        assert_eq!(context.remediations_left, 3);
    }
    let gone = Machine { flow: Some("no-longer-in-the-policy".into()), ..machine(State::Planned) };
    let drift = drift("111111111111", "instance_type", &[]);
    let context = context(&policy, &gone, &drift, false, 0);
    assert!(context.steps.is_empty());
    assert_eq!(context.max_attempts, 1);
}
