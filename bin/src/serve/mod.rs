//! `odradek serve`: the tokio adapter that puts a [`Node`] on a TCP socket and real files.
//!
//! # Contract
//! - Configuration is [`config::resolve`](crate::config::resolve)d from defaults, file and
//!   flags. The data directory is opened (created if missing) through
//!   [`FileStorageProvider`]; the node recovers every log from it on open.
//! - The listener binds `listen`; port 0 picks a free port, which is then also the advertised
//!   port unless one was configured. Once serving, exactly one line goes to stdout:
//!   `odradek serving on <listen> advertised <host:port> data <dir>` (tests parse it).
//! - Logs go to stderr through `tracing`, filtered by `RUST_LOG` (default `info`).
//! - A taken port, an unusable data directory or a node that cannot open is a [`ServeError`]:
//!   one clear line on stderr and exit status 1.
//! - SIGINT or SIGTERM shuts down gracefully (see [`broker`]) with exit status 0.
//!
//! The adapter is thin: `broker` (the one task owning the node), `connection` (sockets),
//! `disk` (the fsync worker with group commit). No protocol decisions are made here.
//!
//! # Cluster mode (`config.cluster` is `Some`)
//! The node runs in core's cluster mode as broker `node_id`, with a fresh incarnation per
//! start. It also binds the inter-broker listener (the same Kafka connections as clients',
//! plus the follower's OffsetForLeaderEpoch) and registers it as listener `INTER_BROKER`
//! after the client one, which stays first so Metadata sends clients to the client address.
//! `controller_client` carries its controller requests to the quorum, `peers` its
//! replication requests to the leaders. A node whose id is in the quorum is also a
//! controller (`controller`), started before the broker and shut down after it; its raft
//! files live in `<data>/__cluster_metadata-0/raft`. The
//! stdout line then ends with ` inter-broker <address>` (and ` controller <address>`).
//!
//! # Entry points
//! [`serve`] opens the real pieces (signals, the data directory, the disk worker thread) and
//! hands them to [`serve_on`], the one implementation of both modes, which takes any
//! [`StorageProvider`] and, for a controller, any [`RaftStorage`]. [`serve_standalone`] is
//! `serve_on` for one broker with syncs in the loop.
//!
//! # Under madsim (`RUSTFLAGS="--cfg madsim"`)
//! `tokio` is madsim's simulated tokio: sockets, timers and tasks are simulated and
//! deterministic by seed, and openraft runs on [`crate::raft::MetadataRuntime`]'s madsim
//! runtime. Level-2 simulation calls [`serve_on`] (or [`serve_standalone`]) with a `SimDisk`
//! provider, the raft files in a directory of the same disk, and [`SyncMode::Inline`]: the
//! real files and the disk worker thread are not used there (no OS thread or real file may
//! be touched in a simulation). Incarnations and controller seeds are drawn from madsim's
//! seeded generator. Signals are madsim's ctrl-c (`Handle::send_ctrl_c`).

pub mod broker;
pub mod connection;
pub mod controller;
pub mod controller_client;
pub mod disk;
pub mod frames;
pub mod peers;
pub mod socket;

use crate::config::{self, ConfigError, ServeConfig, ServeFlags};
use crate::raft::RaftStorage;
use crate::storage::FileStorageProvider;
use broker::{Broker, Clock, ClusterLinks, Inbox, Syncer};
use connection::{accept_loop, ConnectionSettings, INTER_BROKER_FIRST_CONNECTION_ID};
use controller::{ControllerProcess, ControllerSettings};
use disk::DiskWorker;
use odradek_core::bugs::PlantedBugs;
use odradek_core::controller::ControllerConfig;
use odradek_core::controller::{BrokerId, IncarnationId, Listener};
use odradek_core::log::{FlushPolicy, LogConfig};
use odradek_core::node::BrokerClusterConfig;
use odradek_core::node::{Node, NodeConfig, NodeError, NodeOutput};
use odradek_core::storage::StorageProvider;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
#[cfg(not(madsim))]
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// Capacity of the channel from connection tasks to the node task.
pub const EVENTS_CAPACITY: usize = 4096;

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The listen address could not be bound (port taken, address not local...).
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The data directory cannot be created, opened or locked, or the node cannot recover
    /// from it.
    #[error("data directory {path} is unusable: {detail}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The runtime, a signal handler or the disk thread could not be set up.
    #[error("cannot start: {0}")]
    Startup(std::io::Error),
    /// The controller (metadata quorum member) could not start.
    #[error("cannot start the controller: {0}")]
    Controller(#[from] controller::ControllerStartError),
}

/// The directory of a controller's raft files, inside the metadata directory (the one
/// top-level directory a cluster-mode broker never removes as a stray, and that it does not
/// use itself: its metadata comes from the quorum).
pub const RAFT_DIRECTORY: &str = "raft";

/// Runs `odradek serve` to completion: exit status 0 after a clean shutdown, 1 on error.
pub fn run(flags: &ServeFlags) -> ExitCode {
    init_logging();
    let result = config::resolve(flags)
        .map_err(ServeError::from)
        .and_then(|config| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(ServeError::Startup)?;
            runtime.block_on(serve(config))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("odradek serve: {error}");
            ExitCode::from(1)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Who performs a node's syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// The disk worker thread, with group commit (real files).
    Worker,
    /// The broker loop itself, through the log's storage (a simulated disk: no OS thread
    /// may run inside a simulation).
    Inline,
}

/// Where a node keeps its data.
pub struct NodeStorage<P> {
    /// The partition logs' directories: the data directory, or a simulated disk.
    pub provider: P,
    /// Who performs the logs' syncs.
    pub syncs: SyncMode,
    /// Cluster mode, on a controller: its raft files. `None`: the real directory
    /// `<data>/__cluster_metadata-0/raft`.
    pub raft: Option<RaftStorage>,
}

/// Serves `config` until SIGINT or SIGTERM, on the real data directory.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let mut signals = Signals::install()?;
    let provider =
        FileStorageProvider::open(&config.data_dir).map_err(|e| ServeError::DataDir {
            path: config.data_dir.clone(),
            detail: e.to_string(),
        })?;
    let storage = NodeStorage {
        provider,
        syncs: SyncMode::Worker,
        raft: None,
    };
    serve_on(config, storage, signals.received()).await
}

/// Serves a standalone broker (no cluster) on `provider` until `shutdown` resolves, with
/// syncs performed in the loop: level-2 simulation's entry for one broker, where `provider`
/// is a simulated disk.
pub async fn serve_standalone<P: StorageProvider>(
    config: ServeConfig,
    provider: P,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let config = ServeConfig {
        cluster: None,
        ..config
    };
    let storage = NodeStorage {
        provider,
        syncs: SyncMode::Inline,
        raft: None,
    };
    serve_on(config, storage, shutdown).await
}

/// Serves `config` (standalone, or cluster mode when `config.cluster` is set) on `storage`
/// until `shutdown` resolves: bind, start the controller (a voter in cluster mode), open and
/// recover the node, the acceptors, the broker task and its graceful drain, then stop the
/// controller. [`serve`] calls it on real files; level-2 simulation on a `SimDisk`.
pub async fn serve_on<P: StorageProvider>(
    mut config: ServeConfig,
    storage: NodeStorage<P>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let listener = bind(config.listen).await?;
    let bound = listener
        .local_addr()
        .map_err(|e| bind_error(config.listen, e))?;
    if config.advertised_port == 0 {
        config.advertised_port = bound.port();
    }
    warn_about_odd_settings(&config);
    let clock = Clock::start();
    let mut cluster = match &config.cluster {
        Some(cluster) => Some(ClusterStart::begin(&config, cluster, storage.raft).await?),
        None => None,
    };
    let node = open_node(&config, &clock, cluster.as_ref(), storage.provider)?;
    let (events_tx, events) = mpsc::channel(EVENTS_CAPACITY);
    let (completions_tx, completions) = mpsc::unbounded_channel();
    let syncer = match storage.syncs {
        SyncMode::Worker => {
            Syncer::Worker(DiskWorker::spawn(completions_tx).map_err(ServeError::Startup)?)
        }
        SyncMode::Inline => Syncer::Inline,
    };
    let (stop_accepting, stop) = watch::channel(false);
    let settings = ConnectionSettings {
        max_request_bytes: config.max_request_bytes,
        max_idle: config.connections_max_idle,
        first_connection_id: 0,
        inter_broker: false,
    };
    tokio::spawn(accept_loop(
        listener,
        events_tx.clone(),
        settings,
        stop.clone(),
    ));
    let mut broker = Broker::new(node, clock, config.data_dir.clone(), syncer);
    let mut line = announcement(&config, bound);
    if let Some(start) = cluster.as_mut() {
        let inter_broker_settings = ConnectionSettings {
            first_connection_id: INTER_BROKER_FIRST_CONNECTION_ID,
            inter_broker: true,
            ..settings
        };
        broker = broker.with_cluster(start.links(&config, events_tx, inter_broker_settings, stop));
        line.push_str(&start.announcement());
    }
    announce(&line);
    let mut inbox = Inbox {
        events,
        completions,
    };
    broker.run(&mut inbox, shutdown, &stop_accepting).await;
    if let Some(controller) = cluster.and_then(|c| c.controller) {
        controller.shutdown().await;
    }
    Ok(())
}

#[cfg(madsim)]
async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    (tokio::net::TcpListener::bind(address).await).map_err(|source| bind_error(address, source))
}

#[cfg(not(madsim))]
async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    let std_listener = std::net::TcpListener::bind(address)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|source| bind_error(address, source))?;
    tokio::net::TcpListener::from_std(std_listener).map_err(|e| bind_error(address, e))
}

/// Cluster mode's extra pieces, from binding to serving.
struct ClusterStart {
    node_id: i32,
    voters: std::collections::BTreeMap<i32, SocketAddr>,
    inter_broker: Option<tokio::net::TcpListener>,
    inter_broker_address: SocketAddr,
    inter_broker_listener: Listener,
    controller: Option<ControllerProcess>,
}

impl ClusterStart {
    /// Binds the inter-broker listener and starts the controller if this node is a voter,
    /// its raft files in `raft` (`None`: the real directory under the data directory).
    async fn begin(
        config: &ServeConfig,
        cluster: &config::ClusterConfig,
        raft: Option<RaftStorage>,
    ) -> Result<ClusterStart, ServeError> {
        let inter_broker = bind(cluster.inter_broker_listen).await?;
        let inter_broker_address = inter_broker
            .local_addr()
            .map_err(|e| bind_error(cluster.inter_broker_listen, e))?;
        let bound_host = match inter_broker_address.ip().is_unspecified() {
            true => config.advertised_host.clone(),
            false => inter_broker_address.ip().to_string(),
        };
        let (host, port) = (cluster.inter_broker_advertised.clone())
            .unwrap_or((bound_host, inter_broker_address.port()));
        let inter_broker_listener = Listener {
            name: peers::INTER_BROKER_LISTENER.to_owned(),
            host,
            port,
        };
        let controller = match cluster.is_controller(config.node_id) {
            true => Some(start_controller(config, cluster, raft).await?),
            false => None,
        };
        Ok(ClusterStart {
            node_id: config.node_id,
            voters: cluster.controller_quorum.clone(),
            inter_broker: Some(inter_broker),
            inter_broker_address,
            inter_broker_listener,
            controller,
        })
    }

    /// The node's cluster settings: broker id, a fresh incarnation, the inter-broker listener.
    fn broker_config(&self) -> BrokerClusterConfig {
        let mut broker = BrokerClusterConfig::new(BrokerId(self.node_id), fresh_incarnation());
        broker.extra_listeners = vec![self.inter_broker_listener.clone()];
        broker
    }

    /// Starts the inter-broker acceptor and the controller channel; the links for the broker.
    fn links(
        &mut self,
        config: &ServeConfig,
        events: mpsc::Sender<connection::Event>,
        settings: ConnectionSettings,
        stop: watch::Receiver<bool>,
    ) -> ClusterLinks {
        if let Some(listener) = self.inter_broker.take() {
            tokio::spawn(accept_loop(listener, events.clone(), settings, stop));
        }
        let (to_controller, requests) = mpsc::unbounded_channel();
        let channel = controller_client::ControllerChannel {
            cluster_id: cluster_id(config),
            voters: self.voters.clone(),
            first_guess: self.node_id,
        };
        tokio::spawn(controller_client::run(channel, requests, events.clone()));
        ClusterLinks {
            to_controller,
            peers: peers::PeerLinks::new(events),
        }
    }

    fn announcement(&self) -> String {
        let mut line = format!(" inter-broker {}", self.inter_broker_address);
        if let Some(controller) = &self.controller {
            line.push_str(&format!(" controller {}", controller.local_addr()));
        }
        line
    }
}

async fn start_controller(
    config: &ServeConfig,
    cluster: &config::ClusterConfig,
    raft: Option<RaftStorage>,
) -> Result<ControllerProcess, ServeError> {
    let raft_storage = match raft {
        Some(storage) => storage,
        None => {
            let dir = (config.data_dir)
                .join(odradek_core::node::metadata_store::METADATA_DIRECTORY)
                .join(RAFT_DIRECTORY);
            RaftStorage::open_dir(&dir).map_err(|error| ServeError::DataDir {
                path: dir,
                detail: error.to_string(),
            })?
        }
    };
    let settings = ControllerSettings {
        cluster_id: cluster_id(config),
        node_id: config.node_id,
        voters: cluster.controller_quorum.clone(),
        raft_storage,
        controller: node_config(config, controller_seed()).controller,
    };
    Ok(ControllerProcess::start(settings).await?)
}

/// The cluster id every node of one cluster shares.
fn cluster_id(_config: &ServeConfig) -> String {
    "odradek".to_owned()
}

/// A broker incarnation (Kafka's broker epoch) no earlier run of this node used.
#[cfg(not(madsim))]
fn fresh_incarnation() -> IncarnationId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    IncarnationId(nanos ^ (u128::from(std::process::id()) << 96))
}

/// Under madsim: drawn from the seeded generator (distinct per start, the same per seed;
/// the process id would differ between runs of one seed).
#[cfg(madsim)]
fn fresh_incarnation() -> IncarnationId {
    IncarnationId(madsim::rand::random::<u128>())
}

fn warn_about_odd_settings(config: &ServeConfig) {
    if config.cluster.is_none() && config.node_id != odradek_core::node::NODE_ID {
        tracing::warn!(
            node_id = config.node_id,
            "node_id ignored without a controller quorum: a standalone broker is always id {}",
            odradek_core::node::NODE_ID
        );
    }
    let unspecified = config
        .advertised_host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if unspecified {
        tracing::warn!(
            host = %config.advertised_host,
            "advertising an unspecified address; clients cannot connect to it \
             (set --advertised-listener host:port)"
        );
    }
}

fn bind_error(address: SocketAddr, source: std::io::Error) -> ServeError {
    ServeError::Bind { address, source }
}

fn open_node<P: StorageProvider>(
    config: &ServeConfig,
    clock: &Clock,
    cluster: Option<&ClusterStart>,
    provider: P,
) -> Result<Node<P>, ServeError> {
    let unusable = |detail: String| ServeError::DataDir {
        path: config.data_dir.clone(),
        detail,
    };
    let mut node_config = node_config(config, controller_seed());
    node_config.cluster = cluster.map(ClusterStart::broker_config);
    let mut node = Node::open(provider, node_config, clock.now())
        .map_err(|e: NodeError| unusable(e.to_string()))?;
    sync_recovered_tails(&mut node, clock);
    Ok(node)
}

/// Recovery asks to sync each recovered tail before serving it (a syncing topic's high
/// watermark is its durable offset). Doing that before accepting connections means the
/// first fetch after a restart already sees every recovered record.
fn sync_recovered_tails<P: StorageProvider>(node: &mut Node<P>, clock: &Clock) {
    while let Some(output) = node.poll_output() {
        if let NodeOutput::Sync { partition, request } = output {
            if let Err(error) = node.perform_sync(clock.now(), &partition, &request) {
                // The log fences itself and answers KAFKA_STORAGE_ERROR; keep serving the rest.
                tracing::warn!(
                    "sync of recovered {} failed: {error}",
                    partition.directory_name()
                );
            }
        }
    }
}

fn announcement(config: &ServeConfig, bound: SocketAddr) -> String {
    format!(
        "odradek serving on {bound} advertised {}:{} data {}",
        config.advertised_host,
        config.advertised_port,
        config.data_dir.display()
    )
}

/// Logs the serving line and prints it on stdout (tests of the real process parse it).
#[cfg(not(madsim))]
fn announce(line: &str) {
    use std::io::Write;
    tracing::info!("{line}");
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Under madsim: logged only (many simulated nodes share the test's stdout).
#[cfg(madsim)]
fn announce(line: &str) {
    tracing::info!("{line}");
}

/// A seed for the controller's draws (topic ids) that differs between runs.
#[cfg(not(madsim))]
fn controller_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Under madsim: drawn from the seeded generator, so a seed replays the same topic ids.
#[cfg(madsim)]
fn controller_seed() -> u64 {
    madsim::rand::random::<u64>()
}

/// The node configuration `config` describes. Broker-wide topic defaults are passed both as
/// the logs' base configuration and as the controller's topic config defaults, so
/// DescribeConfigs reports them.
pub fn node_config(config: &ServeConfig, seed: u64) -> NodeConfig {
    let mut defaults = BTreeMap::new();
    defaults.insert("segment.bytes".to_owned(), config.segment_bytes.to_string());
    let limit = |value: Option<u64>| value.map_or("-1".to_owned(), |v| v.to_string());
    defaults.insert("retention.ms".to_owned(), limit(config.retention_ms));
    defaults.insert("retention.bytes".to_owned(), limit(config.retention_bytes));
    match config.flush_policy {
        FlushPolicy::Never => {}
        FlushPolicy::EveryBatch => {
            defaults.insert("flush.messages".to_owned(), "1".to_owned());
        }
        FlushPolicy::IntervalMs(ms) => {
            defaults.insert("flush.ms".to_owned(), ms.to_string());
        }
    }
    NodeConfig {
        advertised_host: config.advertised_host.clone(),
        advertised_port: config.advertised_port,
        cluster_id: "odradek".to_owned(),
        controller: ControllerConfig {
            seed,
            num_partitions: config.num_partitions,
            auto_create_topics_enable: config.auto_create_topics_enable,
            topic_config_defaults: defaults,
            ..ControllerConfig::default()
        },
        log: LogConfig {
            segment_bytes: config.segment_bytes,
            retention_bytes: config.retention_bytes,
            retention_ms: config.retention_ms,
            flush_policy: config.flush_policy,
            // Planted bugs are for the simulator only: no flag or key reaches them here.
            planted_bugs: PlantedBugs::NONE,
            ..LogConfig::default()
        },
        // Standalone unless `serve` sets the broker's cluster settings.
        cluster: None,
    }
}

/// SIGINT and SIGTERM, installed before serving so a failure is a startup error.
#[cfg(not(madsim))]
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

#[cfg(not(madsim))]
impl Signals {
    fn install() -> Result<Signals, ServeError> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).map_err(ServeError::Startup)?,
            terminate: signal(SignalKind::terminate()).map_err(ServeError::Startup)?,
        })
    }

    async fn received(&mut self) {
        let name = tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        };
        tracing::info!("received {name}: shutting down gracefully");
    }
}

/// Under madsim: ctrl-c only (what `Handle::send_ctrl_c` delivers).
#[cfg(madsim)]
struct Signals;

#[cfg(madsim)]
impl Signals {
    fn install() -> Result<Signals, ServeError> {
        Ok(Signals)
    }

    async fn received(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("received ctrl-c: shutting down gracefully");
    }
}
