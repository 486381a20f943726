//! Partition reassignment from clients (KIP-455): AlterPartitionReassignments and
//! ListPartitionReassignments, what `kafka-reassign-partitions` and `odradek partitions
//! reassign` send.
//!
//! # Contract
//! - AlterPartitionReassignments: standalone, each partition's move is decided and made
//!   durable by the local controller (a single broker can only "move" onto itself); in
//!   cluster mode the whole request is forwarded to the controller quorum (KIP-590) and
//!   answered once its records commit (module `broker`). The answer lists every topic and
//!   partition of the request, in request order, each with its own error code
//!   (`controller_error_code`); a move that started answers 0 — it completes later, when the
//!   new replicas are in sync (`crate::controller` module `reassignment`).
//! - ListPartitionReassignments: every partition of the named topics (all topics when the
//!   list is null) with a move running, with its replicas, adding and removing replicas
//!   (`MetadataImage::ongoing_reassignments`). Standalone from the local image; in cluster
//!   mode forwarded to the controller (KIP-590) and answered from its committed image, so a
//!   move shows as soon as the request that started it was answered, even on a broker whose
//!   own image still lags.

use super::cluster::{str_bytes, topic_name};
use super::errors::controller_error_code;
use super::{Node, RequestContext};
use crate::controller::{
    BrokerId, ControllerError, OngoingReassignment, PartitionReassignment, ReassignmentQuery,
};
use crate::storage::StorageProvider;
use crate::time::Now;
use crate::wire::ResponseBody;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

impl<P: StorageProvider> Node<P> {
    /// See the module docs.
    pub(super) fn handle_alter_partition_reassignments(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: &AlterPartitionReassignmentsRequest,
    ) -> Option<ResponseBody> {
        let wanted = reassignments_of(request);
        if self.cluster.is_some() {
            self.forward_reassignments(now, ctx, wanted);
            return None;
        }
        let results = wanted
            .iter()
            .map(|one| self.reassign_locally(now, one))
            .collect::<Vec<_>>();
        Some(reassignments_response(&wanted, &results))
    }

    fn reassign_locally(
        &mut self,
        now: Now,
        wanted: &PartitionReassignment,
    ) -> Result<(), ControllerError> {
        let records = self.controller.reassign_by_name(wanted)?;
        self.commit_metadata(now, records)
            .map_err(|_| super::admin::storage_failure())
    }

    /// See the module docs.
    pub(super) fn handle_list_partition_reassignments(
        &mut self,
        now: Now,
        ctx: RequestContext,
        request: &ListPartitionReassignmentsRequest,
    ) -> Option<ResponseBody> {
        let query: Option<Vec<ReassignmentQuery>> = request.topics.as_ref().map(|topics| {
            topics
                .iter()
                .map(|t| ReassignmentQuery {
                    topic: t.name.0.to_string(),
                    partitions: t.partition_indexes.clone(),
                })
                .collect()
        });
        if self.cluster.is_some() {
            self.forward_list_reassignments(now, ctx, query);
            return None;
        }
        let ongoing = self
            .controller
            .image()
            .ongoing_reassignments(query.as_deref());
        Some(list_reassignments_response(&ongoing))
    }
}

/// The ListPartitionReassignments answer: the running moves grouped by topic.
pub(super) fn list_reassignments_response(ongoing: &[OngoingReassignment]) -> ResponseBody {
    let mut topics: Vec<OngoingTopicReassignment> = Vec::new();
    for one in ongoing {
        let partition = OngoingPartitionReassignment::default()
            .with_partition_index(one.partition)
            .with_replicas(wire_ids(&one.replicas))
            .with_adding_replicas(wire_ids(&one.adding))
            .with_removing_replicas(wire_ids(&one.removing));
        match topics.last_mut() {
            Some(last) if last.name.0.as_str() == one.topic => last.partitions.push(partition),
            _ => topics.push(
                OngoingTopicReassignment::default()
                    .with_name(topic_name(&one.topic))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    ResponseBody::ListPartitionReassignments(
        ListPartitionReassignmentsResponse::default().with_topics(topics),
    )
}

/// The partitions a request names, in order.
fn reassignments_of(request: &AlterPartitionReassignmentsRequest) -> Vec<PartitionReassignment> {
    request
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| PartitionReassignment {
                topic: topic.name.0.to_string(),
                partition: p.partition_index,
                target: p
                    .replicas
                    .as_ref()
                    .map(|ids| ids.iter().map(|id| BrokerId(id.0)).collect()),
                allow_replication_factor_change: request.allow_replication_factor_change,
            })
        })
        .collect()
}

/// The AlterPartitionReassignments answer: the request's partitions grouped by topic (in
/// request order), each with its outcome.
pub(super) fn reassignments_response(
    wanted: &[PartitionReassignment],
    results: &[Result<(), ControllerError>],
) -> ResponseBody {
    let mut topics: Vec<ReassignableTopicResponse> = Vec::new();
    for (one, result) in wanted.iter().zip(results) {
        let mut partition =
            ReassignablePartitionResponse::default().with_partition_index(one.partition);
        if let Err(error) = result {
            partition = partition
                .with_error_code(controller_error_code(error))
                .with_error_message(Some(str_bytes(&error.to_string())));
        }
        match topics.last_mut() {
            Some(last) if last.name.0.as_str() == one.topic => last.partitions.push(partition),
            _ => topics.push(
                ReassignableTopicResponse::default()
                    .with_name(topic_name(&one.topic))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    // v1 echoes the request's flag (every partition carries it; an empty request allowed).
    let allow = wanted
        .first()
        .is_none_or(|w| w.allow_replication_factor_change);
    ResponseBody::AlterPartitionReassignments(
        AlterPartitionReassignmentsResponse::default()
            .with_allow_replication_factor_change(allow)
            .with_responses(topics),
    )
}

fn wire_ids(ids: &[BrokerId]) -> Vec<kafka_protocol::messages::BrokerId> {
    ids.iter()
        .map(|id| kafka_protocol::messages::BrokerId(id.0))
        .collect()
}
