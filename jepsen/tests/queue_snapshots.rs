//! Snapshots of full queue verdicts for fixed histories, so any change in anomaly names,
//! explanations, witnesses or notes shows up in review.

mod queue_support;

use odradek_jepsen::history::OpType;
use odradek_jepsen::queue::{check, QueueOptions};
use queue_support::*;

#[test]
fn verdict_of_a_history_with_a_lost_write_a_skip_and_an_aborted_read() {
    let history = Builder::new()
        .send(0, 0, 1, Some(0))
        .send(0, 0, 2, Some(1))
        .send(0, 0, 3, Some(2))
        .send_not_ok(1, 1, 9, OpType::Fail)
        .assign(2, &[0, 1])
        .poll(2, &[(0, &[(0, 1)])])
        .poll(2, &[(0, &[(2, 3)]), (1, &[(0, 9)])])
        .build();
    let report = check(&history, &QueueOptions::default()).expect("well-formed");
    insta::assert_debug_snapshot!(report.verdict());
}

#[test]
fn verdict_of_a_history_with_read_cycles_in_and_out_of_real_time() {
    let history = Builder::new()
        .invoke(0, "txn", vec![send_mop(0, 1), poll_mop()])
        .invoke(1, "txn", vec![send_mop(1, 2), poll_mop()])
        .complete(
            0,
            OpType::Ok,
            "txn",
            vec![sent(0, Some(0), 1), polled(&[(1, &[(0, 2)])])],
        )
        .complete(
            1,
            OpType::Ok,
            "txn",
            vec![sent(1, Some(0), 2), polled(&[(0, &[(0, 1)])])],
        )
        .poll(2, &[(2, &[(0, 7)])])
        .send(3, 2, 7, Some(0))
        .build();
    let report = check(&history, &QueueOptions::default()).expect("well-formed");
    insta::assert_debug_snapshot!(report.verdict());
}
