//! ISR changes on the leader: requesting expansion when a follower catches up, shrinking when
//! one lags for `replica.lag.time.max.ms`, and applying the controller's answer. Requests are
//! [`ReplicaOutput::AlterPartition`] outputs, at most one in flight.

use super::{
    AlterPartition, PartitionReplica, ReplicaOutput, ReplicationError, Role,
    ALTER_PARTITION_RETRY_MS,
};
use crate::controller::{BrokerId, PartitionEpoch};
use crate::storage::Storage;
use crate::time::{Mono, Now};

impl<S: Storage> PartitionReplica<S> {
    /// Applies an ISR the controller committed (answering an AlterPartition, or a change it
    /// made itself, e.g. fencing a broker) if `partition_epoch` is newer than the leader's.
    /// A shrink below `min.insync.replicas` fails the waiting `acks=all` produces with
    /// `NotEnoughReplicasAfterAppend`. A new member that fetched below the high watermark
    /// while its expansion was pending lost committed records: it is asked out at once.
    pub fn handle_isr_update(
        &mut self,
        now: Now,
        partition_epoch: PartitionEpoch,
        isr: Vec<BrokerId>,
    ) -> Result<(), ReplicationError> {
        self.observe(now);
        let (_, state) = self.leader_state()?;
        if partition_epoch <= state.partition_epoch {
            return Ok(());
        }
        let replicas = state.replicas.clone();
        self.check_partition_state(&isr, &replicas)?;
        let min_insync_replicas = self.config.min_insync_replicas;
        let isr_len = isr.len();
        let (_, state) = self.leader_state_mut()?;
        state.partition_epoch = partition_epoch;
        state.isr = isr;
        state.in_flight = None;
        if isr_len < min_insync_replicas {
            self.fail_pending_acks(ReplicationError::NotEnoughReplicasAfterAppend {
                isr: isr_len,
                min_insync_replicas,
            });
        }
        self.maybe_shrink_isr(now);
        self.advance_high_watermark();
        self.check_invariants();
        Ok(())
    }

    /// The controller refused the in-flight AlterPartition. The leader cannot tell whether
    /// the request was applied anyway: a controller that proposed it and then lost its
    /// leadership answers `NotController` while its successor commits the change, and a
    /// resent copy of a committed request is refused as stale (`InvalidUpdateVersion`). So
    /// the request stays pending, its members stay in the maximal ISR (the high watermark
    /// keeps waiting for them), and it is sent again after [`ALTER_PARTITION_RETRY_MS`]
    /// until the controller's state with a newer partition epoch arrives through
    /// [`PartitionReplica::handle_isr_update`] (Kafka likewise keeps a pending ISR state
    /// after a stale-version or fenced-epoch error until new metadata replaces it).
    pub fn handle_alter_partition_rejected(&mut self, now: Now) {
        self.observe(now);
        self.check_invariants();
    }

    /// Requests adding `replica` to the ISR if it caught up (Kafka: its log end offset is at
    /// least the high watermark and the start offset of the current leader epoch).
    pub(super) fn maybe_expand_isr(&mut self, now: Now, replica: BrokerId) {
        let high_watermark = self.high_watermark;
        let Ok((leader_epoch, state)) = self.leader_state_mut() else {
            return;
        };
        if state.in_flight.is_some() || state.isr.contains(&replica) {
            return;
        }
        let caught_up = state
            .followers
            .get(&replica)
            .and_then(|p| p.log_end_offset)
            .is_some_and(|end| end >= high_watermark && end >= state.epoch_start_offset);
        if !caught_up {
            return;
        }
        let mut new_isr = state.isr.clone();
        new_isr.push(replica);
        let request = AlterPartition {
            leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr,
        };
        self.send_alter_partition(now, request);
    }

    fn send_alter_partition(&mut self, now: Now, request: AlterPartition) {
        if let Role::Leader(state) = &mut self.role {
            state.in_flight = Some(request.clone());
            state.in_flight_sent = now.mono;
            self.outputs
                .push_back(ReplicaOutput::AlterPartition(request));
        }
    }

    /// Sends the in-flight AlterPartition again if it went unanswered too long.
    pub(super) fn maybe_resend_alter_partition(&mut self, now: Now) {
        let Ok((_, state)) = self.leader_state() else {
            return;
        };
        let due = state.in_flight_sent.plus_millis(ALTER_PARTITION_RETRY_MS);
        if let Some(request) = state.in_flight.clone().filter(|_| now.mono >= due) {
            self.send_alter_partition(now, request);
        }
    }

    /// Requests removing every ISR follower that lagged longer than the limit.
    pub(super) fn maybe_shrink_isr(&mut self, now: Now) {
        let lagging = self.lagging_followers(now.mono);
        let Ok((leader_epoch, state)) = self.leader_state_mut() else {
            return;
        };
        if state.in_flight.is_some() || lagging.is_empty() {
            return;
        }
        let new_isr: Vec<BrokerId> = state
            .isr
            .iter()
            .copied()
            .filter(|id| !lagging.contains(id))
            .collect();
        let request = AlterPartition {
            leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr,
        };
        self.send_alter_partition(now, request);
    }

    /// ISR followers not at the leader's log end offset whose last catch-up is older than
    /// `replica.lag.time.max.ms`, and those that lost committed records.
    fn lagging_followers(&self, now: Mono) -> Vec<BrokerId> {
        let Ok((_, state)) = self.leader_state() else {
            return Vec::new();
        };
        let log_end = self.log.log_end_offset();
        let limit_ms = self.config.replica_lag_time_max_ms;
        state
            .isr
            .iter()
            .filter_map(|id| state.followers.get(id).map(|p| (*id, p)))
            .filter(|(_, p)| {
                let lagging = p.log_end_offset != Some(log_end)
                    && now.millis_since(p.last_caught_up) > limit_ms;
                lagging || p.lost_committed
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// When the next ISR follower may start lagging, or the in-flight request is resent.
    pub(super) fn isr_deadline(&self) -> Option<Mono> {
        let Ok((_, state)) = self.leader_state() else {
            return None;
        };
        if state.in_flight.is_some() {
            return Some(state.in_flight_sent.plus_millis(ALTER_PARTITION_RETRY_MS));
        }
        let log_end = self.log.log_end_offset();
        // Lagging means strictly more than the limit in whole milliseconds.
        let limit_ms = self.config.replica_lag_time_max_ms + 1;
        state
            .isr
            .iter()
            .filter_map(|id| state.followers.get(id))
            .filter(|p| p.log_end_offset != Some(log_end))
            .map(|p| match p.lost_committed {
                true => p.last_fetch,
                false => p.last_caught_up.plus_millis(limit_ms),
            })
            .min()
    }
}
