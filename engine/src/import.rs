//! Terraform import blocks (Terraform >= 1.5) for unmanaged resources: what
//! `driftguard detect --import-blocks FILE` writes so a team can bring what it found under
//! Terraform with `terraform plan -generate-config-out=…`. One block per unmanaged
//! finding, `to` a sanitised, unique Terraform address, `id` the import id the provider
//! documents for the type (for every catalogue type that can be unmanaged it is the id
//! DriftGuard compares by: an instance or group id, a bucket, role or user name, a policy
//! or provider ARN, a DB identifier). Pure: the caller writes the file.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::FindingKind;
use crate::report::ReportFinding;

/// Types the provider cannot import: a comment instead of a block (none of the catalogue's
/// unmanaged types today; an access key imports by its id, without its secret).
const NOT_IMPORTABLE: &[(&str, &str)] = &[];

/// A Terraform identifier from an id: letters, digits, `_` and `-`, starting with a
/// letter or `_` (`dg-stray-bucket` stays, `i-0ab…` stays, `arn:aws:iam::1:policy/x` is
/// `arn_aws_iam__1_policy_x`).
pub fn identifier(id: &str) -> String {
    // An ARN's last part names the resource; the rest is noise in an address.
    let base = id.rsplit(['/', ':']).find(|part| !part.is_empty()).unwrap_or(id);
    let mut out: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// An HCL string literal: quotes, backslashes and template openers escaped.
fn quoted(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"").replace("${", "$${").replace("%{", "%%{");
    format!("\"{escaped}\"")
}

/// The file: one block per unmanaged finding, in the report's order; addresses unique
/// (a second `aws_s3_bucket.logs` becomes `aws_s3_bucket.logs_2`).
pub fn blocks(findings: &[ReportFinding]) -> String {
    let mut out = String::from(
        "# Written by `driftguard detect --import-blocks`: resources no known Terraform state manages.\n\
         # Review, then `terraform plan -generate-config-out=generated.tf` (Terraform >= 1.5).\n",
    );
    let mut taken = BTreeSet::new();
    for finding in findings.iter().filter(|f| f.kind == FindingKind::Unmanaged) {
        let account = format!("{} {} {}", finding.provider.as_str(), finding.account, finding.region);
        if let Some((_, why)) = NOT_IMPORTABLE.iter().find(|(kind, _)| *kind == finding.resource_type) {
            let _ =
                write!(out, "\n# {} {} ({account}): not imported: {why}\n", finding.resource_type, finding.resource_id);
            continue;
        }
        let name = identifier(&finding.resource_id);
        let mut address = format!("{}.{name}", finding.resource_type);
        let mut n = 2;
        while !taken.insert(address.clone()) {
            address = format!("{}.{name}_{n}", finding.resource_type);
            n += 1;
        }
        let _ =
            write!(out, "\n# {account}\nimport {{\n  to = {address}\n  id = {}\n}}\n", quoted(&finding.resource_id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_terraform_identifiers() {
        for (id, expected) in [
            ("dg-stray-bucket", "dg-stray-bucket"),
            ("i-0abc", "i-0abc"),
            ("arn:aws:iam::123456789012:policy/team/dg-read", "dg-read"),
            ("1bucket.with.dots", "_1bucket_with_dots"),
            ("role name", "role_name"),
        ] {
            assert_eq!(identifier(id), expected, "{id}");
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quoted(r#"a"b\c${d}"#), r#""a\"b\\c$${d}""#);
    }
}
