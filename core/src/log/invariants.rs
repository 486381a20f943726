//! Invariants of a partition log, checked after every operation in debug builds. A failure
//! here is a bug in the log, never bad input: bad input gets typed errors.

use super::PartitionLog;
use crate::storage::Storage;

impl<S: Storage> PartitionLog<S> {
    /// Asserts the invariants listed in the module docs of `log`.
    pub fn check_invariants(&self) {
        assert!(!self.segments.is_empty(), "a log always has a segment");
        assert!(
            self.log_start_offset() <= self.durable_offset,
            "durable below log start"
        );
        assert!(
            self.durable_offset <= self.log_end_offset(),
            "durable past log end"
        );
        if cfg!(debug_assertions) {
            for pair in self.segments.windows(2) {
                assert_eq!(
                    pair[0].next_offset, pair[1].base_offset,
                    "segments not contiguous"
                );
            }
            for segment in &self.segments {
                assert!(segment.next_offset >= segment.base_offset);
                for entry in &segment.index.offsets {
                    assert!(u64::from(entry.position) < segment.size.max(1));
                }
            }
        }
    }
}
