//! One segment of a partition log: a `.log` file of whole batches whose name is the base
//! offset zero-padded to 20 digits (Kafka's naming), plus its derived `.index` and
//! `.timeindex` files. This module holds the in-memory bookkeeping; I/O lives in the log.

use super::index::IndexBuilder;
use crate::record::Offset;
use crate::time::Mono;

/// A range of a segment that failed validation during recovery and is never served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptRange {
    /// The segment's `.log` file.
    pub segment: String,
    /// Byte position of the bad batch.
    pub position: u64,
    /// Its length in bytes.
    pub len: u64,
    /// What was wrong with it.
    pub detail: String,
}

/// In-memory state of one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the first record the segment may hold; also its name.
    pub base_offset: Offset,
    /// Offset after the last record in the segment.
    pub next_offset: Offset,
    /// Bytes in the `.log` file.
    pub size: u64,
    /// Sparse indexes and the max timestamp.
    pub index: IndexBuilder,
    /// When the segment was created (or recovered), for `segment.ms`.
    pub created: Mono,
    /// Regions that failed validation during recovery.
    pub corrupt: Vec<CorruptRange>,
    /// The `.log` file name, formatted once: every append and read names the file, and
    /// formatting it each time was a measurable share of an append.
    log_file: String,
}

impl Segment {
    /// A new empty segment.
    pub fn new(base_offset: Offset, created: Mono) -> Segment {
        Segment {
            base_offset,
            next_offset: base_offset,
            size: 0,
            index: IndexBuilder::new(),
            created,
            corrupt: Vec::new(),
            log_file: log_file_name(base_offset),
        }
    }

    /// The `.log` file name.
    pub fn log_file(&self) -> &str {
        &self.log_file
    }

    /// The offset relative to this segment's base, if it fits the index format.
    pub fn relative(&self, offset: Offset) -> Option<u32> {
        offset
            .0
            .checked_sub(self.base_offset.0)
            .and_then(|r| u32::try_from(r).ok())
    }
}

/// `00000000000000000042.log` for base offset 42.
pub fn log_file_name(base_offset: Offset) -> String {
    format!("{:020}.log", base_offset.0)
}

/// The `.index` file name for a segment.
pub fn offset_index_file_name(base_offset: Offset) -> String {
    format!("{:020}.index", base_offset.0)
}

/// The `.timeindex` file name for a segment.
pub fn time_index_file_name(base_offset: Offset) -> String {
    format!("{:020}.timeindex", base_offset.0)
}

/// What kind of segment file a name is, and its base offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentFile {
    /// `NNNN.log`
    Log(Offset),
    /// `NNNN.index`
    OffsetIndex(Offset),
    /// `NNNN.timeindex`
    TimeIndex(Offset),
}

/// Parses a segment file name; `None` for any other file.
pub fn parse_file_name(name: &str) -> Option<SegmentFile> {
    let (stem, extension) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let base = Offset(stem.parse().ok()?);
    match extension {
        "log" => Some(SegmentFile::Log(base)),
        "index" => Some(SegmentFile::OffsetIndex(base)),
        "timeindex" => Some(SegmentFile::TimeIndex(base)),
        _ => None,
    }
}
