//! Why a record batch was rejected. Each variant names the field and the values seen, so a
//! client (or an operator reading a corruption report) knows exactly what was wrong.

/// A byte buffer that is not one valid RecordBatch v2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Shorter than the 61-byte header (or than its own length field says).
    #[error("record batch truncated: {len} bytes")]
    TooShort {
        /// The bytes available.
        len: usize,
    },
    /// `magic` is not 2; Odradek stores only RecordBatch v2.
    #[error("unsupported record batch magic {magic} (only v2 is supported)")]
    UnsupportedMagic {
        /// The magic byte found.
        magic: i8,
    },
    /// `batchLength` is negative, smaller than a header, or absurdly large.
    #[error("invalid record batch length {batch_length}")]
    InvalidLength {
        /// The length field found.
        batch_length: i32,
    },
    /// `batchLength` disagrees with the buffer the batch arrived in.
    #[error("record batch length {batch_length} does not match buffer of {buffer_len} bytes")]
    LengthMismatch {
        /// The length field found.
        batch_length: i32,
        /// The buffer's size.
        buffer_len: usize,
    },
    /// `lastOffsetDelta` or `recordsCount` is negative.
    #[error("invalid last offset delta {last_offset_delta} / record count {records_count}")]
    InvalidOffsetDelta {
        /// The delta found.
        last_offset_delta: i32,
        /// The record count found.
        records_count: i32,
    },
    /// The CRC-32C over attributes..end does not match.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
}
