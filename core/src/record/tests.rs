//! Unit tests for batch validation: every way a batch can be wrong gives a typed error.

use super::*;

fn batch() -> BytesMut {
    RecordBatchBuilder::new(1_000)
        .value(0, b"hello")
        .value(5, b"world")
        .build()
}

#[test]
fn a_built_batch_validates_and_reports_its_header() {
    let bytes = batch();
    let header = validate_batch(&bytes).expect("valid");
    assert_eq!(header.magic, 2);
    assert_eq!(header.records_count, 2);
    assert_eq!(header.last_offset_delta, 1);
    assert_eq!(header.base_timestamp, 1_000);
    assert_eq!(header.max_timestamp, 1_005);
    assert_eq!(header.total_len(), Some(bytes.len()));
}

#[test]
fn base_offset_and_leader_epoch_can_be_set_without_breaking_the_crc() {
    let mut bytes = batch();
    set_base_offset(&mut bytes, Offset(42));
    set_partition_leader_epoch(&mut bytes, 7);
    let header = validate_batch(&bytes).expect("still valid");
    assert_eq!(header.base_offset, 42);
    assert_eq!(header.partition_leader_epoch, 7);
    assert_eq!(header.last_offset(), 43);
    assert_eq!(header.next_offset(), 44);
}

#[test]
fn a_flipped_payload_bit_is_a_crc_mismatch() {
    let mut bytes = batch();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(matches!(
        validate_batch(&bytes),
        Err(BatchError::CrcMismatch { .. })
    ));
}

#[test]
fn a_wrong_magic_is_rejected() {
    let mut bytes = batch();
    bytes[16] = 1;
    assert_eq!(
        validate_batch(&bytes),
        Err(BatchError::UnsupportedMagic { magic: 1 })
    );
}

#[test]
fn negative_and_absurd_lengths_are_rejected() {
    for length in [-1i32, 0, 10, i32::MAX] {
        let mut bytes = batch();
        bytes[8..12].copy_from_slice(&length.to_be_bytes());
        assert_eq!(
            validate_batch(&bytes),
            Err(BatchError::InvalidLength {
                batch_length: length
            }),
            "length {length}"
        );
    }
}

#[test]
fn a_length_that_disagrees_with_the_buffer_is_rejected() {
    let bytes = batch();
    let shorter = &bytes[..bytes.len() - 1];
    assert!(matches!(
        validate_batch(shorter),
        Err(BatchError::LengthMismatch { .. })
    ));
    assert_eq!(
        validate_batch(&bytes[..20]),
        Err(BatchError::TooShort { len: 20 })
    );
}

#[test]
fn split_batches_returns_each_batch_and_rejects_a_torn_one() {
    let mut joined = BytesMut::new();
    joined.extend_from_slice(&batch());
    joined.extend_from_slice(&batch());
    let split = split_batches(joined.clone().freeze()).expect("two batches");
    assert_eq!(split.len(), 2);
    joined.truncate(joined.len() - 3);
    assert!(split_batches(joined.freeze()).is_err());
}

#[test]
fn records_of_a_built_batch_read_back_with_keys_values_and_deltas() {
    let bytes = RecordBatchBuilder::new(1_000)
        .record(Record {
            timestamp_delta: 3,
            key: Some(b"k".to_vec()),
            value: None,
        })
        .value(9, b"v2")
        .build();
    let mut records = RecordIter::new(&bytes).expect("uncompressed");
    let first = records.next_record().unwrap().unwrap();
    assert_eq!((first.offset_delta, first.timestamp_delta), (0, 3));
    assert_eq!((first.key, first.value), (Some(&b"k"[..]), None));
    let second = records.next_record().unwrap().unwrap();
    assert_eq!((second.offset_delta, second.value), (1, Some(&b"v2"[..])));
    assert!(records.next_record().is_none());
}

#[test]
fn malformed_records_are_errors_not_panics() {
    let bytes = RecordBatchBuilder::new(0).value(0, b"value").build();
    for cut in BATCH_HEADER_LEN..bytes.len() {
        let mut records = RecordIter::new(&bytes[..cut]).expect("header intact");
        assert_eq!(records.next_record(), Some(Err(())), "cut at {cut}");
    }
    let compressed = RecordBatchBuilder::new(0)
        .attributes(1)
        .value(0, b"x")
        .build();
    assert!(RecordIter::new(&compressed).is_none());
}

#[test]
fn complete_batches_frames_whole_batches_and_stops_at_a_truncated_tail() {
    let first = RecordBatchBuilder::new(0).value(0, b"a").build();
    let mut second = RecordBatchBuilder::new(0)
        .value(0, b"bb")
        .value(0, b"c")
        .build();
    set_base_offset(&mut second, Offset(1));
    let mut bytes = first.to_vec();
    bytes.extend_from_slice(&second);
    bytes.extend_from_slice(&second[..second.len() - 3]);
    let mut batches = complete_batches(&bytes);
    let framed: Vec<(u64, usize)> = batches
        .by_ref()
        .map(|(header, batch)| (header.base_offset, batch.len()))
        .collect();
    assert_eq!(framed, vec![(0, first.len()), (1, second.len())]);
    assert_eq!(
        batches.rest().len(),
        second.len() - 3,
        "the truncated tail is left"
    );
    assert_eq!(
        complete_batches(&[0u8; 10]).count(),
        0,
        "shorter than a header"
    );
}
