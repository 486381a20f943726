//! A 3-replica harness for the replication tests: three `PartitionReplica`s on their own
//! `SimDisk`s, a tiny controller (leader, epochs, ISR; applies AlterPartition requests when
//! told to), message passing done synchronously by the test, and the checks the tests assert.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use odradek_core::controller::{BrokerId, LeaderEpoch, PartitionEpoch};
use odradek_core::log::{FlushPolicy, LogConfig, SyncRequest};
use odradek_core::record::{Offset, RecordBatchBuilder};
use odradek_core::replication::{
    elect_leader, AckId, AckStatus, Acks, AlterPartition, AppendOutcome, FollowerRequest,
    PartitionReplica, ReplicaOutput, ReplicationConfig, ReplicationError,
};
use odradek_core::time::{Mono, Now};
use odradek_sim::disk::SimDisk;
use std::collections::BTreeMap;

/// A batch with one record per value.
pub fn batch(values: &[&str]) -> BytesMut {
    values
        .iter()
        .fold(RecordBatchBuilder::new(0), |b, v| b.value(0, v.as_bytes()))
        .build()
}

/// `Now` at `ms` milliseconds on both clocks.
pub fn at_ms(ms: u64) -> Now {
    Now {
        mono: Mono(0).plus_millis(ms),
        wall_ms: ms as i64,
    }
}

/// Broker id of replica index `i` (brokers 1, 2, 3).
pub fn broker(i: usize) -> BrokerId {
    BrokerId(i as i32 + 1)
}

/// One broker: its disk, its replica, its un-performed syncs.
pub struct Member {
    pub disk: SimDisk,
    pub replica: PartitionReplica<SimDisk>,
    pub pending_syncs: Vec<SyncRequest>,
}

/// Three replicas and a controller. See the module docs.
pub struct Cluster {
    pub members: Vec<Member>,
    pub log_config: LogConfig,
    pub config: ReplicationConfig,
    pub now_ms: u64,
    pub leader: usize,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    /// The ISR the controller committed.
    pub isr: Vec<BrokerId>,
    /// AlterPartition requests not yet delivered to the controller.
    pub alter_requests: Vec<AlterPartition>,
    /// Answers of `acks=all` produces, by id.
    pub completed: BTreeMap<AckId, Result<(), ReplicationError>>,
    /// `acks=all` produces waiting: id → (base offset, stored batch bytes).
    pub waiting: BTreeMap<AckId, (Offset, Bytes)>,
    /// Records acknowledged with `acks=all`: base offset → stored batch bytes.
    pub acknowledged: BTreeMap<Offset, Bytes>,
    /// Batches a consumer read from a leader: base offset → batch bytes.
    pub consumed: BTreeMap<Offset, Bytes>,
    /// Sync requests are performed as soon as they are output.
    pub auto_sync: bool,
}

pub fn replicas() -> Vec<BrokerId> {
    (0..3).map(broker).collect()
}

impl Cluster {
    /// Replica 0 leads epoch 0 with every replica in the ISR; the others follow.
    pub fn new(log_config: LogConfig, config: ReplicationConfig) -> Cluster {
        let members = (0..3)
            .map(|i| {
                let disk = SimDisk::new(i as u64 + 1);
                let (replica, _) = PartitionReplica::open(
                    disk.clone(),
                    log_config.clone(),
                    config.clone(),
                    broker(i),
                    at_ms(0),
                )
                .expect("open");
                Member {
                    disk,
                    replica,
                    pending_syncs: Vec::new(),
                }
            })
            .collect();
        let mut cluster = Cluster {
            members,
            log_config,
            config,
            now_ms: 0,
            leader: 0,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(0),
            isr: replicas(),
            alter_requests: Vec::new(),
            completed: BTreeMap::new(),
            waiting: BTreeMap::new(),
            acknowledged: BTreeMap::new(),
            consumed: BTreeMap::new(),
            auto_sync: true,
        };
        cluster.assign_roles();
        cluster
    }

    /// A cluster with `FlushPolicy::Never` and `min.insync.replicas`.
    pub fn simple(min_insync_replicas: usize) -> Cluster {
        Cluster::new(
            LogConfig::default(),
            ReplicationConfig {
                min_insync_replicas,
                replica_lag_time_max_ms: 100,
                ..ReplicationConfig::default()
            },
        )
    }

    pub fn now(&self) -> Now {
        at_ms(self.now_ms)
    }

    pub fn replica(&mut self, i: usize) -> &mut PartitionReplica<SimDisk> {
        &mut self.members[i].replica
    }

    /// Tells every replica its role from the controller's state.
    pub fn assign_roles(&mut self) {
        let now = self.now();
        let (leader, epoch, pe) = (self.leader, self.leader_epoch, self.partition_epoch);
        let isr = self.isr.clone();
        self.members[leader]
            .replica
            .become_leader(now, epoch, pe, isr, replicas())
            .expect("become leader");
        for i in (0..3).filter(|&i| i != leader) {
            self.members[i]
                .replica
                .become_follower(now, broker(leader), epoch)
                .expect("become follower");
        }
        self.drain_all();
    }

    /// Moves every output of replica `i` where it goes.
    pub fn drain(&mut self, i: usize) {
        self.collect_outputs(i);
        while self.auto_sync && !self.members[i].pending_syncs.is_empty() {
            self.sync(i);
        }
    }

    fn collect_outputs(&mut self, i: usize) {
        while let Some(output) = self.members[i].replica.poll_output() {
            match output {
                ReplicaOutput::Sync(request) => self.members[i].pending_syncs.push(request),
                ReplicaOutput::AlterPartition(request) => self.alter_requests.push(request),
                ReplicaOutput::AckCompleted { id, result } => {
                    let stored = self.waiting.remove(&id).expect("known ack");
                    if result.is_ok() {
                        self.acknowledged.insert(stored.0, stored.1);
                    }
                    self.completed.insert(id, result);
                }
            }
        }
    }

    pub fn drain_all(&mut self) {
        for i in 0..3 {
            self.drain(i);
        }
    }

    /// Performs replica `i`'s requested syncs.
    pub fn sync(&mut self, i: usize) {
        let now = self.now();
        let requests = std::mem::take(&mut self.members[i].pending_syncs);
        for request in requests {
            let _ = self.members[i].replica.perform_sync(now, &request);
        }
        self.collect_outputs(i);
    }

    /// Produces `values` as one batch to the leader.
    pub fn produce(
        &mut self,
        values: &[&str],
        acks: Acks,
    ) -> Result<AppendOutcome, ReplicationError> {
        let now = self.now();
        let leader = self.leader;
        let outcome = self.members[leader]
            .replica
            .append_as_leader(now, batch(values), acks)?;
        let base = outcome.info.base_offset;
        let stored = self.members[leader]
            .replica
            .read(base, 1)
            .expect("read")
            .records;
        match outcome.ack {
            AckStatus::Waiting(id) => {
                self.waiting.insert(id, (base, stored));
            }
            AckStatus::Done if acks == Acks::All => {
                self.acknowledged.insert(base, stored);
            }
            AckStatus::Done => {}
        }
        self.drain(leader);
        Ok(outcome)
    }

    /// Follower `i` sends its next request to the leader it knows and applies the answer.
    /// Returns whether a request was sent.
    pub fn fetch(&mut self, i: usize) -> bool {
        let now = self.now();
        let Some(request) = self.members[i].replica.next_request() else {
            return false;
        };
        let Some(target) = self.members[i].replica.leader() else {
            return false;
        };
        let leader = (0..3).find(|&j| broker(j) == target).expect("a replica");
        match request {
            FollowerRequest::OffsetsForLeaderEpoch(query) => {
                let answer = self.members[leader]
                    .replica
                    .handle_offsets_for_leader_epoch(&query);
                if let Ok(answer) = answer {
                    self.members[i]
                        .replica
                        .handle_epoch_end_offset(now, query.current_leader_epoch, answer)
                        .expect("truncate");
                }
            }
            FollowerRequest::Fetch(fetch) => {
                let response = self.members[leader]
                    .replica
                    .handle_follower_fetch(now, &fetch);
                self.drain(leader);
                if let Ok(response) = response {
                    self.members[i]
                        .replica
                        .handle_fetch_response(now, &response)
                        .expect("apply fetch response");
                }
            }
        }
        self.drain(i);
        true
    }

    /// Follower `i`'s next fetch reaches the leader, but the answer is lost on the way back.
    pub fn fetch_lost(&mut self, i: usize) {
        let now = self.now();
        let (Some(FollowerRequest::Fetch(fetch)), Some(target)) = (
            self.members[i].replica.next_request(),
            self.members[i].replica.leader(),
        ) else {
            return;
        };
        let leader = (0..3).find(|&j| broker(j) == target).expect("a replica");
        let _ = self.members[leader]
            .replica
            .handle_follower_fetch(now, &fetch);
        self.drain(leader);
    }

    /// A consumer reads everything the leader serves it; what it saw is remembered.
    pub fn consume(&mut self) {
        let leader = &mut self.members[self.leader].replica;
        let mut from = leader.log_start_offset();
        loop {
            let Ok(read) = leader.read_for_consumer(from, 1) else {
                return;
            };
            if read.records.is_empty() {
                return;
            }
            self.consumed.insert(read.first_offset, read.records);
            from = read.next_offset;
        }
    }

    /// Fetches until no follower sends anything new or `rounds` rounds passed.
    pub fn replicate(&mut self, rounds: usize) {
        for _ in 0..rounds {
            let leader = self.leader;
            for i in (0..3).filter(|&i| i != leader) {
                self.fetch(i);
            }
        }
    }

    /// Delivers the AlterPartition requests to the controller, which commits those based on
    /// the current epochs and rejects the others.
    pub fn controller_apply(&mut self) {
        let now = self.now();
        for request in std::mem::take(&mut self.alter_requests) {
            let current = request.leader_epoch == self.leader_epoch
                && request.partition_epoch == self.partition_epoch;
            let leader = &mut self.members[self.leader].replica;
            if current {
                self.partition_epoch = self.partition_epoch.next();
                self.isr = request.new_isr.clone();
                leader
                    .handle_isr_update(now, self.partition_epoch, self.isr.clone())
                    .expect("isr update");
            } else if leader.leader_epoch() == Some(request.leader_epoch) {
                leader.handle_alter_partition_rejected(now);
            }
        }
        self.drain_all();
    }

    /// Advances time and runs the leader's timers.
    pub fn tick(&mut self, ms: u64) {
        self.now_ms += ms;
        let now = self.now();
        for i in 0..3 {
            self.members[i]
                .replica
                .handle_timeout(now)
                .expect("timeout");
        }
        self.drain_all();
    }

    /// Clean election of `new_leader` (must be in the ISR) in the next epoch.
    pub fn elect(&mut self, new_leader: usize) {
        assert!(
            self.isr.contains(&broker(new_leader)),
            "clean election only"
        );
        self.elect_any(new_leader);
    }

    /// Election of `new_leader` in the next epoch, in the ISR or not (an unclean election
    /// makes it the whole ISR, as Kafka does).
    pub fn elect_any(&mut self, new_leader: usize) {
        if !self.isr.contains(&broker(new_leader)) {
            self.isr = vec![broker(new_leader)];
        }
        self.leader = new_leader;
        self.leader_epoch = self.leader_epoch.next();
        self.partition_epoch = self.partition_epoch.next();
        self.alter_requests.clear();
        self.assign_roles();
    }

    /// Power loss of replica `i` and restart from its disk. The controller fences it: out
    /// of the ISR (unless it is the last member), and a new leader if it led.
    pub fn crash(&mut self, i: usize) {
        let now = self.now();
        let member = &mut self.members[i];
        member.disk.crash();
        member.pending_syncs.clear();
        let (replica, _) = PartitionReplica::open(
            member.disk.clone(),
            self.log_config.clone(),
            self.config.clone(),
            broker(i),
            now,
        )
        .expect("reopen");
        member.replica = replica;
        self.waiting.retain(|_, _| i != self.leader);
        let me = broker(i);
        let others: Vec<BrokerId> = self.isr.iter().copied().filter(|&b| b != me).collect();
        if !others.is_empty() && self.isr.contains(&me) {
            self.isr = others;
        }
        if i == self.leader {
            let alive: Vec<BrokerId> = replicas().into_iter().filter(|&b| b != me).collect();
            let new_leader = elect_leader(&replicas(), &self.isr, &alive, false)
                .map_or(i, |b| (b.0 - 1) as usize);
            self.elect(new_leader);
        } else {
            self.partition_epoch = self.partition_epoch.next();
            self.alter_requests.clear();
            let leader = self.leader;
            let (pe, isr) = (self.partition_epoch, self.isr.clone());
            self.members[leader]
                .replica
                .handle_isr_update(now, pe, isr)
                .expect("isr update");
            let epoch = self.leader_epoch;
            self.members[i]
                .replica
                .become_follower(now, broker(leader), epoch)
                .expect("follow");
            self.drain_all();
        }
    }

    /// Every batch of replica `i` wholly below `bound`.
    pub fn batches_below(&mut self, i: usize, bound: Offset) -> Vec<Bytes> {
        let replica = &mut self.members[i].replica;
        let mut from = replica.log_start_offset();
        let mut batches = Vec::new();
        while from < bound {
            let read = replica.read(from, 1).expect("read");
            if read.records.is_empty() || read.next_offset > bound {
                break;
            }
            batches.push(read.records);
            from = read.next_offset;
        }
        batches
    }

    /// The stored batch of replica `i` containing `offset`, if it has one.
    pub fn batch_at(&mut self, i: usize, offset: Offset) -> Option<Bytes> {
        let replica = &mut self.members[i].replica;
        if offset >= replica.log_end_offset() {
            return None;
        }
        Some(replica.read(offset, 1).expect("read").records)
    }

    /// The safety properties; a description of the first violation.
    pub fn violation(&mut self) -> Option<String> {
        for i in 0..3 {
            if let Some(v) = self.members[i].replica.invariant_violation() {
                return Some(format!("replica {i}: {v}"));
            }
        }
        let acknowledged = self
            .acknowledged
            .iter()
            .map(|(o, b)| ("acknowledged", o, b));
        let consumed = self.consumed.iter().map(|(o, b)| ("consumed", o, b));
        let seen: Vec<(&str, Offset, Bytes)> = acknowledged
            .chain(consumed)
            .map(|(what, o, b)| (what, *o, b.clone()))
            .collect();
        for (what, offset, stored) in seen {
            for member in self.isr.clone() {
                let i = (member.0 - 1) as usize;
                if self.batch_at(i, offset).as_ref() != Some(&stored) {
                    return Some(format!(
                        "{what} batch at {offset} missing or different on ISR member {member}"
                    ));
                }
            }
        }
        for a in 0..3 {
            for b in a + 1..3 {
                let bound = self.members[a]
                    .replica
                    .high_watermark()
                    .min(self.members[b].replica.high_watermark());
                if self.batches_below(a, bound) != self.batches_below(b, bound) {
                    return Some(format!("replicas {a} and {b} disagree below {bound}"));
                }
            }
        }
        None
    }

    pub fn assert_safe(&mut self) {
        if let Some(violation) = self.violation() {
            panic!("{violation}");
        }
    }
}

/// A log configuration that syncs every batch (durability matters across crashes).
pub fn syncing() -> LogConfig {
    LogConfig {
        flush_policy: FlushPolicy::EveryBatch,
        ..LogConfig::default()
    }
}
