//! The table of Kafka APIs (and version ranges) this broker implements for clients, the
//! ApiVersions response built from it, and the separate inter-broker table.
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
//! - **AlterPartitionReassignments 0–1, ListPartitionReassignments 0** (KIP-455, what
//!   `kafka-reassign-partitions` sends; v1 is KIP-860: a move that changes the replication
//!   factor is refused unless the request allows it).
//!
//! **Inter-broker table.** [`INTER_BROKER_APIS`] lists the broker-to-broker and
//! broker-to-controller apis replication needs. It is never advertised in ApiVersions
//! ("advertise only what is implemented": the client-facing node does not serve them) and
//! only [`decode_inter_broker_request`] accepts it; [`decode_request`] rejects these apis,
//! and the inter-broker decoder rejects client-only apis. Why these ranges:
//! - **Fetch 4–17.** A follower fetch is the ordinary Fetch api. Kafka's replica fetcher has
//!   sent v12 (IBP 2.7, diverging epoch in the response, KIP-320), v13 (topic ids, 3.1), v15
//!   (replica id moved from the body to the `ReplicaState` tagged field, KIP-903, 3.5) and v17
//!   (replica directory id, KIP-858, Kafka 3.8–4.x). v18 (high watermark in the request,
//!   KIP-1166) is newer than any released broker and left out. See
//!   [`is_follower_fetch`](super::is_follower_fetch).
//! - **OffsetForLeaderEpoch 2–4.** Exactly `kafka-protocol`'s (and Kafka 4.0's) range: v2
//!   adds the current leader epoch for fencing (KIP-320), v3 the replica id, v4 is flexible.
//! - **AlterPartition 2–3.** The crate's range: v2 names topics by id, v3 sends ISR members
//!   with their broker epochs (KIP-903), which Kafka 3.5+ brokers use.
//! - **BrokerRegistration 0–4, BrokerHeartbeat 0–1.** The crate's full ranges, all
//!   flexible; KRaft brokers of 3.x/4.x send them (registration v2 adds log dirs, v3 the
//!   previous broker epoch, v4 is the newest; heartbeat v1 adds offline log dirs, KIP-858).
//!
//! [`decode_request`]: super::decode_request
//! [`decode_inter_broker_request`]: super::decode_inter_broker_request

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
pub const SUPPORTED_APIS: [SupportedApi; 12] = [
    api(ApiKey::Produce, 3, 9),
    api(ApiKey::Fetch, 4, 12),
    api(ApiKey::ListOffsets, 1, 7),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::AlterPartitionReassignments, 0, 1),
    api(ApiKey::ListPartitionReassignments, 0, 0),
    api(ApiKey::DescribeCluster, 0, 1),
];

/// The table entry for a raw api key, if the broker implements that api.
pub fn supported_api(api_key: i16) -> Option<SupportedApi> {
    SUPPORTED_APIS
        .iter()
        .copied()
        .find(|entry| entry.api_key as i16 == api_key)
}

/// The inter-broker apis (broker-to-broker and broker-to-controller), ordered by api key.
/// Never advertised to clients; see the module docs for why each range is what it is.
pub const INTER_BROKER_APIS: [SupportedApi; 5] = [
    api(ApiKey::Fetch, 4, 17),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
    api(ApiKey::AlterPartition, 2, 3),
    api(ApiKey::BrokerRegistration, 0, 4),
    api(ApiKey::BrokerHeartbeat, 0, 1),
];

/// The inter-broker table entry for a raw api key, if it is an inter-broker api.
pub fn inter_broker_api(api_key: i16) -> Option<SupportedApi> {
    INTER_BROKER_APIS
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
