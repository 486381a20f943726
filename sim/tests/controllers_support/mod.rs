//! A small deterministic pump for `ControllerHost` tests: N hosts, one event queue of
//! quorum messages and broker requests ordered by `(due time, sequence)` (a fixed latency,
//! so each link is FIFO), timers fired at `poll_timeout`, optional seeded message loss and
//! isolation of nodes. After every event it checks each host's invariants and that no two
//! nodes ever report different records committed at the same offset (Raft's state machine
//! safety), across crashes too.
#![allow(dead_code)]

use odradek_core::controller::{
    BrokerId, BrokerRegistration, CommittedRecord, ControllerConfig, ControllerEnvelope,
    ControllerRequest, ControllerResponse, IncarnationId, Listener, MetadataOffset, MetadataRecord,
};
use odradek_core::quorum::{QuorumConfig, QuorumMessage};
use odradek_core::time::{Mono, Now};
use odradek_sim::controllers::{ControllerHost, ControllerHostOutput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// One-way latency of every message and request.
pub const LATENCY_MS: u64 = 1;

enum Event {
    Quorum {
        from: u32,
        to: u32,
        message: QuorumMessage,
    },
    Request {
        to: u32,
        broker: BrokerId,
        envelope: ControllerEnvelope<ControllerRequest>,
    },
}

/// A reply a host gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The answering controller node.
    pub node: u32,
    /// The broker it answered.
    pub broker: BrokerId,
    /// The correlation id of the request.
    pub correlation_id: u64,
    /// The answer.
    pub response: ControllerResponse,
    /// How many committed records the answering node knew when it answered.
    pub committed_known: usize,
}

pub struct Pump {
    pub now: Mono,
    pub hosts: BTreeMap<u32, ControllerHost>,
    queue: BTreeMap<(Mono, u64), Event>,
    sequence: u64,
    next_correlation_id: u64,
    /// Every reply, in the order given.
    pub replies: Vec<Reply>,
    /// Every record any node reported committed, by offset.
    pub committed: BTreeMap<MetadataOffset, MetadataRecord>,
    /// Per host: how many of its committed records were checked against `committed`.
    checked: BTreeMap<u32, usize>,
    /// Quorum messages are lost with this probability, drawn from `rng`.
    pub drop_probability: f64,
    rng: ChaCha8Rng,
    /// Nodes whose quorum messages (both ways) are lost.
    pub isolated: BTreeSet<u32>,
    pub events: u64,
    /// Whether to check invariants and agreement after every event (benchmarks turn it off
    /// to measure the hosts alone).
    pub checking: bool,
}

pub fn now(mono: Mono) -> Now {
    Now { mono, wall_ms: 0 }
}

/// Quorum timing for tests (Raft's usual proportions).
pub fn quorum_config(seed: u64) -> QuorumConfig {
    QuorumConfig::new(0, Vec::new(), seed)
}

/// A controller config with a 1 s broker session.
pub fn controller_config() -> ControllerConfig {
    ControllerConfig {
        seed: 7,
        broker_session_timeout_ms: 1_000,
        ..ControllerConfig::default()
    }
}

/// Broker `id`'s registration (incarnation `1000 + id`).
pub fn registration(id: i32) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: BrokerId(id),
        incarnation: incarnation(id),
        listeners: vec![Listener {
            name: "PLAINTEXT".to_owned(),
            host: format!("broker-{id}"),
            port: 9092,
        }],
        rack: None,
    }
}

pub fn incarnation(id: i32) -> IncarnationId {
    IncarnationId(1000 + id as u128)
}

pub fn heartbeat(id: i32) -> ControllerRequest {
    ControllerRequest::Heartbeat {
        broker_id: BrokerId(id),
        incarnation: incarnation(id),
        applied_offset: None,
        want_shut_down: false,
    }
}

impl Pump {
    /// `count` controller nodes (ids 1..=count), all started at time zero.
    pub fn new(count: u32, controller: ControllerConfig, seed: u64) -> Pump {
        let voters: Vec<u32> = (1..=count).collect();
        let mut pump = Pump {
            now: Mono(0),
            hosts: BTreeMap::new(),
            queue: BTreeMap::new(),
            sequence: 0,
            next_correlation_id: 0,
            replies: Vec::new(),
            committed: BTreeMap::new(),
            checked: BTreeMap::new(),
            drop_probability: 0.0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            isolated: BTreeSet::new(),
            events: 0,
            checking: true,
        };
        for &id in &voters {
            let host =
                ControllerHost::new(id, voters.clone(), quorum_config(seed), controller.clone())
                    .expect("valid configuration");
            pump.hosts.insert(id, host);
            pump.start(id);
        }
        pump
    }

    pub fn start(&mut self, id: u32) {
        let at = now(self.now);
        self.hosts.get_mut(&id).unwrap().start(at);
        self.checked.insert(id, 0);
        self.settle(id);
    }

    pub fn crash(&mut self, id: u32) {
        self.hosts.get_mut(&id).unwrap().crash();
        self.checked.insert(id, 0);
    }

    fn push(&mut self, event: Event) {
        self.sequence += 1;
        let at = self.now.plus_millis(LATENCY_MS);
        self.queue.insert((at, self.sequence), event);
    }

    fn lost(&mut self, from: u32, to: u32) -> bool {
        if self.isolated.contains(&from) || self.isolated.contains(&to) {
            return true;
        }
        self.drop_probability > 0.0 && self.rng.random_bool(self.drop_probability)
    }

    /// Routes host `id`'s outputs and checks invariants and agreement.
    fn settle(&mut self, id: u32) {
        while let Some(output) = self.hosts.get_mut(&id).unwrap().poll_output() {
            match output {
                ControllerHostOutput::Quorum { to, message } => {
                    if !self.lost(id, to) {
                        self.push(Event::Quorum {
                            from: id,
                            to,
                            message,
                        });
                    }
                }
                ControllerHostOutput::Reply { broker, envelope } => {
                    let committed_known = self.hosts[&id].committed_records().len();
                    self.replies.push(Reply {
                        node: id,
                        broker,
                        correlation_id: envelope.correlation_id,
                        response: envelope.body,
                        committed_known,
                    })
                }
            }
        }
        if self.checking {
            self.check(id);
        }
    }

    fn check(&mut self, id: u32) {
        let host = &self.hosts[&id];
        host.check_invariants();
        let records = host.committed_records();
        let checked = self.checked.get(&id).copied().unwrap_or(0);
        for record in &records[checked..] {
            let known = self
                .committed
                .entry(record.offset)
                .or_insert_with(|| record.record.clone());
            assert_eq!(
                *known, record.record,
                "node {id} committed a different record at {:?}",
                record.offset
            );
        }
        self.checked.insert(id, records.len());
    }

    /// Delivers the next message or fires the next timer; false if nothing is left.
    pub fn step(&mut self) -> bool {
        self.events += 1;
        let next_message = self.queue.keys().next().copied();
        let next_timer = self
            .hosts
            .iter()
            .filter_map(|(&id, host)| host.poll_timeout().map(|at| (at.max(self.now), id)))
            .min();
        match (next_message, next_timer) {
            (Some(key), timer) if timer.is_none_or(|(at, _)| key.0 <= at) => {
                let event = self.queue.remove(&key).unwrap();
                self.now = self.now.max(key.0);
                self.deliver(event);
            }
            (_, Some((at, id))) => {
                self.now = at;
                let at = now(self.now);
                self.hosts.get_mut(&id).unwrap().handle_timeout(at);
                self.settle(id);
            }
            _ => return false,
        }
        true
    }

    fn deliver(&mut self, event: Event) {
        let at = now(self.now);
        match event {
            Event::Quorum { from, to, message } => {
                let host = self.hosts.get_mut(&to).unwrap();
                host.handle_quorum_message(at, from, message);
                self.settle(to);
            }
            Event::Request {
                to,
                broker,
                envelope,
            } => {
                let host = self.hosts.get_mut(&to).unwrap();
                host.handle_broker_request(at, broker, envelope);
                self.settle(to);
            }
        }
    }

    pub fn run_for(&mut self, millis: u64) {
        let until = self.now.plus_millis(millis);
        self.run_until(millis, |pump| pump.now >= until);
    }

    /// Steps until `done` holds (true) or `millis` pass (false).
    pub fn run_until(&mut self, millis: u64, done: impl Fn(&Pump) -> bool) -> bool {
        let until = self.now.plus_millis(millis);
        let mut steps = 0u64;
        while !done(self) {
            if self.now >= until || !self.step() {
                return done(self);
            }
            steps += 1;
            assert!(steps < 10_000_000, "the pump makes no progress");
        }
        true
    }

    /// The active controller, if exactly one node is active.
    pub fn active(&self) -> Option<u32> {
        let active: Vec<u32> = self
            .hosts
            .iter()
            .filter(|(_, host)| host.is_active())
            .map(|(&id, _)| id)
            .collect();
        match active.as_slice() {
            [id] => Some(*id),
            _ => None,
        }
    }

    /// Runs until a node is active; returns it.
    pub fn wait_active(&mut self, millis: u64) -> u32 {
        assert!(
            self.run_until(millis, |pump| pump.active().is_some()),
            "no node became active within {millis} ms"
        );
        self.active().unwrap()
    }

    /// Sends `body` from `broker` to node `to`; returns the correlation id.
    pub fn send(&mut self, to: u32, broker: i32, body: ControllerRequest) -> u64 {
        self.next_correlation_id += 1;
        let correlation_id = self.next_correlation_id;
        let envelope = ControllerEnvelope {
            correlation_id,
            body,
        };
        let broker = BrokerId(broker);
        self.push(Event::Request {
            to,
            broker,
            envelope,
        });
        correlation_id
    }

    /// The replies to `correlation_id` so far.
    pub fn replies_to(&self, correlation_id: u64) -> Vec<&Reply> {
        self.replies
            .iter()
            .filter(|reply| reply.correlation_id == correlation_id)
            .collect()
    }

    /// Sends `body` to `to` and runs until it is answered (at most `millis`).
    pub fn call(
        &mut self,
        to: u32,
        broker: i32,
        body: ControllerRequest,
        millis: u64,
    ) -> Option<ControllerResponse> {
        let id = self.send(to, broker, body);
        self.run_until(millis, |pump| !pump.replies_to(id).is_empty());
        self.replies_to(id)
            .first()
            .map(|reply| reply.response.clone())
    }

    /// Sends `body` to the active node and runs until it is answered.
    pub fn call_active(&mut self, broker: i32, body: ControllerRequest) -> ControllerResponse {
        let active = self.wait_active(5_000);
        self.call(active, broker, body, 5_000)
            .expect("the active controller answers")
    }

    /// Runs `millis`, with `brokers` heartbeating to the active node every `every_ms`.
    pub fn run_with_heartbeats(&mut self, millis: u64, brokers: &[i32], every_ms: u64) {
        let until = self.now.plus_millis(millis);
        while self.now < until {
            if let Some(active) = self.active() {
                for &broker in brokers {
                    self.send(active, broker, heartbeat(broker));
                }
            }
            self.run_for(every_ms.min(until.millis_since(self.now)).max(1));
        }
    }

    /// Registers and unfences `brokers` through the active controller.
    pub fn register_and_unfence(&mut self, brokers: &[i32]) {
        for &broker in brokers {
            let register = ControllerRequest::Register(registration(broker));
            assert_eq!(
                self.call_active(broker, register),
                ControllerResponse::Registered
            );
        }
        for &broker in brokers {
            assert_eq!(
                self.call_active(broker, heartbeat(broker)),
                ControllerResponse::Heartbeat {
                    fenced: false,
                    should_shut_down: false
                }
            );
        }
    }

    /// Runs until every running node has the same committed records as the longest list.
    pub fn converge(&mut self, millis: u64) -> bool {
        self.run_until(millis, |pump| {
            let lists: Vec<&[CommittedRecord]> = pump
                .hosts
                .values()
                .filter(|host| host.is_running())
                .map(|host| host.committed_records())
                .collect();
            lists.windows(2).all(|pair| pair[0] == pair[1])
        })
    }

    /// The committed records of node `id`.
    pub fn records(&self, id: u32) -> Vec<CommittedRecord> {
        self.hosts[&id].committed_records().to_vec()
    }
}
