//! A deterministic in-memory world for the controller quorum: N `QuorumNode`s, a network
//! that drops, delays (and so reorders), duplicates and partitions messages, crashes that
//! keep only `PersistentState` (the node's "disk"), and a checker of Raft's cross-node
//! safety properties that runs after every event.

#![allow(dead_code)]

use odradek_core::controller::{ConfigRecord, MetadataRecord};
use odradek_core::quorum::{
    LogEntry, PersistentState, QuorumConfig, QuorumMessage, QuorumNode, QuorumOutput,
};
use odradek_core::{Mono, Now};
use std::collections::{BTreeMap, BTreeSet};

/// SplitMix64, the world's own generator (independent of the nodes' ones).
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// Network faults, in per-mille per message.
#[derive(Clone, Copy, Debug)]
pub struct NetFaults {
    pub drop_per_mille: u64,
    pub duplicate_per_mille: u64,
    pub max_delay_ms: u64,
}

impl NetFaults {
    pub const CLEAN: NetFaults = NetFaults {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        max_delay_ms: 5,
    };
}

struct InFlight {
    deliver_at: Mono,
    sequence: u64,
    from: u32,
    to: u32,
    message: QuorumMessage,
}

/// A committed entry as first observed, with the term in which it was observed.
#[derive(Clone, Debug)]
struct Committed {
    entry: LogEntry,
    observed_in_term: u64,
}

pub struct Cluster {
    pub now: Mono,
    pub voters: Vec<u32>,
    seed: u64,
    nodes: BTreeMap<u32, QuorumNode>,
    disks: BTreeMap<u32, PersistentState>,
    network: Vec<InFlight>,
    sequence: u64,
    pub rng: Rng,
    pub faults: NetFaults,
    /// When set, messages cross between this group and the rest only if both ends agree.
    pub partition: Option<BTreeSet<u32>>,
    leaders_by_term: BTreeMap<u64, u32>,
    committed: BTreeMap<u64, Committed>,
    /// Per live node: the last offset it emitted as `Committed` in this incarnation.
    emitted: BTreeMap<u32, Option<u64>>,
    proposals: u64,
    pub events: u64,
}

fn now_at(mono: Mono) -> Now {
    Now { mono, wall_ms: 0 }
}

impl Cluster {
    pub fn new(size: u32, seed: u64) -> Cluster {
        let voters: Vec<u32> = (1..=size).collect();
        let mut cluster = Cluster {
            now: Mono(0),
            voters: voters.clone(),
            seed,
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            network: Vec::new(),
            sequence: 0,
            rng: Rng(seed ^ 0x5EED),
            faults: NetFaults::CLEAN,
            partition: None,
            leaders_by_term: BTreeMap::new(),
            committed: BTreeMap::new(),
            emitted: BTreeMap::new(),
            proposals: 0,
            events: 0,
        };
        for id in voters {
            cluster.disks.insert(id, PersistentState::default());
            cluster.start(id);
        }
        cluster
    }

    fn config(&self, id: u32) -> QuorumConfig {
        QuorumConfig::new(id, self.voters.clone(), self.seed)
    }

    fn start(&mut self, id: u32) {
        let disk = self.disks[&id].clone();
        let node = QuorumNode::restart(self.config(id), disk, now_at(self.now)).unwrap();
        self.nodes.insert(id, node);
        self.emitted.insert(id, None);
    }

    pub fn crash(&mut self, id: u32) {
        self.nodes.remove(&id);
        self.emitted.remove(&id);
    }

    pub fn restart(&mut self, id: u32) {
        if !self.nodes.contains_key(&id) {
            self.start(id);
        }
    }

    pub fn is_up(&self, id: u32) -> bool {
        self.nodes.contains_key(&id)
    }

    pub fn node(&self, id: u32) -> Option<&QuorumNode> {
        self.nodes.get(&id)
    }

    /// The live nodes that believe they lead, with their terms.
    pub fn leaders(&self) -> Vec<(u32, u64)> {
        self.nodes
            .iter()
            .filter_map(|(&id, node)| node.leader_term().map(|term| (id, term)))
            .collect()
    }

    /// The live leader with the highest term.
    pub fn leader(&self) -> Option<u32> {
        self.leaders()
            .into_iter()
            .max_by_key(|&(_, term)| term)
            .map(|(id, _)| id)
    }

    fn connected(&self, from: u32, to: u32) -> bool {
        match &self.partition {
            None => true,
            Some(group) => group.contains(&from) == group.contains(&to),
        }
    }

    /// Proposes a batch of `size` fresh records at node `id`; returns the Raft index of the
    /// batch's last entry when accepted.
    pub fn propose(&mut self, id: u32, size: usize) -> Option<u64> {
        let node = self.nodes.get_mut(&id)?;
        let records = (0..size)
            .map(|_| {
                self.proposals += 1;
                MetadataRecord::Config(ConfigRecord {
                    topic: "t".to_string(),
                    key: format!("k{}", self.proposals),
                    value: Some(id.to_string()),
                })
            })
            .collect();
        let result = node.propose(now_at(self.now), records);
        self.after_call(id);
        result.ok().map(|offset| offset.0 + 1)
    }

    /// Runs the next event (a delivery or a timer). False if nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let next_message = self
            .network
            .iter()
            .enumerate()
            .min_by_key(|(_, m)| (m.deliver_at, m.sequence))
            .map(|(position, m)| (position, m.deliver_at));
        let next_timer = self
            .nodes
            .iter()
            .filter_map(|(&id, node)| node.poll_timeout().map(|at| (at, id)))
            .min();
        self.events += 1;
        let deliver_first = match (next_message, next_timer) {
            (Some((_, at)), Some((timer_at, _))) => at <= timer_at,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if deliver_first {
            let (position, at) = next_message.expect("a message is scheduled");
            let flight = self.network.swap_remove(position);
            self.now = self.now.max(at);
            if let Some(node) = self.nodes.get_mut(&flight.to) {
                node.handle_message(now_at(self.now), flight.from, flight.message);
                self.after_call(flight.to);
            }
            return true;
        }
        let Some((at, id)) = next_timer else {
            return false;
        };
        self.now = self.now.max(at);
        if let Some(node) = self.nodes.get_mut(&id) {
            node.handle_timeout(now_at(self.now));
            self.after_call(id);
        }
        true
    }

    /// Persists the node's state, routes its outputs, then checks every property.
    fn after_call(&mut self, id: u32) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let mut outputs = Vec::new();
        while let Some(output) = node.poll_output() {
            outputs.push(output);
        }
        self.disks.insert(id, node.persistent_state());
        for output in outputs {
            self.route(id, output);
        }
        self.check(id);
    }

    fn route(&mut self, id: u32, output: QuorumOutput) {
        match output {
            QuorumOutput::Send { to, message } => self.transmit(id, to, message),
            QuorumOutput::BecameLeader { term } => {
                let previous = self.leaders_by_term.insert(term, id);
                assert!(
                    previous.is_none() || previous == Some(id),
                    "election safety: term {term} has leaders {previous:?} and {id}"
                );
            }
            QuorumOutput::LostLeadership { .. } => {}
            QuorumOutput::Committed(record) => {
                let last = self.emitted[&id];
                assert!(
                    last.is_none_or(|last| record.offset.0 > last),
                    "node {id} emitted offset {} after {last:?}",
                    record.offset
                );
                self.emitted.insert(id, Some(record.offset.0));
                let index = record.offset.0 + 1;
                let node = &self.nodes[&id];
                assert!(index <= node.commit_index(), "emitted beyond commit");
            }
        }
    }

    fn transmit(&mut self, from: u32, to: u32, message: QuorumMessage) {
        if !self.connected(from, to) || self.rng.chance(self.faults.drop_per_mille) {
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = 1 + self.rng.below(self.faults.max_delay_ms);
            self.sequence += 1;
            self.network.push(InFlight {
                deliver_at: self.now.plus_millis(delay),
                sequence: self.sequence,
                from,
                to,
                message: message.clone(),
            });
        }
    }

    /// Every safety property, after every event.
    fn check(&mut self, id: u32) {
        let node = &self.nodes[&id];
        node.check_invariants();
        self.record_commits(id);
        self.check_log_matching();
        self.check_leader_completeness();
        self.check_durability();
    }

    /// State-machine safety: no two nodes commit different entries at one index.
    fn record_commits(&mut self, id: u32) {
        let node = &self.nodes[&id];
        let term = node.current_term();
        for index in 1..=node.commit_index() {
            let entry = &node.log()[index as usize - 1];
            match self.committed.get(&index) {
                Some(known) => assert_eq!(
                    &known.entry, entry,
                    "state-machine safety: node {id} commits a different entry at index {index}"
                ),
                None => {
                    let committed = Committed {
                        entry: entry.clone(),
                        observed_in_term: term,
                    };
                    self.committed.insert(index, committed);
                }
            }
        }
    }

    /// Log matching: equal terms at an index imply equal prefixes (on every disk).
    fn check_log_matching(&self) {
        let logs: Vec<(&u32, &Vec<LogEntry>)> = self
            .disks
            .iter()
            .map(|(id, disk)| (id, &disk.log))
            .collect();
        for (position, (a_id, a)) in logs.iter().enumerate() {
            for (b_id, b) in &logs[position + 1..] {
                let common = a.len().min(b.len());
                if let Some(last_equal) = (0..common).rev().find(|&i| a[i].term == b[i].term) {
                    assert_eq!(
                        a[..=last_equal],
                        b[..=last_equal],
                        "log matching: nodes {a_id} and {b_id} agree on the term at index {} but not before",
                        last_equal + 1
                    );
                }
            }
        }
    }

    /// Leader completeness: a leader of term T holds every entry committed in terms <= T.
    fn check_leader_completeness(&self) {
        for (id, term) in self.leaders() {
            let log = self.nodes[&id].log();
            for (index, committed) in &self.committed {
                if committed.observed_in_term > term {
                    continue;
                }
                assert_eq!(
                    log.get(*index as usize - 1),
                    Some(&committed.entry),
                    "leader completeness: leader {id} of term {term} lacks committed index {index}"
                );
            }
        }
    }

    /// Committed entries are never lost: a majority of disks holds each one.
    fn check_durability(&self) {
        let majority = self.voters.len() / 2 + 1;
        for (index, committed) in &self.committed {
            let holders = self
                .disks
                .values()
                .filter(|disk| disk.log.get(*index as usize - 1) == Some(&committed.entry))
                .count();
            assert!(
                holders >= majority,
                "durability: committed index {index} is on only {holders} disks"
            );
        }
    }

    /// Runs events until simulated time passes `until` (or nothing is scheduled).
    pub fn run_until(&mut self, until: Mono) {
        while self.now < until && self.step() {}
    }

    /// Heals every fault: a clean network, no partition, every node up.
    pub fn heal(&mut self) {
        self.faults = NetFaults::CLEAN;
        self.partition = None;
        for id in self.voters.clone() {
            self.restart(id);
        }
    }

    /// Proposes at the leader until a proposal is accepted, then runs until every node has
    /// committed it. Returns the simulated milliseconds that took, or None past `bound_ms`.
    pub fn commit_everywhere(&mut self, bound_ms: u64) -> Option<u64> {
        let start = self.now;
        let deadline = start.plus_millis(bound_ms);
        // (leader, term, index) of the proposal being waited for.
        let mut target: Option<(u32, u64, u64)> = None;
        while self.now < deadline {
            if let Some((leader, term, index)) = target {
                let everywhere = self.voters.iter().all(|id| {
                    self.nodes
                        .get(id)
                        .is_some_and(|node| node.commit_index() >= index)
                });
                if everywhere {
                    return Some(self.now.millis_since(start));
                }
                // A proposal of a deposed leader may never commit: propose again.
                let deposed = self
                    .nodes
                    .get(&leader)
                    .is_none_or(|node| node.leader_term() != Some(term));
                if deposed {
                    target = None;
                }
            }
            if target.is_none() {
                if let Some(leader) = self.leader() {
                    let term = self.nodes[&leader].current_term();
                    target = self.propose(leader, 2).map(|index| (leader, term, index));
                }
            }
            if !self.step() {
                return None;
            }
        }
        None
    }

    /// How many distinct indices have been seen committed.
    pub fn committed_count(&self) -> usize {
        self.committed.len()
    }
}
