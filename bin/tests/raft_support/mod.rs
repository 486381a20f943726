//! Shared helpers for the raft quorum tests: a cluster of controller quorum nodes in one
//! process on 127.0.0.1, each with its own data directory, and bounded waits.

#![allow(dead_code)] // each test file uses a different subset

pub mod sim_store;

use odradek::raft::{ControllerQuorumConfig, ControllerQuorumNode, QuorumNodeError};
use odradek_core::controller::{
    BrokerId, BrokerRegistration, CommittedRecord, IncarnationId, Listener, MetadataLog,
    MetadataOffset, MetadataRecord,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long any wait in these tests may take before it fails (generous: CI machines are
/// shared; nothing asserts on speed).
pub const WAIT_MAX: Duration = Duration::from_secs(20);

/// Controller quorum nodes sharing one temporary directory.
pub struct Cluster {
    pub root: tempfile::TempDir,
    pub voters: BTreeMap<u64, SocketAddr>,
    pub nodes: BTreeMap<u64, ControllerQuorumNode>,
    /// Applied to every node's config before it starts.
    pub tune: fn(&mut ControllerQuorumConfig),
}

/// Fast timings for loopback tests.
pub fn fast_timings(config: &mut ControllerQuorumConfig) {
    config.election_timeout_min_ms = 300;
    config.election_timeout_max_ms = 600;
    config.heartbeat_interval_ms = 50;
}

impl Cluster {
    /// Binds `size` listeners on ephemeral ports, then starts a node on each.
    pub async fn start(size: u64, tune: fn(&mut ControllerQuorumConfig)) -> Cluster {
        let mut listeners = BTreeMap::new();
        let mut voters = BTreeMap::new();
        for id in 1..=size {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            voters.insert(id, listener.local_addr().expect("local addr"));
            listeners.insert(id, listener);
        }
        let mut cluster = Cluster {
            root: tempfile::tempdir().expect("temp dir"),
            voters,
            nodes: BTreeMap::new(),
            tune,
        };
        for (id, listener) in listeners {
            let node = ControllerQuorumNode::start_on(cluster.config(id), listener)
                .await
                .expect("node starts");
            cluster.nodes.insert(id, node);
        }
        cluster
    }

    /// Unique per cluster (the temporary directory's name), so that clusters of tests
    /// running side by side never hear each other through a reused port.
    pub fn cluster_id(&self) -> String {
        let name = self.root.path().file_name().unwrap_or_default();
        name.to_string_lossy().into_owned()
    }

    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.root.path().join(format!("node-{id}"))
    }

    pub fn config(&self, id: u64) -> ControllerQuorumConfig {
        let mut config = ControllerQuorumConfig::new(
            &self.cluster_id(),
            id,
            self.voters.clone(),
            self.data_dir(id),
        );
        (self.tune)(&mut config);
        config
    }

    pub fn node(&mut self, id: u64) -> &mut ControllerQuorumNode {
        self.nodes.get_mut(&id).expect("node is running")
    }

    /// Shuts node `id` down (its files stay).
    pub async fn stop(&mut self, id: u64) {
        let node = self.nodes.remove(&id).expect("node is running");
        node.shutdown().await.expect("clean shutdown");
    }

    /// Starts node `id` again from its data directory, on its old address.
    pub async fn restart(&mut self, id: u64) -> Result<(), QuorumNodeError> {
        let node = ControllerQuorumNode::start_on(self.config(id), self.rebind(id).await).await?;
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Binds node `id`'s old address again, retrying while the port is still held.
    pub async fn rebind(&self, id: u64) -> TcpListener {
        let addr = self.voters[&id];
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        loop {
            match TcpListener::bind(addr).await {
                Ok(listener) => return listener,
                Err(error) if tokio::time::Instant::now() > deadline => {
                    panic!("cannot rebind {addr}: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Waits until one running node leads and has caught up (its metadata log reports a
    /// term); returns its id.
    pub async fn wait_for_leader(&mut self) -> u64 {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        loop {
            let leader = (self.nodes.iter())
                .find(|(_, node)| node.metadata_log().leader_term().is_some())
                .map(|(id, _)| *id);
            if let Some(id) = leader {
                return id;
            }
            assert!(tokio::time::Instant::now() < deadline, "no leader elected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Appends `batch` through whichever node leads until it commits; returns the id of the
    /// leader that proposed it and the offset of its last record. An accepted proposal
    /// may be lost to a leader change (the contract allows it); it is then proposed again,
    /// but only once a new leader has caught up, when its fate is decided (a proposal
    /// commits only in the term it was made in), so it never commits twice.
    pub async fn propose(&mut self, batch: Vec<MetadataRecord>) -> (u64, u64) {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no commit");
            let leader = self.wait_for_leader().await;
            let log = self.node(leader).metadata_log_mut();
            let term = log.leader_term();
            let Ok(last) = log.append(batch.clone()) else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            while self.node(leader).metadata_log().leader_term() == term
                && self.node(leader).metadata_log().committed_offset() < Some(last)
            {
                assert!(tokio::time::Instant::now() < deadline, "no commit");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let decider = self.wait_for_leader().await;
            let first = MetadataOffset(last.0 + 1 - batch.len() as u64);
            let committed = self
                .node(decider)
                .metadata_log()
                .read_committed(first, batch.len());
            if records_of(&committed) == batch && committed.last().map(|c| c.offset) == Some(last) {
                return (leader, last.0);
            }
        }
    }

    /// Polls node `id`'s metadata log until it has yielded `count` more records.
    pub async fn poll_records(&mut self, id: u64, count: usize) -> Vec<CommittedRecord> {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        let mut records = Vec::new();
        while records.len() < count {
            match self.node(id).metadata_log_mut().poll_committed() {
                Some(record) => records.push(record),
                None => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "node {id} yielded {} of {count} records",
                        records.len()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        records
    }

    /// Shuts every node down.
    pub async fn stop_all(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }
}

/// Broker `broker`'s registration with incarnation `seq`.
pub fn registration(broker: i32, seq: u128) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: BrokerId(broker),
        incarnation: IncarnationId(seq),
        listeners: vec![Listener {
            name: "PLAINTEXT".to_string(),
            host: "127.0.0.1".to_string(),
            port: 9092,
        }],
        rack: None,
    }
}

/// A distinct, valid metadata record: broker `broker` registering with incarnation `seq`.
pub fn record(broker: i32, seq: u128) -> MetadataRecord {
    MetadataRecord::RegisterBroker(registration(broker, seq))
}

/// A batch of `size` records numbered from `first`.
pub fn batch(first: u128, size: u128) -> Vec<MetadataRecord> {
    (first..first + size).map(|seq| record(1, seq)).collect()
}

/// The records alone, in order.
pub fn records_of(committed: &[CommittedRecord]) -> Vec<MetadataRecord> {
    committed.iter().map(|c| c.record.clone()).collect()
}
