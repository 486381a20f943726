//! Shared helpers of the `cluster_*` tests: a loopback cluster of real `odradek serve`
//! processes (each a combined broker+controller, killed by PID on drop), and the Metadata
//! and Produce calls a test needs to find leaders and record what was acknowledged.
#![allow(dead_code)]

use crate::serve_support::{name, text, Client, ServeProcess, CREATE_TOPICS_V, METADATA_V};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::{CreateTopicsRequest, MetadataResponse};
use odradek_core::wire::ResponseBody;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
}

impl Cluster {
    /// Starts `n` nodes under `root` and waits until every broker is in Metadata.
    pub fn start(root: &Path, n: i32) -> Cluster {
        let quorum = (1..=n)
            .map(|id| format!("{id}@127.0.0.1:{}", free_port()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            root: root.to_path_buf(),
            quorum,
            nodes: BTreeMap::new(),
        };
        for id in 1..=n {
            cluster.restart(id);
        }
        cluster.wait_for_brokers(n as usize, Duration::from_secs(60));
        cluster
    }

    /// Starts node `id` on its data directory (again, after a kill).
    pub fn restart(&mut self, id: i32) {
        let data_dir = self.root.join(format!("node-{id}"));
        let id_text = id.to_string();
        let args = ["--node-id", &id_text, "--controller-quorum", &self.quorum];
        let process = ServeProcess::start(&data_dir, &args);
        self.nodes.insert(id, Some(process));
    }

    /// SIGKILL of node `id` (by PID).
    pub fn kill(&mut self, id: i32) {
        if let Some(process) = self.nodes.get_mut(&id).and_then(Option::take) {
            process.kill_hard();
        }
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
