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
//! - Porcupine's key-value histories (`test_data/kv/*.txt`), asserted by
//!   `porcupine_test.go`: EDN op maps with a `:key` field, moved into `[key value]` by
//!   [`kv_log`] and checked with [`PorcupineKv`], a test model of Porcupine's string kv.
//! - A real-world Kafka excerpt quoted in Jepsen's `kafka_test.clj` (two sends given one
//!   offset), for the queue checker.
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
use odradek_jepsen::queue::{self, QueueOptions};
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
/// operation maps (some files use a top-level list `(…)`, which the reader accepts as-is).
fn read_knossos_history(name: &str) -> History {
    let path = fixture(&format!("knossos/{name}"));
    read_history_file(&path, Some(Format::Edn)).expect("the fixture reads as EDN")
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
    assert_eq!(
        violation.states.first().map(String::as_str),
        Some("register = 2")
    );
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

#[test]
fn knossos_rethink_fail_smaller_is_not_linearizable() {
    let report = check_knossos_cas_register("rethink-fail-smaller.edn");
    assert_eq!(report.validity, Validity::Invalid);
}

#[test]
fn knossos_rethink_fail_smaller_fails_at_the_read_knossos_names() {
    // wgl_test.clj `rethink-fail-smaller-test`, model `(cas-register nil)`: (:op a) is
    // process 12's ok read of 3, :index 217, a value no pending write could have set.
    let history = read_knossos_history("rethink-fail-smaller.edn");
    let report = timed("rethink-fail-smaller.edn from nil", || {
        check(
            &history,
            ModelKind::CasRegister,
            &LinearizableOptions::default(),
        )
        .expect("well-formed cas-register history")
    });
    assert_eq!(report.validity, Validity::Invalid);
    assert_eq!(blocked_completion(&report), Some(217));
}

#[test]
fn knossos_cas_register_bug_is_linearizable() {
    let report = check_knossos_cas_register("cas-register-bug.edn");
    assert_eq!(report.validity, Validity::Valid);
}

#[test]
fn knossos_memstress3_0_is_linearizable() {
    let report = check_knossos_cas_register("memstress3-0.edn");
    assert_eq!(report.validity, Validity::Valid);
}

/// How to read a `jepsen.util` etcd log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Semantics {
    /// As Jepsen recorded it: `ok`, `fail` and `info` completions as written.
    Jepsen,
    /// As Porcupine's `parseJepsenLog` reads it: a `fail`ed compare-and-set is a completed
    /// operation whose result was "did not match" (written here as an `ok` completion with
    /// value `false`); a timed-out read, and every line Porcupine's patterns do not match
    /// (`info` timeouts), leave the operation's outcome unknown (written as `info`).
    Porcupine,
}

/// One `INFO  jepsen.util - <process>\t:<type>\t:<f>\t<value>` line, split.
struct LogLine<'l> {
    process: i64,
    op_type: &'l str,
    f: &'l str,
    value: String,
}

fn split_log_line(line: &str) -> Result<LogLine<'_>, String> {
    let rest = line
        .strip_prefix("INFO  jepsen.util - ")
        .ok_or_else(|| format!("not a jepsen.util op line: {line:?}"))?;
    let mut fields = rest.split_whitespace();
    let mut next = || fields.next().ok_or_else(|| format!("short line: {line:?}"));
    let process = next()?
        .parse()
        .map_err(|_| format!("bad process: {line:?}"))?;
    let op_type = next()?.trim_start_matches(':');
    let f = next()?.trim_start_matches(':');
    let value = fields.collect::<Vec<_>>().join(" ");
    Ok(LogLine {
        process,
        op_type,
        f,
        value,
    })
}

/// `nil` → null, `3` → 3, `[1 2]` → [1,2]; `:timed-out` (an `info` line's value) → null.
fn log_value_to_json(value: &str) -> Result<String, String> {
    if value == "nil" || value == ":timed-out" {
        return Ok("null".to_string());
    }
    if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        let items: Result<Vec<i64>, _> = inner.split_whitespace().map(str::parse).collect();
        let items = items.map_err(|_| format!("bad value {value:?}"))?;
        let items: Vec<String> = items.iter().map(i64::to_string).collect();
        return Ok(format!("[{}]", items.join(",")));
    }
    value
        .parse::<i64>()
        .map(|v| v.to_string())
        .map_err(|_| format!("bad value {value:?}"))
}

/// The completion type and JSON value a log line becomes under `semantics`.
fn converted_completion(line: &LogLine<'_>, semantics: Semantics) -> (&'static str, String) {
    let value = log_value_to_json(&line.value).unwrap_or_else(|_| "null".to_string());
    match (semantics, line.op_type, line.f) {
        (Semantics::Jepsen, "ok", _) | (Semantics::Porcupine, "ok", _) => ("ok", value),
        (Semantics::Jepsen, "fail", _) => ("fail", value),
        (Semantics::Porcupine, "fail", "cas") => ("ok", "false".to_string()),
        _ => ("info", "null".to_string()),
    }
}

/// Converts a Porcupine `test_data/jepsen/etcd_NNN.log` into our JSON-lines history.
fn etcd_log(log: &str, semantics: Semantics) -> Result<History, String> {
    let mut jsonl = String::new();
    for (position, line) in log.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let parsed = split_log_line(line)?;
        let (op_type, value) = if parsed.op_type == "invoke" {
            ("invoke", log_value_to_json(&parsed.value)?)
        } else {
            converted_completion(&parsed, semantics)
        };
        jsonl.push_str(&format!(
            "{{\"index\":{position},\"time\":{position},\"process\":{},\"type\":\"{op_type}\",\"f\":\"{}\",\"value\":{value}}}\n",
            parsed.process, parsed.f
        ));
    }
    read_history_str(&jsonl, Format::Jsonl).map_err(|e| e.to_string())
}

/// Porcupine's `etcdModel` (porcupine_test.go): a register that starts absent; a read of
/// `nil` means absent; a compare-and-set either matched (and swapped) or observed a
/// different value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct PorcupineEtcd {
    value: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum EtcdOp {
    Read(Option<i64>),
    Write(i64),
    Cas(i64, i64),
    CasDidNotMatch(i64),
}

fn int_of(value: &Value) -> Result<i64, String> {
    match value {
        Value::Int(v) => Ok(*v),
        other => Err(format!("an integer, not {other:?}")),
    }
}

fn cas_args(value: &Value) -> Result<(i64, i64), String> {
    match value {
        Value::Vector(items) | Value::List(items) if items.len() == 2 => {
            Ok((int_of(&items[0])?, int_of(&items[1])?))
        }
        other => Err(format!("[from to], not {other:?}")),
    }
}

impl Model for PorcupineEtcd {
    type Op = EtcdOp;

    fn name(&self) -> String {
        "porcupine-etcd".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<EtcdOp>>, String> {
        let parsed = match (op.f, op.completion, op.completion_value) {
            // An unknown read matches any state and changes nothing.
            ("read", Completion::Indeterminate, _) => return Ok(None),
            ("read", Completion::Ok, Some(Value::Nil) | None) => EtcdOp::Read(None),
            ("read", Completion::Ok, Some(value)) => EtcdOp::Read(Some(int_of(value)?)),
            ("write", _, _) => EtcdOp::Write(int_of(op.invoke_value)?),
            ("cas", Completion::Ok, Some(Value::Bool(false))) => {
                EtcdOp::CasDidNotMatch(cas_args(op.invoke_value)?.0)
            }
            ("cas", _, _) => {
                let (from, to) = cas_args(op.invoke_value)?;
                EtcdOp::Cas(from, to)
            }
            (f, _, _) => return Err(format!("f read, write or cas, not {f}")),
        };
        Ok(Some(ParsedOp {
            partition: PartitionKey::Whole,
            op: parsed,
        }))
    }

    fn step(&self, op: &EtcdOp) -> Option<PorcupineEtcd> {
        let value = match op {
            EtcdOp::Read(read) => (*read == self.value).then_some(self.value)?,
            EtcdOp::Write(written) => Some(*written),
            EtcdOp::Cas(from, to) => (self.value == Some(*from)).then_some(Some(*to))?,
            EtcdOp::CasDidNotMatch(from) => (self.value != Some(*from)).then_some(self.value)?,
        };
        Some(PorcupineEtcd { value })
    }

    fn is_read_only(op: &EtcdOp) -> bool {
        matches!(op, EtcdOp::Read(_) | EtcdOp::CasDidNotMatch(_))
    }
}

fn read_etcd_log(number: u32, semantics: Semantics) -> History {
    let path = fixture(&format!("porcupine/etcd_{number:03}.log"));
    let log = std::fs::read_to_string(&path).expect("the fixture exists");
    etcd_log(&log, semantics).expect("the log converts")
}

/// Porcupine's verdict, reproduced with Porcupine's semantics.
fn porcupine_validity(number: u32) -> Validity {
    let history = read_etcd_log(number, Semantics::Porcupine);
    let options = LinearizableOptions::default();
    let label = format!("etcd_{number:03} (porcupine-etcd)");
    let report = timed(&label, || {
        check_with_model(&history, &PorcupineEtcd::default(), &options).expect("well-formed")
    });
    report.validity
}

/// The verdict with Jepsen's own semantics and the built-in `cas-register`.
fn cas_register_validity(number: u32) -> Validity {
    let history = read_etcd_log(number, Semantics::Jepsen);
    let options = LinearizableOptions::default();
    let label = format!("etcd_{number:03} (cas-register)");
    let report = timed(&label, || {
        check(&history, ModelKind::CasRegister, &options).expect("well-formed")
    });
    if let Some(violation) = &report.violation {
        eprintln!("etcd_{number:03}: {}", violation.explanation);
    }
    report.validity
}

/// The fixtures and Porcupine's verdicts (`checkJepsen(t, N, correct)` in
/// porcupine_test.go): `true` is linearizable.
const ETCD_VERDICTS: [(u32, bool); 7] = [
    (0, false),
    (1, false),
    (2, true),
    (3, false),
    (5, true),
    (7, true),
    (18, true),
];

fn expected(linearizable: bool) -> Validity {
    if linearizable {
        Validity::Valid
    } else {
        Validity::Invalid
    }
}

#[test]
fn porcupine_etcd_verdicts_are_reproduced_with_porcupine_semantics() {
    for (number, linearizable) in ETCD_VERDICTS {
        assert_eq!(
            porcupine_validity(number),
            expected(linearizable),
            "etcd_{number:03}"
        );
    }
}

#[test]
fn etcd_logs_porcupine_finds_linearizable_are_linearizable_for_the_knossos_cas_register() {
    for (number, _) in ETCD_VERDICTS
        .iter()
        .filter(|(_, linearizable)| *linearizable)
    {
        assert_eq!(
            cas_register_validity(*number),
            Validity::Valid,
            "etcd_{number:03}"
        );
    }
}

/// Jepsen's kafka_test.clj, `version-orders-test`, "a real-world example": two
/// acknowledged sends to key 11 both given offset 537. Jepsen reports one version-order
/// error `{:key 11, :index 0, :offset 537, :values #{641 645}}`, which its analysis names
/// `inconsistent-offsets`.
#[test]
fn jepsen_kafka_real_world_sends_at_one_offset_are_inconsistent_offsets() {
    let path = fixture("jepsen-kafka/version-orders-real-world.edn");
    let history = read_history_str(
        &std::fs::read_to_string(path).expect("the fixture exists"),
        Format::Edn,
    )
    .expect("the fixture reads as EDN");
    let report = timed("version-orders-real-world.edn", || {
        queue::check(&history, &QueueOptions::default()).expect("a well-formed queue history")
    });
    let verdict = report.verdict();
    for anomaly in &verdict.anomalies {
        eprintln!(
            "{} (fails run: {}): {}",
            anomaly.name, anomaly.fails_run, anomaly.explanation
        );
    }
    assert_eq!(verdict.validity, Validity::Invalid);
    let inconsistent: Vec<_> = verdict
        .anomalies
        .iter()
        .filter(|a| a.name == "inconsistent-offsets")
        .collect();
    assert_eq!(inconsistent.len(), 1, "{:?}", verdict.anomalies);
    assert!(inconsistent[0].fails_run);
    assert_eq!(inconsistent[0].witness_ops, vec![1, 3]);
    let explanation = &inconsistent[0].explanation;
    assert!(explanation.contains("537"), "{explanation}");
    assert!(
        explanation.contains("641") && explanation.contains("645"),
        "{explanation}"
    );
}

/// Porcupine's `test_data/kv/*.txt` lines are EDN op maps with the key in a `:key` field
/// of its own: `{:process 0, :type :ok, :f :get, :key "7", :value ""}`. Our ops have no
/// such field, so each line's `:key K, :value V` becomes `:value [K V]` (the shape our
/// key-value models take); nothing else changes.
fn kv_log(log: &str) -> Result<History, String> {
    let mut edn = String::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let (head, rest) = line
            .split_once(", :key ")
            .ok_or_else(|| format!("no :key in {line:?}"))?;
        let (key, value) = rest
            .split_once(", :value ")
            .ok_or_else(|| format!("no :value in {line:?}"))?;
        let value = value
            .strip_suffix('}')
            .ok_or_else(|| format!("no closing brace in {line:?}"))?;
        edn.push_str(&format!("{head}, :value [{key} {value}]}}\n"));
    }
    read_history_str(&edn, Format::Edn).map_err(|e| e.to_string())
}

/// Porcupine's `kvModel` (porcupine_test.go): partitioned by key, each key a string that
/// starts empty; `get` returns it, `put` replaces it, `append` concatenates to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct PorcupineKv {
    value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum StringKvOp {
    Get(String),
    Put(String),
    Append(String),
}

fn string_of(value: &Value) -> Result<String, String> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        other => Err(format!("a string, not {other:?}")),
    }
}

impl Model for PorcupineKv {
    type Op = StringKvOp;

    fn name(&self) -> String {
        "porcupine-kv".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<StringKvOp>>, String> {
        let pair = |value: &Value| match value {
            Value::Vector(items) if items.len() == 2 => Ok((items[0].clone(), items[1].clone())),
            other => Err(format!("[key value], not {other:?}")),
        };
        let (key, written) = pair(op.invoke_value)?;
        let parsed = match (op.f, op.completion, op.completion_value) {
            ("get", Completion::Indeterminate, _) => return Ok(None),
            ("get", Completion::Ok, Some(done)) => StringKvOp::Get(string_of(&pair(done)?.1)?),
            ("put", _, _) => StringKvOp::Put(string_of(&written)?),
            ("append", _, _) => StringKvOp::Append(string_of(&written)?),
            (f, _, _) => return Err(format!("f get, put or append, not {f}")),
        };
        Ok(Some(ParsedOp {
            partition: PartitionKey::Key(key),
            op: parsed,
        }))
    }

    fn step(&self, op: &StringKvOp) -> Option<PorcupineKv> {
        match op {
            StringKvOp::Get(read) => (*read == self.value).then(|| self.clone()),
            StringKvOp::Put(written) => Some(PorcupineKv {
                value: written.clone(),
            }),
            StringKvOp::Append(suffix) => Some(PorcupineKv {
                value: format!("{}{suffix}", self.value),
            }),
        }
    }

    fn is_read_only(op: &StringKvOp) -> bool {
        matches!(op, StringKvOp::Get(_))
    }
}

fn porcupine_kv_validity(name: &str) -> Validity {
    let path = fixture(&format!("porcupine-kv/{name}.txt"));
    let log = std::fs::read_to_string(path).expect("the fixture exists");
    let history = kv_log(&log).expect("the log converts");
    let report = timed(name, || {
        check_with_model(
            &history,
            &PorcupineKv::default(),
            &LinearizableOptions::default(),
        )
        .expect("well-formed kv history")
    });
    if let Some(violation) = &report.violation {
        eprintln!("{name}: {}", violation.explanation);
    }
    report.validity
}

/// Porcupine's verdicts (`checkKv(t, name, correct)` in porcupine_test.go).
const KV_VERDICTS: [(&str, bool); 3] = [("c01-ok", true), ("c01-bad", false), ("c10-ok", true)];

#[test]
fn porcupine_kv_verdicts_are_reproduced() {
    for (name, linearizable) in KV_VERDICTS {
        assert_eq!(
            porcupine_kv_validity(name),
            expected(linearizable),
            "{name}"
        );
    }
}
