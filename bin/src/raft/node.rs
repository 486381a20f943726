//! [`ControllerQuorumNode`]: one controller node of the metadata quorum — its files, its
//! openraft instance, its RPC server and its [`RaftMetadataLog`] — started and stopped as one.
//!
//! # Contract
//! - `start` opens the node's raft storage (recovering log, vote, committed id and
//!   snapshot; by default a real directory, or any [`RaftStorage`]),
//!   starts openraft and the RPC server, and — only on the voter with the lowest id, and
//!   only if its storage holds no raft state — initialises the cluster with every voter.
//!   Starting again on the same directory never initialises again (idempotent).
//! - `shutdown` closes the RPC server and stops openraft; the node's metadata log then
//!   refuses proposals (`NotLeader`) and reports no leadership. Its storage can be started
//!   again (a real directory is unlocked once the node and its openraft tasks are gone).

use super::log_file::LogFileError;
use super::{
    FileLogStore, MetadataRaft, MetadataStateMachine, QuorumNetwork, RaftMetadataLog, RaftServer,
    RaftStorage,
};
use openraft::{BasicNode, Config, ServerState, SnapshotPolicy};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What a controller quorum node needs to start.
#[derive(Clone, Debug)]
pub struct ControllerQuorumConfig {
    /// The cluster's id: every RPC carries it and nodes refuse others' (as Kafka's
    /// `cluster.id`); all voters must agree on it.
    pub cluster_id: String,
    /// This node's id; must be a key of `voters`.
    pub node_id: u64,
    /// Every voter's id and RPC address (this node listens on its own).
    pub voters: BTreeMap<u64, SocketAddr>,
    /// The directory the raft log, vote, committed id and snapshot live in (a
    /// [`FileStorage`](crate::storage::FileStorage) directory), unless the node is started
    /// on another storage with [`ControllerQuorumNode::start_on_storage`].
    pub data_dir: PathBuf,
    /// Election timeout range, milliseconds.
    pub election_timeout_min_ms: u64,
    /// Election timeout range, milliseconds (exclusive upper end).
    pub election_timeout_max_ms: u64,
    /// How often a leader sends heartbeats, milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A snapshot is built once this many entries were applied since the last one.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log behind a snapshot (followers close behind catch up from
    /// the log instead of a snapshot).
    pub entries_kept_after_snapshot: u64,
    /// Purge the log only once this many entries are purgeable (a purge rewrites the log
    /// file, so it is batched).
    pub purge_batch_entries: u64,
}

impl ControllerQuorumConfig {
    /// A config with production timings: heartbeats every 100 ms, elections after
    /// 500–1000 ms without one, a snapshot every 5000 entries keeping 1000 behind it, purges
    /// in batches of 256 entries.
    pub fn new(
        cluster_id: &str,
        node_id: u64,
        voters: BTreeMap<u64, SocketAddr>,
        data_dir: PathBuf,
    ) -> ControllerQuorumConfig {
        ControllerQuorumConfig {
            cluster_id: cluster_id.to_string(),
            node_id,
            voters,
            data_dir,
            election_timeout_min_ms: 500,
            election_timeout_max_ms: 1000,
            heartbeat_interval_ms: 100,
            snapshot_after_entries: 5000,
            entries_kept_after_snapshot: 1000,
            purge_batch_entries: 256,
        }
    }

    fn raft_config(&self) -> Result<Config, QuorumNodeError> {
        let config = Config {
            cluster_name: self.cluster_id.clone(),
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            heartbeat_interval: self.heartbeat_interval_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_after_entries),
            max_in_snapshot_log_to_keep: self.entries_kept_after_snapshot,
            purge_batch_size: self.purge_batch_entries,
            ..Config::default()
        };
        config
            .validate()
            .map_err(|error| QuorumNodeError::Config(error.to_string()))
    }
}

/// Why a quorum node could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum QuorumNodeError {
    /// The node's id is not among the voters.
    #[error("node {node_id} is not a voter of the metadata quorum")]
    NotAVoter {
        /// The id.
        node_id: u64,
    },
    /// The timings are inconsistent (openraft's validation).
    #[error("invalid quorum config: {0}")]
    Config(String),
    /// The RPC address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The raft storage could not be opened or recovered.
    #[error(transparent)]
    Storage(#[from] LogFileError),
    /// openraft failed (it stops on storage errors).
    #[error("raft: {0}")]
    Raft(String),
}

/// A running controller quorum node. See the module docs.
pub struct ControllerQuorumNode {
    config: ControllerQuorumConfig,
    raft: MetadataRaft,
    server: RaftServer,
    metadata_log: RaftMetadataLog,
    stopped: Arc<AtomicBool>,
    /// The node's handle on its raft storage, to know when openraft released its own.
    storage: RaftStorage,
}

/// How long `shutdown` waits for openraft's last tasks to release the raft storage.
const STORAGE_RELEASE_WAIT_MAX: Duration = Duration::from_secs(10);

impl ControllerQuorumNode {
    /// Starts the node, listening on its address in `config.voters`.
    pub async fn start(config: ControllerQuorumConfig) -> Result<Self, QuorumNodeError> {
        let addr = own_addr(&config)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| QuorumNodeError::Bind { addr, source })?;
        Self::start_on(config, listener).await
    }

    /// Starts the node, listening on its address in `config.voters`, with its raft files in
    /// `storage` (see [`ControllerQuorumNode::start_on_storage`]).
    pub async fn start_with_storage(
        config: ControllerQuorumConfig,
        storage: RaftStorage,
    ) -> Result<Self, QuorumNodeError> {
        let addr = own_addr(&config)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| QuorumNodeError::Bind { addr, source })?;
        Self::start_on_storage(config, listener, storage).await
    }

    /// Starts the node on an already bound listener (tests bind port 0 first, so every
    /// voter's address is known before any node starts), its files in `config.data_dir`.
    pub async fn start_on(
        config: ControllerQuorumConfig,
        listener: TcpListener,
    ) -> Result<Self, QuorumNodeError> {
        let storage = RaftStorage::open_dir(&config.data_dir)?;
        Self::start_on_storage(config, listener, storage).await
    }

    /// Starts the node on an already bound listener with its raft files in `storage` (any
    /// Odradek storage: e.g. [`RaftStorage::from_provider`], or a `SimDisk` directory in
    /// simulation); `config.data_dir` is not used.
    pub async fn start_on_storage(
        config: ControllerQuorumConfig,
        listener: TcpListener,
        storage: RaftStorage,
    ) -> Result<Self, QuorumNodeError> {
        let addr = own_addr(&config)?;
        let raft_config = Arc::new(config.raft_config()?);
        let log_store = FileLogStore::open(storage.clone())?;
        let state_machine = MetadataStateMachine::open_in(storage.clone())?;
        let applied = state_machine.applied();
        let applied_watch = state_machine.subscribe_applied();
        let raft = MetadataRaft::new(
            config.node_id,
            raft_config,
            QuorumNetwork::new(config.cluster_id.clone()),
            log_store,
            state_machine,
        )
        .await
        .map_err(|fatal| QuorumNodeError::Raft(fatal.to_string()))?;
        let server = RaftServer::start(
            listener,
            raft.clone(),
            config.node_id,
            config.cluster_id.clone(),
        )
        .map_err(|source| QuorumNodeError::Bind { addr, source })?;
        let stopped = Arc::new(AtomicBool::new(false));
        let metadata_log =
            RaftMetadataLog::new(raft.clone(), applied, applied_watch, Arc::clone(&stopped));
        let node = ControllerQuorumNode {
            config,
            raft,
            server,
            metadata_log,
            stopped,
            storage,
        };
        node.initialize_if_first().await?;
        Ok(node)
    }

    /// Initialises the cluster if this is the lowest-id voter and has no raft state.
    async fn initialize_if_first(&self) -> Result<(), QuorumNodeError> {
        let lowest = self.config.voters.keys().next().copied();
        if lowest != Some(self.config.node_id) {
            return Ok(());
        }
        let initialized = (self.raft.is_initialized().await)
            .map_err(|fatal| QuorumNodeError::Raft(fatal.to_string()))?;
        if initialized {
            return Ok(());
        }
        let members: BTreeMap<u64, BasicNode> = (self.config.voters.iter())
            .map(|(id, addr)| (*id, BasicNode::new(addr.to_string())))
            .collect();
        match self.raft.initialize(members).await {
            Ok(()) => Ok(()),
            // Another start initialised it first: the goal is reached.
            Err(openraft::error::RaftError::APIError(_)) => Ok(()),
            Err(error) => Err(QuorumNodeError::Raft(error.to_string())),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.config.node_id
    }

    /// The address the RPC server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The node's metadata log (read side: leadership, committed records).
    pub fn metadata_log(&self) -> &RaftMetadataLog {
        &self.metadata_log
    }

    /// The node's metadata log, for the controller to propose and poll.
    pub fn metadata_log_mut(&mut self) -> &mut RaftMetadataLog {
        &mut self.metadata_log
    }

    /// The openraft handle (metrics, inspection).
    pub fn raft(&self) -> &MetadataRaft {
        &self.raft
    }

    /// The leader this node knows of, per openraft's metrics.
    pub fn current_leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    /// Whether openraft's metrics say this node leads.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().state == ServerState::Leader
    }

    /// Stops the RPC server and openraft, and waits until openraft's tasks (its state
    /// machine worker and snapshot builds outlive its core task briefly) have released the
    /// raft storage, so a write in progress finishes and the storage (a locked directory)
    /// can be started again at once. Files stay for a later `start`.
    pub async fn shutdown(self) -> Result<(), QuorumNodeError> {
        self.stopped.store(true, Ordering::Release);
        self.server.shutdown();
        (self.raft.shutdown().await).map_err(|error| QuorumNodeError::Raft(error.to_string()))?;
        drop(self.raft);
        drop(self.metadata_log);
        let deadline = tokio::time::Instant::now() + STORAGE_RELEASE_WAIT_MAX;
        while self.storage.holders() > 1 {
            if tokio::time::Instant::now() > deadline {
                let detail = "openraft's tasks still hold the raft storage after shutdown";
                return Err(QuorumNodeError::Raft(detail.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

fn own_addr(config: &ControllerQuorumConfig) -> Result<SocketAddr, QuorumNodeError> {
    config
        .voters
        .get(&config.node_id)
        .copied()
        .ok_or(QuorumNodeError::NotAVoter {
            node_id: config.node_id,
        })
}
