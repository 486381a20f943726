//! A small deterministic driver for cluster-mode nodes: three brokers on in-memory disks and
//! the real `ControllerHost` (the controller logic `odradek serve` and the simulator run)
//! over a `LocalMetadataLog` standing in for the controller quorum (it commits on append). Every message (broker to controller, broker to broker, both ways)
//! takes `LATENCY_MS` and is delivered in FIFO order; directed links can be cut (messages
//! on them are dropped). Syncs are performed at once. Time advances one millisecond per
//! step; nodes and the controller run their timers every step.
#![allow(dead_code)]

use crate::node_support::text;
use odradek_core::bugs::PlantedBugs;
use odradek_core::controller::{
    BrokerId, ControllerConfig, ControllerEnvelope, ControllerHost, ControllerRequest,
    ControllerResponse, IncarnationId, LocalMetadataLog, MetadataImage, PartitionImage,
    PartitionIndex, PartitionReassignment, TopicRef,
};
use odradek_core::node::{
    BrokerClusterConfig, ConnectionId, Node, NodeConfig, NodeInput, NodeOutput, NodeResponse,
    TopicPartition,
};
use odradek_core::wire::kafka_protocol::messages::RequestHeader;
use odradek_core::wire::{
    decode_inter_broker_request, decode_request, decode_response, encode_request, DecodedRequest,
    RequestBody,
};
use odradek_core::{Mono, Now};
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use std::collections::{BTreeMap, BTreeSet};

/// The client number of the test's own requests to the controller.
pub const ADMIN_CLIENT: u64 = u64::MAX;

/// One-way delay of every message.
pub const LATENCY_MS: u64 = 1;
/// The controller's endpoint index in `cut` links.
pub const CONTROLLER: usize = usize::MAX;
/// The controller's broker session timeout in these tests.
pub const SESSION_TIMEOUT_MS: u64 = 1_000;
/// Inter-broker connections are numbered from here: `BASE + from * 100 + to`.
const INTER_BROKER_CONNECTIONS: u64 = 1_000_000;

/// Network faults beyond cut links: controller messages get a random extra delay (so they
/// reorder) and are sometimes duplicated; broker-to-broker messages get a random extra
/// delay too but stay in order per connection, as TCP keeps them.
#[derive(Clone, Copy, Debug)]
pub struct NetFaults {
    /// Extra delay, uniform in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// One controller message in this many is delivered twice.
    pub duplicate_one_in: u64,
    /// The generator's state (xorshift64*; never 0).
    pub state: u64,
}

impl NetFaults {
    fn below(&mut self, bound: u64) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

/// A message in flight.
#[derive(Clone, Debug)]
enum Message {
    ToController(usize, ControllerEnvelope<ControllerRequest>),
    FromController(usize, ControllerEnvelope<ControllerResponse>),
    Request(usize, ConnectionId, DecodedRequest),
    FromBroker(usize, BrokerId, NodeResponse),
}

/// Three brokers and a controller. Node index `i` is broker `i + 1`.
pub struct Cluster {
    pub nodes: Vec<Node<SimDiskProvider>>,
    pub disks: Vec<SimDisk>,
    pub configs: Vec<NodeConfig>,
    pub controller: ControllerHost,
    pub log: LocalMetadataLog,
    /// Answers to the test's own controller requests, oldest first.
    pub admin_answers: Vec<ControllerResponse>,
    pub now: Now,
    queue: BTreeMap<(Mono, u64), Message>,
    next_sequence: u64,
    /// The last delivery time per broker-to-broker direction (to keep them in order).
    channel_last: BTreeMap<(usize, usize), Mono>,
    pub net_faults: Option<NetFaults>,
    /// Directed links (from, to) whose messages are dropped; `CONTROLLER` for the controller.
    pub cut: BTreeSet<(usize, usize)>,
    /// Responses to clients: (node, connection, response).
    pub responses: Vec<(usize, ConnectionId, NodeResponse)>,
    next_correlation: i32,
    next_incarnation: u128,
    /// Syncs wait this long before they are performed (0: at once).
    pub sync_delay_ms: u64,
    syncs: Vec<(Mono, usize, TopicPartition, odradek_core::log::SyncRequest)>,
}

pub fn broker(index: usize) -> BrokerId {
    BrokerId(index as i32 + 1)
}

pub fn index_of(broker: BrokerId) -> usize {
    (broker.0 - 1) as usize
}

impl Cluster {
    /// Three brokers with `replica_lag_time_max_ms`, started and run until all are
    /// registered and unfenced.
    pub fn start(replica_lag_time_max_ms: u64) -> Cluster {
        Cluster::start_with(replica_lag_time_max_ms, PlantedBugs::NONE)
    }

    /// [`Cluster::start`] with planted bugs in every broker's logs and replicas.
    pub fn start_with(replica_lag_time_max_ms: u64, planted_bugs: PlantedBugs) -> Cluster {
        let now = Now {
            mono: Mono(0),
            wall_ms: 1_700_000_000_000,
        };
        let controller_config = ControllerConfig {
            broker_session_timeout_ms: SESSION_TIMEOUT_MS,
            ..ControllerConfig::default()
        };
        let mut cluster = Cluster {
            nodes: Vec::new(),
            disks: Vec::new(),
            configs: Vec::new(),
            controller: ControllerHost::new(controller_config).unwrap(),
            log: LocalMetadataLog::new(),
            admin_answers: Vec::new(),
            now,
            queue: BTreeMap::new(),
            next_sequence: 0,
            channel_last: BTreeMap::new(),
            net_faults: None,
            cut: BTreeSet::new(),
            responses: Vec::new(),
            next_correlation: 1,
            next_incarnation: 1,
            sync_delay_ms: 0,
            syncs: Vec::new(),
        };
        for index in 0..3 {
            let mut cluster_config = BrokerClusterConfig::new(broker(index), IncarnationId(0));
            cluster_config.replica_lag_time_max_ms = replica_lag_time_max_ms;
            let mut config = NodeConfig {
                advertised_host: format!("broker{}.test", index + 1),
                advertised_port: 9092,
                cluster: Some(cluster_config),
                ..NodeConfig::default()
            };
            config.log.planted_bugs = planted_bugs;
            let disk = SimDisk::new(index as u64 + 7);
            cluster.disks.push(disk);
            cluster.configs.push(config);
            let node = cluster.open_node(index);
            cluster.nodes.push(node);
            cluster.drain(index);
        }
        cluster.run_ms(500);
        for index in 0..3 {
            assert!(
                cluster.nodes[index].is_unfenced(),
                "broker {index} unfenced"
            );
        }
        cluster
    }

    /// A new run of node `index` on its disk, with a fresh incarnation.
    fn open_node(&mut self, index: usize) -> Node<SimDiskProvider> {
        let incarnation = IncarnationId(self.next_incarnation);
        self.next_incarnation += 1;
        if let Some(cluster) = self.configs[index].cluster.as_mut() {
            cluster.incarnation = incarnation;
        }
        let provider = SimDiskProvider::new(self.disks[index].clone());
        Node::open(provider, self.configs[index].clone(), self.now).unwrap()
    }

    /// Drops node `index` (its memory) and starts a new run on the same disk.
    pub fn restart(&mut self, index: usize) {
        self.queue.retain(|_, m| match m {
            Message::FromController(to, _) | Message::Request(to, _, _) => *to != index,
            Message::FromBroker(to, _, _) => *to != index,
            Message::ToController(from, _) => *from != index,
        });
        self.syncs.retain(|(_, node, _, _)| *node != index);
        self.nodes[index] = self.open_node(index);
        self.drain(index);
    }

    /// Crashes node `index` (its disk loses every unsynced write) and restarts it.
    pub fn crash_and_restart(&mut self, index: usize) {
        self.disks[index].crash();
        self.restart(index);
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut_both(&mut self, a: usize, b: usize) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    /// Cuts node `index` off from everyone (controller included).
    pub fn isolate(&mut self, index: usize) {
        for other in [0, 1, 2, CONTROLLER] {
            if other != index {
                self.cut_both(index, other);
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Sends a client request to node `index` on `connection`; returns its correlation id.
    pub fn send(
        &mut self,
        index: usize,
        connection: u64,
        version: i16,
        body: impl Into<RequestBody>,
    ) -> i32 {
        let body = body.into();
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(body.api_key() as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(text("cluster-test")));
        let frame = encode_request(&header, &body).unwrap().freeze();
        let request = decode_request(frame.slice(4..)).unwrap();
        let input = NodeInput::Request {
            connection: ConnectionId(connection),
            request,
        };
        self.nodes[index].handle(self.now, input);
        self.drain(index);
        correlation_id
    }

    /// The response to `correlation_id`, if it arrived (removed from `responses`).
    pub fn take_response(&mut self, correlation_id: i32) -> Option<NodeResponse> {
        let at = self
            .responses
            .iter()
            .position(|(_, _, r)| r.correlation_id == correlation_id)?;
        Some(self.responses.remove(at).2)
    }

    /// Sends and runs until the answer arrives (at most `limit_ms`).
    pub fn call(
        &mut self,
        index: usize,
        version: i16,
        body: impl Into<RequestBody>,
        limit_ms: u64,
    ) -> NodeResponse {
        let correlation_id = self.send(index, 1, version, body);
        for _ in 0..limit_ms {
            if let Some(response) = self.take_response(correlation_id) {
                return response;
            }
            self.step();
        }
        self.take_response(correlation_id)
            .expect("no answer within the limit")
    }

    /// Runs `ms` milliseconds.
    pub fn run_ms(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    /// Runs until `done` holds (checked every millisecond), at most `limit_ms`; returns
    /// how long it took.
    pub fn run_until(&mut self, limit_ms: u64, mut done: impl FnMut(&mut Cluster) -> bool) -> u64 {
        for elapsed in 0..=limit_ms {
            if done(self) {
                return elapsed;
            }
            self.step();
        }
        panic!("condition not reached within {limit_ms} ms");
    }

    /// One millisecond: deliver what is due, run every timer, route every output.
    pub fn step(&mut self) {
        self.now.mono = self.now.mono.plus_millis(1);
        self.now.wall_ms += 1;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > self.now.mono {
                break;
            }
            let message = entry.remove();
            self.deliver(message);
        }
        self.controller.handle_timeout(self.now, &mut self.log);
        self.route_controller_replies();
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.syncs)
            .into_iter()
            .partition(|s| s.0 <= now.mono);
        self.syncs = later;
        for (_, index, partition, request) in due {
            // A failed sync (the partition was closed meanwhile) is reported to the node.
            let _ = self.nodes[index].perform_sync(now, &partition, &request);
            self.drain(index);
        }
        for index in 0..self.nodes.len() {
            if self.nodes[index]
                .poll_timeout()
                .is_some_and(|at| at <= self.now.mono)
            {
                self.nodes[index].handle_timeout(self.now);
                self.drain(index);
            }
        }
    }

    fn deliver(&mut self, message: Message) {
        match message {
            Message::ToController(from, envelope) => {
                self.controller
                    .handle_request(self.now, &mut self.log, from as u64, envelope);
                self.route_controller_replies();
            }
            Message::FromController(to, envelope) => {
                self.nodes[to].handle(self.now, NodeInput::FromController(envelope));
                self.drain(to);
            }
            Message::Request(to, connection, request) => {
                let input = NodeInput::Request {
                    connection,
                    request,
                };
                self.nodes[to].handle(self.now, input);
                self.drain(to);
            }
            Message::FromBroker(to, broker, response) => {
                let input = NodeInput::FromBroker { broker, response };
                self.nodes[to].handle(self.now, input);
                self.drain(to);
            }
        }
    }

    fn enqueue(&mut self, from: usize, to: usize, message: Message) {
        if self.cut.contains(&(from, to)) {
            return;
        }
        let mut at = self.now.mono.plus_millis(LATENCY_MS);
        let mut copies = 1;
        if let Some(faults) = self.net_faults.as_mut() {
            at = at.plus_millis(faults.below(faults.jitter_ms + 1));
            let to_controller = matches!(message, Message::ToController(..));
            let from_controller = matches!(message, Message::FromController(..));
            if (to_controller || from_controller) && faults.below(faults.duplicate_one_in) == 0 {
                copies = 2;
            }
            if !to_controller && !from_controller {
                let last = self.channel_last.entry((from, to)).or_insert(at);
                at = at.max(*last);
                *last = at;
            }
        }
        for _ in 0..copies {
            self.queue.insert((at, self.next_sequence), message.clone());
            self.next_sequence += 1;
        }
    }

    /// Routes every output of node `index`.
    pub fn drain(&mut self, index: usize) {
        while let Some(output) = self.nodes[index].poll_output() {
            match output {
                NodeOutput::Response {
                    connection,
                    response,
                } if connection.0 >= INTER_BROKER_CONNECTIONS => {
                    check_inter_broker_response(&response);
                    let follower = ((connection.0 - INTER_BROKER_CONNECTIONS) / 100) as usize;
                    let message = Message::FromBroker(follower, broker(index), response);
                    self.enqueue(index, follower, message);
                }
                NodeOutput::Response {
                    connection,
                    response,
                } => self.responses.push((index, connection, response)),
                NodeOutput::Close { connection, reason } => {
                    panic!("node {index} closed {connection:?}: {reason}")
                }
                NodeOutput::Sync { partition, request } if self.sync_delay_ms > 0 => {
                    let at = self.now.mono.plus_millis(self.sync_delay_ms);
                    self.syncs.push((at, index, partition, request));
                }
                NodeOutput::Sync { partition, request } => {
                    let now = self.now;
                    self.nodes[index]
                        .perform_sync(now, &partition, &request)
                        .unwrap();
                }
                NodeOutput::ToController(envelope) => {
                    self.enqueue(index, CONTROLLER, Message::ToController(index, envelope));
                }
                NodeOutput::ToBroker { broker, request } => {
                    check_inter_broker_request(&request);
                    let to = index_of(broker);
                    let connection =
                        ConnectionId(INTER_BROKER_CONNECTIONS + index as u64 * 100 + to as u64);
                    self.enqueue(index, to, Message::Request(to, connection, request));
                }
            }
        }
    }

    /// Sends the controller's answers to the brokers that asked; the test's own admin
    /// requests ([`ADMIN_CLIENT`]) must have succeeded.
    fn route_controller_replies(&mut self) {
        while let Some(reply) = self.controller.poll_reply() {
            if reply.client == ADMIN_CLIENT {
                self.admin_answers.push(reply.envelope.body);
                continue;
            }
            let to = reply.client as usize;
            self.enqueue(CONTROLLER, to, Message::FromController(to, reply.envelope));
        }
    }

    /// Deletes a topic at the controller (as an admin client of the quorum would).
    pub fn delete_topic_at_controller(&mut self, name: &str) {
        let envelope = ControllerEnvelope {
            correlation_id: 0,
            body: ControllerRequest::DeleteTopics(vec![TopicRef::Name(name.to_owned())]),
        };
        self.controller
            .handle_request(self.now, &mut self.log, ADMIN_CLIENT, envelope);
        self.route_controller_replies();
        match self.admin_answers.pop() {
            Some(ControllerResponse::DeleteTopics(results)) => {
                assert!(results.iter().all(|r| r.result.is_ok()), "{results:?}");
            }
            other => panic!("the controller did not delete {name}: {other:?}"),
        }
    }

    /// Moves a partition onto `target` (broker ids) at the controller (KIP-455), as an
    /// operator's admin client would; the start must commit.
    pub fn reassign_at_controller(&mut self, topic: &str, partition: i32, target: &[i32]) {
        let wanted = PartitionReassignment {
            topic: topic.to_owned(),
            partition,
            target: Some(target.iter().copied().map(BrokerId).collect()),
            allow_replication_factor_change: true,
        };
        let envelope = ControllerEnvelope {
            correlation_id: 0,
            body: ControllerRequest::AlterPartitionReassignments(vec![wanted]),
        };
        self.controller
            .handle_request(self.now, &mut self.log, ADMIN_CLIENT, envelope);
        self.route_controller_replies();
        match self.admin_answers.pop() {
            Some(ControllerResponse::AlterPartitionReassignments(results)) => {
                assert!(results.iter().all(Result::is_ok), "{results:?}");
            }
            other => panic!("the controller did not move {topic}-{partition}: {other:?}"),
        }
    }

    /// The controller's committed metadata image.
    pub fn image(&self) -> &MetadataImage {
        self.controller.controller().image()
    }

    /// The controller's committed state of a partition.
    pub fn partition(&self, topic: &str, partition: i32) -> PartitionImage {
        let image = self.image();
        let topic = image.topic_by_name(topic).unwrap();
        topic.partition(PartitionIndex(partition)).unwrap().clone()
    }

    /// Node `index`'s replica state of a partition: (leader, leader epoch, high watermark,
    /// log end offset).
    pub fn replica_state(
        &self,
        index: usize,
        tp: &TopicPartition,
    ) -> Option<(Option<BrokerId>, Option<i32>, u64, u64)> {
        let replica = self.nodes[index].partition_replica(tp)?;
        Some((
            replica.leader(),
            replica.leader_epoch().map(|e| e.0),
            replica.high_watermark().0,
            replica.log_end_offset().0,
        ))
    }

    /// Checks every node's invariants.
    pub fn check_invariants(&self) {
        for node in &self.nodes {
            node.check_invariants();
        }
        self.controller.controller().check_invariants();
    }
}

/// A follower's request is a valid Kafka inter-broker request at its version: it encodes,
/// and the inter-broker decoder (the production path) reads it back the same.
fn check_inter_broker_request(request: &DecodedRequest) {
    let frame = encode_request(&request.header, &request.body).expect("encodes");
    let decoded = decode_inter_broker_request(frame.freeze().slice(4..))
        .expect("a valid inter-broker request");
    assert_eq!(decoded.api_key, request.api_key);
    assert_eq!(decoded.api_version, request.api_version);
    assert_eq!(decoded.header.correlation_id, request.header.correlation_id);
}

/// A leader's answer to a follower encodes at its version and decodes back the same.
fn check_inter_broker_response(response: &NodeResponse) {
    let frame = response.encode().expect("encodes at its version");
    let (header, body) = decode_response(
        response.api_key,
        response.api_version,
        frame.freeze().slice(4..),
    )
    .expect("decodes");
    assert_eq!(header.correlation_id, response.correlation_id);
    assert_eq!(body, response.body);
}
