//! Invariants of a partition replica (see the module docs of `replication`). A violation is
//! a bug in the replica, never bad input; the panic message names the broken fact.

use super::{PartitionReplica, Role};
use crate::storage::Storage;

impl<S: Storage> PartitionReplica<S> {
    /// Panics with a message naming the first broken invariant, if any.
    pub fn check_invariants(&self) {
        self.log.check_invariants();
        if let Some(violation) = self.invariant_violation() {
            panic!("replica {}: {violation}", self.broker_id);
        }
    }

    /// The first broken invariant, described, if any.
    pub fn invariant_violation(&self) -> Option<String> {
        let (start, end, hw) = (
            self.log.log_start_offset(),
            self.log.log_end_offset(),
            self.high_watermark,
        );
        if hw < start || hw > end {
            return Some(format!(
                "high watermark {hw} outside [log start {start}, log end {end}]"
            ));
        }
        self.epoch_violation().or_else(|| self.leader_violation())
    }

    fn epoch_violation(&self) -> Option<String> {
        let entries = self.epochs.entries();
        for pair in entries.windows(2) {
            if pair[0].leader_epoch >= pair[1].leader_epoch
                || pair[0].start_offset > pair[1].start_offset
            {
                return Some(format!("epoch cache out of order: {pair:?}"));
            }
        }
        let end = self.log.log_end_offset();
        let last = entries.last()?;
        (last.start_offset > end).then(|| {
            format!(
                "epoch {} starts at {} past log end {end}",
                last.leader_epoch, last.start_offset
            )
        })
    }

    fn leader_violation(&self) -> Option<String> {
        let Role::Leader(state) = &self.role else {
            return None;
        };
        let hw = self.high_watermark;
        if !state.isr.contains(&self.broker_id) {
            return Some(format!("leader not in its ISR {:?}", state.isr));
        }
        if hw < state.high_watermark_floor {
            return Some(format!(
                "high watermark {hw} fell below {} within one leader epoch",
                state.high_watermark_floor
            ));
        }
        if self.epochs.latest_epoch() != self.leader_epoch {
            return Some(format!(
                "leader epoch {:?} is not the newest epoch in the cache {:?}",
                self.leader_epoch,
                self.epochs.latest_epoch()
            ));
        }
        state.isr.iter().find_map(|member| {
            let progress = state.followers.get(member).filter(|p| !p.lost_committed)?;
            let known = progress.log_end_offset?;
            (known < hw).then(|| {
                format!("high watermark {hw} above ISR member {member}'s log end offset {known}")
            })
        })
    }
}
