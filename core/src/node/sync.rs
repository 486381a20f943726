//! Sync requests between the partition replicas and the driver, with node-unique ids, and the
//! routing of every other replica output (`acks=all` decisions, AlterPartition requests).
//!
//! Each log numbers its sync requests from zero, so after a topic is deleted and re-created
//! under the same name, a late completion of the old log's sync could carry the id of a sync
//! the new log is still waiting for, and vouch for data that was never synced. The node
//! therefore hands out its own ids ([`SyncId`]s unique for the node's lifetime), remembers
//! which partition log and log-local id each stands for, and forgets the ids of a partition
//! when its log is closed: a completion for a forgotten id is ignored.

use super::io::{NodeOutput, TopicPartition};
use super::Node;
use crate::log::{SyncId, SyncRequest};
use crate::replication::ReplicaOutput;
use crate::storage::{Storage, StorageError, StorageProvider};
use crate::time::Now;

impl<P: StorageProvider> Node<P> {
    /// Routes the replica's outputs: syncs to the node's outputs under node ids, `acks=all`
    /// decisions to the waiting produces, AlterPartition requests to the controller.
    pub(super) fn drain_replica(&mut self, now: Now, partition: &TopicPartition) {
        let Some(replica) = self.partitions.get_mut(partition) else {
            return;
        };
        let outputs: Vec<ReplicaOutput> = std::iter::from_fn(|| replica.poll_output()).collect();
        for output in outputs {
            match output {
                ReplicaOutput::Sync(mut request) => {
                    let node_id = SyncId(self.next_sync_id);
                    self.next_sync_id += 1;
                    self.sync_ids
                        .insert(node_id, (partition.clone(), request.id));
                    request.id = node_id;
                    self.outputs.push_back(NodeOutput::Sync {
                        partition: partition.clone(),
                        request,
                    });
                }
                ReplicaOutput::AckCompleted { id, result } => {
                    self.completed_acks.push((partition.clone(), id, result));
                }
                ReplicaOutput::AlterPartition(request) => {
                    self.send_alter_partition(now, partition, request);
                }
            }
        }
    }

    /// Feeds a sync completion to the log it belongs to, if that log is still open.
    pub(super) fn handle_synced(
        &mut self,
        now: Now,
        partition: &TopicPartition,
        id: SyncId,
        result: Result<(), StorageError>,
    ) {
        match self.sync_ids.remove(&id) {
            Some((owner, log_id)) if owner == *partition => {
                if let Some(replica) = self.partitions.get_mut(partition) {
                    replica.handle_synced(now, log_id, result);
                }
            }
            Some(other) => {
                // Reported for the wrong partition: a driver bug; keep the id for its owner.
                self.sync_ids.insert(id, other);
            }
            None => {}
        }
        // The high watermark may have advanced: parked fetches of the partition re-evaluate.
        self.changed_partitions.insert(partition.clone());
        self.drain_replica(now, partition);
    }

    /// Performs a [`NodeOutput::Sync`] through the partition log's own storage and feeds the
    /// result back, for drivers that may block (tests, tools).
    pub fn perform_sync(
        &mut self,
        now: Now,
        partition: &TopicPartition,
        request: &SyncRequest,
    ) -> Result<(), StorageError> {
        self.observe(now);
        let result = match self.partitions.get_mut(partition) {
            Some(replica) => request
                .files
                .iter()
                .try_for_each(|file| replica.log_mut().storage_mut().sync(file)),
            None => Ok(()),
        };
        self.handle_synced(now, partition, request.id, result.clone());
        self.cluster_tick(now);
        self.retry_fetches(now);
        self.complete_produces();
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
        result
    }

    /// Forgets the sync ids of a partition whose log was closed.
    pub(super) fn forget_syncs_of(&mut self, partition: &TopicPartition) {
        self.sync_ids.retain(|_, (owner, _)| owner != partition);
    }
}
