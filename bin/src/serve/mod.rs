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

pub mod broker;
pub mod connection;
pub mod disk;

use crate::config::{self, ConfigError, ServeConfig, ServeFlags};
use crate::storage::FileStorageProvider;
use broker::{Broker, Clock, Inbox};
use connection::{accept_loop, ConnectionSettings};
use disk::DiskWorker;
use odradek_core::bugs::PlantedBugs;
use odradek_core::controller::ControllerConfig;
use odradek_core::log::{FlushPolicy, LogConfig};
use odradek_core::node::{Node, NodeConfig, NodeError, NodeOutput};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
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
}

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

/// Serves `config` until SIGINT or SIGTERM.
pub async fn serve(mut config: ServeConfig) -> Result<(), ServeError> {
    let std_listener = std::net::TcpListener::bind(config.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|source| bind_error(&config, source))?;
    let listener =
        tokio::net::TcpListener::from_std(std_listener).map_err(|e| bind_error(&config, e))?;
    let bound = listener.local_addr().map_err(|e| bind_error(&config, e))?;
    if config.advertised_port == 0 {
        config.advertised_port = bound.port();
    }
    warn_about_odd_settings(&config);
    let mut signals = Signals::install()?;
    let clock = Clock::start();
    let node = open_node(&config, &clock)?;
    let (events_tx, events) = mpsc::channel(EVENTS_CAPACITY);
    let (completions_tx, completions) = mpsc::unbounded_channel();
    let disk = DiskWorker::spawn(completions_tx).map_err(ServeError::Startup)?;
    let (stop_accepting, stop) = watch::channel(false);
    tokio::spawn(accept_loop(
        listener,
        events_tx,
        ConnectionSettings {
            max_request_bytes: config.max_request_bytes,
            max_idle: config.connections_max_idle,
        },
        stop,
    ));
    announce(&config, bound);
    let broker = Broker::new(node, clock, config.data_dir.clone(), disk);
    let mut inbox = Inbox {
        events,
        completions,
    };
    broker
        .run(&mut inbox, signals.received(), &stop_accepting)
        .await;
    Ok(())
}

fn warn_about_odd_settings(config: &ServeConfig) {
    if config.node_id != odradek_core::node::NODE_ID {
        tracing::warn!(
            node_id = config.node_id,
            "node_id ignored: this build runs one broker, always id {}",
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

fn bind_error(config: &ServeConfig, source: std::io::Error) -> ServeError {
    ServeError::Bind {
        address: config.listen,
        source,
    }
}

fn open_node(config: &ServeConfig, clock: &Clock) -> Result<Node<FileStorageProvider>, ServeError> {
    let unusable = |detail: String| ServeError::DataDir {
        path: config.data_dir.clone(),
        detail,
    };
    let provider =
        FileStorageProvider::open(&config.data_dir).map_err(|e| unusable(e.to_string()))?;
    let node_config = node_config(config, controller_seed());
    let mut node = Node::open(provider, node_config, clock.now())
        .map_err(|e: NodeError| unusable(e.to_string()))?;
    sync_recovered_tails(&mut node, clock);
    Ok(node)
}

/// Recovery asks to sync each recovered tail before serving it (a syncing topic's high
/// watermark is its durable offset). Doing that before accepting connections means the
/// first fetch after a restart already sees every recovered record.
fn sync_recovered_tails(node: &mut Node<FileStorageProvider>, clock: &Clock) {
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

fn announce(config: &ServeConfig, bound: SocketAddr) {
    let line = format!(
        "odradek serving on {bound} advertised {}:{} data {}",
        config.advertised_host,
        config.advertised_port,
        config.data_dir.display()
    );
    tracing::info!("{line}");
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A seed for the controller's draws (topic ids) that differs between runs.
fn controller_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
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
        // `serve` runs one standalone broker.
        cluster: None,
    }
}

/// SIGINT and SIGTERM, installed before serving so a failure is a startup error.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

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
