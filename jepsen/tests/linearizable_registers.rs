//! Hand-written histories for the `register` and `cas-register` models: the classic races,
//! stale reads, indeterminate and failed operations, wildcard reads, independent keys.

mod linearizable_support;

use linearizable_support::{int, nil, pair, Builder};
use odradek_jepsen::history::Value;
use odradek_jepsen::linearizable::{
    check, IndependentKeys, LinearizableError, LinearizableOptions, LinearizableReport, ModelKind,
    PartitionKey,
};
use odradek_jepsen::verdict::Validity;

fn run(builder: &Builder, model: ModelKind) -> LinearizableReport {
    check(&builder.history(), model, &LinearizableOptions::default()).expect("well-formed history")
}

fn validity(builder: &Builder, model: ModelKind) -> Validity {
    run(builder, model).validity
}

#[test]
fn an_empty_history_is_linearizable() {
    assert_eq!(
        validity(&Builder::new(), ModelKind::Register),
        Validity::Valid
    );
}

#[test]
fn reads_racing_a_write_may_see_either_value() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(0, "write", int(2))
        .invoke(1, "read", nil())
        .invoke(2, "read", nil())
        .ok(1, "read", int(2))
        .ok(2, "read", int(1))
        .ok(0, "write", int(2));
    // Both reads overlap the write and each other: read → 1, write 2, read → 2 is allowed.
    assert_eq!(validity(&h, ModelKind::Register), Validity::Valid);
}

#[test]
fn a_read_that_starts_after_a_newer_value_was_read_cannot_see_the_older_one() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(0, "write", int(2))
        .done(1, "read", nil(), int(2))
        .done(2, "read", nil(), int(1))
        .ok(0, "write", int(2));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_stale_read_after_a_completed_write_is_not_linearizable_and_names_the_read() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(0, "write", int(2), int(2))
        .done(1, "read", nil(), int(1));
    let report = run(&h, ModelKind::Register);
    assert_eq!(report.validity, Validity::Invalid);
    let violation = report.violation.expect("a witness");
    assert_eq!(violation.blocked.invoke, 4);
    assert_eq!(violation.blocked.completion, Some(5));
    let prefix: Vec<usize> = violation.prefix.iter().map(|op| op.invoke).collect();
    assert_eq!(prefix, vec![0, 2]);
    assert_eq!(violation.states, vec!["register = 2".to_string()]);
    assert!(violation
        .explanation
        .contains("op 4: process 1 read nil → ok 1"));
}

#[test]
fn reading_a_value_never_written_is_not_linearizable() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(1, "read", nil(), int(7));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_crashed_write_must_be_placed_when_a_later_read_saw_it() {
    let mut h = Builder::new();
    h.done(0, "write", int(0), int(0))
        .invoke(1, "write", int(1))
        .info(1, "write", int(1))
        .done(2, "read", nil(), int(1));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Valid);
}

#[test]
fn a_crashed_write_may_never_take_effect() {
    let mut h = Builder::new();
    h.done(0, "write", int(0), int(0))
        .invoke(1, "write", int(1))
        .info(1, "write", int(1))
        .done(2, "read", nil(), int(0))
        .done(2, "read", nil(), int(0));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Valid);
}

#[test]
fn a_crashed_write_cannot_take_effect_before_it_was_invoked() {
    let mut h = Builder::new();
    h.done(0, "write", int(0), int(0))
        .done(2, "read", nil(), int(1))
        .invoke(1, "write", int(1))
        .info(1, "write", int(1));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_crashed_write_takes_effect_at_most_once() {
    let mut h = Builder::new();
    h.done(0, "write", int(0), int(0))
        .invoke(1, "write", int(1))
        .info(1, "write", int(1))
        .done(2, "read", nil(), int(1))
        .done(0, "write", int(2), int(2))
        .done(2, "read", nil(), int(1));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_pending_write_is_treated_like_a_crashed_one() {
    let mut h = Builder::new();
    h.done(0, "write", int(0), int(0))
        .invoke(1, "write", int(1))
        .done(2, "read", nil(), int(0))
        .done(2, "read", nil(), int(1));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Valid);
    h.done(2, "read", nil(), int(0));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_failed_write_never_happened() {
    let failed_write = || {
        let mut h = Builder::new();
        h.done(0, "write", int(1), int(1))
            .invoke(0, "write", int(2))
            .fail(0, "write", int(2));
        h
    };
    let mut reads_old = failed_write();
    reads_old.done(1, "read", nil(), int(1));
    let report = run(&reads_old, ModelKind::Register);
    assert_eq!(report.validity, Validity::Valid);
    assert_eq!(report.failed_ops, 1);
    let mut reads_failed = failed_write();
    reads_failed.done(1, "read", nil(), int(2));
    assert_eq!(
        validity(&reads_failed, ModelKind::Register),
        Validity::Invalid
    );
}

#[test]
fn a_nil_read_matches_any_register_state() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(1, "read", nil(), nil());
    let report = run(&h, ModelKind::Register);
    assert_eq!(report.validity, Validity::Valid);
    assert_eq!(report.irrelevant_ops, 1);
}

#[test]
fn a_register_starts_at_nil_so_an_early_read_of_a_number_is_not_linearizable() {
    let mut h = Builder::new();
    h.done(1, "read", nil(), int(0));
    assert_eq!(validity(&h, ModelKind::Register), Validity::Invalid);
}

#[test]
fn a_successful_cas_moves_the_register() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(1, "cas", pair(int(1), int(2)), pair(int(1), int(2)))
        .done(2, "read", nil(), int(2));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Valid);
    h.done(2, "read", nil(), int(1));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Invalid);
}

#[test]
fn a_cas_that_succeeded_against_the_wrong_value_is_not_linearizable() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(1, "cas", pair(int(3), int(4)), pair(int(3), int(4)));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Invalid);
}

#[test]
fn a_failed_cas_is_ignored_even_when_it_could_have_succeeded() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(1, "cas", pair(int(1), int(2)))
        .fail(1, "cas", pair(int(1), int(2)))
        .done(2, "read", nil(), int(1));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Valid);
}

#[test]
fn a_crashed_cas_may_take_effect_only_where_its_expected_value_holds() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(1, "cas", pair(int(1), int(2)))
        .info(1, "cas", nil())
        .done(0, "write", int(3), int(3))
        .done(2, "read", nil(), int(3));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Valid);
    h.done(2, "read", nil(), int(2));
    assert_eq!(validity(&h, ModelKind::CasRegister), Validity::Invalid);
}

#[test]
fn the_plain_register_rejects_cas_with_the_op_index() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .done(1, "cas", pair(int(1), int(2)), pair(int(1), int(2)));
    let error = check(
        &h.history(),
        ModelKind::Register,
        &LinearizableOptions::default(),
    )
    .unwrap_err();
    match error {
        LinearizableError::MalformedOp {
            index, expected, ..
        } => {
            assert_eq!(index, 2);
            assert!(expected.contains("`read` or `write`"), "{expected}");
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn a_cas_without_an_old_new_pair_is_malformed() {
    let mut h = Builder::new();
    h.done(0, "cas", int(5), int(5));
    let error = check(
        &h.history(),
        ModelKind::CasRegister,
        &LinearizableOptions::default(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("op 0 (f `cas`, value 5): expected value [old new]"),
        "{error}"
    );
}

#[test]
fn unpaired_histories_are_errors_not_panics() {
    let mut h = Builder::new();
    h.ok(0, "write", int(1));
    let error = check(
        &h.history(),
        ModelKind::Register,
        &LinearizableOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, LinearizableError::Pairing(_)));
}

fn keyed(key: i64, value: Value) -> Value {
    pair(int(key), value)
}

fn independent_history() -> Builder {
    let mut h = Builder::new();
    h.done(0, "write", keyed(1, int(1)), keyed(1, int(1)))
        .done(1, "write", keyed(2, int(5)), keyed(2, int(5)))
        .done(
            0,
            "cas",
            keyed(1, pair(int(1), int(2))),
            keyed(1, pair(int(1), int(2))),
        )
        .done(2, "read", keyed(2, nil()), keyed(2, int(5)))
        .nemesis("partition")
        .done(2, "read", keyed(1, nil()), keyed(1, int(2)));
    h
}

#[test]
fn independent_tuples_are_recognised_and_checked_per_key() {
    let report = run(&independent_history(), ModelKind::CasRegister);
    assert_eq!(report.validity, Validity::Valid);
    assert!(report.independent_keys);
    let keys: Vec<PartitionKey> = report.partitions.iter().map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        vec![PartitionKey::Key(int(1)), PartitionKey::Key(int(2))]
    );
}

#[test]
fn a_stale_read_on_one_independent_key_names_that_key() {
    let mut h = independent_history();
    h.done(3, "read", keyed(2, nil()), keyed(2, int(4)));
    let report = run(&h, ModelKind::CasRegister);
    assert_eq!(report.validity, Validity::Invalid);
    let violation = report.violation.expect("a witness");
    assert_eq!(violation.partition, PartitionKey::Key(int(2)));
    assert!(
        violation.explanation.starts_with("key 2: "),
        "{}",
        violation.explanation
    );
}

#[test]
fn independent_unwrapping_can_be_turned_off() {
    let options = LinearizableOptions {
        independent_keys: IndependentKeys::Never,
        ..LinearizableOptions::default()
    };
    let report = check(
        &independent_history().history(),
        ModelKind::CasRegister,
        &options,
    )
    .unwrap();
    assert!(!report.independent_keys);
    assert_eq!(report.partitions.len(), 1);
}

#[test]
fn forcing_independent_keys_on_plain_values_names_the_op() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1));
    let options = LinearizableOptions {
        independent_keys: IndependentKeys::Always,
        ..LinearizableOptions::default()
    };
    let error = check(&h.history(), ModelKind::Register, &options).unwrap_err();
    assert!(error.to_string().contains("jepsen.independent"), "{error}");
}

#[test]
fn crashed_writes_after_the_last_completion_are_left_out() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(1, "write", int(2))
        .info(1, "write", int(2))
        .invoke(0, "write", int(3));
    let report = run(&h, ModelKind::Register);
    assert_eq!(report.validity, Validity::Valid);
    assert_eq!(report.searched_ops, 1);
    assert_eq!(report.irrelevant_ops, 2);
}

/// `crashed` identical crashed writes of 1, then `rounds` sequential rounds of
/// `write 2; read 1`: each round needs one more crashed write to take effect.
fn identical_crashed_writes(crashed: i64, rounds: usize) -> Builder {
    let mut h = Builder::new();
    for process in 0..crashed {
        h.invoke(process, "write", int(1));
    }
    for process in 0..crashed {
        h.info(process, "write", int(1));
    }
    for _ in 0..rounds {
        h.done(100, "write", int(2), int(2))
            .done(101, "read", nil(), int(1));
    }
    h
}

#[test]
fn identical_crashed_writes_each_take_effect_at_most_once_without_blowing_up() {
    let options = LinearizableOptions {
        max_steps: Some(200_000),
        ..LinearizableOptions::default()
    };
    let check_rounds = |rounds| {
        let history = identical_crashed_writes(30, rounds).history();
        check(&history, ModelKind::Register, &options)
            .unwrap()
            .validity
    };
    assert_eq!(check_rounds(30), Validity::Valid);
    assert_eq!(check_rounds(31), Validity::Invalid);
}

/// `readers` concurrent reads of 1 overlapping a write of 1 and a write of 2, then a
/// read of 3, which nobody wrote: proving it impossible means exhausting every order.
fn many_concurrent_reads_then_impossible_read(readers: i64) -> Builder {
    let mut h = Builder::new();
    h.invoke(0, "write", int(1)).invoke(1, "write", int(2));
    for process in 10..10 + readers {
        h.invoke(process, "read", nil());
    }
    h.ok(0, "write", int(1)).ok(1, "write", int(2));
    for process in 10..10 + readers {
        h.ok(process, "read", int(1));
    }
    h.done(2, "read", nil(), int(3));
    h
}

#[test]
fn concurrent_reads_do_not_multiply_the_search() {
    let options = LinearizableOptions {
        max_steps: Some(20_000),
        ..LinearizableOptions::default()
    };
    let history = many_concurrent_reads_then_impossible_read(16).history();
    let report = check(&history, ModelKind::Register, &options).unwrap();
    assert_eq!(report.validity, Validity::Invalid);
    let violation = report.violation.expect("a witness");
    assert_eq!(violation.blocked.invoke, history.ops.len() - 2);
}
