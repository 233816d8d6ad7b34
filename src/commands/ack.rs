//! `driftguard ack`: a person takes responsibility for a known drift until a date.

use chrono::{DateTime, NaiveDate, Utc};
use driftguard_engine::audit::{AuditEventName, Outcome};
use driftguard_engine::finding::{Context, Event, step};
use driftguard_store::{AckRecord, EffectsStatus, OutboxState, TransitionRecord};

use crate::audit;
use crate::cli::Cli;
use crate::exit::Exit;
use crate::job::{load_for_action, open_store, run_record};
use crate::runner::machine_of;

/// Parses `--until`: a date (the acknowledgement runs to the end of that day, UTC) or an
/// RFC 3339 date-time.
pub fn parse_until(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc());
    }
    Err(format!("--until {text:?}: expected an RFC 3339 date (2026-12-31) or date-time"))
}

pub fn run(cli: &Cli, finding_id: &str, until: &str, reason: &str, by: Option<&str>) -> Exit {
    let now = Utc::now();
    let until = match parse_until(until) {
        Ok(until) if until > now => until,
        Ok(_) => {
            eprintln!("driftguard ack: --until must be in the future");
            return Exit::Usage;
        }
        Err(message) => {
            eprintln!("driftguard ack: {message}");
            return Exit::Usage;
        }
    };
    if reason.trim().is_empty() {
        eprintln!("driftguard ack: --reason must say why");
        return Exit::Usage;
    }
    let by = by.map_or_else(|| std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()), str::to_owned);
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let _lock = match crate::job::lock_store_if_free(&policy, "ack") {
        Ok(lock) => lock,
        Err(exit) => return exit,
    };
    let mut store = match open_store(&policy) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let mut record = match store.finding(finding_id) {
        Ok(Some(record)) => record,
        Ok(None) => {
            eprintln!("driftguard ack: no finding {finding_id:?} in {}", policy.store_path());
            return Exit::Runtime;
        }
        Err(error) => {
            eprintln!("driftguard ack: {error}");
            return Exit::Runtime;
        }
    };
    let Ok(machine) = machine_of(&record) else {
        eprintln!("driftguard ack: finding {finding_id} has a state this driftguard does not know");
        return Exit::Runtime;
    };
    let context = Context {
        steps: driftguard_engine::next::steps(&policy, record.flow.as_deref()),
        max_attempts: 1,
        dry_run: true,
        protected: None,
        remediation_allowed: false,
        remediations_left: 0,
    };
    let event = Event::Acknowledge { until, reason: reason.to_owned(), by: by.clone() };
    let Ok((next, _)) = step(&machine, &event, &context) else {
        eprintln!("driftguard ack: finding {finding_id} is {} and cannot be acknowledged", machine.state);
        return Exit::Runtime;
    };
    let run_id = uuid::Uuid::new_v4().to_string();
    next.state.as_str().clone_into(&mut record.state);
    record.updated_at = now;
    if let Some(detail) = record.detail.as_object_mut() {
        detail.insert("ack_until".to_owned(), serde_json::json!(until.to_rfc3339()));
    }
    let transition = TransitionRecord {
        seq: None,
        run_id: run_id.clone(),
        finding_id: record.id.clone(),
        at: now,
        from_state: machine.state.as_str().to_owned(),
        to_state: next.state.as_str().to_owned(),
        event: "acknowledge".to_owned(),
        effects: serde_json::json!([]),
        effects_status: EffectsStatus::None,
        outcome: Some(format!("by {by} until {}: {reason}", until.to_rfc3339())),
        dry_run: policy.dry_run(),
        policy_hash: policy.hash().to_owned(),
    };
    let ack = AckRecord {
        finding_id: record.id.clone(),
        fingerprint: record.fingerprint.clone(),
        until: Some(until),
        reason: reason.to_owned(),
        by_whom: by.clone(),
        created_at: now,
    };
    let mut audit_record =
        run_record(&policy, &run_id, policy.dry_run(), AuditEventName::FindingAcknowledged, Outcome::Succeeded);
    audit_record.finding_id = Some(record.id.clone());
    audit_record.provider = Some(record.provider.clone());
    audit_record.account = Some(record.account.clone());
    audit_record.region = Some(record.region.clone());
    audit_record.resource_type = Some(record.resource_type.clone());
    audit_record.resource_id = Some(record.resource_id.clone());
    audit_record.from_state = Some(machine.state.as_str().to_owned());
    audit_record.to_state = Some(next.state.as_str().to_owned());
    audit_record.reason = Some(format!("{reason} (by {by}, until {})", until.to_rfc3339()));
    // Stored with the transition (the outbox), then written: never one without the other.
    let message = format!("finding {} acknowledged until {}", record.id, until.to_rfc3339());
    let entries =
        [audit::entry(&audit_record, &message, &audit::OutboxSubject::Finding(record.id.clone()), OutboxState::Ready)];
    if let Err(error) = store
        .record_transition_audited(&record, &transition, &entries)
        .and_then(|_| store.put_ack(&ack))
        .and_then(|()| audit::deliver(&store, &entries))
    {
        eprintln!("driftguard ack: {error}");
        return Exit::Runtime;
    }
    eprintln!("acknowledged {} until {}", record.id, until.to_rfc3339());
    Exit::Success
}
