//! The queue report's conversion to the common verdict: capping, counts, validity.

mod queue_support;

use odradek_jepsen::queue::{ANOMALIES_SHOWN_PER_NAME, WITNESS_OPS_MAX};
use odradek_jepsen::verdict::Validity;
use queue_support::*;

#[test]
fn the_verdict_lists_at_most_a_fixed_number_per_name_but_counts_all() {
    let mut b = Builder::new();
    for key in 0..40 {
        b.send(0, key, 1, Some(0));
    }
    let report = check_default(&b.build());
    assert_eq!(report.counts().get("unseen"), Some(&40));
    let verdict = report.verdict();
    assert_eq!(verdict.checker, "queue");
    assert_eq!(verdict.validity, Validity::Invalid);
    assert_eq!(verdict.anomalies.len(), ANOMALIES_SHOWN_PER_NAME);
    assert!(
        verdict
            .notes
            .iter()
            .any(|n| n == "unseen: 40 found (40 failing, 0 allowed)"),
        "{:?}",
        verdict.notes
    );
}

#[test]
fn witnesses_are_capped_and_the_explanation_keeps_the_full_count() {
    let mut b = Builder::new();
    for value in 0..100 {
        b.send(0, 0, value, Some(value));
    }
    let report = check_default(&b.build());
    let unseen = &report.anomalies[0];
    assert_eq!(unseen.name, "unseen");
    assert_eq!(unseen.witness_ops.len(), WITNESS_OPS_MAX);
    assert!(
        unseen.explanation.contains("100 acknowledged sends"),
        "{}",
        unseen.explanation
    );
    assert!(
        unseen.explanation.contains("(92 more)"),
        "{}",
        unseen.explanation
    );
}

#[test]
fn allowed_anomalies_appear_in_the_verdict_and_keep_the_run_valid() {
    let report = check_default(
        &Builder::new()
            .txn(
                0,
                vec![send_mop(0, 1), send_mop(0, 3)],
                vec![sent(0, None, 1), sent(0, None, 3)],
            )
            .send(1, 0, 2, None)
            .poll(2, &[(0, &[(0, 1), (1, 2), (2, 3)])])
            .build(),
    );
    let verdict = report.verdict();
    assert_eq!(verdict.validity, Validity::Valid);
    assert_eq!(verdict.anomalies.len(), 1);
    assert!(!verdict.anomalies[0].fails_run);
    assert!(
        verdict
            .notes
            .iter()
            .any(|n| n == "int-send-skip: 1 found (0 failing, 1 allowed)"),
        "{:?}",
        verdict.notes
    );
}
