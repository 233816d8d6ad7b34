//! README.md's coverage table is `driftguard coverage --format markdown`, verbatim: a type
//! added to the catalogue without its row (or a row left for a type removed) fails CI.

mod common;

use common::{root, run};

const BEGIN: &str = "<!-- coverage:begin (generated: driftguard coverage --format markdown) -->\n";
const END: &str = "<!-- coverage:end -->";

#[test]
fn the_readme_coverage_table_is_what_the_catalogue_says() {
    let dir = tempfile::tempdir().unwrap();
    let (code, table, stderr) = run(common::driftguard(dir.path()).args(["coverage", "--format", "markdown"]));
    assert_eq!(code, 0, "{stderr}");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find(BEGIN).expect("README.md has the coverage:begin marker") + BEGIN.len();
    let end = readme[start..].find(END).expect("README.md has the coverage:end marker") + start;
    assert_eq!(
        &readme[start..end],
        table,
        "README.md's coverage table is stale: replace what is between its coverage markers by the output of \
         `driftguard coverage --format markdown`"
    );
    let aws: usize = table
        .split(" AWS)")
        .next()
        .and_then(|head| head.rsplit('(').next())
        .and_then(|count| count.parse().ok())
        .expect("the table's summary names the AWS types compared");
    assert!(aws >= 55, "{aws} AWS types compared; issue 14 asks for at least 55");
}
