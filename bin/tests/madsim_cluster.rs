//! Level-2 simulation of a replicated cluster: three madsim nodes each run the real
//! cluster-mode `serve` (a combined broker+controller, the three a metadata quorum over
//! openraft), each on its own `SimDisk` (partition logs and raft files on the one disk, so a
//! power cut hits both); a client node speaks Kafka to them over simulated TCP.
//!
//! The client creates a topic with replication factor 3 and `min.insync.replicas=2` and
//! produces single integer records with acks=all continuously, to whichever broker Metadata
//! names leader, recording every send in a Jepsen history (acknowledged with its offset, or
//! of unknown outcome). Meanwhile, at times drawn from the seed, the test kills the
//! partition leader's node and cuts its disk's power, restarts it, then partitions the new
//! leader from both other brokers (every link both ways clogged) and heals. After the
//! cluster settles (the ISR full again), a consumer reads the partition back, and the
//! history must pass the queue checker: no acknowledged write lost, no duplicates (nothing
//! is retried), offsets consistent.
//!
//! The test also asserts liveness: writes are acknowledged again after the kill (once the
//! dead leader's session expired), while the leader is cut off (once the majority side
//! fenced it and elected another), and within [`RECOVERY_MAX`] of the heal.
//!
//! Only built with `RUSTFLAGS="--cfg madsim"`. Seeds: `MADSIM_TEST_SEED` (default 0).
//! Determinism holds per process, not per thread: openraft's unbiased `tokio::select!` draws
//! from tokio's thread-local rng, which tokio seeds from a process-wide counter, so a seed
//! replays exactly when it is the only one run in a fresh process (as `tests/run` runs them,
//! comparing the printed history digest of two processes), but not inside a multi-seed
//! `MADSIM_TEST_NUM` sweep or under madsim's in-process `MADSIM_TEST_CHECK_DETERMINISM`.
#![cfg(madsim)]

mod cluster_support;
mod madsim_support;
mod serve_support;

use cluster_support::create_topic_request;
use cluster_support::history::History;
use madsim::rand::Rng;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use madsim_support::{read_partition, Client};
use odradek::config::{ClusterConfig, ServeConfig};
use odradek::raft::RaftStorage;
use odradek::serve::{serve_on, NodeStorage, SyncMode};
use odradek_core::node::metadata_store::METADATA_DIRECTORY;
use odradek_core::wire::ResponseBody;
use odradek_jepsen::verdict::Validity;
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use serve_support::{metadata_request, produce_request, CREATE_TOPICS_V, METADATA_V, PRODUCE_V};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BROKERS: i32 = 3;
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const CLIENT_PORT: u16 = 9092;
const INTER_BROKER_PORT: u16 = 9093;
const QUORUM_PORT: u16 = 9094;
const TOPIC: &str = "replicated";
const ACKS_ALL: i16 = -1;
/// Kafka's error code for success (after any other, the producer re-reads Metadata).
const NO_ERROR: i16 = 0;

fn broker_ip(id: i32) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, id as u8)
}

/// Node `id`'s configuration: client, inter-broker and quorum listeners on its own IP.
fn node_config(id: i32) -> ServeConfig {
    let controller_quorum = (1..=BROKERS)
        .map(|voter| (voter, SocketAddr::from((broker_ip(voter), QUORUM_PORT))))
        .collect();
    ServeConfig {
        node_id: id,
        listen: SocketAddr::from((broker_ip(id), CLIENT_PORT)),
        advertised_host: broker_ip(id).to_string(),
        advertised_port: CLIENT_PORT,
        data_dir: format!("/simulated/node-{id}").into(),
        cluster: Some(ClusterConfig {
            controller_quorum,
            inter_broker_listen: SocketAddr::from((broker_ip(id), INTER_BROKER_PORT)),
            inter_broker_advertised: None,
        }),
        ..ServeConfig::default()
    }
}

/// Serves node `id` on `disk` until the node is killed: the partition logs in the disk's
/// provider, the raft files in its metadata directory.
async fn serve_node(id: i32, disk: SimDisk) {
    let provider = SimDiskProvider::new(disk);
    let raft = RaftStorage::from_provider(&mut provider.clone(), METADATA_DIRECTORY)
        .expect("the raft directory opens");
    let storage = NodeStorage {
        provider,
        syncs: SyncMode::Inline,
        raft: Some(raft),
    };
    let never = std::future::pending::<()>();
    serve_on(node_config(id), storage, never)
        .await
        .expect("the node serves");
}

/// The simulated cluster: each broker id's madsim node and disk.
struct Cluster {
    nodes: BTreeMap<i32, (NodeHandle, SimDisk)>,
    client: NodeHandle,
}

impl Cluster {
    fn start(handle: &Handle) -> Cluster {
        let mut nodes = BTreeMap::new();
        for id in 1..=BROKERS {
            let disk = SimDisk::new(handle.seed().wrapping_add(id as u64));
            let node_disk = disk.clone();
            let node = handle
                .create_node()
                .name(format!("broker-{id}"))
                .ip(broker_ip(id).into())
                .init(move || serve_node(id, node_disk.clone()))
                .build();
            nodes.insert(id, (node, disk));
        }
        let client = handle
            .create_node()
            .name("client")
            .ip(CLIENT_IP.into())
            .build();
        Cluster { nodes, client }
    }

    fn node_id(&self, broker: i32) -> NodeId {
        self.nodes[&broker].0.id()
    }

    /// Kills broker `id`'s node and cuts its disk's power (unsynced writes torn or lost).
    fn kill(&self, id: i32) {
        Handle::current().kill(self.node_id(id));
        self.nodes[&id].1.crash();
    }

    fn restart(&self, id: i32) {
        Handle::current().restart(self.node_id(id));
    }

    /// Clogs every link between broker `id` and the other brokers, both ways.
    fn isolate_from_brokers(&self, id: i32, clogged: bool) {
        let net = madsim::net::NetSim::current();
        for other in (1..=BROKERS).filter(|other| *other != id) {
            let (a, b) = (self.node_id(id), self.node_id(other));
            if clogged {
                net.clog_link(a, b);
                net.clog_link(b, a);
            } else {
                net.unclog_link(a, b);
                net.unclog_link(b, a);
            }
        }
    }
}

fn client_address(id: i32) -> SocketAddr {
    SocketAddr::from((broker_ip(id), CLIENT_PORT))
}

/// Partition 0 as one broker's Metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PartitionView {
    leader_epoch: i32,
    leader: i32,
    isr: Vec<i32>,
}

/// Partition 0 per broker `id`'s Metadata, if it answers within a second and knows a leader.
async fn view_of(id: i32) -> Option<PartitionView> {
    let ask = async {
        let mut client = Client::connect(client_address(id)).await.ok()?;
        let response = client.call(METADATA_V, metadata_request(&[TOPIC])).await;
        let Ok(ResponseBody::Metadata(metadata)) = response else {
            return None;
        };
        let partition = metadata.topics.first()?.partitions.first()?;
        Some(PartitionView {
            leader_epoch: partition.leader_epoch,
            leader: partition.leader_id.0,
            isr: partition.isr_nodes.iter().map(|b| b.0).collect(),
        })
    };
    let view = madsim::time::timeout(Duration::from_secs(1), ask).await;
    view.ok().flatten().filter(|view| view.leader >= 1)
}

/// Partition 0 per the freshest Metadata (highest leader epoch) of the brokers that answer,
/// as a Kafka client prefers the newest epoch it has seen: a restarted or cut-off broker may
/// still describe an old leader.
async fn partition_state() -> Option<PartitionView> {
    let mut freshest: Option<PartitionView> = None;
    for id in 1..=BROKERS {
        if let Some(view) = view_of(id).await {
            if freshest
                .as_ref()
                .is_none_or(|f| view.leader_epoch > f.leader_epoch)
            {
                freshest = Some(view);
            }
        }
    }
    freshest
}

/// Waits until partition 0 has a leader and a full ISR; returns the leader.
async fn wait_for_full_isr(within: Duration) -> i32 {
    let deadline = madsim::time::Instant::now() + within;
    while madsim::time::Instant::now() < deadline {
        if let Some(view) = partition_state().await {
            if view.isr.len() == BROKERS as usize {
                return view.leader;
            }
        }
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the partition never had a full ISR within {within:?}")
}

/// Creates the topic through any broker, retrying until the quorum has a leader.
async fn create_topic() {
    let request = create_topic_request(TOPIC, 1, 3, &[("min.insync.replicas", "2")]);
    for attempt in 0..200 {
        let id = 1 + attempt % BROKERS;
        if let Ok(mut client) = Client::connect(client_address(id)).await {
            if let Ok(ResponseBody::CreateTopics(response)) =
                client.call(CREATE_TOPICS_V, request.clone()).await
            {
                if response.topics[0].error_code == NO_ERROR {
                    return;
                }
            }
        }
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the topic was never created")
}

/// What the producer has done so far, for the test to check the cluster kept serving.
#[derive(Default)]
struct Progress {
    /// Set by the test to end the producer.
    stop: AtomicBool,
    /// The last value sent (values count up from 1).
    sent: AtomicI64,
    /// The last value acknowledged.
    acknowledged: AtomicI64,
}

impl Progress {
    /// Whether a value sent after `mark` (a `sent` reading) was acknowledged.
    fn acknowledged_since(&self, mark: i64) -> bool {
        self.acknowledged.load(Ordering::Relaxed) > mark
    }
}

/// Longest wait, after the partition heals, for the cluster to acknowledge a write again.
const RECOVERY_MAX: Duration = Duration::from_secs(60);

/// Waits (up to `within`) until a value sent after `mark` is acknowledged; how long it took.
async fn wait_for_acknowledgement_since(
    progress: &Progress,
    mark: i64,
    within: Duration,
) -> Option<Duration> {
    let start = madsim::time::Instant::now();
    while start.elapsed() < within {
        if progress.acknowledged_since(mark) {
            return Some(start.elapsed());
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Sends integers 1, 2, … one at a time with acks=all to the current leader until told to
/// stop, recording each send in `history`; a send that fails is never retried.
async fn produce_continuously(history: Arc<Mutex<History>>, progress: Arc<Progress>) {
    let mut value = 0i64;
    let mut leader: Option<(i32, Client)> = None;
    while !progress.stop.load(Ordering::Relaxed) {
        let Some((id, mut client)) = leader.take() else {
            if let Some(view) = partition_state().await {
                if let Ok(client) = Client::connect(client_address(view.leader)).await {
                    leader = Some((view.leader, client));
                }
            }
            madsim::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        value += 1;
        progress.sent.store(value, Ordering::Relaxed);
        let process = history.lock().unwrap().invoke_send(value);
        let request = produce_request(TOPIC, 0, ACKS_ALL, &[value.to_string()]);
        let offset = match client.call(PRODUCE_V, request).await {
            Ok(ResponseBody::Produce(response)) => {
                let answer = &response.responses[0].partition_responses[0];
                (answer.error_code == NO_ERROR).then_some(answer.base_offset)
            }
            Ok(other) => panic!("not a Produce response: {other:?}"),
            Err(_) => None,
        };
        history
            .lock()
            .unwrap()
            .complete_send(process, value, offset);
        if offset.is_some() {
            progress.acknowledged.store(value, Ordering::Relaxed);
            leader = Some((id, client));
        }
        madsim::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads partition 0 back from the leader once the ISR is full, as integers; asks Metadata
/// again while the broker it names is not (or no longer) the leader.
async fn read_back_from_leader() -> Vec<(i64, i64)> {
    let mut last_error = String::new();
    for _ in 0..50 {
        let leader = wait_for_full_isr(Duration::from_secs(60)).await;
        let mut client = Client::connect_with_retries(client_address(leader)).await;
        match read_partition(&mut client, TOPIC).await {
            Ok(read) => {
                return (read.into_iter())
                    .map(|(offset, value)| (offset, value.parse().expect("an integer value")))
                    .collect()
            }
            Err(error) => last_error = error,
        }
        madsim::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the partition was never read back: {last_error}")
}

/// The leader per Metadata, asked from the client node.
async fn current_leader(cluster: &Cluster) -> i32 {
    let state = cluster.client.spawn(partition_state()).await;
    state.expect("the metadata task").expect("a leader").leader
}

#[madsim::test]
async fn a_replicated_partition_loses_no_acknowledged_write_through_a_leader_kill_and_a_partition()
{
    let handle = Handle::current();
    let seed = handle.seed();
    let cluster = Cluster::start(&handle);
    let setup = cluster.client.spawn(async {
        create_topic().await;
        wait_for_full_isr(Duration::from_secs(60)).await
    });
    setup.await.expect("the setup task");

    let history = Arc::new(Mutex::new(History::default()));
    let progress = Arc::new(Progress::default());
    let producer = (cluster.client).spawn(produce_continuously(
        Arc::clone(&history),
        Arc::clone(&progress),
    ));
    // Each phase lasts its base time plus up to a second drawn from the seed. The broker
    // session timeout (9 s) decides when a dead or cut-off leader is replaced, so the
    // phases with a dead or cut-off leader outlast it.
    let pause = |base_ms: u64| {
        let jitter = madsim::rand::thread_rng().gen_range(0..1000);
        madsim::time::sleep(Duration::from_millis(base_ms + jitter))
    };
    let mark = || progress.sent.load(Ordering::Relaxed);

    pause(500).await;
    let killed = current_leader(&cluster).await;
    cluster.kill(killed);
    let killed_at = mark();
    pause(12_000).await;
    assert!(
        progress.acknowledged_since(killed_at),
        "seed {seed}: nothing acknowledged after leader {killed} was killed"
    );
    cluster.restart(killed);
    pause(8_000).await;
    let isolated = current_leader(&cluster).await;
    cluster.isolate_from_brokers(isolated, true);
    let isolated_at = mark();
    // Longer than a raft election, the brokers' controller answer timeout (2 s) and the
    // cut-off leader's session timeout together: the majority side elects a new leader.
    pause(20_000).await;
    assert!(
        progress.acknowledged_since(isolated_at),
        "seed {seed}: nothing acknowledged while leader {isolated} was cut off"
    );
    cluster.isolate_from_brokers(isolated, false);
    let healed_at = mark();
    let recovery = wait_for_acknowledgement_since(&progress, healed_at, RECOVERY_MAX).await;
    assert!(
        recovery.is_some(),
        "seed {seed}: nothing acknowledged within {RECOVERY_MAX:?} after the partition healed"
    );
    pause(2_000).await;
    progress.stop.store(true, Ordering::Relaxed);
    producer.await.expect("the producer task");

    let read = cluster.client.spawn(read_back_from_leader()).await;
    let read = read.expect("the consumer task");
    let mut history = history.lock().unwrap();
    history.record_poll(&read);
    let report = history.check();
    eprintln!(
        "seed {seed}: killed {killed}, isolated {isolated}, writes acknowledged again {} ms after the heal; {} records read back; history {:016x}; {:?} {:?}",
        recovery.unwrap_or_default().as_millis(),
        read.len(),
        history.digest(),
        report.stats,
        report.counts()
    );
    assert_eq!(
        report.validity(),
        Validity::Valid,
        "seed {seed}: queue checker: {:?}",
        report.anomalies
    );
}
