//! Bad input gets typed errors, never a panic: unsupported apis and versions (with the KIP-511
//! ApiVersions fallback), short, truncated and over-long frames, impossible array lengths, and
//! random or mutated frames (proptest). Also: the Kafka error code table matches the protocol.

mod wire_samples;

use bytes::{BufMut, Bytes, BytesMut};
use odradek_core::wire::kafka_protocol::error::ResponseError;
use odradek_core::wire::kafka_protocol::messages::{ApiKey, MetadataRequest, ProduceResponse};
use odradek_core::wire::{
    decode_request, decode_response, encode_api_versions_fallback, encode_request, encode_response,
    KafkaErrorCode, ResponseBody, WireError, SUPPORTED_APIS,
};
use proptest::prelude::*;
use wire_samples::*;

/// A frame with the given prefix followed by `rest`.
fn raw_frame(api_key: i16, api_version: i16, correlation_id: i32, rest: &[u8]) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_i16(api_key);
    frame.put_i16(api_version);
    frame.put_i32(correlation_id);
    frame.put_slice(rest);
    frame.freeze()
}

#[test]
fn api_versions_above_our_maximum_is_rejected_before_decoding_and_answered_per_kip_511() {
    // v5 does not exist anywhere yet; the bytes after the prefix are deliberately not a header.
    let error = decode_request(raw_frame(18, 5, 4242, &[0xff; 3])).unwrap_err();
    assert_eq!(
        error,
        WireError::UnsupportedVersion {
            api_key: ApiKey::ApiVersions,
            api_version: 5,
            correlation_id: 4242,
            min: 0,
            max: 4,
        }
    );
    assert_eq!(error.kafka_error_code(), KafkaErrorCode::UnsupportedVersion);

    let framed = encode_api_versions_fallback(4242).unwrap();
    let frame = strip_size_prefix(framed);
    // Header v0 (correlation id only), then the v0 body starting with error code 35.
    assert_eq!(&frame[..6], &[0, 0, 0x10, 0x92, 0, 35]);
    let (header, body) = decode_response(ApiKey::ApiVersions, 0, frame).unwrap();
    assert_eq!(header.correlation_id, 4242);
    let ResponseBody::ApiVersions(body) = body else {
        panic!("expected an ApiVersions body, got {body:?}");
    };
    assert_eq!(body.error_code, 35);
    let advertised: Vec<i16> = body.api_keys.iter().map(|k| k.api_key).collect();
    let supported: Vec<i16> = SUPPORTED_APIS.iter().map(|a| a.api_key as i16).collect();
    assert_eq!(advertised, supported);
}

#[test]
fn unknown_and_unimplemented_api_keys_are_rejected_with_their_correlation_id() {
    for api_key in [11_i16, 9999, -1] {
        let error = decode_request(raw_frame(api_key, 0, -77, &[])).unwrap_err();
        assert_eq!(
            error,
            WireError::UnsupportedApiKey {
                api_key,
                api_version: 0,
                correlation_id: -77
            }
        );
        assert_eq!(error.correlation_id(), Some(-77));
    }
}

#[test]
fn versions_outside_the_table_are_rejected_with_the_supported_range() {
    for api in SUPPORTED_APIS {
        for version in [api.min_version - 1, api.max_version + 1, i16::MIN, i16::MAX] {
            let error = decode_request(raw_frame(api.api_key as i16, version, 9, &[])).unwrap_err();
            assert_eq!(
                error,
                WireError::UnsupportedVersion {
                    api_key: api.api_key,
                    api_version: version,
                    correlation_id: 9,
                    min: api.min_version,
                    max: api.max_version,
                }
            );
        }
    }
}

#[test]
fn frames_shorter_than_the_header_prefix_are_typed_errors() {
    for len in 0..8 {
        let error = decode_request(Bytes::from(vec![0u8; len])).unwrap_err();
        assert_eq!(error, WireError::FrameTooShort { len });
        assert_eq!(error.correlation_id(), None);
    }
}

#[test]
fn every_truncation_of_every_valid_request_is_a_typed_error_with_its_correlation_id() {
    for api in SUPPORTED_APIS {
        for version in [api.min_version, api.max_version] {
            let frame = request_frame(api.api_key, version, 31);
            for len in 8..frame.len() {
                let error = decode_request(frame.slice(..len)).unwrap_err();
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
        }
    }
}

/// Regression (found by the confluent-kafka and kcat tests): librdkafka writes the null topics
/// array of an all-topics Metadata v9+ request as a 4-byte placeholder (librdkafka#5049), so
/// the body is followed by 3 bytes. Apache Kafka ignores bytes after a complete body; closing
/// the connection broke `AdminClient.list_topics()` and `kcat -L`.
#[test]
fn bytes_after_a_valid_body_are_ignored_and_counted_as_kafka_does() {
    for api in SUPPORTED_APIS {
        let frame = request_frame(api.api_key, api.max_version, 5);
        let exact = decode_request(frame.clone()).expect("valid");
        assert_eq!(exact.trailing_bytes, 0);
        let mut longer = BytesMut::from(&frame[..]);
        longer.put_slice(&[1, 2, 3]);
        let decoded = decode_request(longer.freeze()).expect("trailing bytes are ignored");
        assert_eq!(decoded.trailing_bytes, 3);
        assert_eq!(decoded.correlation_id(), 5);
        assert_eq!(decoded.body, exact.body);
    }
}

/// Regression: a 14-byte Metadata v1 request claiming 2^31-1 topics made kafka-protocol call
/// `Vec::with_capacity` for tens of gigabytes and the test process died with SIGABRT.
#[test]
fn a_tiny_frame_claiming_billions_of_array_elements_is_rejected_before_allocation() {
    // Header v1: null client id; body: topics array length i32::MAX.
    let frame = raw_frame(3, 1, 7, &[0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(
        decode_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::Metadata,
            api_version: 1,
            correlation_id: 7,
            count: i32::MAX as u64,
            remaining: 0
        }
    );
    // Flexible Metadata v12 (header v2: null client id, no tags): compact length u32::MAX.
    let frame = raw_frame(3, 12, 8, &[0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength { count, .. } if count == u64::from(u32::MAX) - 1
    ));
    // Nested: CreateTopics v2 with one topic whose assignments claim i32::MAX entries.
    let mut body = vec![0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 1];
    body.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    let frame = raw_frame(19, 2, 9, &[&[0xff, 0xff][..], &body].concat());
    assert!(matches!(
        decode_request(frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::CreateTopics,
            ..
        }
    ));
}

#[test]
fn encoders_refuse_a_body_of_another_api() {
    let body = ResponseBody::Produce(ProduceResponse::default());
    assert_eq!(
        encode_response(ApiKey::Metadata, 1, 1, &body).unwrap_err(),
        WireError::ApiKeyMismatch {
            expected: ApiKey::Metadata,
            actual: ApiKey::Produce
        }
    );
    let request = MetadataRequest::default().into();
    assert!(matches!(
        encode_request(&header(ApiKey::Fetch, 4, 1), &request).unwrap_err(),
        WireError::ApiKeyMismatch { .. }
    ));
}

#[test]
fn kafka_error_codes_match_the_protocol_numbers_names_and_retriability() {
    for code in KafkaErrorCode::ALL {
        assert_eq!(KafkaErrorCode::from_code(code.code()), Some(code));
        if code == KafkaErrorCode::None {
            assert_eq!(ResponseError::try_from_code(0), None);
            continue;
        }
        let protocol = ResponseError::try_from_code(code.code()).unwrap();
        assert!(
            !matches!(protocol, ResponseError::Unknown(_)),
            "{code} is a Kafka code"
        );
        assert_eq!(protocol.is_retriable(), code.is_retriable(), "{code}");
        let squashed: String = code
            .name()
            .split('_')
            .map(|w| {
                let mut chars = w.chars();
                let first = chars.next().unwrap();
                first.to_string() + &chars.as_str().to_lowercase()
            })
            .collect();
        assert_eq!(format!("{protocol:?}"), squashed, "name of {}", code.code());
    }
    assert_eq!(KafkaErrorCode::from_code(9), None);
}

/// Frames whose prefix names a supported api and version, so random bytes reach the decoders.
fn supported_prefix_frame() -> impl Strategy<Value = Bytes> {
    (
        0..SUPPORTED_APIS.len(),
        any::<i16>(),
        any::<i32>(),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(index, version, correlation_id, rest)| {
            let api = SUPPORTED_APIS[index];
            let span = i32::from(api.max_version - api.min_version) + 1;
            let version = api.min_version + (i32::from(version).rem_euclid(span)) as i16;
            raw_frame(api.api_key as i16, version, correlation_id, &rest)
        })
}

/// A valid request frame with random byte overwrites, insertions and a random cut.
fn mutated_valid_frame() -> impl Strategy<Value = Bytes> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8);
    (
        0..SUPPORTED_APIS.len(),
        any::<bool>(),
        edits,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(index, at_max, edits, cut)| {
            let api = SUPPORTED_APIS[index];
            let version = if at_max {
                api.max_version
            } else {
                api.min_version
            };
            let mut bytes = request_frame(api.api_key, version, 3).to_vec();
            for (position, value, kind) in edits {
                let at = position.index(bytes.len());
                match kind {
                    0 => bytes[at] = value,
                    1 => bytes.insert(at, value),
                    _ => bytes[at] ^= 0x80,
                }
            }
            let keep = 8 + cut.index(bytes.len() - 7);
            bytes.truncate(keep);
            Bytes::from(bytes)
        })
}

/// A valid response frame (no size prefix) with random byte overwrites and a random cut.
fn mutated_valid_response() -> impl Strategy<Value = (usize, i16, Bytes)> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6);
    (
        0..SUPPORTED_APIS.len(),
        any::<prop::sample::Index>(),
        edits,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(index, version, edits, cut)| {
            let api = SUPPORTED_APIS[index];
            let span = usize::try_from(api.max_version - api.min_version).unwrap() + 1;
            let version = api.min_version + i16::try_from(version.index(span)).unwrap();
            let body = sample_response(api.api_key, version);
            let framed = encode_response(api.api_key, version, 3, &body).unwrap();
            let mut bytes = strip_size_prefix(framed).to_vec();
            for (position, value) in edits {
                let at = position.index(bytes.len());
                bytes[at] = value;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            (index, version, Bytes::from(bytes))
        })
}

/// Regression: before responses were skimmed too, 64 random bytes decoded as a response made
/// kafka-protocol request ~72 GB and the proptest process died with SIGABRT.
#[test]
fn a_tiny_response_claiming_billions_of_array_elements_is_rejected_before_allocation() {
    // Metadata v1 response: correlation id, then brokers array length i32::MAX.
    let frame = Bytes::from_static(&[0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
    assert!(matches!(
        decode_response(ApiKey::Metadata, 1, frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::Metadata,
            correlation_id: 1,
            ..
        }
    ));
    // ApiVersions v3: a supported_features tagged field claiming u32::MAX - 1 features.
    let frame = Bytes::from_static(&[
        0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ]);
    assert!(matches!(
        decode_response(ApiKey::ApiVersions, 3, frame).unwrap_err(),
        WireError::ImplausibleArrayLength {
            api_key: ApiKey::ApiVersions,
            ..
        }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_response_decoder(
        index in 0..SUPPORTED_APIS.len(),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let api = SUPPORTED_APIS[index];
        let _ = decode_response(api.api_key, api.max_version, Bytes::from(bytes.clone()));
        let _ = decode_response(api.api_key, api.min_version, Bytes::from(bytes));
    }

    #[test]
    fn mutated_valid_responses_never_panic_the_response_decoder(
        (index, version, frame) in mutated_valid_response()
    ) {
        let _ = decode_response(SUPPORTED_APIS[index].api_key, version, frame);
    }

    #[test]
    fn random_bytes_never_panic_the_request_decoder(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_request(Bytes::from(bytes));
    }

    #[test]
    fn random_bodies_behind_a_supported_prefix_never_panic(frame in supported_prefix_frame()) {
        if let Err(error) = decode_request(frame.clone()) {
            prop_assert_eq!(error.correlation_id(), Some(i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]])));
        }
    }

    #[test]
    fn mutated_valid_frames_never_panic_and_errors_keep_the_correlation_id(frame in mutated_valid_frame()) {
        let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        match decode_request(frame) {
            Ok(decoded) => prop_assert_eq!(decoded.correlation_id(), correlation_id),
            Err(WireError::FrameTooShort { .. }) => prop_assert!(false, "frames keep 8 bytes"),
            Err(error) => prop_assert_eq!(error.correlation_id(), Some(correlation_id)),
        }
    }

}

#[test]
fn only_a_produce_with_acks_zero_goes_unanswered() {
    use odradek_core::wire::kafka_protocol::messages::ProduceRequest;
    use odradek_core::wire::{encode_request, RequestBody};
    let frame = |acks: i16| {
        let body = RequestBody::from(ProduceRequest::default().with_acks(acks));
        let header = odradek_core::wire::kafka_protocol::messages::RequestHeader::default()
            .with_request_api_key(0)
            .with_request_api_version(9)
            .with_correlation_id(1);
        let framed = encode_request(&header, &body).expect("encodes").freeze();
        decode_request(framed.slice(4..)).expect("decodes")
    };
    assert!(!frame(0).expects_response());
    assert!(frame(1).expects_response());
    assert!(frame(-1).expects_response());
    for api in SUPPORTED_APIS
        .iter()
        .filter(|a| a.api_key != ApiKey::Produce)
    {
        let request = decode_request(request_frame(api.api_key, api.max_version, 5)).unwrap();
        assert!(request.expects_response(), "{:?}", api.api_key);
    }
}
