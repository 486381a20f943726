//! Startup and the partition replicas' lifecycle: replaying durable metadata, registering the
//! broker, and keeping exactly one open replica per partition of every live topic this broker
//! holds a replica of (opening missing ones, recovering their logs, removing the directories
//! of deleted topics) after every metadata change; then their roles follow the metadata
//! (module `roles`).

use super::io::{NodeConfig, NodeError, TopicPartition};
use super::metadata_store::{MetadataStore, METADATA_DIRECTORY, METADATA_TOPIC};
use super::produce::ProduceSettings;
use super::{Node, NODE_ID};
use crate::controller::{
    BrokerId, BrokerRegistration, Controller, ControllerError, IncarnationId, Listener,
    LocalMetadataLog, MetadataLog, MetadataRecord,
};
use crate::log::{FlushPolicy, LogConfig};
use crate::replication::{PartitionReplica, ReplicationConfig};
use crate::storage::StorageProvider;
use crate::time::Now;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl<P: StorageProvider> Node<P> {
    /// Opens a node on `provider`. Standalone: replays the metadata log, registers the
    /// broker, removes directories of topics that no longer exist, and opens (recovering)
    /// every partition replica. Cluster mode (`config.cluster`): starts with an empty image
    /// and asks the controller quorum for metadata and registration (module `broker`); the
    /// replicas open, recovering their logs, as the metadata names them.
    pub fn open(mut provider: P, config: NodeConfig, now: Now) -> Result<Node<P>, NodeError> {
        let mut controller = Controller::new(config.controller.clone())?;
        let mut metadata_log = LocalMetadataLog::new();
        let cluster = config
            .cluster
            .clone()
            .map(|cluster| super::broker::ClusterState::new(cluster, now));
        let mut metadata_store = None;
        if cluster.is_none() {
            let storage = provider.open_directory(METADATA_DIRECTORY)?;
            let (store, commands) = MetadataStore::open(storage, now)?;
            for records in commands {
                metadata_log
                    .append(records)
                    .map_err(|e| NodeError::Controller(e.into()))?;
                controller.apply_committed(&mut metadata_log)?;
            }
            metadata_store = Some(store);
        }
        let mut node = Node {
            provider,
            config,
            controller,
            metadata_log,
            metadata_store,
            cluster,
            partitions: BTreeMap::new(),
            connections: BTreeMap::new(),
            next_slot: 0,
            pending_produces: Vec::new(),
            pending_fetches: Vec::new(),
            changed_partitions: BTreeSet::new(),
            offline_partitions: BTreeMap::new(),
            sync_ids: BTreeMap::new(),
            produce_settings: BTreeMap::new(),
            next_sync_id: 0,
            completed_acks: Vec::new(),
            outputs: VecDeque::new(),
            last_now: now.mono,
            state_version: 0,
        };
        if node.cluster.is_some() {
            node.cluster_tick(now);
        } else {
            node.register(now)?;
            node.reconcile_partitions(now)?;
        }
        node.check_invariants();
        Ok(node)
    }

    fn register(&mut self, now: Now) -> Result<(), NodeError> {
        let previous = self
            .controller
            .image()
            .brokers()
            .get(&BrokerId(NODE_ID))
            .map_or(0, |broker| broker.incarnation.0);
        let registration = BrokerRegistration {
            broker_id: BrokerId(NODE_ID),
            incarnation: IncarnationId(previous.wrapping_add(1)),
            listeners: vec![Listener {
                name: "PLAINTEXT".to_owned(),
                host: self.config.advertised_host.clone(),
                port: self.config.advertised_port,
            }],
            rack: None,
        };
        let incarnation = registration.incarnation;
        let records = self.controller.register_broker(registration)?;
        self.commit_metadata(now, records)?;
        // A registration starts fenced; the single node's first heartbeat unfences it.
        let records = self
            .controller
            .handle_heartbeat(now, BrokerId(NODE_ID), incarnation)?;
        self.commit_metadata(now, records)
    }

    /// Makes a command's records durable, applies them, and brings the partition logs in
    /// line with the new metadata.
    pub(super) fn commit_metadata(
        &mut self,
        now: Now,
        records: Vec<MetadataRecord>,
    ) -> Result<(), NodeError> {
        if records.is_empty() {
            return Ok(());
        }
        let Some(store) = self.metadata_store.as_mut() else {
            return Err(NodeError::Controller(ControllerError::NotController));
        };
        store.append(now, &records)?;
        self.controller
            .propose(&mut self.metadata_log, records)
            .map_err(NodeError::Controller)?;
        self.controller.apply_committed(&mut self.metadata_log)?;
        self.reconcile_partitions(now)
    }

    /// Every partition of every live topic that has a replica on this broker, from the
    /// metadata image.
    fn wanted_partitions(&self) -> BTreeSet<TopicPartition> {
        let image = self.controller.image();
        let me = self.broker_id();
        image
            .topics()
            .values()
            .flat_map(|topic| {
                topic
                    .partitions
                    .iter()
                    .enumerate()
                    .filter(move |(_, p)| p.replicas.contains(&me))
                    .map(|(p, _)| TopicPartition::new(&topic.name, p as i32))
            })
            .collect()
    }

    /// Opens replicas of live partitions not yet open; closes and removes those of gone
    /// topics, and any directory on storage that no live partition owns; then brings every
    /// replica's role in line with the metadata.
    pub(super) fn reconcile_partitions(&mut self, now: Now) -> Result<(), NodeError> {
        let wanted = self.wanted_partitions();
        let gone: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !wanted.contains(*tp))
            .cloned()
            .collect();
        for tp in gone {
            self.partitions.remove(&tp);
            if let Some(cluster) = self.cluster.as_mut() {
                cluster.fetcher.forget(&tp);
            }
            self.fail_waits_on(&tp);
            self.forget_syncs_of(&tp);
            self.changed_partitions.insert(tp.clone());
            self.provider.remove_directory(&tp.directory_name())?;
        }
        // A partial image (cluster mode, not caught up) must not delete logs it has not
        // heard of yet.
        let strays = match self.metadata_caught_up() {
            true => self.provider.list_directories()?,
            false => Vec::new(),
        };
        for directory in strays {
            let owned = TopicPartition::from_directory_name(&directory)
                .is_some_and(|tp| wanted.contains(&tp));
            if directory != METADATA_DIRECTORY && !owned {
                self.provider.remove_directory(&directory)?;
            }
        }
        self.refresh_topic_limits();
        self.offline_partitions.retain(|tp, _| wanted.contains(tp));
        for tp in wanted {
            if !self.partitions.contains_key(&tp) {
                match self.open_partition_replica(now, &tp) {
                    Ok(replica) => {
                        self.offline_partitions.remove(&tp);
                        self.partitions.insert(tp.clone(), replica);
                        // Recovery asks to sync what it found: until then the recovered tail
                        // is not durable and, under a syncing policy, not readable.
                        self.drain_replica(now, &tp);
                    }
                    Err(error) => {
                        self.offline_partitions.insert(tp, error.to_string());
                    }
                }
            }
        }
        self.reconcile_roles(now);
        Ok(())
    }

    /// Caches every live topic's `max.message.bytes` for the produce path.
    fn refresh_topic_limits(&mut self) {
        let keys = [
            "max.message.bytes".to_owned(),
            "message.timestamp.type".to_owned(),
        ];
        let names: Vec<String> = self
            .controller
            .image()
            .topic_ids_by_name()
            .keys()
            .cloned()
            .collect();
        self.produce_settings = names
            .into_iter()
            .filter_map(|name| {
                let described = self.controller.describe_configs(&name, Some(&keys)).ok()?;
                let value = |key: &str| {
                    described
                        .iter()
                        .find(|c| c.name == key)
                        .map(|c| c.value.as_str())
                };
                let settings = ProduceSettings {
                    max_message_bytes: value("max.message.bytes")?.parse().ok()?,
                    log_append_time: value("message.timestamp.type") == Some("LogAppendTime"),
                };
                Some((name, settings))
            })
            .collect();
    }

    fn open_partition_replica(
        &mut self,
        now: Now,
        tp: &TopicPartition,
    ) -> Result<PartitionReplica<P::Storage>, NodeError> {
        let directory = tp.directory_name();
        let config = self.log_config_for(&tp.topic)?;
        let replication = self.replication_config_for(&tp.topic)?;
        let storage = self.provider.open_directory(&directory)?;
        let broker_id = self.broker_id();
        let (replica, _report) =
            PartitionReplica::open(storage, config, replication, broker_id, now)
                .map_err(|error| NodeError::Replication { directory, error })?;
        Ok(replica)
    }

    /// The replication settings of a topic: `min.insync.replicas` and
    /// `unclean.leader.election.enable` from its configs, the lag limit from the broker's.
    fn replication_config_for(&self, topic: &str) -> Result<ReplicationConfig, ControllerError> {
        let described = self.controller.describe_configs(topic, None)?;
        let value = |key: &str| {
            described
                .iter()
                .find(|c| c.name == key)
                .map(|c| c.value.clone())
        };
        let defaults = ReplicationConfig::default();
        Ok(ReplicationConfig {
            replica_lag_time_max_ms: self.replica_lag_time_max_ms(),
            min_insync_replicas: value("min.insync.replicas")
                .and_then(|v| v.parse().ok())
                .unwrap_or(defaults.min_insync_replicas),
            unclean_leader_election_enable: value("unclean.leader.election.enable")
                .is_some_and(|v| v == "true"),
            replica_fetch_max_bytes: defaults.replica_fetch_max_bytes,
        })
    }

    /// `replica.lag.time.max.ms`: the cluster config's, Kafka's default standalone (where it
    /// never matters: the ISR is the leader alone).
    fn replica_lag_time_max_ms(&self) -> u64 {
        self.cluster
            .as_ref()
            .map_or(ReplicationConfig::default().replica_lag_time_max_ms, |c| {
                c.config.replica_lag_time_max_ms
            })
    }

    /// The log configuration of a topic: the node's base config overridden by the topic's
    /// effective configs (topic override, else broker default, else Kafka's default).
    fn log_config_for(&self, topic: &str) -> Result<LogConfig, ControllerError> {
        let described = self.controller.describe_configs(topic, None)?;
        let values: BTreeMap<&str, i64> = described
            .iter()
            .filter_map(|c| c.value.parse::<i64>().ok().map(|v| (c.name.as_str(), v)))
            .collect();
        Ok(log_config_from(&self.config.log, &values))
    }
}

/// Maps Kafka topic configs onto a [`LogConfig`]: `retention.ms`/`retention.bytes` (-1 = no
/// limit), `segment.bytes`, `segment.ms`, and the flush policy: `flush.messages=1` syncs every
/// batch; otherwise a `flush.ms` below Kafka's "never" default syncs on that interval;
/// otherwise the log never asks for syncs (Kafka's default). Other `flush.messages` values are
/// treated as "never" (counting messages between syncs is not implemented).
pub fn log_config_from(base: &LogConfig, values: &BTreeMap<&str, i64>) -> LogConfig {
    let positive = |key: &str| {
        values
            .get(key)
            .and_then(|v| u64::try_from(*v).ok())
            .filter(|v| *v > 0)
    };
    let limit = |key: &str, fallback: Option<u64>| match values.get(key) {
        Some(v) if *v < 0 => None,
        Some(v) => u64::try_from(*v).ok(),
        None => fallback,
    };
    let flush_policy = if values.get("flush.messages") == Some(&1) {
        FlushPolicy::EveryBatch
    } else {
        match values.get("flush.ms") {
            Some(ms) if *ms >= 0 && *ms < i64::MAX => FlushPolicy::IntervalMs(*ms as u64),
            _ => base.flush_policy,
        }
    };
    LogConfig {
        segment_bytes: positive("segment.bytes").unwrap_or(base.segment_bytes),
        segment_ms: positive("segment.ms").unwrap_or(base.segment_ms),
        index_interval_bytes: base.index_interval_bytes,
        retention_bytes: limit("retention.bytes", base.retention_bytes),
        retention_ms: limit("retention.ms", base.retention_ms),
        flush_policy,
        planted_bugs: base.planted_bugs,
    }
}

/// Is `name` reserved for the node's own use (its metadata log)?
pub fn is_reserved_topic(name: &str) -> bool {
    name == METADATA_TOPIC
}
