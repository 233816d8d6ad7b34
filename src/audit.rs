//! Log output and audit emission. The JSON log is an interface: every line carries
//! `timestamp`, `level`, `message`, `target` and `event` (schemas/audit-event.schema.json),
//! and audit events are emitted here and nowhere else.

use std::io::IsTerminal;
use std::sync::OnceLock;

use driftguard_engine::audit::{AUDIT_TARGET, AuditRecord, Outcome};
use driftguard_engine::policy::raw::{LogFormat, LogLevel};
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
    }
}

/// Sees every audit record after it is logged (the daemon's metrics and announcements).
pub type Listener = Box<dyn Fn(&AuditRecord) + Send + Sync>;

static LISTENER: OnceLock<Listener> = OnceLock::new();

/// Sets the process's audit listener (once; later calls are ignored).
pub fn listen(listener: Listener) {
    let _ = LISTENER.set(listener);
}

/// Emits one audit event.
pub fn emit(record: &AuditRecord, message: &str) {
    emit_line(record, message);
    if let Some(listener) = LISTENER.get() {
        listener(record);
    }
}

fn emit_line(record: &AuditRecord, message: &str) {
    tracing::info!(
        target: AUDIT_TARGET,
        event = record.event.as_str(),
        action = record.action.as_str(),
        outcome = outcome(record.outcome),
        dry_run = record.dry_run,
        run_id = record.run_id.as_str(),
        host = record.host.as_str(),
        policy_hash = record.policy_hash.as_str(),
        provider = record.provider.as_deref(),
        account = record.account.as_deref(),
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
