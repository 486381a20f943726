//! The records issue 6 added (partition changes, fencing and unfencing) survive the node's
//! durable metadata format: encode then decode gives the same record, and a cut-short
//! encoding is refused rather than misread.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{MetadataRecord, TopicId};
use odradek_core::node::metadata_store::{decode_record, encode_record};

#[test]
fn partition_changes_and_fencing_records_round_trip_through_the_metadata_store_format() {
    let t = TopicId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let records: Vec<MetadataRecord> = vec![
        change(t, 3, Some(2), &[2, 0, 1], 7, 11),
        change(t, 0, None, &[4], 8, 12),
        fencing(5, true),
        fencing(5, false),
    ];
    for record in records {
        let bytes = encode_record(&record);
        assert_eq!(decode_record(&bytes), Some(record.clone()));
        assert_eq!(decode_record(&bytes[..bytes.len() - 1]), None, "{record:?}");
    }
}
