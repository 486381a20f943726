//! Partition reassignment (KIP-455): moving a partition's replicas onto other brokers while
//! it stays available, as `kafka-reassign-partitions` does.
//!
//! # Contract
//! - [`Controller::reassign_partition`] with a target starts a reassignment: the replica set
//!   becomes the target followed by the replicas to remove, `adding_replicas` the target
//!   members not among the original replicas and `removing_replicas` the original replicas
//!   not in the target (a reordering of the same brokers moves nothing). The leader
//!   and ISR stay; the leader epoch is bumped (one [`PartitionReassignmentRecord`]), so the
//!   leader starts tracking the new followers and the new replicas start fetching.
//! - The reassignment completes as soon as every target replica is in the ISR: in the same
//!   batch as the AlterPartition that brought the last one in ([`completion_record`]), or at
//!   once when the target is already in sync. Completion drops the removed replicas from
//!   the replica set and the ISR, and moves leadership to the first target replica in sync
//!   if the leader is being removed (a new leader epoch either way).
//! - Without a target (`None`) a running reassignment is cancelled: the replica set goes
//!   back to the original replicas (the current ones without `adding_replicas`), the ISR
//!   keeps only those, leadership moves off an added replica. NO_REASSIGNMENT_IN_PROGRESS
//!   when none runs.
//! - A target equal to the current replica set with nothing running changes nothing. A new
//!   target while one runs replaces it, counted from the original replicas.
//! - [`Controller::reassign_by_name`] (what AlterPartitionReassignments calls) refuses a
//!   target whose size differs from the original replicas' when the request does not allow
//!   a replication factor change (KIP-860, v1; INVALID_REPLICATION_FACTOR).
//! - Refused: unknown partition, an empty target, a broker named twice, an unregistered
//!   broker, a replacement that would drop every in-sync replica (seed 6500: the only copy
//!   in sync was a replica the running move had added) (INVALID_REPLICA_ASSIGNMENT); never
//!   a leader that is fenced.
//!
//! With [`PlantedBug::ReassignmentCompletesEarly`] a move completes as soon as it starts.
//!
//! Why completion waits for the whole target in the ISR: only then does every copy that
//! acknowledged writes stay behind, so `acks=all` records survive the move.

use super::broker_api::PartitionReassignment;
use super::error::ControllerError;
use super::ids::{BrokerId, PartitionIndex, TopicId};
use super::image::PartitionImage;
use super::record::{MetadataRecord, PartitionReassignmentRecord};
use super::Controller;
use crate::bugs::PlantedBug;
use std::collections::BTreeSet;

impl Controller {
    /// Starts (`Some(target)`), replaces or cancels (`None`) the reassignment of one
    /// partition; see the module docs.
    pub fn reassign_partition(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
        target: Option<&[BrokerId]>,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let current = self.view().partition(topic_id, partition).ok_or(
            ControllerError::UnknownPartition {
                topic_id,
                partition,
            },
        )?;
        let original = current.original_replicas();
        let Some(target) = target else {
            if !current.is_reassigning() {
                return Err(ControllerError::NoReassignmentInProgress {
                    topic_id,
                    partition,
                });
            }
            let record = self.finish(topic_id, partition, current, &original).ok_or(
                ControllerError::InvalidReplicaAssignment {
                    partition: Some(partition),
                    reason: "no in-sync original replica could lead".into(),
                },
            )?;
            return Ok(vec![MetadataRecord::PartitionReassignment(record)]);
        };
        self.check_target(partition, target)?;
        if !current.is_reassigning() && current.replicas == target {
            return Ok(Vec::new());
        }
        let mut started = start_record(topic_id, partition, current, &original, target);
        if started.isr.is_empty() && !current.isr.is_empty() {
            // Replacing a running move can drop replicas it added; never every copy in sync.
            return Err(ControllerError::InvalidReplicaAssignment {
                partition: Some(partition),
                reason: "the new replica set drops every in-sync replica".into(),
            });
        }
        if started.leader.is_none() && current.leader.is_some() {
            // Replacing a running reassignment dropped the leader (an added replica).
            started.leader = started
                .replicas
                .iter()
                .copied()
                .find(|b| started.isr.contains(b) && self.view().is_unfenced(*b));
            if started.leader.is_none() {
                return Err(ControllerError::InvalidReplicaAssignment {
                    partition: Some(partition),
                    reason: "no in-sync replica of the new set could lead".into(),
                });
            }
        }
        let mut records = vec![MetadataRecord::PartitionReassignment(started.clone())];
        let after = state_after(&started);
        if let Some(done) = self.completion_record(topic_id, partition, &after) {
            records.push(MetadataRecord::PartitionReassignment(done));
        }
        Ok(records)
    }

    /// [`Controller::reassign_partition`] for a partition named by topic name, as
    /// AlterPartitionReassignments names it.
    pub fn reassign_by_name(
        &self,
        wanted: &PartitionReassignment,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let topic_id = self
            .view()
            .topic_ids_by_name()
            .get(&wanted.topic)
            .copied()
            .ok_or_else(|| ControllerError::UnknownTopic {
                name: wanted.topic.clone(),
            })?;
        let partition = PartitionIndex(wanted.partition);
        if let (Some(target), false) = (&wanted.target, wanted.allow_replication_factor_change) {
            let current = self.view().partition(topic_id, partition).ok_or(
                ControllerError::UnknownPartition {
                    topic_id,
                    partition,
                },
            )?;
            let original = current.original_replicas().len();
            if target.len() != original {
                return Err(ControllerError::ReplicationFactorChangeNotAllowed {
                    partition,
                    current: original,
                    requested: target.len(),
                });
            }
        }
        self.reassign_partition(topic_id, partition, wanted.target.as_deref())
    }

    /// The record completing the running reassignment of a partition in state `after`, if
    /// every target replica is in its ISR (see the module docs).
    pub(super) fn completion_record(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
        after: &PartitionImage,
    ) -> Option<PartitionReassignmentRecord> {
        if !after.is_reassigning() {
            return None;
        }
        let target = after.target_replicas();
        let early = self
            .config
            .planted_bugs
            .has(PlantedBug::ReassignmentCompletesEarly);
        if !early && !target.iter().all(|b| after.isr.contains(b)) {
            return None;
        }
        let mut done = self.finish(topic_id, partition, after, &target)?;
        if early {
            // The bug: the new replicas count as in sync although they hold nothing yet, and
            // the preferred one leads.
            done.isr = target.clone();
            done.leader = target.first().copied();
        }
        Some(done)
    }

    /// The record leaving `current` with exactly `replicas` and no reassignment; `None`
    /// when no member of the new set could lead (the reassignment then waits).
    fn finish(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
        current: &PartitionImage,
        replicas: &[BrokerId],
    ) -> Option<PartitionReassignmentRecord> {
        let isr: Vec<BrokerId> = current
            .isr
            .iter()
            .copied()
            .filter(|b| replicas.contains(b))
            .collect();
        let leader = match current.leader.filter(|l| replicas.contains(l)) {
            Some(leader) => Some(leader),
            None => Some(
                *replicas
                    .iter()
                    .find(|b| isr.contains(b) && self.view().is_unfenced(**b))?,
            ),
        };
        Some(PartitionReassignmentRecord {
            topic_id,
            partition,
            replicas: replicas.to_vec(),
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
            isr,
            leader,
            leader_epoch: current.leader_epoch.next(),
            partition_epoch: current.partition_epoch.next(),
        })
    }

    fn check_target(
        &self,
        partition: PartitionIndex,
        target: &[BrokerId],
    ) -> Result<(), ControllerError> {
        let invalid = |reason: &'static str| ControllerError::InvalidReplicaAssignment {
            partition: Some(partition),
            reason: reason.into(),
        };
        if target.is_empty() {
            return Err(invalid("the target replica set is empty"));
        }
        if target.iter().collect::<BTreeSet<_>>().len() != target.len() {
            return Err(invalid("a broker is listed twice"));
        }
        match target
            .iter()
            .find(|b| !self.view().brokers().contains_key(b))
        {
            Some(&broker_id) => Err(ControllerError::UnknownBroker { broker_id }),
            None => Ok(()),
        }
    }
}

/// The record starting a reassignment of `current` (whose replicas before any running
/// reassignment were `original`) to `target`.
fn start_record(
    topic_id: TopicId,
    partition: PartitionIndex,
    current: &PartitionImage,
    original: &[BrokerId],
    target: &[BrokerId],
) -> PartitionReassignmentRecord {
    let removing: Vec<BrokerId> = original
        .iter()
        .copied()
        .filter(|b| !target.contains(b))
        .collect();
    let adding: Vec<BrokerId> = target
        .iter()
        .copied()
        .filter(|b| !original.contains(b))
        .collect();
    let replicas: Vec<BrokerId> = target.iter().chain(&removing).copied().collect();
    PartitionReassignmentRecord {
        topic_id,
        partition,
        isr: current
            .isr
            .iter()
            .copied()
            .filter(|b| replicas.contains(b))
            .collect(),
        leader: current.leader.filter(|l| replicas.contains(l)),
        replicas,
        adding_replicas: adding,
        removing_replicas: removing,
        leader_epoch: current.leader_epoch.next(),
        partition_epoch: current.partition_epoch.next(),
    }
}

/// The partition state `record` sets (the image's own apply checks come later, at commit).
pub(super) fn state_after(record: &PartitionReassignmentRecord) -> PartitionImage {
    PartitionImage {
        replicas: record.replicas.clone(),
        isr: record.isr.clone(),
        leader: record.leader,
        leader_epoch: record.leader_epoch,
        partition_epoch: record.partition_epoch,
        adding_replicas: record.adding_replicas.clone(),
        removing_replicas: record.removing_replicas.clone(),
    }
}
