//! Builds uncompressed RecordBatch v2 bytes. The broker never re-encodes what producers send;
//! this builder exists for the simulator's clients, tests and benchmarks, which must produce
//! the same bytes a Kafka producer would (varint-encoded records, CRC-32C over
//! attributes..end).

use super::{BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
use bytes::{BufMut, BytesMut};

/// One record to put in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds after the batch's base timestamp.
    pub timestamp_delta: i64,
    /// The key, or `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// The value, or `None` for a null value (a tombstone).
    pub value: Option<Vec<u8>>,
}

/// Accumulates records and emits one v2 batch (base offset 0, as producers send it).
#[derive(Clone, Debug)]
pub struct RecordBatchBuilder {
    base_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    attributes: i16,
    records: Vec<Record>,
}

impl RecordBatchBuilder {
    /// A builder for a non-idempotent batch whose first record has `base_timestamp`.
    pub fn new(base_timestamp: i64) -> RecordBatchBuilder {
        RecordBatchBuilder {
            base_timestamp,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            attributes: 0,
            records: Vec::new(),
        }
    }

    /// Marks the batch as from an idempotent producer.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Sets the raw attributes (compression codec bits, transactional, control).
    pub fn attributes(mut self, attributes: i16) -> Self {
        self.attributes = attributes;
        self
    }

    /// Adds a record.
    pub fn record(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    /// Adds a record with a value and no key, `timestamp_delta` ms after the base timestamp.
    pub fn value(self, timestamp_delta: i64, value: &[u8]) -> Self {
        self.record(Record {
            timestamp_delta,
            key: None,
            value: Some(value.to_vec()),
        })
    }

    /// Encodes the batch. Panics only on a builder misuse: no records, or more than i32.
    pub fn build(&self) -> BytesMut {
        assert!(!self.records.is_empty(), "a record batch needs a record");
        let mut body = BytesMut::new();
        for (delta, record) in self.records.iter().enumerate() {
            encode_record(&mut body, delta as i64, record);
        }
        let last_offset_delta = i32::try_from(self.records.len() - 1).expect("records fit i32");
        let max_delta = self.records.iter().map(|r| r.timestamp_delta).max();
        let max_timestamp = self.base_timestamp + max_delta.unwrap_or(0);
        let total = BATCH_HEADER_LEN + body.len();
        let mut out = BytesMut::with_capacity(total);
        out.put_i64(0);
        out.put_i32(i32::try_from(total - LOG_OVERHEAD).expect("batch fits i32"));
        out.put_i32(-1);
        out.put_i8(MAGIC_V2);
        out.put_u32(0);
        out.put_i16(self.attributes);
        out.put_i32(last_offset_delta);
        out.put_i64(self.base_timestamp);
        out.put_i64(max_timestamp);
        out.put_i64(self.producer_id);
        out.put_i16(self.producer_epoch);
        out.put_i32(self.base_sequence);
        out.put_i32(last_offset_delta + 1);
        out.extend_from_slice(&body);
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }
}

fn encode_record(out: &mut BytesMut, offset_delta: i64, record: &Record) {
    let mut body = BytesMut::new();
    body.put_i8(0);
    put_varlong(&mut body, record.timestamp_delta);
    put_varlong(&mut body, offset_delta);
    put_bytes(&mut body, record.key.as_deref());
    put_bytes(&mut body, record.value.as_deref());
    put_varlong(&mut body, 0);
    put_varlong(out, body.len() as i64);
    out.extend_from_slice(&body);
}

fn put_bytes(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varlong(out, -1),
        Some(bytes) => {
            put_varlong(out, bytes.len() as i64);
            out.extend_from_slice(bytes);
        }
    }
}

/// Zig-zag varint, as Kafka's record format uses for every variable-length integer.
fn put_varlong(out: &mut BytesMut, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        out.put_u8((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    out.put_u8(zigzag as u8);
}
