//! Replica roles follow the metadata image: after every applied change, each hosted replica
//! becomes leader or follower as its partition's image says.
//!
//! - The image names this broker leader: the replica becomes leader (`become_leader` with
//!   the image's leader epoch, partition epoch, ISR and replicas) unless it already leads in
//!   that epoch; then a newer partition epoch only updates its ISR (`handle_isr_update`, the
//!   controller's answer to an AlterPartition or a change it made itself).
//! - The image names another leader: the replica follows it (`become_follower`) unless it
//!   already follows that leader in that epoch.
//! - No leader: the replica keeps its state but the node serves nothing from it (the serving
//!   paths check the image too, see `Node::check_leader`).
//! - **A restarted broker never resumes a previous run's leadership.** In cluster mode the
//!   image may still name this broker leader from before a crash, in an epoch whose
//!   unsynced records the crash took back, though followers may have fetched them. Leading
//!   on in that epoch could write different records at the same offsets in the same epoch,
//!   which epoch-based truncation cannot see. So leadership is taken only once the image
//!   holds this run's registration (incarnation), unfenced: by then the controller has
//!   fenced the previous run and moved its leaderships to a new epoch.
//!
//! A replica that refuses its role (an epoch older than its log's, a checkpoint that cannot
//! be written) is closed and reported offline, as a log that cannot be opened is; the next
//! metadata change or restart tries again.

use super::io::TopicPartition;
use super::Node;
use crate::controller::PartitionImage;
use crate::replication::{PartitionReplica, ReplicationError};
use crate::storage::{Storage, StorageProvider};
use crate::time::Now;
use crate::wire::KafkaErrorCode;

impl<P: StorageProvider> Node<P> {
    /// The image's state of a partition.
    pub(super) fn partition_image(&self, tp: &TopicPartition) -> Option<&PartitionImage> {
        let topic = self.controller.image().topic_by_name(&tp.topic)?;
        topic.partitions.get(usize::try_from(tp.partition).ok()?)
    }

    /// May this broker serve a client's produce, fetch or ListOffsets for `tp`? Only as the
    /// leader the image names, in the replica's current epoch; `current_leader_epoch` (-1:
    /// not given) older than the replica's epoch is FENCED_LEADER_EPOCH, newer
    /// UNKNOWN_LEADER_EPOCH (Kafka's checks, KIP-320). Otherwise the Kafka error code.
    pub(super) fn check_leader(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
    ) -> Result<(), i16> {
        let Some(replica) = self.partitions.get(tp) else {
            return Err(self.missing_partition_code(tp));
        };
        let Some(image) = self.partition_image(tp) else {
            return Err(KafkaErrorCode::UnknownTopicOrPartition.code());
        };
        let epoch = replica.leader_epoch().unwrap_or(image.leader_epoch);
        if current_leader_epoch >= 0 {
            if current_leader_epoch < epoch.0 {
                return Err(KafkaErrorCode::FencedLeaderEpoch.code());
            }
            if current_leader_epoch > epoch.0 {
                return Err(KafkaErrorCode::UnknownLeaderEpoch.code());
            }
        }
        let leads = image.leader == Some(self.broker_id())
            && replica.is_leader()
            && replica.leader_epoch() == Some(image.leader_epoch);
        if !leads {
            return Err(KafkaErrorCode::NotLeaderOrFollower.code());
        }
        Ok(())
    }

    /// Whether the image's leaderships naming this broker are this run's: standalone always;
    /// in cluster mode once the image holds this incarnation's registration, unfenced
    /// (KRaft's broker waits for its registration before it publishes metadata). The
    /// controller commits the fencing of the previous run (moving its leaderships away,
    /// bumping their epochs) before the new registration. Without this wait a broker
    /// restarted after a power loss would lead again in its old epoch with a log that lost
    /// its unsynced tail, and accept writes at offsets its followers already hold other
    /// records at, in the same epoch, where epoch-based truncation cannot tell them apart.
    /// The simulator found that (acknowledged records replaced after a restart storm).
    fn may_lead(&self) -> bool {
        let Some(cluster) = self.cluster.as_ref() else {
            return true;
        };
        let image = self.controller.image();
        let me = cluster.config.broker_id;
        let registered = image
            .brokers()
            .get(&me)
            .is_some_and(|b| b.incarnation == cluster.config.incarnation);
        registered && image.is_unfenced(me)
    }

    /// Brings every hosted replica's role in line with the image.
    pub(super) fn reconcile_roles(&mut self, now: Now) {
        let targets: Vec<(TopicPartition, PartitionImage)> = self
            .partitions
            .keys()
            .filter_map(|tp| Some((tp.clone(), self.partition_image(tp)?.clone())))
            .collect();
        let me = self.broker_id();
        let may_lead = self.may_lead();
        for (tp, image) in targets {
            let Some(replica) = self.partitions.get_mut(&tp) else {
                continue;
            };
            let leader_before = (replica.leader(), replica.leader_epoch());
            let result = match image.leader == Some(me) && !may_lead {
                // Leadership of a previous run of this broker: it may have lost records
                // that run appended (and followers fetched) in that same epoch, so it must
                // wait for the controller to move the leadership on (a new epoch).
                true => Ok(()),
                false => apply_role(replica, now, me, &image),
            };
            if let Err(error) = result {
                self.partitions.remove(&tp);
                self.fail_waits_on(&tp);
                self.forget_syncs_of(&tp);
                self.offline_partitions
                    .insert(tp.clone(), error.to_string());
                self.changed_partitions.insert(tp);
                continue;
            }
            let changed = self
                .partitions
                .get(&tp)
                .is_some_and(|r| (r.leader(), r.leader_epoch()) != leader_before);
            if changed {
                self.role_changed(&tp);
            }
            self.changed_partitions.insert(tp.clone());
            self.drain_replica(now, &tp);
        }
    }

    /// Called when a replica's leader or leader epoch changed.
    fn role_changed(&mut self, tp: &TopicPartition) {
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.fetcher.forget(tp);
        }
    }
}

/// Applies the image's role to one replica.
fn apply_role<S: Storage>(
    replica: &mut PartitionReplica<S>,
    now: Now,
    me: crate::controller::BrokerId,
    image: &PartitionImage,
) -> Result<(), ReplicationError> {
    let same_epoch = replica.leader_epoch() == Some(image.leader_epoch);
    match image.leader {
        Some(leader) if leader == me => {
            if replica.is_leader() && same_epoch {
                replica.handle_isr_update(now, image.partition_epoch, image.isr.clone())
            } else {
                replica.become_leader(
                    now,
                    image.leader_epoch,
                    image.partition_epoch,
                    image.isr.clone(),
                    image.replicas.clone(),
                )
            }
        }
        Some(leader) if replica.leader() != Some(leader) || !same_epoch => {
            replica.become_follower(now, leader, image.leader_epoch)
        }
        _ => Ok(()),
    }
}
