//! Controlled shutdown (KRaft's `want_shut_down`): a stopping broker's heartbeat fences it at
//! once, with the records a session expiry would write (out of every ISR, never emptying one;
//! new leaders for what it led; `FenceBroker`), and it stays fenced until a new incarnation
//! registers. Records are asserted exactly.

mod controller_support;

use controller_support::*;
use odradek_core::controller::BrokerId;

#[test]
fn a_controlled_shutdown_moves_leadership_and_isr_membership_at_once_then_fences() {
    let (mut controller, mut log) = cluster(3);
    let t = explicit_topic(
        &mut controller,
        &mut log,
        "t",
        &[&[0, 1, 2], &[1, 0, 2]],
        &[],
    );
    let records = controller
        .handle_controlled_shutdown(at_millis(100), BrokerId(0), broker(0, None).incarnation)
        .expect("registered");
    assert_eq!(
        records,
        vec![
            change(t, 0, Some(1), &[1, 2], 1, 1),
            change(t, 1, Some(1), &[1, 2], 0, 1),
            fencing(0, true),
        ],
        "the same records as a session expiry, long before the 9 s session would end"
    );
    commit(&mut controller, &mut log, records);
    controller.check_invariants();
    assert!(controller.image().is_fenced(BrokerId(0)));
}

#[test]
fn a_fenced_broker_asking_again_stays_fenced_and_logs_nothing() {
    let (mut controller, mut log) = cluster(2);
    explicit_topic(&mut controller, &mut log, "t", &[&[0, 1]], &[]);
    let incarnation = broker(1, None).incarnation;
    let first = controller
        .handle_controlled_shutdown(at_millis(10), BrokerId(1), incarnation)
        .expect("registered");
    assert!(!first.is_empty());
    commit(&mut controller, &mut log, first);
    let again = controller.handle_controlled_shutdown(at_millis(20), BrokerId(1), incarnation);
    assert_eq!(again, Ok(vec![]));
    assert!(controller.image().is_fenced(BrokerId(1)));
}

#[test]
fn the_last_in_sync_replica_may_shut_down_but_stays_in_the_isr_and_the_partition_has_no_leader() {
    let (mut controller, mut log) = cluster(1);
    let t = explicit_topic(&mut controller, &mut log, "t", &[&[0]], &[]);
    let records = controller
        .handle_controlled_shutdown(at_millis(10), BrokerId(0), broker(0, None).incarnation)
        .expect("registered");
    assert_eq!(
        records,
        vec![change(t, 0, None, &[0], 1, 1), fencing(0, true)]
    );
}
