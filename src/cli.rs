//! The command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0   success (detect --once: no drift)
  1   runtime error (cloud, store, I/O); janitor: a deletion failed
  2   detect --once: drift found
  64  usage error
  78  policy error: the policy was refused and nothing was touched

Environment:
  DRIFTGUARD_POLICY          policy file (default /etc/driftguard/policy.yaml)
  DRIFTGUARD_LOG_FORMAT      json | text
  DRIFTGUARD_<KEY>__<KEY>    overrides a policy key, e.g. DRIFTGUARD_RETRY__MAX_ATTEMPTS=3";

/// DriftGuard keeps cloud infrastructure true to its Terraform state and sandbox accounts
/// clean, governed by one policy file.
#[derive(Debug, Parser)]
#[command(name = "driftguard", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// The policy file.
    #[arg(long, global = true, env = "DRIFTGUARD_POLICY", default_value = "/etc/driftguard/policy.yaml")]
    pub policy: PathBuf,
    /// Simulate: change nothing in any cloud, whatever the policy and environment say.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Log format (default: the policy's, else json unless stdout is a terminal).
    #[arg(long, global = true, env = "DRIFTGUARD_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Text,
}

/// Output format of `coverage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// One line per type.
    Text,
    /// A JSON array of {provider, resource_type, compared, part_of, attributes, remediation, unmanaged, janitor, ...}.
    Json,
    /// The Markdown table README.md carries (CI checks it is current).
    Markdown,
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// `FILE:LINE:COL: path: message` lines on stderr.
    Text,
    /// A JSON array of {file, line, column, path, message} on stdout.
    Json,
}

/// Output formats of `history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
}

/// Schemas `schema` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// policy.yaml.
    Policy,
    /// One line of the JSON log.
    AuditEvent,
    /// The report written by `detect`.
    DriftReport,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: scheduled detect and janitor jobs, reload on SIGHUP, drain on
    /// SIGTERM, systemd notify and watchdog, metrics on the policy's listen address.
    Run {
        /// Write each detect cycle's report here (default: the policy's daemon.report_path).
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Compile the policy and report every mistake (the same compile as startup).
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ValidateFormat,
    },
    /// Detect drift between Terraform state and the cloud.
    Detect {
        /// Run one cycle and exit (0: no drift, 2: drift).
        #[arg(long)]
        once: bool,
        /// Terraform state file (repeatable); replaces the policy's state sources.
        #[arg(long)]
        state: Vec<PathBuf>,
        /// Write the drift report (JSON) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write Terraform (>= 1.5) import blocks for the unmanaged resources found here.
        #[arg(long)]
        import_blocks: Option<PathBuf>,
    },
    /// Remove expired resources (two-phase nuke).
    Janitor {
        /// Run one cycle and exit.
        #[arg(long)]
        once: bool,
        /// Write the reviewed deletion plan here (with --dry-run).
        #[arg(long, conflicts_with = "apply_plan")]
        plan_out: Option<PathBuf>,
        /// Delete exactly the items of a reviewed plan.
        #[arg(long)]
        apply_plan: Option<PathBuf>,
    },
    /// Run recorded drift (a JSON list of detected drift) through the policy's state
    /// machine, always as a dry run: test governance like code.
    Simulate {
        /// JSON file: an array of detected drift.
        #[arg(long)]
        findings: PathBuf,
        /// Write the drift report (JSON) here.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Show the persisted transition history.
    History {
        /// Only this resource (cloud id or Terraform address).
        #[arg(long)]
        resource: Option<String>,
        /// Only this finding.
        #[arg(long)]
        finding: Option<String>,
        /// Only transitions newer than this (e.g. 7d, 24h) or since an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many (the newest).
        #[arg(long)]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: HistoryFormat,
    },
    /// Print a JSON schema.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Print the resource catalogue: every Terraform type DriftGuard knows, what it
    /// compares and restores, and what the janitor may delete. Needs no policy.
    Coverage {
        /// Output format: a table (text) or an array of objects (json).
        #[arg(long, value_enum, default_value = "text")]
        format: CoverageFormat,
    },
    /// Acknowledge a finding: suppress it until a date or until the drift changes.
    Ack {
        /// The finding id.
        finding: String,
        /// Until when: an RFC 3339 date (2026-12-31) or date-time.
        #[arg(long)]
        until: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}
