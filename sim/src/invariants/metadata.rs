//! The controllers agree on the committed metadata log (Raft's State Machine Safety: no two
//! nodes apply different records at the same log position).
//!
//! Checked incrementally after every event: the first committed record seen at each
//! position becomes the reference, and every controller's committed records are compared
//! with it as they appear. A restarted controller relearns its log from the start (its
//! commit index restarts at 0), so its comparison restarts too. Why here and not only in the
//! quorum's unit tests: the world's faults (loss, duplication, reordering, partitions,
//! crashes at any event) are where a Raft bug shows.

use crate::controllers::ControllerHost;
use odradek_core::controller::CommittedRecord;

/// The reference log and how far each controller's log was compared.
#[derive(Debug, Default)]
pub struct MetadataAgreement {
    reference: Vec<CommittedRecord>,
    checked: Vec<usize>,
}

impl MetadataAgreement {
    /// Compares what each controller newly committed with the reference.
    pub fn check(&mut self, controllers: &[ControllerHost]) -> Result<(), String> {
        let logs: Vec<&[CommittedRecord]> = controllers
            .iter()
            .map(ControllerHost::committed_records)
            .collect();
        self.check_logs(&logs)
    }

    /// [`MetadataAgreement::check`] on the controllers' committed logs, in controller order.
    pub fn check_logs(&mut self, logs: &[&[CommittedRecord]]) -> Result<(), String> {
        self.checked.resize(logs.len(), 0);
        for (index, records) in logs.iter().enumerate() {
            if records.len() < self.checked[index] {
                self.checked[index] = 0;
            }
            for (position, record) in records.iter().enumerate().skip(self.checked[index]) {
                match self.reference.get(position) {
                    Some(reference) if reference != record => {
                        return Err(format!(
                            "metadata divergence: controller{index} committed {record:?} at \
                             position {position}, another controller committed {reference:?}"
                        ));
                    }
                    Some(_) => {}
                    None => self.reference.push(record.clone()),
                }
            }
            self.checked[index] = records.len();
        }
        Ok(())
    }

    /// How many committed records the controllers agree on so far.
    pub fn agreed_len(&self) -> usize {
        self.reference.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use odradek_core::controller::{
        BrokerFencingRecord, BrokerId, IncarnationId, MetadataOffset, MetadataRecord,
    };

    fn fence(offset: u64, broker: i32) -> CommittedRecord {
        CommittedRecord {
            offset: MetadataOffset(offset),
            record: MetadataRecord::FenceBroker(BrokerFencingRecord {
                broker_id: BrokerId(broker),
                incarnation: IncarnationId(1),
            }),
        }
    }

    #[test]
    fn controllers_that_commit_the_same_prefix_agree_and_the_longest_becomes_the_reference() {
        let mut agreement = MetadataAgreement::default();
        let (a, b) = (vec![fence(0, 1), fence(1, 2)], vec![fence(0, 1)]);
        assert_eq!(agreement.check_logs(&[&a, &b, &[]]), Ok(()));
        assert_eq!(agreement.agreed_len(), 2);
    }

    #[test]
    fn a_different_record_at_a_committed_position_is_a_divergence_even_after_a_restart() {
        let mut agreement = MetadataAgreement::default();
        let a = vec![fence(0, 1), fence(1, 2)];
        assert_eq!(agreement.check_logs(&[&a, &[]]), Ok(()));
        // The second controller restarts with an empty log, then relearns a different one.
        let diverged = vec![fence(0, 1), fence(1, 3)];
        let error = agreement.check_logs(&[&a, &diverged]).unwrap_err();
        assert!(
            error.contains("controller1") && error.contains("position 1"),
            "{error}"
        );
    }
}
