//! A minimal blocking Kafka client for the load generator: one TCP connection, requests
//! encoded and responses decoded by `odradek_core::wire` (the very codec the broker uses),
//! api versions negotiated once, and the two admin steps a benchmark needs (create the topic,
//! wait until its partition has a leader).
//!
//! Contract: every read has the connection's timeout, every retry loop is bounded in count,
//! and every broker error surfaces as a [`BenchError`]. The connection is split into a
//! [`FrameWriter`] and a [`FrameReader`] so a producer can pipeline (write on one thread while
//! another reads answers).
//!
//! Why blocking std sockets instead of tokio: a load generator wants the fewest moving parts
//! between "write the request" and "read the answer"; two threads per connection are enough
//! for pipelining and add no scheduler of their own to the measured latency.

use crate::client::versions::{NegotiatedVersions, CLIENT_APIS};
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, MetadataRequest, RequestHeader, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{
    decode_response, encode_request, RequestBody, ResponseBody, SIZE_PREFIX_LEN,
};

use super::BenchError;

/// The largest response frame the reader accepts (a fetch answer is bounded by max_bytes).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// Kafka error code TOPIC_ALREADY_EXISTS: creating the bench topic twice is fine.
const TOPIC_ALREADY_EXISTS: i16 = 36;
/// How many times to ask for metadata before giving up on a leader appearing.
const METADATA_ATTEMPTS: u32 = 50;

/// The versions this client will use for each api, chosen once per broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    /// Produce version.
    pub produce: i16,
    /// Fetch version.
    pub fetch: i16,
    /// Metadata version.
    pub metadata: i16,
    /// CreateTopics version.
    pub create_topics: i16,
}

/// The writing half of a connection.
pub struct FrameWriter {
    stream: TcpStream,
    client_id: StrBytes,
}

impl FrameWriter {
    /// Encodes and writes one request frame.
    pub fn send(
        &mut self,
        version: i16,
        correlation_id: i32,
        body: &RequestBody,
    ) -> Result<(), BenchError> {
        let frame = encode(&self.client_id, version, correlation_id, body)?;
        self.write_frame(&frame)
    }

    /// Writes an already encoded frame (the producer encodes its request once and patches
    /// only the correlation id; see [`set_correlation_id`]).
    pub fn write_frame(&mut self, frame: &[u8]) -> Result<(), BenchError> {
        self.stream.write_all(frame).map_err(BenchError::Io)
    }
}

/// Encodes a request frame with this client's id.
pub fn encode(
    client_id: &StrBytes,
    version: i16,
    correlation_id: i32,
    body: &RequestBody,
) -> Result<BytesMut, BenchError> {
    let header = RequestHeader::default()
        .with_request_api_key(body.api_key() as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(client_id.clone()));
    encode_request(&header, body).map_err(BenchError::Wire)
}

/// Overwrites the correlation id of an encoded request frame (size prefix, api key, api
/// version, then the id: bytes 8..12).
pub fn set_correlation_id(frame: &mut [u8], correlation_id: i32) {
    if let Some(slot) = frame.get_mut(8..12) {
        slot.copy_from_slice(&correlation_id.to_be_bytes());
    }
}

/// The reading half of a connection.
pub struct FrameReader {
    reader: BufReader<TcpStream>,
}

impl FrameReader {
    /// Reads one response frame (without its size prefix).
    pub fn read_frame(&mut self) -> Result<Bytes, BenchError> {
        let mut size = [0u8; SIZE_PREFIX_LEN];
        self.reader.read_exact(&mut size).map_err(BenchError::Io)?;
        let len = i32::from_be_bytes(size);
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= MAX_RESPONSE_BYTES)
            .ok_or(BenchError::BadFrameSize { size: len })?;
        let mut frame = vec![0u8; len];
        self.reader.read_exact(&mut frame).map_err(BenchError::Io)?;
        Ok(Bytes::from(frame))
    }

    /// Reads and decodes one response, checking its correlation id.
    pub fn receive(
        &mut self,
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> Result<ResponseBody, BenchError> {
        let frame = self.read_frame()?;
        let (header, body) = decode_response(api_key, version, frame).map_err(BenchError::Wire)?;
        if header.correlation_id != correlation_id {
            return Err(BenchError::CorrelationMismatch {
                expected: correlation_id,
                actual: header.correlation_id,
            });
        }
        Ok(body)
    }
}

/// One connection to the broker, not yet split.
pub struct Connection {
    /// The writing half.
    pub writer: FrameWriter,
    /// The reading half.
    pub reader: FrameReader,
    /// The negotiated versions.
    pub versions: Versions,
    next_correlation: i32,
}

impl Connection {
    /// Connects, sets TCP_NODELAY and the read timeout, and negotiates versions.
    pub fn open(address: SocketAddr, io_timeout: Duration) -> Result<Connection, BenchError> {
        let stream = TcpStream::connect_timeout(&address, io_timeout).map_err(BenchError::Io)?;
        stream.set_nodelay(true).map_err(BenchError::Io)?;
        stream
            .set_read_timeout(Some(io_timeout))
            .map_err(BenchError::Io)?;
        stream
            .set_write_timeout(Some(io_timeout))
            .map_err(BenchError::Io)?;
        let read_half = stream.try_clone().map_err(BenchError::Io)?;
        let mut connection = Connection {
            writer: FrameWriter {
                stream,
                client_id: StrBytes::from_static_str("odradek-bench"),
            },
            reader: FrameReader {
                reader: BufReader::with_capacity(256 * 1024, read_half),
            },
            versions: Versions {
                produce: 0,
                fetch: 0,
                metadata: 0,
                create_topics: 0,
            },
            next_correlation: 1,
        };
        connection.versions = connection.negotiate_versions()?;
        Ok(connection)
    }

    /// The client id requests carry.
    pub fn client_id(&self) -> &StrBytes {
        &self.writer.client_id
    }

    /// Sends one request and waits for its answer.
    pub fn call(&mut self, version: i16, body: RequestBody) -> Result<ResponseBody, BenchError> {
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let api_key = body.api_key();
        self.writer.send(version, correlation_id, &body)?;
        self.reader.receive(api_key, version, correlation_id)
    }

    /// ApiVersions v0 (every broker answers it), then the highest common version per api.
    fn negotiate_versions(&mut self) -> Result<Versions, BenchError> {
        let ResponseBody::ApiVersions(answer) =
            self.call(0, ApiVersionsRequest::default().into())?
        else {
            return Err(BenchError::UnexpectedResponse { api: "ApiVersions" });
        };
        broker_error("ApiVersions", answer.error_code)?;
        let negotiated = NegotiatedVersions::negotiate(&answer.api_keys, CLIENT_APIS);
        let pick = |api_key: ApiKey, name: &'static str| {
            negotiated
                .version(api_key)
                .map_err(|_| BenchError::NoCommonVersion { api: name })
        };
        Ok(Versions {
            produce: pick(ApiKey::Produce, "Produce")?,
            fetch: pick(ApiKey::Fetch, "Fetch")?,
            metadata: pick(ApiKey::Metadata, "Metadata")?,
            create_topics: pick(ApiKey::CreateTopics, "CreateTopics")?,
        })
    }

    /// Creates `topic` with `partitions` partitions (an existing topic is fine).
    pub fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<(), BenchError> {
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(1)]);
        let version = self.versions.create_topics;
        let ResponseBody::CreateTopics(answer) = self.call(version, request.into())? else {
            return Err(BenchError::UnexpectedResponse {
                api: "CreateTopics",
            });
        };
        for result in &answer.topics {
            if result.error_code != TOPIC_ALREADY_EXISTS {
                broker_error("CreateTopics", result.error_code)?;
            }
        }
        Ok(())
    }

    /// Asks for metadata until `partition` of `topic` has a leader (bounded attempts).
    pub fn wait_for_leader(&mut self, topic: &str, partition: i32) -> Result<(), BenchError> {
        for _ in 0..METADATA_ATTEMPTS {
            let request = MetadataRequest::default()
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
                ]))
                .with_allow_auto_topic_creation(false);
            let version = self.versions.metadata;
            let ResponseBody::Metadata(answer) = self.call(version, request.into())? else {
                return Err(BenchError::UnexpectedResponse { api: "Metadata" });
            };
            let ready = answer.topics.iter().any(|t| {
                t.error_code == 0
                    && t.partitions.iter().any(|p| {
                        p.partition_index == partition && p.error_code == 0 && p.leader_id.0 >= 0
                    })
            });
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(BenchError::NoLeader {
            topic: topic.to_owned(),
            partition,
        })
    }
}

/// A topic name for requests.
pub fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// Turns a non-zero Kafka error code into an error.
pub fn broker_error(api: &'static str, code: i16) -> Result<(), BenchError> {
    if code == 0 {
        Ok(())
    } else {
        Err(BenchError::Broker { api, code })
    }
}
