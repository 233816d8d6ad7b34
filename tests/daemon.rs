//! `driftguard run`, the daemon, as systemd runs it: the notify sequence across start,
//! reload and stop, watchdog pings, reloads refused and accepted, one instance per store,
//! and a scheduled detect cycle against a real AWS emulator with its metrics, report and
//! webhooks.

mod common;

use std::path::{Path, PathBuf};

use common::daemon::{Daemon, Sink, http_get, promtool_check};
use common::moto::Moto;
use common::run;

const ACCOUNT: &str = "123456789012";

/// A policy whose detect job runs on `cron` against `endpoint`; `extra` is appended.
fn policy(dir: &Path, endpoint: &str, cron: &str, extra: &str) -> PathBuf {
    let governance = common::sandbox_autofix();
    let text = format!(
        r#"{head}schedules:
  detect:
    cron: "{cron}"
{governance}retry:
  max_attempts: 6
  base_delay: 5ms
  max_delay: 50ms
daemon:
  metrics_listen: 127.0.0.1:0
  report_path: {report}
  shutdown_timeout: 30s
{extra}"#,
        head = common::policy_head(true, &dir.join("state.db"), endpoint, None),
        report = dir.join("report.json").display(),
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Once a year: the daemon idles (nothing scheduled runs during a test).
const IDLE: &str = "0 0 0 1 1 *";

#[test]
fn notify_sequence_across_start_reload_and_stop_with_watchdog_pings() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), "http://127.0.0.1:9", IDLE, "");
    let mut daemon = Daemon::start(dir.path(), &policy, &[], Some(200_000));

    let ready = daemon.wait_notify("READY=1");
    assert!(ready.contains("STATUS=governing"), "{ready}");
    daemon.wait_event("daemon.lifecycle", Some("started"));
    let address = daemon.metrics_address();
    assert_eq!(http_get(&address, "/healthz").0, 200);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    // The watchdog is fed from the main loop, at most every WATCHDOG_USEC / 2.
    daemon.wait_notify("WATCHDOG=1");
    daemon.wait_notify("WATCHDOG=1");

    // A good reload: RELOADING=1 then READY=1, and the new policy is in force.
    let text = std::fs::read_to_string(&policy).unwrap().replace("max_attempts: 6", "max_attempts: 5");
    std::fs::write(&policy, &text).unwrap();
    daemon.signal("HUP");
    daemon.wait_notify("RELOADING=1");
    daemon.wait_notify("READY=1");
    let reloaded = daemon.wait_event("policy.loaded", Some("policy.reload"));
    let good_hash = reloaded["policy_hash"].as_str().unwrap().to_owned();

    // A bad reload: refused with every problem's place, the old policy stays.
    std::fs::write(&policy, text.replace("shutdown_timeout: 30s", "shutdown_timeout: 30s\n  shutdown_timout: 5s"))
        .unwrap();
    daemon.signal("HUP");
    daemon.wait_notify("RELOADING=1");
    daemon.wait_notify("READY=1");
    let refused = daemon.wait_event("policy.rejected", Some("policy.reload"));
    assert_eq!(refused["policy_hash"], good_hash.as_str(), "the policy in force is the last good one");
    let reason = refused["reason"].as_str().unwrap();
    assert!(reason.contains("policy.yaml:") && reason.contains("shutdown_timout"), "{reason}");
    assert!(reason.contains("did you mean"), "{reason}");
    daemon.wait_stderr("shutdown_timout"); // the problem is printed too
    assert_eq!(http_get(&address, "/readyz").0, 200, "still governing under the old policy");
    let (_, metrics) = http_get(&address, "/metrics");
    assert!(metrics.contains(r#"driftguard_policy_reloads_total{outcome="rejected"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"driftguard_policy_reloads_total{outcome="succeeded"} 1"#), "{metrics}");

    // Stop: STOPPING=1, a drained exit 0.
    daemon.signal("TERM");
    daemon.wait_notify("STOPPING=1");
    assert_eq!(daemon.exit_code(), 0, "{}", daemon.stderr());
    assert!(daemon.seen.iter().any(|v| v["event"] == "daemon.lifecycle" && v["action"] == "stopped"));
    let order: Vec<&str> = daemon
        .notified
        .iter()
        .filter(|m| !m.starts_with("WATCHDOG"))
        .map(|m| m.lines().next().unwrap_or_default())
        .collect();
    assert_eq!(order, ["READY=1", "RELOADING=1", "READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]);
}

#[test]
fn a_second_daemon_on_the_same_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), "http://127.0.0.1:9", IDLE, "");
    let mut first = Daemon::start(dir.path(), &policy, &[], None);
    first.wait_notify("READY=1");

    let mut second = Daemon::start(dir.path(), &policy, &[], None);
    assert_eq!(second.exit_code(), 1);
    assert!(second.stderr().contains("another driftguard run holds"), "{}", second.stderr());
    assert_eq!(second.drain_notify(), Vec::<String>::new(), "the refused daemon never said READY");
    assert_eq!(http_get(&first.metrics_address_or_wait(), "/readyz").0, 200, "the first one is untouched");
}

#[test]
fn a_refused_policy_or_webhook_variable_exits_78_before_ready() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), "http://127.0.0.1:9", IDLE, "flows_typo: 1\n");
    let mut daemon = Daemon::start(dir.path(), &policy, &[], None);
    assert_eq!(daemon.exit_code(), 78);
    assert!(daemon.stderr().contains("policy.yaml:"), "{}", daemon.stderr());
    assert_eq!(daemon.drain_notify(), Vec::<String>::new());

    let hook =
        "notifications:\n  webhooks:\n    - name: team\n      format: slack\n      url_env: DG_TEST_UNSET_HOOK\n";
    let policy = self::policy(dir.path(), "http://127.0.0.1:9", IDLE, hook);
    let mut daemon = Daemon::start(dir.path(), &policy, &[], None);
    assert_eq!(daemon.exit_code(), 78);
    assert!(daemon.stderr().contains("DG_TEST_UNSET_HOOK is not set"), "{}", daemon.stderr());
    assert!(!dir.path().join("state.db").exists(), "nothing was touched, not even the store");
}

#[test]
fn scheduled_detect_cycles_report_metrics_and_one_webhook_message_per_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    let ids = moto.fixture(&["seed", state.to_str().unwrap()]);
    moto.fixture(&["mutate", ids.trim()]);
    // A type DriftGuard does not compare: reported by every cycle, never dropped.
    let mut document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    document["resources"].as_array_mut().unwrap().push(serde_json::json!({
        "mode": "managed", "type": "aws_lambda_function", "name": "f",
        "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
        "instances": [{"schema_version": 0, "attributes": {"id": "f"}}]
    }));
    std::fs::write(&state, document.to_string()).unwrap();
    // Both webhooks go to one receiver whose first two answers are a 500 and a 429.
    let sink = Sink::start(2);
    let secret = "T000-SECRET-TOKEN-b7f";
    let extra = format!(
        "terraform:\n  states:\n    - name: app\n      backend: local\n      paths: [\"{}\"]\nnotifications:\n  webhooks:\n    - name: team-slack\n      format: slack\n      url_env: DG_HOOK_SLACK\n      max_per_minute: 60\n    - name: audit-generic\n      format: generic\n      url_env: DG_HOOK_GENERIC\n      events: [escalated]\n",
        state.display()
    );
    let policy = policy(dir.path(), &moto.endpoint, "* * * * * *", &extra);
    let slack_url = format!("http://127.0.0.1:{}/services/{secret}", sink.port);
    let generic_url = format!("http://127.0.0.1:{}/generic/{secret}", sink.port);
    let mut daemon =
        Daemon::start(dir.path(), &policy, &[("DG_HOOK_SLACK", &slack_url), ("DG_HOOK_GENERIC", &generic_url)], None);
    daemon.wait_notify("READY=1");
    // Two whole cycles.
    for _ in 0..2 {
        let finished = daemon.wait_for("a detect run.finished", |v| {
            v["event"] == "run.finished" && v["reason"].as_str().is_some_and(|r| r.ends_with("findings"))
        });
        assert_eq!(finished["reason"], "16 findings", "{finished}");
    }
    // One message per webhook for the three escalations of the first cycle (the second
    // cycle escalates nothing new), delivered through a 500 and a 429.
    let delivered = daemon
        .wait_count("two delivered webhooks", 2, |v| v["event"] == "notification.sent" && v["outcome"] == "succeeded");
    let mut names: Vec<String> =
        delivered.iter().map(|v| v["reason"].as_str().unwrap().split(':').next().unwrap().to_owned()).collect();
    names.sort();
    assert_eq!(names, ["webhook audit-generic", "webhook team-slack"]);

    let address = daemon.metrics_address();
    let (status, exposition) = http_get(&address, "/metrics");
    assert_eq!(status, 200);
    promtool_check(&exposition);
    for expected in [
        r#"driftguard_findings{kind="modified",resource_type="aws_security_group",severity="critical"} 1"#,
        r#"driftguard_findings{kind="unmanaged",resource_type="aws_s3_bucket",severity="low"} 1"#,
        r#"driftguard_api_calls_total{code="ok",provider="aws",service="ec2"}"#,
        r#"driftguard_cycle_duration_seconds_count{job="detect",outcome="succeeded"}"#,
        r#"driftguard_last_success_timestamp_seconds{job="detect"}"#,
        r#"driftguard_remediations_total{outcome="simulated"}"#,
        r#"driftguard_webhook_deliveries_total{outcome="succeeded",webhook="team-slack"} 1"#,
        r#"driftguard_webhook_deliveries_total{outcome="succeeded",webhook="audit-generic"} 1"#,
        r#"driftguard_unsupported_resources{resource_type="aws_lambda_function"} 1"#,
    ] {
        assert!(exposition.contains(expected), "missing {expected}\n{exposition}");
    }

    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(), 0, "{}", daemon.stderr());

    let requests = sink.requests();
    let ok: Vec<&serde_json::Value> = requests.iter().filter(|r| r["status"] == 200).collect();
    assert_eq!(ok.len(), 2, "one message per webhook, not one per finding: {requests:#?}");
    assert_eq!(requests.len(), 4, "the 500 and the 429 were retried: {requests:#?}");
    let slack = ok.iter().find(|r| r["path"].as_str().unwrap().starts_with("/services/")).unwrap();
    let text = slack["body"]["text"].as_str().unwrap();
    assert!(text.contains("3 finding(s) escalated") && text.contains("(dry-run)"), "{text}");
    assert_eq!(slack["body"]["blocks"][0]["type"], "section");
    let generic = ok.iter().find(|r| r["path"].as_str().unwrap().starts_with("/generic/")).unwrap();
    assert_eq!(generic["body"]["source"], "driftguard");
    assert_eq!(generic["body"]["counts"]["escalated"], 3);
    assert_eq!(generic["body"]["items"].as_array().unwrap().len(), 3);
    assert_eq!(generic["content_type"], "application/json");

    // The report of the last cycle, written whole.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 16);
    assert_eq!(report["unsupported"], serde_json::json!({"aws_lambda_function": 1}));
    // The URL is a secret: never in a log line or an error.
    let log: String = daemon.seen.iter().map(serde_json::Value::to_string).collect();
    assert!(!log.contains(secret) && !daemon.stderr().contains(secret), "a webhook URL was logged");
}

/// An account whose credentials reach another account: every job refuses it, the
/// daemon goes on with the others, counts and announces the refusal, and reports not
/// ready (degraded) while it lasts.
#[test]
fn a_refused_account_is_counted_announced_and_marks_readiness_degraded() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let sink = Sink::start(0);
    let extra = "notifications:\n  webhooks:\n    - name: security\n      format: generic\n      url_env: DG_HOOK\n      events: [account_refused]\n";
    let policy = policy(dir.path(), &moto.endpoint, "* * * * * *", extra);
    let mislabelled = format!(
        "      endpoint: {endpoint}\n    - account: \"333333333333\"\n      environment: sandbox\n      regions: [us-east-1]\n      endpoint: {endpoint}\n      assume_role:\n        role_arn: arn:aws:iam::444444444444:role/driftguard\n",
        endpoint = moto.endpoint
    );
    let text = std::fs::read_to_string(&policy).unwrap().replacen(
        &format!("      endpoint: {}\n", moto.endpoint),
        &mislabelled,
        1,
    );
    std::fs::write(&policy, text).unwrap();
    let hook = format!("http://127.0.0.1:{}/hook", sink.port);
    let mut daemon = Daemon::start(dir.path(), &policy, &[("DG_HOOK", &hook)], None);
    daemon.wait_notify("READY=1");
    let refusal = daemon.wait_event("account.identity_mismatch", None);
    assert_eq!(refusal["account"], "333333333333");
    assert_eq!(refusal["actual_account"], "444444444444");
    let finished = daemon.wait_for("a detect run.finished", |v| v["event"] == "run.finished");
    assert_eq!(finished["outcome"], "failed", "{finished}");
    assert!(finished["reason"].as_str().unwrap().contains("1 account(s) refused"), "{finished}");
    daemon.wait_for("the announcement", |v| v["event"] == "notification.sent" && v["outcome"] == "succeeded");

    let address = daemon.metrics_address();
    let (status, body) = http_get(&address, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("degraded: account(s) refused: aws/333333333333 (identity_mismatch)"), "{body}");
    let (_, exposition) = http_get(&address, "/metrics");
    promtool_check(&exposition);
    assert!(
        exposition.contains(
            r#"driftguard_account_refusals_total{account="333333333333",provider="aws",reason="identity_mismatch"}"#
        ),
        "{exposition}"
    );
    assert!(exposition.contains(r#"driftguard_cycle_duration_seconds_count{job="detect",outcome="failed"}"#));
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(), 0, "{}", daemon.stderr());

    let requests = sink.requests();
    let message = requests.iter().find(|r| r["status"] == 200).unwrap_or_else(|| panic!("{requests:#?}"));
    assert_eq!(message["body"]["counts"]["account_refused"], 1, "{message}");
    let item = &message["body"]["items"][0];
    assert_eq!(item["event"], "account_refused");
    assert_eq!(item["account"], "333333333333");
    // The verified account was governed all along: its calls were made.
    assert!(daemon.seen.iter().any(|v| v["event"] == "run.started"), "jobs ran");
}

#[test]
fn the_pace_holds_at_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    moto.fixture(&["seed", state.to_str().unwrap()]);
    let rate = 5.0;
    let text = std::fs::read_to_string(policy(dir.path(), &moto.endpoint, IDLE, ""))
        .unwrap()
        .replace("      endpoint:", "      max_requests_per_second: 5\n      endpoint:");
    std::fs::write(dir.path().join("policy.yaml"), text).unwrap();
    let before = moto.times().len();
    let (code, _, stderr) =
        run(common::emulated(dir.path()).args(["detect", "--once", "--policy", "policy.yaml", "--state"]).arg(&state));
    assert_eq!(code, 0, "{stderr}");
    let times: Vec<f64> = moto.times()[before..].iter().map(|(t, _, _)| *t).collect();
    // Twice the burst at least: the calls past it are paced (the standard fixture's detect
    // now takes about 15 calls).
    assert!(times.len() > 2 * 5, "enough calls to see the pace: {}", times.len());
    // A token bucket of `rate` per second with a burst of `rate`: any window of w seconds
    // holds at most rate + rate * w calls (a little slack for clock granularity).
    for (i, start) in times.iter().enumerate() {
        for (j, end) in times.iter().enumerate().skip(i) {
            let calls = f64::from(u32::try_from(j - i + 1).unwrap());
            let window = end - start;
            assert!(calls <= rate + rate * window + 1.0, "{calls} calls in {window:.3}s at {rate}/s");
        }
    }
}

impl Daemon {
    fn metrics_address_or_wait(&mut self) -> String {
        if !self.seen.iter().any(|v| v["event"] == "daemon.lifecycle" && v["action"] == "started") {
            self.wait_event("daemon.lifecycle", Some("started"));
        }
        self.metrics_address()
    }
}

/// A Terraform root whose state holds the bucket `dg-drain`, with the stand-in's `mode`
/// (tests/support/fake_terraform.py): phase 1 for it hangs.
fn hanging_workdir(dir: &Path, mode: &str) -> PathBuf {
    let workdir = dir.join("iac");
    std::fs::create_dir_all(&workdir).unwrap();
    let state = serde_json::json!({
        "version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "drain", "outputs": {},
        "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": "dg-drain", "bucket": "dg-drain", "force_destroy": true}}]}]
    });
    std::fs::write(workdir.join("terraform.tfstate"), state.to_string()).unwrap();
    std::fs::write(workdir.join("fake-terraform.json"), mode).unwrap();
    workdir
}

/// A janitor policy with phase 1 through the terraform stand-in, every second.
fn janitor_policy(dir: &Path, moto: &Moto, workdir: &Path) -> PathBuf {
    let extra = format!(
        r#"protection:
  tags:
    - key: Environment
      values: [production]
  name_prefix: dg-
  caps:
    max_deletions_per_run: 20
    max_delete_percent: 100
janitor:
  enabled: true
  targets: [aws_s3_bucket]
  grace_period: 0s
  phases: [iac, api]
  revenant_check_after: 10m
  delete_allowlist:
    aws: ["{ACCOUNT}"]
  iac:
    command: {terraform}
    args: [destroy, -auto-approve, -input=false, -no-color]
    timeout: 4s
    env:
      AWS_ENDPOINT_URL: {endpoint}
      DG_FAKE_TERRAFORM_PYTHON: {python}
    workdirs:
      "dg-drain": "{workdir}"
"#,
        terraform = common::root().join("tests/support/terraform").display(),
        endpoint = moto.endpoint,
        python = common::moto::emulator_python().display(),
        workdir = workdir.display(),
    );
    let path = policy(dir, &moto.endpoint, IDLE, &extra);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("dry_run: true", "dry_run: false")
        .replace("schedules:\n", "schedules:\n  janitor:\n    cron: \"* * * * * *\"\n");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sigterm_finishes_the_transition_in_hand_starts_nothing_new_and_overlapping_ticks_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.janitor_fixture(&["create-bucket", "dg-drain", "2020-01-01"]);
    // Its phase 1 hangs (the stand-in's "hang" mode) until the policy's 4 s IaC timeout.
    let workdir = hanging_workdir(dir.path(), r#"{"mode": "hang"}"#);
    let policy = janitor_policy(dir.path(), &moto, &workdir);

    let mut daemon = Daemon::start(dir.path(), &policy, &[], None);
    daemon.wait_notify("READY=1");
    daemon.wait_for("the mark", |v| v["event"] == "janitor.transition" && v["to_state"] == "marked");
    daemon.wait_for("phase 1", |v| v["event"] == "janitor.transition" && v["to_state"] == "phase1");
    // While terraform hangs, the next ticks find the job still running.
    let skipped = daemon.wait_event("job.skipped", Some("janitor"));
    assert_eq!(skipped["reason"], "its previous run is still going");

    daemon.signal("TERM");
    daemon.wait_notify("STOPPING=1");
    let address = daemon.metrics_address();
    assert_eq!(http_get(&address, "/readyz").0, 503, "not ready while draining");
    // The transition in hand finishes (phase 1 times out, the item moves to phase 2 and is
    // persisted); phase 2 does not start.
    let moved = daemon.wait_for("phase 2", |v| v["event"] == "janitor.transition" && v["to_state"] == "phase2");
    assert_eq!(moved["from_state"], "phase1");
    let finished = daemon.wait_event("run.finished", None);
    assert!(finished["reason"].as_str().unwrap().contains("interrupted by a stop request"), "{finished}");
    assert_eq!(daemon.exit_code(), 0, "{}", daemon.stderr());
    let started = daemon.seen.iter().filter(|v| v["event"] == "run.started").count();
    assert_eq!(started, 2, "the mark run and the deleting run; nothing after the stop");
    assert!(
        !daemon.seen.iter().any(|v| v["event"] == "cloud.mutation" && v["action"] != "tag:mark"),
        "no deletion started after the stop"
    );
    let snapshot: serde_json::Value = serde_json::from_str(&moto.janitor_fixture(&["snapshot"])).unwrap();
    assert!(snapshot["buckets"].get("dg-drain").is_some(), "phase 2 never ran");
    let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let item = store.janitor_items().unwrap().into_iter().find(|i| i.resource_id == "dg-drain").unwrap();
    assert_eq!(item.state, "phase2", "the persisted state is where the drain left it");
    drop(store);

    // The next run resumes it through the API.
    let (code, events, stderr) = common::janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(events.iter().any(|e| e["event"] == "janitor.transition" && e["to_state"] == "deleted"), "{stderr}");
    let snapshot: serde_json::Value = serde_json::from_str(&moto.janitor_fixture(&["snapshot"])).unwrap();
    assert!(snapshot["buckets"].get("dg-drain").is_none());
}

#[test]
fn a_second_stop_signal_exits_at_once_and_the_next_run_resumes_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    moto.janitor_fixture(&["create-bucket", "dg-drain", "2020-01-01"]);
    // The stand-in hangs a few seconds, then gives up without deleting anything.
    let workdir = hanging_workdir(dir.path(), r#"{"mode": "hang", "hang_seconds": 3}"#);
    let policy = janitor_policy(dir.path(), &moto, &workdir);

    let mut daemon = Daemon::start(dir.path(), &policy, &[], None);
    daemon.wait_notify("READY=1");
    let phase1 = daemon.wait_for("phase 1", |v| v["event"] == "janitor.transition" && v["to_state"] == "phase1");
    daemon.signal("TERM");
    daemon.wait_event("daemon.lifecycle", Some("stopping"));
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(), 1, "{}", daemon.stderr());
    let forced = daemon.seen.iter().find(|v| v["action"] == "forced").expect("the forced exit is logged");
    assert!(forced["reason"].as_str().unwrap().contains("1 job(s) abandoned"), "{forced}");
    assert!(
        !daemon.seen.iter().any(|v| v["event"] == "run.finished" && v["run_id"] == phase1["run_id"]),
        "the deleting run did not get to finish"
    );

    // The store says where it stopped; the next run finishes the deletion through the API.
    let store = driftguard_store::Store::open(&dir.path().join("state.db")).unwrap();
    let item = store.janitor_items().unwrap().into_iter().find(|i| i.resource_id == "dg-drain").unwrap();
    // In flight: phase 1, or phase 2 when the stand-in gave up just before the exit.
    assert!(["phase1", "phase2"].contains(&item.state.as_str()), "{}", item.state);
    drop(store);
    let (code, events, stderr) = common::janitor(dir.path(), &policy, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("resumed"), "{stderr}");
    assert!(events.iter().any(|e| e["event"] == "janitor.transition" && e["to_state"] == "deleted"), "{stderr}");
}
