//! A partition replica, following Kafka's replication design: a pure state machine that owns
//! one [`PartitionLog`] and its [`LeaderEpochCache`], and is either leader or follower.
//!
//! # Contract
//! - **Roles** come from the controller: [`PartitionReplica::become_leader`] and
//!   [`PartitionReplica::become_follower`], each with a leader epoch that never decreases.
//!   A new leader records its epoch's start offset (its log end offset) in the epoch cache.
//! - **Leader.** [`PartitionReplica::append_as_leader`] stamps the leader epoch into the batch
//!   and appends it. `acks=all` is refused with `NotEnoughReplicas` when the ISR is smaller
//!   than `min.insync.replicas`, and otherwise answered once the high watermark passes the
//!   batch ([`ReplicaOutput::AckCompleted`]); if the ISR shrinks below the minimum while it
//!   waits, it fails with `NotEnoughReplicasAfterAppend`. Followers fetch with
//!   [`PartitionReplica::handle_follower_fetch`]: a fetch whose last fetched epoch and offset
//!   are not on the leader's log gets a diverging epoch (KIP-320) and no records; otherwise
//!   the fetch offset becomes the follower's known log end offset.
//! - **ISR.** A follower is caught up when its log end offset reaches the high watermark and
//!   the start of the current leader epoch (Kafka's rule, KAFKA-7128); one that has not been
//!   at the leader's log end offset for `replica.lag.time.max.ms` is lagging. Expansion and
//!   shrinking are *requests* ([`ReplicaOutput::AlterPartition`], one in flight at a time),
//!   applied only when the controller confirms with [`PartitionReplica::handle_isr_update`];
//!   an unanswered request is sent again after [`ALTER_PARTITION_RETRY_MS`]. A refused one
//!   ([`PartitionReplica::handle_alter_partition_rejected`]) stays pending and is resent
//!   too: a refusal does not prove the request was not committed (a deposed controller
//!   answers `NotController` for a change its successor commits), so only the controller's
//!   state with a newer partition epoch resolves it.
//! - **High watermark** = the minimum log end offset over the *maximal* ISR: the confirmed
//!   ISR plus any member a pending expansion adds (KIP-497: the controller may already have
//!   committed the expansion, and an elected member must have everything committed). The
//!   leader's own contribution is its log's servable bound (its durable offset under a syncing
//!   flush policy). It never decreases while one replica leads one epoch.
//! - **Follower.** After becoming a follower it first asks the leader where its latest epoch
//!   ends ([`FollowerRequest::OffsetsForLeaderEpoch`]) and truncates there (KIP-101/KIP-279),
//!   then fetches ([`PartitionReplica::next_request`], [`PartitionReplica::handle_fetch_response`]),
//!   truncating again on a diverging epoch; never to its high watermark. Its high watermark is
//!   `min(leader's, own log end offset)`. Under a syncing flush policy it does not fetch again
//!   until what it fetched is durable, so its fetch offset only vouches for durable records.
//! - **Consumers** read below [`PartitionReplica::consumer_read_bound`], the high watermark.
//! - **Ordering.** Stale answers (another epoch, another fetch offset) are ignored. The leader
//!   expects a follower's fetches in order, as Kafka's one TCP connection per follower gives:
//!   an old fetch delivered late looks like a follower that lost records, which the leader
//!   shrinks out of the ISR (an availability cost, never a safety one).
//!
//! # Durability
//! The epoch cache is checkpointed (synchronously, atomically) before a batch of a new epoch
//! is appended and after truncations; recovery ([`PartitionReplica::open`]) drops epochs past
//! the recovered log end; retention (in `handle_timeout`) drops epochs before the log start.
//! The high watermark is not persisted: a reopened replica starts from
//! its log start offset and learns the rest from its leader.
//!
//! # Invariants
//! [`PartitionReplica::check_invariants`] (after every call): `log_start <= HW <= LEO`;
//! epochs strictly increase with non-decreasing start offsets, none past the log end; a
//! leader is in its own ISR, its HW is at most every ISR member's known log end offset (but
//! for a member that fetched below the HW while in the maximal ISR, i.e. lost committed
//! records in a crash, which the leader asks to remove from the ISR at once rather than
//! trust), and
//! its HW never decreased during its epoch.
//!
//! # Planted bugs
//! `AcksAllIgnoresMinInsync`, `TruncateToHighWatermark`, `ServeBeyondHighWatermark` and
//! `HighWatermarkBeforeFollowerHasData` ([`crate::bugs`]), read from the log configuration.

mod config;
mod election;
mod epoch_cache;
mod error;
mod follower;
mod invariants;
mod isr;
mod leader;
mod output;

pub use config::{ReplicationConfig, ALTER_PARTITION_RETRY_MS, PENDING_ACKS_MAX};
pub use election::elect_leader;
pub use epoch_cache::{EpochEntry, LeaderEpochCache, CHECKPOINT_FILE};
pub use error::ReplicationError;
pub use output::{
    AckId, AckStatus, Acks, AlterPartition, AppendOutcome, EpochEndOffset, EpochQuery,
    FetchResponse, FollowerFetch, FollowerRequest, ReplicaOutput,
};

use crate::bugs::PlantedBug;
use crate::controller::{BrokerId, LeaderEpoch};
use crate::log::{
    LogConfig, LogOutput, LogRead, PartitionLog, RecoveryReport, SyncId, SyncRequest,
};
use crate::record::Offset;
use crate::storage::{Storage, StorageError};
use crate::time::{Mono, Now};
use leader::LeaderState;
use std::collections::VecDeque;

/// What a replica currently is.
enum Role {
    /// No role assigned since it was opened.
    Offline,
    Leader(LeaderState),
    Follower(FollowerState),
}

/// A follower's progress.
struct FollowerState {
    leader: BrokerId,
    /// Waiting for the leader's answer to OffsetsForLeaderEpoch before fetching.
    awaiting_epoch_end: bool,
}

/// One replica of one partition. See the module docs.
pub struct PartitionReplica<S: Storage> {
    broker_id: BrokerId,
    config: ReplicationConfig,
    log: PartitionLog<S>,
    epochs: LeaderEpochCache,
    leader_epoch: Option<LeaderEpoch>,
    role: Role,
    high_watermark: Offset,
    /// The epoch cache changed but its checkpoint could not be written: it is written again
    /// before anything else is appended (see `save_epochs`).
    epochs_unsaved: bool,
    outputs: VecDeque<ReplicaOutput>,
    next_ack_id: u64,
    last_now: Mono,
}

impl<S: Storage> PartitionReplica<S> {
    /// Opens (recovering) the log and the epoch checkpoint in `storage`; the replica starts
    /// without a role.
    pub fn open(
        storage: S,
        log_config: LogConfig,
        config: ReplicationConfig,
        broker_id: BrokerId,
        now: Now,
    ) -> Result<(PartitionReplica<S>, RecoveryReport), ReplicationError> {
        let (mut log, report) = PartitionLog::open(storage, log_config, now)?;
        let mut epochs = LeaderEpochCache::load(log.storage_mut())?;
        let cut_end = epochs.truncate_from_end(log.log_end_offset());
        let cut_start = epochs.truncate_from_start(log.log_start_offset());
        if cut_end || cut_start {
            epochs.persist(log.storage_mut())?;
        }
        let high_watermark = log.log_start_offset();
        let mut replica = PartitionReplica {
            broker_id,
            config,
            log,
            epochs,
            leader_epoch: None,
            role: Role::Offline,
            high_watermark,
            epochs_unsaved: false,
            outputs: VecDeque::new(),
            next_ack_id: 0,
            last_now: now.mono,
        };
        replica.drain_log();
        replica.check_invariants();
        Ok((replica, report))
    }

    /// This replica's broker.
    pub fn broker_id(&self) -> BrokerId {
        self.broker_id
    }

    /// The current leader epoch, once a role was assigned.
    pub fn leader_epoch(&self) -> Option<LeaderEpoch> {
        self.leader_epoch
    }

    /// Is this replica the leader?
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The leader this replica knows of (itself when leading).
    pub fn leader(&self) -> Option<BrokerId> {
        match &self.role {
            Role::Offline => None,
            Role::Leader(_) => Some(self.broker_id),
            Role::Follower(state) => Some(state.leader),
        }
    }

    /// What consumers may read: every offset below this is on the whole ISR.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// The offset the next record will get.
    pub fn log_end_offset(&self) -> Offset {
        self.log.log_end_offset()
    }

    /// The first offset still in the log.
    pub fn log_start_offset(&self) -> Offset {
        self.log.log_start_offset()
    }

    /// The epoch cache.
    pub fn epochs(&self) -> &LeaderEpochCache {
        &self.epochs
    }

    /// The log (read-only; reads go through [`PartitionReplica::read`]).
    pub fn log(&self) -> &PartitionLog<S> {
        &self.log
    }

    /// The log, mutably, for drivers that need its storage (a final fsync of every file at
    /// shutdown). Never append, truncate or sync through it: the replica would not know.
    pub fn log_mut(&mut self) -> &mut PartitionLog<S> {
        &mut self.log
    }

    /// The bound below which consumers are served: the high watermark.
    pub fn consumer_read_bound(&self) -> Offset {
        if self.has_bug(PlantedBug::ServeBeyondHighWatermark) {
            // Planted bug: consumers see what the ISR may not have yet (Redpanda #5090 style).
            return self.log.log_end_offset();
        }
        self.high_watermark
    }

    /// A consumer read: whole batches from `from`, none ending past
    /// [`PartitionReplica::consumer_read_bound`].
    pub fn read_for_consumer(
        &mut self,
        from: Offset,
        max_bytes: usize,
    ) -> Result<LogRead, ReplicationError> {
        let bound = self.consumer_read_bound();
        Ok(self.log.read_until(from, max_bytes, bound)?)
    }

    /// Any read of the local log up to its end (tests, tools, checkers).
    pub fn read(&mut self, from: Offset, max_bytes: usize) -> Result<LogRead, ReplicationError> {
        Ok(self.log.read(from, max_bytes)?)
    }

    /// The next effect to perform, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<ReplicaOutput> {
        self.outputs.pop_front()
    }

    /// When [`PartitionReplica::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Option<Mono> {
        [self.log.poll_timeout(), self.isr_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs due timers: the log's (flush interval, retention) and ISR shrinking.
    pub fn handle_timeout(&mut self, now: Now) -> Result<(), ReplicationError> {
        self.observe(now);
        self.log.handle_timeout(now)?;
        self.drain_log();
        if self.epochs.truncate_from_start(self.log.log_start_offset()) || self.epochs_unsaved {
            self.save_epochs()?;
        }
        self.high_watermark = self.high_watermark.max(self.log.log_start_offset());
        self.maybe_resend_alter_partition(now);
        self.maybe_shrink_isr(now);
        self.advance_high_watermark();
        self.check_invariants();
        Ok(())
    }

    /// Reports the outcome of a [`ReplicaOutput::Sync`]; a leader's high watermark may move.
    pub fn handle_synced(&mut self, now: Now, id: SyncId, result: Result<(), StorageError>) {
        self.observe(now);
        self.log.handle_synced(now, id, result);
        self.advance_high_watermark();
        self.check_invariants();
    }

    /// Performs a sync request against the log's own storage and reports it: for drivers
    /// that may block (tests, tools).
    pub fn perform_sync(&mut self, now: Now, request: &SyncRequest) -> Result<(), StorageError> {
        let result = request
            .files
            .iter()
            .try_for_each(|file| self.log.storage_mut().sync(file));
        self.handle_synced(now, request.id, result.clone());
        result
    }

    /// Becomes a follower of `leader` in `leader_epoch`. A leader fails its waiting
    /// `acks=all` produces with `NotLeaderOrFollower`. The follower first asks the leader
    /// where its latest epoch ends (see [`PartitionReplica::next_request`]).
    pub fn become_follower(
        &mut self,
        now: Now,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
    ) -> Result<(), ReplicationError> {
        self.observe(now);
        self.check_new_epoch(leader_epoch)?;
        if leader == self.broker_id {
            return Err(ReplicationError::InvalidPartitionState {
                detail: format!("broker {leader} told to follow itself"),
            });
        }
        let same = matches!(&self.role, Role::Follower(s) if s.leader == leader)
            && self.leader_epoch == Some(leader_epoch);
        if same {
            return Ok(());
        }
        self.fail_pending_acks(ReplicationError::NotLeaderOrFollower {
            leader: Some(leader),
        });
        self.leader_epoch = Some(leader_epoch);
        let mut awaiting_epoch_end = self.epochs.latest_epoch().is_some();
        if self.has_bug(PlantedBug::TruncateToHighWatermark) {
            // Planted bug: pre-KIP-101 truncation to the (possibly stale) high watermark.
            self.truncate_log(now, self.high_watermark)?;
            awaiting_epoch_end = false;
        }
        self.role = Role::Follower(FollowerState {
            leader,
            awaiting_epoch_end,
        });
        self.check_invariants();
        Ok(())
    }

    /// Refuses an epoch older than the current one or than the newest in the log.
    fn check_new_epoch(&self, leader_epoch: LeaderEpoch) -> Result<(), ReplicationError> {
        let current = self.leader_epoch.max(self.epochs.latest_epoch());
        match current {
            Some(current) if leader_epoch < current => Err(ReplicationError::FencedLeaderEpoch {
                current,
                received: leader_epoch,
            }),
            _ => Ok(()),
        }
    }

    /// Truncates the log to `target` (or the batch boundary below it), then the epoch cache
    /// and the high watermark with it.
    fn truncate_log(&mut self, now: Now, target: Offset) -> Result<(), ReplicationError> {
        let target = target.max(self.log.log_start_offset());
        let new_end = self.log.truncate_to(now, target)?;
        if self.epochs.truncate_from_end(new_end) || self.epochs_unsaved {
            self.save_epochs()?;
        }
        self.high_watermark = self.high_watermark.min(new_end);
        if self.log.high_watermark() < self.log.log_end_offset() {
            // The truncation dropped the log's syncs in flight: ask again, or a follower
            // under a syncing flush policy (which fetches only once what it has is durable)
            // would wait forever.
            self.log.request_sync();
        }
        self.drain_log();
        Ok(())
    }

    /// Records a new epoch starting at the log end offset, durably, if it is new. Called
    /// before every append of a follower's batch and when becoming leader, so it also writes
    /// a checkpoint an earlier attempt failed to write.
    fn assign_epoch(&mut self, leader_epoch: LeaderEpoch) -> Result<(), ReplicationError> {
        let assigned = self.epochs.assign(leader_epoch, self.log.log_end_offset());
        if assigned || self.epochs_unsaved {
            self.save_epochs()?;
        }
        Ok(())
    }

    /// Writes the epoch checkpoint. On failure the cache stays marked unsaved, so the next
    /// append writes it again first: a batch whose epoch is only in memory would survive a
    /// crash with its epoch missing from the recovered cache, which then answers
    /// OffsetsForLeaderEpoch and diverging-epoch checks wrongly (followers truncating and
    /// refetching the same batches forever; the simulator found that, seed 2047).
    fn save_epochs(&mut self) -> Result<(), ReplicationError> {
        let saved = self.epochs.persist(self.log.storage_mut());
        self.epochs_unsaved = saved.is_err();
        saved
    }

    fn has_bug(&self, bug: PlantedBug) -> bool {
        self.log.config().planted_bugs.has(bug)
    }

    fn drain_log(&mut self) {
        while let Some(LogOutput::Sync(request)) = self.log.poll_output() {
            self.outputs.push_back(ReplicaOutput::Sync(request));
        }
    }

    fn observe(&mut self, now: Now) {
        assert!(now.mono >= self.last_now, "monotonic time went backwards");
        self.last_now = now.mono;
    }
}
