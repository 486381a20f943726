//! The cluster's metadata as a deterministic state machine applied from a metadata log,
//! KRaft-style: topics, their partitions, replica assignments and leadership, topic configs,
//! and broker registrations with their fencing.
//!
//! # Contract
//! - **Commands yield records; records change state.** A [`Controller`] command
//!   (`create_topics`, `delete_topics`, `create_partitions`, `alter_configs`,
//!   `register_broker`, `auto_create_topic`, `alter_partition`, `elect_preferred_leader`,
//!   and the heartbeat inputs `handle_heartbeat` / `handle_timeout`) validates its request
//!   against the controller's [view](Controller::view) with Kafka's rules and returns either
//!   a typed [`ControllerError`] or the [`MetadataRecord`]s that carry it out. Commands
//!   change nothing but the in-memory heartbeat sessions (never logged: only the fencing
//!   decisions they lead to are records).
//! - **Records go through a [`MetadataLog`].** The caller proposes a command's records as
//!   one atomic batch ([`Controller::propose`]) and applies what the log commits
//!   ([`Controller::apply_committed`]). Commit may come later (a replicated log): the
//!   controller's *view* is the committed image plus its own proposals, so the next command
//!   already sees them; the view is dropped once they commit, or when the log reports a new
//!   leader term or refuses a proposal as not leader (a deposed leader's proposals may never
//!   commit). [`LocalMetadataLog`] (one node) commits on append. The log's side of this
//!   boundary is documented on [`MetadataLog`].
//! - **Applying is pure and total on valid logs.** [`MetadataImage::apply`] is deterministic,
//!   atomic per record, checks the record first ([`ApplyError`], image unchanged) and the
//!   image's invariants after: `leader ∈ isr ⊆ replicas`, replicas on registered brokers, a
//!   fenced broker leads nothing, the partition epoch grows by one on every partition change
//!   and the leader epoch by one exactly when the leader changes (so neither decreases),
//!   names and ids one to one, ids never reused. Replaying a log's records into a fresh image
//!   gives an identical image. Between commands [`Controller::check_invariants`] also holds:
//!   no partition is leaderless while a replica could lead it, and a fenced broker stays in an
//!   ISR only as its last member.
//! - **Elections** follow Kafka's classic rules (module `election`): clean from the ISR in
//!   assignment order; unclean only where `unclean.leader.election.enable=true`.
//! - **No randomness but the seed.** Topic ids and assignment rotation derive from
//!   [`ControllerConfig::seed`] and a counter kept in the image, so the same seed and commands
//!   give the same records, topic ids included. Time comes in as [`crate::Now`].
//! - **Planted bugs** ([`ControllerConfig::planted_bugs`], empty in production):
//!   `UncleanElectionByDefault` and `StaleAlterPartitionAccepted`.

mod assignment;
mod broker_api;
mod commands;
mod config;
mod election;
mod error;
mod fencing;
pub mod host;
mod ids;
mod image;
mod metadata_log;
mod partition_changes;
mod proposal_offsets;
mod reassignment;
mod reassignment_list;
mod record;
mod topics;

pub use assignment::{assign_replicas, rotation_for};
pub use broker_api::{
    AlterPartitionResult, ControllerEnvelope, ControllerRequest, ControllerResponse,
    CreatePartitionsResult, CreatePartitionsTopic, PartitionReassignment,
};
pub use commands::{ConfigChange, ConfigOperation};
pub use config::{
    describe_topic_configs, topic_config_def, validate_topic_config, ConfigSource, ConfigType,
    ControllerConfig, DescribedConfig, TopicConfigDef, BROKER_SESSION_TIMEOUT_MS_DEFAULT,
    TOPIC_CONFIGS,
};
pub use election::{
    leaderless_with_eligible_leader, unclean_election_enabled, UNCLEAN_LEADER_ELECTION_ENABLE,
};
pub use error::{ApplyError, ControllerError, TopicNameProblem};
pub use fencing::BrokerSession;
pub use host::{ControllerHost, HostReply};
pub use ids::{
    BrokerId, IncarnationId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
    TopicIdParseError,
};
pub use image::{MetadataImage, PartitionImage, TopicImage};
pub use metadata_log::{CommittedRecord, LocalMetadataLog, MetadataLog, MetadataLogError};
pub use partition_changes::AlterPartitionRequest;
pub use proposal_offsets::{judge_proposal, ProposalHeader, ProposalVerdict, SkipReason};
pub use reassignment_list::{OngoingReassignment, ReassignmentQuery};
pub use record::{
    BrokerFencingRecord, BrokerRegistration, ConfigRecord, Listener, MetadataRecord,
    PartitionChangeRecord, PartitionReassignmentRecord, PartitionRecord, RemoveTopicRecord,
    TopicRecord,
};
use std::collections::BTreeMap;
pub use topics::{
    validate_topic_name, CreateTopicRequest, CreateTopicResult, CreatedTopic, DeleteTopicResult,
    DeletedTopic, ReplicaAssignment, TopicRef, PARTITIONS_PER_TOPIC_MAX, TOPIC_NAME_LENGTH_MAX,
};

/// The active controller: validates commands against its view of the metadata and turns
/// them into records; tracks broker heartbeat sessions.
#[derive(Clone, Debug)]
pub struct Controller {
    config: ControllerConfig,
    /// What the log has committed and this controller applied.
    image: MetadataImage,
    /// The committed image with this controller's own uncommitted proposals applied.
    uncommitted: Option<UncommittedView>,
    /// Heartbeat sessions (in memory only; never logged).
    sessions: BTreeMap<BrokerId, BrokerSession>,
}

/// The image as it will be once this controller's proposals commit.
#[derive(Clone, Debug)]
struct UncommittedView {
    image: MetadataImage,
    /// The log offset of the last proposed record.
    last_offset: MetadataOffset,
    /// The log leader term the proposals were made in.
    term: Option<u64>,
}

impl Controller {
    /// A controller with an empty image. Fails if the static config is invalid (a topic
    /// config default with an unknown key or bad value, or non-positive defaults).
    pub fn new(config: ControllerConfig) -> Result<Controller, ControllerError> {
        if config.num_partitions < 1 {
            return Err(ControllerError::InvalidPartitions {
                requested: config.num_partitions,
                reason: "num.partitions must be at least 1".into(),
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
            uncommitted: None,
            sessions: BTreeMap::new(),
        })
    }

    /// The static configuration.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The committed metadata: every record the log committed, applied.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// What commands validate against: the committed image plus this controller's own
    /// proposals that have not committed yet (the committed image when there are none).
    pub fn view(&self) -> &MetadataImage {
        self.uncommitted
            .as_ref()
            .map_or(&self.image, |view| &view.image)
    }

    /// Whether proposals of this controller await commit.
    pub fn has_uncommitted(&self) -> bool {
        self.uncommitted.is_some()
    }

    /// Forgets the proposals that have not committed: the view becomes the committed image.
    /// Called on losing leadership of the log (the new leader may never commit them).
    pub fn discard_uncommitted(&mut self) {
        self.uncommitted = None;
    }

    /// Applies one committed record (e.g. while replaying a log at startup).
    pub fn apply(
        &mut self,
        offset: MetadataOffset,
        record: &MetadataRecord,
    ) -> Result<(), ApplyError> {
        self.image.apply(offset, record)?;
        self.retire_uncommitted(offset);
        Ok(())
    }

    /// Proposes a command's records to `log` as one atomic batch and adds them to the view,
    /// so that the next command sees them before they commit. Records that do not apply to
    /// the view are refused before reaching the log. A `NotLeader` refusal discards the
    /// uncommitted view (see [`Controller::discard_uncommitted`]).
    pub fn propose<L: MetadataLog>(
        &mut self,
        log: &mut L,
        records: Vec<MetadataRecord>,
    ) -> Result<MetadataOffset, ControllerError> {
        self.check_term(log);
        let mut view = self.view().clone();
        let first = view.next_offset().0;
        for (index, record) in records.iter().enumerate() {
            view.apply(MetadataOffset(first + index as u64), record)
                .map_err(|error| ControllerError::InvalidRecords { error })?;
        }
        let count = records.len();
        match log.append(records) {
            Ok(last_offset) => {
                if count > 0 {
                    let term = log.leader_term();
                    self.uncommitted = Some(UncommittedView {
                        image: view,
                        last_offset,
                        term,
                    });
                }
                Ok(last_offset)
            }
            Err(error) => {
                if error == MetadataLogError::NotLeader {
                    self.discard_uncommitted();
                }
                Err(error.into())
            }
        }
    }

    /// Applies every record `log` has committed since the last call; returns how many.
    /// Once the log commits this controller's last proposal, the view is the committed image
    /// again; if the log's leader term changed since the proposals, they are discarded.
    /// An error means the log holds a record this controller never validated (a corrupt log
    /// or a bug): the image stays as before that record and the node must stop serving
    /// metadata rather than guess.
    pub fn apply_committed<L: MetadataLog>(&mut self, log: &mut L) -> Result<usize, ApplyError> {
        self.check_term(log);
        let mut applied = 0;
        while let Some(committed) = log.poll_committed() {
            self.image.apply(committed.offset, &committed.record)?;
            self.retire_uncommitted(committed.offset);
            applied += 1;
        }
        Ok(applied)
    }

    fn check_term<L: MetadataLog>(&mut self, log: &L) {
        let term = log.leader_term();
        if self.uncommitted.as_ref().is_some_and(|v| v.term != term) {
            self.discard_uncommitted();
        }
    }

    fn retire_uncommitted(&mut self, offset: MetadataOffset) {
        if self
            .uncommitted
            .as_ref()
            .is_some_and(|view| offset >= view.last_offset)
        {
            self.uncommitted = None;
        }
    }

    /// Asserts the image's and the view's invariants, and what must hold between commands:
    /// no partition is leaderless while a broker could lead it, and a fenced broker is in an
    /// ISR only as its last member. A failure is a bug, never bad input.
    pub fn check_invariants(&self) {
        self.image.check_invariants();
        let view = self.view();
        view.check_invariants();
        assert_eq!(
            leaderless_with_eligible_leader(&self.config, view),
            None,
            "a leaderless partition has a replica able to lead"
        );
        for (_, _, partition) in view.partitions() {
            if partition.isr.len() > 1 {
                assert!(
                    partition.isr.iter().all(|b| view.is_unfenced(*b)),
                    "a fenced broker is in an ISR with other members"
                );
            }
        }
    }
}
