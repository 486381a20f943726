//! Reading the records inside an uncompressed RecordBatch v2: the broker stores batches as
//! sent, but a few decisions need individual records (the exact offset for a timestamp in
//! ListOffsets; console consumers; tests). Every length and varint is bounds-checked: a
//! malformed batch gives `None` from the iterator's `next_record`, never a panic.

use super::{BatchHeader, BATCH_HEADER_LEN};

/// Compression codec bits of `attributes` (0 = none).
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;
/// `attributes` bit: timestamps are the broker's append time, not the producer's.
pub const TIMESTAMP_TYPE_LOG_APPEND_TIME: i16 = 0x08;

/// One record, borrowed from its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordView<'b> {
    /// Offset relative to the batch's base offset.
    pub offset_delta: i64,
    /// Milliseconds after the batch's base timestamp.
    pub timestamp_delta: i64,
    /// The key, if not null.
    pub key: Option<&'b [u8]>,
    /// The value, if not null.
    pub value: Option<&'b [u8]>,
}

/// Iterates the records of an uncompressed batch (whole batch bytes, header included).
pub struct RecordIter<'b> {
    bytes: &'b [u8],
    at: usize,
    remaining: i32,
}

impl<'b> RecordIter<'b> {
    /// An iterator over `batch`'s records; `None` if the batch is compressed or too short.
    pub fn new(batch: &'b [u8]) -> Option<RecordIter<'b>> {
        let header = BatchHeader::parse(batch)?;
        if header.attributes & COMPRESSION_CODEC_MASK != 0 {
            return None;
        }
        Some(RecordIter {
            bytes: batch,
            at: BATCH_HEADER_LEN,
            remaining: header.records_count,
        })
    }

    /// The next record; `None` at the end, and `Some(Err(()))` if the bytes are malformed.
    pub fn next_record(&mut self) -> Option<Result<RecordView<'b>, ()>> {
        if self.remaining <= 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.parse_record().ok_or(()))
    }

    fn parse_record(&mut self) -> Option<RecordView<'b>> {
        let length = usize::try_from(self.varint()?).ok()?;
        let end = self
            .at
            .checked_add(length)
            .filter(|&e| e <= self.bytes.len())?;
        self.at += 1; // record attributes, unused
        let timestamp_delta = self.varint()?;
        let offset_delta = self.varint()?;
        let key = self.nullable_bytes()?;
        let value = self.nullable_bytes()?;
        if self.at > end {
            return None;
        }
        self.at = end; // headers are skipped
        Some(RecordView {
            offset_delta,
            timestamp_delta,
            key,
            value,
        })
    }

    fn nullable_bytes(&mut self) -> Option<Option<&'b [u8]>> {
        let length = self.varint()?;
        if length < 0 {
            return Some(None);
        }
        let end = self.at.checked_add(usize::try_from(length).ok()?)?;
        let bytes = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(Some(bytes))
    }

    /// A zig-zag varint of at most 10 bytes.
    fn varint(&mut self) -> Option<i64> {
        let mut raw: u64 = 0;
        for shift in (0..70).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            raw |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        None
    }
}
