//! The bytes the broker sends, pinned as hex snapshots so any wire change is visible in
//! review (`cargo insta review`): ApiVersions v0 and v3 (header v0 even when flexible,
//! KIP-511; no tagged fields), and Metadata v1 for a fixed one-topic cluster.

mod wire_samples;

use odradek_core::wire::kafka_protocol::messages::{ApiKey, DescribeClusterResponse};
use odradek_core::wire::{api_versions_response, encode_response, KafkaErrorCode, ResponseBody};
use wire_samples::*;

fn response_hex(api_key: ApiKey, version: i16, body: ResponseBody) -> String {
    hex(&encode_response(api_key, version, 0x0102_0304, &body).unwrap())
}

#[test]
fn api_versions_v0_response_bytes_are_pinned() {
    let body = api_versions_response(KafkaErrorCode::None).into();
    insta::assert_snapshot!(response_hex(ApiKey::ApiVersions, 0, body));
}

#[test]
fn api_versions_v3_response_bytes_are_pinned_with_a_v0_header_and_no_tagged_fields() {
    let body = api_versions_response(KafkaErrorCode::None).into();
    let bytes = encode_response(ApiKey::ApiVersions, 3, 0x0102_0304, &body).unwrap();
    // Size prefix, correlation id, then the error code at once: no header tag section.
    assert_eq!(&bytes[4..10], &[1, 2, 3, 4, 0, 0]);
    // The body ends with throttle_time_ms (0) and an empty tag section (0).
    assert_eq!(&bytes[bytes.len() - 5..], &[0, 0, 0, 0, 0]);
    insta::assert_snapshot!(hex(&bytes));
}

#[test]
fn metadata_v1_response_for_a_one_topic_cluster_is_pinned() {
    let body = one_topic_metadata(1).into();
    insta::assert_snapshot!(response_hex(ApiKey::Metadata, 1, body));
}

#[test]
fn flexible_responses_other_than_api_versions_carry_an_empty_header_tag_section() {
    let body = DescribeClusterResponse::default().into();
    let bytes = encode_response(ApiKey::DescribeCluster, 0, 0x0102_0304, &body).unwrap();
    assert_eq!(
        &bytes[4..9],
        &[1, 2, 3, 4, 0],
        "header v1: correlation id, no tags"
    );
}
