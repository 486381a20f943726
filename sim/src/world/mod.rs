//! The world: a single-threaded event loop that runs broker cores, their disks, the network
//! and the client workload under seeded faults, and checks every run.
//!
//! # Contract
//! - **One queue.** Every event (message delivery, timer, fsync completion, fault, phase end)
//!   sits in one [`EventQueue`] ordered by (simulated time, sequence). Each step pops the
//!   earliest, feeds it to the machine it belongs to, drains that machine's outputs and routes
//!   them (responses through the network, syncs to the node's disk with a drawn latency,
//!   client requests through the network), then re-arms every timer from `poll_timeout`.
//! - **One seed.** Everything random derives from `Options::seed` through separate ChaCha8
//!   streams (nemesis schedule, disks, network, workload), so the same options give the same
//!   run, byte for byte: the trace hash proves it.
//! - **Two phases.** Safety (`0..safety_ns`): faults on, the cores' invariants and the
//!   world's (`crate::invariants`) checked after every event, the history recorded. Liveness:
//!   faults healed, clocks fixed, every node restarted; final reads must read every partition
//!   to its end within `liveness_ns`. Then the queue checker runs on the history (see
//!   `check`). A panic, a violated invariant, a checker anomaly, or a liveness timeout fails
//!   the run.
//! - **Nodes are real.** The broker core is `odradek_core::node::Node`, opened over a
//!   `SimDisk` through `Node::open` — the same recovery path `odradek serve` runs.
//!
//! Files: `events` (the queue), `host` (a machine: core, disk, clock), `nemesis` (the fault
//! schedule), `knobs` (fault rates), `route` (delivering and draining), `apply` (faults and
//! phases), `check` (the history verdict), `trace` (trace lines and hash).

mod apply;
mod check;
pub mod cluster;
pub mod events;
pub mod host;
mod knobs;
pub mod nemesis;
mod route;
pub mod trace;

use crate::controllers::ControllerHost;
use crate::disk::SimDisk;
use crate::net::{SimNet, StreamId};
use crate::options::Options;
use crate::outcome::{Failure, RunResult, Summary};
use crate::workload::{HistoryRecorder, Workload, WorkloadConfig};
use events::{Event, EventQueue};
use host::NodeHost;
use odradek_core::bugs::PlantedBugs;
use odradek_core::controller::{
    BrokerId, ControllerConfig, ControllerEnvelope, ControllerRequest, ControllerResponse,
    IncarnationId,
};
use odradek_core::log::FlushPolicy;
use odradek_core::node::{BrokerClusterConfig, ConnectionId, NodeConfig, NodeResponse};
use odradek_core::quorum::{QuorumConfig, QuorumMessage};
use odradek_core::time::Mono;
use odradek_core::wire::DecodedRequest;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use trace::Trace;

/// What travels over the simulated network.
#[derive(Clone, Debug)]
pub enum Wire {
    /// A client's request to a node. Boxed, as the response: a message is moved several
    /// times on its way (into the network's in-flight map and out), and Kafka bodies are
    /// hundreds of bytes.
    Request(Box<DecodedRequest>),
    /// A node's response to a client.
    Response(Box<NodeResponse>),
    /// A Raft message between controllers (datagram).
    Quorum(QuorumMessage),
    /// A broker's request to the controller (datagram).
    ToController(ControllerEnvelope<ControllerRequest>),
    /// A controller's answer to a broker (datagram).
    FromController(ControllerEnvelope<ControllerResponse>),
}

/// Which phase the run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Faults on.
    Safety,
    /// Faults healed; final reads running.
    Liveness,
}

/// Derives an independent seed for one part of the world (SplitMix64 of seed and stream).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs one simulation to its end and reports it.
pub fn run(options: &Options) -> RunResult {
    let mut world = World::new(options.clone());
    world.run_to_end();
    world.finish()
}

/// The world of one run. See the module docs.
pub struct World {
    options: Options,
    now: Mono,
    phase: Phase,
    queue: EventQueue,
    rng: ChaCha8Rng,
    hosts: Vec<NodeHost>,
    net: SimNet<Wire>,
    net_timer_at: Option<Mono>,
    workload: Workload,
    workload_timer_at: Option<Mono>,
    recorder: HistoryRecorder,
    /// The open connection of each (client, node) pair.
    streams: BTreeMap<(usize, usize), StreamId>,
    stream_owner: BTreeMap<StreamId, (usize, usize)>,
    /// Records sent by `acks=all` produces awaiting their response, by (node, connection,
    /// correlation id), for the durability invariant.
    awaited: BTreeMap<(usize, ConnectionId, i32), crate::invariants::durability::AwaitedRecords>,
    clogged: BTreeSet<(u32, u32)>,
    /// The controller quorum (empty for a standalone broker).
    controllers: Vec<ControllerHost>,
    controller_timer_at: Vec<Option<Mono>>,
    controller_paused: Vec<bool>,
    /// Datagrams that reached a paused controller, replayed at resume.
    controller_held: Vec<Vec<(crate::net::Endpoint, Wire)>>,
    /// The controller each broker currently believes active.
    controller_guess: Vec<usize>,
    /// Broker-to-broker streams by (follower, leader), and back.
    peer_streams: BTreeMap<(usize, usize), StreamId>,
    peer_stream_owner: BTreeMap<StreamId, (usize, usize)>,
    /// Every stream ever opened between brokers (stream ids are never reused).
    ever_peer_streams: BTreeSet<StreamId>,
    metadata_agreement: crate::invariants::metadata::MetadataAgreement,
    /// Whether the final reads have started (the liveness phase waits for replication).
    final_reads_started: bool,
    trace: Trace,
    events: u64,
    counters: BTreeMap<String, u64>,
    failure: Option<Failure>,
}

impl World {
    /// A world for `options`, at time zero, with nothing started yet.
    pub fn new(options: Options) -> World {
        let seed = options.seed;
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 1));
        let hosts = (0..options.nodes)
            .map(|node| {
                let disk = SimDisk::new(derive_seed(seed, 100 + node as u64));
                let skew = knobs::clock_skew_ms(&options, &mut rng);
                NodeHost::new(disk, node_config(&options, node), skew)
            })
            .collect();
        let controllers = controller_hosts(&options);
        let controller_count = controllers.len();
        let controller_guess = (0..options.nodes)
            .map(|node| node % controller_count.max(1))
            .collect();
        let mut workload_config = WorkloadConfig::from_options(&options);
        workload_config.seed = derive_seed(seed, 3);
        let workload = Workload::new(workload_config);
        let mut queue = EventQueue::default();
        queue.push(Mono(0), Event::Start);
        World {
            net: SimNet::new(derive_seed(seed, 2), knobs::net_config(&options)),
            trace: Trace::new(options.trace),
            options,
            now: Mono(0),
            phase: Phase::Safety,
            queue,
            rng,
            hosts,
            net_timer_at: None,
            workload,
            workload_timer_at: None,
            recorder: HistoryRecorder::new(),
            streams: BTreeMap::new(),
            stream_owner: BTreeMap::new(),
            awaited: BTreeMap::new(),
            clogged: BTreeSet::new(),
            controllers,
            controller_timer_at: vec![None; controller_count],
            controller_paused: vec![false; controller_count],
            controller_held: vec![Vec::new(); controller_count],
            controller_guess,
            peer_streams: BTreeMap::new(),
            peer_stream_owner: BTreeMap::new(),
            ever_peer_streams: BTreeSet::new(),
            metadata_agreement: Default::default(),
            final_reads_started: false,
            events: 0,
            counters: BTreeMap::new(),
            failure: None,
        }
    }

    /// Pops and handles events until the run passes its liveness phase or fails.
    pub fn run_to_end(&mut self) {
        let deadline = Mono(self.options.safety_ns + self.options.liveness_ns);
        while self.failure.is_none() {
            if self.phase == Phase::Liveness
                && self.workload.is_final_read_complete()
                && self.cluster_converged()
            {
                return;
            }
            let Some((at, event)) = self.queue.pop() else {
                self.fail_liveness("the world ran out of events");
                return;
            };
            if at > deadline {
                self.fail_liveness("the liveness phase timed out");
                return;
            }
            if self.is_stale_timer(at, &event) {
                continue;
            }
            self.now = at;
            self.events += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| self.step(event)));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    self.failure = Some(Failure::Invariant {
                        event: self.events,
                        message,
                    })
                }
                Err(panic) => {
                    self.failure = Some(Failure::Panic {
                        event: self.events,
                        message: panic_message(panic.as_ref()),
                    })
                }
            }
        }
    }

    /// A timer event superseded by a later re-arm (the queue cannot cancel, so re-arming
    /// leaves the old event behind). Handling it would change nothing — its handler ignores
    /// it, no state changes, so the invariants and timers stay as they were — so it is
    /// dropped without counting as an event.
    fn is_stale_timer(&self, at: Mono, event: &Event) -> bool {
        match event {
            Event::WorkloadTimer => self.workload_timer_at != Some(at),
            Event::NetTimer => self.net_timer_at != Some(at),
            Event::NodeTimer { node } => self.hosts[*node].timer_armed_at != Some(at),
            Event::ControllerTimer { controller } => {
                self.controller_timer_at[*controller] != Some(at)
            }
            _ => false,
        }
    }

    /// One event: handle it, check invariants, re-arm timers.
    fn step(&mut self, event: Event) -> Result<(), String> {
        self.trace_event(&event);
        self.handle_event(event)?;
        self.start_final_reads_when_caught_up();
        self.check_invariants()?;
        self.rearm_timers();
        Ok(())
    }

    fn handle_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Start => self.start(),
            Event::Deliver(id) => match self.net.deliver(self.now, id) {
                Some(delivery) => self.route_delivery(delivery),
                None => {
                    if self.trace.keeps_lines() {
                        let line = "    discarded: its connection was reset or closed";
                        self.trace.line(line.to_owned());
                    }
                    Ok(())
                }
            },
            Event::NetTimer => {
                if self.net_timer_at == Some(self.now) {
                    self.net_timer_at = None;
                    let scheduled = self.net.handle_timeout(self.now);
                    self.schedule(scheduled);
                }
                Ok(())
            }
            Event::NodeTimer { node } => self.node_timer(node),
            Event::SyncDone {
                node,
                incarnation,
                partition,
                request,
            } => self.sync_done(node, incarnation, partition, request),
            Event::WorkloadTimer => {
                if self.workload_timer_at == Some(self.now) {
                    self.workload_timer_at = None;
                    self.workload.handle_timeout(self.now, &mut self.recorder);
                    self.drain_workload();
                }
                Ok(())
            }
            Event::ControllerTimer { controller } => self.controller_timer(controller),
            Event::Nemesis(action) => self.apply_nemesis(action),
            Event::EndSafety => self.end_safety(),
        }
    }

    fn check_invariants(&mut self) -> Result<(), String> {
        for host in &mut self.hosts {
            host.check_invariants();
        }
        for controller in &self.controllers {
            if controller.is_running() {
                controller.check_invariants();
            }
        }
        self.metadata_agreement.check(&self.controllers)?;
        crate::invariants::corrupt_batch::check_clients_saw_no_damage(
            self.workload.corrupt_batches_seen(),
            &self.options,
        )
    }

    fn rearm_timers(&mut self) {
        let now = self.now;
        for (index, host) in self.hosts.iter_mut().enumerate() {
            let wanted = host.poll_timeout().map(|at| at.max(now));
            if wanted != host.timer_armed_at {
                host.timer_armed_at = wanted;
                if let Some(at) = wanted {
                    self.queue.push(at, Event::NodeTimer { node: index });
                }
            }
        }
        self.rearm_controller_timers();
        let wanted = self.workload.poll_timeout().map(|at| at.max(now));
        if wanted != self.workload_timer_at {
            self.workload_timer_at = wanted;
            if let Some(at) = wanted {
                self.queue.push(at, Event::WorkloadTimer);
            }
        }
        let wanted = self.net.poll_timeout().map(|at| at.max(now));
        if wanted != self.net_timer_at {
            self.net_timer_at = wanted;
            if let Some(at) = wanted {
                self.queue.push(at, Event::NetTimer);
            }
        }
    }

    fn trace_event(&mut self, event: &Event) {
        let node = match event {
            Event::NodeTimer { node } | Event::SyncDone { node, .. } => *node as u64,
            _ => u64::MAX,
        };
        let detail = match event {
            Event::Deliver(id) => id.0,
            _ => 0,
        };
        self.trace
            .mix(&[self.now.0, self.events, event_code(event), node, detail]);
        if self.trace.keeps_lines() {
            let line = format!(
                "{} #{} {}",
                trace::format_time(self.now.0),
                self.events,
                describe_event(event)
            );
            self.trace.line(line);
        }
    }

    fn fail_liveness(&mut self, why: &str) {
        if !self.options.unsurvivable_faults().is_empty() {
            // Stored corruption with one replica: the broker must detect it (readers get
            // KAFKA_STORAGE_ERROR, never the damaged bytes) but cannot repair it, so final
            // reads may stop at it. Counted, and the history check excuses the loss.
            self.count("final-reads-blocked-by-corruption", 1);
            return;
        }
        let message = format!(
            "{why} at {}; final reads: {}{}",
            trace::format_time(self.now.0),
            self.workload.final_read_progress(),
            self.convergence_progress()
        );
        self.failure = Some(Failure::Liveness { message });
    }

    pub(super) fn count(&mut self, name: &str, by: u64) {
        if by > 0 {
            *self.counters.entry(name.to_owned()).or_insert(0) += by;
        }
    }

    /// Ends the run: checks the history (if nothing failed yet) and builds the result.
    pub fn finish(mut self) -> RunResult {
        self.collect_fault_counts();
        let recorder = std::mem::replace(&mut self.recorder, HistoryRecorder::new());
        let (operations, ok, failed, info) = (
            recorder.operations(),
            recorder.ok_count(),
            recorder.fail_count(),
            recorder.info_count(),
        );
        let mut history = recorder.into_history();
        let mut excused = BTreeMap::new();
        if self.failure.is_none() {
            let verdict = check::check_history(&mut history, &self.options, &self.counters);
            excused = verdict.excused;
            self.failure = verdict.failure;
        }
        let summary = Summary {
            events: self.events,
            simulated_ns: self.now.0,
            operations,
            ok,
            failed,
            info,
            faults: self.counters,
            excused_anomalies: excused,
        };
        RunResult {
            options: self.options,
            summary,
            failure: self.failure,
            history,
            trace_hash: self.trace.hash(),
            trace: self.trace.into_lines(),
        }
    }
}

/// The configuration of node `node`: its advertised identity, the topic defaults, and the
/// planted bug, if any.
fn node_config(options: &Options, node: usize) -> NodeConfig {
    let mut config = NodeConfig {
        advertised_host: format!("node{node}.sim"),
        advertised_port: 9092,
        cluster_id: "odradek-sim".to_owned(),
        ..NodeConfig::default()
    };
    config.log.flush_policy = FlushPolicy::Never;
    config.log.planted_bugs = options.bug.map_or(PlantedBugs::NONE, PlantedBugs::only);
    if options.controllers > 0 {
        // The incarnation is replaced at every start (see `NodeHost::start`).
        config.cluster = Some(BrokerClusterConfig::new(
            BrokerId(node as i32),
            IncarnationId(0),
        ));
    }
    config
}

/// The controller configuration every controller of the quorum runs: the world's seed for
/// topic ids, short sessions (brokers heartbeat every 200 ms), and the planted bug.
fn controller_config(options: &Options) -> ControllerConfig {
    ControllerConfig {
        seed: derive_seed(options.seed, 5),
        broker_session_timeout_ms: 1_500,
        planted_bugs: options.bug.map_or(PlantedBugs::NONE, PlantedBugs::only),
        ..ControllerConfig::default()
    }
}

/// The controller quorum of a cluster run: `options.controllers` voters (none for a
/// standalone broker).
fn controller_hosts(options: &Options) -> Vec<ControllerHost> {
    let voters: Vec<u32> = (0..options.controllers)
        .map(cluster::controller_id)
        .collect();
    voters
        .iter()
        .map(|id| {
            let quorum = QuorumConfig::new(*id, voters.clone(), derive_seed(options.seed, 6));
            ControllerHost::new(*id, voters.clone(), quorum, controller_config(options))
                .expect("the world's quorum configuration is valid")
        })
        .collect()
}

fn event_code(event: &Event) -> u64 {
    match event {
        Event::Start => 1,
        Event::Deliver(_) => 2,
        Event::NetTimer => 3,
        Event::NodeTimer { .. } => 4,
        Event::SyncDone { .. } => 5,
        Event::WorkloadTimer => 6,
        Event::Nemesis(_) => 7,
        Event::EndSafety => 8,
        Event::ControllerTimer { .. } => 9,
    }
}

fn describe_event(event: &Event) -> String {
    match event {
        Event::Deliver(id) => format!("deliver message {}", id.0),
        Event::NodeTimer { node } => format!("node{node} timer"),
        Event::ControllerTimer { controller } => format!("controller{controller} timer"),
        Event::SyncDone {
            node, partition, ..
        } => format!("node{node} sync done {}", partition.directory_name()),
        Event::Nemesis(action) => format!("nemesis {action:?}"),
        other => other.kind_name().to_owned(),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
