//! A small blocking Kafka client for the console tools, over `std::net::TcpStream`.
//!
//! Contract: [`Client::connect`] opens a [`Connection`] to the bootstrap server (negotiating
//! api versions, see [`versions`]). [`Client::topic`] looks a topic up with Metadata and
//! remembers every broker's advertised address; [`Client::leader`] then gives a connection
//! to the broker that leads a partition, opened lazily from that address (with one broker it
//! is usually the bootstrap server again, but the tools always go through Metadata so they
//! keep working when leaders move). Admin requests go to the bootstrap connection.
//! Keyed records are placed with Kafka's murmur2 partitioner ([`partitioner`]).
//!
//! Why: the console tools must speak the real Kafka protocol to any compatible broker, with
//! the same codec the broker uses and no async runtime.

pub mod connection;
pub mod error;
pub mod partitioner;
pub mod versions;

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Duration;

use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{KafkaErrorCode, RequestBody, ResponseBody};

pub use connection::Connection;
pub use error::{BrokerError, ClientError};

/// How often a topic lookup is retried while its leaders are not yet elected (e.g. right
/// after auto-creation), and how long to wait between tries.
const LEADER_RETRIES: u32 = 20;
const LEADER_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One partition of a topic, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub index: i32,
    /// Broker id of the leader (-1 when none).
    pub leader: i32,
    /// Error code of the partition entry.
    pub error_code: i16,
}

/// A topic's partitions, ordered by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Partitions by index.
    pub partitions: Vec<PartitionInfo>,
}

/// A bootstrap connection plus lazily opened connections to partition leaders.
#[derive(Debug)]
pub struct Client {
    bootstrap: Connection,
    io_timeout: Duration,
    broker_addresses: BTreeMap<i32, String>,
    leaders: BTreeMap<i32, Connection>,
}

impl Client {
    /// Connects to the bootstrap server `address` (`host:port`).
    pub fn connect(address: &str, io_timeout: Duration) -> Result<Client, ClientError> {
        Ok(Client {
            bootstrap: Connection::open(address, io_timeout)?,
            io_timeout,
            broker_addresses: BTreeMap::new(),
            leaders: BTreeMap::new(),
        })
    }

    /// The connection to the bootstrap server (for admin requests).
    pub fn bootstrap(&mut self) -> &mut Connection {
        &mut self.bootstrap
    }

    /// Sends Metadata for `topics` (all topics when `None`) and records broker addresses.
    pub fn metadata(
        &mut self,
        topics: Option<&[String]>,
        allow_auto_topic_creation: bool,
    ) -> Result<MetadataResponse, ClientError> {
        let version = self.bootstrap.version(ApiKey::Metadata)?;
        let requested = topics.map(|names| {
            names
                .iter()
                .map(|name| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                })
                .collect::<Vec<_>>()
        });
        // Metadata v0 has no null array: an empty list means "all topics".
        let requested = match (requested, version) {
            (None, 0) => Some(Vec::new()),
            (requested, _) => requested,
        };
        let mut request = MetadataRequest::default().with_topics(requested);
        if version >= 4 {
            request = request.with_allow_auto_topic_creation(allow_auto_topic_creation);
        }
        let response = match self.bootstrap.call(RequestBody::Metadata(request))? {
            ResponseBody::Metadata(response) => response,
            _ => {
                return Err(ClientError::UnexpectedResponse {
                    api: ApiKey::Metadata,
                })
            }
        };
        for broker in &response.brokers {
            let address = format!("{}:{}", broker.host.as_str(), broker.port);
            self.broker_addresses.insert(broker.node_id.0, address);
        }
        Ok(response)
    }

    /// Looks `topic` up, retrying while its partitions have no leader yet. A topic-level
    /// error (e.g. UNKNOWN_TOPIC_OR_PARTITION with auto-creation off) is returned as such.
    pub fn topic(
        &mut self,
        topic: &str,
        allow_auto_create: bool,
    ) -> Result<TopicInfo, ClientError> {
        let names = [topic.to_string()];
        let mut attempt = 0;
        loop {
            attempt += 1;
            let response = self.metadata(Some(&names), allow_auto_create)?;
            let entry = response
                .topics
                .iter()
                .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some(topic));
            let retriable = |code: i16| code == KafkaErrorCode::LeaderNotAvailable.code();
            let result = match entry {
                None => Err(BrokerError::new(
                    KafkaErrorCode::UnknownTopicOrPartition.code(),
                    None,
                )),
                Some(entry) if entry.error_code != 0 => {
                    Err(BrokerError::new(entry.error_code, None))
                }
                Some(entry) => {
                    let mut partitions: Vec<PartitionInfo> = entry
                        .partitions
                        .iter()
                        .map(|p| PartitionInfo {
                            index: p.partition_index,
                            leader: p.leader_id.0,
                            error_code: p.error_code,
                        })
                        .collect();
                    partitions.sort_by_key(|p| p.index);
                    match partitions
                        .iter()
                        .find(|p| p.leader < 0 || p.error_code != 0)
                    {
                        Some(p) if p.error_code != 0 => Err(BrokerError::new(p.error_code, None)),
                        Some(_) => Err(BrokerError::new(
                            KafkaErrorCode::LeaderNotAvailable.code(),
                            None,
                        )),
                        None if partitions.is_empty() => Err(BrokerError::new(
                            KafkaErrorCode::LeaderNotAvailable.code(),
                            None,
                        )),
                        None => Ok(TopicInfo {
                            name: topic.to_string(),
                            partitions,
                        }),
                    }
                }
            };
            match result {
                Err(error) if retriable(error.code) && attempt < LEADER_RETRIES => {
                    std::thread::sleep(LEADER_RETRY_PAUSE);
                }
                Err(error) => return Err(error.into()),
                Ok(info) => return Ok(info),
            }
        }
    }

    /// A connection to broker `broker_id`, at the address its last Metadata advertised.
    pub fn leader(&mut self, broker_id: i32) -> Result<&mut Connection, ClientError> {
        let address = self
            .broker_addresses
            .get(&broker_id)
            .cloned()
            .ok_or(ClientError::UnknownBroker { broker_id })?;
        if address == self.bootstrap.address() {
            return Ok(&mut self.bootstrap);
        }
        match self.leaders.entry(broker_id) {
            Entry::Occupied(open) => Ok(open.into_mut()),
            Entry::Vacant(slot) => Ok(slot.insert(Connection::open(&address, self.io_timeout)?)),
        }
    }
}
