//! `odradek sim` running the real world: the same seed in two separate processes prints the
//! same trace hash and writes byte-identical histories and traces; a planted bug fails with
//! exit status 1 and prints the command that replays it; a short sweep passes.

use std::path::Path;
use std::process::{Command, Output};

fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("run odradek")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn trace_hash(output: &Output) -> String {
    stdout(output)
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("trace hash")
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no trace hash in {}", stdout(output)))
}

fn run_to_files(seed: &str, dir: &Path, tag: &str) -> (Output, String) {
    let history = dir.join(format!("{tag}.jsonl"));
    let output = odradek(&[
        "sim",
        "--seed",
        seed,
        "--trace",
        "--history",
        history.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&history).expect("history written");
    (output, text)
}

#[test]
fn the_same_seed_in_two_processes_gives_the_same_trace_and_history() {
    let dir = tempfile::tempdir().unwrap();
    for seed in ["3", "11", "2024"] {
        let (first, first_history) = run_to_files(seed, dir.path(), "a");
        let (second, second_history) = run_to_files(seed, dir.path(), "b");
        assert_eq!(first.status.code(), Some(0), "{}", stdout(&first));
        assert_eq!(trace_hash(&first), trace_hash(&second), "seed {seed}");
        assert!(!first_history.is_empty());
        assert_eq!(
            first_history, second_history,
            "seed {seed}: histories differ"
        );
        let trace = |o: &Output| -> Vec<String> {
            stdout(o)
                .lines()
                .filter(|l| l.contains('#') || l.starts_with("    "))
                .map(str::to_owned)
                .collect()
        };
        assert!(
            trace(&first).len() > 100,
            "seed {seed}: a trace was printed"
        );
        assert_eq!(trace(&first), trace(&second), "seed {seed}: traces differ");
    }
}

#[test]
fn a_planted_bug_fails_with_status_1_and_a_replay_command() {
    let output = odradek(&[
        "sim",
        "--seed",
        "0",
        "--faults-only",
        "disk-latency",
        "--bug",
        "ack-before-durable",
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains(
            "replay: odradek sim --seed 0 --faults-only disk-latency --bug ack-before-durable"
        ),
        "{text}"
    );
}

#[test]
fn a_report_shades_the_fault_windows_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let output = odradek(&[
        "sim",
        "--seed",
        "5",
        "--faults-only",
        "crash,partition",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg"), "the report has plots");
    // Each fault window is a shaded band titled with its name and time span.
    assert!(html.contains("<title>kill: "), "crash windows shaded");
    assert!(
        html.contains("<title>partition: "),
        "partition windows shaded"
    );
}

#[test]
fn a_short_sweep_of_the_default_scenario_passes() {
    let output = odradek(&["sim", "--seeds", "0..40", "--jobs", "2"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("passed        40"), "{text}");
}

#[test]
fn the_planted_bug_table_catches_every_bug_and_clears_the_same_seeds_without_it() {
    let output = odradek(&["sim", "--planted-bugs"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        rows.len(),
        odradek_core::bugs::PlantedBug::ALL.len(),
        "{text}"
    );
    for row in rows {
        assert!(row.ends_with("| pass |"), "{row}");
        assert!(!row.contains("not caught"), "{row}");
    }
}
