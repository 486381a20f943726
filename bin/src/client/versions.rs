//! ApiVersions negotiation: for each api, the highest version both this client and the broker
//! support.
//!
//! Contract: [`NegotiatedVersions::negotiate`] intersects the broker's advertised ranges with
//! the client's own ranges ([`CLIENT_APIS`], which is the core wire table — the client encodes
//! and decodes with the same `kafka-protocol` build the broker does) and keeps, per api, the
//! highest common version. An api with no common version is absent, and
//! [`NegotiatedVersions::version`] then names the api and both ranges in its error.
//!
//! Why: Kafka clients always speak the newest version both sides know; picking it per api
//! lets the console tools talk to older and newer brokers alike.

use odradek_core::wire::kafka_protocol::messages::api_versions_response::ApiVersion;
use odradek_core::wire::kafka_protocol::messages::ApiKey;
use odradek_core::wire::{SupportedApi, SUPPORTED_APIS};

/// The api versions this client can encode and decode.
pub const CLIENT_APIS: &[SupportedApi] = &SUPPORTED_APIS;

/// An api the client needs that the broker does not offer in any version the client knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the broker supports no version of {api:?} this client knows (broker: {broker}, client: {client_min}..={client_max})")]
pub struct NoCommonVersion {
    /// The api.
    pub api: ApiKey,
    /// The broker's range, as text (`not offered` when absent).
    pub broker: String,
    /// Lowest version the client knows.
    pub client_min: i16,
    /// Highest version the client knows.
    pub client_max: i16,
}

/// The version chosen for each api both sides support.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NegotiatedVersions {
    chosen: Vec<(ApiKey, i16)>,
    broker: Vec<ApiVersion>,
}

impl NegotiatedVersions {
    /// Intersects the broker's advertised ranges with `client`'s.
    pub fn negotiate(broker: &[ApiVersion], client: &[SupportedApi]) -> NegotiatedVersions {
        let chosen = client
            .iter()
            .filter_map(|ours| {
                let theirs = broker
                    .iter()
                    .find(|entry| entry.api_key == ours.api_key as i16)?;
                let high = ours.max_version.min(theirs.max_version);
                let low = ours.min_version.max(theirs.min_version);
                (low <= high).then_some((ours.api_key, high))
            })
            .collect();
        NegotiatedVersions {
            chosen,
            broker: broker.to_vec(),
        }
    }

    /// The version to use for `api`.
    pub fn version(&self, api: ApiKey) -> Result<i16, NoCommonVersion> {
        if let Some((_, version)) = self.chosen.iter().find(|(key, _)| *key == api) {
            return Ok(*version);
        }
        let (client_min, client_max) = CLIENT_APIS
            .iter()
            .find(|entry| entry.api_key == api)
            .map_or((-1, -1), |entry| (entry.min_version, entry.max_version));
        let broker = self
            .broker
            .iter()
            .find(|entry| entry.api_key == api as i16)
            .map_or("not offered".to_string(), |entry| {
                format!("{}..={}", entry.min_version, entry.max_version)
            });
        Err(NoCommonVersion {
            api,
            broker,
            client_min,
            client_max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker_api(api: ApiKey, min: i16, max: i16) -> ApiVersion {
        ApiVersion::default()
            .with_api_key(api as i16)
            .with_min_version(min)
            .with_max_version(max)
    }

    fn client_api(api_key: ApiKey, min_version: i16, max_version: i16) -> SupportedApi {
        SupportedApi {
            api_key,
            min_version,
            max_version,
        }
    }

    #[test]
    fn the_highest_version_both_sides_support_is_chosen() {
        let broker = [
            broker_api(ApiKey::Fetch, 0, 16),
            broker_api(ApiKey::Metadata, 0, 5),
        ];
        let client = [
            client_api(ApiKey::Fetch, 4, 12),
            client_api(ApiKey::Metadata, 0, 12),
        ];
        let negotiated = NegotiatedVersions::negotiate(&broker, &client);
        assert_eq!(negotiated.version(ApiKey::Fetch), Ok(12));
        assert_eq!(negotiated.version(ApiKey::Metadata), Ok(5));
    }

    #[test]
    fn disjoint_ranges_leave_the_api_unusable_with_both_ranges_in_the_error() {
        let broker = [broker_api(ApiKey::Produce, 0, 2)];
        let client = [client_api(ApiKey::Produce, 3, 9)];
        let negotiated = NegotiatedVersions::negotiate(&broker, &client);
        let error = negotiated.version(ApiKey::Produce).unwrap_err();
        assert_eq!(error.broker, "0..=2");
        assert_eq!((error.client_min, error.client_max), (3, 9));
    }

    #[test]
    fn an_api_the_broker_does_not_offer_is_reported_as_not_offered() {
        let client = [client_api(ApiKey::DescribeCluster, 0, 1)];
        let negotiated = NegotiatedVersions::negotiate(&[], &client);
        let error = negotiated.version(ApiKey::DescribeCluster).unwrap_err();
        assert_eq!(error.broker, "not offered");
    }

    #[test]
    fn against_our_own_broker_every_api_gets_its_maximum() {
        let broker =
            odradek_core::wire::api_versions_response(odradek_core::wire::KafkaErrorCode::None)
                .api_keys;
        let negotiated = NegotiatedVersions::negotiate(&broker, CLIENT_APIS);
        for api in CLIENT_APIS {
            assert_eq!(negotiated.version(api.api_key), Ok(api.max_version));
        }
    }
}
