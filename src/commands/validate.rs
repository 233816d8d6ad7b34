//! `driftguard validate`: the very compile the daemon runs at startup and on reload.

use driftguard_engine::policy::{Diagnostic, Policy};

use super::{PolicyFailure, compile_policy};
use crate::cli::{Cli, ValidateFormat};
use crate::exit::Exit;

pub fn run(cli: &Cli, format: ValidateFormat) -> Exit {
    let file = cli.policy.display().to_string();
    match compile_policy(cli) {
        Ok(policy) => {
            if format == ValidateFormat::Json {
                println!("[]");
            }
            eprintln!("{file}: OK: {}", summary(&policy));
            Exit::Success
        }
        Err(failure) => {
            let diagnostics: Vec<Diagnostic> = match &failure {
                PolicyFailure::Invalid(diagnostics) => diagnostics.0.clone(),
                PolicyFailure::Read(..) => vec![Diagnostic {
                    file: file.clone(),
                    line: 1,
                    column: 1,
                    path: String::new(),
                    message: failure.lines().join(" "),
                }],
            };
            match format {
                ValidateFormat::Text => {
                    for diagnostic in &diagnostics {
                        eprintln!("{diagnostic}");
                    }
                }
                ValidateFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&diagnostics).unwrap_or_default());
                }
            }
            let count = diagnostics.len();
            eprintln!("{file}: refused: {count} error{}", if count == 1 { "" } else { "s" });
            Exit::Policy
        }
    }
}

fn summary(policy: &Policy) -> String {
    let accounts = policy.providers.aws.len() + policy.providers.gcp.len() + policy.providers.azure.len();
    format!(
        "{} flows, {} classification rules, {} state sources, {} accounts, janitor {}, dry-run {}, sha256 {}",
        policy.flows.len(),
        policy.classification.rules.len(),
        policy.states.len(),
        accounts,
        if policy.janitor.enabled { "on" } else { "off" },
        if policy.dry_run { "on" } else { "off" },
        &policy.hash[..12],
    )
}
