//! The records issue 6 added (partition changes, fencing and unfencing) and issue 7's
//! partition reassignments survive the node's
//! durable metadata format: encode then decode gives the same record, and a cut-short
//! encoding is refused rather than misread.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    BrokerId, LeaderEpoch, MetadataRecord, PartitionEpoch, PartitionIndex,
    PartitionReassignmentRecord, TopicId,
};
use odradek_core::node::metadata_store::{decode_record, encode_record};

#[test]
fn partition_changes_and_fencing_records_round_trip_through_the_metadata_store_format() {
    let t = TopicId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let records: Vec<MetadataRecord> = vec![
        change(t, 3, Some(2), &[2, 0, 1], 7, 11),
        change(t, 0, None, &[4], 8, 12),
        fencing(5, true),
        fencing(5, false),
        MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
            topic_id: t,
            partition: PartitionIndex(2),
            replicas: ids(&[3, 1, 2, 0]),
            adding_replicas: ids(&[3]),
            removing_replicas: ids(&[0]),
            isr: ids(&[0, 1, 2]),
            leader: Some(BrokerId(0)),
            leader_epoch: LeaderEpoch(4),
            partition_epoch: PartitionEpoch(9),
        }),
    ];
    for record in records {
        let bytes = encode_record(&record);
        assert_eq!(decode_record(&bytes), Some(record.clone()));
        assert_eq!(decode_record(&bytes[..bytes.len() - 1]), None, "{record:?}");
    }
}
