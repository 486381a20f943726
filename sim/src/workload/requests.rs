//! The requests simulated clients send, built as [`DecodedRequest`]s at fixed versions the
//! node supports (Produce 9, Fetch 12, ListOffsets 7, CreateTopics 7: the newest ones that
//! still name topics; Metadata 12 is built in `leaders`), exactly as the node would decode them from a real client's frame.
//!
//! Records: one uncompressed RecordBatch v2 per send holding that send's records (one or
//! more), each keyed by the history key with the decimal ASCII of its sent integer as value,
//! so a reader can tell which partition a record claims to belong to and what was sent.

use super::class::DurabilityClass;
use bytes::Bytes;
use odradek_core::record::{Record, RecordBatchBuilder};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, FetchRequest, ListOffsetsRequest, ProduceRequest,
    RequestHeader, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{DecodedRequest, RequestBody};

/// Produce version sent.
pub const PRODUCE_VERSION: i16 = 9;
/// Fetch version sent.
pub const FETCH_VERSION: i16 = 12;
/// ListOffsets version sent.
pub const LIST_OFFSETS_VERSION: i16 = 7;
/// CreateTopics version sent.
pub const CREATE_TOPICS_VERSION: i16 = 7;
/// Simulated long-poll bound of a fetch.
pub const FETCH_MAX_WAIT_MS: i32 = 100;
/// Fetch byte limits: far above what the workload's few-record batches need.
const FETCH_MAX_BYTES: i32 = 1024 * 1024;
/// Record timestamps are this plus the simulated milliseconds: a plausible present-day
/// time (record timestamps only matter to time-based retention, which the workload's
/// topics turn off).
pub const RECORD_TIMESTAMP_BASE_MS: i64 = 1_700_000_000_000;

/// ListOffsets' special timestamp for the earliest offset.
pub const EARLIEST: i64 = -2;
/// ListOffsets' special timestamp for the latest offset.
pub const LATEST: i64 = -1;

fn str_bytes(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn topic_name(text: &str) -> TopicName {
    TopicName(str_bytes(text))
}

/// Wraps a body as the node receives it.
pub(crate) fn decoded(
    body: RequestBody,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> DecodedRequest {
    let api_key: ApiKey = body.api_key();
    let header = RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(str_bytes(client_id)));
    DecodedRequest {
        header,
        body,
        api_key,
        api_version: version,
        trailing_bytes: 0,
    }
}

/// How the setup client creates the topics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TopicSpec {
    pub partitions: i32,
    pub replication_factor: i16,
    /// `min.insync.replicas` of the `acks-all` topic (unset: the broker's default).
    pub min_insync_replicas: Option<i32>,
}

/// CreateTopics for `classes`, each with the spec's partitions and replication factor,
/// `flush.messages=1` (fsync every batch) and `retention.ms=-1` (nothing ages out, so every
/// record stays readable by the final reads whatever the wall clock does), and on the
/// `acks-all` topic only, `min.insync.replicas` when the spec sets it.
/// `unclean.leader.election.enable` is left unset (false).
pub(crate) fn create_topics(
    classes: &[DurabilityClass],
    spec: TopicSpec,
    timeout_ms: i32,
) -> RequestBody {
    let configs = |class: DurabilityClass| {
        let min_insync = spec
            .min_insync_replicas
            .filter(|_| class == DurabilityClass::AcksAll)
            .map(|n| ("min.insync.replicas", n.to_string()));
        [
            ("flush.messages", "1".to_owned()),
            ("retention.ms", "-1".to_owned()),
        ]
        .into_iter()
        .chain(min_insync)
        .map(|(name, value)| {
            CreatableTopicConfig::default()
                .with_name(str_bytes(name))
                .with_value(Some(str_bytes(&value)))
        })
        .collect::<Vec<_>>()
    };
    let topics = classes
        .iter()
        .map(|&class| {
            CreatableTopic::default()
                .with_name(topic_name(class.topic()))
                .with_num_partitions(spec.partitions)
                .with_replication_factor(spec.replication_factor)
                .with_configs(configs(class))
        })
        .collect();
    RequestBody::CreateTopics(
        CreateTopicsRequest::default()
            .with_topics(topics)
            .with_timeout_ms(timeout_ms),
    )
}

/// One batch holding one record per value, in order: key `key`, value in decimal ASCII,
/// followed by a space and `payload_bytes` filler bytes when `payload_bytes > 0`.
/// `values` must not be empty (a send always has a record).
pub(crate) fn record_batch(
    key: &str,
    values: &[i64],
    timestamp_ms: i64,
    payload_bytes: usize,
) -> Bytes {
    let builder = values
        .iter()
        .fold(RecordBatchBuilder::new(timestamp_ms), |builder, value| {
            let mut bytes = value.to_string().into_bytes();
            if payload_bytes > 0 {
                bytes.push(b' ');
                bytes.extend(std::iter::repeat_n(b'p', payload_bytes));
            }
            builder.record(Record {
                timestamp_delta: 0,
                key: Some(key.as_bytes().to_vec()),
                value: Some(bytes),
            })
        });
    builder.build().freeze()
}

/// Produce of one batch to one partition.
pub(crate) fn produce(
    class: DurabilityClass,
    partition: i32,
    records: Bytes,
    timeout_ms: i32,
) -> RequestBody {
    RequestBody::Produce(
        ProduceRequest::default()
            .with_acks(class.acks())
            .with_timeout_ms(timeout_ms)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(class.topic()))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records))])]),
    )
}

/// Fetch of the partitions of one topic from the given positions (long poll, `min_bytes` 1);
/// each (partition, offset, leader epoch) carries its epoch as `current_leader_epoch` (-1:
/// unknown, not checked).
pub(crate) fn fetch(topic: &str, positions: &[(i32, i64, i32)]) -> RequestBody {
    let partitions = positions
        .iter()
        .map(|&(partition, offset, epoch)| {
            FetchPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(epoch)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(FETCH_MAX_BYTES)
        })
        .collect();
    RequestBody::Fetch(
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(FETCH_MAX_WAIT_MS)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)]),
    )
}

/// ListOffsets of the (partition, leader epoch)s of one topic at `timestamp` ([`EARLIEST`]
/// or [`LATEST`]), each carrying its epoch as `current_leader_epoch` (-1: unknown).
pub(crate) fn list_offsets(topic: &str, partitions: &[(i32, i32)], timestamp: i64) -> RequestBody {
    let partitions = partitions
        .iter()
        .map(|&(partition, epoch)| {
            ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp)
                .with_current_leader_epoch(epoch)
        })
        .collect();
    RequestBody::ListOffsets(
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(partitions)]),
    )
}
