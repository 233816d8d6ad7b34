//! `driftguard`: the binary wires the pure core (engine, janitor) to the edges (store,
//! logs, command line). It holds no governance logic of its own.

mod audit;
mod cli;
mod commands;
mod daemon;
mod exit;
mod job;
mod runner;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap exits 2 on usage errors; 2 means "drift found" here, so map to 64.
            let code = if error.use_stderr() { Exit::Usage } else { Exit::Success };
            let _ = error.print();
            return code.into();
        }
    };
    dispatch(&cli).into()
}

/// Runs the command.
fn dispatch(cli: &Cli) -> Exit {
    use commands::{ack, coverage, detect, history, janitor, schema, simulate, validate};
    match &cli.command {
        Command::Validate { format } => validate::run(cli, *format),
        Command::Schema { which } => schema::run(*which),
        Command::Coverage { format } => coverage::run(*format),
        Command::History { resource, finding, since, limit, format } => {
            history::run(cli, resource.as_deref(), finding.as_deref(), since.as_deref(), *limit, *format)
        }
        Command::Ack { finding, until, reason, by } => ack::run(cli, finding, until, reason, by.as_deref()),
        Command::Simulate { findings, report } => simulate::run(cli, findings, report.as_deref()),
        Command::Detect { once: _, state, report, import_blocks } => {
            detect::run(cli, state, report.as_deref(), import_blocks.as_deref())
        }
        Command::Janitor { once: _, plan_out, apply_plan } => {
            janitor::run(cli, plan_out.as_deref(), apply_plan.as_deref())
        }
        Command::Run { report } => daemon::run(cli, report.as_deref()),
    }
}
