//! The broker as a pure state machine: a node owns the cluster metadata ([`Controller`] over a
//! [`LocalMetadataLog`], persisted by [`metadata_store`]) and one [`PartitionReplica`] (a
//! [`PartitionLog`] with Kafka's replication state: leader epochs, ISR, high watermark) per
//! partition it holds, takes decoded Kafka requests, and emits responses and fsync requests.
//! Standalone, broker [`NODE_ID`] leads every partition with the ISR `{0}` in the image's
//! leader epoch (which a restart bumps: the broker is fenced and re-elected), so Kafka's
//! replication rules reduce to the single-broker behaviour below.
//!
//! # Contract
//! - Shape: [`Node::handle`] / [`Node::handle_timeout`] in; [`Node::poll_output`] (drain until
//!   `None`) and [`Node::poll_timeout`] out. `now.mono` never decreases (asserted).
//! - **Responses per connection leave in request order.** Each request that gets a response
//!   takes a slot in its connection's queue; a response is emitted only when every earlier
//!   slot has been emitted, so a fast response waits behind a produce awaiting its fsync or a
//!   long-polling fetch. A produce with `acks=0` takes no slot and gets no response.
//! - **No acknowledgment before the durability it promises.** `acks=1` is answered after the
//!   append (the leader has it). `acks=all` is answered when the replica says so
//!   (`ReplicaOutput::AckCompleted`: its high watermark passed the batch), i.e. only once the
//!   partition's `durable_offset` covers the batch, after the [`NodeInput::Synced`] of a sync
//!   the log requested, when the topic's flush policy syncs (`flush.messages=1` or
//!   `flush.ms`). With
//!   Kafka's default policy (never fsync; durability by replication) a single replica *is*
//!   the ISR, so `acks=all` is answered after the append, as Kafka does with RF=1.
//! - **The high watermark never exposes data a crash can take back.** When the topic's flush
//!   policy syncs, a partition's high watermark is its log's `durable_offset` (never above
//!   the log end offset): fetches serve only records below it and report it as
//!   `high_watermark`/`last_stable_offset`, and parked fetches wake when a `Synced` moves it.
//!   A consumer must never read what a crash can take back, and this is the same offset
//!   `acks=all` waits for, so whatever a consumer saw was (or will be) acknowledged and
//!   survives a restart. With Kafka's default policy (never fsync) the high watermark is the
//!   log end offset (one replica: Kafka's HW equals the leader's LEO when the ISR is the
//!   leader alone). See [`PartitionReplica::high_watermark`] and
//!   [`PartitionReplica::consumer_read_bound`]. Each stored batch carries the leader epoch it
//!   was appended in (stamped into its `partitionLeaderEpoch`, as Kafka does).
//! - **Produce timeouts.** An `acks=all` produce still waiting for durability when its
//!   `timeout_ms` passes is answered with REQUEST_TIMED_OUT for the partitions not yet
//!   durable; its records stay and may still become durable (Kafka's semantics).
//! - **Long-poll fetches are timers.** A fetch is answered as soon as `min_bytes` are
//!   available across its partitions, on any partition error, or at `max_wait_ms`.
//! - **Metadata is durable before it is acknowledged**, and startup replays it: every topic
//!   created survives a restart; partition directories of deleted topics are removed, missing
//!   ones of live topics created. The metadata log is synced *inside* the call (a blocking
//!   fsync per admin command: rare, and simpler than a second sync protocol). A partition
//!   whose log cannot be opened is *offline* (KAFKA_STORAGE_ERROR) rather than fatal.
//! - Invariants ([`Node::check_invariants`], which panics on a violation) are checked after
//!   every input in debug builds; drivers (the simulator) may call them in release builds.
//! - Planted bugs ([`crate::bugs`]) come in through `config.log.planted_bugs`, copied into
//!   every partition log's config; the node's own is `AckBeforeDurable` (in `produce`), the
//!   others live in the log and the replica.
//!
//!
//! # Cluster mode ([`NodeConfig::cluster`] = `Some`)
//! The node is one broker of a cluster whose metadata comes from a controller quorum; the
//! driver carries its [`NodeOutput::ToController`] / [`NodeInput::FromController`] messages
//! and, between brokers, [`NodeOutput::ToBroker`] requests (delivered to the peer as
//! ordinary [`NodeInput::Request`]s on one connection per pair, so in order) and their
//! responses ([`NodeInput::FromBroker`]).
//! - **Metadata**: no local controller or metadata store; the image is applied from
//!   committed records the broker fetches; it registers, then heartbeats (module `broker`).
//! - **Roles**: after every applied batch each hosted replica becomes leader or follower as
//!   the image says; partitions of removed topics are closed and their directories removed;
//!   a restarted broker reopens (recovers) its logs as the metadata names them (`roles`).
//! - **Replication**: followers fetch from their leaders (`fetcher`); leaders answer follower
//!   fetches, which long-poll, and OffsetForLeaderEpoch (`serving`), and send their ISR
//!   changes to the controller as AlterPartition.
//! - **Clients**: only the leader serves produce, fetch and ListOffsets
//!   (NOT_LEADER_OR_FOLLOWER elsewhere; `current_leader_epoch` older: FENCED_LEADER_EPOCH,
//!   newer: UNKNOWN_LEADER_EPOCH); `acks=all` needs `min.insync.replicas` in the ISR
//!   (NOT_ENOUGH_REPLICAS, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrinks meanwhile);
//!   CreateTopics, DeleteTopics and CreatePartitions are forwarded to the controller
//!   (KIP-590); topics are never auto-created.
//!
//! Files: `io` (inputs, outputs, config, errors), `metadata_store`, `partitions` (replicas per
//! partition, metadata commits), `roles` (replica roles from the metadata image, leadership
//! checks), `sync` (replica outputs), `errors` (Kafka error codes), `broker` (cluster mode's
//! controller channel), `fetcher` (follower side), `serving` (leader side of replication), and
//! one file per API family: `cluster` (ApiVersions, Metadata, DescribeCluster), `admin`
//! (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs), `produce`, `fetch`,
//! `list_offsets`.

mod admin;
mod broker;
mod cluster;
pub mod errors;
mod fetch;
mod fetcher;
mod io;
mod list_offsets;
pub mod metadata_store;
mod partitions;
mod produce;
mod reassign;
mod roles;
mod serving;
mod startup;
mod sync;

pub use broker::METADATA_FETCH_RECORDS_MAX;
pub use fetcher::{EPOCH_QUERY_VERSION, FOLLOWER_FETCH_VERSION};
pub use io::{
    BrokerClusterConfig, ConnectionId, NodeConfig, NodeError, NodeInput, NodeOutput, NodeResponse,
    TopicPartition,
};

use crate::controller::{BrokerId, Controller, LocalMetadataLog};
use crate::log::{PartitionLog, SyncId};
use crate::replication::{AckId, PartitionReplica, ReplicationError};
use crate::storage::StorageProvider;
use crate::time::{Mono, Now};
use crate::wire::{
    api_versions_response, DecodedRequest, KafkaErrorCode, RequestBody, ResponseBody, WireError,
};
use fetch::PendingFetch;
use kafka_protocol::messages::ApiKey;
use metadata_store::MetadataStore;
use produce::PendingProduce;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// This node's broker id (one node for now).
pub const NODE_ID: i32 = 0;
/// Fetches that may long-poll at once; beyond this, fetches are answered immediately.
pub const PENDING_FETCHES_MAX: usize = 10_000;

/// The identity of a request being answered.
#[derive(Clone, Copy, Debug)]
struct RequestContext {
    connection: ConnectionId,
    slot: u64,
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
}

enum Reply {
    Response(NodeResponse),
    Close(String),
}

struct Slot {
    id: u64,
    reply: Option<Reply>,
}

/// A broker node. See the module docs.
pub struct Node<P: StorageProvider> {
    provider: P,
    config: NodeConfig,
    controller: Controller,
    metadata_log: LocalMetadataLog,
    /// Standalone only: the durable metadata log.
    metadata_store: Option<MetadataStore<P::Storage>>,
    /// Cluster mode only: the controller channel and the replica fetcher.
    cluster: Option<broker::ClusterState>,
    partitions: BTreeMap<TopicPartition, PartitionReplica<P::Storage>>,
    connections: BTreeMap<ConnectionId, VecDeque<Slot>>,
    next_slot: u64,
    pending_produces: Vec<PendingProduce>,
    pending_fetches: Vec<PendingFetch>,
    /// Partitions of live topics whose logs could not be opened, with the reason: they
    /// answer KAFKA_STORAGE_ERROR (Kafka's offline log directory) instead of taking the
    /// whole node down; opening is retried at the next metadata change or restart.
    offline_partitions: BTreeMap<TopicPartition, String>,
    /// Partitions appended to, trimmed or removed since parked fetches were last evaluated.
    changed_partitions: BTreeSet<TopicPartition>,
    /// Each live topic's produce-time configs, refreshed with every metadata change.
    produce_settings: BTreeMap<String, produce::ProduceSettings>,
    /// Node-unique sync id → (partition, the log's own id); see `sync`.
    sync_ids: BTreeMap<SyncId, (TopicPartition, SyncId)>,
    next_sync_id: u64,
    /// `acks=all` decisions of the replicas not yet applied to waiting produces.
    completed_acks: Vec<(TopicPartition, AckId, Result<(), ReplicationError>)>,
    outputs: VecDeque<NodeOutput>,
    last_now: Mono,
    /// See [`Node::state_version`].
    state_version: u64,
}

impl<P: StorageProvider> Node<P> {
    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The controller (its image is the cluster metadata). In cluster mode it only holds
    /// the image fetched from the quorum and never proposes.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// The cluster metadata this node acts on.
    pub fn metadata_image(&self) -> &crate::controller::MetadataImage {
        self.controller.image()
    }

    /// This node's broker id.
    pub fn broker_id(&self) -> BrokerId {
        self.cluster
            .as_ref()
            .map_or(BrokerId(NODE_ID), |c| c.config.broker_id)
    }

    /// The log of a partition, if this node hosts it (for its storage and read-only
    /// questions: appends and truncations go through the replica).
    pub fn partition_log(
        &mut self,
        partition: &TopicPartition,
    ) -> Option<&mut PartitionLog<P::Storage>> {
        self.state_version += 1;
        self.partitions
            .get_mut(partition)
            .map(PartitionReplica::log_mut)
    }

    /// The replica of a partition, if this node hosts it.
    pub fn partition_replica(
        &self,
        partition: &TopicPartition,
    ) -> Option<&PartitionReplica<P::Storage>> {
        self.partitions.get(partition)
    }

    /// The high watermark of a partition this node hosts (see the module docs): what
    /// consumers may read, and what ListOffsets `latest` should report.
    pub fn high_watermark(&self, partition: &TopicPartition) -> Option<crate::record::Offset> {
        self.partitions
            .get(partition)
            .map(PartitionReplica::high_watermark)
    }

    /// Partitions of live topics whose logs could not be opened, with the reason.
    pub fn offline_partitions(&self) -> &BTreeMap<TopicPartition, String> {
        &self.offline_partitions
    }

    /// The error code for a partition without an open replica: offline, hosted by other
    /// brokers only (NOT_LEADER_OR_FOLLOWER, as Kafka answers), or unknown.
    fn missing_partition_code(&self, partition: &TopicPartition) -> i16 {
        if self.offline_partitions.contains_key(partition) {
            KafkaErrorCode::KafkaStorageError.code()
        } else if self.partition_image(partition).is_some() {
            KafkaErrorCode::NotLeaderOrFollower.code()
        } else {
            KafkaErrorCode::UnknownTopicOrPartition.code()
        }
    }

    /// Responses owed on a connection (answered or not, not yet emitted). The node does not
    /// bound this: like Kafka, which reads no further request from a connection while one is
    /// in progress, the driver stops reading a connection above its own limit.
    pub fn queued_responses(&self, connection: ConnectionId) -> usize {
        self.connections.get(&connection).map_or(0, VecDeque::len)
    }

    /// Every partition this node hosts.
    pub fn partition_names(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// The storage provider (for drivers and tests).
    pub fn provider_mut(&mut self) -> &mut P {
        self.state_version += 1;
        &mut self.provider
    }

    /// Counts the calls that may change what [`Node::poll_timeout`] and
    /// [`Node::check_invariants`] see (every `&mut self` method but `poll_output`): while it
    /// is unchanged both give the same answer, so a driver with many nodes (the simulator)
    /// need not ask again after an event that did not touch this one.
    pub fn state_version(&self) -> u64 {
        self.state_version
    }

    /// Feeds one input. Drain [`Node::poll_output`] afterwards.
    pub fn handle(&mut self, now: Now, input: NodeInput) {
        self.state_version += 1;
        self.observe(now);
        match input {
            NodeInput::Request {
                connection,
                request,
            } => self.handle_request(now, connection, request),
            NodeInput::Undecodable { connection, error } => {
                self.handle_undecodable(connection, &error);
            }
            NodeInput::Synced {
                partition,
                id,
                result,
            } => {
                self.handle_synced(now, &partition, id, result);
            }
            NodeInput::ConnectionClosed { connection } => self.forget_connection(connection),
            NodeInput::FromController(envelope) => self.handle_from_controller(now, envelope),
            NodeInput::FromBroker { broker, response } => {
                self.handle_from_broker(now, broker, response);
            }
        }
        self.cluster_tick(now);
        self.retry_fetches(now);
        self.complete_produces();
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    /// Runs due timers: log flushes and retention, fetch and produce deadlines.
    pub fn handle_timeout(&mut self, now: Now) {
        self.state_version += 1;
        self.observe(now);
        let due: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, replica)| replica.poll_timeout().is_some_and(|at| at <= now.mono))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            if let Some(replica) = self.partitions.get_mut(&tp) {
                // A failing retention or flush fences or reports through the log itself; the
                // next produce or fetch on the partition answers with the error.
                let _ = replica.handle_timeout(now);
            }
            self.changed_partitions.insert(tp.clone());
            self.drain_replica(now, &tp);
        }
        self.cluster_tick(now);
        self.complete_produces();
        self.expire_produces(now);
        self.retry_fetches(now);
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    /// The next output, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<NodeOutput> {
        self.outputs.pop_front()
    }

    /// When [`Node::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let logs = self
            .partitions
            .values()
            .filter_map(PartitionReplica::poll_timeout);
        let fetches = self.pending_fetches.iter().map(|fetch| fetch.deadline);
        let cluster = self.cluster.as_ref().map(|c| {
            [c.poll_timeout(), c.fetcher.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
        });
        logs.chain(fetches)
            .chain(self.next_produce_deadline())
            .chain(cluster.flatten())
            .min()
    }

    /// Cluster mode: due controller work, then what followers want from their leaders.
    fn cluster_tick(&mut self, now: Now) {
        if self.cluster.is_some() {
            self.controller_tick(now);
            self.pump_followers(now);
        }
    }

    fn handle_request(&mut self, now: Now, connection: ConnectionId, request: DecodedRequest) {
        let silent = !request.expects_response();
        let slot = if silent {
            u64::MAX
        } else {
            self.open_slot(connection)
        };
        let ctx = RequestContext {
            connection,
            slot,
            api_key: request.api_key,
            api_version: request.api_version,
            correlation_id: request.correlation_id(),
        };
        let body = match request.body {
            RequestBody::ApiVersions(_) => Some(ResponseBody::ApiVersions(api_versions_response(
                KafkaErrorCode::None,
            ))),
            RequestBody::Metadata(body) => self.metadata_when_ready(now, ctx, body),
            RequestBody::DescribeCluster(body) => {
                Some(self.handle_describe_cluster(&body, ctx.api_version))
            }
            RequestBody::CreateTopics(body) => self.handle_create_topics(now, ctx, &body),
            RequestBody::DeleteTopics(body) => self.handle_delete_topics(now, ctx, &body),
            RequestBody::CreatePartitions(body) => self.handle_create_partitions(now, ctx, &body),
            RequestBody::AlterPartitionReassignments(body) => {
                self.handle_alter_partition_reassignments(now, ctx, &body)
            }
            RequestBody::ListPartitionReassignments(body) => {
                self.handle_list_partition_reassignments(now, ctx, &body)
            }
            RequestBody::DescribeConfigs(body) => {
                Some(self.handle_describe_configs(&body, ctx.api_version))
            }
            RequestBody::ListOffsets(body) => {
                Some(self.handle_list_offsets(&body, ctx.api_version))
            }
            RequestBody::Produce(body) => self.handle_produce(now, ctx, body),
            RequestBody::Fetch(body) => self.handle_fetch(now, ctx, body),
            RequestBody::OffsetForLeaderEpoch(body) => {
                Some(self.handle_offset_for_leader_epoch(&body))
            }
        };
        if let Some(body) = body {
            self.respond(ctx, body);
        }
    }

    fn handle_undecodable(&mut self, connection: ConnectionId, error: &WireError) {
        let slot = self.open_slot(connection);
        let reply = match error {
            WireError::UnsupportedVersion {
                api_key: ApiKey::ApiVersions,
                correlation_id,
                ..
            } => Reply::Response(NodeResponse {
                api_key: ApiKey::ApiVersions,
                api_version: 0,
                correlation_id: *correlation_id,
                body: ResponseBody::ApiVersions(api_versions_response(
                    KafkaErrorCode::UnsupportedVersion,
                )),
            }),
            other => Reply::Close(other.to_string()),
        };
        self.fill_slot(connection, slot, reply);
    }

    fn respond(&mut self, ctx: RequestContext, body: ResponseBody) {
        let response = NodeResponse {
            api_key: ctx.api_key,
            api_version: ctx.api_version,
            correlation_id: ctx.correlation_id,
            body,
        };
        self.fill_slot(ctx.connection, ctx.slot, Reply::Response(response));
    }

    fn open_slot(&mut self, connection: ConnectionId) -> u64 {
        let id = self.next_slot;
        self.next_slot += 1;
        self.connections
            .entry(connection)
            .or_default()
            .push_back(Slot { id, reply: None });
        id
    }

    /// Stores a reply and emits every reply at the front of the connection's queue.
    fn fill_slot(&mut self, connection: ConnectionId, slot: u64, reply: Reply) {
        let Some(queue) = self.connections.get_mut(&connection) else {
            return; // the connection closed meanwhile
        };
        if let Some(waiting) = queue.iter_mut().find(|s| s.id == slot) {
            waiting.reply = Some(reply);
        }
        while queue.front().is_some_and(|s| s.reply.is_some()) {
            let front = queue.pop_front().and_then(|s| s.reply);
            match front {
                Some(Reply::Response(response)) => self.outputs.push_back(NodeOutput::Response {
                    connection,
                    response,
                }),
                Some(Reply::Close(reason)) => {
                    self.outputs
                        .push_back(NodeOutput::Close { connection, reason });
                    self.forget_connection(connection);
                    return;
                }
                None => {}
            }
        }
    }

    fn forget_connection(&mut self, connection: ConnectionId) {
        self.connections.remove(&connection);
        self.pending_fetches
            .retain(|f| f.ctx.connection != connection);
        self.pending_produces
            .retain(|p| p.ctx.connection != connection);
    }

    fn observe(&mut self, now: Now) {
        assert!(now.mono >= self.last_now, "monotonic time went backwards");
        self.last_now = now.mono;
    }

    /// Asserts the node's invariants and every partition log's
    /// ([`PartitionLog::check_invariants`]: `log_start <= high_watermark <= log_end`,
    /// `durable <= log_end`, offsets increase). **Panics** with a message naming the broken
    /// fact and the partition: a violation is a bug in the node, never bad input, and the
    /// simulator catches the panic as a failed run. Runs after every input in debug builds;
    /// callable in release builds, where it costs O(partitions + pending requests) (the
    /// scans over segments, index entries and sync ids run only in debug builds).
    pub fn check_invariants(&self) {
        for (tp, replica) in &self.partitions {
            let violation = replica
                .log()
                .invariant_violation()
                .or_else(|| replica.invariant_violation());
            if let Some(violation) = violation {
                panic!("partition {}: {violation}", tp.directory_name());
            }
        }
        let slots: usize = self.connections.values().map(VecDeque::len).sum();
        let pending = self.pending_fetches.len() + self.pending_produces.len();
        assert!(
            pending <= slots,
            "{pending} pending requests but only {slots} response slots"
        );
        if cfg!(debug_assertions) {
            self.check_invariants_in_depth();
        }
    }

    /// The checks that scan metadata and sync ids: debug builds only.
    fn check_invariants_in_depth(&self) {
        let image = self.controller.image();
        for (tp, replica) in &self.partitions {
            replica.check_invariants();
            let topic = image.topic_by_name(&tp.topic);
            assert!(
                topic.is_some_and(|t| (tp.partition as usize) < t.partitions.len()),
                "partition log {tp:?} without metadata"
            );
        }
        for (partition, _) in self.sync_ids.values() {
            assert!(
                self.partitions.contains_key(partition),
                "sync id of a closed log"
            );
        }
        for fetch in &self.pending_fetches {
            assert!(self.connections.contains_key(&fetch.ctx.connection));
        }
    }
}
