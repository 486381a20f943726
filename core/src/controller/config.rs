//! Controller configuration and the table of topic configs Odradek understands.
//!
//! Topic configs use Kafka's names, types, defaults and lower bounds. Unknown keys are refused
//! (INVALID_CONFIG naming the key) rather than stored and ignored, and valid Kafka settings
//! that Odradek does not implement (`cleanup.policy=compact`) are refused with a clear
//! "not supported yet" error. Describing configs reports where each value comes from, like
//! Kafka's DescribeConfigs: a topic override, a static broker default, or Kafka's default.

use super::error::ControllerError;
use crate::bugs::PlantedBugs;
use std::collections::BTreeMap;

/// Kafka's default `broker.session.timeout.ms`: a broker that sends no heartbeat for this
/// long is fenced.
pub const BROKER_SESSION_TIMEOUT_MS_DEFAULT: u64 = 9000;

/// Static configuration of the controller (Kafka's broker-level settings that matter to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerConfig {
    /// Seed of everything the controller draws (topic ids, assignment start positions).
    pub seed: u64,
    /// Partitions of a topic created with `num_partitions = -1` or auto-created
    /// (`num.partitions`, Kafka's default 1).
    pub num_partitions: i32,
    /// Replication factor of a topic created with `replication_factor = -1` or auto-created
    /// (`default.replication.factor`, Kafka's default 1).
    pub default_replication_factor: i16,
    /// Whether produce and metadata requests create missing topics
    /// (`auto.create.topics.enable`, default true).
    pub auto_create_topics_enable: bool,
    /// Broker-wide defaults of topic configs, keyed by the *topic* config name (e.g.
    /// `retention.ms` for Kafka's `log.retention.ms`); reported as STATIC_BROKER_CONFIG.
    pub topic_config_defaults: BTreeMap<String, String>,
    /// How long a broker may go without a heartbeat before it is fenced
    /// (`broker.session.timeout.ms`, Kafka's default 9000).
    pub broker_session_timeout_ms: u64,
    /// Deliberate mistakes for the simulator to find; [`PlantedBugs::NONE`] in production.
    pub planted_bugs: PlantedBugs,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            seed: 0,
            num_partitions: 1,
            default_replication_factor: 1,
            auto_create_topics_enable: true,
            topic_config_defaults: BTreeMap::new(),
            broker_session_timeout_ms: BROKER_SESSION_TIMEOUT_MS_DEFAULT,
            planted_bugs: PlantedBugs::NONE,
        }
    }
}

/// A config's type, as DescribeConfigs v3+ reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConfigType {
    /// `true`/`false` → BOOLEAN (1).
    Boolean,
    /// Free text from a fixed set → STRING (2).
    String,
    /// 32-bit integer → INT (3).
    Int,
    /// 64-bit integer → LONG (5).
    Long,
    /// Comma-separated list → LIST (7).
    List,
}

/// Where a described config's value comes from (Kafka's `ConfigSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConfigSource {
    /// Set on the topic → DYNAMIC_TOPIC_CONFIG (1).
    TopicConfig,
    /// Set in the broker's static configuration → STATIC_BROKER_CONFIG (4).
    StaticBrokerConfig,
    /// Kafka's built-in default → DEFAULT_CONFIG (5).
    DefaultConfig,
}

/// One config as DescribeConfigs reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DescribedConfig {
    /// The key.
    pub name: String,
    /// The effective value.
    pub value: String,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether the value is a default (not set on the topic).
    pub is_default: bool,
    /// Whether it can be altered (every topic config can).
    pub is_read_only: bool,
    /// Whether the value is secret (none of these are).
    pub is_sensitive: bool,
    /// Its type.
    pub config_type: ConfigType,
}

/// The definition of one topic config.
#[derive(Clone, Copy, Debug)]
pub struct TopicConfigDef {
    /// The key.
    pub name: &'static str,
    /// Its type.
    pub config_type: ConfigType,
    /// Kafka's default value.
    pub kafka_default: &'static str,
    /// The smallest accepted value, for numbers.
    pub minimum: Option<i64>,
}

const fn def(
    name: &'static str,
    config_type: ConfigType,
    kafka_default: &'static str,
    minimum: Option<i64>,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        config_type,
        kafka_default,
        minimum,
    }
}

/// Every topic config Odradek accepts, sorted by name (DescribeConfigs lists them in this
/// order). `segment.bytes` ≥ 14 is Kafka's minimum (the smallest legacy record's overhead).
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def("cleanup.policy", ConfigType::List, "delete", None),
    def(
        "flush.messages",
        ConfigType::Long,
        "9223372036854775807",
        Some(1),
    ),
    def("flush.ms", ConfigType::Long, "9223372036854775807", Some(0)),
    def("max.message.bytes", ConfigType::Int, "1048588", Some(0)),
    def(
        "message.timestamp.type",
        ConfigType::String,
        "CreateTime",
        None,
    ),
    def("min.insync.replicas", ConfigType::Int, "1", Some(1)),
    def("retention.bytes", ConfigType::Long, "-1", Some(-1)),
    def("retention.ms", ConfigType::Long, "604800000", Some(-1)),
    def("segment.bytes", ConfigType::Int, "1073741824", Some(14)),
    def("segment.ms", ConfigType::Long, "604800000", Some(1)),
    def(
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
        None,
    ),
];

/// The definition of a topic config key.
pub fn topic_config_def(key: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == key)
}

/// Validates one topic config value and returns it normalised (trimmed; booleans lowercase).
pub fn validate_topic_config(key: &str, value: Option<&str>) -> Result<String, ControllerError> {
    let definition = topic_config_def(key).ok_or_else(|| ControllerError::UnknownConfig {
        key: key.to_owned(),
    })?;
    let invalid = |reason: &'static str| ControllerError::InvalidConfigValue {
        key: key.to_owned(),
        value: value.map(str::to_owned),
        reason: reason.into(),
    };
    let value = value.ok_or_else(|| invalid("a value is required"))?.trim();
    match definition.config_type {
        ConfigType::Boolean => match value.to_ascii_lowercase().as_str() {
            bool_text @ ("true" | "false") => Ok(bool_text.to_owned()),
            _ => Err(invalid("expected true or false")),
        },
        ConfigType::Int | ConfigType::Long => {
            let number = if definition.config_type == ConfigType::Int {
                value.parse::<i32>().map(i64::from).ok()
            } else {
                value.parse::<i64>().ok()
            };
            let number = number.ok_or_else(|| invalid("not an integer of the config's type"))?;
            match definition.minimum {
                Some(minimum) if number < minimum => Err(invalid(minimum_reason(key))),
                _ => Ok(number.to_string()),
            }
        }
        ConfigType::String => match value {
            "CreateTime" | "LogAppendTime" => Ok(value.to_owned()),
            _ => Err(invalid("expected CreateTime or LogAppendTime")),
        },
        ConfigType::List => validate_cleanup_policy(key, value),
    }
}

fn minimum_reason(key: &str) -> &'static str {
    match key {
        "segment.bytes" => "must be at least 14",
        "retention.ms" | "retention.bytes" => "must be at least -1",
        "segment.ms" | "min.insync.replicas" | "flush.messages" => "must be at least 1",
        _ => "must be at least 0",
    }
}

fn validate_cleanup_policy(key: &str, value: &str) -> Result<String, ControllerError> {
    let policies: Vec<&str> = value.split(',').map(str::trim).collect();
    if policies.iter().all(|p| *p == "delete") && !policies.is_empty() {
        return Ok("delete".to_owned());
    }
    if policies.iter().all(|p| *p == "delete" || *p == "compact") {
        return Err(ControllerError::UnsupportedConfigValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: "log compaction is not implemented; only cleanup.policy=delete".into(),
        });
    }
    Err(ControllerError::InvalidConfigValue {
        key: key.to_owned(),
        value: Some(value.to_owned()),
        reason: "expected delete or compact".into(),
    })
}

/// Describes every topic config: the topic's override if set, otherwise the broker's static
/// default if set, otherwise Kafka's default. `keys` narrows the answer (unknown keys are
/// skipped, as Kafka does).
pub fn describe_topic_configs(
    config: &ControllerConfig,
    overrides: Option<&BTreeMap<String, String>>,
    keys: Option<&[String]>,
) -> Vec<DescribedConfig> {
    TOPIC_CONFIGS
        .iter()
        .filter(|d| keys.is_none_or(|keys| keys.iter().any(|k| k == d.name)))
        .map(|definition| {
            let (value, source) = match (
                overrides.and_then(|o| o.get(definition.name)),
                config.topic_config_defaults.get(definition.name),
            ) {
                (Some(value), _) => (value.clone(), ConfigSource::TopicConfig),
                (None, Some(value)) => (value.clone(), ConfigSource::StaticBrokerConfig),
                (None, None) => (
                    definition.kafka_default.to_owned(),
                    ConfigSource::DefaultConfig,
                ),
            };
            DescribedConfig {
                name: definition.name.to_owned(),
                value,
                is_default: source != ConfigSource::TopicConfig,
                source,
                is_read_only: false,
                is_sensitive: false,
                config_type: definition.config_type,
            }
        })
        .collect()
}
