//! `driftguard schema`: schemas generated from the Rust types (checked in under schemas/).

use driftguard_engine::audit::log_line_schema;
use driftguard_engine::policy::file_schema;
use driftguard_engine::report::DriftReport;

use crate::cli::SchemaKind;
use crate::exit::Exit;

/// The schema text, exactly as checked in.
pub fn schema_text(which: SchemaKind) -> String {
    let value = match which {
        SchemaKind::Policy => Ok(file_schema()),
        SchemaKind::AuditEvent => Ok(log_line_schema()),
        SchemaKind::DriftReport => serde_json::to_value(schemars::schema_for!(DriftReport)),
    }
    .unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run(which: SchemaKind) -> Exit {
    print!("{}", schema_text(which));
    Exit::Success
}
