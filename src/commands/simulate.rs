//! `driftguard simulate`: recorded drift through the policy's state machine, always dry-run.

use std::path::Path;

use chrono::Utc;
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::report::{DetectedDrift, DriftReport};

use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::{load_for_action, open_store, run_record};
use crate::runner::{RunInfo, Runner};

pub fn run(cli: &Cli, findings: &Path, report_path: Option<&Path>) -> Exit {
    let text = match std::fs::read_to_string(findings) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("driftguard simulate: cannot read {}: {error}", findings.display());
            return Exit::Runtime;
        }
    };
    let drift: Vec<DetectedDrift> = match serde_json::from_str(&text) {
        Ok(drift) => drift,
        Err(error) => {
            eprintln!("driftguard simulate: {}:{}:{}: {error}", findings.display(), error.line(), error.column());
            return Exit::Runtime;
        }
    };
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let _lock = match crate::job::lock_store_if_free(&policy, "simulate") {
        Ok(lock) => lock,
        Err(exit) => return exit,
    };
    let mut store = match open_store(&policy) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let run_id = uuid::Uuid::new_v4().to_string();
    // Its records in doubt are calls in flight: no other job settles them.
    let _live = audit::LiveRun::enter(&run_id);
    let now = Utc::now();
    // A simulation never mutates, whatever the policy says.
    let info = RunInfo { run_id: run_id.clone(), host: audit::host(), dry_run: true };
    if let Err(error) = store.begin_run(&run_id, "simulate", now) {
        eprintln!("driftguard simulate: {error}");
        return Exit::Runtime;
    }
    audit::emit(
        &run_record(&policy, &run_id, true, AuditEventName::RunStarted, Outcome::Noted),
        "simulate run started",
    );
    let mut report_findings = Vec::new();
    let mut runner = Runner::new(&policy, &mut store, info, now);
    match runner.resume() {
        Ok(0) => {}
        Ok(count) => eprintln!("resumed the effects of {count} interrupted transition(s)"),
        Err(error) => {
            eprintln!("driftguard simulate: cannot resume interrupted work: {error}");
            return Exit::Runtime;
        }
    }
    for item in &drift {
        match runner.process(item) {
            Ok(finding) => report_findings.push(finding),
            Err(error) => {
                eprintln!("driftguard simulate: {error}");
                let _ = store.finish_run(&run_id, "failed", Utc::now());
                audit::emit(
                    &run_record(&policy, &run_id, true, AuditEventName::RunFinished, Outcome::Failed),
                    "simulate run failed",
                );
                return Exit::Runtime;
            }
        }
    }
    let report = DriftReport::new(&run_id, policy.hash(), true, Utc::now(), report_findings);
    if let Err(error) = store.finish_run(&run_id, "succeeded", Utc::now()) {
        eprintln!("driftguard simulate: {error}");
        return Exit::Runtime;
    }
    let mut finished = run_record(&policy, &run_id, true, AuditEventName::RunFinished, Outcome::Succeeded);
    finished.reason = Some(format!("{} findings", report.summary.total));
    audit::emit(&finished, "simulate run finished");
    if let Some(path) = report_path {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(error) = std::fs::write(path, text + "\n") {
            eprintln!("driftguard simulate: cannot write {}: {error}", path.display());
            return Exit::Runtime;
        }
    }
    for finding in &report.findings {
        eprintln!(
            "{:<22} {:<9} {:<8} {:<32} {:<24} -> {}",
            finding.id,
            finding.kind.as_str(),
            finding.severity.map_or("-", |s| s.as_str()),
            finding.resource_type,
            finding.attribute.as_deref().unwrap_or("-"),
            finding.state
        );
    }
    eprintln!("{} findings simulated (dry-run)", report.summary.total);
    Exit::Success
}
