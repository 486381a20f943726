//! Partition changes requested from outside: AlterPartition (a leader shrinks or expands its
//! ISR) and preferred-replica election.
//!
//! # AlterPartition (KIP-497, KRaft `ReplicationControlManager` rules)
//! Checked in this order, each with Kafka's error:
//! 1. the sender is registered (BROKER_ID_NOT_REGISTERED) with this incarnation
//!    (STALE_BROKER_EPOCH);
//! 2. the partition exists (UNKNOWN_TOPIC_OR_PARTITION);
//! 3. the request's leader epoch is the partition's (FENCED_LEADER_EPOCH): a leader that
//!    lost an election, even one that later led again, cannot change the ISR;
//! 4. the sender leads the partition (NOT_LEADER_OR_FOLLOWER);
//! 5. the request's partition epoch is the partition's (INVALID_UPDATE_VERSION): the leader
//!    decided on an ISR that has changed since;
//! 6. the new ISR names each broker once and includes the leader (INVALID_REQUEST), and every
//!    member is a replica and unfenced (INELIGIBLE_REPLICA).
//!
//! Accepted, it yields one `PartitionChange` with the partition epoch bumped and the leader
//! and leader epoch unchanged — or nothing if the ISR is already the requested one — and,
//! when that ISR holds every target replica of a running reassignment, the record that
//! completes it (module `reassignment`).
//! With [`PlantedBug::StaleAlterPartitionAccepted`] checks 3–5 are skipped.
//!
//! # Preferred-replica election
//! The first assigned replica becomes leader if it is an unfenced ISR member
//! (else PREFERRED_LEADER_NOT_AVAILABLE); ELECTION_NOT_NEEDED if it already leads.

use super::election::change_record;
use super::error::ControllerError;
use super::ids::{BrokerId, IncarnationId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};
use super::image::PartitionImage;
use super::record::MetadataRecord;
use super::Controller;
use crate::bugs::PlantedBug;
use std::collections::BTreeSet;

/// One partition's entry of an AlterPartition request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AlterPartitionRequest {
    /// The sender, which must lead the partition.
    pub broker_id: BrokerId,
    /// The sender's incarnation (Kafka's broker epoch).
    pub incarnation: IncarnationId,
    /// The topic.
    pub topic_id: TopicId,
    /// The partition.
    pub partition: PartitionIndex,
    /// The leader epoch the sender leads in.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the sender's ISR view is based on.
    pub partition_epoch: PartitionEpoch,
    /// The ISR the sender wants.
    pub new_isr: Vec<BrokerId>,
}

impl Controller {
    /// AlterPartition for one partition; see the module docs for the checks.
    pub fn alter_partition(
        &self,
        request: &AlterPartitionRequest,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let view = self.view();
        let broker_id = request.broker_id;
        let registered = view
            .brokers()
            .get(&broker_id)
            .ok_or(ControllerError::BrokerNotRegistered { broker_id })?
            .incarnation;
        if registered != request.incarnation {
            return Err(ControllerError::StaleBrokerEpoch {
                broker_id,
                incarnation: request.incarnation,
                registered,
            });
        }
        let current = self.existing_partition(request.topic_id, request.partition)?;
        let fenced_by_epoch = !self
            .config
            .planted_bugs
            .has(PlantedBug::StaleAlterPartitionAccepted);
        if fenced_by_epoch {
            check_epochs(current, request)?;
        }
        self.check_new_isr(current, &request.new_isr)?;
        let Some(change) = change_record(
            request.topic_id,
            request.partition,
            current,
            current.leader,
            request.new_isr.clone(),
        ) else {
            return Ok(Vec::new());
        };
        // The expansion that brings the last target replica in sync completes a running
        // reassignment in the same batch.
        let after = PartitionImage {
            isr: change.isr.clone(),
            partition_epoch: change.partition_epoch,
            ..current.clone()
        };
        let completion = self.completion_record(request.topic_id, request.partition, &after);
        let mut records = vec![MetadataRecord::PartitionChange(change)];
        records.extend(completion.map(MetadataRecord::PartitionReassignment));
        Ok(records)
    }

    /// Preferred-replica election for one partition; see the module docs.
    pub fn elect_preferred_leader(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
    ) -> Result<Vec<MetadataRecord>, ControllerError> {
        let current = self.existing_partition(topic_id, partition)?;
        let Some(&preferred) = current.replicas.first() else {
            return Err(ControllerError::UnknownPartition {
                topic_id,
                partition,
            });
        };
        if current.leader == Some(preferred) {
            return Err(ControllerError::ElectionNotNeeded);
        }
        if !current.isr.contains(&preferred) || !self.view().is_unfenced(preferred) {
            return Err(ControllerError::PreferredLeaderNotAvailable { preferred });
        }
        let change = change_record(
            topic_id,
            partition,
            current,
            Some(preferred),
            current.isr.clone(),
        );
        Ok(change
            .into_iter()
            .map(MetadataRecord::PartitionChange)
            .collect())
    }

    fn existing_partition(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
    ) -> Result<&PartitionImage, ControllerError> {
        self.view()
            .partition(topic_id, partition)
            .ok_or(ControllerError::UnknownPartition {
                topic_id,
                partition,
            })
    }

    fn check_new_isr(
        &self,
        current: &PartitionImage,
        new_isr: &[BrokerId],
    ) -> Result<(), ControllerError> {
        if new_isr.iter().collect::<BTreeSet<_>>().len() != new_isr.len() {
            return Err(ControllerError::InvalidRequest {
                reason: "the new ISR names a broker twice".into(),
            });
        }
        for &broker_id in new_isr {
            if !current.replicas.contains(&broker_id) {
                return Err(ControllerError::IneligibleReplica {
                    broker_id,
                    reason: "not a replica of the partition".into(),
                });
            }
            if !self.view().is_unfenced(broker_id) {
                return Err(ControllerError::IneligibleReplica {
                    broker_id,
                    reason: "fenced".into(),
                });
            }
        }
        if !current.leader.is_some_and(|l| new_isr.contains(&l)) {
            return Err(ControllerError::InvalidRequest {
                reason: "the new ISR must include the leader".into(),
            });
        }
        Ok(())
    }
}

fn check_epochs(
    current: &PartitionImage,
    request: &AlterPartitionRequest,
) -> Result<(), ControllerError> {
    if request.leader_epoch != current.leader_epoch {
        return Err(ControllerError::FencedLeaderEpoch {
            requested: request.leader_epoch,
            current: current.leader_epoch,
        });
    }
    if current.leader != Some(request.broker_id) {
        return Err(ControllerError::NotLeaderOrFollower {
            broker_id: request.broker_id,
            leader: current.leader,
        });
    }
    if request.partition_epoch != current.partition_epoch {
        return Err(ControllerError::InvalidUpdateVersion {
            requested: request.partition_epoch,
            current: current.partition_epoch,
        });
    }
    Ok(())
}
