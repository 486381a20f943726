//! The follower side: what to ask the leader next, truncation to where the leader's log and
//! ours agree (KIP-101 / KIP-279 via OffsetsForLeaderEpoch, KIP-320 via diverging epochs in
//! fetch responses), and appending the leader's batches with their epochs.

use super::{
    EpochEndOffset, EpochQuery, FetchResponse, FollowerFetch, FollowerRequest, PartitionReplica,
    ReplicationError, Role,
};
use crate::bugs::PlantedBug;
use crate::controller::LeaderEpoch;
use crate::record::{split_batches, BatchHeader, Offset};
use crate::storage::Storage;
use crate::time::Now;
use bytes::{Bytes, BytesMut};

impl<S: Storage> PartitionReplica<S> {
    /// What a follower sends its leader ([`PartitionReplica::leader`]) next: the epoch query
    /// after becoming a follower, then fetches from its log end offset. `None` when not a
    /// follower, or while what it fetched last is not durable yet (syncing flush policies).
    pub fn next_request(&self) -> Option<FollowerRequest> {
        let Role::Follower(state) = &self.role else {
            return None;
        };
        let current_leader_epoch = self.leader_epoch?;
        let latest = self.epochs.latest_epoch();
        if state.awaiting_epoch_end {
            return Some(FollowerRequest::OffsetsForLeaderEpoch(EpochQuery {
                replica: self.broker_id,
                current_leader_epoch,
                leader_epoch: latest?,
            }));
        }
        let log_end = self.log.log_end_offset();
        if self.log.high_watermark() < log_end {
            return None;
        }
        Some(FollowerRequest::Fetch(FollowerFetch {
            replica: self.broker_id,
            current_leader_epoch,
            fetch_offset: log_end,
            last_fetched_epoch: latest,
            max_bytes: self.config.replica_fetch_max_bytes,
        }))
    }

    /// The leader's answer to [`FollowerRequest::OffsetsForLeaderEpoch`] in
    /// `current_leader_epoch`: truncates to where the two logs agree, then fetching starts.
    /// An answer for another epoch, or not awaited, is ignored.
    pub fn handle_epoch_end_offset(
        &mut self,
        now: Now,
        current_leader_epoch: LeaderEpoch,
        answer: EpochEndOffset,
    ) -> Result<(), ReplicationError> {
        self.observe(now);
        let awaiting = matches!(&self.role, Role::Follower(s) if s.awaiting_epoch_end);
        if !awaiting || self.leader_epoch != Some(current_leader_epoch) {
            return Ok(());
        }
        let target = self.truncation_offset(answer);
        self.truncate_log(now, target)?;
        if let Role::Follower(state) = &mut self.role {
            state.awaiting_epoch_end = false;
        }
        self.check_invariants();
        Ok(())
    }

    /// Applies the leader's answer to [`FollowerRequest::Fetch`]: truncation on a diverging
    /// epoch, otherwise appends the records and raises the high watermark to
    /// `min(leader's, own log end offset)`. Stale answers (another epoch, another fetch
    /// offset, not a follower) are ignored.
    pub fn handle_fetch_response(
        &mut self,
        now: Now,
        response: &FetchResponse,
    ) -> Result<(), ReplicationError> {
        self.observe(now);
        let fetching = matches!(&self.role, Role::Follower(s) if !s.awaiting_epoch_end);
        let current = self.leader_epoch == Some(response.leader_epoch)
            && response.fetch_offset == self.log.log_end_offset();
        if !fetching || !current {
            return Ok(());
        }
        if let Some(diverging) = response.diverging_epoch {
            let target = self.truncation_offset(diverging);
            self.truncate_log(now, target)?;
            self.check_invariants();
            return Ok(());
        }
        let appended = self.append_from_leader(now, response.records.clone());
        let high_watermark = response.high_watermark.min(self.log.log_end_offset());
        self.high_watermark = self.high_watermark.max(high_watermark);
        self.check_invariants();
        appended
    }

    /// Where to truncate given the leader's end offset for an epoch: no further than the
    /// leader's end of it, nor than our own end of the largest epoch `<=` it.
    fn truncation_offset(&self, leader: EpochEndOffset) -> Offset {
        if self.has_bug(PlantedBug::TruncateToHighWatermark) {
            return self.high_watermark;
        }
        let log_end = self.log.log_end_offset();
        let local = self.epochs.end_offset_for(leader.leader_epoch, log_end);
        leader.end_offset.min(local.end_offset).min(log_end)
    }

    /// Appends the leader's batches as they are (offsets and epochs included), recording each
    /// new epoch before its first batch.
    fn append_from_leader(&mut self, now: Now, records: Bytes) -> Result<(), ReplicationError> {
        for batch in split_batches(records)? {
            let header = BatchHeader::parse(&batch).expect("split_batches validated it");
            let log_end = self.log.log_end_offset();
            if header.base_offset != log_end.0 {
                return Err(ReplicationError::NonContiguousBatch {
                    base_offset: Offset(header.base_offset),
                    log_end_offset: log_end,
                });
            }
            let epoch = LeaderEpoch(header.partition_leader_epoch);
            if let Some(latest) = self.epochs.latest_epoch().filter(|&l| epoch < l) {
                return Err(ReplicationError::EpochRegression {
                    batch_epoch: epoch,
                    latest_epoch: latest,
                });
            }
            self.assign_epoch(epoch)?;
            let appended = self.log.append(now, BytesMut::from(batch.as_ref()));
            self.drain_log();
            appended?;
        }
        Ok(())
    }
}
