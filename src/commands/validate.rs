//! `driftguard validate`: the very compile the daemon runs at startup and on reload.

use driftguard_engine::policy::{Diagnostic, Identity, Policy};

use crate::cli::{Cli, ValidateFormat};
use crate::exit::Exit;
use crate::job::{PolicyFailure, compile_policy};

pub fn run(cli: &Cli, format: ValidateFormat) -> Exit {
    let file = cli.policy.display().to_string();
    match compile_policy(cli) {
        Ok(policy) => {
            if format == ValidateFormat::Json {
                println!("[]");
            }
            eprintln!("{file}: OK: {}", summary(&policy));
            for note in notes(&policy) {
                eprintln!("{file}: note: {note}");
            }
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
    let roles = policy
        .accounts()
        .iter()
        .filter(|account| matches!(&account.identity, Identity::Aws { assume_role: Some(_), .. }))
        .count();
    let caps = &policy.protection();
    let janitor = if policy.janitor().enabled {
        format!(
            "janitor on (caps: {} deletions per run, {}% of a type's prefixed resources in an account holding at \
             least {})",
            caps.max_deletions_per_run, caps.max_delete_percent, caps.percent_min_population
        )
    } else {
        "janitor off".to_owned()
    };
    format!(
        "{} flows, {} classification rules, {} state sources, {} accounts ({roles} through an assumed role), {janitor}, \
         dry-run {}, sha256 {}",
        policy.flows().len(),
        policy.classification().rules.len(),
        policy.states().len(),
        policy.accounts().len(),
        if policy.dry_run() { "on" } else { "off" },
        &policy.hash()[..12],
    )
}

/// What compiles but will not work as written: an account reached through a role in
/// another account is refused by every job (the role's credentials reach the role's
/// account). Not an error: the other accounts still run.
fn notes(policy: &Policy) -> Vec<String> {
    policy
        .accounts()
        .iter()
        .filter_map(|account| {
            let Identity::Aws { assume_role: Some(role), .. } = &account.identity else { return None };
            let other = role.account().filter(|other| *other != account.id)?;
            Some(format!(
                "AWS account {}: assume_role.role_arn is in account {other}; jobs will refuse {} (identity mismatch)",
                account.id, account.id
            ))
        })
        .collect()
}
