//! Checked-in schemas are exactly what the types generate, and the shipped policies
//! validate against the policy schema with an independent parser and validator.

mod common;

use common::{driftguard, root, run};

#[test]
fn checked_in_schemas_match_the_generated_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, file) in [
        ("policy", "schemas/policy.schema.json"),
        ("audit-event", "schemas/audit-event.schema.json"),
        ("drift-report", "schemas/drift-report.schema.json"),
    ] {
        let (code, generated, _) = run(driftguard(dir.path()).args(["schema", kind]));
        assert_eq!(code, 0);
        let checked_in = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(generated == checked_in, "{file} is stale: regenerate with `cargo run -q -- schema {kind} > {file}`");
    }
}

fn yaml_as_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn shipped_policies_validate_against_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/policy.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut policies = vec!["policy.yaml".to_owned()];
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            policies.push(format!("examples/{}", path.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(policies.len() >= 3, "{policies:?}");
    for policy in &policies {
        let instance = yaml_as_json(policy);
        let errors: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{policy}: {errors:#?}");
        let text = std::fs::read_to_string(root().join(policy)).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema="), "{policy} lacks the schema modeline");
    }
}

#[test]
fn the_schema_rejects_what_the_compiler_rejects_structurally() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/policy.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for bad in [
        serde_json::json!({"retyr": {}}),
        serde_json::json!({"classification": {"default_severity": "urgent"}}),
        serde_json::json!({"flows": [{"name": "a", "steps": ["fix"]}]}),
        serde_json::json!({"dry_run": "yes"}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}
