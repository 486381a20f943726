//! The cluster's metadata as a deterministic state machine applied from a metadata log,
//! KRaft-style: topics, their partitions and replica assignments, topic configs, and broker
//! registrations.
//!
//! # Contract
//! - **Commands yield records; records change state.** A [`Controller`] command
//!   (`create_topics`, `delete_topics`, `create_partitions`, `alter_configs`,
//!   `register_broker`, `auto_create_topic`) validates its request against the current
//!   [`MetadataImage`] with Kafka's rules and returns either a typed [`ControllerError`] or
//!   the [`MetadataRecord`]s that carry it out. Commands take `&self`: they change nothing.
//! - **Records go through a [`MetadataLog`].** The caller proposes a command's records as
//!   one atomic batch ([`Controller::propose`]) and applies what the log commits
//!   ([`Controller::apply_committed`]). Commands must be issued only after every record of
//!   earlier commands has been applied: [`LocalMetadataLog`] (one node) commits on append so
//!   this holds trivially; the replicated log of issue 6 must preserve it (the active
//!   controller waits for commit, or validates against an image with its pending proposals
//!   applied — the image is `Clone` for that).
//! - **Applying is pure and total on valid logs.** [`MetadataImage::apply`] is deterministic,
//!   atomic per record, checks the record first ([`ApplyError`], image unchanged) and the
//!   image's invariants after (`leader ∈ isr ⊆ replicas`, replicas on registered brokers,
//!   names and ids one to one, ids never reused). Replaying a log's records into a fresh image
//!   gives an identical image.
//! - **No randomness but the seed.** Topic ids and assignment rotation derive from
//!   [`ControllerConfig::seed`] and a counter kept in the image, so the same seed and commands
//!   give the same records, topic ids included.
//!
//! Issue 6 grows this with broker heartbeats and fencing, leader election, AlterPartition and
//! preferred-replica election: new record variants, new commands, same boundary.

mod assignment;
mod commands;
mod config;
mod error;
mod ids;
mod image;
mod metadata_log;
mod record;
mod topics;

pub use assignment::{assign_replicas, rotation_for};
pub use commands::{ConfigChange, ConfigOperation};
pub use config::{
    describe_topic_configs, topic_config_def, validate_topic_config, ConfigSource, ConfigType,
    ControllerConfig, DescribedConfig, TopicConfigDef, TOPIC_CONFIGS,
};
pub use error::{ApplyError, ControllerError, TopicNameProblem};
pub use ids::{
    BrokerId, IncarnationId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
    TopicIdParseError,
};
pub use image::{MetadataImage, PartitionImage, TopicImage};
pub use metadata_log::{CommittedRecord, LocalMetadataLog, MetadataLog, MetadataLogError};
pub use record::{
    BrokerRegistration, ConfigRecord, Listener, MetadataRecord, PartitionRecord, RemoveTopicRecord,
    TopicRecord,
};
pub use topics::{
    validate_topic_name, CreateTopicRequest, CreateTopicResult, CreatedTopic, DeleteTopicResult,
    DeletedTopic, ReplicaAssignment, TopicRef, PARTITIONS_PER_TOPIC_MAX, TOPIC_NAME_LENGTH_MAX,
};

/// The active controller: validates commands against its image and turns them into records.
#[derive(Clone, Debug)]
pub struct Controller {
    config: ControllerConfig,
    image: MetadataImage,
}

impl Controller {
    /// A controller with an empty image. Fails if the static config is invalid (a topic
    /// config default with an unknown key or bad value, or non-positive defaults).
    pub fn new(config: ControllerConfig) -> Result<Controller, ControllerError> {
        if config.num_partitions < 1 {
            return Err(ControllerError::InvalidPartitions {
                requested: config.num_partitions,
                reason: "num.partitions must be at least 1",
            });
        }
        if config.default_replication_factor < 1 {
            return Err(ControllerError::InvalidReplicationFactor {
                requested: config.default_replication_factor,
                available_brokers: 0,
            });
        }
        for (key, value) in &config.topic_config_defaults {
            validate_topic_config(key, Some(value))?;
        }
        Ok(Controller {
            config,
            image: MetadataImage::new(),
        })
    }

    /// The static configuration.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The applied metadata.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// Applies one committed record (e.g. while replaying a log at startup).
    pub fn apply(
        &mut self,
        offset: MetadataOffset,
        record: &MetadataRecord,
    ) -> Result<(), ApplyError> {
        self.image.apply(offset, record)
    }

    /// Proposes a command's records to `log` as one atomic batch.
    pub fn propose<L: MetadataLog>(
        &self,
        log: &mut L,
        records: Vec<MetadataRecord>,
    ) -> Result<MetadataOffset, ControllerError> {
        Ok(log.append(records)?)
    }

    /// Applies every record `log` has committed since the last call; returns how many.
    /// An error means the log holds a record this controller never validated (a corrupt log
    /// or a bug): the image stays as before that record and the node must stop serving
    /// metadata rather than guess.
    pub fn apply_committed<L: MetadataLog>(&mut self, log: &mut L) -> Result<usize, ApplyError> {
        let mut applied = 0;
        while let Some(committed) = log.poll_committed() {
            self.image.apply(committed.offset, &committed.record)?;
            applied += 1;
        }
        Ok(applied)
    }
}
