//! `odradek sim` end to end: the real binary's answer to bad flags. Every usage error exits
//! 3 (as `odradek check`) before anything runs, with a message naming what was wrong and,
//! for names, the ones that exist. (Runs themselves are tested in `odradek::sim`'s unit
//! tests with fake runners, and by the simulator's own tests.)

use std::process::{Command, Output};

fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("run odradek")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a usage error: exit status 3, nothing on stdout, `needles` on stderr.
fn assert_usage_error(args: &[&str], needles: &[&str]) {
    let output = odradek(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{args:?}: {message}");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?}: {needle:?} not in {message}"
        );
    }
}

#[test]
fn an_empty_or_malformed_seed_range_is_a_usage_error() {
    assert_usage_error(&["sim", "--seeds", "10..10"], &["\"10..10\" is empty"]);
    assert_usage_error(&["sim", "--seeds", "9..=3"], &["is empty"]);
    assert_usage_error(&["sim", "--seeds", "1-5"], &["expected A..B or A..=B"]);
    assert_usage_error(&["sim", "--seeds", "x..5"], &["is not a seed"]);
}

#[test]
fn an_unknown_fault_kind_is_a_usage_error_listing_the_known_kinds() {
    assert_usage_error(
        &["sim", "--seed", "1", "--faults", "crash,meteor"],
        &["unknown fault kind \"meteor\"", "partition", "clock-jump"],
    );
    assert_usage_error(
        &["sim", "--seed", "1", "--exclude-faults", "meteor"],
        &["unknown fault kind"],
    );
}

#[test]
fn an_unknown_bug_is_a_usage_error_listing_the_known_bugs() {
    assert_usage_error(
        &["sim", "--seed", "1", "--bug", "off-by-two"],
        &[
            "unknown bug \"off-by-two\"",
            "ack-before-durable",
            "offset-reused-after-crash",
        ],
    );
}

#[test]
fn missing_or_conflicting_seed_flags_are_usage_errors() {
    assert_usage_error(&["sim"], &["--seed"]);
    assert_usage_error(
        &["sim", "--seed", "1", "--seeds", "0..4"],
        &["cannot be used"],
    );
    assert_usage_error(&["sim", "--seeds", "0..4", "--shrink"], &["--shrink"]);
    assert_usage_error(&["sim", "--seeds", "0..4", "--trace"], &["--trace"]);
    assert_usage_error(
        &[
            "sim",
            "--seed",
            "1",
            "--faults",
            "crash",
            "--faults-only",
            "pause",
        ],
        &["--faults-only"],
    );
    assert_usage_error(&["sim", "--seeds", "0..4", "--jobs", "0"], &["--jobs"]);
}

#[test]
fn help_lists_the_flags_and_exits_zero() {
    let output = odradek(&["sim", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--seed ",
        "--seeds",
        "--jobs",
        "--faults ",
        "--exclude-faults",
        "--faults-only",
        "--bug",
        "--operations",
        "--clients",
        "--brokers",
        "--trace",
        "--history",
        "--report",
        "--shrink",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
}

#[test]
fn a_cluster_bug_planted_in_a_standalone_broker_is_refused_not_silently_ignored() {
    let output = odradek(&[
        "sim",
        "--seed",
        "1",
        "--brokers",
        "1",
        "--bug",
        "unclean-election-by-default",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("standalone broker never runs"), "{text}");
}
