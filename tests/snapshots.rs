//! The three formats of the report on the bundled samples, as insta snapshots
//! (`tests/snapshots/`): the JSON contract's key names and values, and the table and Markdown
//! a user reads, cannot change without the change showing in review. Paths are replaced by
//! `<testdata>` so the snapshots hold on any checkout. To accept an intended change:
//! `INSTA_UPDATE=always cargo test --test snapshots`, then review the diff.

mod common;

use common::{Run, ccdoctor, testdata};

fn report(sample: &str, format: &str) -> String {
    let home = testdata().join(sample);
    let r: Run = ccdoctor(&home).args(["scan", "--format", format, home.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.replace(testdata().to_str().unwrap(), "<testdata>")
}

#[test]
fn json_reports() {
    for sample in ["claude-home", "bedrock-home", "late-home"] {
        insta::assert_snapshot!(format!("{sample}.json"), report(sample, "json"));
    }
}

#[test]
fn table_and_markdown_reports() {
    for sample in ["claude-home", "bedrock-home"] {
        insta::assert_snapshot!(format!("{sample}.table"), report(sample, "table"));
        insta::assert_snapshot!(format!("{sample}.md"), report(sample, "markdown"));
    }
}
