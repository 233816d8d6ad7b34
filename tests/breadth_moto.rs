//! The catalogue's breadth against moto, one family of types per test: seeded, written to
//! state as the provider writes it, compared (no drift), drifted outside Terraform (exactly
//! the expected findings), simulated (moto unchanged), remediated (verified, and a second
//! run finds only what has no safe fix).

mod common;

use std::path::{Path, PathBuf};

use common::moto::Moto;
use common::run;

type Row = (String, String, String, String);

fn policy(dir: &Path, endpoint: &str, dry_run: bool) -> PathBuf {
    let governance = common::sandbox_autofix();
    let text = format!(
        "{head}{governance}protection:\n  tags:\n    - key: Environment\n      values: [production]\nretry:\n  max_attempts: 8\n  base_delay: 5ms\n  max_delay: 100ms\n",
        head = common::policy_head(dry_run, &dir.join("state.db"), endpoint, None),
    );
    let path = dir.join("policy.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn detect(dir: &Path, policy: &Path, state: &Path, extra: &[&str]) -> (i32, serde_json::Value, String, String) {
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let (code, stdout, stderr) = run(common::emulated(dir)
        .args(["detect", "--once", "--policy"])
        .arg(policy)
        .args(extra)
        .arg("--state")
        .arg(state)
        .arg("--report")
        .arg(&report));
    let report =
        std::fs::read_to_string(&report).map_or(serde_json::Value::Null, |t| serde_json::from_str(&t).unwrap());
    (code, report, stdout, stderr)
}

/// (resource_type, attribute, kind, state) of each finding, sorted.
fn summary(report: &serde_json::Value) -> Vec<Row> {
    // No report (the run failed before writing one): no rows, and the caller's assertion
    // shows why.
    let mut rows: Vec<Row> = report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let s = |key: &str| f[key].as_str().unwrap_or("-").to_owned();
            (s("resource_type"), s("attribute"), s("kind"), s("state"))
        })
        .collect();
    rows.sort();
    rows
}

fn row(t: &str, a: &str, k: &str, st: &str) -> Row {
    (t.into(), a.into(), k.into(), st.into())
}

fn mutations(stdout: &str, outcome: &str) -> usize {
    stdout.lines().filter(|l| l.contains("\"cloud.mutation\"") && l.contains(&format!("\"{outcome}\""))).count()
}

/// tests/support/breadth_fixture.py COMMAND FAMILY [ARGUMENT].
fn fixture(moto: &Moto, command: &str, family: &str, argument: &str) -> String {
    let args: Vec<&str> = [command, family, argument].into_iter().filter(|a| !a.is_empty()).collect();
    moto.script("breadth_fixture.py", &args)
}

/// One family: seed, no drift, drift, dry run, remediation, what remains.
struct Family {
    /// breadth_fixture.py's family.
    name: &'static str,
    /// moto's environment.
    env: &'static [(&'static str, &'static str)],
    /// Every finding after `mutate`, with `F` for the state of those DriftGuard fixes.
    drifted: Vec<Row>,
    /// What a second run finds after remediation.
    remaining: Vec<Row>,
}

const F: &str = "FIX";

/// The rows, sorted as [`summary`] sorts them, with `F` replaced.
fn with_state(rows: &[Row], fixed: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = rows
        .iter()
        .map(|(t, a, k, s)| (t.clone(), a.clone(), k.clone(), if s == F { fixed.into() } else { s.clone() }))
        .collect();
    rows.sort();
    rows
}

/// What a family's run leaves for its own checks.
struct Exercised {
    moto: Moto,
    /// The report of the first run after the drift (dry run): severities and controls.
    drifted: serde_json::Value,
    /// Everything the remediating runs logged.
    stdout: String,
}

impl Exercised {
    /// (severity, controls) of the finding on this type and attribute.
    fn classified(&self, resource_type: &str, attribute: &str) -> (String, serde_json::Value) {
        let finding = self.drifted["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["resource_type"] == resource_type && f["attribute"].as_str().unwrap_or("-") == attribute)
            .unwrap_or_else(|| panic!("no finding on {resource_type} {attribute}"));
        (finding["severity"].as_str().unwrap().to_owned(), finding["controls"].clone())
    }

    fn snapshot(&self, family: &str) -> serde_json::Value {
        serde_json::from_str(&fixture(&self.moto, "snapshot", family, "")).unwrap()
    }
}

/// Runs a family through every step.
fn exercise(family: &Family) -> Exercised {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start_with(0.0, family.env);
    let state = dir.path().join("terraform.tfstate");
    let ids: serde_json::Value =
        serde_json::from_str(&fixture(&moto, "seed", family.name, state.to_str().unwrap())).unwrap();
    let simulate = policy(dir.path(), &moto.endpoint, true);

    let (code, report, _, stderr) = detect(dir.path(), &simulate, &state, &[]);
    assert_eq!((code, summary(&report)), (0, vec![]), "no drift right after apply: {stderr}\n{:#}", report["findings"]);

    fixture(&moto, "mutate", family.name, &ids.to_string());
    let fixable = family.drifted.iter().filter(|r| r.3 == F).count();
    let (code, drifted, stdout, stderr) = detect(dir.path(), &simulate, &state, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&drifted), with_state(&family.drifted, "dry_run"), "{stderr}");
    assert_eq!(mutations(&stdout, "simulated"), fixable, "one simulated call per fixable finding");

    // A policy that would remediate, overruled by --dry-run: moto sees no write.
    let act = policy(dir.path(), &moto.endpoint, false);
    let before = fixture(&moto, "snapshot", family.name, "");
    let writes = moto.stats()["mutations"].clone();
    let (code, _, _, stderr) = detect(dir.path(), &act, &state, &["--dry-run"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(moto.stats()["mutations"], writes, "dry-run sent a write");
    assert_eq!(fixture(&moto, "snapshot", family.name, ""), before, "dry-run changed the emulator");

    let (code, report, stdout, stderr) = detect(dir.path(), &act, &state, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(summary(&report), with_state(&family.drifted, "remediated"), "{stderr}\n{stdout}");
    assert_eq!(mutations(&stdout, "succeeded"), fixable, "{stdout}");

    let (code, report, last, stderr) = detect(dir.path(), &act, &state, &[]);
    assert_eq!(code, if family.remaining.is_empty() { 0 } else { 2 }, "{stderr}");
    assert_eq!(summary(&report), with_state(&family.remaining, "-"), "{stderr}");
    Exercised { moto, drifted, stdout: format!("{stdout}{last}") }
}

#[test]
fn iam_principals_attachments_inline_policies_keys_providers_and_the_password_policy() {
    let family = Family {
        name: "iam",
        // AWS's own policies (AdministratorAccess), as in a real account.
        env: &[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")],
        drifted: vec![
            row("aws_iam_access_key", "status", "modified", F),
            row("aws_iam_group_policy", "policy", "modified", F),
            row("aws_iam_group_policy_attachment", "-", "missing", "escalated"),
            row("aws_iam_instance_profile", "role", "modified", "escalated"),
            row("aws_iam_role_policy_attachment", "-", "missing", "escalated"),
            row("aws_iam_saml_provider", "saml_metadata_document", "modified", "escalated"),
            row("aws_iam_user_group_membership", "-", "missing", "escalated"),
            row("aws_iam_user_policy", "-", "missing", "escalated"),
            row("aws_iam_account_password_policy", "minimum_password_length", "modified", F),
            row("aws_iam_account_password_policy", "require_symbols", "modified", F),
            row("aws_iam_group", "inline_policy.extra", "modified", F),
            row("aws_iam_group_membership", "-", "missing", "escalated"),
            row("aws_iam_openid_connect_provider", "thumbprint_list", "modified", "escalated"),
            row("aws_iam_openid_connect_provider", "thumbprint_list", "modified", "escalated"),
            row("aws_iam_role", "inline_policy.backdoor", "modified", F),
            row("aws_iam_role", "managed_policy_arns", "modified", F),
            row("aws_iam_role_policy", "policy", "modified", F),
            row("aws_iam_user", "groups", "modified", F),
            row("aws_iam_user", "managed_policy_arns", "modified", "escalated"),
            row("aws_iam_user", "tags.Team", "modified", F),
            row("aws_iam_user_policy_attachment", "-", "missing", "escalated"),
        ],
        remaining: vec![
            row("aws_iam_group_membership", "-", "missing", "escalated"),
            row("aws_iam_group_policy_attachment", "-", "missing", "escalated"),
            row("aws_iam_instance_profile", "role", "modified", "escalated"),
            row("aws_iam_openid_connect_provider", "thumbprint_list", "modified", "escalated"),
            row("aws_iam_openid_connect_provider", "thumbprint_list", "modified", "escalated"),
            row("aws_iam_role_policy_attachment", "-", "missing", "escalated"),
            row("aws_iam_saml_provider", "saml_metadata_document", "modified", "escalated"),
            // Reported, not detached: a legacy aws_iam_policy_attachment may manage it.
            row("aws_iam_user", "managed_policy_arns", "modified", "escalated"),
            row("aws_iam_user_group_membership", "-", "missing", "escalated"),
            row("aws_iam_user_policy", "-", "missing", "escalated"),
            row("aws_iam_user_policy_attachment", "-", "missing", "escalated"),
        ],
    };
    let run = exercise(&family);
    assert!(!run.stdout.contains("dg-secret-that-must-never-be-logged"), "an access key's secret reached the log");
    let cis = |ids: &[&str]| serde_json::json!(ids);
    assert_eq!(run.classified("aws_iam_role", "managed_policy_arns"), ("critical".into(), cis(&["CIS-AWS-1.16"])));
    assert_eq!(run.classified("aws_iam_role", "inline_policy.backdoor").0, "high");
    assert_eq!(run.classified("aws_iam_user", "managed_policy_arns").0, "critical");
    assert_eq!(
        run.classified("aws_iam_account_password_policy", "minimum_password_length"),
        ("high".into(), cis(&["CIS-AWS-1.8", "CIS-AWS-1.9"]))
    );
    let live = run.snapshot("iam");
    assert_eq!(
        live["role_attached"],
        serde_json::json!([]),
        "AdministratorAccess detached; the declared one escalated"
    );
    assert_eq!(live["role_inline"].as_object().unwrap().keys().collect::<Vec<_>>(), ["dg-inline"]);
    assert_eq!(live["role_inline"]["dg-inline"]["Statement"][0]["Action"], serde_json::json!(["s3:ListBucket"]));
    assert_eq!(
        live["user_attached"],
        serde_json::json!(["arn:aws:iam::aws:policy/AdministratorAccess"]),
        "a user's attachment is reported, not detached; the declared one escalated"
    );
    assert_eq!(live["user_groups"], serde_json::json!([]), "dg-admins left; the declared memberships escalated");
    assert_eq!(live["keys"][0]["status"], "Active");
    assert_eq!(live["group_inline"], serde_json::json!(["dg-devs-inline"]));
    assert_eq!(live["group_inline_document"]["Statement"][0]["Action"], serde_json::json!(["s3:ListBucket"]));
    assert_eq!(live["password_policy"]["MinimumPasswordLength"], 14);
    assert_eq!(live["password_policy"]["RequireSymbols"], true);
    assert_eq!(live["password_policy"]["MaxPasswordAge"], 90, "the other settings kept");
    assert_eq!(live["oidc_thumbprints"], serde_json::json!(["0000000000000000000000000000000000000000"]), "escalated");
}

#[test]
fn s3_policies_acls_ownership_logging_cors_and_websites() {
    let family = Family {
        name: "s3",
        env: &[],
        drifted: vec![
            row("aws_s3_bucket_acl", "access_control_policy.grant", "modified", F),
            row("aws_s3_bucket_cors_configuration", "cors_rule", "modified", "escalated"),
            row("aws_s3_bucket_logging", "target_prefix", "modified", F),
            row("aws_s3_bucket_ownership_controls", "rule.object_ownership", "modified", F),
            row("aws_s3_bucket_policy", "policy", "modified", F),
            row("aws_s3_bucket_website_configuration", "index_document.suffix", "modified", "escalated"),
        ],
        remaining: vec![
            row("aws_s3_bucket_cors_configuration", "cors_rule", "modified", "escalated"),
            row("aws_s3_bucket_website_configuration", "index_document.suffix", "modified", "escalated"),
        ],
    };
    let run = exercise(&family);
    let cis = |ids: &[&str]| serde_json::json!(ids);
    assert_eq!(run.classified("aws_s3_bucket_policy", "policy"), ("critical".into(), cis(&["CIS-AWS-2.1.4"])));
    assert_eq!(run.classified("aws_s3_bucket_acl", "access_control_policy.grant").0, "critical");
    assert_eq!(run.classified("aws_s3_bucket_logging", "target_prefix").0, "high");
    let live = run.snapshot("s3");
    let web = &live["dg-web-bucket"];
    // Written back in the canonical form (one-element lists): the same policy to IAM.
    assert_eq!(
        web["policy"]["Statement"][0]["Principal"],
        serde_json::json!({"AWS": ["arn:aws:iam::123456789012:root"]})
    );
    assert_eq!(web["ownership"], "BucketOwnerEnforced");
    assert_eq!(web["logging"]["target_prefix"], "logs/");
    let log_acl = live["dg-log-bucket"]["acl"].as_array().unwrap();
    assert!(
        log_acl.iter().all(|grant| !grant.to_string().contains("AllUsers")),
        "the public grant is gone: {log_acl:?}"
    );
}

#[test]
fn vpc_networking_routes_acls_legacy_rules_interfaces_and_ebs() {
    let family = Family {
        name: "network",
        env: &[],
        drifted: vec![
            row("aws_ebs_encryption_by_default", "enabled", "modified", F),
            row("aws_ebs_volume", "size", "modified", "escalated"),
            row("aws_eip", "tags.Name", "modified", F),
            row("aws_flow_log", "-", "missing", "escalated"),
            row("aws_internet_gateway", "vpc_id", "modified", "escalated"),
            row("aws_key_pair", "tags.Name", "modified", F),
            row("aws_launch_template", "default_version", "modified", "escalated"),
            row("aws_launch_template", "image_id", "modified", "escalated"),
            row("aws_launch_template", "instance_type", "modified", "escalated"),
            row("aws_network_acl", "ingress", "modified", F),
            row("aws_network_acl_rule", "-", "missing", "escalated"),
            row("aws_network_interface", "source_dest_check", "modified", F),
            row("aws_route", "-", "missing", "escalated"),
            row("aws_route_table", "route", "modified", F),
            row("aws_route_table_association", "-", "missing", "escalated"),
            row("aws_security_group", "ingress", "modified", F),
            row("aws_security_group_rule", "-", "missing", "escalated"),
            row("aws_subnet", "map_public_ip_on_launch", "modified", F),
            row("aws_vpc", "enable_dns_hostnames", "modified", F),
            row("aws_vpc", "tags.Team", "modified", F),
            row("aws_vpc_endpoint", "policy", "modified", "escalated"),
            row("aws_vpc_security_group_egress_rule", "-", "missing", "escalated"),
        ],
        remaining: vec![
            row("aws_ebs_volume", "size", "modified", "escalated"),
            row("aws_flow_log", "-", "missing", "escalated"),
            row("aws_internet_gateway", "vpc_id", "modified", "escalated"),
            row("aws_launch_template", "default_version", "modified", "escalated"),
            row("aws_launch_template", "image_id", "modified", "escalated"),
            row("aws_launch_template", "instance_type", "modified", "escalated"),
            row("aws_network_acl_rule", "-", "missing", "escalated"),
            row("aws_route", "-", "missing", "escalated"),
            row("aws_route_table_association", "-", "missing", "escalated"),
            row("aws_security_group_rule", "-", "missing", "escalated"),
            row("aws_vpc_endpoint", "policy", "modified", "escalated"),
            row("aws_vpc_security_group_egress_rule", "-", "missing", "escalated"),
        ],
    };
    let run = exercise(&family);
    assert_eq!(run.classified("aws_network_acl", "ingress").0, "high");
    assert_eq!(run.classified("aws_ebs_encryption_by_default", "enabled").0, "high");
    assert_eq!(run.classified("aws_flow_log", "-").0, "high");
    let live = run.snapshot("network");
    assert_eq!(live["vpc"]["enable_dns_hostnames"], true);
    assert!(live["vpc"]["tags"].get("Team").is_none());
    assert_eq!(live["subnets"][0]["map_public_ip_on_launch"], false);
    let routes: Vec<&str> =
        live["routes"].as_array().unwrap().iter().filter_map(|r| r["destination"].as_str()).collect();
    assert!(!routes.contains(&"10.99.0.0/16") && routes.contains(&"0.0.0.0/0"), "{routes:?}");
    let entries = live["nacl_entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["rule_number"] != 110), "the RDP entry is gone: {entries:?}");
    let ingress = live["group_rules"]["ingress"].to_string();
    assert!(
        !ingress.contains("0.0.0.0/0") && !ingress.contains("10.2.0.0/16"),
        "the legacy rule is escalated: {ingress}"
    );
    assert_eq!(live["ebs_encryption_by_default"], true);
    assert_eq!(live["eni_source_dest_check"], serde_json::json!([true]));
}

#[test]
fn rds_clusters_groups_and_snapshots_shared_outside_terraform() {
    let family = Family {
        name: "rds",
        env: &[],
        drifted: vec![
            row("aws_db_subnet_group", "-", "missing", "escalated"),
            row("aws_db_parameter_group", "parameter.log_min_duration_statement", "modified", F),
            row("aws_db_snapshot", "shared_accounts", "modified", F),
            row("aws_rds_cluster", "backup_retention_period", "modified", F),
            row("aws_rds_cluster", "deletion_protection", "modified", F),
            row("aws_rds_cluster_instance", "publicly_accessible", "modified", F),
            row("aws_rds_cluster_parameter_group", "parameter.log_min_duration_statement", "modified", F),
        ],
        remaining: vec![row("aws_db_subnet_group", "-", "missing", "escalated")],
    };
    let run = exercise(&family);
    assert_eq!(run.classified("aws_db_snapshot", "shared_accounts").0, "critical");
    assert_eq!(run.classified("aws_rds_cluster_instance", "publicly_accessible").0, "critical");
    let live = run.snapshot("rds");
    assert_eq!(live["cluster"]["DeletionProtection"], false);
    assert_eq!(live["cluster"]["BackupRetentionPeriod"], 7);
    assert_eq!(live["parameters"]["log_min_duration_statement"], "500");
    assert_eq!(live["cluster_parameters"]["log_min_duration_statement"], "500");
    assert_eq!(live["snapshot_restore"], serde_json::json!([]), "no longer public");
}

/// Resources no state manages, among AWS's own (default VPC, subnets, route tables, ACLs
/// and security groups, instances' interfaces): exactly the ones someone made are
/// unmanaged findings, and `--import-blocks` writes one parseable import block for each,
/// with the provider's import id.
#[test]
fn import_blocks_name_every_unmanaged_resource_and_nothing_aws_owns() {
    let dir = tempfile::tempdir().unwrap();
    let moto = Moto::start(0.0);
    let state = dir.path().join("terraform.tfstate");
    let ids: serde_json::Value =
        serde_json::from_str(&fixture(&moto, "seed", "network", state.to_str().unwrap())).unwrap();
    // Nobody's state holds these any more.
    let forgotten = ["aws_eip", "aws_key_pair", "aws_s3_bucket", "aws_ebs_volume", "aws_internet_gateway"];
    let mut document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    document["resources"].as_array_mut().unwrap().retain(|r| !forgotten.contains(&r["type"].as_str().unwrap()));
    std::fs::write(&state, document.to_string()).unwrap();
    let path = policy(dir.path(), &moto.endpoint, true);
    let text = std::fs::read_to_string(&path).unwrap()
        + "detection:\n  unmanaged:\n    resource_types: [\"aws_*\"]\n    exclude_names: [default]\n";
    std::fs::write(&path, text).unwrap();
    let blocks = dir.path().join("imports.tf");
    let (code, report, _, stderr) = detect(dir.path(), &path, &state, &["--import-blocks", blocks.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    let mut unmanaged: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "unmanaged")
        .map(|f| (f["resource_type"].as_str().unwrap().to_owned(), f["resource_id"].as_str().unwrap().to_owned()))
        .collect();
    unmanaged.sort();
    let mut expected = vec![
        ("aws_ebs_volume".to_owned(), ids["volume"].as_str().unwrap().to_owned()),
        ("aws_eip".to_owned(), ids["eip"].as_str().unwrap().to_owned()),
        ("aws_internet_gateway".to_owned(), ids["internet_gateway"].as_str().unwrap().to_owned()),
        ("aws_key_pair".to_owned(), "dg-key".to_owned()),
        ("aws_s3_bucket".to_owned(), "dg-flow-log-bucket".to_owned()),
    ];
    expected.sort();
    assert_eq!(unmanaged, expected, "{stderr}");

    let text = std::fs::read_to_string(&blocks).unwrap();
    let body: hcl::Body = hcl::from_str(&text).unwrap_or_else(|error| panic!("not HCL: {error}\n{text}"));
    let mut imported: Vec<(String, String)> = body
        .blocks()
        .filter(|block| block.identifier() == "import")
        .map(|block| {
            let attribute = |key: &str| {
                let expression = &block.body().attributes().find(|a| a.key() == key).unwrap().expr;
                hcl::format::to_string(expression).unwrap()
            };
            (attribute("to"), attribute("id"))
        })
        .collect();
    imported.sort();
    let mut wanted: Vec<(String, String)> =
        expected.iter().map(|(kind, id)| (format!("{kind}.{}", driftguard_name(id)), format!("\"{id}\""))).collect();
    wanted.sort();
    assert_eq!(imported, wanted, "{text}");
}

/// The address name the import blocks give an id (letters, digits, `_` and `-`).
fn driftguard_name(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}
