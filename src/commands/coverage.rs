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
        CoverageFormat::Markdown => print!("{}", markdown(&coverage)),
        CoverageFormat::Text => {
            println!("{:<6} {:<52} {:>8} {:>6} {:<9} janitor", "cloud", "type", "compared", "fixed", "unmanaged");
            for line in &coverage {
                println!(
                    "{:<6} {:<52} {:>8} {:>6} {:<9} {}",
                    line.provider.as_str(),
                    line.resource_type,
                    if line.compared { line.attributes.len().to_string() } else { "-".to_owned() },
                    line.remediation.len(),
                    if line.unmanaged { "yes" } else { "-" },
                    if line.janitor { "yes" } else { "-" },
                );
            }
            let compared = coverage.iter().filter(|line| line.compared).count();
            println!(
                "{} types: {compared} compared, {} deletable by the janitor (`--format json` names every attribute)",
                coverage.len(),
                coverage.iter().filter(|line| line.janitor).count()
            );
        }
    }
    Exit::Success
}

/// The table README.md carries between its coverage markers: generated, never edited by
/// hand (tests/coverage_table.rs fails when it is stale).
fn markdown(coverage: &[catalogue::Coverage]) -> String {
    let mut out = String::from(
        "| cloud | type | service | compared | restored by a safe call | unmanaged | janitor |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let code = |items: &[&str]| items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ");
    for line in coverage {
        let compared = match (line.compared, line.part_of) {
            (false, _) => "-".to_owned(),
            // Compared through the parent: present in it, and an inline document's content.
            (true, Some(parent)) if line.through_parent && line.remediation.is_empty() => {
                format!("present in `{parent}`")
            }
            (true, Some(parent)) if line.through_parent => format!("{} in `{parent}`", code(&line.remediation)),
            (true, Some(parent)) => format!("{}; its atom taken out of `{parent}`", code(&line.attributes)),
            (true, None) if line.attributes.is_empty() => "existence".to_owned(),
            (true, None) => code(&line.attributes),
        };
        let restored = if line.remediation.is_empty() { "-".to_owned() } else { code(&line.remediation) };
        out.push_str(&format!(
            "| {} | `{}` | {} | {compared} | {restored} | {} | {} |\n",
            line.provider.as_str(),
            line.resource_type,
            line.service,
            if line.unmanaged { "yes" } else { "-" },
            if line.janitor { "yes" } else { "-" },
        ));
    }
    let compared = coverage.iter().filter(|line| line.compared).count();
    let aws = coverage.iter().filter(|line| line.compared && line.provider.as_str() == "aws").count();
    out.push_str(&format!(
        "\n{} types; {compared} compared ({aws} AWS); {} deletable by the janitor.\n",
        coverage.len(),
        coverage.iter().filter(|line| line.janitor).count()
    ));
    out
}
