//! Sample inter-broker requests and responses: one populated body per inter-broker api and
//! version (two elements in every array, non-default values in every field the version has),
//! plus framing helpers for the inter-broker codec.

#![allow(dead_code)]

use bytes::{Buf, Bytes, BytesMut};
use odradek_core::wire::kafka_protocol::messages::alter_partition_request::{
    BrokerState, PartitionData as AlterPartitionData, TopicData as AlterTopicData,
};
use odradek_core::wire::kafka_protocol::messages::alter_partition_response::{
    PartitionData as AlterPartitionResult, TopicData as AlterTopicResult,
};
use odradek_core::wire::kafka_protocol::messages::broker_registration_request::{
    Feature, Listener,
};
use odradek_core::wire::kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchTopic, ForgottenTopic, ReplicaState,
};
use odradek_core::wire::kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset as DivergingEpoch, FetchableTopicResponse, LeaderIdAndEpoch,
    NodeEndpoint, PartitionData,
};
use odradek_core::wire::kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use odradek_core::wire::kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use odradek_core::wire::kafka_protocol::messages::*;
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{
    encode_inter_broker_request, InterBrokerRequestBody, InterBrokerResponseBody,
};
use uuid::Uuid;

pub fn text(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

pub fn topic(s: &'static str) -> TopicName {
    TopicName(text(s))
}

const TOPIC_ID: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);

/// A request header for `api_key` at `version` with a fixed client id.
pub fn header(api_key: ApiKey, version: i16, correlation_id: i32) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(text("broker-2")))
}

/// The frame (size prefix removed) of an inter-broker request encoded with the codec.
pub fn inter_broker_request_frame(api_key: ApiKey, version: i16, correlation_id: i32) -> Bytes {
    let body = sample_inter_broker_request(api_key, version);
    let framed = encode_inter_broker_request(&header(api_key, version, correlation_id), &body)
        .expect("sample requests encode");
    strip_size_prefix(framed)
}

/// Checks the size prefix of `framed` and returns the frame after it.
pub fn strip_size_prefix(framed: BytesMut) -> Bytes {
    let mut frame = framed.freeze();
    let size = frame.get_i32();
    assert_eq!(size as usize, frame.len(), "size prefix matches the frame");
    frame
}

/// Lowercase hex of `bytes`, 32 bytes per line (for snapshots).
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|line| line.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A populated request body of inter-broker api `api_key` valid at `version`.
pub fn sample_inter_broker_request(api_key: ApiKey, v: i16) -> InterBrokerRequestBody {
    match api_key {
        ApiKey::Fetch => follower_fetch(v, 2).into(),
        ApiKey::OffsetForLeaderEpoch => offset_for_leader_epoch(v).into(),
        ApiKey::AlterPartition => alter_partition(v).into(),
        ApiKey::BrokerRegistration => broker_registration(v).into(),
        ApiKey::BrokerHeartbeat => broker_heartbeat(v).into(),
        other => panic!("no inter-broker sample for {other:?}"),
    }
}

/// A populated response body of inter-broker api `api_key` valid at `version`.
pub fn sample_inter_broker_response(api_key: ApiKey, v: i16) -> InterBrokerResponseBody {
    match api_key {
        ApiKey::Fetch => fetch_response(v).into(),
        ApiKey::OffsetForLeaderEpoch => offset_for_leader_epoch_response(v).into(),
        ApiKey::AlterPartition => alter_partition_response(v).into(),
        ApiKey::BrokerRegistration => BrokerRegistrationResponse::default()
            .with_throttle_time_ms(1)
            .with_error_code(101)
            .with_broker_epoch(77)
            .into(),
        ApiKey::BrokerHeartbeat => BrokerHeartbeatResponse::default()
            .with_throttle_time_ms(1)
            .with_error_code(77)
            .with_is_caught_up(true)
            .with_is_fenced(false)
            .with_should_shut_down(true)
            .into(),
        other => panic!("no inter-broker sample for {other:?}"),
    }
}

/// A Fetch from follower `replica` at version `v`: the replica id in the body up to v14 and
/// in the `ReplicaState` tagged field from v15.
pub fn follower_fetch(v: i16, replica: i32) -> FetchRequest {
    let partition = |index: i32| {
        let mut p = FetchPartition::default()
            .with_partition(index)
            .with_fetch_offset(42)
            .with_partition_max_bytes(1 << 20);
        if v >= 5 {
            p = p.with_log_start_offset(1);
        }
        if v >= 9 {
            p = p.with_current_leader_epoch(3);
        }
        if v >= 12 {
            p = p.with_last_fetched_epoch(2);
        }
        if v >= 17 {
            p = p.with_replica_directory_id(Uuid::from_u128(17));
        }
        p
    };
    let (name, id) = if v <= 12 {
        (topic("orders"), Uuid::nil())
    } else {
        (TopicName::default(), TOPIC_ID)
    };
    let fetch_topic = FetchTopic::default()
        .with_topic(name.clone())
        .with_topic_id(id)
        .with_partitions(vec![partition(0), partition(1)]);
    let mut request = FetchRequest::default()
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_isolation_level(0)
        .with_topics(vec![fetch_topic.clone(), fetch_topic]);
    if v <= 14 {
        request = request.with_replica_id(BrokerId(replica));
    } else {
        let state = ReplicaState::default()
            .with_replica_id(BrokerId(replica))
            .with_replica_epoch(9);
        request = request.with_replica_state(state);
    }
    if v >= 7 {
        let forgotten = ForgottenTopic::default()
            .with_topic(name)
            .with_topic_id(id)
            .with_partitions(vec![4, 5]);
        request = request
            .with_session_id(9)
            .with_session_epoch(1)
            .with_forgotten_topics_data(vec![forgotten.clone(), forgotten]);
    }
    if v >= 11 {
        request = request.with_rack_id(text("rack-a"));
    }
    if v >= 12 {
        request = request.with_cluster_id(Some(text("cluster-1")));
    }
    request
}

fn fetch_response(v: i16) -> FetchResponse {
    let aborted = AbortedTransaction::default()
        .with_producer_id(ProducerId(5))
        .with_first_offset(3);
    let mut partition = PartitionData::default()
        .with_high_watermark(10)
        .with_last_stable_offset(9)
        .with_aborted_transactions(Some(vec![aborted.clone(), aborted]))
        .with_records(Some(Bytes::from_static(b"opaque batches")));
    if v >= 5 {
        partition = partition.with_log_start_offset(2);
    }
    if v >= 11 {
        partition = partition.with_preferred_read_replica(BrokerId(-1));
    }
    if v >= 12 {
        let leader = LeaderIdAndEpoch::default()
            .with_leader_id(BrokerId(1))
            .with_leader_epoch(4);
        let diverging = DivergingEpoch::default().with_epoch(3).with_end_offset(8);
        partition = partition
            .with_current_leader(leader)
            .with_diverging_epoch(diverging);
    }
    let mut topic_result =
        FetchableTopicResponse::default().with_partitions(vec![partition.clone(), partition]);
    if v <= 12 {
        topic_result.topic = topic("orders");
    } else {
        topic_result.topic_id = TOPIC_ID;
    }
    let mut response = FetchResponse::default()
        .with_throttle_time_ms(1)
        .with_responses(vec![topic_result.clone(), topic_result]);
    if v >= 7 {
        response = response.with_error_code(0).with_session_id(9);
    }
    if v >= 16 {
        let endpoint = NodeEndpoint::default()
            .with_node_id(BrokerId(1))
            .with_host(text("broker-1"))
            .with_port(9092)
            .with_rack(Some(text("rack-a")));
        response = response.with_node_endpoints(vec![endpoint.clone(), endpoint]);
    }
    response
}

fn offset_for_leader_epoch(v: i16) -> OffsetForLeaderEpochRequest {
    let partition = |index: i32| {
        OffsetForLeaderPartition::default()
            .with_partition(index)
            .with_current_leader_epoch(5)
            .with_leader_epoch(4)
    };
    let t = OffsetForLeaderTopic::default()
        .with_topic(topic("orders"))
        .with_partitions(vec![partition(0), partition(1)]);
    let request = OffsetForLeaderEpochRequest::default().with_topics(vec![t.clone(), t]);
    if v >= 3 {
        request.with_replica_id(BrokerId(2))
    } else {
        request
    }
}

fn offset_for_leader_epoch_response(_v: i16) -> OffsetForLeaderEpochResponse {
    let partition = EpochEndOffset::default()
        .with_error_code(74)
        .with_partition(1)
        .with_leader_epoch(4)
        .with_end_offset(100);
    let t = OffsetForLeaderTopicResult::default()
        .with_topic(topic("orders"))
        .with_partitions(vec![partition.clone(), partition]);
    OffsetForLeaderEpochResponse::default()
        .with_throttle_time_ms(1)
        .with_topics(vec![t.clone(), t])
}

fn alter_partition(v: i16) -> AlterPartitionRequest {
    let mut partition = AlterPartitionData::default()
        .with_partition_index(1)
        .with_leader_epoch(4)
        .with_leader_recovery_state(1)
        .with_partition_epoch(7);
    if v >= 3 {
        let member = |id: i32| {
            BrokerState::default()
                .with_broker_id(BrokerId(id))
                .with_broker_epoch(100 + i64::from(id))
        };
        partition = partition.with_new_isr_with_epochs(vec![member(1), member(2)]);
    } else {
        partition = partition.with_new_isr(vec![BrokerId(1), BrokerId(2)]);
    }
    let t = AlterTopicData::default()
        .with_topic_id(TOPIC_ID)
        .with_partitions(vec![partition.clone(), partition]);
    AlterPartitionRequest::default()
        .with_broker_id(BrokerId(1))
        .with_broker_epoch(101)
        .with_topics(vec![t.clone(), t])
}

fn alter_partition_response(_v: i16) -> AlterPartitionResponse {
    let partition = AlterPartitionResult::default()
        .with_partition_index(1)
        .with_error_code(95)
        .with_leader_id(BrokerId(1))
        .with_leader_epoch(4)
        .with_isr(vec![BrokerId(1), BrokerId(2)])
        .with_leader_recovery_state(0)
        .with_partition_epoch(8);
    let t = AlterTopicResult::default()
        .with_topic_id(TOPIC_ID)
        .with_partitions(vec![partition.clone(), partition]);
    AlterPartitionResponse::default()
        .with_throttle_time_ms(1)
        .with_error_code(0)
        .with_topics(vec![t.clone(), t])
}

fn broker_registration(v: i16) -> BrokerRegistrationRequest {
    let listener = Listener::default()
        .with_name(text("PLAINTEXT"))
        .with_host(text("broker-2"))
        .with_port(9092)
        .with_security_protocol(0);
    let feature = Feature::default()
        .with_name(text("metadata.version"))
        .with_min_supported_version(1)
        .with_max_supported_version(21);
    let mut request = BrokerRegistrationRequest::default()
        .with_broker_id(BrokerId(2))
        .with_cluster_id(text("cluster-1"))
        .with_incarnation_id(Uuid::from_u128(0xfeed))
        .with_listeners(vec![listener.clone(), listener])
        .with_features(vec![feature.clone(), feature])
        .with_rack(Some(text("rack-a")));
    if v >= 1 {
        request = request.with_is_migrating_zk_broker(false);
    }
    if v >= 2 {
        request = request.with_log_dirs(vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
    }
    if v >= 3 {
        request = request.with_previous_broker_epoch(55);
    }
    request
}

fn broker_heartbeat(v: i16) -> BrokerHeartbeatRequest {
    let request = BrokerHeartbeatRequest::default()
        .with_broker_id(BrokerId(2))
        .with_broker_epoch(101)
        .with_current_metadata_offset(4242)
        .with_want_fence(true)
        .with_want_shut_down(false);
    if v >= 1 {
        request.with_offline_log_dirs(vec![Uuid::from_u128(3), Uuid::from_u128(4)])
    } else {
        request
    }
}
