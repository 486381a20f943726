//! Cluster mode: the broker's side of the controller quorum (KRaft's broker lifecycle).
//!
//! # Contract
//! - **No local controller.** The node's [`crate::controller::Controller`] only holds the
//!   [`crate::controller::MetadataImage`] (and answers DescribeConfigs from it); it never
//!   proposes. Records come from the quorum: on start, every `metadata_fetch_interval_ms`,
//!   and right after an answer that carried records, the broker sends
//!   `FetchMetadata { after: last applied, .. }` and applies the answer's records strictly
//!   after its last applied offset (a duplicated or stale answer changes nothing). After
//!   every applied batch the partitions and their replicas' roles follow the image
//!   (`partitions`, `roles`). Partition directories no live partition owns are removed only
//!   once the broker has caught up (an answer with fewer than [`METADATA_FETCH_RECORDS_MAX`]
//!   records): a partial image must never delete a restarted broker's logs.
//! - **Registration and heartbeats.** The broker registers (`Register`) until `Registered`,
//!   then heartbeats every `heartbeat_interval_ms`; a heartbeat refused as stale or unknown
//!   makes it register again.
//! - **Retries.** Every request waits for its answer by correlation id. `NotController`
//!   sends it again after `metadata_fetch_interval_ms` (the driver finds the active
//!   controller); no answer within `controller_request_timeout_ms` sends it again under a new
//!   correlation id (answers to old ids are ignored). A metadata record that does not apply
//!   stops the broker from applying more (the error is kept in [`Node::metadata_error`]):
//!   guessing would serve wrong leaders.
//! - **Forwarding.** A leader replica's AlterPartition goes out with this broker's
//!   incarnation; the answer updates the replica's ISR, or clears its in-flight request
//!   when refused; INVALID_UPDATE_VERSION (the ISR changed meanwhile, perhaps by an earlier
//!   copy of the same request) instead waits for the metadata, which brings the committed
//!   ISR. AlterPartition is never re-sent by the broker (the replica repeats it itself).
//!   CreateTopics, DeleteTopics and CreatePartitions from a client are forwarded (KIP-590)
//!   and answered from the controller's results (re-sent until answered, like every call).

use super::admin::{self, creatable_topic_result};
use super::io::{BrokerClusterConfig, NodeOutput, TopicPartition};
use super::reassign;
use super::{Node, RequestContext};
use crate::controller::{
    AlterPartitionRequest, AlterPartitionResult, BrokerRegistration, CommittedRecord,
    ControllerEnvelope, ControllerError, ControllerRequest, ControllerResponse,
    CreatePartitionsResult, CreatePartitionsTopic, CreateTopicRequest, CreateTopicResult,
    DeleteTopicResult, Listener, PartitionIndex, PartitionReassignment, ReassignmentQuery,
    TopicRef,
};
use crate::replication::AlterPartition;
use crate::storage::StorageProvider;
use crate::time::{Mono, Now};
use crate::wire::ResponseBody;
use kafka_protocol::messages::CreateTopicsResponse;
use std::collections::BTreeMap;

/// At most this many metadata records per FetchMetadata answer.
pub const METADATA_FETCH_RECORDS_MAX: usize = 1000;

/// Why a controller request was sent.
#[derive(Clone, Debug)]
enum Purpose {
    Register,
    Heartbeat,
    FetchMetadata,
    AlterPartition(TopicPartition),
    CreateTopics { ctx: RequestContext },
    DeleteTopics { ctx: RequestContext },
    CreatePartitions { ctx: RequestContext },
    Reassignments { ctx: RequestContext },
    ListReassignments { ctx: RequestContext },
}

/// A controller request awaiting its answer.
#[derive(Clone, Debug)]
struct Call {
    purpose: Purpose,
    request: ControllerRequest,
    /// When to send it again if still unanswered.
    resend_at: Mono,
}

/// The broker's cluster-mode state.
pub(super) struct ClusterState {
    pub(super) config: BrokerClusterConfig,
    next_correlation: u64,
    calls: BTreeMap<u64, Call>,
    registered: bool,
    fenced: bool,
    heartbeat_due: Mono,
    metadata_due: Mono,
    caught_up: bool,
    metadata_error: Option<String>,
    /// A controlled shutdown was asked for: every heartbeat says `want_shut_down`.
    shutting_down: bool,
    /// The controller answered `should_shut_down`.
    shutdown_granted: bool,
    /// Metadata requests held until the broker is ready (module `startup`).
    pub(super) startup: super::startup::StartupGate,
    pub(super) fetcher: super::fetcher::FetcherState,
}

impl ClusterState {
    pub(super) fn new(config: BrokerClusterConfig, now: Now) -> ClusterState {
        // Correlation ids start from the incarnation, so that a late answer to the previous
        // run's request (a driver reusing a connection) cannot match one of this run.
        let next_correlation = (config.incarnation.0 as u64) << 32;
        let fetcher = super::fetcher::FetcherState::new(config.incarnation);
        ClusterState {
            config,
            next_correlation,
            calls: BTreeMap::new(),
            registered: false,
            fenced: true,
            heartbeat_due: now.mono,
            metadata_due: now.mono,
            caught_up: false,
            metadata_error: None,
            shutting_down: false,
            shutdown_granted: false,
            startup: super::startup::StartupGate::default(),
            fetcher,
        }
    }

    fn has_call(&self, wanted: fn(&Purpose) -> bool) -> bool {
        self.calls.values().any(|call| wanted(&call.purpose))
    }

    /// When the controller side next has work.
    pub(super) fn poll_timeout(&self) -> Option<Mono> {
        let resends = self.calls.values().map(|call| call.resend_at);
        let heartbeat = (self.registered && !self.has_call(|p| matches!(p, Purpose::Heartbeat)))
            .then_some(self.heartbeat_due);
        let fetch =
            (!self.has_call(|p| matches!(p, Purpose::FetchMetadata))).then_some(self.metadata_due);
        resends.chain(heartbeat).chain(fetch).min()
    }
}

impl<P: StorageProvider> Node<P> {
    /// Whether the broker registered and the controller unfenced it (cluster mode); always
    /// true standalone.
    pub fn is_unfenced(&self) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|c| c.registered && !c.fenced)
    }

    /// Starts a controlled shutdown (cluster mode; KRaft's `want_shut_down`): from now on
    /// every heartbeat, the first one at once, asks the controller to move this broker's
    /// leadership and ISR memberships to other brokers before it stops. The driver keeps
    /// running the node until [`Node::controlled_shutdown_done`] (or its own deadline),
    /// then stops it.
    pub fn begin_controlled_shutdown(&mut self, now: Now) {
        self.state_version += 1;
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        cluster.shutting_down = true;
        cluster.heartbeat_due = now.mono;
        // A heartbeat in flight asks for the old thing; ask again now.
        cluster
            .calls
            .retain(|_, call| !matches!(call.purpose, Purpose::Heartbeat));
        self.controller_tick(now);
    }

    /// Whether the broker may stop without taking leadership with it: always standalone
    /// and for a broker that never registered; otherwise once the controller answered
    /// `should_shut_down` and this broker's own image shows it fenced (it learned it leads
    /// nothing, so it no longer acts as a leader).
    pub fn controlled_shutdown_done(&self) -> bool {
        let Some(cluster) = self.cluster.as_ref() else {
            return true;
        };
        if !cluster.registered {
            return true;
        }
        let broker_id = cluster.config.broker_id;
        cluster.shutdown_granted && self.controller.image().is_fenced(broker_id)
    }

    /// A metadata record that could not be applied (cluster mode): the broker stopped
    /// following the metadata log there.
    pub fn metadata_error(&self) -> Option<&str> {
        self.cluster.as_ref()?.metadata_error.as_deref()
    }

    /// Whether the image holds everything the controller had committed when last asked
    /// (always true standalone).
    pub(super) fn metadata_caught_up(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.caught_up)
    }

    fn send_to_controller(&mut self, now: Now, purpose: Purpose, request: ControllerRequest) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let correlation_id = cluster.next_correlation;
        cluster.next_correlation = cluster.next_correlation.wrapping_add(1);
        let resend_at = now
            .mono
            .plus_millis(cluster.config.controller_request_timeout_ms);
        cluster.calls.insert(
            correlation_id,
            Call {
                purpose,
                request: request.clone(),
                resend_at,
            },
        );
        self.outputs
            .push_back(NodeOutput::ToController(ControllerEnvelope {
                correlation_id,
                body: request,
            }));
    }

    /// Due controller work: resends, registration, heartbeat, metadata fetch.
    pub(super) fn controller_tick(&mut self, now: Now) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let due: Vec<u64> = cluster
            .calls
            .iter()
            .filter(|(_, call)| call.resend_at <= now.mono)
            .map(|(id, _)| *id)
            .collect();
        // An AlterPartition is not sent again here: the replica repeats its own request
        // (`ALTER_PARTITION_RETRY_MS`), and two copies in flight would let the second's
        // rejection (the first committed) look like a refusal.
        let resend: Vec<Call> = due
            .iter()
            .filter_map(|id| cluster.calls.remove(id))
            .filter(|call| !matches!(call.purpose, Purpose::AlterPartition(_)))
            .collect();
        for call in resend {
            self.send_to_controller(now, call.purpose, call.request);
        }
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        if !cluster.registered && !cluster.has_call(|p| matches!(p, Purpose::Register)) {
            let request = ControllerRequest::Register(self.registration());
            self.send_to_controller(now, Purpose::Register, request);
        }
        self.maybe_heartbeat(now);
        self.maybe_fetch_metadata(now);
    }

    fn registration(&self) -> BrokerRegistration {
        let cluster = self.cluster.as_ref().expect("cluster mode");
        let client = Listener {
            name: "PLAINTEXT".to_owned(),
            host: self.config.advertised_host.clone(),
            port: self.config.advertised_port,
        };
        let extra = cluster.config.extra_listeners.iter().cloned();
        BrokerRegistration {
            broker_id: cluster.config.broker_id,
            incarnation: cluster.config.incarnation,
            listeners: std::iter::once(client).chain(extra).collect(),
            rack: cluster.config.rack.clone(),
        }
    }

    fn maybe_heartbeat(&mut self, now: Now) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let due = cluster.registered
            && now.mono >= cluster.heartbeat_due
            && !cluster.has_call(|p| matches!(p, Purpose::Heartbeat));
        if !due {
            return;
        }
        cluster.heartbeat_due = now.mono.plus_millis(cluster.config.heartbeat_interval_ms);
        let request = ControllerRequest::Heartbeat {
            broker_id: cluster.config.broker_id,
            incarnation: cluster.config.incarnation,
            applied_offset: self.controller.image().last_applied_offset(),
            want_shut_down: cluster.shutting_down,
        };
        self.send_to_controller(now, Purpose::Heartbeat, request);
    }

    fn maybe_fetch_metadata(&mut self, now: Now) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let due = now.mono >= cluster.metadata_due
            && cluster.metadata_error.is_none()
            && !cluster.has_call(|p| matches!(p, Purpose::FetchMetadata));
        if !due {
            return;
        }
        cluster.metadata_due = now
            .mono
            .plus_millis(cluster.config.metadata_fetch_interval_ms);
        let request = ControllerRequest::FetchMetadata {
            after: self.controller.image().last_applied_offset(),
            max_records: METADATA_FETCH_RECORDS_MAX,
        };
        self.send_to_controller(now, Purpose::FetchMetadata, request);
    }

    /// Asks for metadata as soon as possible (after an answer that changed it).
    pub(super) fn fetch_metadata_soon(&mut self, now: Now) {
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.metadata_due = now.mono;
        }
    }

    /// The controller's answer to one of this broker's requests.
    pub(super) fn handle_from_controller(
        &mut self,
        now: Now,
        envelope: ControllerEnvelope<ControllerResponse>,
    ) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        let Some(mut call) = cluster.calls.remove(&envelope.correlation_id) else {
            return; // an answer to a request sent again, or never sent: stale
        };
        let is_alter = matches!(call.purpose, Purpose::AlterPartition(_));
        if envelope.body == ControllerResponse::NotController && is_alter {
            return; // the replica asks again
        }
        if envelope.body == ControllerResponse::NotController {
            call.resend_at = now
                .mono
                .plus_millis(cluster.config.metadata_fetch_interval_ms);
            cluster.calls.insert(envelope.correlation_id, call);
            return;
        }
        match (call.purpose, envelope.body) {
            (Purpose::Register, ControllerResponse::Registered) => {
                cluster.registered = true;
                cluster.heartbeat_due = now.mono;
            }
            (
                Purpose::Heartbeat,
                ControllerResponse::Heartbeat {
                    fenced,
                    should_shut_down,
                },
            ) => {
                cluster.fenced = fenced;
                if should_shut_down && !cluster.shutdown_granted {
                    cluster.shutdown_granted = true;
                    self.fetch_metadata_soon(now); // learn the fencing to stop leading
                }
            }
            (Purpose::Heartbeat, ControllerResponse::Refused(_)) => {
                // Stale or unknown incarnation: the controller lost our registration.
                cluster.registered = false;
                cluster.fenced = true;
            }
            (Purpose::FetchMetadata, ControllerResponse::Metadata { records }) => {
                self.apply_metadata(now, records);
            }
            (Purpose::AlterPartition(tp), ControllerResponse::AlterPartition(result)) => {
                self.handle_alter_partition_answer(now, &tp, result);
            }
            (Purpose::CreateTopics { ctx }, ControllerResponse::CreateTopics(results)) => {
                self.answer_create_topics(ctx, &results);
                self.fetch_metadata_soon(now);
            }
            (Purpose::CreateTopics { ctx }, ControllerResponse::Refused(error)) => {
                let ControllerRequest::CreateTopics(wanted) = call.request else {
                    return;
                };
                let results = refused_all(&wanted, &error);
                self.answer_create_topics(ctx, &results);
            }
            (Purpose::DeleteTopics { ctx }, ControllerResponse::DeleteTopics(results)) => {
                self.respond(
                    ctx,
                    admin::delete_topics_response(&results, ctx.api_version),
                );
                self.fetch_metadata_soon(now);
            }
            (Purpose::DeleteTopics { ctx }, ControllerResponse::Refused(error)) => {
                let ControllerRequest::DeleteTopics(topics) = call.request else {
                    return;
                };
                let results: Vec<DeleteTopicResult> = topics
                    .into_iter()
                    .map(|topic| DeleteTopicResult {
                        topic,
                        result: Err(error.clone()),
                    })
                    .collect();
                self.respond(
                    ctx,
                    admin::delete_topics_response(&results, ctx.api_version),
                );
            }
            (Purpose::CreatePartitions { ctx }, ControllerResponse::CreatePartitions(results)) => {
                self.respond(ctx, admin::create_partitions_response(&results));
                self.fetch_metadata_soon(now);
            }
            (Purpose::CreatePartitions { ctx }, ControllerResponse::Refused(error)) => {
                let ControllerRequest::CreatePartitions(topics) = call.request else {
                    return;
                };
                let results: Vec<CreatePartitionsResult> = topics
                    .into_iter()
                    .map(|wanted| CreatePartitionsResult {
                        topic: wanted.topic,
                        result: Err(error.clone()),
                    })
                    .collect();
                self.respond(ctx, admin::create_partitions_response(&results));
            }
            (
                Purpose::Reassignments { ctx },
                ControllerResponse::AlterPartitionReassignments(results),
            ) => {
                let ControllerRequest::AlterPartitionReassignments(wanted) = call.request else {
                    return;
                };
                self.respond(ctx, reassign::reassignments_response(&wanted, &results));
                self.fetch_metadata_soon(now);
            }
            (Purpose::Reassignments { ctx }, ControllerResponse::Refused(error)) => {
                let ControllerRequest::AlterPartitionReassignments(wanted) = call.request else {
                    return;
                };
                let results = vec![Err(error); wanted.len()];
                self.respond(ctx, reassign::reassignments_response(&wanted, &results));
            }
            (
                Purpose::ListReassignments { ctx },
                ControllerResponse::ListPartitionReassignments(ongoing),
            ) => {
                self.respond(ctx, reassign::list_reassignments_response(&ongoing));
            }
            (Purpose::AlterPartition(tp), ControllerResponse::Refused(error)) => {
                self.handle_alter_partition_answer(now, &tp, Err(error));
            }
            // A refused registration, or an answer of the wrong kind: try again later.
            (purpose, _) => {
                call.purpose = purpose;
                cluster.calls.insert(envelope.correlation_id, call);
            }
        }
    }

    /// Applies committed records after the last applied offset, then brings the partitions
    /// in line with the image.
    fn apply_metadata(&mut self, now: Now, records: Vec<CommittedRecord>) {
        let last = self.controller.image().last_applied_offset();
        let mut applied = 0usize;
        let mut error = None;
        for committed in &records {
            if last.is_some_and(|last| committed.offset <= last) {
                continue;
            }
            match self.controller.apply(committed.offset, &committed.record) {
                Ok(()) => applied += 1,
                Err(e) => {
                    error = Some(format!("record at {:?}: {e}", committed.offset));
                    break;
                }
            }
        }
        let was_caught_up = self.metadata_caught_up();
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.caught_up = records.len() < METADATA_FETCH_RECORDS_MAX && error.is_none();
            if !records.is_empty() {
                cluster.metadata_due = now.mono;
            }
            if error.is_some() {
                cluster.metadata_error = error;
            }
        }
        let just_caught_up = !was_caught_up && self.metadata_caught_up();
        if applied > 0 || just_caught_up {
            // A directory that cannot be listed or removed is retried at the next change;
            // partitions whose logs cannot be opened are reported offline.
            let _ = self.reconcile_partitions(now);
        }
        self.answer_held_metadata(now);
    }

    /// A leader replica asks the controller for a new ISR.
    pub(super) fn send_alter_partition(
        &mut self,
        now: Now,
        tp: &TopicPartition,
        request: AlterPartition,
    ) {
        let Some(cluster) = self.cluster.as_ref() else {
            // Standalone: the single broker is the whole ISR of every partition, which never
            // changes, so its replicas never ask.
            return;
        };
        let Some(topic) = self.controller.image().topic_by_name(&tp.topic) else {
            return;
        };
        let request = AlterPartitionRequest {
            broker_id: cluster.config.broker_id,
            incarnation: cluster.config.incarnation,
            topic_id: topic.topic_id,
            partition: PartitionIndex(tp.partition),
            leader_epoch: request.leader_epoch,
            partition_epoch: request.partition_epoch,
            new_isr: request.new_isr,
        };
        self.send_to_controller(
            now,
            Purpose::AlterPartition(tp.clone()),
            ControllerRequest::AlterPartition(request),
        );
    }

    fn handle_alter_partition_answer(
        &mut self,
        now: Now,
        tp: &TopicPartition,
        result: Result<AlterPartitionResult, ControllerError>,
    ) {
        let Some(replica) = self.partitions.get_mut(tp) else {
            return;
        };
        match result {
            Ok(state) if replica.leader_epoch() == Some(state.leader_epoch) => {
                // Not the leader any more, or an ISR the metadata already brought: no-op.
                let _ = replica.handle_isr_update(now, state.partition_epoch, state.isr);
            }
            Ok(_) => {}
            // A stale partition epoch: the ISR changed meanwhile, possibly by an earlier
            // copy of this very request. The replica keeps counting the requested members
            // (KIP-497's maximal ISR) until the metadata brings the committed ISR.
            Err(ControllerError::InvalidUpdateVersion { .. }) => {}
            Err(_) => replica.handle_alter_partition_rejected(now),
        }
        self.changed_partitions.insert(tp.clone());
        self.drain_replica(now, tp);
        self.fetch_metadata_soon(now);
    }

    /// Forwards a client's CreateTopics to the controller (KIP-590); the answer comes with
    /// [`Node::handle_from_controller`].
    pub(super) fn forward_create_topics(
        &mut self,
        now: Now,
        ctx: RequestContext,
        wanted: Vec<CreateTopicRequest>,
    ) {
        let request = ControllerRequest::CreateTopics(wanted);
        self.send_to_controller(now, Purpose::CreateTopics { ctx }, request);
    }

    /// Forwards a client's DeleteTopics to the controller (KIP-590). Sent again until the
    /// controller answers, so a retry after a lost answer reports the topics it already
    /// deleted as unknown, as Kafka's does.
    pub(super) fn forward_delete_topics(
        &mut self,
        now: Now,
        ctx: RequestContext,
        topics: Vec<TopicRef>,
    ) {
        let request = ControllerRequest::DeleteTopics(topics);
        self.send_to_controller(now, Purpose::DeleteTopics { ctx }, request);
    }

    /// Forwards a client's CreatePartitions to the controller (KIP-590); like DeleteTopics,
    /// a retried request finds the partitions made (INVALID_PARTITIONS).
    pub(super) fn forward_create_partitions(
        &mut self,
        now: Now,
        ctx: RequestContext,
        topics: Vec<CreatePartitionsTopic>,
    ) {
        let request = ControllerRequest::CreatePartitions(topics);
        self.send_to_controller(now, Purpose::CreatePartitions { ctx }, request);
    }

    /// Forwards a client's AlterPartitionReassignments to the controller (KIP-590).
    pub(super) fn forward_reassignments(
        &mut self,
        now: Now,
        ctx: RequestContext,
        wanted: Vec<PartitionReassignment>,
    ) {
        let request = ControllerRequest::AlterPartitionReassignments(wanted);
        self.send_to_controller(now, Purpose::Reassignments { ctx }, request);
    }

    /// Forwards a client's ListPartitionReassignments to the controller (KIP-590).
    pub(super) fn forward_list_reassignments(
        &mut self,
        now: Now,
        ctx: RequestContext,
        query: Option<Vec<ReassignmentQuery>>,
    ) {
        let request = ControllerRequest::ListPartitionReassignments(query);
        self.send_to_controller(now, Purpose::ListReassignments { ctx }, request);
    }

    fn answer_create_topics(&mut self, ctx: RequestContext, results: &[CreateTopicResult]) {
        let topics = results
            .iter()
            .map(|r| creatable_topic_result(&r.name, r.result.as_ref(), ctx.api_version))
            .collect();
        let response = CreateTopicsResponse::default().with_topics(topics);
        self.respond(ctx, ResponseBody::CreateTopics(response));
    }
}

fn refused_all(wanted: &[CreateTopicRequest], error: &ControllerError) -> Vec<CreateTopicResult> {
    wanted
        .iter()
        .map(|topic| CreateTopicResult {
            name: topic.name.clone(),
            result: Err(error.clone()),
        })
        .collect()
}
