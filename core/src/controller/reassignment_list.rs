//! The running partition moves of a metadata image, as ListPartitionReassignments (KIP-455)
//! reports them.
//!
//! # Contract
//! - [`MetadataImage::ongoing_reassignments`] lists every partition with a move running, in
//!   topic-id then partition order, each with its replicas, adding and removing replicas;
//!   restricted to the named topics and partitions when a query is given. Unknown topics
//!   and partitions are skipped, as Kafka's controller does.
//! - It is a pure read of the image: the controller answers it from its committed image (so
//!   a move is listed as soon as the AlterPartitionReassignments that started it has been
//!   answered), and a standalone broker from its own.

use super::ids::BrokerId;
use super::image::MetadataImage;

/// A topic and the partitions of it a ListPartitionReassignments asks about.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReassignmentQuery {
    /// The topic's name.
    pub topic: String,
    /// The partitions asked about.
    pub partitions: Vec<i32>,
}

/// One partition whose move is running.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OngoingReassignment {
    /// The topic's name.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Its replicas now (target first, then the replicas being removed).
    pub replicas: Vec<BrokerId>,
    /// Replicas being added (not yet in sync).
    pub adding: Vec<BrokerId>,
    /// Replicas being removed once the move completes.
    pub removing: Vec<BrokerId>,
}

impl MetadataImage {
    /// See the module docs; `None` asks about every topic.
    pub fn ongoing_reassignments(
        &self,
        query: Option<&[ReassignmentQuery]>,
    ) -> Vec<OngoingReassignment> {
        let mut ongoing = Vec::new();
        for topic in self.topics().values() {
            let wanted = match query {
                None => None,
                Some(query) => match query.iter().find(|q| q.topic == topic.name) {
                    Some(q) => Some(&q.partitions),
                    None => continue,
                },
            };
            for (index, partition) in topic.partitions.iter().enumerate() {
                let index = index as i32;
                let asked = wanted.is_none_or(|w| w.contains(&index));
                if asked && partition.is_reassigning() {
                    ongoing.push(OngoingReassignment {
                        topic: topic.name.clone(),
                        partition: index,
                        replicas: partition.replicas.clone(),
                        adding: partition.adding_replicas.clone(),
                        removing: partition.removing_replicas.clone(),
                    });
                }
            }
        }
        ongoing
    }
}
