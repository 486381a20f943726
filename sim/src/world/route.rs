//! Routing: network deliveries to nodes and clients, node outputs to the network and the
//! disk, workload outputs to the network. Every emitted response passes the world's
//! invariants (`crate::invariants`) on its way out.

use super::cluster::endpoint_controller;
use super::events::Event;
use super::host::HeldInput;
use super::nemesis::{client_endpoint, node_endpoint};
use super::{Wire, World};
use crate::disk::DiskOperation;
use crate::invariants::{durability, replication};
use crate::net::{Delivery, Endpoint, Scheduled, StreamId};
use crate::workload::ClientOutput;
use odradek_core::log::SyncRequest;
use odradek_core::node::{ConnectionId, NodeInput, NodeOutput, NodeResponse, TopicPartition};
use odradek_core::wire::DecodedRequest;

/// An fsync slower than this is counted as `slow-fsync` (a stall, against a normal of a few
/// milliseconds at most).
const SLOW_SYNC_NS: u64 = 10_000_000;

/// Endpoints at or above this number are clients.
const FIRST_CLIENT_ENDPOINT: u32 = 1_000;

impl World {
    /// Queues a delivery event for each scheduled message.
    pub(super) fn schedule(&mut self, scheduled: impl IntoIterator<Item = Scheduled>) {
        for message in scheduled {
            self.queue.push(message.at, Event::Deliver(message.id));
        }
    }

    pub(super) fn route_delivery(&mut self, delivery: Delivery<Wire>) -> Result<(), String> {
        if self.trace.keeps_lines() {
            self.trace
                .line(format!("    {}", describe_delivery(&delivery)));
        }
        match delivery {
            Delivery::Message {
                stream,
                from,
                to,
                message,
            } => match message {
                Wire::Request(request) => {
                    let Some(stream) = stream else {
                        return Ok(());
                    };
                    let connection = ConnectionId(stream.0);
                    self.deliver_request(to.0 as usize, connection, *request)
                }
                Wire::Response(response) => {
                    if let Some((follower, leader)) = stream.and_then(|s| self.peer_of(s)) {
                        return self.deliver_peer_response(follower, leader, *response);
                    }
                    self.deliver_response(stream, from, to, *response);
                    Ok(())
                }
                Wire::FromController(envelope) => {
                    let controller = endpoint_controller(from.0);
                    self.controller_answer_arrived(to.0 as usize, controller, envelope)
                }
                message @ (Wire::Quorum(_) | Wire::ToController(_)) => {
                    match endpoint_controller(to.0) {
                        Some(controller) => self.deliver_to_controller(controller, from, message),
                        None => Ok(()),
                    }
                }
            },
            Delivery::Closed { stream, to } | Delivery::Reset { stream, to } => {
                self.connection_ended(stream, to)
            }
        }
    }

    fn deliver_request(
        &mut self,
        node: usize,
        connection: ConnectionId,
        request: DecodedRequest,
    ) -> Result<(), String> {
        let input = NodeInput::Request {
            connection,
            request,
        };
        self.feed_node(node, input)
    }

    /// Feeds an input to a node now, holds it while paused, or drops it while crashed.
    pub(super) fn feed_node(&mut self, node: usize, input: NodeInput) -> Result<(), String> {
        let Some(host) = self.hosts.get_mut(node) else {
            return Ok(());
        };
        if host.node.is_none() {
            return Ok(());
        }
        if host.paused {
            host.held.push(HeldInput::Input(Box::new(input)));
            return Ok(());
        }
        if let NodeInput::Request {
            connection,
            request,
        } = &input
        {
            if let Some(awaited) = durability::awaited_records(&request.body) {
                let key = (node, *connection, request.correlation_id());
                self.awaited.insert(key, awaited);
            }
        }
        let now = host.now(self.now);
        if let Some(core) = host.node.as_mut() {
            core.handle(now, input);
        }
        self.drain_node(node)
    }

    fn deliver_response(
        &mut self,
        stream: Option<StreamId>,
        from: Endpoint,
        to: Endpoint,
        response: NodeResponse,
    ) {
        let Some(owner) = stream.and_then(|s| self.stream_owner.get(&s).copied()) else {
            return; // the client closed this connection meanwhile
        };
        let (client, node) = owner;
        debug_assert_eq!(to.0, client_endpoint(client));
        debug_assert_eq!(from.0, node_endpoint(node));
        self.workload
            .handle_response(self.now, client, node, response, &mut self.recorder);
        self.drain_workload();
    }

    fn connection_ended(&mut self, stream: StreamId, to: Endpoint) -> Result<(), String> {
        if let Some((follower, _)) = self.peer_of(stream) {
            self.peer_stream_ended(stream);
            if to.0 == node_endpoint(follower) {
                return Ok(()); // the follower resends on a new stream
            }
        }
        if to.0 < FIRST_CLIENT_ENDPOINT {
            let node = to.0 as usize;
            let connection = ConnectionId(stream.0);
            self.awaited
                .retain(|(n, c, _), _| !(*n == node && *c == connection));
            return self.feed_node(node, NodeInput::ConnectionClosed { connection });
        }
        if let Some((client, node)) = self.stream_owner.remove(&stream) {
            self.streams.remove(&(client, node));
            self.workload
                .handle_disconnected(self.now, client, node, &mut self.recorder);
            self.drain_workload();
        }
        Ok(())
    }

    /// Routes everything the node emitted: responses (checked) to the network, closes to
    /// the network, syncs to the disk after their latency.
    pub(super) fn drain_node(&mut self, node: usize) -> Result<(), String> {
        loop {
            let host = &mut self.hosts[node];
            let Some(core) = host.node.as_mut() else {
                return Ok(());
            };
            let Some(output) = core.poll_output() else {
                return Ok(());
            };
            match output {
                NodeOutput::Response {
                    connection,
                    response,
                } => self.emit_response(node, connection, response)?,
                NodeOutput::Close { connection, .. } => {
                    let from = Endpoint(node_endpoint(node));
                    let scheduled = self
                        .net
                        .close_stream(self.now, StreamId(connection.0), from);
                    self.schedule(scheduled);
                }
                NodeOutput::Sync { partition, request } => {
                    self.queue_sync(node, partition, request)
                }
                NodeOutput::ToController(envelope) => self.send_to_controller(node, envelope),
                NodeOutput::ToBroker { broker, request } => {
                    self.send_to_broker(node, broker, request)
                }
            }
        }
    }

    fn emit_response(
        &mut self,
        node: usize,
        connection: ConnectionId,
        response: NodeResponse,
    ) -> Result<(), String> {
        let key = (node, connection, response.correlation_id);
        let awaited = self.awaited.remove(&key);
        if let Some(awaited) = &awaited {
            self.check_replicated_ack(awaited, &response.body)?;
        }
        // Leaders serve followers past the high watermark, as Kafka does; only what
        // consumers read must be durable.
        let to_consumer = !self.is_peer_stream(StreamId(connection.0));
        if let Some(core) = self.hosts[node].node.as_mut() {
            if let Some(awaited) = &awaited {
                durability::check_produce_ack(core, awaited, &response.body)?;
            }
            if to_consumer {
                durability::check_fetch_durable(core, &response.body)?;
            }
        }
        if self.trace.keeps_lines() {
            self.trace.line(format!(
                "    node{node} emits {:?} v{} response on connection {}, correlation {}",
                response.api_key, response.api_version, connection.0, response.correlation_id
            ));
        }
        self.trace
            .mix(&[node as u64, connection.0, response.correlation_id as u64]);
        let from = Endpoint(node_endpoint(node));
        let message = Wire::Response(Box::new(response));
        let scheduled = self
            .net
            .send(self.now, StreamId(connection.0), from, message);
        self.schedule(scheduled);
        Ok(())
    }

    /// In a cluster, an `acks=all` acknowledgment must be held by `min.insync.replicas`
    /// brokers (see `crate::invariants::replication`); only the `acks-all` topic sets it.
    fn check_replicated_ack(
        &mut self,
        awaited: &durability::AwaitedRecords,
        body: &odradek_core::wire::ResponseBody,
    ) -> Result<(), String> {
        let Some(min_insync) = self.workload.config().min_insync_replicas else {
            return Ok(());
        };
        let min_insync = usize::try_from(min_insync).unwrap_or(0);
        let hosts = &mut self.hosts;
        let mut holdings = |tp: &TopicPartition| {
            hosts
                .iter_mut()
                .map(|host| replication::holding(host.node.as_mut(), &host.durable_at_crash, tp))
                .collect()
        };
        replication::check_replicated_ack(awaited, body, min_insync, &mut holdings)
    }

    fn queue_sync(&mut self, node: usize, partition: TopicPartition, request: SyncRequest) {
        let latency = self.hosts[node].disk.draw_latency_ns(DiskOperation::Sync);
        if latency > SLOW_SYNC_NS {
            self.count("slow-fsync", 1);
        }
        let event = Event::SyncDone {
            node,
            incarnation: self.hosts[node].incarnation,
            partition,
            request,
        };
        self.queue
            .push(odradek_core::time::Mono(self.now.0 + latency), event);
    }

    /// A sync's latency has passed: perform it through the node (which reports it to the
    /// partition log), unless the process that asked has died.
    pub(super) fn sync_done(
        &mut self,
        node: usize,
        incarnation: u64,
        partition: TopicPartition,
        request: SyncRequest,
    ) -> Result<(), String> {
        let host = &mut self.hosts[node];
        if host.incarnation != incarnation || host.node.is_none() {
            if self.trace.keeps_lines() {
                let line = "    void: the process that asked for it has crashed";
                self.trace.line(line.to_owned());
            }
            return Ok(());
        }
        if host.paused {
            host.held.push(HeldInput::Sync(partition, request));
            return Ok(());
        }
        let now = host.now(self.now);
        if let Some(core) = host.node.as_mut() {
            if core.perform_sync(now, &partition, &request).is_err() {
                self.count("fsync-failed", 1);
            }
        }
        self.drain_node(node)
    }

    /// A node's timer: run its due work.
    pub(super) fn node_timer(&mut self, node: usize) -> Result<(), String> {
        let host = &mut self.hosts[node];
        if host.timer_armed_at != Some(self.now) || !host.is_running() {
            return Ok(());
        }
        host.timer_armed_at = None;
        let now = host.now(self.now);
        if let Some(core) = host.node.as_mut() {
            core.handle_timeout(now);
        }
        self.drain_node(node)
    }

    /// Sends every request the workload wants sent, opening connections as needed.
    pub(super) fn drain_workload(&mut self) {
        while let Some((client, output)) = self.workload.poll_output() {
            let from = Endpoint(client_endpoint(client));
            match output {
                ClientOutput::Send { node, request } => {
                    let stream = self.stream_for(client, node);
                    let scheduled =
                        self.net
                            .send(self.now, stream, from, Wire::Request(Box::new(request)));
                    self.schedule(scheduled);
                }
                ClientOutput::Reconnect { node } => {
                    if let Some(stream) = self.streams.remove(&(client, node)) {
                        self.stream_owner.remove(&stream);
                        let scheduled = self.net.close_stream(self.now, stream, from);
                        self.schedule(scheduled);
                    }
                }
            }
        }
    }

    fn stream_for(&mut self, client: usize, node: usize) -> StreamId {
        if let Some(stream) = self.streams.get(&(client, node)) {
            return *stream;
        }
        let stream = self.net.open_stream(
            Endpoint(client_endpoint(client)),
            Endpoint(node_endpoint(node)),
        );
        self.streams.insert((client, node), stream);
        self.stream_owner.insert(stream, (client, node));
        stream
    }
}

fn endpoint_name(endpoint: Endpoint) -> String {
    if let Some(controller) = endpoint_controller(endpoint.0) {
        format!("controller{controller}")
    } else if endpoint.0 < FIRST_CLIENT_ENDPOINT {
        format!("node{}", endpoint.0)
    } else {
        format!("client{}", endpoint.0 - FIRST_CLIENT_ENDPOINT)
    }
}

/// One trace line for a delivery: who to whom, on which connection, what.
fn describe_delivery(delivery: &Delivery<Wire>) -> String {
    match delivery {
        Delivery::Message {
            stream,
            from,
            to,
            message,
        } => {
            let what = match message {
                Wire::Request(request) => format!(
                    "{:?} v{} request, correlation {}",
                    request.api_key,
                    request.api_version,
                    request.correlation_id()
                ),
                Wire::Response(response) => format!(
                    "{:?} response, correlation {}",
                    response.api_key, response.correlation_id
                ),
                Wire::Quorum(message) => format!("quorum {message:?}"),
                Wire::ToController(envelope) => format!(
                    "controller request {}: {:?}",
                    envelope.correlation_id, envelope.body
                ),
                Wire::FromController(envelope) => format!(
                    "controller answer {}: {:?}",
                    envelope.correlation_id, envelope.body
                ),
            };
            let connection =
                stream.map_or("datagram".to_owned(), |s| format!("connection {}", s.0));
            format!(
                "{} → {} on {connection}: {what}",
                endpoint_name(*from),
                endpoint_name(*to)
            )
        }
        Delivery::Closed { stream, to } => {
            format!(
                "connection {} closed, told to {}",
                stream.0,
                endpoint_name(*to)
            )
        }
        Delivery::Reset { stream, to } => {
            format!(
                "connection {} reset, told to {}",
                stream.0,
                endpoint_name(*to)
            )
        }
    }
}
