//! The leader side: becoming leader, appending with `acks`, serving follower fetches and
//! OffsetsForLeaderEpoch, advancing the high watermark and answering waiting produces.

use super::{
    AckId, AckStatus, Acks, AlterPartition, AppendOutcome, EpochEndOffset, EpochQuery,
    FetchResponse, FollowerFetch, PartitionReplica, ReplicaOutput, ReplicationError, Role,
    PENDING_ACKS_MAX,
};
use crate::bugs::PlantedBug;
use crate::controller::{BrokerId, LeaderEpoch, PartitionEpoch};
use crate::log::LogRead;
use crate::record::{set_partition_leader_epoch, Offset};
use crate::storage::Storage;
use crate::time::{Mono, Now};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, VecDeque};

/// What a leader knows about one follower.
#[derive(Clone, Copy, Debug)]
pub(super) struct FollowerProgress {
    /// Its log end offset as of its last valid fetch; unknown until it fetches in this epoch.
    pub log_end_offset: Option<Offset>,
    /// When it was last known to be at the leader's log end offset.
    pub last_caught_up: Mono,
    /// When it last fetched, and the leader's log end offset then (Kafka's rule for
    /// crediting catch-up to the previous fetch).
    pub last_fetch: Mono,
    pub last_fetch_leader_log_end: Offset,
    /// It is in the maximal ISR (confirmed, or added by a pending expansion) but fetched
    /// below the high watermark: it lost committed records (a crash before its data was
    /// durable, or a bug). It is shrunk out at once once confirmed, and does not count as in
    /// sync meanwhile.
    pub lost_committed: bool,
}

/// An `acks=all` produce waiting for the high watermark to pass `last_offset`.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingAck {
    pub id: AckId,
    pub last_offset: Offset,
}

/// A leader's state for one epoch.
pub(super) struct LeaderState {
    pub partition_epoch: PartitionEpoch,
    pub replicas: Vec<BrokerId>,
    /// The ISR the controller confirmed.
    pub isr: Vec<BrokerId>,
    /// The ISR change requested and not yet answered.
    pub in_flight: Option<AlterPartition>,
    /// When the in-flight request was (last) sent.
    pub in_flight_sent: Mono,
    pub followers: BTreeMap<BrokerId, FollowerProgress>,
    /// The log end offset when this epoch began.
    pub epoch_start_offset: Offset,
    pub pending_acks: VecDeque<PendingAck>,
    /// The highest high watermark this leader set in this epoch.
    pub high_watermark_floor: Offset,
}

impl LeaderState {
    /// The confirmed ISR plus members a pending expansion adds (KIP-497).
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut members = self.isr.clone();
        let pending = self.in_flight.iter().flat_map(|alter| alter.new_isr.iter());
        for &member in pending {
            if !members.contains(&member) {
                members.push(member);
            }
        }
        members
    }
}

impl<S: Storage> PartitionReplica<S> {
    /// Becomes (or stays) the leader in `leader_epoch` with this ISR and assignment. The
    /// epoch's start offset is recorded in the epoch cache (durably). A leader that stays
    /// leader keeps its waiting produces.
    pub fn become_leader(
        &mut self,
        now: Now,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        isr: Vec<BrokerId>,
        replicas: Vec<BrokerId>,
    ) -> Result<(), ReplicationError> {
        self.observe(now);
        self.check_new_epoch(leader_epoch)?;
        self.check_partition_state(&isr, &replicas)?;
        self.assign_epoch(leader_epoch)?;
        let pending_acks = match &mut self.role {
            Role::Leader(state) => std::mem::take(&mut state.pending_acks),
            _ => VecDeque::new(),
        };
        let log_end = self.log.log_end_offset();
        let progress = |in_isr: bool| FollowerProgress {
            log_end_offset: None,
            last_caught_up: if in_isr { now.mono } else { Mono(0) },
            last_fetch: now.mono,
            last_fetch_leader_log_end: log_end,
            lost_committed: false,
        };
        let followers = replicas
            .iter()
            .filter(|&&id| id != self.broker_id)
            .map(|&id| (id, progress(isr.contains(&id))))
            .collect();
        self.leader_epoch = Some(leader_epoch);
        self.role = Role::Leader(LeaderState {
            partition_epoch,
            replicas,
            isr,
            in_flight: None,
            in_flight_sent: now.mono,
            followers,
            epoch_start_offset: log_end,
            pending_acks,
            high_watermark_floor: self.high_watermark,
        });
        self.advance_high_watermark();
        self.check_invariants();
        Ok(())
    }

    /// The leader in its own ISR, every ISR member a replica.
    pub(super) fn check_partition_state(
        &self,
        isr: &[BrokerId],
        replicas: &[BrokerId],
    ) -> Result<(), ReplicationError> {
        let stranger = isr.iter().find(|id| !replicas.contains(id));
        let problem = if !isr.contains(&self.broker_id) {
            Some(format!("leader {} not in its ISR {isr:?}", self.broker_id))
        } else {
            stranger.map(|id| format!("ISR member {id} is not a replica of {replicas:?}"))
        };
        match problem {
            Some(detail) => Err(ReplicationError::InvalidPartitionState { detail }),
            None => Ok(()),
        }
    }

    /// Appends a producer's batch, stamped with the leader epoch. See the module docs for
    /// `acks`.
    pub fn append_as_leader(
        &mut self,
        now: Now,
        mut batch: BytesMut,
        acks: Acks,
    ) -> Result<AppendOutcome, ReplicationError> {
        self.observe(now);
        let ignore_isr = self.has_bug(PlantedBug::AcksAllIgnoresMinInsync);
        let min_insync_replicas = self.config.min_insync_replicas;
        let (epoch, state) = self.leader_state()?;
        let isr = state.isr.len();
        if acks == Acks::All && !ignore_isr && isr < min_insync_replicas {
            return Err(ReplicationError::NotEnoughReplicas {
                isr,
                min_insync_replicas,
            });
        }
        if acks == Acks::All && state.pending_acks.len() >= PENDING_ACKS_MAX {
            return Err(ReplicationError::Backpressure {
                limit: PENDING_ACKS_MAX,
            });
        }
        set_partition_leader_epoch(&mut batch, epoch.0);
        let appended = self.log.append(now, batch);
        self.drain_log();
        let info = appended?;
        self.advance_high_watermark();
        let ack = match acks {
            Acks::All if info.last_offset >= self.ack_bound() => {
                let id = AckId(self.next_ack_id);
                self.next_ack_id += 1;
                let last_offset = info.last_offset;
                let (_, state) = self.leader_state_mut().expect("checked above");
                state.pending_acks.push_back(PendingAck { id, last_offset });
                AckStatus::Waiting(id)
            }
            _ => AckStatus::Done,
        };
        self.check_invariants();
        Ok(AppendOutcome { info, ack })
    }

    /// Serves a follower's fetch: a diverging epoch if its log left the leader's, otherwise
    /// records from its fetch offset; records its progress, may request an ISR expansion and
    /// advance the high watermark.
    pub fn handle_follower_fetch(
        &mut self,
        now: Now,
        fetch: &FollowerFetch,
    ) -> Result<FetchResponse, ReplicationError> {
        self.observe(now);
        self.check_request_epoch(fetch.current_leader_epoch)?;
        self.check_replica(fetch.replica)?;
        if let Some(diverging) = self.diverging_epoch(fetch) {
            return Ok(self.fetch_response(fetch, Bytes::new(), Some(diverging)));
        }
        let read = self.read_for_follower(fetch)?;
        let follower_end = if self.has_bug(PlantedBug::HighWatermarkBeforeFollowerHasData) {
            // Planted bug: credits the follower with what is only being sent to it.
            read.next_offset.max(fetch.fetch_offset)
        } else {
            fetch.fetch_offset
        };
        self.record_follower_progress(now, fetch.replica, follower_end);
        self.maybe_shrink_isr(now);
        self.maybe_expand_isr(now, fetch.replica);
        self.advance_high_watermark();
        self.check_invariants();
        Ok(self.fetch_response(fetch, read.records, None))
    }

    /// Answers OffsetsForLeaderEpoch: where the largest epoch `<=` the asked one ends here.
    pub fn handle_offsets_for_leader_epoch(
        &self,
        query: &EpochQuery,
    ) -> Result<EpochEndOffset, ReplicationError> {
        self.check_request_epoch(query.current_leader_epoch)?;
        Ok(self
            .epochs
            .end_offset_for(query.leader_epoch, self.log.log_end_offset()))
    }

    fn fetch_response(
        &self,
        fetch: &FollowerFetch,
        records: Bytes,
        diverging_epoch: Option<EpochEndOffset>,
    ) -> FetchResponse {
        FetchResponse {
            leader_epoch: self.leader_epoch.expect("a leader has an epoch"),
            fetch_offset: fetch.fetch_offset,
            records,
            high_watermark: self.high_watermark,
            log_start_offset: self.log.log_start_offset(),
            diverging_epoch,
        }
    }

    /// KIP-320: the follower's last fetched epoch must end at or after its fetch offset here.
    fn diverging_epoch(&self, fetch: &FollowerFetch) -> Option<EpochEndOffset> {
        let last = fetch.last_fetched_epoch?;
        let end = self.epochs.end_offset_for(last, self.log.log_end_offset());
        (end.leader_epoch != last || end.end_offset < fetch.fetch_offset).then_some(end)
    }

    fn read_for_follower(&mut self, fetch: &FollowerFetch) -> Result<LogRead, ReplicationError> {
        let (log_start_offset, log_end_offset) =
            (self.log.log_start_offset(), self.log.log_end_offset());
        if fetch.fetch_offset < log_start_offset || fetch.fetch_offset > log_end_offset {
            return Err(ReplicationError::OffsetOutOfRange {
                requested: fetch.fetch_offset,
                log_start_offset,
                log_end_offset,
            });
        }
        Ok(self.log.read(fetch.fetch_offset, fetch.max_bytes)?)
    }

    /// Kafka's catch-up rule: at the leader's log end now, or at least at the leader's log
    /// end as of the previous fetch (then caught up as of that fetch).
    fn record_follower_progress(&mut self, now: Now, replica: BrokerId, follower_end: Offset) {
        let log_end = self.log.log_end_offset();
        let high_watermark = self.high_watermark;
        let Ok((_, state)) = self.leader_state_mut() else {
            return;
        };
        // The high watermark counted every member of the maximal ISR, so a pending member
        // fetching below it lost committed records as surely as a confirmed one.
        let in_isr = state.maximal_isr().contains(&replica);
        let Some(progress) = state.followers.get_mut(&replica) else {
            return;
        };
        progress.lost_committed = in_isr && follower_end < high_watermark;
        if follower_end >= log_end {
            progress.last_caught_up = progress.last_caught_up.max(now.mono);
        } else if follower_end >= progress.last_fetch_leader_log_end {
            progress.last_caught_up = progress.last_caught_up.max(progress.last_fetch);
        }
        progress.last_fetch = now.mono;
        progress.last_fetch_leader_log_end = log_end;
        progress.log_end_offset = Some(follower_end);
    }

    /// Raises the high watermark to the minimum log end offset over the maximal ISR (if all
    /// are known), then answers the produces it covers.
    pub(super) fn advance_high_watermark(&mut self) {
        let own = self.log.high_watermark();
        let broker_id = self.broker_id;
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let mut candidate = Some(own);
        for member in state.maximal_isr() {
            if member == broker_id {
                continue;
            }
            let known = state.followers.get(&member).and_then(|p| p.log_end_offset);
            candidate = candidate.zip(known).map(|(a, b)| a.min(b));
        }
        if let Some(candidate) = candidate.filter(|&c| c > self.high_watermark) {
            self.high_watermark = candidate;
            state.high_watermark_floor = candidate;
        }
        self.complete_pending_acks();
    }

    /// What an `acks=all` produce waits for: the high watermark (the leader's own bound
    /// under the planted bug).
    fn ack_bound(&self) -> Offset {
        if self.has_bug(PlantedBug::AcksAllIgnoresMinInsync) {
            return self.log.high_watermark();
        }
        self.high_watermark
    }

    /// Answers the produces the high watermark now covers. As Kafka's
    /// `checkEnoughReplicasReachOffset`, success also needs the confirmed ISR to have at
    /// least `min.insync.replicas` members *now*: an ISR that shrank while the produce
    /// waited (by an AlterPartition, or by a new leader epoch that came with a smaller ISR)
    /// answers `NotEnoughReplicasAfterAppend` instead, because the high watermark of a
    /// too-small ISR does not give the durability `acks=all` promises.
    fn complete_pending_acks(&mut self) {
        let bound = self.ack_bound();
        let min_insync_replicas = self.config.min_insync_replicas;
        let ignore_isr = self.has_bug(PlantedBug::AcksAllIgnoresMinInsync);
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let isr = state.isr.len();
        while let Some(pending) = state.pending_acks.front().copied() {
            if pending.last_offset >= bound {
                break;
            }
            state.pending_acks.pop_front();
            let result = match ignore_isr || isr >= min_insync_replicas {
                true => Ok(()),
                false => Err(ReplicationError::NotEnoughReplicasAfterAppend {
                    isr,
                    min_insync_replicas,
                }),
            };
            self.outputs.push_back(ReplicaOutput::AckCompleted {
                id: pending.id,
                result,
            });
        }
    }

    /// Answers every waiting produce with `error`.
    pub(super) fn fail_pending_acks(&mut self, error: ReplicationError) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        for pending in std::mem::take(&mut state.pending_acks) {
            self.outputs.push_back(ReplicaOutput::AckCompleted {
                id: pending.id,
                result: Err(error.clone()),
            });
        }
    }

    pub(super) fn leader_state(&self) -> Result<(LeaderEpoch, &LeaderState), ReplicationError> {
        match (&self.role, self.leader_epoch) {
            (Role::Leader(state), Some(epoch)) => Ok((epoch, state)),
            _ => Err(ReplicationError::NotLeaderOrFollower {
                leader: self.leader(),
            }),
        }
    }

    pub(super) fn leader_state_mut(
        &mut self,
    ) -> Result<(LeaderEpoch, &mut LeaderState), ReplicationError> {
        let leader = self.leader();
        match (&mut self.role, self.leader_epoch) {
            (Role::Leader(state), Some(epoch)) => Ok((epoch, state)),
            _ => Err(ReplicationError::NotLeaderOrFollower { leader }),
        }
    }

    /// A request from a follower must carry exactly the leader's epoch.
    fn check_request_epoch(&self, received: LeaderEpoch) -> Result<(), ReplicationError> {
        let (current, _) = self.leader_state()?;
        if received < current {
            return Err(ReplicationError::FencedLeaderEpoch { current, received });
        }
        if received > current {
            return Err(ReplicationError::UnknownLeaderEpoch { current, received });
        }
        Ok(())
    }

    fn check_replica(&self, replica: BrokerId) -> Result<(), ReplicationError> {
        let (_, state) = self.leader_state()?;
        if replica == self.broker_id || !state.followers.contains_key(&replica) {
            return Err(ReplicationError::UnknownReplica { replica });
        }
        Ok(())
    }
}
