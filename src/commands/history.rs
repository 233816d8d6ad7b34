//! `driftguard history`: the persisted transitions, newest last.

use chrono::{DateTime, NaiveDate, Utc};
use driftguard_engine::policy::checks::parse_duration;
use driftguard_store::HistoryFilter;

use crate::cli::{Cli, HistoryFormat};
use crate::exit::Exit;
use crate::job::{load_for_action, open_store};

/// Parses `--since`: a duration back from now (`7d`), an RFC 3339 time, or a date.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(duration) = parse_duration(text) {
        let duration = chrono::Duration::from_std(duration).map_err(|_| format!("--since {text}: too far back"))?;
        return now.checked_sub_signed(duration).ok_or_else(|| format!("--since {text}: too far back"));
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!("--since {text:?}: expected a duration (7d, 24h) or an RFC 3339 date or time"))
}

pub fn run(
    cli: &Cli,
    resource: Option<&str>,
    finding: Option<&str>,
    since: Option<&str>,
    limit: Option<usize>,
    format: HistoryFormat,
) -> Exit {
    let since = match since.map(|text| parse_since(text, Utc::now())).transpose() {
        Ok(since) => since,
        Err(message) => {
            eprintln!("driftguard history: {message}");
            return Exit::Usage;
        }
    };
    let policy = match load_for_action(cli) {
        Ok(policy) => policy,
        Err(exit) => return exit,
    };
    let store = match open_store(&policy) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let filter =
        HistoryFilter { finding: finding.map(str::to_owned), resource: resource.map(str::to_owned), since, limit };
    let entries = match store.history(&filter) {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("driftguard history: {error}");
            return Exit::Runtime;
        }
    };
    match format {
        HistoryFormat::Json => println!("{}", serde_json::to_string_pretty(&entries).unwrap_or_default()),
        HistoryFormat::Table => {
            println!(
                "{:<6} {:<20} {:<22} {:<28} {:<28} {:<13} DRY-RUN",
                "SEQ", "AT", "FINDING", "RESOURCE", "TRANSITION", "EVENT"
            );
            for entry in &entries {
                let t = &entry.transition;
                println!(
                    "{:<6} {:<20} {:<22} {:<28} {:<28} {:<13} {}",
                    t.seq.unwrap_or_default(),
                    t.at.format("%Y-%m-%dT%H:%M:%SZ"),
                    t.finding_id,
                    entry.resource_id,
                    format!("{} -> {}", t.from_state, t.to_state),
                    t.event,
                    if t.dry_run { "yes" } else { "no" },
                );
            }
            eprintln!("{} transition{}", entries.len(), if entries.len() == 1 { "" } else { "s" });
        }
    }
    Exit::Success
}
