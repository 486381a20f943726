//! A real 3-process cluster on loopback: `odradek serve --node-id N --controller-quorum …`,
//! every node a combined broker+controller over the openraft metadata quorum. A topic with
//! replication factor 3 and `min.insync.replicas=2` takes `acks=all` produces; the leader is
//! killed with SIGKILL mid-stream and later restarted; every acknowledged record must be read
//! back, once, from whoever leads at the end: the recorded history (sends, and a final poll
//! from the leader) passes the queue checker (no lost write, no duplicate, consistent
//! offsets). A SIGTERM instead of a SIGKILL is a controlled shutdown: leadership moves before
//! the process exits.

mod cluster_support;
mod serve_support;

use cluster_support::history::History;
use cluster_support::{
    assert_nothing_acknowledged_lost, create_replicated_topic, produce_acknowledged,
    produce_recorded, Cluster,
};
use std::time::Duration;

const TOPIC: &str = "replicated";

#[test]
fn acknowledged_records_survive_a_sigkill_of_the_leader_and_its_restart() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    let first = cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let within = Duration::from_secs(90);
    let mut history = History::default();
    let mut next = 0;
    produce_recorded(&cluster, TOPIC, &mut history, &mut next, 30, within);

    cluster.kill(first.leader);
    produce_recorded(&cluster, TOPIC, &mut history, &mut next, 30, within);
    let during = cluster.partition_state(TOPIC, 0).expect("a leader");
    assert_ne!(during.leader, first.leader, "a killed broker cannot lead");

    cluster.restart(first.leader);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(60));
    produce_recorded(&cluster, TOPIC, &mut history, &mut next, 30, within);

    history.assert_valid_after_reading_back(&cluster, TOPIC, next);
}

#[test]
fn topics_are_still_created_after_a_controller_is_killed_and_it_rejoins_on_restart() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    // Node 1 initialises the quorum and usually leads it first; either way two of three
    // controllers remain a majority.
    cluster.kill(1);
    // Fencing the dead broker (its session expires) needs an active controller: if node 1
    // led the quorum, another was elected.
    cluster.wait_for_brokers(2, Duration::from_secs(60));
    create_replicated_topic(&cluster, "after-kill", 2, &[]);
    let state = cluster.wait_for_isr("after-kill", 0, 2, Duration::from_secs(30));
    assert!(
        !state.isr.contains(&1),
        "a dead broker cannot be in sync: {state:?}"
    );
    let acknowledged =
        produce_acknowledged(&cluster, "after-kill", "x", 5, Duration::from_secs(60));
    assert_nothing_acknowledged_lost(&cluster, "after-kill", &acknowledged);

    cluster.restart(1);
    cluster.wait_for_brokers(3, Duration::from_secs(60));
    create_replicated_topic(&cluster, "after-restart", 3, &[]);
    cluster.wait_for_isr("after-restart", 0, 3, Duration::from_secs(30));
}

#[test]
fn a_broker_outside_the_quorum_registers_and_new_topics_replicate_onto_it() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    // Node 4 is not in the controller quorum: a broker only.
    cluster.restart(4);
    cluster.wait_for_brokers(4, Duration::from_secs(60));
    create_replicated_topic(&cluster, "wide", 4, &[("min.insync.replicas", "4")]);
    let state = cluster.wait_for_isr("wide", 0, 4, Duration::from_secs(30));
    assert!(state.isr.contains(&4), "{state:?}");
    let acknowledged = produce_acknowledged(&cluster, "wide", "w", 10, Duration::from_secs(60));
    assert_nothing_acknowledged_lost(&cluster, "wide", &acknowledged);
}

#[test]
fn a_whole_cluster_killed_and_restarted_keeps_its_topics_and_acknowledged_records() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let within = Duration::from_secs(90);
    let mut acknowledged = produce_acknowledged(&cluster, TOPIC, "before", 20, within);

    for id in 1..=3 {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.restart(id);
    }
    // The metadata (raft log) and the partition logs both come back from disk; leaders are
    // elected again once the brokers' previous sessions expire.
    cluster.wait_for_brokers(3, Duration::from_secs(60));
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(60));
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "after", 20, within));
    assert_nothing_acknowledged_lost(&cluster, TOPIC, &acknowledged);
}

#[test]
fn a_sigterm_hands_leadership_over_before_the_process_exits_instead_of_after_its_session() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    let first = cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let within = Duration::from_secs(90);
    let mut acknowledged = produce_acknowledged(&cluster, TOPIC, "before", 10, within);

    let (status, log) = cluster.terminate(first.leader);
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("controlled shutdown done"), "{log}");
    // The controller fenced it before it exited: the others learn that within their
    // metadata fetch interval, far sooner than the 9 s session a SIGKILL leaves behind.
    let moved = std::time::Instant::now();
    let after = loop {
        let state = cluster.partition_state(TOPIC, 0);
        if let Some(state) = state.filter(|s| s.leader != first.leader) {
            break state;
        }
        assert!(
            moved.elapsed() < Duration::from_secs(3),
            "{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!after.isr.contains(&first.leader), "{after:?}");
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "during", 10, within));

    cluster.restart(first.leader);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(60));
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "after", 10, within));
    assert_nothing_acknowledged_lost(&cluster, TOPIC, &acknowledged);
}
