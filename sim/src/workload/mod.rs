//! The client workload: simulated Kafka producers and consumers that record a Jepsen
//! history of the queue workload, as a pure deterministic machine.
//!
//! # Contract
//! - Shape: `handle_start` / `handle_response` / `handle_disconnected` / `handle_timeout`
//!   in; drain [`Workload::poll_output`] (until `None`) and read [`Workload::poll_timeout`]
//!   after each. Time only comes in as [`Mono`]; every choice comes from a `ChaCha8Rng`
//!   seeded with [`WorkloadConfig::seed`]; only ordered collections. Same inputs ⇒ same
//!   outputs and history.
//! - Client numbers: `0..clients` are the workers (producers and consumers, roles drawn from
//!   the seed: always at least one `acks=all` producer and, from two clients on, one
//!   consumer), `clients` is the setup client, and `clients + 1 ..` the final readers (one
//!   per [`DurabilityClass`]); see [`Workload::role`].
//! - Setup: the setup client creates one topic per durability class (`acks-all`, `acks-one`,
//!   `acks-zero`; `partitions` partitions each, replication factor
//!   [`WorkloadConfig::replication_factor`]; `flush.messages=1`, `retention.ms=-1`, and on
//!   `acks-all` only `min.insync.replicas` when [`WorkloadConfig::min_insync_replicas`] is
//!   set; unclean leader election left at its default, off), sending to a node drawn from
//!   the seed (another after a failure), retrying until each exists (TOPIC_ALREADY_EXISTS
//!   counts). Workers start only then, so no produce can auto-create a topic with other
//!   settings. Setup is not in the history.
//! - Leaders (module `leaders`): every worker and reader keeps a metadata cache of its
//!   topic (partition → leader node, leader epoch; broker id == node index), filled by
//!   Metadata v12 (no auto-creation) sent to a node drawn from the seed among all nodes
//!   (another one after an error or timeout, after a backoff). Produce, Fetch and
//!   ListOffsets go to the partition's leader, one request per leader node, Fetch and
//!   ListOffsets carrying `current_leader_epoch`. Leadership errors (6, 74, 75, 5, 3), a
//!   connection reset or a request timeout mark the partitions concerned stale, and the
//!   client refreshes before its next request about them (and whenever its last answer is
//!   older than `leaders::METADATA_MAX_AGE_NS`, like `metadata.max.age.ms`). With `nodes == 1` no Metadata is
//!   ever sent: everything goes to node 0 exactly as in the single-broker workload.
//! - History keys are `"<topic>/<partition>"`: one key is one partition, one log.
//! - One operation in flight per client (an operation may be several requests in flight
//!   at once, one per leader node). A worker issues at most `operations_max` send and
//!   poll operations in total (assigns are not counted), and none after
//!   [`Workload::stop_operations`].
//! - Outcomes are never guessed: a send is `ok` only when the broker acknowledged it, `fail`
//!   only on an error code the broker returns before appending, `info` otherwise (other
//!   codes, request timeouts, connection resets, and every `acks=0` send). After an `info`
//!   the client takes a fresh process number (Jepsen's rule: the old op may still take
//!   effect), and a consumer assigns again under it.
//! - A request unanswered after `request_timeout_ns` completes `info` and the client emits
//!   [`ClientOutput::Reconnect`]: the world must close that connection (a late answer on it
//!   must not reach the client; stale answers are ignored by correlation id anyway) and open
//!   a new one at the client's next `Send`. A connection the world reports closed
//!   ([`Workload::handle_disconnected`]) completes the op on it `info`, without a
//!   `Reconnect` (the world already knows).
//! - Producers: a `send` op is one Produce of one record batch of 1 ..= N records to one
//!   key (N drawn per producer from the seed, 1 ..= 4, so some send single records),
//!   recorded as one micro-op per record; an `ok` gives them consecutive offsets from the
//!   batch's base offset. Which error codes are `fail` (certainly not appended) is argued
//!   in `responses`: notably NOT_LEADER_OR_FOLLOWER is `fail` for `acks=1` but `info` for
//!   `acks=all` (Kafka also answers it after an append that then lost leadership).
//! - Consumers (assign mode) poll all partitions of their class (one Fetch per leader), check
//!   every batch's CRC and every record's key; a poll with a bad batch completes `info`
//!   with error `"corrupt-batch"` and is counted ([`Workload::corrupt_batches_seen`]);
//!   OFFSET_OUT_OF_RANGE resets that partition to the earliest offset (ListOffsets). A
//!   partition answering an error reads nothing in that poll, which is still `ok` (a poll
//!   changes nothing); a fetch refused as a whole (top-level error) completes `fail`. A
//!   poll completes once all its Fetches answered, or at once when one is corrupt, refused,
//!   reset or timed out. Each
//!   consumer draws a per-poll record limit per key (1, 2, 3, 5 or none, like
//!   `max.poll.records` without a fetch buffer): its position moves only past the records
//!   it returned, so its next fetch may start inside a batch.
//! - Final reads ([`Workload::start_final_reads`]): one reader per class, under a fresh
//!   process, waits until no worker operation is in flight (so every `ok` send is known),
//!   assigns all keys, asks ListOffsets latest for every partition, then polls from offset 0
//!   until it reached those end offsets everywhere, retrying through errors and timeouts.
//!
//! Files: `class` (topics and keys), `history` (the recorder and value shapes), `requests`,
//! `responses` (reading answers), `leaders` (the metadata cache), `client` (one client's
//! state, shared state, the roles drawn from the seed), `producer`, `reader` (consumers
//! and final readers).

mod class;
mod client;
mod history;
mod leaders;
mod producer;
mod reader;
mod requests;
mod responses;
#[cfg(test)]
mod tests;

pub use class::{key_class, parse_key, DurabilityClass};
pub use history::HistoryRecorder;
pub use leaders::METADATA_VERSION;
pub use requests::{
    CREATE_TOPICS_VERSION, FETCH_MAX_WAIT_MS, FETCH_VERSION, LIST_OFFSETS_VERSION, PRODUCE_VERSION,
    RECORD_TIMESTAMP_BASE_MS,
};

use crate::options::Options;
use client::{draw_habits, draw_roles, Client, InFlight, Pending, Purpose, Shared};
use odradek_core::node::NodeResponse;
use odradek_core::wire::DecodedRequest;
use odradek_core::Mono;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use reader::ReaderState;
use std::collections::VecDeque;

/// Least wait before retrying after an error, so a broker that refuses instantly cannot
/// make a client spin in zero simulated time.
pub const RETRY_BACKOFF_NS: u64 = 20_000_000;
/// How often a final reader checks whether the workers' last operations have finished.
pub const QUIET_CHECK_NS: u64 = 10_000_000;

/// What the workload does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Seed of every choice the workload makes.
    pub seed: u64,
    /// Worker clients (producers and consumers).
    pub clients: usize,
    /// Partitions of each topic (at least 1 is used).
    pub partitions: i32,
    /// Send and poll operations the workers issue at most.
    pub operations_max: u64,
    /// A request unanswered this long completes `info` (and the connection is dropped).
    pub request_timeout_ns: u64,
    /// Mean pause between a client's operations (drawn in [½, 1½] of it).
    pub think_time_ns: u64,
    /// Broker nodes (node index == broker id); with 1 every request goes to node 0 and no
    /// Metadata is sent.
    pub nodes: usize,
    /// Replication factor of the topics the setup client creates.
    pub replication_factor: i16,
    /// `min.insync.replicas` of the `acks-all` topic (`None`: not set, the broker's default).
    pub min_insync_replicas: Option<i32>,
}

/// A request unanswered for this long completes `info` (a Kafka client's
/// `request.timeout.ms` is 30 s; one simulated second keeps runs short).
pub const DEFAULT_REQUEST_TIMEOUT_NS: u64 = 1_000_000_000;
/// The least think time [`WorkloadConfig::from_options`] picks.
pub const THINK_TIME_MIN_NS: u64 = 1_000_000;

impl WorkloadConfig {
    /// The workload of a run: the run's seed, clients, partitions and operation budget, the
    /// default request timeout, and a think time that spreads the budget over the safety
    /// phase (`safety_ns × clients / operations_max`, at least [`THINK_TIME_MIN_NS`]), the
    /// run's nodes, replication factor min(3, nodes), and on the `acks-all` topic the run's
    /// `min.insync.replicas` (capped at the replication factor) when the topic is replicated
    /// (unset with one broker: a standalone broker keeps its default of 1).
    pub fn from_options(options: &Options) -> WorkloadConfig {
        let nodes = options.nodes.max(1);
        let replication_factor = i16::try_from(nodes.min(3)).unwrap_or(3);
        let spread = (options.safety_ns as u128 * options.clients as u128)
            / u128::from(options.operations_max.max(1));
        WorkloadConfig {
            seed: options.seed,
            clients: options.clients,
            partitions: options.partitions,
            operations_max: options.operations_max,
            request_timeout_ns: DEFAULT_REQUEST_TIMEOUT_NS,
            think_time_ns: u64::try_from(spread)
                .unwrap_or(u64::MAX)
                .max(THINK_TIME_MIN_NS),
            nodes,
            replication_factor,
            min_insync_replicas: (replication_factor >= 2).then(|| {
                options
                    .min_insync_replicas
                    .clamp(1, i32::from(replication_factor))
            }),
        }
    }
}

/// What a client asks the world to do. (`Send` is nearly every output, so it is not boxed:
/// the size difference costs nothing, a box would cost an allocation per request.)
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum ClientOutput {
    /// Send this request to `node` on the client's connection (opening one if it has none).
    Send {
        /// The broker node.
        node: usize,
        /// The request.
        request: DecodedRequest,
    },
    /// Close the client's connection to `node`; the next `Send` opens a new one.
    Reconnect {
        /// The broker node.
        node: usize,
    },
}

/// What a client is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClientRole {
    /// Creates the topics; records nothing.
    Setup,
    /// Sends to the partitions of one class.
    Producer(DurabilityClass),
    /// Polls every partition of one class.
    Consumer(DurabilityClass),
    /// Reads every partition of one class to its end after the safety phase.
    FinalReader(DurabilityClass),
}

/// The workload: every simulated client. See the module docs.
#[derive(Debug)]
pub struct Workload {
    shared: Shared,
    clients: Vec<Client>,
}

impl Workload {
    /// A workload whose clients' roles are drawn from the seed.
    pub fn new(config: WorkloadConfig) -> Workload {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x776f_726b_6c6f_6164);
        let roles = draw_roles(&mut rng, config.clients);
        let partitions = config.partitions.max(1);
        let nodes = config.nodes.max(1);
        let mut clients: Vec<Client> = roles
            .into_iter()
            .enumerate()
            .map(|(index, role)| Client::new(role, index as i64, partitions, nodes))
            .collect();
        for client in &mut clients {
            draw_habits(&mut rng, client);
        }
        clients.push(Client::new(ClientRole::Setup, -1, partitions, nodes));
        let shared = Shared {
            next_process: config.clients as i64,
            config,
            partitions,
            rng,
            outputs: VecDeque::new(),
            next_correlation_id: 1,
            next_value: 0,
            operations_started: 0,
            corrupt_batches_seen: 0,
            setup_complete: false,
            operations_stopped: false,
            final_reads_started: false,
        };
        Workload { shared, clients }
    }

    /// The configuration.
    pub fn config(&self) -> &WorkloadConfig {
        &self.shared.config
    }

    /// The role of client `client`, if it exists (final readers exist once started).
    pub fn role(&self, client: usize) -> Option<ClientRole> {
        self.clients.get(client).map(|c| c.role)
    }

    /// Every client that exists now (workers, setup, final readers once started).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// The process number client `client` records under now.
    pub fn process_of(&self, client: usize) -> Option<i64> {
        self.clients.get(client).map(|c| c.process)
    }

    /// Every history key the workload may write: each partition of each class.
    pub fn history_keys(&self) -> Vec<String> {
        DurabilityClass::ALL
            .iter()
            .flat_map(|class| (0..self.shared.partitions).map(|p| class.key(p)))
            .collect()
    }

    /// Have all topics been created?
    pub fn is_setup_complete(&self) -> bool {
        self.shared.setup_complete
    }

    /// Send and poll operations the workers have invoked.
    pub fn operations_started(&self) -> u64 {
        self.shared.operations_started
    }

    /// Requests awaiting an answer, over all clients.
    pub fn requests_in_flight(&self) -> usize {
        self.clients
            .iter()
            .filter_map(|c| c.in_flight.as_ref())
            .map(|f| f.pending.len())
            .sum()
    }

    /// Fetched batches that failed their CRC or framing checks (or held foreign records).
    pub fn corrupt_batches_seen(&self) -> u64 {
        self.shared.corrupt_batches_seen
    }

    /// Starts the run: the setup client sends CreateTopics now; the workers begin once the
    /// topics exist.
    pub fn handle_start(&mut self, now: Mono, history: &mut HistoryRecorder) {
        let setup = self.setup_index();
        self.clients[setup].wake_at = Some(now);
        self.handle_timeout(now, history);
    }

    /// An answer from `node` to `client`. Answers that match no request in flight (late
    /// answers to abandoned requests) are ignored.
    pub fn handle_response(
        &mut self,
        now: Mono,
        client: usize,
        node: usize,
        response: NodeResponse,
        history: &mut HistoryRecorder,
    ) {
        let Some(state) = self.clients.get_mut(client) else {
            return;
        };
        let Some(mut in_flight) = state.in_flight.take() else {
            return;
        };
        let at = in_flight
            .pending
            .iter()
            .position(|p| p.node == node && p.correlation_id == response.correlation_id);
        let Some(at) = at else {
            state.in_flight = Some(in_flight); // a late answer to an abandoned request
            return;
        };
        let answered = in_flight.pending.remove(at);
        self.dispatch(now, client, in_flight, answered, &response, history);
    }

    /// Hands an answer to what its operation is for.
    fn dispatch(
        &mut self,
        now: Mono,
        client: usize,
        in_flight: InFlight,
        answered: Pending,
        response: &NodeResponse,
        history: &mut HistoryRecorder,
    ) {
        let shared = &mut self.shared;
        let state = &mut self.clients[client];
        match in_flight.purpose {
            Purpose::CreateTopics => self.on_create_topics(now, client, answered.node, response),
            Purpose::Metadata => on_metadata(shared, state, now, answered.node, response),
            Purpose::Send {
                class,
                partition,
                values,
            } => {
                let sent = producer::Sent {
                    class,
                    partition,
                    values,
                };
                producer::on_response(shared, state, now, sent, response, history)
            }
            Purpose::Poll { .. } => {
                reader::on_fetch(shared, state, now, in_flight, &answered, response, history)
            }
            Purpose::ListOffsets { .. } => {
                reader::on_list_offsets(shared, state, now, in_flight, &answered, response)
            }
        }
    }

    /// The connection from `client` to `node` was reset or closed: the op in flight on it
    /// completes `info`; the client goes on (the world opens a new connection at its next
    /// `Send`).
    pub fn handle_disconnected(
        &mut self,
        now: Mono,
        client: usize,
        node: usize,
        history: &mut HistoryRecorder,
    ) {
        let on_node = self
            .clients
            .get(client)
            .and_then(|c| c.in_flight.as_ref())
            .is_some_and(|f| f.awaits(node));
        if on_node {
            self.abandon(now, client, "connection-reset", false, history);
        }
    }

    /// Runs due timers: request timeouts (`info` and [`ClientOutput::Reconnect`]) and
    /// clients' next actions.
    pub fn handle_timeout(&mut self, now: Mono, history: &mut HistoryRecorder) {
        for client in 0..self.clients.len() {
            let timed_out = self.clients[client]
                .in_flight
                .as_ref()
                .is_some_and(|f| f.deadline <= now);
            if timed_out {
                self.abandon(now, client, "timeout", true, history);
            }
            let state = &self.clients[client];
            let due = state.wake_at.is_some_and(|at| at <= now) && state.in_flight.is_none();
            if due {
                self.clients[client].wake_at = None;
                self.act(now, client, history);
            }
        }
    }

    /// The next request or reconnection, if any.
    pub fn poll_output(&mut self) -> Option<(usize, ClientOutput)> {
        self.shared.outputs.pop_front()
    }

    /// When [`Workload::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Mono> {
        self.clients
            .iter()
            .flat_map(|c| [c.wake_at, c.in_flight.as_ref().map(|f| f.deadline)])
            .flatten()
            .min()
    }

    /// The end of the safety phase: no new send or poll operations (those in flight
    /// complete as usual).
    pub fn stop_operations(&mut self, _now: Mono, _history: &mut HistoryRecorder) {
        self.shared.operations_stopped = true;
    }

    /// The liveness phase: starts one final reader per class (and stops operations).
    pub fn start_final_reads(&mut self, now: Mono, history: &mut HistoryRecorder) {
        self.shared.operations_stopped = true;
        if self.shared.final_reads_started {
            return;
        }
        self.shared.final_reads_started = true;
        for class in DurabilityClass::ALL {
            let process = self.shared.fresh_process();
            let mut reader = Client::new(
                ClientRole::FinalReader(class),
                process,
                self.shared.partitions,
                self.shared.config.nodes,
            );
            reader.wake_at = Some(now);
            self.clients.push(reader);
        }
        self.handle_timeout(now, history);
    }

    /// Have all final readers read their partitions to the end offsets they found?
    pub fn is_final_read_complete(&self) -> bool {
        self.shared.final_reads_started
            && self
                .final_readers()
                .all(|(_, c)| c.reader.as_ref().is_some_and(ReaderState::is_done))
    }

    /// What the final reads still miss, for a liveness-timeout message.
    pub fn final_read_progress(&self) -> String {
        if !self.shared.final_reads_started {
            return "final reads not started".to_owned();
        }
        let busy_workers = self.clients[..self.setup_index()]
            .iter()
            .filter(|c| c.in_flight.is_some())
            .count();
        let parts: Vec<String> = self
            .final_readers()
            .filter_map(|(_, c)| {
                let reader = c.reader.as_ref()?;
                let waiting = if !self.shared.setup_complete {
                    Some("waiting for the topics to be created".to_owned())
                } else if busy_workers > 0 {
                    Some(format!(
                        "waiting for {busy_workers} in-flight worker operations"
                    ))
                } else {
                    None
                };
                Some(reader.progress(waiting, c.last_error.as_deref()))
            })
            .collect();
        parts.join("; ")
    }

    fn setup_index(&self) -> usize {
        self.shared.config.clients
    }

    fn final_readers(&self) -> impl Iterator<Item = (usize, &Client)> {
        self.clients
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.role, ClientRole::FinalReader(_)))
    }

    /// Are all worker operations finished (and the topics there), so final reads may begin?
    fn is_quiet(&self) -> bool {
        self.shared.setup_complete
            && self.clients[..self.setup_index()]
                .iter()
                .all(|c| c.in_flight.is_none())
    }

    /// The client's timer fired and it has nothing in flight: its next step.
    fn act(&mut self, now: Mono, client: usize, history: &mut HistoryRecorder) {
        let quiet = self.is_quiet();
        let state = &mut self.clients[client];
        match state.role {
            ClientRole::Setup if state.missing_topics.is_empty() => {}
            ClientRole::Setup => self.send_create_topics(now, client),
            ClientRole::Producer(class) => {
                producer::act_producer(&mut self.shared, state, client, class, now, history)
            }
            ClientRole::Consumer(_) => {
                reader::act_consumer(&mut self.shared, state, client, now, history)
            }
            ClientRole::FinalReader(_) if !quiet => {
                state.wake_at = Some(Mono(now.0.saturating_add(QUIET_CHECK_NS)));
            }
            ClientRole::FinalReader(_) => {
                reader::act_final_reader(&mut self.shared, state, client, now, history)
            }
        }
    }

    /// Gives up on the client's operation: a recorded op completes `info` under a retired
    /// process, the partitions its unanswered requests were about are marked stale (and a
    /// failed Metadata or CreateTopics is next sent elsewhere), `reconnect` closes the
    /// connections they were on; the client retries after a backoff.
    fn abandon(
        &mut self,
        now: Mono,
        client: usize,
        error: &str,
        reconnect: bool,
        history: &mut HistoryRecorder,
    ) {
        let shared = &mut self.shared;
        let state = &mut self.clients[client];
        let Some(in_flight) = state.in_flight.take() else {
            return;
        };
        for pending in &in_flight.pending {
            state.leaders.mark_stale(&pending.partitions);
            if reconnect {
                let node = pending.node;
                shared
                    .outputs
                    .push_back((client, ClientOutput::Reconnect { node }));
            }
        }
        if let (Purpose::Metadata | Purpose::CreateTopics, Some(pending)) =
            (&in_flight.purpose, in_flight.pending.first())
        {
            state.avoid_node = Some(pending.node);
        }
        match &in_flight.purpose {
            Purpose::Send {
                class,
                partition,
                values,
            } => {
                let key = class.key(*partition);
                let invocation = history::send_invocation(&key, values);
                state.complete_info(shared, now, "send", invocation, error, history);
            }
            Purpose::Poll { .. } => {
                let invocation = history::poll_invocation();
                state.complete_info(shared, now, "poll", invocation, error, history);
            }
            Purpose::CreateTopics | Purpose::Metadata | Purpose::ListOffsets { .. } => {}
        }
        state.last_error = Some(error.to_owned());
        let delay = shared.retry_delay();
        state.wake_at = Some(Mono(now.0.saturating_add(delay)));
    }

    fn send_create_topics(&mut self, now: Mono, client: usize) {
        let shared = &mut self.shared;
        let state = &mut self.clients[client];
        let spec = requests::TopicSpec {
            partitions: shared.partitions,
            replication_factor: shared.config.replication_factor.max(1),
            min_insync_replicas: shared.config.min_insync_replicas,
        };
        let body = requests::create_topics(&state.missing_topics, spec, shared.timeout_ms());
        let node = shared.pick_node(state.avoid_node);
        let purpose = Purpose::CreateTopics;
        let target = (node, Vec::new());
        state.request(
            shared,
            client,
            now,
            target,
            body,
            CREATE_TOPICS_VERSION,
            purpose,
        );
    }

    fn on_create_topics(&mut self, now: Mono, client: usize, node: usize, response: &NodeResponse) {
        let created = responses::created_topics(&response.body);
        let setup = &mut self.clients[client];
        setup
            .missing_topics
            .retain(|class| !created.iter().any(|t| t == class.topic()));
        if !setup.missing_topics.is_empty() {
            setup.avoid_node = Some(node);
            setup.last_error = Some(responses::create_topics_errors(&response.body));
            let delay = self.shared.retry_delay();
            self.clients[client].wake_at = Some(Mono(now.0.saturating_add(delay)));
            return;
        }
        self.shared.setup_complete = true;
        for worker in 0..self.setup_index() {
            let delay = self.shared.think_delay();
            self.clients[worker].wake_at = Some(Mono(now.0.saturating_add(delay)));
        }
    }
}

/// Takes in a Metadata answer: the client acts on it at once, or, when it taught nothing,
/// refreshes again after a backoff, asking another node.
fn on_metadata(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    node: usize,
    response: &NodeResponse,
) {
    let Some(class) = state.class() else {
        return;
    };
    let learned = state.leaders.learn(&response.body, class.topic(), now);
    state.metadata_fresh = learned > 0;
    let delay = if learned == 0 {
        state.avoid_node = Some(node);
        state.last_error = Some(format!("metadata from node {node} named no leader"));
        shared.retry_delay()
    } else {
        state.avoid_node = None;
        0
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}
