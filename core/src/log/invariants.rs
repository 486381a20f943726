//! Invariants of a partition log. A failure here is a bug in the log, never bad input: bad
//! input gets typed errors.
//!
//! [`PartitionLog::check_invariants`] panics with a message naming the broken fact. Its O(1)
//! part runs after every operation in every build and is what callers outside the log (the
//! node's own `check_invariants`, the simulator) rely on; the scans over all segments and
//! index entries run only in debug builds.

use super::PartitionLog;
use crate::storage::Storage;

impl<S: Storage> PartitionLog<S> {
    /// Asserts the invariants listed in the module docs of `log`; panics on a violation.
    /// O(1) in release builds, O(segments + index entries) in debug builds.
    pub fn check_invariants(&self) {
        if let Some(violation) = self.invariant_violation() {
            panic!("{violation}");
        }
        if cfg!(debug_assertions) {
            self.check_every_segment();
        }
    }

    /// The first broken O(1) fact, described, if any (what [`PartitionLog::check_invariants`]
    /// panics with in release builds): `log_start <= durable <= log_end`,
    /// `log_start <= high_watermark <= log_end`, the active segment does not end before its
    /// base and starts where the last sealed one ends.
    pub fn invariant_violation(&self) -> Option<String> {
        let (start, end) = (self.log_start_offset(), self.log_end_offset());
        let durable = self.durable_offset;
        let high_watermark = self.high_watermark();
        let active = self.active();
        let sealed_end = match self.segments.as_slice() {
            [.., sealed, _] => sealed.next_offset,
            _ => active.base_offset,
        };
        if durable < start || durable > end {
            Some(format!(
                "durable offset {durable} outside [log start {start}, log end {end}]"
            ))
        } else if high_watermark < start || high_watermark > end {
            Some(format!(
                "high watermark {high_watermark} outside [log start {start}, log end {end}]"
            ))
        } else if active.next_offset < active.base_offset {
            Some(format!(
                "active segment ends at {} before its base {}",
                active.next_offset, active.base_offset
            ))
        } else if sealed_end != active.base_offset {
            Some(format!(
                "active segment starts at {} but the last sealed one ends at {sealed_end}",
                active.base_offset
            ))
        } else {
            None
        }
    }

    /// The O(segments + index entries) part: offsets increase across and inside segments.
    fn check_every_segment(&self) {
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
            for pair in segment.index.offsets.windows(2) {
                assert!(
                    pair[0].relative_offset < pair[1].relative_offset
                        && pair[0].position < pair[1].position,
                    "index entries of {} do not increase",
                    segment.log_file()
                );
            }
        }
    }
}
