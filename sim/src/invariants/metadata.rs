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
        self.checked.resize(controllers.len(), 0);
        for (index, controller) in controllers.iter().enumerate() {
            let records = controller.committed_records();
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
