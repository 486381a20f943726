//! The read path: locate the batch containing an offset through the sparse index, then serve
//! whole batches — each CRC-checked and offset-checked before it leaves the log.

use super::segment::Segment;
use super::{LogError, PartitionLog};
use crate::bugs::PlantedBug;
use crate::record::{validate_batch, BatchHeader, Offset, BATCH_HEADER_LEN};
use crate::storage::Storage;
use bytes::Bytes;

/// The result of [`PartitionLog::read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRead {
    /// Whole stored batches, concatenated, exactly as appended (with assigned offsets).
    pub records: Bytes,
    /// Base offset of the first batch returned (may be below the requested offset), or the
    /// requested offset when nothing was returned.
    pub first_offset: Offset,
    /// The offset after the last batch returned: where the next read should start.
    pub next_offset: Offset,
    /// The log start offset at the time of the read.
    pub log_start_offset: Offset,
    /// The log end offset at the time of the read.
    pub log_end_offset: Offset,
}

impl<S: Storage> PartitionLog<S> {
    /// Reads whole batches starting at the one containing `from`, up to `max_bytes` but at
    /// least one batch. Stays within one segment; call again from `next_offset` for more.
    pub fn read(&mut self, from: Offset, max_bytes: usize) -> Result<LogRead, LogError> {
        let log_end_offset = self.log_end_offset();
        self.read_until(from, max_bytes, log_end_offset)
    }

    /// Like [`PartitionLog::read`], but serves only batches that end at or below `until`
    /// (a batch crossing it is not served, even as the first one): the node passes the high
    /// watermark. `until` above the log end offset means the log end offset.
    pub fn read_until(
        &mut self,
        from: Offset,
        max_bytes: usize,
        until: Offset,
    ) -> Result<LogRead, LogError> {
        let (log_start_offset, log_end_offset) = (self.log_start_offset(), self.log_end_offset());
        if from < log_start_offset || from > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                requested: from,
                log_start_offset,
                log_end_offset,
            });
        }
        let empty = LogRead {
            records: Bytes::new(),
            first_offset: from,
            next_offset: from,
            log_start_offset,
            log_end_offset,
        };
        if from >= until.min(log_end_offset) {
            return Ok(empty);
        }
        let segment_index = self.segments.partition_point(|s| s.base_offset <= from) - 1;
        let segment = &self.segments[segment_index];
        let (position, header) = locate_batch(&mut self.storage, segment, from)?;
        if self.config.planted_bugs.has(PlantedBug::FetchSkipsRecord) && header.base_offset < from.0
        {
            // Planted bug: an off-by-one on the batch boundary starts at the next batch.
            return self.read_until(Offset(header.next_offset()), max_bytes, until);
        }
        let segment = &self.segments[segment_index];
        let first_len = header.total_len().unwrap_or(BATCH_HEADER_LEN) as u64;
        let want = (max_bytes as u64)
            .max(first_len)
            .min(segment.size - position);
        let file = segment.log_file();
        let mut chunk = self.storage.read_at(file, position, want as usize)?;
        let limits = Limits {
            first_base: Offset(header.base_offset),
            max_bytes,
            until,
        };
        let mut checked = whole_valid_batches(segment, position, &chunk, limits);
        if checked.is_err() {
            // Tell a transient read error from stored corruption by reading once more.
            chunk = self.storage.read_at(file, position, want as usize)?;
            checked = whole_valid_batches(segment, position, &chunk, limits);
        }
        let used = checked?;
        if used.bytes == 0 {
            return Ok(empty);
        }
        let records = Bytes::from(chunk).slice(0..used.bytes);
        Ok(LogRead {
            records,
            first_offset: Offset(header.base_offset),
            next_offset: used.next_offset,
            ..empty
        })
    }

    /// The byte position in the active segment where batches with last offset `>= offset`
    /// start, and the base offset of that batch (the new log end after truncation).
    pub(super) fn truncation_point(&mut self, offset: Offset) -> Result<(u64, Offset), LogError> {
        let active = self.segments.last().expect("a log always has a segment");
        if offset <= active.base_offset {
            return Ok((0, active.base_offset));
        }
        if offset >= active.next_offset {
            return Ok((active.size, active.next_offset));
        }
        let (position, header) = locate_batch(&mut self.storage, active, offset)?;
        Ok((position, Offset(header.base_offset)))
    }
}

/// Finds the position and header of the batch containing `offset` in `segment`.
fn locate_batch<S: Storage>(
    storage: &mut S,
    segment: &Segment,
    offset: Offset,
) -> Result<(u64, BatchHeader), LogError> {
    let relative = offset.0 - segment.base_offset.0;
    let entry = super::index::floor_entry(&segment.index.offsets, relative);
    let mut position = entry.map_or(0, |e| u64::from(e.position));
    let mut expected_last = entry.map(|e| segment.base_offset.0 + u64::from(e.relative_offset));
    let mut expected_base = entry.is_none().then_some(segment.base_offset.0);
    loop {
        if position >= segment.size {
            return Err(corruption(
                segment,
                position,
                format!("offset {offset} not found"),
            ));
        }
        let header = read_header(storage, segment, position)?;
        let consistent = expected_last.is_none_or(|last| header.last_offset() == last)
            && expected_base.is_none_or(|base| header.base_offset == base);
        if !consistent {
            let detail = "batch header does not continue the offset sequence".to_string();
            return Err(corruption(segment, position, detail));
        }
        if header.last_offset() >= offset.0 {
            return Ok((position, header));
        }
        position += header.total_len().unwrap_or(0) as u64;
        expected_last = None;
        expected_base = Some(header.next_offset());
    }
}

/// Reads and sanity-checks the header of the batch at `position`.
pub(super) fn read_header<S: Storage>(
    storage: &mut S,
    segment: &Segment,
    position: u64,
) -> Result<BatchHeader, LogError> {
    let bytes = storage.read_at(segment.log_file(), position, BATCH_HEADER_LEN)?;
    let header = BatchHeader::parse(&bytes)
        .ok_or_else(|| corruption(segment, position, "truncated batch header".to_string()))?;
    match header.total_len() {
        Some(len) if position + len as u64 <= segment.size => Ok(header),
        _ => Err(corruption(
            segment,
            position,
            format!("batch length {} runs past the segment", header.batch_length),
        )),
    }
}

struct Used {
    bytes: usize,
    next_offset: Offset,
}

/// What a read may serve.
#[derive(Clone, Copy)]
struct Limits {
    /// The base offset the first batch must have.
    first_base: Offset,
    /// Bytes wanted (the first batch is served even if larger).
    max_bytes: usize,
    /// No batch ending past this offset is served (the caller checked the first).
    until: Offset,
}

/// How many leading bytes of `chunk` are whole, valid, correctly-offset batches within
/// `max_bytes` and `until` (at least the first, which must start at `first_base`, the base
/// offset that the index-checked header lookup found). A bad first batch is an error; a bad
/// later one ends the read just before it, so the next read reports it.
fn whole_valid_batches(
    segment: &Segment,
    position: u64,
    chunk: &[u8],
    limits: Limits,
) -> Result<Used, LogError> {
    let mut used = 0usize;
    let mut expected_base = limits.first_base.0;
    while let Some(header) = BatchHeader::parse(&chunk[used..]) {
        let Some(total) = header.total_len() else {
            break;
        };
        let fits = used + total <= chunk.len() && (used == 0 || used + total <= limits.max_bytes);
        let below_until = header.next_offset() <= limits.until.0;
        if !fits || (used > 0 && !below_until) {
            break;
        }
        let at = position + used as u64;
        let problem = check_served_batch(segment, at, &chunk[used..used + total], expected_base);
        if let Some(detail) = problem {
            if used == 0 {
                return Err(corruption(segment, at, detail));
            }
            break;
        }
        if !below_until {
            // A valid first batch that ends past `until`: nothing may be served yet.
            return Ok(Used {
                bytes: 0,
                next_offset: limits.first_base,
            });
        }
        expected_base = header.next_offset();
        used += total;
    }
    if used == 0 {
        return Err(corruption(
            segment,
            position,
            "no whole batch to serve".to_string(),
        ));
    }
    Ok(Used {
        bytes: used,
        next_offset: Offset(expected_base),
    })
}

/// Why a batch about to be served must not be, if anything is wrong with it: it overlaps a
/// range found corrupt at recovery, fails validation (magic, length, CRC), or does not start
/// at the offset the sequence requires (the base offset is not covered by the CRC).
fn check_served_batch(
    segment: &Segment,
    at: u64,
    bytes: &[u8],
    expected_base: u64,
) -> Option<String> {
    if let Some(range) = segment
        .corrupt
        .iter()
        .find(|r| at < r.position + r.len && r.position < at + bytes.len() as u64)
    {
        return Some(format!("found corrupt at recovery: {}", range.detail));
    }
    let header = match validate_batch(bytes) {
        Ok(header) => header,
        Err(error) => return Some(error.to_string()),
    };
    let in_segment = header.next_offset() <= segment.next_offset.0;
    (header.base_offset != expected_base || !in_segment).then(|| {
        format!(
            "batch with offset {} where {expected_base} was expected",
            header.base_offset
        )
    })
}

/// A corruption error for `segment` at `position`.
pub(super) fn corruption(segment: &Segment, position: u64, detail: String) -> LogError {
    LogError::Corruption {
        segment: segment.log_file().to_owned(),
        position,
        detail,
    }
}
