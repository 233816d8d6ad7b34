//! Log output and audit emission. The JSON log is an interface: every line carries
//! `timestamp`, `level`, `message`, `target` and `event` (schemas/audit-event.schema.json),
//! and audit events are emitted here and nowhere else.

use std::io::IsTerminal;

use std::collections::BTreeSet;
use std::sync::Mutex;

use driftguard_engine::audit::{AUDIT_TARGET, AuditRecord, Outcome};
use driftguard_engine::model::{LogFormat, LogLevel};
use driftguard_store::{OutboxEntry, OutboxState, Store, StoreError};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormatArg;

/// Sets up the global subscriber. `cli` beats the policy; `auto` is json unless stdout
/// is a terminal.
pub fn init(cli: Option<LogFormatArg>, policy: LogFormat, level: LogLevel) {
    let json = match (cli, policy) {
        (Some(LogFormatArg::Json), _) | (None, LogFormat::Json) => true,
        (Some(LogFormatArg::Text), _) | (None, LogFormat::Text) => false,
        (None, LogFormat::Auto) => !std::io::stdout().is_terminal(),
    };
    let level = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    // Audit events are info; they are never filtered away by the level. SDK transports
    // stay at info whatever the level: azure_core 0.21 logs request headers at debug with
    // its redaction inverted (the bearer token would be printed). The Azure adapter strips
    // the header before that line too; this is the second guard.
    // The scheduler narrates its own start-up at info; only its warnings belong in the log.
    let filter = EnvFilter::new(format!(
        "{level},{AUDIT_TARGET}=info,azure_core=info,azure_identity=info,reqwest=info,hyper=info,h2=info,tokio_cron_scheduler=warn"
    ));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
    let result = if json {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).try_init()
    } else {
        builder.with_target(false).with_ansi(std::io::stdout().is_terminal()).try_init()
    };
    // A second init (tests calling twice) keeps the first subscriber; nothing to do.
    drop(result);
}

fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Simulated => "simulated",
        Outcome::Blocked => "blocked",
        Outcome::Noted => "noted",
        Outcome::Unknown => "unknown",
    }
}

/// Emits one audit event straight to the log (a fresh `event_id` unless it has one).
/// Records of what the store keeps (transitions, cloud calls) go through the outbox
/// instead: [`entry`], then [`deliver`].
pub fn emit(record: &AuditRecord, message: &str) {
    let event_id = record.event_id.clone().unwrap_or_else(new_event_id);
    emit_line(record, &event_id, message);
}

fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn emit_line(record: &AuditRecord, event_id: &str, message: &str) {
    tracing::info!(
        target: AUDIT_TARGET,
        event = record.event.as_str(),
        event_id,
        action = record.action.as_str(),
        outcome = outcome(record.outcome),
        dry_run = record.dry_run,
        run_id = record.run_id.as_str(),
        host = record.host.as_str(),
        policy_hash = record.policy_hash.as_str(),
        provider = record.provider.as_deref(),
        account = record.account.as_deref(),
        principal = record.principal.as_deref(),
        actual_account = record.actual_account.as_deref(),
        region = record.region.as_deref(),
        resource_type = record.resource_type.as_deref(),
        resource_id = record.resource_id.as_deref(),
        finding_id = record.finding_id.as_deref(),
        rule = record.rule.as_deref(),
        severity = record.severity.as_deref(),
        from_state = record.from_state.as_deref(),
        to_state = record.to_state.as_deref(),
        reason = record.reason.as_deref(),
        "{message}"
    );
}

/// The host name, for audit events.
pub fn host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

// The outbox. A record of something the store keeps (a transition, a cloud call) is put
// in the store's outbox in the same transaction as what it tells of (a call's record
// before the call, "in doubt"), written to the log, then removed by the store's next
// write transaction (or when the store closes). A crash before the removal leaves it in
// the outbox, and the next process start writes it (`replay`): no record is lost, and
// one written twice (a crash between the write and the removal) is the same record with
// the same `event_id`. An in-doubt record (the
// process died during the call) is settled once from live state by whoever owns its
// subject (the finding runner, the janitor): exactly one record per call, saying what
// the cloud shows.

/// What settles an outbox record left in doubt: the owner of its subject. Stored as text
/// (`finding:ID`, `janitor:KEY`, `workdir:DIR`); everywhere else it is this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxSubject {
    /// A finding's remediation calls: settled by the runner, from the drift.
    Finding(String),
    /// A janitor item's calls (mark, unmark, delete): settled by the janitor, from listing.
    Janitor(String),
    /// A phase-1 destroy in a working directory: settled from the directory's state.
    Workdir(String),
}

impl OutboxSubject {
    /// The stored form.
    pub fn to_text(&self) -> String {
        match self {
            OutboxSubject::Finding(id) => format!("finding:{id}"),
            OutboxSubject::Janitor(key) => format!("janitor:{key}"),
            OutboxSubject::Workdir(dir) => format!("workdir:{dir}"),
        }
    }

    /// The stored form read back (`None`: a subject of a newer driftguard, left alone).
    pub fn parse(text: &str) -> Option<OutboxSubject> {
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "finding" => Some(OutboxSubject::Finding(rest.to_owned())),
            "janitor" => Some(OutboxSubject::Janitor(rest.to_owned())),
            "workdir" => Some(OutboxSubject::Workdir(rest.to_owned())),
            _ => None,
        }
    }
}

/// Runs in progress in this process: their in-doubt records are calls in flight, not
/// interrupted ones, and are never settled by another job.
static LIVE_RUNS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Marks a run as in progress until dropped.
#[derive(Debug)]
pub struct LiveRun(String);

impl LiveRun {
    /// Marks `run_id` live.
    pub fn enter(run_id: &str) -> Self {
        LIVE_RUNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(run_id.to_owned());
        Self(run_id.to_owned())
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        LIVE_RUNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.0);
    }
}

/// A record on its way to the log: what the store keeps (`entry`) and the record in hand
/// (written without reading the stored text back).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The stored form.
    pub entry: OutboxEntry,
    record: AuditRecord,
}

impl AsRef<OutboxEntry> for Outgoing {
    fn as_ref(&self) -> &OutboxEntry {
        &self.entry
    }
}

/// An outbox entry for `record` (given an `event_id` if it has none). `subject` names
/// what settles it if it is left in doubt.
pub fn entry(record: &AuditRecord, message: &str, subject: &OutboxSubject, state: OutboxState) -> Outgoing {
    let mut record = record.clone();
    let event_id = record.event_id.get_or_insert_with(new_event_id).clone();
    let entry = OutboxEntry {
        event_id,
        run_id: record.run_id.clone(),
        subject: subject.to_text(),
        state,
        // Serialising a record of strings and enums cannot fail.
        record: serde_json::to_string(&record).unwrap_or_default(),
        message: message.to_owned(),
    };
    Outgoing { entry, record }
}

/// Writes records whose entries are stored, and notes them as written: they leave the
/// outbox with the store's next write (see `Store::outbox_delivered`).
pub fn deliver(store: &Store, items: &[Outgoing]) -> Result<(), StoreError> {
    for item in items {
        emit(&item.record, &item.entry.message);
    }
    let written: Vec<&str> = items.iter().map(|item| item.entry.event_id.as_str()).collect();
    store.outbox_delivered(&written)
}

/// The record of a stored entry.
fn stored_record(entry: &OutboxEntry) -> Result<AuditRecord, StoreError> {
    serde_json::from_str(&entry.record)
        .map_err(|error| StoreError::Corrupt(format!("audit_outbox row {:?}: record: {error}", entry.event_id)))
}

/// At process start, with the store lock held: writes every settled record a stopped
/// process left in the outbox. Returns how many; in-doubt records wait for their owner.
pub fn replay(store: &Store) -> Result<usize, StoreError> {
    let mut ready = Vec::new();
    for entry in store.outbox()?.into_iter().filter(|entry| entry.state == OutboxState::Ready) {
        match stored_record(&entry) {
            Ok(record) => ready.push(Outgoing { entry, record }),
            // Kept, never dropped: a newer driftguard's record, or a damaged row.
            Err(error) => tracing::error!(
                event = "audit.outbox",
                event_id = entry.event_id.as_str(),
                "{error}; it stays in the store's outbox"
            ),
        }
    }
    deliver(store, &ready)?;
    Ok(ready.len())
}

/// In-doubt records of runs not in progress here, with their subjects, those `wanted`.
pub fn in_doubt(
    store: &Store,
    wanted: impl Fn(&OutboxSubject) -> bool,
) -> Result<Vec<(OutboxSubject, OutboxEntry)>, StoreError> {
    let live = LIVE_RUNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    Ok(store
        .outbox()?
        .into_iter()
        .filter(|entry| entry.state == OutboxState::InDoubt && !live.contains(&entry.run_id))
        .filter_map(|entry| Some((OutboxSubject::parse(&entry.subject)?, entry)))
        .filter(|(subject, _)| wanted(subject))
        .collect())
}

/// Puts a call's record in the outbox before the call is made: "in doubt" (outcome
/// `unknown`) until [`finish`] gives its answer, or a later run settles it from live
/// state ([`settle`]). A call whose record cannot be stored must not be made.
pub fn begin(
    store: &mut Store,
    record: &AuditRecord,
    message: &str,
    subject: &OutboxSubject,
) -> Result<OutboxEntry, StoreError> {
    let mut intent = record.clone();
    intent.outcome = Outcome::Unknown;
    let pending = entry(&intent, message, subject, OutboxState::InDoubt);
    store.outbox_put(std::slice::from_ref(&pending))?;
    Ok(pending.entry)
}

/// Gives an in-doubt record its outcome, reason and message, and writes it. Settled by
/// someone else meanwhile: nothing happens.
pub fn finish(
    store: &Store,
    pending: &OutboxEntry,
    outcome: Outcome,
    reason: Option<String>,
    message: &str,
) -> Result<(), StoreError> {
    let mut record = stored_record(pending)?;
    record.outcome = outcome;
    record.reason = reason;
    let text = serde_json::to_string(&record).unwrap_or_default();
    if store.outbox_settle(&pending.event_id, &text, message)? {
        let entry =
            OutboxEntry { state: OutboxState::Ready, record: text, message: message.to_owned(), ..pending.clone() };
        deliver(store, &[Outgoing { entry, record }])?;
    }
    Ok(())
}

/// Settles a record a stopped process left in doubt with what live state shows.
pub fn settle(store: &Store, entry: &OutboxEntry, outcome: Outcome, reason: &str) -> Result<(), StoreError> {
    let message = format!("{} ({}: {reason})", entry.message, self::outcome(outcome));
    finish(store, entry, outcome, Some(reason.to_owned()), &message)
}

/// One recorded call: [`begin`], the call, [`finish`] with its answer. A failed call
/// says why in its `reason` (an auditor searches for denials there); a succeeded one
/// keeps the record's own reason.
pub fn call<T>(
    store: &mut Store,
    record: &AuditRecord,
    message: &str,
    subject: &OutboxSubject,
    call: impl FnOnce() -> Result<T, String>,
) -> Result<Result<T, String>, StoreError> {
    let pending = begin(store, record, message, subject)?;
    let result = call();
    match &result {
        Ok(_) => finish(store, &pending, Outcome::Succeeded, record.reason.clone(), message)?,
        Err(reason) => {
            finish(store, &pending, Outcome::Failed, Some(reason.clone()), &format!("{message}: failed ({reason})"))?;
        }
    }
    Ok(result)
}
