//! `driftguard`: the binary wires the pure core (engine, janitor) to the edges (store,
//! logs, command line). It holds no governance logic of its own.

mod audit;
mod cli;
mod commands;
mod daemon;
mod exit;
mod runner;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap exits 2 on usage errors; 2 means "drift found" here, so map to 64.
            let code = if error.use_stderr() { exit::Exit::Usage } else { exit::Exit::Success };
            let _ = error.print();
            return code.into();
        }
    };
    commands::dispatch(&cli).into()
}
