//! Kafka RecordBatch v2 ("magic 2"), the unit Odradek stores, replicates and serves.
//!
//! Odradek keeps batches exactly as producers send them so that fetches serve the stored
//! bytes without re-encoding. This module only *validates* and *reads the header* of a batch,
//! and writes the two fields the broker owns: the base offset and the partition leader epoch.
//! Neither is covered by the batch CRC (the CRC-32C covers `attributes` to the end), so the
//! broker may set them without recomputing it.
//!
//! Header layout (big-endian), 61 bytes, as in Kafka's protocol guide:
//!
//! | offset | field                 | type  |
//! |-------:|-----------------------|-------|
//! |      0 | baseOffset            | int64 |
//! |      8 | batchLength           | int32 (bytes after this field) |
//! |     12 | partitionLeaderEpoch  | int32 |
//! |     16 | magic                 | int8 (= 2) |
//! |     17 | crc                   | uint32, CRC-32C of bytes 21.. |
//! |     21 | attributes            | int16 |
//! |     23 | lastOffsetDelta       | int32 |
//! |     27 | baseTimestamp         | int64 |
//! |     35 | maxTimestamp          | int64 |
//! |     43 | producerId            | int64 |
//! |     51 | producerEpoch         | int16 |
//! |     53 | baseSequence          | int32 |
//! |     57 | recordsCount          | int32 |
//! |     61 | records…              |       |

mod builder;
mod error;
mod records;

pub use builder::{Record, RecordBatchBuilder};
pub use error::BatchError;
pub use records::{RecordIter, RecordView, COMPRESSION_CODEC_MASK, TIMESTAMP_TYPE_LOG_APPEND_TIME};

use bytes::{Bytes, BytesMut};

/// A position in a partition's log: the offset of one record. Dense and monotonic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub u64);

impl Offset {
    /// The offset `n` records later.
    pub fn plus(self, n: u64) -> Offset {
        Offset(self.0 + n)
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Byte length of the v2 batch header, up to the first record.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before the part that `batchLength` counts (baseOffset + batchLength).
pub const LOG_OVERHEAD: usize = 12;
/// The only record-batch format Odradek stores.
pub const MAGIC_V2: i8 = 2;
/// The largest batch Odradek accepts (Kafka's default `message.max.bytes` is ~1 MiB; brokers
/// commonly raise it, so the hard ceiling is higher). Bigger lengths are treated as corrupt.
pub const BATCH_BYTES_MAX: usize = 64 * 1024 * 1024;

const BATCH_LENGTH_AT: usize = 8;
const LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORDS_COUNT_AT: usize = 57;

/// The parsed fixed-size header of a batch. Parsing it checks nothing but its size; use
/// [`validate_batch`] before trusting a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (as stored; producers send 0).
    pub base_offset: u64,
    /// `batchLength`: bytes after the length field.
    pub batch_length: i32,
    /// Epoch of the leader that appended the batch.
    pub partition_leader_epoch: i32,
    /// Format version; 2 for every batch Odradek stores.
    pub magic: i8,
    /// The stored CRC-32C.
    pub crc: u32,
    /// Compression codec, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// `last offset - base offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the first [`BATCH_HEADER_LEN`] bytes; `None` if `bytes` is shorter.
    pub fn parse(bytes: &[u8]) -> Option<BatchHeader> {
        if bytes.len() < BATCH_HEADER_LEN {
            return None;
        }
        Some(BatchHeader {
            base_offset: be_u64(bytes, 0),
            batch_length: be_u32(bytes, BATCH_LENGTH_AT) as i32,
            partition_leader_epoch: be_u32(bytes, LEADER_EPOCH_AT) as i32,
            magic: bytes[MAGIC_AT] as i8,
            crc: be_u32(bytes, CRC_AT),
            attributes: be_u16(bytes, ATTRIBUTES_AT) as i16,
            last_offset_delta: be_u32(bytes, LAST_OFFSET_DELTA_AT) as i32,
            base_timestamp: be_u64(bytes, BASE_TIMESTAMP_AT) as i64,
            max_timestamp: be_u64(bytes, MAX_TIMESTAMP_AT) as i64,
            producer_id: be_u64(bytes, PRODUCER_ID_AT) as i64,
            producer_epoch: be_u16(bytes, PRODUCER_EPOCH_AT) as i16,
            base_sequence: be_u32(bytes, BASE_SEQUENCE_AT) as i32,
            records_count: be_u32(bytes, RECORDS_COUNT_AT) as i32,
        })
    }

    /// Total bytes of the batch on disk (`batchLength` + 12), if the length is sane.
    pub fn total_len(&self) -> Option<usize> {
        let length = usize::try_from(self.batch_length).ok()?;
        let total = length.checked_add(LOG_OVERHEAD)?;
        (BATCH_HEADER_LEN..=BATCH_BYTES_MAX)
            .contains(&total)
            .then_some(total)
    }

    /// The offset of the last record in the batch.
    pub fn last_offset(&self) -> u64 {
        self.base_offset
            .saturating_add(u64::try_from(self.last_offset_delta).unwrap_or(0))
    }

    /// The offset right after the batch.
    pub fn next_offset(&self) -> u64 {
        self.last_offset().saturating_add(1)
    }
}

/// Checks that `bytes` is exactly one well-formed v2 batch: sane length that matches the
/// buffer, magic 2, non-negative `lastOffsetDelta` and record count, and a correct CRC-32C.
pub fn validate_batch(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(bytes).ok_or(BatchError::TooShort { len: bytes.len() })?;
    if header.magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic {
            magic: header.magic,
        });
    }
    let total = header.total_len().ok_or(BatchError::InvalidLength {
        batch_length: header.batch_length,
    })?;
    if total != bytes.len() {
        return Err(BatchError::LengthMismatch {
            batch_length: header.batch_length,
            buffer_len: bytes.len(),
        });
    }
    if header.last_offset_delta < 0 || header.records_count < 0 {
        return Err(BatchError::InvalidOffsetDelta {
            last_offset_delta: header.last_offset_delta,
            records_count: header.records_count,
        });
    }
    let computed = crc32c::crc32c(&bytes[ATTRIBUTES_AT..]);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    Ok(header)
}

/// Writes the base offset into a batch header in place (not covered by the CRC).
pub fn set_base_offset(batch: &mut BytesMut, base_offset: Offset) {
    batch[0..8].copy_from_slice(&base_offset.0.to_be_bytes());
}

/// Writes the partition leader epoch into a batch header in place (not covered by the CRC).
pub fn set_partition_leader_epoch(batch: &mut BytesMut, leader_epoch: i32) {
    batch[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// The complete batches at the front of `bytes` (a fetch response's `records`): each item
/// is a batch's header and its bytes, framed by its length but not validated. Iteration
/// ends at the first batch that is truncated (Kafka may cut the last batch of a fetch) or
/// whose length is not sane; [`CompleteBatches::rest`] is what was not framed.
pub fn complete_batches(bytes: &[u8]) -> CompleteBatches<'_> {
    CompleteBatches { rest: bytes }
}

/// The iterator of [`complete_batches`].
#[derive(Clone, Debug)]
pub struct CompleteBatches<'b> {
    rest: &'b [u8],
}

impl<'b> CompleteBatches<'b> {
    /// The bytes not yet framed (after the iteration ends: a truncated or malformed tail).
    pub fn rest(&self) -> &'b [u8] {
        self.rest
    }
}

impl<'b> Iterator for CompleteBatches<'b> {
    type Item = (BatchHeader, &'b [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let header = BatchHeader::parse(self.rest)?;
        let total = header
            .total_len()
            .filter(|total| *total <= self.rest.len())?;
        let (batch, rest) = self.rest.split_at(total);
        self.rest = rest;
        Some((header, batch))
    }
}

/// Splits a buffer of concatenated batches (a fetch response's `records`) into batches,
/// validating each; used by tests and by clients of the log.
pub fn split_batches(mut bytes: Bytes) -> Result<Vec<Bytes>, BatchError> {
    let mut batches = Vec::new();
    while !bytes.is_empty() {
        let header = BatchHeader::parse(&bytes).ok_or(BatchError::TooShort { len: bytes.len() })?;
        let total = header.total_len().ok_or(BatchError::InvalidLength {
            batch_length: header.batch_length,
        })?;
        if total > bytes.len() {
            return Err(BatchError::TooShort { len: bytes.len() });
        }
        let batch = bytes.split_to(total);
        validate_batch(&batch)?;
        batches.push(batch);
    }
    Ok(batches)
}

fn be_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(buf)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(buf)
}

fn be_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

#[cfg(test)]
mod tests;
