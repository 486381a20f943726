//! The cluster's plumbing: the simulated controller quorum and the brokers' traffic to it
//! and to each other.
//!
//! # Contract
//! - **Controllers are processes of the world.** Each is a [`ControllerHost`] at endpoint
//!   [`controller_endpoint`]; their Raft messages travel as datagrams over the same
//!   [`crate::net::SimNet`] as everything else, so drops, delays, duplicates, partitions and
//!   clogs hit the quorum too. The nemesis crashes, restarts and pauses controllers like
//!   brokers (process numbers past the brokers' are controllers).
//! - **Brokers reach the active controller by trying.** A broker's
//!   [`NodeOutput::ToController`] goes, as a datagram, to the controller that broker
//!   currently believes active; a `NotController` answer (or silence: the broker resends on
//!   its own timer) moves its guess to the next controller, as a KRaft broker re-resolves
//!   the active controller. The world never tells a broker who leads.
//! - **Brokers reach each other over one stream per (follower, leader) pair**, so a
//!   follower's requests arrive in order, as over Kafka's one replica-fetcher connection. The
//!   leader answers on it like any connection; the answer comes back to the follower as
//!   [`NodeInput::FromBroker`]. A reset stream is reopened at the next request.
//! - **Convergence** ([`World::cluster_converged`]): the liveness phase also waits until an
//!   active controller's image has a leader for every partition and every ISR equals its
//!   replica set; the final reads then prove every acknowledged write readable.

use super::events::Event;
use super::nemesis::node_endpoint;
use super::{Wire, World};
use crate::controllers::ControllerHostOutput;
use crate::disk::SimDirectory;
use crate::net::{Endpoint, StreamId};
use odradek_core::controller::{
    BrokerId, ControllerEnvelope, ControllerRequest, ControllerResponse, MetadataRecord,
    PartitionReassignment,
};
use odradek_core::node::{NodeInput, NodeResponse, TopicPartition};
use odradek_core::replication::PartitionReplica;
use odradek_core::time::Now;
use odradek_core::wire::DecodedRequest;

/// Endpoints of controllers start here (brokers below, clients from 1,000).
pub const FIRST_CONTROLLER_ENDPOINT: u32 = 500;

/// The endpoint number of controller `controller`.
pub fn controller_endpoint(controller: usize) -> u32 {
    FIRST_CONTROLLER_ENDPOINT + controller as u32
}

/// The controller at `endpoint`, if it is one.
pub fn endpoint_controller(endpoint: u32) -> Option<usize> {
    let first_client = super::nemesis::client_endpoint(0);
    (FIRST_CONTROLLER_ENDPOINT..first_client)
        .contains(&endpoint)
        .then(|| (endpoint - FIRST_CONTROLLER_ENDPOINT) as usize)
}

/// The broker id an operator's admin requests carry (no broker has it): the controller's
/// answers to it are counted in the run summary, never sent.
pub(super) const OPERATOR: BrokerId = BrokerId(i32::MAX);

impl World {
    /// An operator's move of a partition (KIP-455), sent straight to the active controller
    /// (none active, or it is paused: the move is counted as not sent).
    pub(super) fn move_partition(
        &mut self,
        topic: &str,
        partition: i32,
        target: Option<Vec<i32>>,
    ) -> Result<(), String> {
        let active = (0..self.controllers.len())
            .find(|&c| self.controllers[c].is_active() && !self.controller_paused[c]);
        let Some(controller) = active else {
            self.count("move-partition-unsent", 1);
            return Ok(());
        };
        let wanted = PartitionReassignment {
            topic: topic.to_owned(),
            partition,
            target: target.map(|brokers| brokers.into_iter().map(BrokerId).collect()),
            allow_replication_factor_change: true,
        };
        let envelope = ControllerEnvelope {
            correlation_id: 0,
            body: ControllerRequest::AlterPartitionReassignments(vec![wanted]),
        };
        let now = self.controller_now();
        self.controllers[controller].handle_broker_request(now, OPERATOR, envelope);
        self.drain_controller(controller)
    }

    /// Counts, from the committed metadata of the controller that knows the most, the moves
    /// that finished (`move-partition-completed`: a reassignment record leaving no move
    /// running, which is a completion or a cancellation) and the partitions still moving.
    pub(super) fn count_finished_moves(&mut self) {
        let Some(controller) = self
            .controllers
            .iter()
            .max_by_key(|c| c.committed_records().len())
        else {
            return;
        };
        let finished = controller
            .committed_records()
            .iter()
            .filter(|committed| {
                matches!(&committed.record, MetadataRecord::PartitionReassignment(r)
                    if r.adding_replicas.is_empty() && r.removing_replicas.is_empty())
            })
            .count();
        let moving = controller.image().map_or(0, |image| {
            image
                .partitions()
                .filter(|(_, _, p)| p.is_reassigning())
                .count()
        });
        self.count("move-partition-completed", finished as u64);
        self.count("move-partition-still-moving", moving as u64);
    }

    fn count_operator_answer(&mut self, answer: &ControllerResponse) {
        let outcome = match answer {
            ControllerResponse::AlterPartitionReassignments(results) => match results.first() {
                Some(Ok(())) => "move-partition-committed",
                _ => "move-partition-refused",
            },
            _ => "move-partition-unanswered",
        };
        self.count(outcome, 1);
    }

    /// The `Now` every controller sees (controllers keep true time: no clock faults).
    pub(super) fn controller_now(&self) -> Now {
        super::host::world_now(self.now)
    }

    /// Opens every controller process (time zero).
    pub(super) fn start_controllers(&mut self) -> Result<(), String> {
        for controller in 0..self.controllers.len() {
            let now = self.controller_now();
            self.controllers[controller].start(now);
            self.drain_controller(controller)?;
        }
        Ok(())
    }

    /// A broker's request for the controller: a datagram to its current guess.
    pub(super) fn send_to_controller(
        &mut self,
        node: usize,
        envelope: ControllerEnvelope<ControllerRequest>,
    ) {
        let Some(guess) = self.controller_guess.get(node).copied() else {
            return;
        };
        let from = Endpoint(node_endpoint(node));
        let to = Endpoint(controller_endpoint(guess));
        let scheduled = self
            .net
            .send_datagram(self.now, from, to, Wire::ToController(envelope));
        self.schedule(scheduled);
    }

    /// A controller's answer reached broker `node`: a `NotController` from the controller
    /// it currently guesses moves its guess on. One from another controller (an answer to a
    /// request sent before the guess moved) changes nothing: a broker with several requests
    /// in flight would otherwise move once per answer, and with as many requests as
    /// controllers come back to the same wrong guess every round, forever (seed 2503: a
    /// broker's Register, FetchMetadata and a forwarded CreateTopics against 3 controllers).
    pub(super) fn controller_answer_arrived(
        &mut self,
        node: usize,
        from: Option<usize>,
        envelope: ControllerEnvelope<ControllerResponse>,
    ) -> Result<(), String> {
        if envelope.body == ControllerResponse::NotController && !self.controllers.is_empty() {
            if let Some(guess) = self.controller_guess.get_mut(node) {
                if from == Some(*guess) {
                    *guess = (*guess + 1) % self.controllers.len();
                }
            }
        }
        self.feed_node(node, NodeInput::FromController(envelope))
    }

    /// A datagram reached controller `controller`.
    pub(super) fn deliver_to_controller(
        &mut self,
        controller: usize,
        from: Endpoint,
        message: Wire,
    ) -> Result<(), String> {
        if controller >= self.controllers.len() {
            return Ok(());
        }
        let host = &self.controllers[controller];
        if !host.is_running() {
            return Ok(());
        }
        if self.controller_paused[controller] {
            self.controller_held[controller].push((from, message));
            return Ok(());
        }
        let now = self.controller_now();
        match message {
            Wire::Quorum(quorum) => {
                let Some(peer) = endpoint_controller(from.0) else {
                    return Ok(());
                };
                let peer_id = controller_id(peer);
                self.controllers[controller].handle_quorum_message(now, peer_id, quorum);
            }
            Wire::ToController(envelope) => {
                let broker = BrokerId(from.0 as i32);
                self.controllers[controller].handle_broker_request(now, broker, envelope);
            }
            _ => return Ok(()),
        }
        self.drain_controller(controller)
    }

    /// Routes a controller's outputs: quorum messages and answers, as datagrams.
    pub(super) fn drain_controller(&mut self, controller: usize) -> Result<(), String> {
        let from = Endpoint(controller_endpoint(controller));
        while let Some(output) = self.controllers[controller].poll_output() {
            let (to, message) = match output {
                ControllerHostOutput::Quorum { to, message } => (
                    Endpoint(controller_endpoint(controller_index(to))),
                    Wire::Quorum(message),
                ),
                ControllerHostOutput::Reply { broker, envelope } if broker == OPERATOR => {
                    self.count_operator_answer(&envelope.body);
                    continue;
                }
                ControllerHostOutput::Reply { broker, envelope } => (
                    Endpoint(node_endpoint(broker.0 as usize)),
                    Wire::FromController(envelope),
                ),
            };
            let scheduled = self.net.send_datagram(self.now, from, to, message);
            self.schedule(scheduled);
        }
        Ok(())
    }

    /// A controller's timer.
    pub(super) fn controller_timer(&mut self, controller: usize) -> Result<(), String> {
        if self.controller_timer_at[controller] != Some(self.now) {
            return Ok(());
        }
        self.controller_timer_at[controller] = None;
        if !self.controllers[controller].is_running() || self.controller_paused[controller] {
            return Ok(());
        }
        let now = self.controller_now();
        self.controllers[controller].handle_timeout(now);
        self.drain_controller(controller)
    }

    /// Re-arms the controllers' timers from their `poll_timeout`.
    pub(super) fn rearm_controller_timers(&mut self) {
        let now = self.now;
        for controller in 0..self.controllers.len() {
            let host = &self.controllers[controller];
            let wanted = if host.is_running() && !self.controller_paused[controller] {
                host.poll_timeout().map(|at| at.max(now))
            } else {
                None
            };
            if wanted != self.controller_timer_at[controller] {
                self.controller_timer_at[controller] = wanted;
                if let Some(at) = wanted {
                    self.queue.push(at, Event::ControllerTimer { controller });
                }
            }
        }
    }

    /// Controller process faults: crash (keeps its durable Raft state), restart, pause.
    pub(super) fn crash_controller(&mut self, controller: usize) {
        if !self.controllers[controller].is_running() {
            return;
        }
        self.controllers[controller].crash();
        self.controller_paused[controller] = false;
        self.controller_held[controller].clear();
        self.controller_timer_at[controller] = None;
        self.count("controller-crash", 1);
    }

    /// Restarts a crashed controller from its durable state.
    pub(super) fn restart_controller(&mut self, controller: usize) -> Result<(), String> {
        if self.controllers[controller].is_running() {
            return Ok(());
        }
        let now = self.controller_now();
        self.controllers[controller].start(now);
        self.count("controller-restart", 1);
        self.drain_controller(controller)
    }

    /// Pauses (`true`) or resumes a controller; a resumed one gets what arrived meanwhile.
    pub(super) fn pause_controller(
        &mut self,
        controller: usize,
        paused: bool,
    ) -> Result<(), String> {
        if !self.controllers[controller].is_running() {
            return Ok(());
        }
        self.controller_paused[controller] = paused;
        if paused {
            self.count("controller-pause", 1);
            return Ok(());
        }
        for (from, message) in std::mem::take(&mut self.controller_held[controller]) {
            self.deliver_to_controller(controller, from, message)?;
        }
        Ok(())
    }

    /// The stream broker `follower` uses to reach broker `leader`, opened on first use.
    fn peer_stream(&mut self, follower: usize, leader: usize) -> StreamId {
        if let Some(stream) = self.peer_streams.get(&(follower, leader)) {
            return *stream;
        }
        let stream = self.net.open_stream(
            Endpoint(node_endpoint(follower)),
            Endpoint(node_endpoint(leader)),
        );
        self.peer_streams.insert((follower, leader), stream);
        self.peer_stream_owner.insert(stream, (follower, leader));
        self.ever_peer_streams.insert(stream);
        stream
    }

    /// A broker's request to another broker (follower fetch, OffsetForLeaderEpoch).
    pub(super) fn send_to_broker(
        &mut self,
        node: usize,
        broker: BrokerId,
        request: DecodedRequest,
    ) {
        let Ok(leader) = usize::try_from(broker.0) else {
            return;
        };
        if leader >= self.hosts.len() || leader == node {
            return;
        }
        let stream = self.peer_stream(node, leader);
        let from = Endpoint(node_endpoint(node));
        let scheduled = self
            .net
            .send(self.now, stream, from, Wire::Request(Box::new(request)));
        self.schedule(scheduled);
    }

    /// Was `stream` ever a broker-to-broker stream (even if it has ended since)?
    pub(super) fn is_peer_stream(&self, stream: StreamId) -> bool {
        self.ever_peer_streams.contains(&stream)
    }

    /// Is `stream` a broker-to-broker stream? Returns (follower, leader).
    pub(super) fn peer_of(&self, stream: StreamId) -> Option<(usize, usize)> {
        self.peer_stream_owner.get(&stream).copied()
    }

    /// A leader's answer on a peer stream reached the follower.
    pub(super) fn deliver_peer_response(
        &mut self,
        follower: usize,
        leader: usize,
        response: NodeResponse,
    ) -> Result<(), String> {
        let input = NodeInput::FromBroker {
            broker: BrokerId(leader as i32),
            response,
        };
        self.feed_node(follower, input)
    }

    /// A peer stream ended: forget it (the follower's next request opens a new one); the
    /// leader's side learns it as a closed connection.
    pub(super) fn peer_stream_ended(&mut self, stream: StreamId) {
        if let Some(pair) = self.peer_stream_owner.remove(&stream) {
            self.peer_streams.remove(&pair);
        }
    }

    /// The committed image of an active controller, if one is active.
    fn active_image(&self) -> Option<&odradek_core::controller::MetadataImage> {
        self.controllers
            .iter()
            .filter(|host| host.is_active())
            .find_map(|host| host.image())
    }

    /// Has the cluster converged? An active controller's committed image gives every
    /// partition a leader and a full ISR. Standalone worlds (no controllers) always have.
    pub(super) fn cluster_converged(&self) -> bool {
        if self.controllers.is_empty() {
            return true;
        }
        let Some(image) = self.active_image() else {
            return false;
        };
        let mut partitions = 0;
        for (_, _, partition) in image.partitions() {
            partitions += 1;
            let mut isr = partition.isr.clone();
            let mut replicas = partition.replicas.clone();
            isr.sort();
            replicas.sort();
            if partition.leader.is_none() || isr != replicas {
                return false;
            }
        }
        partitions > 0
    }

    /// Has replication caught up? For every partition of the active controller's image, its
    /// leader runs, leads in the image's leader epoch, and every replica's log ends where
    /// the leader's does, with the leader's high watermark there too. Final reads start only
    /// then: a restarted leader learns its high watermark from its followers' fetches, and
    /// ListOffsets `latest` before that would end the final reads short of acknowledged
    /// records (Kafka's final readers keep polling for the same reason).
    pub(super) fn replication_caught_up(&self) -> bool {
        if self.controllers.is_empty() {
            return true;
        }
        let Some(image) = self.active_image() else {
            return false;
        };
        image.partitions().all(|(topic_id, index, partition)| {
            let Some(topic) = image.topic(topic_id) else {
                return false;
            };
            let tp = TopicPartition::new(&topic.name, index.0);
            let Some(leader) = partition.leader else {
                return false;
            };
            let Some(leader_replica) = self.running_replica(leader.0, &tp) else {
                return false;
            };
            let end = leader_replica.log_end_offset();
            leader_replica.is_leader()
                && leader_replica.leader_epoch() == Some(partition.leader_epoch)
                && leader_replica.high_watermark() == end
                && partition.replicas.iter().all(|broker| {
                    self.running_replica(broker.0, &tp)
                        .is_some_and(|replica| replica.log_end_offset() == end)
                })
        })
    }

    fn running_replica(
        &self,
        broker: i32,
        tp: &TopicPartition,
    ) -> Option<&PartitionReplica<SimDirectory>> {
        let host = self.hosts.get(usize::try_from(broker).ok()?)?;
        if host.paused {
            return None;
        }
        host.node.as_ref()?.partition_replica(tp)
    }

    /// What the convergence check is waiting for, for the liveness failure message.
    pub(super) fn convergence_progress(&self) -> String {
        if self.controllers.is_empty() {
            return String::new();
        }
        let active: Vec<usize> = (0..self.controllers.len())
            .filter(|c| self.controllers[*c].is_active())
            .collect();
        let Some(image) = active.first().and_then(|c| self.controllers[*c].image()) else {
            return "; no active controller".to_owned();
        };
        let lagging: Vec<String> = image
            .partitions()
            .filter(|(_, _, p)| p.leader.is_none() || p.isr.len() != p.replicas.len())
            .map(|(topic, index, p)| {
                let name = image.topic(topic).map_or("?", |t| t.name.as_str());
                format!("{name}-{} leader {:?} isr {:?}", index.0, p.leader, p.isr)
            })
            .collect();
        format!("; active controller {active:?}; unconverged partitions: {lagging:?}")
    }
}

/// Controller `controller`'s quorum node id (1-based, distinct from broker ids).
pub fn controller_id(controller: usize) -> u32 {
    controller as u32 + 1
}

/// The controller with quorum node id `id`.
pub fn controller_index(id: u32) -> usize {
    id.saturating_sub(1) as usize
}
