//! Real histories published with a known verdict from an established checker: our
//! linearizability checker must reach the same verdict.
//!
//! Each fixture under `tests/data/real/` is a verbatim copy of a public data file; its
//! provenance and the place where its verdict is stated are in `tests/data/real/README.md`.
//! - Knossos's own test data (`jepsen-io/knossos`, `data/cas-register/{good,bad}/`), checked
//!   by Knossos against `(cas-register 0)` and asserted valid (`good/`) or invalid (`bad/`).
//!   Read with our EDN reader as is.
//! - Porcupine's copies of Jepsen etcd logs (`anishathalye/porcupine`,
//!   `test_data/jepsen/etcd_NNN.log`), asserted linearizable or not by Porcupine's
//!   `porcupine_test.go`. They are `jepsen.util` log lines, not EDN: [`etcd_log`] converts
//!   them to our JSON-lines format here, in the test, following Porcupine's own parser.
//!
//! Porcupine's etcd model is stricter than Knossos's `cas-register` in two ways: a `fail`ed
//! compare-and-set is a completed operation that observed a different value (Knossos: it
//! never happened), and a read of `nil` means "absent" (Knossos: it matches any value). So
//! the Porcupine verdicts are checked with [`PorcupineEtcd`], a test model with Porcupine's
//! semantics; the built-in `cas-register` (Knossos semantics) is checked too, where the
//! verdict carries over: Knossos's semantics only drop constraints, so a history
//! Porcupine finds linearizable must be linearizable for `cas-register` as well.
//!
//! Checking times are printed (run with `--nocapture`), never asserted.

use odradek_jepsen::history::{read_history_file, read_history_str, Format, History, Value};
use odradek_jepsen::linearizable::{
    check, check_with_model, CasRegister, Completion, LinearizableOptions, LinearizableReport,
    Model, ModelKind, ParsedOp, PartitionKey, RawOp,
};
use odradek_jepsen::verdict::Validity;
use std::path::PathBuf;
use std::time::Instant;

fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/real")
        .join(relative)
}

fn timed<T>(label: &str, run: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = run();
    eprintln!("{label}: checked in {:?}", started.elapsed());
    result
}

/// Reads a Knossos data file the way Knossos's `read-history-2` does: one EDN collection of
/// operation maps. Our reader takes a top-level vector (or ops one after another) but not a
/// top-level list `(…)`, which some Knossos files use; for those the outer parentheses are
/// swapped for brackets, which changes nothing else.
fn read_knossos_history(name: &str) -> History {
    let path = fixture(&format!("knossos/{name}"));
    let text = std::fs::read_to_string(&path).expect("the fixture exists");
    let trimmed = text.trim();
    let text = match trimmed.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => format!("[{inner}]"),
        None => text,
    };
    read_history_str(&text, Format::Edn).expect("the fixture reads as EDN")
}

/// Knossos's test harness checks every `data/cas-register/**` history against
/// `(cas-register 0)`: a register holding 0 at the start.
fn check_knossos_cas_register(name: &str) -> LinearizableReport {
    let history = read_knossos_history(name);
    let report = timed(name, || {
        check_with_model(
            &history,
            &CasRegister::with_initial(Value::Int(0)),
            &LinearizableOptions::default(),
        )
        .expect("well-formed cas-register history")
    });
    if let Some(violation) = &report.violation {
        eprintln!("{name}: {}", violation.explanation);
        eprintln!("{name}: blocked {:?}", violation.blocked);
    }
    report
}

/// The position (Knossos's `:index`) of the completion that could not be linearized.
fn blocked_completion(report: &LinearizableReport) -> Option<usize> {
    report.violation.as_ref()?.blocked.completion
}

#[test]
fn knossos_bad_analysis_is_not_linearizable() {
    let report = check_knossos_cas_register("bad-analysis.edn");
    assert_eq!(report.validity, Validity::Invalid);
    // wgl_test.clj: (:op a) is process 21's ok read of 2, :index 14.
    assert_eq!(blocked_completion(&report), Some(14));
}

#[test]
fn knossos_cas_failure_is_not_linearizable() {
    let report = check_knossos_cas_register("cas-failure.edn");
    assert_eq!(report.validity, Validity::Invalid);
    // wgl_test.clj: (:op a) is process 70's ok read of 0, :index 491, after the register
    // became 2.
    assert_eq!(blocked_completion(&report), Some(491));
    let violation = report.violation.expect("a witness");
    assert_eq!(violation.states.first().map(String::as_str), Some("register = 2"));
}

#[test]
fn knossos_immediate_failure_is_not_linearizable() {
    let report = check_knossos_cas_register("immediate-failure.edn");
    assert_eq!(report.validity, Validity::Invalid);
}

#[test]
fn knossos_rethink_fail_minimal_is_not_linearizable() {
    let report = check_knossos_cas_register("rethink-fail-minimal.edn");
    assert_eq!(report.validity, Validity::Invalid);
    // wgl_test.clj: (:op a) is process 1's ok read of 3, :index 4.
    assert_eq!(blocked_completion(&report), Some(4));
}

#[test]
fn knossos_rethink_fail_minimal_is_not_linearizable_from_nil_either() {
    // Knossos's wgl_test checks this one against `(cas-register nil)`.
    let history = read_knossos_history("rethink-fail-minimal.edn");
    let report = check(
        &history,
        ModelKind::CasRegister,
        &LinearizableOptions::default(),
    )
    .expect("well-formed cas-register history");
    assert_eq!(report.validity, Validity::Invalid);
}
