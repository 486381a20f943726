//! Request frames: decoding on the broker side, encoding on the client side.
//!
//! Contract: [`decode_request`] takes one frame (the bytes after the 4-byte size prefix) and
//! returns the header and body, or a [`WireError`]; it never panics. It reads the fixed
//! 8-byte prefix (api key, api version, correlation id) first and rejects an api or version
//! outside [`SUPPORTED_APIS`](super::SUPPORTED_APIS) *before* decoding anything else, so the
//! node can still answer (UNSUPPORTED_VERSION, or the KIP-511 ApiVersions fallback) with the
//! right correlation id. Then the header is decoded at the header version `kafka-protocol`
//! assigns to that api version (v1 for non-flexible, v2 for flexible), then every array length
//! in the body is checked against the bytes left (see `skim`), then the body is decoded; bytes
//! left over after a valid body are an error, not silently ignored.
//! [`encode_request`] is the inverse, for console tools and simulated clients.
//!
//! Why: a malformed or hostile frame must cost the broker one error reply or one closed
//! connection, never the process.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::body::{RequestBody, WireBody};
use super::error::{decode_failure, describe, MessagePart, WireError};
use super::frame::SIZE_PREFIX_LEN;
use super::skim::check_array_lengths;
use super::versions::{supported_api, SupportedApi};

/// Length of the fields every request header starts with: api key (i16), api version (i16),
/// correlation id (i32).
pub const REQUEST_PREFIX_LEN: usize = 8;

/// The fixed fields at the start of every request frame, readable before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPrefix {
    /// Raw api key.
    pub api_key: i16,
    /// Raw api version.
    pub api_version: i16,
    /// Correlation id the response must echo.
    pub correlation_id: i32,
}

/// A request frame decoded into its header and body.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    /// The request header (correlation id, client id, tagged fields).
    pub header: RequestHeader,
    /// The request body.
    pub body: RequestBody,
    /// The api, already checked to be supported.
    pub api_key: ApiKey,
    /// The api version, already checked to be supported.
    pub api_version: i16,
    /// Bytes after the end of a complete, valid body, ignored as Apache Kafka ignores them:
    /// librdkafka (2.x up to at least 2.16, confluentinc/librdkafka#5049) writes the null
    /// topics array of an all-topics Metadata v9+ request as a 4-byte placeholder, leaving 3
    /// extra bytes. Non-zero only for such requests; the adapter may log it.
    pub trailing_bytes: usize,
}

impl DecodedRequest {
    /// Does the broker answer this request? Every request gets exactly one response (or a
    /// closed connection) except a Produce with `acks=0`, which Kafka never answers. The node
    /// and the adapter's in-flight accounting both rely on this one rule.
    pub fn expects_response(&self) -> bool {
        !matches!(&self.body, RequestBody::Produce(produce) if produce.acks == 0)
    }

    /// The correlation id the response must echo.
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
}

/// Reads the api key, api version and correlation id from the start of a request frame.
pub fn peek_request_prefix(frame: &[u8]) -> Result<RequestPrefix, WireError> {
    if frame.len() < REQUEST_PREFIX_LEN {
        return Err(WireError::FrameTooShort { len: frame.len() });
    }
    let mut prefix = &frame[..REQUEST_PREFIX_LEN];
    Ok(RequestPrefix {
        api_key: prefix.get_i16(),
        api_version: prefix.get_i16(),
        correlation_id: prefix.get_i32(),
    })
}

/// Decodes one request frame (without its size prefix). See the module docs for the order of
/// checks; every failure is a typed [`WireError`].
pub fn decode_request(frame: Bytes) -> Result<DecodedRequest, WireError> {
    let parts = decode_request_with::<RequestBody>(frame, supported_api)?;
    Ok(DecodedRequest {
        header: parts.header,
        body: parts.body,
        api_key: parts.api_key,
        api_version: parts.api_version,
        trailing_bytes: parts.trailing_bytes,
    })
}

/// A request frame decoded against one api table, before it is wrapped for that table.
pub(crate) struct RequestParts<B> {
    pub(crate) header: RequestHeader,
    pub(crate) body: B,
    pub(crate) api_key: ApiKey,
    pub(crate) api_version: i16,
    pub(crate) trailing_bytes: usize,
}

/// The request decoder shared by the client and inter-broker paths: `table` says which apis
/// and versions are accepted (checked before anything but the prefix is read), `B` which
/// bodies can be decoded.
pub(crate) fn decode_request_with<B: WireBody>(
    frame: Bytes,
    table: fn(i16) -> Option<SupportedApi>,
) -> Result<RequestParts<B>, WireError> {
    let prefix = peek_request_prefix(&frame)?;
    let (api_key, api_version, correlation_id) = check_supported(prefix, table)?;
    let failure = |part: MessagePart, err: anyhow::Error| {
        decode_failure(part, err, api_key, api_version, correlation_id)
    };
    let mut buf = frame;
    let header_version = api_key.request_header_version(api_version);
    let header = RequestHeader::decode(&mut buf, header_version)
        .map_err(|err| failure(MessagePart::Header, err))?;
    check_array_lengths(api_key, api_version, &buf)
        .map_err(|implausible| implausible.into_error(api_key, api_version, correlation_id))?;
    let body = match B::decode_from(api_key, &mut buf, api_version) {
        Some(decoded) => decoded.map_err(|err| failure(MessagePart::Body, err))?,
        None => return Err(unsupported_api_key(prefix)),
    };
    Ok(RequestParts {
        header,
        body,
        api_key,
        api_version,
        trailing_bytes: buf.remaining(),
    })
}

fn unsupported_api_key(prefix: RequestPrefix) -> WireError {
    WireError::UnsupportedApiKey {
        api_key: prefix.api_key,
        api_version: prefix.api_version,
        correlation_id: prefix.correlation_id,
    }
}

fn check_supported(
    prefix: RequestPrefix,
    table: fn(i16) -> Option<SupportedApi>,
) -> Result<(ApiKey, i16, i32), WireError> {
    let entry = table(prefix.api_key).ok_or_else(|| unsupported_api_key(prefix))?;
    if !entry.supports(prefix.api_version) {
        return Err(WireError::UnsupportedVersion {
            api_key: entry.api_key,
            api_version: prefix.api_version,
            correlation_id: prefix.correlation_id,
            min: entry.min_version,
            max: entry.max_version,
        });
    }
    Ok((entry.api_key, prefix.api_version, prefix.correlation_id))
}

/// Encodes a request as a size-prefixed frame, ready to write to a socket.
///
/// The header's api key must be the body's; the version is the header's
/// `request_api_version`. The version is not checked against
/// [`SUPPORTED_APIS`](super::SUPPORTED_APIS), so tests and tools can send versions the
/// broker rejects; `kafka-protocol` still refuses versions it does not know.
pub fn encode_request(header: &RequestHeader, body: &RequestBody) -> Result<BytesMut, WireError> {
    encode_request_with(header, body)
}

/// The request encoder shared by the client and inter-broker paths.
pub(crate) fn encode_request_with<B: WireBody>(
    header: &RequestHeader,
    body: &B,
) -> Result<BytesMut, WireError> {
    let api_key = body.body_api_key();
    if header.request_api_key != api_key as i16 {
        return match ApiKey::try_from(header.request_api_key) {
            Ok(named) => Err(WireError::ApiKeyMismatch {
                expected: named,
                actual: api_key,
            }),
            Err(()) => Err(WireError::UnsupportedApiKey {
                api_key: header.request_api_key,
                api_version: header.request_api_version,
                correlation_id: header.correlation_id,
            }),
        };
    }
    let api_version = header.request_api_version;
    let encode_failure = |part: MessagePart, err: anyhow::Error| WireError::Encode {
        part,
        api_key,
        api_version,
        reason: describe(&err),
    };
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    let header_version = api_key.request_header_version(api_version);
    header
        .encode(&mut frame, header_version)
        .map_err(|err| encode_failure(MessagePart::Header, err))?;
    body.encode_into(&mut frame, api_version)
        .map_err(|err| encode_failure(MessagePart::Body, err))?;
    write_size_prefix(frame)
}

/// Fills in the 4-byte size prefix reserved at the start of `frame` (which the encoders put
/// there before writing the header).
pub(crate) fn write_size_prefix(mut frame: BytesMut) -> Result<BytesMut, WireError> {
    let len = frame.len().saturating_sub(SIZE_PREFIX_LEN);
    let size = i32::try_from(len).map_err(|_| WireError::TooLargeToFrame { len })?;
    if let Some(prefix) = frame.get_mut(..SIZE_PREFIX_LEN) {
        prefix.copy_from_slice(&size.to_be_bytes());
    }
    Ok(frame)
}
