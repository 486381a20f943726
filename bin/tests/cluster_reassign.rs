//! Partition reassignment on a real cluster, driven the way an operator does it: three
//! `odradek serve` nodes (the controller quorum) hold a topic with replication factor 3 and
//! `min.insync.replicas=2`; a fourth broker, outside the quorum, joins; while a producer
//! sends `acks=all` records continuously (recorded as a Jepsen history), the `odradek
//! partitions reassign` binary moves partition 0 onto a replica set that includes the new
//! broker and excludes the current leader, and waits for the move to finish. Then
//! `list-reassignments` shows nothing running, Metadata shows the new replicas with a leader
//! among them, the moved-away broker has deleted the partition's directory, and the history
//! — every send plus a final read from the new leader — passes the queue checker (no
//! acknowledged write lost, no duplicate).
//!
//! Also: a move the controller refuses exits 1 with Kafka's error name; a move onto a
//! stopped (still registered) broker never completes, so `--wait` times out, the move is
//! listed, and `--cancel` restores the old replicas without losing acknowledged records.

mod cluster_support;
mod serve_support;

use cluster_support::history::History;
use cluster_support::{
    assert_nothing_acknowledged_lost, create_replicated_topic, produce_acknowledged,
    produce_recorded, Cluster,
};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TOPIC: &str = "moving";

/// Runs the `odradek` binary with `args`.
fn odradek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_odradek"))
        .args(args)
        .output()
        .expect("run odradek")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Produces recorded `acks=all` sends until `stop` is set, then `after` more.
fn produce_until(
    cluster: &Cluster,
    history: &mut History,
    next: &mut i64,
    stop: &AtomicBool,
    after: usize,
) {
    let within = Duration::from_secs(120);
    while !stop.load(Ordering::SeqCst) {
        produce_recorded(cluster, TOPIC, history, next, 1, within);
        std::thread::sleep(Duration::from_millis(20));
    }
    produce_recorded(cluster, TOPIC, history, next, after, within);
}

/// Waits until `dir` no longer exists.
fn wait_gone(dir: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !dir.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn moving_a_partition_off_its_leader_onto_a_joined_broker_keeps_every_acknowledged_record() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    let first = cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    cluster.restart(4);
    cluster.wait_for_brokers(4, Duration::from_secs(60));
    let bootstrap = cluster.live_addresses()[0].to_string();
    let mut target: Vec<i32> = (1..=3).filter(|id| *id != first.leader).collect();
    target.push(4);
    let target_flag = target
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");

    let stop = AtomicBool::new(false);
    let (mut history, next) = std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            let mut history = History::default();
            let mut next = 0;
            produce_until(&cluster, &mut history, &mut next, &stop, 30);
            (history, next)
        });
        std::thread::sleep(Duration::from_secs(2));
        let moved = odradek(&[
            "partitions",
            "reassign",
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            TOPIC,
            "--partition",
            "0",
            "--replicas",
            &target_flag,
            "--wait",
            "--timeout-secs",
            "120",
        ]);
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
        let produced = producer.join().expect("the producer thread");
        assert_eq!(moved.status.code(), Some(0), "{}", text(&moved));
        let stdout = String::from_utf8_lossy(&moved.stdout);
        assert!(stdout.contains("is complete"), "{}", text(&moved));
        let done_line = format!("Replicas: {target_flag}\t");
        assert!(stdout.contains(&done_line), "{}", text(&moved));
        produced
    });

    let listed = odradek(&[
        "partitions",
        "list-reassignments",
        "--bootstrap-server",
        &bootstrap,
    ]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "No partition reassignments found.\n"
    );
    let metadata = cluster.metadata(&[TOPIC]).expect("metadata");
    let partition = &metadata.topics[0].partitions[0];
    let replicas: Vec<i32> = partition.replica_nodes.iter().map(|b| b.0).collect();
    assert_eq!(replicas, target, "the new replica set");
    assert!(
        target.contains(&partition.leader_id.0),
        "leader {} is not a new replica",
        partition.leader_id.0
    );

    history.assert_valid_after_reading_back(&cluster, TOPIC, next);

    let moved_away = root
        .path()
        .join(format!("node-{}", first.leader))
        .join(format!("{TOPIC}-0"));
    assert!(
        wait_gone(&moved_away, Duration::from_secs(30)),
        "{} still exists",
        moved_away.display()
    );
    let joined = root.path().join("node-4").join(format!("{TOPIC}-0"));
    assert!(joined.is_dir(), "{} is missing", joined.display());
}

#[test]
fn a_move_the_controller_refuses_prints_kafkas_error_and_exits_1() {
    let root = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[]);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    let bootstrap = cluster.live_addresses()[0].to_string();
    let base = [
        "partitions",
        "reassign",
        "--bootstrap-server",
        &bootstrap,
        "--topic",
        TOPIC,
        "--partition",
        "0",
    ];

    let unknown_broker = odradek(&[&base[..], &["--replicas", "1,2,9"]].concat());
    assert_eq!(
        unknown_broker.status.code(),
        Some(1),
        "{}",
        text(&unknown_broker)
    );
    let stderr = String::from_utf8_lossy(&unknown_broker.stderr);
    assert!(
        stderr.contains("INVALID_REPLICA_ASSIGNMENT: ") && stderr.contains('9'),
        "{}",
        text(&unknown_broker)
    );

    let nothing_to_cancel = odradek(&[&base[..], &["--cancel"]].concat());
    assert_eq!(
        nothing_to_cancel.status.code(),
        Some(1),
        "{}",
        text(&nothing_to_cancel)
    );
    assert!(
        String::from_utf8_lossy(&nothing_to_cancel.stderr).contains("NO_REASSIGNMENT_IN_PROGRESS"),
        "{}",
        text(&nothing_to_cancel)
    );

    let bad_flags = odradek(&base);
    assert_eq!(bad_flags.status.code(), Some(3), "{}", text(&bad_flags));
    assert!(
        String::from_utf8_lossy(&bad_flags.stderr).contains("--replicas"),
        "{}",
        text(&bad_flags)
    );
}

/// Polls `odradek partitions list-reassignments` until its output satisfies `wanted`.
fn wait_for_listing(bootstrap: &str, wanted: impl Fn(&str) -> bool, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let listed = odradek(&[
            "partitions",
            "list-reassignments",
            "--bootstrap-server",
            bootstrap,
        ]);
        assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
        let stdout = String::from_utf8_lossy(&listed.stdout).to_string();
        if wanted(&stdout) {
            return stdout;
        }
        assert!(Instant::now() < deadline, "last listing: {stdout}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_move_onto_a_stopped_broker_stays_listed_until_it_is_cancelled() {
    let root = tempfile::tempdir().expect("temp dir");
    let mut cluster = Cluster::start(root.path(), 3);
    create_replicated_topic(&cluster, TOPIC, 3, &[("min.insync.replicas", "2")]);
    cluster.wait_for_isr(TOPIC, 0, 3, Duration::from_secs(30));
    cluster.restart(4);
    cluster.wait_for_brokers(4, Duration::from_secs(60));
    // Still registered (until its session expires), but it will never catch up.
    cluster.kill(4);
    let bootstrap = cluster.live_addresses()[0].to_string();
    let within = Duration::from_secs(60);
    let mut acknowledged = produce_acknowledged(&cluster, TOPIC, "before", 10, within);
    let reassign = |extra: &[&str]| {
        let base = [
            "partitions",
            "reassign",
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            TOPIC,
            "--partition",
            "0",
        ];
        odradek(&[&base[..], extra].concat())
    };

    let waited = reassign(&["--replicas", "1,2,4", "--wait", "--timeout-secs", "3"]);
    assert_eq!(waited.status.code(), Some(1), "{}", text(&waited));
    assert!(
        String::from_utf8_lossy(&waited.stderr).contains("still running after 3 s"),
        "{}",
        text(&waited)
    );
    let running = wait_for_listing(&bootstrap, |out| out.contains("moving-0:"), within);
    assert_eq!(
        running,
        "Current partition reassignments:\nmoving-0: replicas: 1,2,4,3. adding: 4. removing: 3.\n"
    );
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "during", 10, within));

    let cancelled = reassign(&["--cancel"]);
    assert_eq!(cancelled.status.code(), Some(0), "{}", text(&cancelled));
    wait_for_listing(&bootstrap, |out| out.starts_with("No partition"), within);
    let metadata = cluster.metadata(&[TOPIC]).expect("metadata");
    let mut replicas: Vec<i32> = metadata.topics[0].partitions[0]
        .replica_nodes
        .iter()
        .map(|b| b.0)
        .collect();
    replicas.sort();
    assert_eq!(replicas, vec![1, 2, 3], "the old replica set is back");
    acknowledged.extend(produce_acknowledged(&cluster, TOPIC, "after", 10, within));
    assert_nothing_acknowledged_lost(&cluster, TOPIC, &acknowledged);
}
