//! Round trips through the codec: every supported api at every supported version survives
//! client-side `encode_request` → broker-side `decode_request` unchanged (which also checks
//! that the array-length pre-check accepts every valid request), and responses survive
//! `encode_response` → `decode_response`. Also: the supported api table stays inside what
//! `kafka-protocol` implements and matches the body enums.

mod wire_samples;

use odradek_core::wire::kafka_protocol::messages::*;
use odradek_core::wire::kafka_protocol::protocol::Message;
use odradek_core::wire::{
    api_versions_response, decode_request, decode_response, encode_response, KafkaErrorCode,
    SUPPORTED_APIS,
};
use wire_samples::*;

#[test]
fn every_supported_request_version_round_trips_through_the_client_encoder_and_broker_decoder() {
    for api in SUPPORTED_APIS {
        for version in api.min_version..=api.max_version {
            let correlation_id = 1000 + i32::from(version);
            let frame = request_frame(api.api_key, version, correlation_id);
            let decoded = decode_request(frame)
                .unwrap_or_else(|e| panic!("{:?} v{version} must decode: {e}", api.api_key));
            assert_eq!(decoded.api_key, api.api_key);
            assert_eq!(decoded.api_version, version);
            assert_eq!(decoded.correlation_id(), correlation_id);
            assert_eq!(decoded.header, header(api.api_key, version, correlation_id));
            assert_eq!(
                decoded.body,
                sample_request(api.api_key, version),
                "{:?} v{version} body survives the round trip",
                api.api_key
            );
        }
    }
}

#[test]
fn every_supported_response_version_round_trips_through_the_broker_encoder_and_client_decoder() {
    for api in SUPPORTED_APIS {
        for version in api.min_version..=api.max_version {
            let body = sample_response(api.api_key, version);
            let framed = encode_response(api.api_key, version, 77, &body)
                .unwrap_or_else(|e| panic!("{:?} v{version} must encode: {e}", api.api_key));
            let (header, decoded) =
                decode_response(api.api_key, version, strip_size_prefix(framed))
                    .unwrap_or_else(|e| panic!("{:?} v{version} must decode: {e}", api.api_key));
            assert_eq!(header.correlation_id, 77);
            assert_eq!(decoded, body, "{:?} v{version}", api.api_key);
        }
    }
}

#[test]
fn supported_ranges_lie_inside_what_kafka_protocol_implements() {
    for api in SUPPORTED_APIS {
        let crate_range = api.api_key.valid_versions();
        assert!(
            crate_range.min <= api.min_version && api.max_version <= crate_range.max,
            "{:?} {}..{} outside kafka-protocol's {crate_range}",
            api.api_key,
            api.min_version,
            api.max_version
        );
    }
    assert_eq!(
        ProduceRequest::VERSIONS.min,
        3,
        "Produce below v3 (magic < 2) is gone"
    );
}

#[test]
fn supported_apis_are_ordered_by_key_and_body_enums_name_the_same_apis() {
    let keys: Vec<i16> = SUPPORTED_APIS.iter().map(|a| a.api_key as i16).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted);
    for api in SUPPORTED_APIS {
        assert_eq!(
            sample_request(api.api_key, api.min_version).api_key(),
            api.api_key
        );
        assert_eq!(
            sample_response(api.api_key, api.min_version).api_key(),
            api.api_key
        );
    }
}

#[test]
fn api_versions_response_advertises_exactly_the_supported_table() {
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
    assert_eq!(body.error_code, 0);
    assert!(body.supported_features.is_empty() && body.finalized_features.is_empty());
}
