//! Bad input on the inter-broker path gets typed errors, never a panic: versions outside
//! `INTER_BROKER_APIS`, client-only apis on the inter-broker path and inter-broker apis on the
//! client path, truncations, trailing bytes (counted on requests, refused on responses as on
//! the client path), impossible array lengths, and random or mutated frames (proptest).

mod wire_interbroker_support;

use bytes::{BufMut, Bytes, BytesMut};
use odradek_core::wire::kafka_protocol::messages::{ApiKey, ProduceResponse};
use odradek_core::wire::{
    decode_inter_broker_request, decode_inter_broker_response, decode_request,
    encode_inter_broker_response, encode_response, InterBrokerResponseBody, ResponseBody,
    WireError, INTER_BROKER_APIS, SUPPORTED_APIS,
};
use proptest::prelude::*;
use wire_interbroker_support::*;

/// A frame with the given prefix followed by `rest`.
fn raw_frame(api_key: i16, api_version: i16, correlation_id: i32, rest: &[u8]) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_i16(api_key);
    frame.put_i16(api_version);
    frame.put_i32(correlation_id);
    frame.put_slice(rest);
    frame.freeze()
}

fn response_frame(api_key: ApiKey, version: i16, correlation_id: i32) -> Bytes {
    let body = sample_inter_broker_response(api_key, version);
    strip_size_prefix(
        encode_inter_broker_response(api_key, version, correlation_id, &body).unwrap(),
    )
}

#[test]
fn versions_outside_the_inter_broker_table_are_rejected_with_its_range() {
    for api in INTER_BROKER_APIS {
        for version in [api.min_version - 1, api.max_version + 1, i16::MIN, i16::MAX] {
            let expected = WireError::UnsupportedVersion {
                api_key: api.api_key,
                api_version: version,
                correlation_id: 9,
                min: api.min_version,
                max: api.max_version,
            };
            let frame = raw_frame(api.api_key as i16, version, 9, &[]);
            assert_eq!(decode_inter_broker_request(frame).unwrap_err(), expected);
            let response = Bytes::from_static(&[0, 0, 0, 9]);
            assert_eq!(
                decode_inter_broker_response(api.api_key, version, response).unwrap_err(),
                expected
            );
        }
    }
}

#[test]
fn client_only_apis_are_rejected_on_the_inter_broker_path_even_when_well_formed() {
    let client_only = SUPPORTED_APIS
        .iter()
        .filter(|api| api.api_key != ApiKey::Fetch);
    for api in client_only {
        let frame = raw_frame(api.api_key as i16, api.max_version, 12, &[0xff, 0xff]);
        assert_eq!(
            decode_inter_broker_request(frame).unwrap_err(),
            WireError::UnsupportedApiKey {
                api_key: api.api_key as i16,
                api_version: api.max_version,
                correlation_id: 12
            }
        );
    }
    let produce = ResponseBody::Produce(ProduceResponse::default());
    let framed = encode_response(ApiKey::Produce, 9, 13, &produce).unwrap();
    assert_eq!(
        decode_inter_broker_response(ApiKey::Produce, 9, strip_size_prefix(framed)).unwrap_err(),
        WireError::UnsupportedApiKey {
            api_key: 0,
            api_version: 9,
            correlation_id: 13
        }
    );
}

#[test]
fn inter_broker_apis_are_rejected_on_the_client_path_even_when_well_formed() {
    for api in INTER_BROKER_APIS {
        let frame = inter_broker_request_frame(api.api_key, api.max_version, 14);
        let error = decode_request(frame).unwrap_err();
        if api.api_key == ApiKey::Fetch {
            // Fetch is a client api, but not at the follower-only versions above 12.
            assert!(matches!(
                error,
                WireError::UnsupportedVersion {
                    max: 12,
                    api_version: 17,
                    correlation_id: 14,
                    ..
                }
            ));
        } else {
            assert_eq!(
                error,
                WireError::UnsupportedApiKey {
                    api_key: api.api_key as i16,
                    api_version: api.max_version,
                    correlation_id: 14
                }
            );
        }
    }
}

#[test]
fn every_truncation_of_every_valid_inter_broker_request_is_a_typed_error() {
    for api in INTER_BROKER_APIS {
        for version in [api.min_version, api.max_version] {
            let frame = inter_broker_request_frame(api.api_key, version, 31);
            for len in 8..frame.len() {
                let error = decode_inter_broker_request(frame.slice(..len)).unwrap_err();
                assert!(
                    matches!(
                        error,
                        WireError::Truncated { .. } | WireError::ImplausibleArrayLength { .. }
                    ),
                    "{:?} v{version} cut at {len}: {error}",
                    api.api_key
                );
                assert_eq!(error.correlation_id(), Some(31));
            }
            for len in 0..8 {
                let error = decode_inter_broker_request(frame.slice(..len)).unwrap_err();
                assert_eq!(error, WireError::FrameTooShort { len });
            }
        }
    }
}

#[test]
fn every_truncation_of_every_valid_inter_broker_response_is_a_typed_error() {
    for api in INTER_BROKER_APIS {
        for version in [api.min_version, api.max_version] {
            let frame = response_frame(api.api_key, version, 32);
            for len in 0..frame.len() {
                let error = decode_inter_broker_response(api.api_key, version, frame.slice(..len))
                    .unwrap_err();
                assert!(
                    matches!(
                        error,
                        WireError::Truncated { .. } | WireError::ImplausibleArrayLength { .. }
                    ),
                    "{:?} v{version} cut at {len}: {error}",
                    api.api_key
                );
            }
        }
    }
}

#[test]
fn trailing_bytes_are_counted_on_requests_and_refused_on_responses_as_on_the_client_path() {
    for api in INTER_BROKER_APIS {
        let frame = inter_broker_request_frame(api.api_key, api.max_version, 5);
        let exact = decode_inter_broker_request(frame.clone()).expect("valid");
        let longer = [&frame[..], &[1, 2, 3]].concat();
        let decoded = decode_inter_broker_request(Bytes::from(longer)).expect("ignored");
        assert_eq!(decoded.trailing_bytes, 3);
        assert_eq!(decoded.body, exact.body);

        let response = response_frame(api.api_key, api.max_version, 6);
        let longer = Bytes::from([&response[..], &[1, 2]].concat());
        assert_eq!(
            decode_inter_broker_response(api.api_key, api.max_version, longer).unwrap_err(),
            WireError::TrailingBytes {
                api_key: api.api_key,
                api_version: api.max_version,
                correlation_id: 6,
                trailing: 2
            }
        );
    }
}

#[test]
fn tiny_inter_broker_frames_claiming_billions_of_elements_are_rejected_before_allocation() {
    // OffsetForLeaderEpoch v2 (header v1, null client id): topics array of i32::MAX.
    let frame = raw_frame(23, 2, 7, &[0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(
        decode_inter_broker_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::OffsetForLeaderEpoch,
            api_version: 2,
            correlation_id: 7,
            count: i32::MAX as u64,
            remaining: 0
        }
    );
    // AlterPartition v3 (header v2: null client id, no tags): broker id and epoch, then a
    // compact topics array of u32::MAX - 1 elements.
    let mut body = vec![0xff, 0xff, 0x00];
    body.extend_from_slice(&[0; 12]);
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let frame = raw_frame(56, 3, 8, &body);
    assert!(matches!(
        decode_inter_broker_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength { api_key: ApiKey::AlterPartition, count, .. }
            if count == u64::from(u32::MAX) - 1
    ));
    // BrokerHeartbeat v1: offline_log_dirs (tag 0) claiming u32::MAX - 1 uuids.
    let mut body = vec![0xff, 0xff, 0x00];
    body.extend_from_slice(&[0; 4 + 8 + 8 + 1 + 1]);
    body.extend_from_slice(&[1, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    let frame = raw_frame(63, 1, 9, &body);
    assert!(matches!(
        decode_inter_broker_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::BrokerHeartbeat,
            ..
        }
    ));
    // Fetch v16 response: no topics, then node_endpoints (tag 0) claiming u32::MAX - 1.
    let mut response = vec![0, 0, 0, 10, 0]; // correlation id, header tags
    response.extend_from_slice(&[0; 4 + 2 + 4]); // throttle, error, session
    response.extend_from_slice(&[1, 1, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_inter_broker_response(ApiKey::Fetch, 16, Bytes::from(response)).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::Fetch,
            correlation_id: 10,
            ..
        }
    ));
}

/// The pre-check must read known tagged fields by their type, as the decoder does, not skip
/// them by their declared size: here a partition's `replica_directory_id` (Fetch v17, tag 0)
/// declares size 0, so a size-skipping walk would read its 16 bytes as the rest of a harmless
/// request while the decoder reads the uuid and then a forgotten-topics array of ~2^32.
#[test]
fn a_fetch_v17_tagged_field_with_a_lying_size_cannot_hide_a_huge_array_from_the_pre_check() {
    let mut body = vec![0xff, 0xff, 0x00]; // header v2: null client id, no tags
    body.extend_from_slice(&[0; 4 + 4 + 4 + 1 + 4 + 4]); // wait, bytes, isolation, session
    body.push(2); // one topic
    body.extend_from_slice(&[7; 16]); // topic id
    body.push(2); // one partition
    body.extend_from_slice(&[0; 32]); // partition fields
    body.extend_from_slice(&[1, 0, 0]); // one tag: 0, declared size 0 …
    body.extend_from_slice(&[0, 1, 1, 0]); // … then the uuid's 16 bytes, which a size-skipping
    body.extend_from_slice(&[0; 12]); // walk would take for a harmless end of request
    body.push(0); // topic tags
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // forgotten topics: u32::MAX - 1
    let frame = raw_frame(1, 17, 21, &body);
    assert!(matches!(
        decode_inter_broker_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::Fetch,
            api_version: 17,
            correlation_id: 21,
            ..
        }
    ));
}

#[test]
fn the_response_encoder_refuses_a_body_of_another_api() {
    let body = sample_inter_broker_response(ApiKey::BrokerHeartbeat, 1);
    assert!(matches!(body, InterBrokerResponseBody::BrokerHeartbeat(_)));
    assert_eq!(
        encode_inter_broker_response(ApiKey::AlterPartition, 3, 1, &body).unwrap_err(),
        WireError::ApiKeyMismatch {
            expected: ApiKey::AlterPartition,
            actual: ApiKey::BrokerHeartbeat
        }
    );
}

/// An index into the table and a version inside the api's range.
fn api_and_version() -> impl Strategy<Value = (usize, i16)> {
    (0..INTER_BROKER_APIS.len(), any::<prop::sample::Index>()).prop_map(|(index, version)| {
        let api = INTER_BROKER_APIS[index];
        let span = usize::try_from(api.max_version - api.min_version).unwrap() + 1;
        (
            index,
            api.min_version + i16::try_from(version.index(span)).unwrap(),
        )
    })
}

/// Random overwrites, insertions and bit flips, then a random cut keeping `keep_at_least`.
fn mutate(
    mut bytes: Vec<u8>,
    edits: Vec<(prop::sample::Index, u8, u8)>,
    cut: prop::sample::Index,
    keep_at_least: usize,
) -> Bytes {
    for (position, value, kind) in edits {
        let at = position.index(bytes.len());
        match kind {
            0 => bytes[at] = value,
            1 => bytes.insert(at, value),
            _ => bytes[at] ^= 0x80,
        }
    }
    let keep = keep_at_least + cut.index(bytes.len() - keep_at_least + 1);
    bytes.truncate(keep);
    Bytes::from(bytes)
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_inter_broker_request_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let _ = decode_inter_broker_request(Bytes::from(bytes));
    }

    #[test]
    fn random_bodies_behind_an_inter_broker_prefix_never_panic_and_keep_the_correlation_id(
        (index, version) in api_and_version(),
        correlation_id in any::<i32>(),
        rest in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let api = INTER_BROKER_APIS[index];
        let frame = raw_frame(api.api_key as i16, version, correlation_id, &rest);
        if let Err(error) = decode_inter_broker_request(frame) {
            prop_assert_eq!(error.correlation_id(), Some(correlation_id));
        }
    }

    #[test]
    fn mutated_valid_inter_broker_requests_never_panic(
        (index, version) in api_and_version(),
        edits in edits(),
        cut in any::<prop::sample::Index>(),
    ) {
        let api = INTER_BROKER_APIS[index];
        let valid = inter_broker_request_frame(api.api_key, version, 3).to_vec();
        let frame = mutate(valid, edits, cut, 8);
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        match decode_inter_broker_request(frame) {
            Ok(decoded) => prop_assert_eq!(decoded.correlation_id(), correlation_id),
            Err(error) => prop_assert_eq!(error.correlation_id(), Some(correlation_id)),
        }
    }

    #[test]
    fn random_bytes_never_panic_the_inter_broker_response_decoder(
        (index, version) in api_and_version(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let api = INTER_BROKER_APIS[index];
        let _ = decode_inter_broker_response(api.api_key, version, Bytes::from(bytes));
    }

    #[test]
    fn mutated_valid_inter_broker_responses_never_panic(
        (index, version) in api_and_version(),
        edits in edits(),
        cut in any::<prop::sample::Index>(),
    ) {
        let api = INTER_BROKER_APIS[index];
        let valid = response_frame(api.api_key, version, 3).to_vec();
        let _ = decode_inter_broker_response(api.api_key, version, mutate(valid, edits, cut, 0));
    }
}
