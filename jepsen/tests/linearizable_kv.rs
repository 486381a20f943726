//! Hand-written histories for the `kv` model: per-key partitions, both value shapes,
//! appends, strict absent reads, and a deterministic witness under parallel search.

mod linearizable_support;

use linearizable_support::{int, ints, nil, pair, Builder};
use odradek_jepsen::history::Value;
use odradek_jepsen::linearizable::{
    check, LinearizableOptions, LinearizableReport, ModelKind, PartitionKey, PartitionOutcome,
};
use odradek_jepsen::verdict::Validity;

fn kv(key: &str, value: Value) -> Value {
    pair(Value::Keyword(key.to_string()), value)
}

fn run(builder: &Builder) -> LinearizableReport {
    check(
        &builder.history(),
        ModelKind::Kv,
        &LinearizableOptions::default(),
    )
    .expect("well-formed history")
}

#[test]
fn writes_and_reads_on_different_keys_are_checked_separately() {
    let mut h = Builder::new();
    h.invoke(0, "write", kv("x", int(1)))
        .invoke(1, "write", kv("y", int(2)))
        .ok(0, "write", kv("x", int(1)))
        .done(2, "read", kv("y", nil()), kv("y", int(2)))
        .ok(1, "write", kv("y", int(2)))
        .done(2, "read", kv("x", nil()), kv("x", int(1)));
    let report = run(&h);
    assert_eq!(report.validity, Validity::Valid);
    assert_eq!(report.partitions.len(), 2);
    assert!(!report.independent_keys);
}

#[test]
fn a_stale_read_of_one_key_is_reported_on_that_key() {
    let mut h = Builder::new();
    h.done(0, "put", kv("x", int(1)), kv("x", int(1)))
        .done(0, "put", kv("y", int(1)), kv("y", int(1)))
        .done(0, "put", kv("y", int(2)), kv("y", int(2)))
        .done(1, "get", kv("y", nil()), kv("y", int(1)));
    let report = run(&h);
    assert_eq!(report.validity, Validity::Invalid);
    let violation = report.violation.expect("a witness");
    assert_eq!(
        violation.partition,
        PartitionKey::Key(Value::Str("y".into()))
    );
    assert_eq!(violation.states, vec!["key = 2".to_string()]);
}

#[test]
fn reading_an_absent_key_is_strict() {
    let mut h = Builder::new();
    h.done(1, "read", kv("x", nil()), kv("x", nil())).done(
        0,
        "write",
        kv("x", int(1)),
        kv("x", int(1)),
    );
    assert_eq!(run(&h).validity, Validity::Valid);
    h.done(1, "read", kv("x", nil()), kv("x", nil()));
    assert_eq!(run(&h).validity, Validity::Invalid);
}

#[test]
fn appends_build_a_list_in_linearization_order() {
    let mut h = Builder::new();
    h.invoke(0, "append", kv("x", int(1)))
        .invoke(1, "append", kv("x", int(2)))
        .ok(0, "append", kv("x", int(1)))
        .ok(1, "append", kv("x", int(2)))
        .done(2, "read", kv("x", nil()), kv("x", ints(&[2, 1])));
    assert_eq!(run(&h).validity, Validity::Valid);
    h.done(2, "read", kv("x", nil()), kv("x", ints(&[1, 2])));
    assert_eq!(run(&h).validity, Validity::Invalid);
}

#[test]
fn an_edn_list_read_matches_an_appended_vector() {
    let mut h = Builder::new();
    h.done(0, "append", kv("x", int(1)), kv("x", int(1))).done(
        2,
        "read",
        kv("x", nil()),
        kv("x", Value::List(vec![int(1)])),
    );
    assert_eq!(run(&h).validity, Validity::Valid);
}

#[test]
fn map_shaped_values_are_accepted() {
    let entry = |key: &str, value: Value| {
        Value::Map(vec![
            (Value::Str("key".into()), Value::Str(key.into())),
            (Value::Str("value".into()), value),
        ])
    };
    let mut h = Builder::new();
    h.done(0, "write", entry("x", int(3)), entry("x", int(3)))
        .done(1, "read", entry("x", nil()), entry("x", int(3)))
        .done(1, "read", entry("x", nil()), entry("x", int(4)));
    let report = run(&h);
    assert_eq!(report.validity, Validity::Invalid);
    assert_eq!(report.partitions.len(), 1);
}

#[test]
fn a_kv_cas_needs_its_expected_value() {
    let mut h = Builder::new();
    h.done(0, "write", kv("x", int(1)), kv("x", int(1)))
        .done(
            1,
            "cas",
            kv("x", pair(int(1), int(2))),
            kv("x", pair(int(1), int(2))),
        )
        .done(2, "read", kv("x", nil()), kv("x", int(2)));
    assert_eq!(run(&h).validity, Validity::Valid);
    h.done(
        1,
        "cas",
        kv("x", pair(int(1), int(3))),
        kv("x", pair(int(1), int(3))),
    );
    assert_eq!(run(&h).validity, Validity::Invalid);
}

#[test]
fn a_kv_op_without_a_key_is_malformed_with_its_index() {
    let mut h = Builder::new();
    h.done(0, "write", kv("x", int(1)), kv("x", int(1)))
        .done(0, "write", int(1), int(1));
    let error = check(&h.history(), ModelKind::Kv, &LinearizableOptions::default()).unwrap_err();
    assert!(error.to_string().starts_with("op 2 (f `write`"), "{error}");
    assert!(error.to_string().contains("[key value]"), "{error}");
}

/// Ten keys, each with a stale read on odd keys; whatever the threads do, the violation
/// reported is the first bad key in key order.
#[test]
fn the_reported_violation_is_the_first_bad_key_whatever_the_thread_count() {
    let mut h = Builder::new();
    for key in 0..10 {
        let name = format!("k{key}");
        h.done(0, "write", kv(&name, int(1)), kv(&name, int(1)))
            .done(0, "write", kv(&name, int(2)), kv(&name, int(2)));
        let seen = if key % 2 == 1 { 1 } else { 2 };
        h.done(1, "read", kv(&name, nil()), kv(&name, int(seen)));
    }
    for threads in [1, 2, 4] {
        let options = LinearizableOptions {
            threads: Some(threads),
            ..LinearizableOptions::default()
        };
        let report = check(&h.history(), ModelKind::Kv, &options).unwrap();
        assert_eq!(report.validity, Validity::Invalid);
        let violation = report.violation.expect("a witness");
        assert_eq!(
            violation.partition,
            PartitionKey::Key(Value::Str("k1".into()))
        );
        assert_eq!(report.partitions[0].outcome, PartitionOutcome::Linearizable);
        assert_eq!(
            report.partitions[1].outcome,
            PartitionOutcome::Nonlinearizable
        );
    }
}
