//! A tiny world for tests: one `Node` on a `SimDisk`, no network (zero latency), syncs
//! performed at once, one connection per client, time advanced to the next timer.

use crate::disk::{SimDisk, SimDiskProvider};
use crate::workload::{
    ClientOutput, HistoryRecorder, Workload, WorkloadConfig, RECORD_TIMESTAMP_BASE_MS,
};
use odradek_core::node::{ConnectionId, Node, NodeConfig, NodeInput, NodeOutput};
use odradek_core::{Mono, Now};
use std::collections::BTreeMap;

/// Steps after which a test run is declared stuck.
const STEPS_MAX: usize = 1_000_000;

pub(super) struct Driver {
    pub node: Node<SimDiskProvider>,
    disk: SimDisk,
    crashes: u64,
    pub workload: Workload,
    pub history: HistoryRecorder,
    pub now: Mono,
    connections: BTreeMap<usize, ConnectionId>,
    next_connection: u64,
    /// History length when the final reads started.
    pub final_reads_from: Option<usize>,
    /// Client-side failures injected by counting (0: never).
    pub faults: DriverFaults,
    sends_seen: u64,
    responses_seen: u64,
}

/// Deterministic client-side failures: every n-th response is lost (the client times out)
/// and every n-th request is followed by a connection reset (it may or may not have been
/// applied).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct DriverFaults {
    pub drop_response_every: u64,
    pub reset_after_send_every: u64,
    /// The node crashes (unsynced writes lost) and restarts every this many simulated
    /// nanoseconds, until the final reads start.
    pub crash_every_ns: u64,
}

fn is_nth(count: u64, every: u64) -> bool {
    every > 0 && count.is_multiple_of(every)
}

pub(super) fn config(
    seed: u64,
    clients: usize,
    partitions: i32,
    operations_max: u64,
) -> WorkloadConfig {
    WorkloadConfig {
        seed,
        clients,
        partitions,
        operations_max,
        request_timeout_ns: 1_000_000_000,
        think_time_ns: 2_000_000,
        nodes: 1,
        replication_factor: 1,
        min_insync_replicas: None,
    }
}

impl Driver {
    pub fn new(config: WorkloadConfig) -> Driver {
        let disk = SimDisk::new(config.seed);
        let node = Node::open(
            SimDiskProvider::new(disk.clone()),
            NodeConfig::default(),
            now_of(Mono(0)),
        )
        .expect("node opens on an empty disk");
        Driver {
            node,
            disk,
            crashes: 0,
            workload: Workload::new(config),
            history: HistoryRecorder::new(),
            now: Mono(0),
            connections: BTreeMap::new(),
            next_connection: 1,
            final_reads_from: None,
            faults: DriverFaults::default(),
            sends_seen: 0,
            responses_seen: 0,
        }
    }

    /// Starts, runs until the operation budget is spent and nothing is in flight, then runs
    /// the final reads to completion.
    pub fn run_to_completion(&mut self) {
        self.workload.handle_start(self.now, &mut self.history);
        self.pump();
        let budget = self.workload.config().operations_max;
        self.run_until(|d| {
            d.workload.operations_started() >= budget && d.workload.requests_in_flight() == 0
        });
        self.workload.stop_operations(self.now, &mut self.history);
        self.final_reads_from = Some(self.history.ops().len());
        self.workload.start_final_reads(self.now, &mut self.history);
        self.pump();
        self.run_until(|d| d.workload.is_final_read_complete());
    }

    /// Steps until `done` holds; panics if the run stalls or runs away.
    pub fn run_until(&mut self, done: impl Fn(&Driver) -> bool) {
        for _ in 0..STEPS_MAX {
            if done(self) {
                return;
            }
            assert!(
                self.step(),
                "nothing left to do: {}",
                self.workload.final_read_progress()
            );
        }
        panic!("stuck: {}", self.workload.final_read_progress());
    }

    /// Advances to the next timer and runs it; false when there is none.
    pub fn step(&mut self) -> bool {
        let next = [self.workload.poll_timeout(), self.node.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else {
            return false;
        };
        let next_crash = self.faults.crash_every_ns.saturating_mul(self.crashes + 1);
        if self.faults.crash_every_ns > 0 && self.final_reads_from.is_none() && next_crash <= next.0
        {
            self.now = self.now.max(Mono(next_crash));
            self.crash_and_restart();
            return true;
        }
        self.now = self.now.max(next);
        if self.node.poll_timeout().is_some_and(|at| at <= self.now) {
            self.node.handle_timeout(now_of(self.now));
        }
        self.workload.handle_timeout(self.now, &mut self.history);
        self.pump();
        true
    }

    /// Power loss and restart: the node's memory and unsynced writes are gone, and every
    /// connection is reset.
    pub fn crash_and_restart(&mut self) {
        self.crashes += 1;
        self.disk.crash();
        let provider = SimDiskProvider::new(self.disk.clone());
        self.node = Node::open(provider, NodeConfig::default(), now_of(self.now))
            .expect("the node recovers from a fault-free disk");
        let clients: Vec<usize> = self.connections.keys().copied().collect();
        self.connections.clear();
        for client in clients {
            self.workload
                .handle_disconnected(self.now, client, 0, &mut self.history);
        }
        self.pump();
    }

    /// Routes outputs both ways until neither side has any.
    pub fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some((client, output)) = self.workload.poll_output() {
                progressed = true;
                self.route_client_output(client, output);
            }
            let mut syncs = Vec::new();
            while let Some(output) = self.node.poll_output() {
                progressed = true;
                match output {
                    NodeOutput::Response {
                        connection,
                        response,
                    } => {
                        self.responses_seen += 1;
                        if is_nth(self.responses_seen, self.faults.drop_response_every) {
                            continue;
                        }
                        if let Some(client) = self.client_of(connection) {
                            self.workload.handle_response(
                                self.now,
                                client,
                                0,
                                response,
                                &mut self.history,
                            );
                        }
                    }
                    NodeOutput::Sync { partition, request } => syncs.push((partition, request)),
                    // Cluster-mode outputs: this driver runs a standalone node.
                    NodeOutput::ToController(_) | NodeOutput::ToBroker { .. } => {}
                    NodeOutput::Close { connection, .. } => {
                        if let Some(client) = self.client_of(connection) {
                            self.connections.remove(&client);
                            self.workload.handle_disconnected(
                                self.now,
                                client,
                                0,
                                &mut self.history,
                            );
                        }
                    }
                }
            }
            for (partition, request) in syncs {
                progressed = true;
                self.node
                    .perform_sync(now_of(self.now), &partition, &request)
                    .expect("a fault-free disk syncs");
            }
            if !progressed {
                return;
            }
        }
    }

    fn route_client_output(&mut self, client: usize, output: ClientOutput) {
        match output {
            ClientOutput::Send { node, request } => {
                assert_eq!(node, 0, "one broker");
                let connection = match self.connections.get(&client) {
                    Some(&connection) => connection,
                    None => {
                        let connection = ConnectionId(self.next_connection);
                        self.next_connection += 1;
                        self.connections.insert(client, connection);
                        connection
                    }
                };
                let input = NodeInput::Request {
                    connection,
                    request,
                };
                self.node.handle(now_of(self.now), input);
                self.sends_seen += 1;
                if is_nth(self.sends_seen, self.faults.reset_after_send_every) {
                    self.connections.remove(&client);
                    let input = NodeInput::ConnectionClosed { connection };
                    self.node.handle(now_of(self.now), input);
                    self.workload
                        .handle_disconnected(self.now, client, 0, &mut self.history);
                }
            }
            ClientOutput::Reconnect { .. } => {
                if let Some(connection) = self.connections.remove(&client) {
                    let input = NodeInput::ConnectionClosed { connection };
                    self.node.handle(now_of(self.now), input);
                }
            }
        }
    }

    fn client_of(&self, connection: ConnectionId) -> Option<usize> {
        self.connections
            .iter()
            .find(|(_, &c)| c == connection)
            .map(|(&client, _)| client)
    }
}

fn now_of(mono: Mono) -> Now {
    Now {
        mono,
        wall_ms: RECORD_TIMESTAMP_BASE_MS + (mono.0 / 1_000_000) as i64,
    }
}
