//! `odradek sim` end to end with fake runners: exit statuses, what is printed, and the
//! artifacts a single run writes.

use super::*;
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SimArgs,
}

fn args(flags: &[&str]) -> SimArgs {
    let argv = std::iter::once("sim").chain(flags.iter().copied());
    Cli::try_parse_from(argv).expect("valid flags").args
}

/// Runs with `runner`; returns the exit status and stdout.
fn run(flags: &[&str], runner: Runner) -> (u8, String) {
    let mut out = Vec::new();
    let status = execute_with(&args(flags), &runner, &mut out);
    (status, String::from_utf8(out).expect("utf-8 output"))
}

#[test]
fn a_passing_seed_exits_zero_and_a_failing_one_exits_one_with_its_replay() {
    let (status, text) = run(&["--seed", "2"], fake::fails_odd_seeds);
    assert_eq!(status, EXIT_PASSED, "{text}");
    let (status, text) = run(
        &["--seed", "3", "--bug", "fetch-skips-record"],
        fake::fails_odd_seeds,
    );
    assert_eq!(status, EXIT_FAILED, "{text}");
    assert!(
        text.contains("replay: odradek sim --seed 3 --bug fetch-skips-record"),
        "{text}"
    );
}

#[test]
fn a_sweep_exits_one_if_any_seed_fails_and_zero_if_none_does() {
    let (status, text) = run(&["--seeds", "0..=5", "--jobs", "2"], fake::fails_odd_seeds);
    assert_eq!(status, EXIT_FAILED);
    assert!(text.contains("failed        3\n"), "{text}");
    let (status, text) = run(&["--seeds", "0..6", "--jobs", "3"], fake::passes);
    assert_eq!(status, EXIT_PASSED, "{text}");
    assert!(text.contains("run           6\n") && !text.contains("failing seeds"));
}

#[test]
fn a_panicking_run_fails_its_seed_with_exit_one_and_the_sweep_finishes() {
    let (status, text) = run(&["--seed", "8"], fake::panics_on_multiples_of_four);
    assert_eq!(status, EXIT_FAILED);
    assert!(text.contains("seed 8: FAIL (runner-panic)"), "{text}");
    let (status, text) = run(&["--seeds", "1..=8"], fake::panics_on_multiples_of_four);
    assert_eq!(status, EXIT_FAILED);
    assert!(
        text.contains("run           8\npassed        6\nfailed        2\n"),
        "{text}"
    );
}

#[test]
fn the_trace_is_printed_before_the_summary_when_asked_for() {
    let (_, text) = run(&["--seed", "4", "--trace"], fake::passes);
    assert!(
        text.starts_with("trace line of seed 4\nseed 4: PASS"),
        "{text}"
    );
    let (_, text) = run(&["--seed", "4"], fake::passes);
    assert!(!text.contains("trace line"), "{text}");
}

#[test]
fn shrink_prints_the_smallest_failing_configuration_and_its_command() {
    let (status, text) = run(
        &[
            "--seed",
            "5",
            "--faults",
            "all",
            "--exclude-faults",
            "read-corruption",
            "--shrink",
        ],
        fake::fails_with_crash,
    );
    assert_eq!(status, EXIT_FAILED);
    assert!(
        text.contains(
            "reproduce: odradek sim --seed 5 --faults-only crash --operations 1 --clients 1\n"
        ),
        "{text}"
    );
    let (status, text) = run(&["--seed", "2", "--shrink"], fake::fails_odd_seeds);
    assert_eq!(status, EXIT_PASSED);
    assert!(text.contains("nothing to shrink"), "{text}");
}

#[test]
fn history_and_report_are_written_and_an_unwritable_path_exits_three() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("run.jsonl");
    let report = dir.path().join("run.html");
    let flags = [
        "--seed",
        "3",
        "--history",
        history.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let (status, _) = run(&flags, fake::fails_odd_seeds);
    assert_eq!(status, EXIT_FAILED);
    assert!(history.exists());
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("history anomalies: lost-write"),
        "report names the failure"
    );
    let missing = dir.path().join("no-such-dir").join("run.jsonl");
    let (status, _) = run(
        &["--seed", "2", "--history", missing.to_str().unwrap()],
        fake::passes,
    );
    assert_eq!(status, EXIT_BAD_INPUT);
}
