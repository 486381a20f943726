//! `odradek check` end to end: the real binary on small histories, asserting its exit status
//! (0 valid, 1 invalid, 2 unknown, 3 bad input), its verdict text and its HTML report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEND_THEN_POLL: &str = r##"{"index":0,"time":0,"process":0,"type":"invoke","f":"send","value":[["send",1,10]]}
{"index":1,"time":10,"process":0,"type":"ok","f":"send","value":[["send",1,[0,10]]]}
{"index":2,"time":20,"process":0,"type":"invoke","f":"send","value":[["send",1,11]]}
{"index":3,"time":30,"process":0,"type":"ok","f":"send","value":[["send",1,[1,11]]]}
{"index":4,"time":40,"process":1,"type":"invoke","f":"assign","value":[1]}
{"index":5,"time":50,"process":1,"type":"ok","f":"assign","value":[1]}
{"index":6,"time":60,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}
"##;

const POLL_BOTH: &str = r##"{"index":7,"time":70,"process":1,"type":"ok","f":"poll","value":[["poll",{"#map":[[1,[[0,10],[1,11]]]]}]]}
"##;

const POLL_SECOND_ONLY: &str = r##"{"index":7,"time":70,"process":1,"type":"ok","f":"poll","value":[["poll",{"#map":[[1,[[1,11]]]]}]]}
"##;

const STALE_READ_EDN: &str = "{:type :invoke, :f :write, :value 1, :process 0, :time 0, :index 0}
{:type :ok, :f :write, :value 1, :process 0, :time 1, :index 1}
{:type :invoke, :f :read, :value nil, :process 1, :time 2, :index 2}
{:type :ok, :f :read, :value 2, :process 1, :time 3, :index 3}
";

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write fixture");
    path
}

fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("run odradek")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_valid_queue_history_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ok.jsonl",
        &format!("{SEND_THEN_POLL}{POLL_BOTH}"),
    );
    let output = odradek(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).starts_with("verdict: valid"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_lost_write_exits_one_and_names_the_anomaly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "lost.jsonl",
        &format!("{SEND_THEN_POLL}{POLL_SECOND_ONLY}"),
    );
    let output = odradek(&["check", path.to_str().unwrap(), "--checker", "queue"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("lost-write"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_stale_read_in_edn_is_not_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "history.edn", STALE_READ_EDN);
    let output = odradek(&["check", path.to_str().unwrap(), "--model", "cas-register"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("nonlinearizable"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_exhausted_search_budget_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let ops: String = (0..12)
        .map(|p| format!("{{:type :invoke, :f :write, :value {p}, :process {p}, :time 0}}\n"))
        .chain(
            (0..12)
                .map(|p| format!("{{:type :ok, :f :write, :value {p}, :process {p}, :time 1}}\n")),
        )
        .chain(["{:type :invoke, :f :read, :value nil, :process 20, :time 2}\n".to_string()])
        .chain(["{:type :ok, :f :read, :value 5, :process 20, :time 3}\n".to_string()])
        .collect();
    let path = write(dir.path(), "wide.edn", &ops);
    let output = odradek(&["check", path.to_str().unwrap(), "--max-steps", "1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stdout(&output).starts_with("verdict: unknown"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn unreadable_histories_and_wrong_flags_exit_three() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "bad.edn", "{:type :invoke, :f :read\n");
    let output = odradek(&["check", garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.edn"), "names the file: {stderr}");
    let missing = odradek(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(missing.status.code(), Some(3));
    let flag = odradek(&["check", garbage.to_str().unwrap(), "--model", "bogus"]);
    assert_eq!(flag.status.code(), Some(3));
    assert_eq!(odradek(&["--no-such-flag"]).status.code(), Some(3));
    assert_eq!(odradek(&["--help"]).status.code(), Some(0));
}

#[test]
fn report_writes_a_self_contained_html_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "lost.jsonl",
        &format!("{SEND_THEN_POLL}{POLL_SECOND_ONLY}"),
    );
    let report = dir.path().join("report.html");
    let output = odradek(&[
        "check",
        path.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let html = std::fs::read_to_string(&report).expect("report written");
    assert!(html.contains("lost-write"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("<script src"), "no external assets");
}

#[test]
fn pairing_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let history = "; a comment line\n{:type :invoke, :f :read, :value nil, :process 0, :time 0}\n\n{:type :invoke, :f :read, :value nil, :process 0, :time 1}\n";
    let path = write(dir.path(), "busy.edn", history);
    let output = odradek(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("busy.edn: line 4:"), "{stderr}");
    assert!(stderr.contains("invoked again"), "{stderr}");
}

#[test]
fn malformed_queue_values_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let history = format!(
        "{SEND_THEN_POLL}{}\n",
        r#"{"index":7,"time":70,"process":1,"type":"ok","f":"poll","value":"oops"}"#
    );
    let path = write(dir.path(), "bad.jsonl", &history);
    let output = odradek(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.jsonl: line 8:"), "{stderr}");
}
