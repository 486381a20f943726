//! Finding offsets by timestamp (Kafka's ListOffsets with a target timestamp): the earliest
//! offset whose record timestamp is at or after the target; and the offset of the record with
//! the largest timestamp (ListOffsets' `MAX_TIMESTAMP`, KIP-734): the lowest offset holding the
//! log's largest timestamp, found through each segment's indexed max timestamp.
//!
//! The time index narrows the search to a starting batch; batches are then scanned and
//! CRC-checked, and records are read one by one inside the first batch whose max timestamp
//! reaches the target. Two cases answer at batch granularity, both as Kafka's semantics
//! allow or require: `LogAppendTime` batches (every record carries the batch's max timestamp)
//! and compressed batches, whose records the broker does not decompress — for those the
//! answer is the batch's base offset with its max timestamp, which is never later than the
//! exact record (a consumer starting there sees at most a few earlier records of one batch).

use super::index::floor_entry;
use super::read::{corruption, read_header};
use super::{LogError, PartitionLog};
use crate::record::{
    validate_batch, BatchHeader, Offset, RecordIter, COMPRESSION_CODEC_MASK,
    TIMESTAMP_TYPE_LOG_APPEND_TIME,
};
use crate::storage::Storage;

/// An offset found by timestamp, with the timestamp of the record there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The earliest offset whose timestamp is `>=` the target.
    pub offset: Offset,
    /// That record's timestamp (the batch's max timestamp at batch granularity).
    pub timestamp: i64,
}

impl<S: Storage> PartitionLog<S> {
    /// The earliest offset whose record timestamp is at or after `target`, or `None` if every
    /// record is older. See the module docs for batch-granularity cases.
    pub fn offset_for_timestamp(
        &mut self,
        target: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        for index in 0..self.segments.len() {
            let segment = &self.segments[index];
            if segment.index.max_timestamp < target || segment.size == 0 {
                continue;
            }
            let older = segment
                .index
                .times
                .partition_point(|e| e.timestamp < target);
            let start_relative = older
                .checked_sub(1)
                .map(|i| u64::from(segment.index.times[i].relative_offset));
            let position = start_relative
                .and_then(|r| floor_entry(&segment.index.offsets, r))
                .map_or(0, |e| u64::from(e.position));
            if let Some(found) = self.scan_for_timestamp(index, position, target)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The lowest offset whose record timestamp is the largest in the log, with that
    /// timestamp (KIP-734), or `None` for an empty log. Each segment's index knows its max
    /// timestamp and the batch holding it, so one batch is read; should the index not match
    /// the batch headers, every header is scanned instead (the index is only a hint).
    pub fn offset_of_max_timestamp(&mut self) -> Result<Option<TimestampOffset>, LogError> {
        let Some((segment_index, max_timestamp)) = self.indexed_max_timestamp() else {
            return Ok(None);
        };
        let segment = &self.segments[segment_index];
        let holder = u64::from(segment.index.max_timestamp_relative_offset);
        let position =
            floor_entry(&segment.index.offsets, holder).map_or(0, |e| u64::from(e.position));
        if let Some(found) = self.scan_for_timestamp(segment_index, position, max_timestamp)? {
            if found.timestamp == max_timestamp {
                return Ok(Some(found));
            }
        }
        match self.max_timestamp_by_headers()? {
            Some((segment_index, max_timestamp)) => {
                self.scan_for_timestamp(segment_index, 0, max_timestamp)
            }
            None => Ok(None),
        }
    }

    /// The first non-empty segment with the largest indexed max timestamp, and that timestamp.
    fn indexed_max_timestamp(&self) -> Option<(usize, i64)> {
        let mut newest: Option<(usize, i64)> = None;
        for (index, segment) in self.segments.iter().enumerate() {
            let max = segment.index.max_timestamp;
            let empty = segment.size == 0 || max == i64::MIN;
            if !empty && newest.is_none_or(|(_, best)| max > best) {
                newest = Some((index, max));
            }
        }
        newest
    }

    /// Like [`Self::indexed_max_timestamp`], from the batch headers themselves.
    fn max_timestamp_by_headers(&mut self) -> Result<Option<(usize, i64)>, LogError> {
        let mut newest: Option<(usize, i64)> = None;
        for index in 0..self.segments.len() {
            let segment = &self.segments[index];
            let mut position = 0;
            while position < segment.size {
                let header = read_header(&mut self.storage, segment, position)?;
                if newest.is_none_or(|(_, best)| header.max_timestamp > best) {
                    newest = Some((index, header.max_timestamp));
                }
                position += header.total_len().unwrap_or(0) as u64;
            }
        }
        Ok(newest)
    }

    fn scan_for_timestamp(
        &mut self,
        segment_index: usize,
        mut position: u64,
        target: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        let segment = &self.segments[segment_index];
        while position < segment.size {
            let header = read_header(&mut self.storage, segment, position)?;
            let total = header.total_len().unwrap_or(0);
            if header.max_timestamp >= target {
                let bytes = self.storage.read_at(segment.log_file(), position, total)?;
                validate_batch(&bytes)
                    .map_err(|error| corruption(segment, position, error.to_string()))?;
                return Ok(Some(first_record_at_or_after(&header, &bytes, target)));
            }
            position += total as u64;
        }
        Ok(None)
    }
}

/// The first record of a validated batch (whose max timestamp is `>= target`) that is at or
/// after `target`; the batch itself where records cannot or need not be read.
fn first_record_at_or_after(header: &BatchHeader, bytes: &[u8], target: i64) -> TimestampOffset {
    let whole_batch = TimestampOffset {
        offset: Offset(header.base_offset),
        timestamp: header.max_timestamp,
    };
    let batch_granularity = header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME != 0
        || header.attributes & COMPRESSION_CODEC_MASK != 0;
    let Some(mut records) = RecordIter::new(bytes).filter(|_| !batch_granularity) else {
        return whole_batch;
    };
    while let Some(Ok(record)) = records.next_record() {
        let timestamp = header.base_timestamp.saturating_add(record.timestamp_delta);
        if timestamp >= target {
            let delta = u64::try_from(record.offset_delta).unwrap_or(0);
            return TimestampOffset {
                offset: Offset(header.base_offset.saturating_add(delta)),
                timestamp,
            };
        }
    }
    whole_batch
}
