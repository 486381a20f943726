//! The Kafka wire protocol codec: frames, request decoding, response encoding, the supported
//! api table and Kafka error codes. Pure functions over bytes; no I/O.
//!
//! Contract: the tokio adapter splits a connection's byte stream with [`FrameDecoder`], hands
//! each frame to [`decode_request`], gives the [`DecodedRequest`] to the node, and writes the
//! frame [`encode_response`] makes of the node's [`ResponseBody`]. Nothing here panics on any
//! input; every failure is a [`WireError`] or [`FrameError`] carrying what the caller needs to
//! answer or log. Message schemas come from the `kafka-protocol` crate (built without
//! compression: record batches pass through as opaque bytes).
//!
//! Why: the broker node is a pure state machine over *decoded* requests; keeping the codec
//! separate and pure lets the simulator's clients and console tools use the very same code
//! (through [`encode_request`] and [`decode_response`]) and lets proptests attack it directly.
//!
//! Files: [`versions`] (the supported api table, ApiVersions body, the inter-broker table),
//! [`request`], [`response`], [`frame`], [`error`] (Kafka error codes, [`WireError`]), `body`
//! ([`RequestBody`], [`ResponseBody`] and their inter-broker counterparts), `skim` (array-length
//! check before decoding; see below), `skim_inter_broker` (the same for the inter-broker apis)
//! and [`inter_broker`] (the internal broker-to-broker / broker-to-controller codec, whose apis
//! are never advertised to clients).
//!
//! Known hazard handled here: `kafka-protocol` 0.18 pre-allocates arrays with the length read
//! from the wire, so a tiny frame claiming 2^31 elements would abort the process on allocation
//! failure. Request bodies are therefore walked first and impossible lengths rejected
//! ([`WireError::ImplausibleArrayLength`]); `skim_response` does the same for responses.

mod body;
pub mod error;
pub mod frame;
pub mod inter_broker;
pub mod request;
pub mod response;
mod skim;
mod skim_inter_broker;
mod skim_response;
pub mod versions;

pub use body::{InterBrokerRequestBody, InterBrokerResponseBody, RequestBody, ResponseBody};
pub use error::{KafkaErrorCode, MessagePart, WireError};
pub use frame::{FrameDecoder, FrameError, SIZE_PREFIX_LEN};
pub use inter_broker::{
    decode_inter_broker_request, decode_inter_broker_response, encode_inter_broker_request,
    encode_inter_broker_response, is_follower_fetch, InterBrokerRequest,
};
pub use request::{
    decode_request, encode_request, peek_request_prefix, DecodedRequest, RequestPrefix,
    REQUEST_PREFIX_LEN,
};
pub use response::{decode_response, encode_api_versions_fallback, encode_response};
pub use versions::{
    api_versions_response, inter_broker_api, supported_api, SupportedApi, INTER_BROKER_APIS,
    SUPPORTED_APIS,
};

/// The `kafka-protocol` crate, re-exported so callers build bodies with the same version of it.
pub use kafka_protocol;
