//! `driftguard coverage`: the resource catalogue as users read it. Every type DriftGuard
//! knows, what it compares and can restore, whether live instances can be unmanaged
//! findings, and whether the janitor may delete it. Types a state holds that are not here
//! are reported by `detect` (report section `unsupported`), never dropped.

use driftguard_engine::catalogue;

use crate::cli::CoverageFormat;
use crate::exit::Exit;

pub fn run(format: CoverageFormat) -> Exit {
    let coverage = catalogue::coverage();
    match format {
        CoverageFormat::Json => println!("{}", serde_json::to_string_pretty(&coverage).unwrap_or_default()),
        CoverageFormat::Text => {
            println!("{:<6} {:<52} {:>8} {:>6} {:<9} janitor", "cloud", "type", "compared", "fixed", "unmanaged");
            for line in &coverage {
                println!(
                    "{:<6} {:<52} {:>8} {:>6} {:<9} {}",
                    line.provider.as_str(),
                    line.resource_type,
                    line.attributes.len(),
                    line.remediation.len(),
                    if line.unmanaged { "yes" } else { "-" },
                    if line.janitor { "yes" } else { "-" },
                );
            }
            let compared = coverage.iter().filter(|line| !line.attributes.is_empty()).count();
            println!(
                "{} types: {compared} compared, {} deletable by the janitor (`--format json` names every attribute)",
                coverage.len(),
                coverage.iter().filter(|line| line.janitor).count()
            );
        }
    }
    Exit::Success
}
