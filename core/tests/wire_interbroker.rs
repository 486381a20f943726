//! The inter-broker codec: every inter-broker api at every version in `INTER_BROKER_APIS`
//! survives encode → decode unchanged (requests and responses, which also checks that the
//! array-length pre-check accepts every valid message), the table stays inside what
//! `kafka-protocol` implements and matches the body enums, follower fetches are recognised at
//! every version, the client ApiVersions answer still advertises exactly `SUPPORTED_APIS`, and
//! one request and one response per api are pinned as hex snapshots at the highest version.

mod wire_interbroker_support;

use odradek_core::wire::kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest};
use odradek_core::wire::{
    api_versions_response, decode_inter_broker_request, decode_inter_broker_response,
    encode_inter_broker_response, inter_broker_api, is_follower_fetch, supported_api,
    InterBrokerRequestBody, KafkaErrorCode, INTER_BROKER_APIS, SUPPORTED_APIS,
};
use wire_interbroker_support::*;

#[test]
fn every_inter_broker_request_version_round_trips_through_the_encoder_and_decoder() {
    for api in INTER_BROKER_APIS {
        for version in api.min_version..=api.max_version {
            let correlation_id = 2000 + i32::from(version);
            let frame = inter_broker_request_frame(api.api_key, version, correlation_id);
            let decoded = decode_inter_broker_request(frame)
                .unwrap_or_else(|e| panic!("{:?} v{version} must decode: {e}", api.api_key));
            assert_eq!(decoded.api_key, api.api_key);
            assert_eq!(decoded.api_version, version);
            assert_eq!(decoded.correlation_id(), correlation_id);
            assert_eq!(decoded.trailing_bytes, 0);
            assert_eq!(decoded.header, header(api.api_key, version, correlation_id));
            assert_eq!(
                decoded.body,
                sample_inter_broker_request(api.api_key, version),
                "{:?} v{version} body survives the round trip",
                api.api_key
            );
        }
    }
}

#[test]
fn every_inter_broker_response_version_round_trips_through_the_encoder_and_decoder() {
    for api in INTER_BROKER_APIS {
        for version in api.min_version..=api.max_version {
            let body = sample_inter_broker_response(api.api_key, version);
            let framed = encode_inter_broker_response(api.api_key, version, 88, &body)
                .unwrap_or_else(|e| panic!("{:?} v{version} must encode: {e}", api.api_key));
            let (header, decoded) =
                decode_inter_broker_response(api.api_key, version, strip_size_prefix(framed))
                    .unwrap_or_else(|e| panic!("{:?} v{version} must decode: {e}", api.api_key));
            assert_eq!(header.correlation_id, 88);
            assert_eq!(decoded, body, "{:?} v{version}", api.api_key);
        }
    }
}

#[test]
fn inter_broker_ranges_lie_inside_what_kafka_protocol_implements() {
    for api in INTER_BROKER_APIS {
        let crate_range = api.api_key.valid_versions();
        assert!(
            crate_range.min <= api.min_version && api.max_version <= crate_range.max,
            "{:?} {}..{} outside kafka-protocol's {crate_range}",
            api.api_key,
            api.min_version,
            api.max_version
        );
    }
}

#[test]
fn inter_broker_apis_are_ordered_by_key_and_body_enums_name_the_same_apis() {
    let keys: Vec<i16> = INTER_BROKER_APIS.iter().map(|a| a.api_key as i16).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted);
    for api in INTER_BROKER_APIS {
        assert_eq!(inter_broker_api(api.api_key as i16), Some(api));
        let request = sample_inter_broker_request(api.api_key, api.min_version);
        assert_eq!(request.api_key(), api.api_key);
        let response = sample_inter_broker_response(api.api_key, api.min_version);
        assert_eq!(response.api_key(), api.api_key);
    }
    assert_eq!(inter_broker_api(ApiKey::Produce as i16), None);
}

#[test]
fn only_fetch_is_in_both_tables() {
    let shared: Vec<ApiKey> = INTER_BROKER_APIS
        .iter()
        .filter(|api| supported_api(api.api_key as i16).is_some())
        .map(|api| api.api_key)
        .collect();
    assert_eq!(shared, vec![ApiKey::Fetch]);
}

#[test]
fn api_versions_still_advertises_exactly_the_client_table_and_no_inter_broker_api() {
    let body = api_versions_response(KafkaErrorCode::None);
    let advertised: Vec<(i16, i16, i16)> = body
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    let table: Vec<(i16, i16, i16)> = SUPPORTED_APIS
        .iter()
        .map(|a| (a.api_key as i16, a.min_version, a.max_version))
        .collect();
    assert_eq!(advertised, table);
    for api in INTER_BROKER_APIS {
        let entry = advertised
            .iter()
            .find(|(key, ..)| *key == api.api_key as i16);
        match api.api_key {
            // Fetch is advertised with the client range only, never the follower range.
            ApiKey::Fetch => assert_eq!(entry, Some(&(1, 4, 12))),
            other => assert_eq!(entry, None, "{other:?} must not be advertised"),
        }
    }
}

#[test]
fn follower_fetches_are_recognised_at_every_version_and_consumer_fetches_are_not() {
    let fetch = INTER_BROKER_APIS[0];
    assert_eq!(fetch.api_key, ApiKey::Fetch);
    for version in fetch.min_version..=fetch.max_version {
        let frame = inter_broker_request_frame(ApiKey::Fetch, version, 1);
        let decoded = decode_inter_broker_request(frame).expect("valid");
        let InterBrokerRequestBody::Fetch(request) = decoded.body else {
            panic!("expected a Fetch body");
        };
        assert_eq!(is_follower_fetch(&request), Some(2), "v{version}");
        assert_eq!(is_follower_fetch(&follower_fetch(version, 0)), Some(0));
    }
    // A consumer leaves both replica ids at their default, -1.
    assert_eq!(is_follower_fetch(&FetchRequest::default()), None);
    let debug_consumer = FetchRequest::default().with_replica_id(BrokerId(-2));
    assert_eq!(is_follower_fetch(&debug_consumer), None);
}

fn request_hex(api_key: ApiKey) -> String {
    let max = inter_broker_api(api_key as i16).unwrap().max_version;
    hex(&inter_broker_request_frame(api_key, max, 0x0102_0304))
}

fn response_hex(api_key: ApiKey) -> String {
    let max = inter_broker_api(api_key as i16).unwrap().max_version;
    let body = sample_inter_broker_response(api_key, max);
    hex(&encode_inter_broker_response(api_key, max, 0x0102_0304, &body).unwrap())
}

#[test]
fn fetch_v17_follower_request_and_response_bytes_are_pinned() {
    insta::assert_snapshot!("fetch_v17_request", request_hex(ApiKey::Fetch));
    insta::assert_snapshot!("fetch_v17_response", response_hex(ApiKey::Fetch));
}

#[test]
fn offset_for_leader_epoch_v4_request_and_response_bytes_are_pinned() {
    let api = ApiKey::OffsetForLeaderEpoch;
    insta::assert_snapshot!("offset_for_leader_epoch_v4_request", request_hex(api));
    insta::assert_snapshot!("offset_for_leader_epoch_v4_response", response_hex(api));
}

#[test]
fn alter_partition_v3_request_and_response_bytes_are_pinned() {
    let api = ApiKey::AlterPartition;
    insta::assert_snapshot!("alter_partition_v3_request", request_hex(api));
    insta::assert_snapshot!("alter_partition_v3_response", response_hex(api));
}

#[test]
fn broker_registration_v4_request_and_response_bytes_are_pinned() {
    let api = ApiKey::BrokerRegistration;
    insta::assert_snapshot!("broker_registration_v4_request", request_hex(api));
    insta::assert_snapshot!("broker_registration_v4_response", response_hex(api));
}

#[test]
fn broker_heartbeat_v1_request_and_response_bytes_are_pinned() {
    let api = ApiKey::BrokerHeartbeat;
    insta::assert_snapshot!("broker_heartbeat_v1_request", request_hex(api));
    insta::assert_snapshot!("broker_heartbeat_v1_response", response_hex(api));
}
