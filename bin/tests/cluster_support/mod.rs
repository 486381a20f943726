//! Shared helpers of the `cluster_*` tests: a loopback cluster of real `odradek serve`
//! processes (each a combined broker+controller, killed by PID on drop), and the Metadata
//! and Produce calls a test needs to find leaders and record what was acknowledged.
#![allow(dead_code)]

pub mod history;
pub mod proxy;

use crate::serve_support::{
    name, produce, text, Client, ServeProcess, CREATE_TOPICS_V, METADATA_V,
};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::{CreateTopicsRequest, MetadataResponse};
use odradek_core::wire::ResponseBody;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proxy::Proxy;

/// A free loopback port (bound, then released: the caller binds it right after).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// `n` nodes with ids 1..=n, every one a voter of the controller quorum.
pub struct Cluster {
    root: PathBuf,
    quorum: String,
    /// Running nodes by id (`None` while killed).
    pub nodes: BTreeMap<i32, Option<ServeProcess>>,
    /// With [`Cluster::start_behind_proxies`]: the proxy in front of each node's
    /// inter-broker listener (the address the node advertises to its peers).
    pub proxies: BTreeMap<i32, Proxy>,
    /// Flags each node is started with beyond id, quorum and data directory.
    extra_args: BTreeMap<i32, Vec<String>>,
}

impl Cluster {
    /// Starts `n` nodes under `root` and waits until every broker is in Metadata.
    pub fn start(root: &Path, n: i32) -> Cluster {
        Cluster::start_with(root, n, false)
    }

    /// Like [`Cluster::start`], with a [`Proxy`] in front of every node's inter-broker
    /// listener: replication traffic to node `i` goes through `proxies[i]`, which the test
    /// can cut and heal.
    pub fn start_behind_proxies(root: &Path, n: i32) -> Cluster {
        Cluster::start_with(root, n, true)
    }

    fn start_with(root: &Path, n: i32, proxied: bool) -> Cluster {
        let quorum = (1..=n)
            .map(|id| format!("{id}@127.0.0.1:{}", free_port()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            root: root.to_path_buf(),
            quorum,
            nodes: BTreeMap::new(),
            proxies: BTreeMap::new(),
            extra_args: BTreeMap::new(),
        };
        for id in 1..=n.max(0) {
            if !proxied {
                continue;
            }
            let listen: SocketAddr = format!("127.0.0.1:{}", free_port())
                .parse()
                .expect("address");
            let proxy = Proxy::start(listen);
            let args = vec![
                "--inter-broker-listen".to_string(),
                listen.to_string(),
                "--inter-broker-advertised".to_string(),
                proxy.address.to_string(),
            ];
            cluster.extra_args.insert(id, args);
            cluster.proxies.insert(id, proxy);
        }
        for id in 1..=n {
            cluster.restart(id);
        }
        cluster.wait_for_brokers(n as usize, Duration::from_secs(60));
        cluster
    }

    /// Starts node `id` on its data directory (again, after a kill).
    pub fn restart(&mut self, id: i32) {
        let data_dir = self.root.join(format!("node-{id}"));
        let mut args = vec![
            "--node-id".to_string(),
            id.to_string(),
            "--controller-quorum".to_string(),
            self.quorum.clone(),
        ];
        args.extend(self.extra_args.get(&id).cloned().unwrap_or_default());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = ServeProcess::start(&data_dir, &args);
        self.nodes.insert(id, Some(process));
    }

    /// SIGKILL of node `id` (by PID).
    pub fn kill(&mut self, id: i32) {
        if let Some(process) = self.nodes.get_mut(&id).and_then(Option::take) {
            process.kill_hard();
        }
    }

    /// SIGTERM of node `id` (by PID), waiting for it to exit; its exit status and log.
    pub fn terminate(&mut self, id: i32) -> (std::process::ExitStatus, String) {
        let process = self.nodes.get_mut(&id).and_then(Option::take);
        process.expect("running").terminate_with_log()
    }

    /// The client address of every running node.
    pub fn live_addresses(&self) -> Vec<SocketAddr> {
        self.nodes
            .values()
            .flatten()
            .map(|process| process.address)
            .collect()
    }

    /// Every running node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for (id, process) in &self.nodes {
            if let Some(process) = process {
                all.push_str(&format!("==== node {id}\n{}\n", process.log()));
            }
        }
        all
    }

    /// Metadata for `topics` from the first running node that answers.
    pub fn metadata(&self, topics: &[&str]) -> Option<MetadataResponse> {
        for address in self.live_addresses() {
            let Some(mut client) = try_connect(address) else {
                continue;
            };
            let request = crate::serve_support::metadata_request(topics);
            if let ResponseBody::Metadata(response) = client.call(METADATA_V, request) {
                return Some(response);
            }
        }
        None
    }

    /// Waits until Metadata lists `count` brokers.
    pub fn wait_for_brokers(&self, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.metadata(&[]).is_some_and(|m| m.brokers.len() == count) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{count} brokers never registered; logs:\n{}", self.logs());
    }

    /// The leader of `topic`'s `partition` with its client address and the ISR, per the
    /// Metadata of a running node.
    pub fn partition_state(&self, topic: &str, partition: i32) -> Option<PartitionState> {
        let metadata = self.metadata(&[topic])?;
        let topic = metadata.topics.first()?;
        let entry = topic
            .partitions
            .iter()
            .find(|p| p.partition_index == partition)?;
        let leader = entry.leader_id.0;
        let broker = metadata.brokers.iter().find(|b| b.node_id.0 == leader)?;
        let address = format!("{}:{}", broker.host.as_str(), broker.port)
            .parse()
            .ok()?;
        Some(PartitionState {
            leader,
            address,
            isr: entry.isr_nodes.iter().map(|b| b.0).collect(),
        })
    }

    /// Waits until `topic`'s `partition` has a live leader and an ISR of `isr_size`.
    pub fn wait_for_isr(
        &self,
        topic: &str,
        partition: i32,
        isr_size: usize,
        within: Duration,
    ) -> PartitionState {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(state) = self.partition_state(topic, partition) {
                let live = self.nodes.get(&state.leader).is_some_and(Option::is_some);
                if live && state.isr.len() == isr_size {
                    return state;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{topic}-{partition} never had an ISR of {isr_size}; logs:\n{}",
            self.logs()
        );
    }
}

/// A partition's leader and ISR as Metadata reports them.
#[derive(Clone, Debug)]
pub struct PartitionState {
    /// The leader's broker id.
    pub leader: i32,
    /// The leader's client address.
    pub address: SocketAddr,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
}

/// A client connection, or `None` if nothing listens there.
pub fn try_connect(address: SocketAddr) -> Option<Client> {
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    Some(Client::connect(address))
}

/// CreateTopics of one topic with a replication factor and topic configs.
pub fn create_topic_request(
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> CreateTopicsRequest {
    let configs = configs
        .iter()
        .map(|(key, value)| {
            CreatableTopicConfig::default()
                .with_name(text(key))
                .with_value(Some(text(value)))
        })
        .collect();
    CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)
            .with_configs(configs)])
}

/// Creates the topic through any running node and asserts it was created.
pub fn create_replicated_topic(
    cluster: &Cluster,
    topic: &str,
    replication_factor: i16,
    configs: &[(&str, &str)],
) {
    let address = cluster.live_addresses()[0];
    let mut client = Client::connect(address);
    let request = create_topic_request(topic, 1, replication_factor, configs);
    let ResponseBody::CreateTopics(response) = client.call(CREATE_TOPICS_V, request) else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

/// Kafka's acks=all.
pub const ACKS_ALL: i16 = -1;

/// Produces `value` alone with acks=all to partition 0's current leader. True only if the
/// leader acknowledged it; false if no leader could be reached or it answered an error (the
/// record may or may not have been written: it is then never counted as acknowledged).
pub fn produce_to_leader(cluster: &Cluster, topic: &str, value: &str) -> bool {
    let Some(state) = cluster.partition_state(topic, 0) else {
        return false;
    };
    let Some(mut client) = try_connect(state.address) else {
        return false;
    };
    let (error_code, _) = produce(&mut client, topic, 0, ACKS_ALL, &[value.to_owned()]);
    error_code == 0
}

/// Produces values `{tag}-0`, `{tag}-1`, … to partition 0 until `count` are acknowledged
/// (each value is sent once; a failed one is abandoned, not retried). Returns the
/// acknowledged values.
pub fn produce_acknowledged(
    cluster: &Cluster,
    topic: &str,
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
        if produce_to_leader(cluster, topic, &value) {
            acknowledged.push(value);
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    acknowledged
}

/// Reads partition 0 back from its leader and asserts every acknowledged value is there,
/// and no record twice.
pub fn assert_nothing_acknowledged_lost(cluster: &Cluster, topic: &str, acknowledged: &[String]) {
    let last = cluster.partition_state(topic, 0).expect("a leader");
    let mut client = try_connect(last.address).expect("the leader is up");
    let read = crate::serve_support::fetch_all(&mut client, topic, 0);
    let distinct: std::collections::BTreeSet<&String> = read.iter().collect();
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

/// Sends integer values `*next`, `*next + 1`, … to partition 0's current leader with
/// acks=all, recording each in `history`, until `count` are acknowledged (a failed value is
/// abandoned, not retried).
pub fn produce_recorded(
    cluster: &Cluster,
    topic: &str,
    history: &mut history::History,
    next: &mut i64,
    count: usize,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    let mut acknowledged = 0;
    while acknowledged < count {
        assert!(
            Instant::now() < deadline,
            "only {acknowledged} of {count} records acknowledged in time; logs:\n{}",
            cluster.logs()
        );
        let client = cluster
            .partition_state(topic, 0)
            .and_then(|state| try_connect(state.address));
        let Some(mut client) = client else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        *next += 1;
        if history.send(&mut client, topic, ACKS_ALL, *next) {
            acknowledged += 1;
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
