//! `odradek serve` configuration: embedded defaults, overridden by a TOML file
//! (`--config odradek.toml`), overridden by command-line flags. Unknown keys in the file are
//! errors (a typo must not silently fall back to a default), and every error names the file
//! and, for TOML syntax and type errors, the line and column.
//!
//! The defaults run a one-broker cluster on 127.0.0.1:9092 with data in `./odradek-data`.
//!
//! **Cluster mode** is on when a controller quorum is configured (`--controller-quorum
//! 1@host:port,2@host:port,3@host:port`, or `controller_quorum` in the file's `[cluster]`
//! table): the broker is then one of many, `node_id` is its broker id, and a node whose id
//! is in the quorum is also a controller (KRaft's combined mode) listening for raft and
//! controller RPCs on its quorum address. Without a quorum nothing here changes the
//! standalone broker.

use odradek_core::log::FlushPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The broker's settings after defaults, file and flags are merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// This broker's id in the cluster.
    pub node_id: i32,
    /// Where the Kafka listener binds.
    pub listen: SocketAddr,
    /// The `host:port` clients are told to connect to (Metadata responses).
    pub advertised_host: String,
    /// The advertised port.
    pub advertised_port: u16,
    /// Root of all partition directories and cluster metadata.
    pub data_dir: PathBuf,
    /// Create unknown topics on produce/metadata (`auto.create.topics.enable`).
    pub auto_create_topics_enable: bool,
    /// Partitions of auto-created topics (`num.partitions`).
    pub num_partitions: i32,
    /// Largest request frame accepted; larger ones close the connection
    /// (`socket.request.max.bytes`).
    pub max_request_bytes: usize,
    /// Default flush policy of partition logs (`log.flush.*`).
    pub flush_policy: FlushPolicy,
    /// Default `segment.bytes`.
    pub segment_bytes: u64,
    /// Default `retention.ms` (`None`: keep forever).
    pub retention_ms: Option<u64>,
    /// Default `retention.bytes` (`None`: no size limit).
    pub retention_bytes: Option<u64>,
    /// Connections idle this long are closed (`connections.max.idle.ms`; `None`: never).
    pub connections_max_idle: Option<Duration>,
    /// `Some` in cluster mode (see the module docs).
    pub cluster: Option<ClusterConfig>,
}

/// The settings of a broker that is one of a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Every controller node's id and its raft/controller RPC address.
    pub controller_quorum: BTreeMap<i32, SocketAddr>,
    /// Where the inter-broker listener binds (replication traffic from peer brokers); port
    /// 0 picks a free port. Default: the client listener's ip, port 0.
    pub inter_broker_listen: SocketAddr,
    /// The `host:port` peers are told to replicate through (registered as the
    /// `INTER_BROKER` listener); `None`: the bound inter-broker address. Set it when peers
    /// reach this broker through a proxy or NAT.
    pub inter_broker_advertised: Option<(String, u16)>,
}

impl ClusterConfig {
    /// Whether node `node_id` is a controller (a voter of the quorum).
    pub fn is_controller(&self, node_id: i32) -> bool {
        self.controller_quorum.contains_key(&node_id)
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            node_id: 0,
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised_host: "127.0.0.1".to_string(),
            advertised_port: 9092,
            data_dir: PathBuf::from("odradek-data"),
            auto_create_topics_enable: true,
            num_partitions: 1,
            max_request_bytes: 100 * 1024 * 1024,
            flush_policy: FlushPolicy::Never,
            segment_bytes: 1024 * 1024 * 1024,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_bytes: None,
            connections_max_idle: Some(Duration::from_millis(CONNECTIONS_MAX_IDLE_MS_DEFAULT)),
            cluster: None,
        }
    }
}

/// Kafka's default `connections.max.idle.ms`: 10 minutes.
pub const CONNECTIONS_MAX_IDLE_MS_DEFAULT: u64 = 600_000;

/// Command-line flags of `odradek serve`; each overrides the file and the defaults.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeFlags {
    /// A TOML file of settings (keys as in this list, in snake_case).
    #[arg(long = "config")]
    pub config_file: Option<PathBuf>,
    /// This broker's node id (default 0).
    #[arg(long)]
    pub node_id: Option<i32>,
    /// Address the Kafka listener binds (default 127.0.0.1:9092).
    #[arg(long)]
    pub listen: Option<String>,
    /// `host:port` advertised to clients (default: the listen address).
    #[arg(long)]
    pub advertised_listener: Option<String>,
    /// Data directory (default ./odradek-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Flush policy: never, every-batch, or a number of milliseconds.
    #[arg(long)]
    pub flush: Option<String>,
    /// Close connections idle this many milliseconds; -1 never (default 600000).
    #[arg(long, allow_hyphen_values = true)]
    pub connections_max_idle_ms: Option<i64>,
    /// Cluster mode: every controller as `id@host:port`, comma separated (the raft and
    /// controller RPC addresses). A node whose id is listed is also a controller.
    #[arg(long)]
    pub controller_quorum: Option<String>,
    /// Cluster mode: address the inter-broker listener binds (default: listen ip, port 0).
    #[arg(long)]
    pub inter_broker_listen: Option<String>,
    /// Cluster mode: `host:port` peers replicate through (default: the bound inter-broker
    /// address).
    #[arg(long)]
    pub inter_broker_advertised: Option<String>,
}

/// The file's `[cluster]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCluster {
    controller_quorum: Option<String>,
    inter_broker_listen: Option<String>,
    inter_broker_advertised: Option<String>,
}

/// The TOML file's shape. Every key is optional; unknown keys are rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    node_id: Option<i32>,
    listen: Option<String>,
    advertised_listener: Option<String>,
    data_dir: Option<PathBuf>,
    auto_create_topics_enable: Option<bool>,
    num_partitions: Option<i32>,
    max_request_bytes: Option<usize>,
    flush: Option<String>,
    segment_bytes: Option<u64>,
    retention_ms: Option<i64>,
    retention_bytes: Option<i64>,
    connections_max_idle_ms: Option<i64>,
    cluster: Option<FileCluster>,
}

/// Why a configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {detail}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        detail: String,
    },
    /// TOML syntax, an unknown key, or a value of the wrong type (with line and column).
    #[error("config file {path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and position.
        detail: String,
    },
    /// A value of the right type but outside what the broker accepts.
    #[error("{key}: {detail}")]
    BadValue {
        /// The setting.
        key: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// Merges defaults, the file named by `flags.config_file` (if any) and the flags.
pub fn resolve(flags: &ServeFlags) -> Result<ServeConfig, ConfigError> {
    let file = match &flags.config_file {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let mut config = ServeConfig::default();
    apply_file(&mut config, &file)?;
    apply_flags(&mut config, flags, file.advertised_listener.is_some())?;
    apply_cluster(&mut config, file.cluster.as_ref(), flags)?;
    Ok(config)
}

/// Cluster mode from the `[cluster]` table and the flags (flags win, key by key).
fn apply_cluster(
    config: &mut ServeConfig,
    file: Option<&FileCluster>,
    flags: &ServeFlags,
) -> Result<(), ConfigError> {
    let quorum =
        (flags.controller_quorum.as_deref()).or(file.and_then(|f| f.controller_quorum.as_deref()));
    let inter_broker = (flags.inter_broker_listen.as_deref())
        .or(file.and_then(|f| f.inter_broker_listen.as_deref()));
    let advertised = (flags.inter_broker_advertised.as_deref())
        .or(file.and_then(|f| f.inter_broker_advertised.as_deref()));
    let Some(quorum) = quorum else {
        if inter_broker.is_some() || advertised.is_some() {
            return Err(ConfigError::BadValue {
                key: "inter_broker_listen",
                detail: "needs a controller quorum (cluster mode)".to_string(),
            });
        }
        return Ok(());
    };
    if config.node_id < 0 {
        return Err(ConfigError::BadValue {
            key: "node_id",
            detail: format!(
                "must be non-negative in cluster mode, got {}",
                config.node_id
            ),
        });
    }
    let controller_quorum = parse_quorum(quorum)?;
    let inter_broker_listen = match inter_broker {
        Some(text) => resolve_address("inter_broker_listen", text)?,
        None => SocketAddr::new(config.listen.ip(), 0),
    };
    let inter_broker_advertised = match advertised {
        Some(text) => Some(parse_host_port("inter_broker_advertised", text)?),
        None => None,
    };
    config.cluster = Some(ClusterConfig {
        controller_quorum,
        inter_broker_listen,
        inter_broker_advertised,
    });
    Ok(())
}

/// `1@host:port,2@host:port,…`: ids unique and non-negative, at least one voter.
pub fn parse_quorum(text: &str) -> Result<BTreeMap<i32, SocketAddr>, ConfigError> {
    let bad = |detail: String| ConfigError::BadValue {
        key: "controller_quorum",
        detail,
    };
    let mut voters = BTreeMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, address) = entry
            .split_once('@')
            .ok_or_else(|| bad(format!("expected id@host:port, got {entry:?}")))?;
        let id: i32 = match id.parse() {
            Ok(id) if id >= 0 => id,
            _ => return Err(bad(format!("bad node id {id:?} in {entry:?}"))),
        };
        let address = resolve_address("controller_quorum", address)?;
        if voters.insert(id, address).is_some() {
            return Err(bad(format!("node id {id} listed twice")));
        }
    }
    if voters.is_empty() {
        return Err(bad("no controller listed".to_string()));
    }
    Ok(voters)
}

/// `host:port` (an ip or a name that resolves) to its first address.
fn resolve_address(key: &'static str, text: &str) -> Result<SocketAddr, ConfigError> {
    let bad = |detail: String| ConfigError::BadValue { key, detail };
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let mut addresses = text
        .to_socket_addrs()
        .map_err(|e| bad(format!("cannot resolve {text:?}: {e}")))?;
    addresses
        .next()
        .ok_or_else(|| bad(format!("{text:?} resolves to no address")))
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        detail: e.to_string().trim_end().to_string(),
    })
}

fn apply_file(config: &mut ServeConfig, file: &FileConfig) -> Result<(), ConfigError> {
    config.node_id = file.node_id.unwrap_or(config.node_id);
    if let Some(listen) = &file.listen {
        set_listen(config, listen)?;
    }
    if let Some(advertised) = &file.advertised_listener {
        set_advertised(config, advertised)?;
    }
    config.data_dir = file.data_dir.clone().unwrap_or(config.data_dir.clone());
    config.auto_create_topics_enable = file
        .auto_create_topics_enable
        .unwrap_or(config.auto_create_topics_enable);
    if let Some(partitions) = file.num_partitions {
        config.num_partitions = positive("num_partitions", partitions)?;
    }
    if let Some(bytes) = file.max_request_bytes {
        config.max_request_bytes = at_least("max_request_bytes", bytes, 1024)?;
    }
    if let Some(flush) = &file.flush {
        config.flush_policy = parse_flush(flush)?;
    }
    if let Some(bytes) = file.segment_bytes {
        config.segment_bytes = at_least("segment_bytes", bytes as usize, 14)? as u64;
    }
    if let Some(ms) = file.retention_ms {
        config.retention_ms = unlimited_if_negative_one("retention_ms", ms)?;
    }
    if let Some(bytes) = file.retention_bytes {
        config.retention_bytes = unlimited_if_negative_one("retention_bytes", bytes)?;
    }
    if let Some(ms) = file.connections_max_idle_ms {
        config.connections_max_idle = max_idle(ms)?;
    }
    Ok(())
}

fn apply_flags(
    config: &mut ServeConfig,
    flags: &ServeFlags,
    advertised_in_file: bool,
) -> Result<(), ConfigError> {
    config.node_id = flags.node_id.unwrap_or(config.node_id);
    if let Some(listen) = &flags.listen {
        set_listen(config, listen)?;
        if !advertised_in_file {
            config.advertised_host = config.listen.ip().to_string();
            config.advertised_port = config.listen.port();
        }
    }
    if let Some(advertised) = &flags.advertised_listener {
        set_advertised(config, advertised)?;
    }
    if let Some(dir) = &flags.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(flush) = &flags.flush {
        config.flush_policy = parse_flush(flush)?;
    }
    if let Some(ms) = flags.connections_max_idle_ms {
        config.connections_max_idle = max_idle(ms)?;
    }
    Ok(())
}

fn set_listen(config: &mut ServeConfig, listen: &str) -> Result<(), ConfigError> {
    let address: SocketAddr = listen.parse().map_err(|_| ConfigError::BadValue {
        key: "listen",
        detail: format!("expected ip:port such as 127.0.0.1:9092, got {listen:?}"),
    })?;
    config.listen = address;
    config.advertised_host = address.ip().to_string();
    config.advertised_port = address.port();
    Ok(())
}

fn set_advertised(config: &mut ServeConfig, advertised: &str) -> Result<(), ConfigError> {
    let (host, port) = parse_host_port("advertised_listener", advertised)?;
    config.advertised_host = host;
    config.advertised_port = port;
    Ok(())
}

/// `host:port` (brackets around an IPv6 host are dropped).
fn parse_host_port(key: &'static str, text: &str) -> Result<(String, u16), ConfigError> {
    let bad = || ConfigError::BadValue {
        key,
        detail: format!("expected host:port, got {text:?}"),
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port))
}

/// `never`, `every-batch`, or a whole number of milliseconds.
pub fn parse_flush(text: &str) -> Result<FlushPolicy, ConfigError> {
    match text {
        "never" => Ok(FlushPolicy::Never),
        "every-batch" => Ok(FlushPolicy::EveryBatch),
        ms => match ms.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(FlushPolicy::IntervalMs(ms)),
            _ => Err(ConfigError::BadValue {
                key: "flush",
                detail: format!("expected never, every-batch or milliseconds > 0, got {text:?}"),
            }),
        },
    }
}

fn positive(key: &'static str, value: i32) -> Result<i32, ConfigError> {
    if value < 1 {
        return Err(ConfigError::BadValue {
            key,
            detail: format!("must be at least 1, got {value}"),
        });
    }
    Ok(value)
}

fn at_least(key: &'static str, value: usize, minimum: usize) -> Result<usize, ConfigError> {
    if value < minimum {
        return Err(ConfigError::BadValue {
            key,
            detail: format!("must be at least {minimum}, got {value}"),
        });
    }
    Ok(value)
}

fn unlimited_if_negative_one(key: &'static str, value: i64) -> Result<Option<u64>, ConfigError> {
    match value {
        -1 => Ok(None),
        v if v >= 0 => Ok(Some(v as u64)),
        v => Err(ConfigError::BadValue {
            key,
            detail: format!("must be -1 (unlimited) or non-negative, got {v}"),
        }),
    }
}

/// `connections_max_idle_ms`: -1 never closes idle connections; otherwise at least 1 ms.
fn max_idle(ms: i64) -> Result<Option<Duration>, ConfigError> {
    match ms {
        -1 => Ok(None),
        ms if ms >= 1 => Ok(Some(Duration::from_millis(ms as u64))),
        ms => Err(ConfigError::BadValue {
            key: "connections_max_idle_ms",
            detail: format!("must be -1 (never) or at least 1, got {ms}"),
        }),
    }
}

#[cfg(test)]
mod tests;
