//! Dependency-cycle anomalies (G0, G1c and their -process / -realtime variants), each with
//! a valid twin differing in one operation; and malformed-input errors.

mod queue_support;

use odradek_jepsen::history::{History, OpType, Process, Value};
use odradek_jepsen::queue::{check, QueueError, QueueOptions, QueueReport};
use odradek_jepsen::verdict::Validity;
use queue_support::*;

fn ww() -> QueueOptions {
    QueueOptions {
        ww_deps: true,
        ..QueueOptions::default()
    }
}

fn check_with(history: &History, options: QueueOptions) -> QueueReport {
    check(history, &options).expect("well-formed history")
}

fn find<'r>(report: &'r QueueReport, name: &str) -> &'r odradek_jepsen::verdict::Anomaly {
    report
        .anomalies
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", report.anomalies))
}

/// T1 (process 0) and T2 (process 1) each send to keys 0 and 1, concurrently; a final poll
/// orders key 1 either T1-first (consistent with key 0) or T2-first (a ww cycle).
fn crossed_writes(crossed: bool) -> History {
    let mut b = Builder::new();
    b.invoke(0, "send", vec![send_mop(0, 10), send_mop(1, 11)])
        .invoke(1, "send", vec![send_mop(0, 20), send_mop(1, 21)])
        .complete(
            0,
            OpType::Ok,
            "send",
            vec![sent(0, None, 10), sent(1, None, 11)],
        )
        .complete(
            1,
            OpType::Ok,
            "send",
            vec![sent(0, None, 20), sent(1, None, 21)],
        );
    let key1: &[(i64, i64)] = if crossed {
        &[(0, 21), (1, 11)]
    } else {
        &[(0, 11), (1, 21)]
    };
    b.poll(2, &[(0, &[(0, 10), (1, 20)]), (1, key1)]);
    b.build()
}

#[test]
fn g0_is_a_write_cycle_found_only_with_ww_deps_and_always_allowed() {
    let bad = check_with(&crossed_writes(true), ww());
    let g0 = find(&bad, "G0");
    assert!(!g0.fails_run);
    assert_eq!(g0.witness_ops, vec![2, 3]);
    assert!(g0.explanation.contains("(ww)"), "{}", g0.explanation);
    assert_eq!(bad.validity(), Validity::Valid);
    assert!(check_with(&crossed_writes(false), ww())
        .anomalies
        .is_empty());
    assert!(!has(&check_default(&crossed_writes(true)), "G0"));
}

#[test]
fn g0_realtime_is_a_write_order_contradicting_real_time() {
    let history = |contradicts: bool| {
        let order: &[(i64, i64)] = if contradicts {
            &[(0, 2), (1, 1)]
        } else {
            &[(0, 1), (1, 2)]
        };
        Builder::new()
            .send(0, 0, 1, None)
            .send(1, 0, 2, None)
            .poll(2, &[(0, order)])
            .build()
    };
    let bad = check_with(&history(true), ww());
    assert!(!find(&bad, "G0-realtime").fails_run);
    assert!(!has(&bad, "G0-process"));
    assert!(check_with(&history(false), ww()).anomalies.is_empty());
}

#[test]
fn g0_process_is_a_write_order_contradicting_process_order() {
    let history = |contradicts: bool| {
        let order: &[(i64, i64)] = if contradicts {
            &[(0, 2), (1, 1)]
        } else {
            &[(0, 1), (1, 2)]
        };
        Builder::new()
            .send(0, 0, 1, None)
            .send(0, 0, 2, None)
            .poll(2, &[(0, order)])
            .build()
    };
    let bad = check_with(&history(true), ww());
    let g0p = find(&bad, "G0-process");
    assert!(!g0p.fails_run);
    assert!(g0p.explanation.contains("(process)"), "{}", g0p.explanation);
    assert!(check_with(&history(false), ww()).anomalies.is_empty());
}

/// T1 sends 1 to key 0 and polls key 1; T2 sends 2 to key 1 and polls key 0; concurrent.
/// A final poll reads everything.
fn mutual_reads(t1_sees_t2: bool) -> History {
    let t1_saw: &[(i64, i64)] = if t1_sees_t2 { &[(0, 2)] } else { &[] };
    let mut b = Builder::new();
    b.invoke(0, "txn", vec![send_mop(0, 1), poll_mop()])
        .invoke(1, "txn", vec![send_mop(1, 2), poll_mop()])
        .complete(
            0,
            OpType::Ok,
            "txn",
            vec![sent(0, Some(0), 1), polled(&[(1, t1_saw)])],
        )
        .complete(
            1,
            OpType::Ok,
            "txn",
            vec![sent(1, Some(0), 2), polled(&[(0, &[(0, 1)])])],
        )
        .poll(2, &[(0, &[(0, 1)]), (1, &[(0, 2)])]);
    b.build()
}

#[test]
fn g1c_is_a_cycle_of_reads_and_fails_the_run_without_ww_deps() {
    let bad = check_default(&mutual_reads(true));
    let g1c = find(&bad, "G1c");
    assert!(g1c.fails_run);
    assert_eq!(g1c.witness_ops, vec![2, 3]);
    assert!(
        g1c.explanation.contains("polled by op"),
        "{}",
        g1c.explanation
    );
    assert_eq!(failing(&bad), vec!["G1c".to_string()]);
    assert!(check_default(&mutual_reads(false)).anomalies.is_empty());
}

#[test]
fn g1c_is_allowed_with_ww_deps() {
    let report = check_with(&mutual_reads(true), ww());
    assert!(!find(&report, "G1c").fails_run);
    assert_eq!(report.validity(), Validity::Valid);
}

/// T1 polls value 5 of key 1; T2 sends it — after T1 completed (`later`) or concurrently.
fn read_from_the_future(t2_process: i64, later: bool) -> History {
    let mut b = Builder::new();
    b.invoke(0, "poll", vec![poll_mop()]);
    if !later {
        b.invoke(t2_process, "send", vec![send_mop(1, 5)]);
    }
    b.complete(0, OpType::Ok, "poll", vec![polled(&[(1, &[(0, 5)])])]);
    if later {
        b.invoke(t2_process, "send", vec![send_mop(1, 5)]);
    }
    b.complete(t2_process, OpType::Ok, "send", vec![sent(1, Some(0), 5)]);
    b.build()
}

#[test]
fn g1c_realtime_is_reading_a_value_sent_after_the_read_completed() {
    let bad = check_default(&read_from_the_future(1, true));
    let a = find(&bad, "G1c-realtime");
    assert!(a.fails_run);
    assert!(a.explanation.contains("(realtime)"), "{}", a.explanation);
    assert!(!has(&bad, "G1c-process"));
    assert!(check_default(&read_from_the_future(1, false))
        .anomalies
        .is_empty());
}

#[test]
fn g1c_process_is_reading_a_value_the_same_process_sends_later() {
    let bad = check_default(&read_from_the_future(0, true));
    assert!(find(&bad, "G1c-process").fails_run);
    assert!(has(&bad, "G1c-realtime"));
    // The twin: the sender is another process, running concurrently.
    assert!(check_default(&read_from_the_future(1, false))
        .anomalies
        .is_empty());
}

#[test]
fn keywords_and_strings_name_the_same_values() {
    let mut history = Builder::new()
        .send(0, 0, 1, Some(0))
        .poll(1, &[(0, &[(0, 1)])])
        .build();
    history.ops[1].value = Value::Vector(vec![Value::Vector(vec![
        Value::Str("send".into()),
        Value::Str("0".into()),
        Value::Vector(vec![Value::Int(0), Value::Keyword("one".into())]),
    ])]);
    history.ops[3].value = Value::Vector(vec![Value::Vector(vec![
        Value::Keyword("poll".into()),
        Value::Map(vec![(
            Value::Int(0),
            Value::Vector(vec![Value::Vector(vec![
                Value::Int(0),
                Value::Str("one".into()),
            ])]),
        )]),
    ])]);
    assert!(check_default(&history).anomalies.is_empty());
}

#[test]
fn a_malformed_micro_op_is_an_error_naming_the_op() {
    let mut history = Builder::new().send(0, 0, 1, Some(0)).build();
    history.ops[1].value = Value::Vector(vec![Value::Vector(vec![kw("send"), Value::Int(0)])]);
    let error = check(&history, &QueueOptions::default()).unwrap_err();
    assert!(
        matches!(error, QueueError::Malformed { index: 1, .. }),
        "{error}"
    );
    assert!(
        error.to_string().starts_with("op 1: expected a micro-op"),
        "{error}"
    );
}

#[test]
fn a_negative_offset_is_an_error() {
    let mut history = Builder::new().poll(0, &[(0, &[(0, 1)])]).build();
    history.ops[1].value = polled_value(-3);
    let error = check(&history, &QueueOptions::default()).unwrap_err();
    assert!(error.to_string().contains("non-negative"), "{error}");
}

fn polled_value(offset: i64) -> Value {
    Value::Vector(vec![polled(&[(0, &[(offset, 1)])])])
}

#[test]
fn an_unpaired_completion_is_a_pairing_error() {
    let mut history = Builder::new().send(0, 0, 1, Some(0)).build();
    history.ops[0].process = Process::Client(7);
    let error = check(&history, &QueueOptions::default()).unwrap_err();
    assert!(matches!(error, QueueError::Pairing(_)), "{error}");
}

#[test]
fn crash_and_debug_ops_are_ignored_and_pending_sends_count_as_info() {
    let mut b = Builder::new();
    b.invoke(0, "crash", vec![])
        .complete(0, OpType::Info, "crash", vec![])
        .invoke(1, "debug-topic-partitions", vec![Value::Int(0)])
        .complete(1, OpType::Ok, "debug-topic-partitions", vec![Value::Nil])
        .send(2, 0, 1, Some(0))
        .invoke(3, "send", vec![send_mop(0, 2)])
        .poll(4, &[(0, &[(0, 1), (1, 2)])]);
    let report = check_default(&b.build());
    assert!(report.anomalies.is_empty(), "{:#?}", report.anomalies);
}

#[test]
fn a_cycle_found_as_a_closed_walk_is_reduced_to_a_simple_cycle() {
    // u and v read each other (G1c); v, then a, in process 0, and v read a's send: the
    // shortest walk back to u through a process edge is u v a v u, which reduces to v a v.
    let history = Builder::new()
        .invoke(9, "txn", vec![send_mop(0, 1), poll_mop()])
        .invoke(0, "txn", vec![send_mop(1, 2), poll_mop()])
        .complete(
            0,
            OpType::Ok,
            "txn",
            vec![
                sent(1, Some(0), 2),
                polled(&[(0, &[(0, 1)]), (2, &[(0, 3)])]),
            ],
        )
        .send(0, 2, 3, Some(0))
        .complete(
            9,
            OpType::Ok,
            "txn",
            vec![sent(0, Some(0), 1), polled(&[(1, &[(0, 2)])])],
        )
        .build();
    let report = check_default(&history);
    assert_eq!(find(&report, "G1c").witness_ops, vec![2, 5]);
    let g1c_process = find(&report, "G1c-process");
    assert_eq!(g1c_process.witness_ops, vec![2, 4]);
    assert!(
        g1c_process.explanation.starts_with(
            "cycle of 2 ops 4 -> 2 -> 4: op 4 sent key 2 value 3, polled by op 2 (wr)"
        ),
        "{}",
        g1c_process.explanation
    );
}
