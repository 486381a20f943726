//! A real 3-process cluster on loopback: `odradek serve --node-id N --controller-quorum …`,
//! every node a combined broker+controller over the openraft metadata quorum. A topic with
//! replication factor 3 and `min.insync.replicas=2` takes `acks=all` produces; the leader is
//! killed with SIGKILL mid-stream and later restarted; every acknowledged record must be read
//! back, once, from whoever leads at the end.

mod cluster_support;
mod serve_support;

use cluster_support::{create_replicated_topic, try_connect, Cluster};
use serve_support::{fetch_all, produce};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const TOPIC: &str = "replicated";
/// Kafka's acks=all.
const ACKS_ALL: i16 = -1;

/// Produces `value` alone with acks=all to the partition's current leader. True only if the
/// leader acknowledged it; false if no leader could be reached or it answered an error (the
/// record may or may not have been written: it is then never counted as acknowledged).
fn produce_to_leader(cluster: &Cluster, value: &str) -> bool {
    let Some(state) = cluster.partition_state(TOPIC, 0) else {
        return false;
    };
    let Some(mut client) = try_connect(state.address) else {
        return false;
    };
    let (error_code, _) = produce(&mut client, TOPIC, 0, ACKS_ALL, &[value.to_owned()]);
    error_code == 0
}

/// Produces values `{tag}-0`, `{tag}-1`, … until `count` are acknowledged (each value is sent
/// once; a failed one is abandoned, not retried). Returns the acknowledged values.
fn produce_acknowledged(
    cluster: &Cluster,
    tag: &str,
    count: usize,
    within: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut acknowledged = Vec::new();
    let mut sent = 0;
    while acknowledged.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} {tag} records acknowledged in time; logs:\n{}",
            acknowledged.len(),
            cluster.logs()
        );
        let value = format!("{tag}-{sent}");
        sent += 1;
        if produce_to_leader(cluster, &value) {
            acknowledged.push(value);
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    acknowledged
}

#[test]
fn acknowledged_records_survive_a_sigkill_of_the_leader_and_its_restart() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    let first = cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let mut acknowledged = produce_acknowledged(&cluster, "before", 30, Duration::from_secs(60));

    cluster.kill(first.leader);
    acknowledged.extend(produce_acknowledged(
        &cluster,
        "during",
        30,
        Duration::from_secs(90),
    ));
    let during = cluster.partition_state(TOPIC, 0).expect("a leader");
    assert_ne!(during.leader, first.leader, "a killed broker cannot lead");

    cluster.restart(first.leader);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(60));
    acknowledged.extend(produce_acknowledged(
        &cluster,
        "after",
        30,
        Duration::from_secs(60),
    ));

    let last = cluster.partition_state(TOPIC, 0).expect("a leader");
    let mut client = try_connect(last.address).expect("the leader is up");
    let read = fetch_all(&mut client, TOPIC, 0);
    let distinct: BTreeSet<&String> = read.iter().collect();
    assert_eq!(
        distinct.len(),
        read.len(),
        "a record was read twice: {read:?}"
    );
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|v| !distinct.contains(v))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}
