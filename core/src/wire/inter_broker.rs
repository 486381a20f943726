//! The internal inter-broker codec: broker-to-broker (follower Fetch, OffsetForLeaderEpoch)
//! and broker-to-controller (AlterPartition, BrokerRegistration, BrokerHeartbeat) messages.
//!
//! Contract: the same frame codec as the client path, with the same guarantees (the api and
//! version are checked against [`INTER_BROKER_APIS`](super::INTER_BROKER_APIS) before anything
//! after the 8-byte prefix is read, array lengths are checked before `kafka-protocol`
//! allocates, every failure is a typed [`WireError`], nothing panics). Bytes after a complete
//! request body are counted in [`InterBrokerRequest::trailing_bytes`] as on the client path;
//! bytes after a response body are an error, as on the client path. The two paths accept
//! disjoint sets of bodies: a client-only api (Produce, Metadata, …) is `UnsupportedApiKey`
//! here, and an inter-broker-only api is `UnsupportedApiKey` on the client path. Fetch is in
//! both tables (a follower fetch is an ordinary Fetch with a replica id; see
//! [`is_follower_fetch`]).
//!
//! Why a second path: replication needs these apis before the node serves them, and the
//! broker must advertise to clients only what it implements, so they live in their own table
//! and body enums and the client-facing node never sees them.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, FetchRequest, RequestHeader, ResponseHeader};

use super::body::{InterBrokerRequestBody, InterBrokerResponseBody};
use super::error::WireError;
use super::request::{decode_request_with, encode_request_with};
use super::response::{decode_response_with, encode_response_with, peek_correlation_id};
use super::versions::inter_broker_api;

/// An inter-broker request frame decoded into its header and body.
#[derive(Debug, Clone, PartialEq)]
pub struct InterBrokerRequest {
    /// The request header (correlation id, client id, tagged fields).
    pub header: RequestHeader,
    /// The request body.
    pub body: InterBrokerRequestBody,
    /// The api, already checked to be in the inter-broker table.
    pub api_key: ApiKey,
    /// The api version, already checked to be in the inter-broker table.
    pub api_version: i16,
    /// Bytes after the end of a complete, valid body, ignored as on the client path.
    pub trailing_bytes: usize,
}

impl InterBrokerRequest {
    /// The correlation id the response must echo.
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
}

/// Decodes one inter-broker request frame (without its size prefix), checking the api and
/// version against the inter-broker table first.
pub fn decode_inter_broker_request(frame: Bytes) -> Result<InterBrokerRequest, WireError> {
    let parts = decode_request_with::<InterBrokerRequestBody>(frame, inter_broker_api)?;
    Ok(InterBrokerRequest {
        header: parts.header,
        body: parts.body,
        api_key: parts.api_key,
        api_version: parts.api_version,
        trailing_bytes: parts.trailing_bytes,
    })
}

/// Encodes an inter-broker request as a size-prefixed frame. As for
/// [`encode_request`](super::encode_request), the version (the header's
/// `request_api_version`) is not checked against the table, so tests can send versions the
/// decoder rejects; `kafka-protocol` still refuses versions it does not know.
pub fn encode_inter_broker_request(
    header: &RequestHeader,
    body: &InterBrokerRequestBody,
) -> Result<BytesMut, WireError> {
    encode_request_with(header, body)
}

/// Encodes the response to an inter-broker request of `api_key` at `api_version` with
/// `correlation_id` as a size-prefixed frame (header version chosen as on the client path).
pub fn encode_inter_broker_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &InterBrokerResponseBody,
) -> Result<BytesMut, WireError> {
    encode_response_with(api_key, api_version, correlation_id, body)
}

/// Decodes a response frame (without its size prefix) to an inter-broker request of
/// `api_key` at `api_version`. Unlike [`decode_response`](super::decode_response), the api and
/// version are checked against the inter-broker table before decoding (an api outside it is
/// `UnsupportedApiKey`, a version outside it `UnsupportedVersion`, with the correlation id
/// read from the frame, or -1 when the frame is too short to hold one).
pub fn decode_inter_broker_response(
    api_key: ApiKey,
    api_version: i16,
    frame: Bytes,
) -> Result<(ResponseHeader, InterBrokerResponseBody), WireError> {
    let correlation_id = peek_correlation_id(&frame);
    let entry = inter_broker_api(api_key as i16).ok_or(WireError::UnsupportedApiKey {
        api_key: api_key as i16,
        api_version,
        correlation_id,
    })?;
    if !entry.supports(api_version) {
        return Err(WireError::UnsupportedVersion {
            api_key,
            api_version,
            correlation_id,
            min: entry.min_version,
            max: entry.max_version,
        });
    }
    decode_response_with(api_key, api_version, frame)
}

/// The replica (broker) id of a follower fetch, or `None` for a consumer fetch.
///
/// A Fetch request is a follower fetch when its replica id is a broker id (`>= 0`). Up to
/// v14 the id is the body's `replica_id` field; from v15 (KIP-903) it is
/// `replica_state.replica_id` (a tagged field) and `replica_id` stays -1. Consumers send -1
/// (and -2 or lower for debugging tools), so both negative means a consumer. The decoded
/// request does not carry its version, so both places are read; at any one version only one
/// of them can be set.
pub fn is_follower_fetch(request: &FetchRequest) -> Option<i32> {
    [request.replica_id.0, request.replica_state.replica_id.0]
        .into_iter()
        .find(|&id| id >= 0)
}
