//! Every real state in ../shared/corpus/tfstate (from real `terraform apply` runs) either
//! parses or is refused with a message naming the file. Skips, saying why, where the
//! corpus is absent (a machine with only the project).

use std::path::PathBuf;

use driftguard_engine::tfstate::{StateError, parse};

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tfstate");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_corpus_state_parses_or_is_refused_clearly() {
    let Some(dir) = corpus() else {
        println!("SKIP: ../shared/corpus/tfstate is absent; nothing to check here");
        return;
    };
    let mut parsed = 0;
    let mut refused = Vec::new();
    let mut resources = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "tfstate") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        match std::panic::catch_unwind(|| parse(&name, bytes.as_slice())) {
            Err(panic) => panic!("{name}: the reader panicked: {panic:?}"),
            Ok(Ok(state)) => {
                parsed += 1;
                resources += state.resources.len();
                for resource in &state.resources {
                    assert!(!resource.address.is_empty() && resource.address.contains(&resource.resource_type));
                }
            }
            Ok(Err(error)) => {
                let message = error.to_string();
                assert!(message.starts_with(&name), "{message} does not name the file");
                refused.push((name, error));
            }
        }
    }
    println!("corpus: {parsed} parsed ({resources} managed resources), {} refused", refused.len());
    let mut refused_names: Vec<&str> = refused.iter().map(|(name, _)| name.as_str()).collect();
    refused_names.sort_unstable();
    assert_eq!(
        refused_names,
        [
            "enumerator__testdata__states__symlink.tfstate",
            "testdata__v4__invalid.tfstate",
            "testdata__v4__invalid_version.tfstate",
            "testdata__v4__unsupported_version.tfstate",
        ],
        "exactly the broken-on-purpose files are refused"
    );
    for (name, error) in &refused {
        match (name.as_str(), error) {
            ("testdata__v4__invalid.tfstate", StateError::Json { line, .. }) => assert_eq!(*line, 16),
            // The link's target path stored as text: not JSON at all.
            ("enumerator__testdata__states__symlink.tfstate", StateError::Json { line, .. }) => assert_eq!(*line, 1),
            (
                "testdata__v4__invalid_version.tfstate" | "testdata__v4__unsupported_version.tfstate",
                StateError::TerraformVersion { .. },
            ) => {}
            _ => panic!("{name}: unexpected refusal {error}"),
        }
    }
    assert!(parsed >= 150, "{parsed}");
}
