//! The table of Kafka APIs (and version ranges) this broker implements, and the ApiVersions
//! response built from it.
//!
//! Contract: [`SUPPORTED_APIS`] is the single source of truth. [`decode_request`] rejects any
//! api or version outside it before decoding a header or body, and the ApiVersions response
//! advertises exactly it. Every range lies inside what `kafka-protocol` 0.18 implements
//! (a test checks this), so every advertised version can be decoded and encoded.
//!
//! Why these ranges (clients negotiate the highest version both sides support, so a range
//! only has to reach down to the oldest client we serve and up to a version whose semantics
//! the node implements):
//! - **ApiVersions 0–4.** v3 is the first flexible version (KIP-511: client software name and
//!   version). v4 (Kafka 4.0) has the same schema as v3 and only relaxes a rule about feature
//!   ranges we do not send, so the Java 4.x client need not fall back.
//! - **Metadata 0–12.** v0–v1 for aiokafka/kafka-python, v9+ flexible, v10+ topic ids in the
//!   response (we may send the zero UUID). v13 (top-level error code for re-bootstrap) is left
//!   out until the node implements it.
//! - **Produce 3–9.** v3 is the first version whose record set is a RecordBatch v2 (magic 2,
//!   with transactional id); the log only stores magic-2 batches, and `kafka-protocol` 0.18
//!   (like Kafka 4.0) implements nothing below 3. v9 is the last version before KIP-951
//!   leader-discovery tagged fields (v10) and KIP-890 (v11).
//! - **Fetch 4–12.** v4 is the first version with isolation level and last stable offset (and
//!   the crate's minimum). v12 is the last version that names topics; v13+ identifies topics by
//!   id only, which the node does not resolve yet.
//! - **ListOffsets 1–7.** v0 (old multi-offset form) is gone from the crate and Kafka 4.0;
//!   v7 is max-timestamp lookup (KIP-734); v8+ add tiered-storage offsets we do not have.
//! - **CreateTopics 2–7, DeleteTopics 1–6, DescribeConfigs 1–4.** The crate's minimums (Kafka
//!   4.0 removed the older versions too); the maxima are the latest versions.
//! - **CreatePartitions 0–3, DescribeCluster 0–1.** DescribeCluster v2 (fenced brokers) is left
//!   out.
//!
//! [`decode_request`]: super::decode_request

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

use super::error::KafkaErrorCode;

/// One API the broker implements and the versions of it that it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedApi {
    /// The api.
    pub api_key: ApiKey,
    /// Lowest version accepted.
    pub min_version: i16,
    /// Highest version accepted.
    pub max_version: i16,
}

impl SupportedApi {
    /// Whether `version` lies in this api's range.
    pub const fn supports(&self, version: i16) -> bool {
        self.min_version <= version && version <= self.max_version
    }
}

const fn api(api_key: ApiKey, min_version: i16, max_version: i16) -> SupportedApi {
    SupportedApi {
        api_key,
        min_version,
        max_version,
    }
}

/// Every api the broker implements, ordered by api key. See the module docs for why each
/// range is what it is.
pub const SUPPORTED_APIS: [SupportedApi; 10] = [
    api(ApiKey::Produce, 3, 9),
    api(ApiKey::Fetch, 4, 12),
    api(ApiKey::ListOffsets, 1, 7),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::DescribeCluster, 0, 1),
];

/// The table entry for a raw api key, if the broker implements that api.
pub fn supported_api(api_key: i16) -> Option<SupportedApi> {
    SUPPORTED_APIS
        .iter()
        .copied()
        .find(|entry| entry.api_key as i16 == api_key)
}

/// The ApiVersions response body advertising [`SUPPORTED_APIS`] with `error_code`.
///
/// Use [`KafkaErrorCode::None`] for a normal answer. For an ApiVersions request at a version
/// above ours, KIP-511 says to answer with [`KafkaErrorCode::UnsupportedVersion`] and this
/// body encoded at version 0, so that any client can read our ranges and retry.
/// No tagged fields are set, so none are written (kcat 1.7.1 / librdkafka 2.0.2 fail on
/// brokers that send supported or finalized features).
pub fn api_versions_response(error_code: KafkaErrorCode) -> ApiVersionsResponse {
    let api_keys = SUPPORTED_APIS
        .iter()
        .map(|entry| {
            ApiVersion::default()
                .with_api_key(entry.api_key as i16)
                .with_min_version(entry.min_version)
                .with_max_version(entry.max_version)
        })
        .collect();
    ApiVersionsResponse::default()
        .with_error_code(error_code.code())
        .with_api_keys(api_keys)
        .with_throttle_time_ms(0)
}
