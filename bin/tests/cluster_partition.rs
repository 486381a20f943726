//! A network partition between brokers, made on loopback: every node's inter-broker listener
//! sits behind a TCP proxy of the test's own (the node advertises the proxy's address to its
//! peers). Cutting the leader's proxy stops its followers' fetches: the ISR shrinks below
//! `min.insync.replicas=2`, so no `acks=all` produce may be acknowledged while it lasts;
//! after healing, the followers catch up, rejoin the ISR, and every record acknowledged
//! before and after is read back once.

mod cluster_support;
mod serve_support;

use cluster_support::{
    assert_nothing_acknowledged_lost, create_replicated_topic, produce_acknowledged,
    produce_to_leader, Cluster,
};
use std::time::{Duration, Instant};

const TOPIC: &str = "partitioned";

#[test]
fn a_leader_cut_off_from_its_followers_acknowledges_nothing_and_loses_nothing() {
    let root = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start_behind_proxies(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    let first = cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let within = Duration::from_secs(60);
    let mut acknowledged = produce_acknowledged(&cluster, TOPIC, "before", 20, within);

    cluster.proxies[&first.leader].cut();
    let cut_until = Instant::now() + Duration::from_secs(8);
    let mut acknowledged_during_cut = Vec::new();
    let mut sent = 0;
    while Instant::now() < cut_until {
        let value = format!("cut-{sent}");
        sent += 1;
        if produce_to_leader(&cluster, TOPIC, &value) {
            acknowledged_during_cut.push(value);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sent > 0);
    let during = cluster.partition_state(TOPIC, 0).expect("a leader");
    assert_eq!(
        during.leader, first.leader,
        "the leader still heartbeats the quorum"
    );
    assert_eq!(
        during.isr,
        vec![first.leader],
        "its unreachable followers left the ISR"
    );
    assert_eq!(
        acknowledged_during_cut,
        Vec::<String>::new(),
        "acks=all acknowledged with only the leader in sync"
    );

    cluster.proxies[&first.leader].heal();
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(60));
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "after", 20, within));

    assert_nothing_acknowledged_lost(&cluster, TOPIC, &acknowledged);
}
