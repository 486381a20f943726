//! Every queue anomaly on a small history, each with a valid twin that differs in one
//! operation: the twin must be valid with no anomaly at all.

mod queue_support;

use odradek_jepsen::history::{History, OpType};
use odradek_jepsen::queue::{check, QueueOptions, QueueReport, SubscribeSkips};
use odradek_jepsen::verdict::{Anomaly, Validity};
use queue_support::*;

/// Asserts `bad` has `name` (failing the run iff `fails`) and `twin` is clean; returns the
/// first `name` anomaly of `bad`.
fn assert_twins(bad: &QueueReport, twin: &QueueReport, name: &str, fails: bool) -> Anomaly {
    let anomaly = bad
        .anomalies
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", bad.anomalies))
        .clone();
    assert_eq!(anomaly.fails_run, fails, "{anomaly:?}");
    if fails {
        assert_eq!(bad.validity(), Validity::Invalid);
    }
    assert!(twin.anomalies.is_empty(), "twin: {:#?}", twin.anomalies);
    assert_eq!(twin.validity(), Validity::Valid);
    anomaly
}

fn three_sends(b: &mut Builder) -> &mut Builder {
    b.send(0, 0, 1, Some(0))
        .send(0, 0, 2, Some(1))
        .send(0, 0, 3, Some(2))
}

#[test]
fn inconsistent_offsets_is_two_values_at_one_offset() {
    let history = |second: i64| {
        Builder::new()
            .send(0, 0, 1, Some(0))
            .send(1, 0, 2, Some(1))
            .poll(2, &[(0, &[(0, 1), (second, 2)])])
            .build()
    };
    let a = assert_twins(
        &check_default(&history(0)),
        &check_default(&history(1)),
        "inconsistent-offsets",
        true,
    );
    assert!(a.explanation.contains("offset 0"), "{}", a.explanation);
    assert_eq!(a.witness_ops, vec![1, 5]);
}

#[test]
fn duplicate_is_one_value_at_two_offsets() {
    let history = |dup: bool| {
        let mut b = Builder::new();
        three_sends(&mut b);
        if dup {
            b.poll(1, &[(0, &[(0, 1), (1, 2), (2, 3), (3, 1)])]);
        } else {
            b.poll(1, &[(0, &[(0, 1), (1, 2), (2, 3)])]);
        }
        b.build()
    };
    let a = assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "duplicate",
        true,
    );
    assert!(a.explanation.contains("offsets: 0, 3"), "{}", a.explanation);
}

#[test]
fn lost_write_is_an_unpolled_value_below_a_polled_one() {
    let history = |second_reads_two: bool| {
        let mut b = Builder::new();
        three_sends(&mut b).poll(1, &[(0, &[(0, 1)])]);
        if second_reads_two {
            b.poll(2, &[(0, &[(1, 2), (2, 3)])]);
        } else {
            b.poll(2, &[(0, &[(2, 3)])]);
        }
        b.build()
    };
    let bad = check_default(&history(false));
    let a = assert_twins(&bad, &check_default(&history(true)), "lost-write", true);
    // The writer of 2 (op 3) and the reader of the later value 3 (op 9).
    assert_eq!(a.witness_ops, vec![3, 9]);
    assert!(a.explanation.contains("value 2"), "{}", a.explanation);
}

#[test]
fn unseen_is_an_acknowledged_send_never_polled() {
    let history = |polled_at_end: bool| {
        let mut b = Builder::new();
        b.send(0, 0, 1, Some(0))
            .send(0, 0, 2, Some(1))
            .poll(1, &[(0, &[(0, 1)])]);
        if polled_at_end {
            b.poll(1, &[(0, &[(1, 2)])]);
        } else {
            b.poll(1, &[(0, &[])]);
        }
        b.build()
    };
    let a = assert_twins(
        &check_default(&history(false)),
        &check_default(&history(true)),
        "unseen",
        true,
    );
    assert_eq!(a.witness_ops, vec![3]);
}

fn skipping_consumer(subscribe: bool, skip: bool) -> History {
    let mut b = Builder::new();
    three_sends(&mut b).poll(2, &[(0, &[(0, 1), (1, 2), (2, 3)])]);
    if subscribe {
        b.subscribe(1, &[0]);
    } else {
        b.assign(1, &[0]);
    }
    b.poll(1, &[(0, &[(0, 1)])]);
    if skip {
        b.poll(1, &[(0, &[(2, 3)])]);
    } else {
        b.poll(1, &[(0, &[(1, 2), (2, 3)])]);
    }
    b.build()
}

#[test]
fn poll_skip_is_a_consumer_jumping_over_a_value_between_polls() {
    let a = assert_twins(
        &check_default(&skipping_consumer(false, true)),
        &check_default(&skipping_consumer(false, false)),
        "poll-skip",
        true,
    );
    assert_eq!(a.witness_ops, vec![11, 13]);
}

#[test]
fn poll_skip_is_allowed_for_a_subscribed_consumer() {
    let report = check_default(&skipping_consumer(true, true));
    assert!(has(&report, "poll-skip"));
    assert_eq!(report.validity(), Validity::Valid);
    let never = QueueOptions {
        subscribe_skips: SubscribeSkips::Never,
        ..QueueOptions::default()
    };
    let strict = check(&skipping_consumer(true, true), &never).expect("well-formed");
    assert_eq!(failing(&strict), vec!["poll-skip".to_string()]);
}

#[test]
fn poll_skip_is_allowed_for_everyone_under_whole_run_rule_when_anyone_subscribes() {
    let mut b = Builder::new();
    b.subscribe(9, &[0]);
    let mut history = b.build();
    history.ops.extend(skipping_consumer(false, true).ops);
    for (i, op) in history.ops.iter_mut().enumerate() {
        op.index = i as u64;
    }
    let whole_run = QueueOptions {
        subscribe_skips: SubscribeSkips::WholeRun,
        ..QueueOptions::default()
    };
    let report = check(&history, &whole_run).expect("well-formed");
    assert!(has(&report, "poll-skip"));
    assert_eq!(report.validity(), Validity::Valid);
    assert_eq!(check_default(&history).validity(), Validity::Invalid);
}

#[test]
fn nonmonotonic_poll_is_a_consumer_going_back_between_polls() {
    let history = |back: bool| {
        let mut b = Builder::new();
        three_sends(&mut b)
            .assign(1, &[0])
            .poll(1, &[(0, &[(0, 1), (1, 2)])]);
        if back {
            b.poll(1, &[(0, &[(1, 2), (2, 3)])]);
        } else {
            b.poll(1, &[(0, &[(2, 3)])]);
        }
        b.build()
    };
    assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "nonmonotonic-poll",
        true,
    );
}

#[test]
fn an_assign_forgets_the_position_of_keys_no_longer_followed() {
    let mut b = Builder::new();
    three_sends(&mut b)
        .assign(1, &[0])
        .poll(1, &[(0, &[(0, 1), (1, 2), (2, 3)])])
        .assign(1, &[7])
        .assign(1, &[0])
        .poll(1, &[(0, &[(0, 1)])]);
    assert!(check_default(&b.build()).anomalies.is_empty());
}

#[test]
fn int_poll_skip_is_a_gap_inside_one_poll() {
    let history = |gap: bool| {
        let mut b = Builder::new();
        three_sends(&mut b).poll(2, &[(0, &[(0, 1), (1, 2), (2, 3)])]);
        if gap {
            b.poll(1, &[(0, &[(0, 1), (2, 3)])]);
        } else {
            b.poll(1, &[(0, &[(0, 1), (1, 2), (2, 3)])]);
        }
        b.build()
    };
    let a = assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "int-poll-skip",
        true,
    );
    assert!(
        a.explanation.contains("skipping 1 values (2)"),
        "{}",
        a.explanation
    );
}

#[test]
fn int_nonmonotonic_poll_is_going_back_inside_one_poll() {
    let history = |back: bool| {
        let mut b = Builder::new();
        b.send(0, 0, 1, Some(0)).send(0, 0, 2, Some(1));
        if back {
            b.poll(1, &[(0, &[(1, 2), (0, 1)])]);
        } else {
            b.poll(1, &[(0, &[(0, 1), (1, 2)])]);
        }
        b.build()
    };
    assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "int-nonmonotonic-poll",
        true,
    );
}

/// Two sends without offsets; the final poll decides their order.
fn two_sends_ordered_by_poll(sends: impl Fn(&mut Builder), reversed: bool) -> History {
    let mut b = Builder::new();
    sends(&mut b);
    if reversed {
        b.poll(5, &[(0, &[(0, 2), (1, 1)])]);
    } else {
        b.poll(5, &[(0, &[(0, 1), (1, 2)])]);
    }
    b.build()
}

#[test]
fn nonmonotonic_send_is_a_process_sending_backwards_in_the_log() {
    let sends = |b: &mut Builder| {
        b.send(0, 0, 1, None).send(0, 0, 2, None);
    };
    let a = assert_twins(
        &check_default(&two_sends_ordered_by_poll(sends, true)),
        &check_default(&two_sends_ordered_by_poll(sends, false)),
        "nonmonotonic-send",
        true,
    );
    assert_eq!(a.witness_ops, vec![1, 3]);
}

#[test]
fn int_nonmonotonic_send_is_a_transaction_sending_backwards_in_the_log() {
    let sends = |b: &mut Builder| {
        b.txn(
            0,
            vec![send_mop(0, 1), send_mop(0, 2)],
            vec![sent(0, None, 1), sent(0, None, 2)],
        );
    };
    assert_twins(
        &check_default(&two_sends_ordered_by_poll(sends, true)),
        &check_default(&two_sends_ordered_by_poll(sends, false)),
        "int-nonmonotonic-send",
        true,
    );
}

#[test]
fn int_send_skip_is_reported_but_allowed() {
    let history = |interleaved: bool| {
        let mut b = Builder::new();
        b.txn(
            0,
            vec![send_mop(0, 1), send_mop(0, 3)],
            vec![sent(0, None, 1), sent(0, None, 3)],
        )
        .send(1, 0, 2, None);
        if interleaved {
            b.poll(2, &[(0, &[(0, 1), (1, 2), (2, 3)])]);
        } else {
            b.poll(2, &[(0, &[(0, 1), (1, 3), (2, 2)])]);
        }
        b.build()
    };
    let bad = check_default(&history(true));
    assert_twins(
        &bad,
        &check_default(&history(false)),
        "int-send-skip",
        false,
    );
    assert_eq!(bad.validity(), Validity::Valid);
}

#[test]
fn precommitted_read_is_a_transaction_polling_its_own_send() {
    let history = |own: bool| {
        let seen: &[(i64, i64)] = if own { &[(0, 1)] } else { &[] };
        Builder::new()
            .txn(
                0,
                vec![send_mop(0, 1), poll_mop()],
                vec![sent(0, Some(0), 1), polled(&[(0, seen)])],
            )
            .poll(1, &[(0, &[(0, 1)])])
            .build()
    };
    assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "precommitted-read",
        true,
    );
}

#[test]
fn g1a_is_polling_a_value_whose_send_failed() {
    let history = |failed: bool| {
        let mut b = Builder::new();
        if failed {
            b.send_not_ok(0, 0, 1, OpType::Fail);
        } else {
            b.send(0, 0, 1, Some(0));
        }
        b.poll(1, &[(0, &[(0, 1)])]).build()
    };
    let a = assert_twins(
        &check_default(&history(true)),
        &check_default(&history(false)),
        "G1a",
        true,
    );
    assert_eq!(a.witness_ops, vec![1, 3]);
}

#[test]
fn an_info_send_that_was_polled_must_have_committed_and_orders_its_offsets() {
    let mut b = Builder::new();
    b.send_not_ok(0, 0, 1, OpType::Info)
        .send(1, 0, 2, Some(1))
        .poll(2, &[(0, &[(0, 1), (1, 2)])]);
    assert!(check_default(&b.build()).anomalies.is_empty());
}
