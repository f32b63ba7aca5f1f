//! `pairctl check-traces` as a user runs it: the built binary on a file,
//! judged by its exit status. A correct case passes (0); a case that breaks
//! a rule, a file with no case in it and a file that is not spans fail (1).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// A correct paired case, as the checker's own tests build it.
fn paired_case() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paired-case.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn span<'a>(spans: &'a mut [Value], name: &str) -> &'a mut Value {
    spans.iter_mut().find(|s| s["name"] == name).expect(name)
}

/// Writes `text` to a file of this test's own and runs check-traces on it.
fn check_traces(test: &str, text: &str) -> Output {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "pairctl-check-traces-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("spans.json");
    std::fs::write(&file, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pairctl"))
        .arg("check-traces")
        .arg(&file)
        .output()
        .expect("pairctl runs");
    let _ = std::fs::remove_dir_all(&dir);
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_correct_case_exits_0() {
    let output = check_traces("correct", &serde_json::to_string(&paired_case()).unwrap());
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("OK: 1 case(s)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_shipment_before_its_acknowledgement_exits_1_naming_the_rule() {
    let mut spans = paired_case();
    let ack = span(&mut spans, "central.acknowledgement")["start_unix_ns"]
        .as_u64()
        .unwrap();
    span(&mut spans, "province.ship")["start_unix_ns"] = (ack - 1).into();
    let output = check_traces("early-ship", &serde_json::to_string(&spans).unwrap());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("case-huangshi-1 province.ship") && text.contains("[order]"),
        "{text}"
    );
    assert!(text.contains("FAILED: 1 violation(s)"), "{text}");
}

#[test]
fn a_span_out_of_its_cases_trace_exits_1() {
    let mut spans = paired_case();
    span(&mut spans, "city.closure")["trace_id"] = "2".repeat(32).into();
    let output = check_traces("foreign-trace", &serde_json::to_string(&spans).unwrap());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("[one-trace]"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_file_with_no_case_exits_1() {
    let output = check_traces("empty", "[]");
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("nothing was checked"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_file_that_is_not_spans_exits_1_with_one_line_on_stderr() {
    let output = check_traces("garbage", "[{\"trace_id\": 5}]");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("pairctl: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
