//! Sparse per-segment indexes, in Kafka's on-disk layout:
//! - offset index (`.index`): entries of (relative offset: u32, file position: u32),
//!   big-endian, 8 bytes each, one every `index.interval.bytes` of log data;
//! - time index (`.timeindex`): entries of (timestamp: i64, relative offset: u32),
//!   12 bytes each, added alongside offset-index entries when the max timestamp grew.
//!
//! Indexes are derived data: they are kept in memory, written when a segment is sealed, and
//! rebuilt from the log file whenever they are missing, torn or inconsistent. A lookup only
//! ever yields a *starting point* for a scan that verifies batch headers, so a stale index can
//! cost time but never correctness.

/// One offset-index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Offset relative to the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of the batch in the segment file.
    pub position: u32,
}

/// One time-index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeEntry {
    /// The largest timestamp seen up to the indexed batch.
    pub timestamp: i64,
    /// Offset relative to the segment's base offset of a batch at or after that timestamp.
    pub relative_offset: u32,
}

/// Bytes per offset-index entry.
pub const OFFSET_ENTRY_LEN: usize = 8;
/// Bytes per time-index entry.
pub const TIME_ENTRY_LEN: usize = 12;

/// Encodes offset-index entries for the `.index` file.
pub fn encode_offset_index(entries: &[OffsetEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * OFFSET_ENTRY_LEN);
    for entry in entries {
        out.extend_from_slice(&entry.relative_offset.to_be_bytes());
        out.extend_from_slice(&entry.position.to_be_bytes());
    }
    out
}

/// Encodes time-index entries for the `.timeindex` file.
pub fn encode_time_index(entries: &[TimeEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * TIME_ENTRY_LEN);
    for entry in entries {
        out.extend_from_slice(&entry.timestamp.to_be_bytes());
        out.extend_from_slice(&entry.relative_offset.to_be_bytes());
    }
    out
}

/// Decodes an `.index` file; `None` if its size is not a whole number of entries or the
/// entries are not strictly increasing in both offset and position.
pub fn decode_offset_index(bytes: &[u8]) -> Option<Vec<OffsetEntry>> {
    if !bytes.len().is_multiple_of(OFFSET_ENTRY_LEN) {
        return None;
    }
    let entries: Vec<OffsetEntry> = bytes
        .chunks_exact(OFFSET_ENTRY_LEN)
        .map(|chunk| OffsetEntry {
            relative_offset: u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            position: u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
        })
        .collect();
    let increasing = entries.windows(2).all(|pair| {
        pair[0].relative_offset < pair[1].relative_offset && pair[0].position < pair[1].position
    });
    increasing.then_some(entries)
}

/// Decodes a `.timeindex` file; `None` if torn or not monotonic.
pub fn decode_time_index(bytes: &[u8]) -> Option<Vec<TimeEntry>> {
    if !bytes.len().is_multiple_of(TIME_ENTRY_LEN) {
        return None;
    }
    let entries: Vec<TimeEntry> = bytes
        .chunks_exact(TIME_ENTRY_LEN)
        .map(|chunk| {
            let mut timestamp = [0u8; 8];
            timestamp.copy_from_slice(&chunk[0..8]);
            TimeEntry {
                timestamp: i64::from_be_bytes(timestamp),
                relative_offset: u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]),
            }
        })
        .collect();
    let increasing = entries.windows(2).all(|pair| {
        pair[0].timestamp < pair[1].timestamp && pair[0].relative_offset < pair[1].relative_offset
    });
    increasing.then_some(entries)
}

/// The entry with the largest relative offset `<= relative_offset`, if any.
pub fn floor_entry(entries: &[OffsetEntry], relative_offset: u64) -> Option<OffsetEntry> {
    let count = entries.partition_point(|e| u64::from(e.relative_offset) <= relative_offset);
    count.checked_sub(1).map(|i| entries[i])
}

/// The first time entry with timestamp `>= timestamp`, if any.
pub fn first_time_entry_at_or_after(entries: &[TimeEntry], timestamp: i64) -> Option<TimeEntry> {
    let i = entries.partition_point(|e| e.timestamp < timestamp);
    entries.get(i).copied()
}

/// Builds index entries while batches are appended (or rescanned during recovery).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexBuilder {
    /// Offset-index entries so far.
    pub offsets: Vec<OffsetEntry>,
    /// Time-index entries so far.
    pub times: Vec<TimeEntry>,
    bytes_since_entry: u64,
    /// The largest timestamp seen in the segment, or `i64::MIN` if none.
    pub max_timestamp: i64,
    /// Relative offset of the batch holding `max_timestamp`.
    pub max_timestamp_relative_offset: u32,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder {
            max_timestamp: i64::MIN,
            ..IndexBuilder::default()
        }
    }

    /// Records a batch of `len` bytes at `position` whose last record has relative offset
    /// `relative_last` and whose largest timestamp is `max_timestamp`. Entries are added
    /// every `interval_bytes`, as Kafka does; the time index gets an entry alongside an
    /// offset entry when the segment's max timestamp grew since the last time entry.
    pub fn on_batch(
        &mut self,
        position: u32,
        len: u64,
        relative_last: u32,
        max_timestamp: i64,
        interval_bytes: u64,
    ) {
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            self.max_timestamp_relative_offset = relative_last;
        }
        if self.offsets.is_empty() || self.bytes_since_entry >= interval_bytes {
            self.offsets.push(OffsetEntry {
                relative_offset: relative_last,
                position,
            });
            self.bytes_since_entry = 0;
            self.maybe_add_time_entry();
        }
        self.bytes_since_entry += len;
    }

    /// Adds a final time entry for the segment's max timestamp (called when sealing), so the
    /// time index always knows the segment's newest record.
    pub fn maybe_add_time_entry(&mut self) {
        let grew = self.times.last().is_none_or(|e| {
            e.timestamp < self.max_timestamp
                && e.relative_offset < self.max_timestamp_relative_offset
        });
        if self.max_timestamp != i64::MIN && grew {
            self.times.push(TimeEntry {
                timestamp: self.max_timestamp,
                relative_offset: self.max_timestamp_relative_offset,
            });
        }
    }
}
