//! Response frames: encoding on the broker side, decoding on the client side.
//!
//! Contract: [`encode_response`] produces one size-prefixed frame: the response header at the
//! header version `kafka-protocol` assigns (v0 for non-flexible versions, v1 for flexible
//! ones, and always v0 for ApiVersions — KIP-511, so a client that does not yet know our
//! flexible versions can still read the answer), then the body. Tagged fields that hold their
//! defaults are not written (`kafka-protocol` omits them); the header and bodies we build carry
//! no unknown tagged fields, so nothing is written that old clients might trip on.
//! [`encode_api_versions_fallback`] is the KIP-511 answer to an ApiVersions request above our
//! maximum. [`decode_response`] is the client-side inverse of [`encode_response`]; like the
//! request decoder it checks array lengths before decoding (`skim_response`), so a corrupt
//! response cannot abort a tool or simulated client.
//!
//! Why: one encoder that always picks the right header version keeps the node free of wire
//! details, and the client helpers let tools and the simulator speak to the broker through
//! the same code path real clients exercise.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::body::{ResponseBody, WireBody};
use super::error::{decode_failure, describe, KafkaErrorCode, MessagePart, WireError};
use super::request::write_size_prefix;
use super::skim_response::check_response_array_lengths;
use super::versions::api_versions_response;

/// Encodes a response to the request with `correlation_id` as a size-prefixed frame.
///
/// `api_key` and `api_version` are those of the request being answered; the body must be of
/// the same api.
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseBody,
) -> Result<BytesMut, WireError> {
    encode_response_with(api_key, api_version, correlation_id, body)
}

/// The response encoder shared by the client and inter-broker paths.
pub(crate) fn encode_response_with<B: WireBody>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &B,
) -> Result<BytesMut, WireError> {
    if body.body_api_key() != api_key {
        return Err(WireError::ApiKeyMismatch {
            expected: api_key,
            actual: body.body_api_key(),
        });
    }
    let encode_failure = |part: MessagePart, err: anyhow::Error| WireError::Encode {
        part,
        api_key,
        api_version,
        reason: describe(&err),
    };
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut frame, api_key.response_header_version(api_version))
        .map_err(|err| encode_failure(MessagePart::Header, err))?;
    body.encode_into(&mut frame, api_version)
        .map_err(|err| encode_failure(MessagePart::Body, err))?;
    write_size_prefix(frame)
}

/// The KIP-511 answer to an ApiVersions request whose version is above ours: an ApiVersions
/// v0 body with UNSUPPORTED_VERSION (35) and our supported ranges, so the client can retry
/// with a version we accept.
pub fn encode_api_versions_fallback(correlation_id: i32) -> Result<BytesMut, WireError> {
    let body = api_versions_response(KafkaErrorCode::UnsupportedVersion);
    encode_response(
        ApiKey::ApiVersions,
        0,
        correlation_id,
        &ResponseBody::ApiVersions(body),
    )
}

/// Decodes a response frame (without its size prefix) to a request of `api_key` at
/// `api_version`. Bytes left over after the body are an error.
///
/// Like [`decode_request`](super::decode_request), array lengths are checked against the
/// remaining bytes before decoding, so a corrupt or hostile response cannot make the process
/// abort on a huge pre-allocation.
///
/// Note for ApiVersions: a broker that does not support the requested version answers with a
/// v0 body (KIP-511); decode such an answer with `api_version` 0.
pub fn decode_response(
    api_key: ApiKey,
    api_version: i16,
    frame: Bytes,
) -> Result<(ResponseHeader, ResponseBody), WireError> {
    decode_response_with(api_key, api_version, frame)
}

/// The response decoder shared by the client and inter-broker paths (callers check the
/// version against their table first, if they want it checked).
pub(crate) fn decode_response_with<B: WireBody>(
    api_key: ApiKey,
    api_version: i16,
    frame: Bytes,
) -> Result<(ResponseHeader, B), WireError> {
    let mut buf = frame;
    let correlation_id = peek_correlation_id(&buf);
    let failure = |part: MessagePart, err: anyhow::Error| {
        decode_failure(part, err, api_key, api_version, correlation_id)
    };
    let header = ResponseHeader::decode(&mut buf, api_key.response_header_version(api_version))
        .map_err(|err| failure(MessagePart::Header, err))?;
    check_response_array_lengths(api_key, api_version, &buf)
        .map_err(|implausible| implausible.into_error(api_key, api_version, correlation_id))?;
    let body = match B::decode_from(api_key, &mut buf, api_version) {
        Some(decoded) => decoded.map_err(|err| failure(MessagePart::Body, err))?,
        None => {
            return Err(WireError::UnsupportedApiKey {
                api_key: api_key as i16,
                api_version,
                correlation_id,
            })
        }
    };
    if buf.has_remaining() {
        return Err(WireError::TrailingBytes {
            api_key,
            api_version,
            correlation_id,
            trailing: buf.remaining(),
        });
    }
    Ok((header, body))
}

/// The correlation id at the start of a response frame, or -1 when the frame is too short to
/// hold one (the header decoder then reports the truncation).
pub(crate) fn peek_correlation_id(frame: &[u8]) -> i32 {
    match frame.get(..4) {
        Some(mut first) => first.get_i32(),
        None => -1,
    }
}
