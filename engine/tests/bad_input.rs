//! Bad input as a property: the policy compiler and the Terraform state reader take any
//! bytes (random, and structured mutations of real files) and answer with a value or an
//! error, never a panic. A hang is caught by nextest's slow-timeout (.config/nextest.toml).
//!
//! CI runs a bounded number of cases; `PROPTEST_CASES=100000 cargo nextest run -p
//! driftguard-engine --test bad_input` runs a long campaign (figures in bench/README.md).

use driftguard_engine::policy::{CliOverrides, compile};
use driftguard_engine::tfstate;
use proptest::prelude::*;

fn shipped_policy() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy.yaml")).unwrap()
}

/// A Terraform state as Terraform 1.x writes it: modules, count and for_each keys, a data
/// source, sensitive attributes.
const STATE: &str = r#"{
  "version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": "3f2a", "outputs": {"ip": {"value": "10.0.0.1", "type": "string"}},
  "resources": [
    {"mode": "managed", "type": "aws_instance", "name": "app", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"index_key": 0, "schema_version": 1, "attributes": {"id": "i-1", "instance_type": "t3.micro", "tags": {"Name": "a"}}, "sensitive_attributes": []}]},
    {"module": "module.net", "mode": "managed", "type": "aws_security_group", "name": "web", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"index_key": "blue", "schema_version": 1, "attributes": {"id": "sg-1", "ingress": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/8"]}]}}]},
    {"mode": "data", "type": "aws_caller_identity", "name": "me", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
     "instances": [{"schema_version": 0, "attributes": {"account_id": "123456789012"}}]}
  ]
}"#;

/// One structured mutation of a text: what an editor, a merge or a truncated write does.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertText(usize, String),
    ReplaceByte(usize, u8),
    Truncate(usize),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just(": ".to_owned()),
        Just("- ".to_owned()),
        Just("{".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("&a *a ".to_owned()),
        Just("!!binary ".to_owned()),
        Just("null".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("1e309".to_owned()),
        Just("\t".to_owned()),
        Just("\u{feff}".to_owned()),
        "[a-z_]{1,12}",
        any::<String>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), token).prop_map(|(at, text)| Mutation::InsertText(at, text)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::ReplaceByte(at, byte)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..9).prop_map(|(line, by)| Mutation::Indent(line, by)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut bytes: Option<Vec<u8>> = None;
    for mutation in mutations {
        let n = lines.len().max(1);
        match mutation {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::InsertText(at, token) if !lines.is_empty() => {
                let line = &mut lines[at % n];
                let mut cut = at % (line.len() + 1);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                line.insert_str(cut, token);
            }
            Mutation::Indent(i, by) if !lines.is_empty() => lines[i % n].insert_str(0, &" ".repeat(*by)),
            Mutation::ReplaceByte(at, byte) => {
                let mut raw = bytes.take().unwrap_or_else(|| lines.join("\n").into_bytes());
                if !raw.is_empty() {
                    let len = raw.len();
                    raw[at % len] = *byte;
                }
                bytes = Some(raw);
            }
            Mutation::Truncate(at) => {
                let mut raw = bytes.take().unwrap_or_else(|| lines.join("\n").into_bytes());
                raw.truncate(at % (raw.len() + 1));
                bytes = Some(raw);
            }
            _ => {}
        }
        if let Some(raw) = &bytes {
            // Byte-level edits continue on the bytes; line edits see them as lossy text.
            lines = String::from_utf8_lossy(raw).lines().map(str::to_owned).collect();
        }
    }
    bytes.unwrap_or_else(|| lines.join("\n").into_bytes())
}

fn compile_bytes(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    match compile("fuzz.yaml", &text, None, &CliOverrides::default()) {
        Ok(policy) => assert!(!policy.flows().is_empty(), "a compiled policy always has its catch-all flow"),
        Err(diagnostics) => {
            for diagnostic in diagnostics.iter() {
                // Every error is placed and says something.
                let line = diagnostic.to_string();
                assert!(line.starts_with("fuzz.yaml:"), "{line}");
                assert!(line.len() > "fuzz.yaml:".len() + 2, "{line}");
            }
        }
    }
}

fn parse_state(bytes: &[u8]) {
    match tfstate::parse("fuzz.tfstate", bytes) {
        Ok(state) => {
            for resource in &state.resources {
                assert!(!resource.resource_type.trim().is_empty(), "a managed resource always has a type");
                assert!(!resource.name.trim().is_empty(), "a managed resource always has a name");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains("fuzz.tfstate"), "the error names the file: {message}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_compiler_answers_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        compile_bytes(&bytes);
    }

    #[test]
    fn the_compiler_answers_any_mutation_of_the_shipped_policy(mutations in prop::collection::vec(mutation(), 1..8)) {
        compile_bytes(&apply(&shipped_policy(), &mutations));
    }

    #[test]
    fn the_state_reader_answers_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_state(&bytes);
    }

    #[test]
    fn the_state_reader_answers_any_mutation_of_a_real_state(mutations in prop::collection::vec(mutation(), 1..8)) {
        parse_state(&apply(STATE, &mutations));
    }

    /// JSON that is well formed but shaped wrongly: any value anywhere.
    #[test]
    fn the_state_reader_answers_any_json_value_in_any_place(path in prop::collection::vec(0usize..6, 1..5), value in json_value()) {
        let mut state: serde_json::Value = serde_json::from_str(STATE).unwrap();
        // Walk read-only to a JSON pointer, then replace what it points at.
        let mut pointer = String::new();
        let mut node = &state;
        for step in path {
            let (key, next) = match node {
                serde_json::Value::Object(map) if !map.is_empty() => {
                    let (key, next) = map.iter().nth(step % map.len()).unwrap();
                    (key.replace('~', "~0").replace('/', "~1"), next)
                }
                serde_json::Value::Array(items) if !items.is_empty() => {
                    let index = step % items.len();
                    (index.to_string(), &items[index])
                }
                _ => break,
            };
            pointer.push('/');
            pointer.push_str(&key);
            node = next;
        }
        *state.pointer_mut(&pointer).unwrap() = value;
        parse_state(state.to_string().as_bytes());
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}
