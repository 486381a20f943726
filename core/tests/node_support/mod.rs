//! Shared driver for the node tests: builds requests with kafka-protocol types, encodes them
//! with the wire client helper and decodes them with `decode_request` (the real path), feeds
//! them to a `Node` on a `SimDisk`, and encodes + decodes every response so the tests also
//! check that each answer is valid at the version asked for.
#![allow(dead_code)]

use bytes::Bytes;
use odradek_core::node::{ConnectionId, Node, NodeConfig, NodeInput, NodeOutput, TopicPartition};
use odradek_core::record::{Record, RecordBatchBuilder};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, FetchRequest, MetadataRequest, ProduceRequest, RequestHeader,
    TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{
    decode_request, decode_response, encode_request, RequestBody, ResponseBody,
};
use odradek_core::{Mono, Now};
use odradek_sim::disk::{SimDisk, SimDiskProvider};

/// A node on a SimDisk with a clock and a correlation-id counter.
pub struct Harness {
    pub node: Node<SimDiskProvider>,
    pub disk: SimDisk,
    pub config: NodeConfig,
    pub now: Now,
    next_correlation: i32,
}

/// A response as a test sees it: connection, correlation id, decoded body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub connection: ConnectionId,
    pub correlation_id: i32,
    pub body: ResponseBody,
}

/// Outputs split into what tests look at.
#[derive(Debug, Default)]
pub struct Drained {
    pub answers: Vec<Answer>,
    pub syncs: Vec<(TopicPartition, odradek_core::log::SyncRequest)>,
    pub closed: Vec<ConnectionId>,
}

pub fn name(text: &str) -> TopicName {
    TopicName(StrBytes::from_string(text.to_owned()))
}

pub fn text(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// One uncompressed batch of `values`, timestamps `base_timestamp + i`.
pub fn batch(base_timestamp: i64, values: &[&str]) -> Bytes {
    let mut builder = RecordBatchBuilder::new(base_timestamp);
    for (i, value) in values.iter().enumerate() {
        builder = builder.record(Record {
            timestamp_delta: i as i64,
            key: None,
            value: Some(value.as_bytes().to_vec()),
        });
    }
    builder.build().freeze()
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(NodeConfig::default())
    }

    pub fn with_config(config: NodeConfig) -> Harness {
        let disk = SimDisk::new(42);
        let now = Now {
            mono: Mono(0),
            wall_ms: 1_700_000_000_000,
        };
        let node = Node::open(SimDiskProvider::new(disk.clone()), config.clone(), now).unwrap();
        Harness {
            node,
            disk,
            config,
            now,
            next_correlation: 1,
        }
    }

    /// Drops the node, crashes the disk (losing unsynced writes) and opens a new node.
    pub fn crash_and_restart(&mut self) {
        self.disk.crash();
        self.restart();
    }

    /// Drops the node and opens a new one on the same disk, then performs the syncs recovery
    /// asks for (as a driver does: under a syncing flush policy the recovered tail is not
    /// readable until they complete).
    pub fn restart(&mut self) {
        let startup = self.reopen();
        assert!(startup.answers.is_empty(), "{startup:?}");
        self.perform_syncs(&startup.syncs);
    }

    /// Drops the node and opens a new one on the same disk; returns what it emitted at open
    /// (the syncs recovery asks for), not performed.
    pub fn reopen(&mut self) -> Drained {
        self.advance_ms(1);
        let provider = SimDiskProvider::new(self.disk.clone());
        self.node = Node::open(provider, self.config.clone(), self.now).unwrap();
        self.drain()
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.now.mono = self.now.mono.plus_millis(ms);
        self.now.wall_ms += ms as i64;
    }

    /// Sends a request on `connection` and returns its correlation id (outputs not drained).
    pub fn send(&mut self, connection: u64, version: i16, body: impl Into<RequestBody>) -> i32 {
        let body = body.into();
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(body.api_key() as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(text("node-test")));
        let frame = encode_request(&header, &body).unwrap().freeze();
        let request = decode_request(frame.slice(4..)).unwrap();
        self.node.handle(
            self.now,
            NodeInput::Request {
                connection: ConnectionId(connection),
                request,
            },
        );
        correlation_id
    }

    /// Drains outputs, encoding and decoding every response at its version.
    pub fn drain(&mut self) -> Drained {
        let mut drained = Drained::default();
        while let Some(output) = self.node.poll_output() {
            match output {
                NodeOutput::Response {
                    connection,
                    response,
                } => {
                    let frame = response.encode().expect("response encodes at its version");
                    let (header, body) = decode_response(
                        response.api_key,
                        response.api_version,
                        frame.freeze().slice(4..),
                    )
                    .expect("response decodes");
                    assert_eq!(header.correlation_id, response.correlation_id);
                    drained.answers.push(Answer {
                        connection,
                        correlation_id: header.correlation_id,
                        body,
                    });
                }
                NodeOutput::Sync { partition, request } => drained.syncs.push((partition, request)),
                NodeOutput::Close { connection, .. } => drained.closed.push(connection),
                NodeOutput::ToController(_) | NodeOutput::ToBroker { .. } => {
                    panic!("a standalone node sent a cluster-mode output")
                }
            }
        }
        drained
    }

    /// Performs the given syncs through the node and returns what was emitted after.
    pub fn perform_syncs(
        &mut self,
        syncs: &[(TopicPartition, odradek_core::log::SyncRequest)],
    ) -> Drained {
        for (partition, request) in syncs {
            self.node
                .perform_sync(self.now, partition, request)
                .unwrap();
        }
        self.drain()
    }

    /// Sends and returns the single answer (syncs are performed if any are asked for).
    pub fn call(&mut self, version: i16, body: impl Into<RequestBody>) -> ResponseBody {
        self.send(0, version, body);
        let mut drained = self.drain();
        if drained.answers.is_empty() && !drained.syncs.is_empty() {
            let syncs = std::mem::take(&mut drained.syncs);
            drained = self.perform_syncs(&syncs);
        }
        assert_eq!(drained.answers.len(), 1, "{drained:?}");
        drained.answers.remove(0).body
    }

    pub fn create_topic(&mut self, topic: &str, partitions: i32, configs: &[(&str, &str)]) {
        let configs = configs
            .iter()
            .map(|(k, v)| {
                CreatableTopicConfig::default()
                    .with_name(text(k))
                    .with_value(Some(text(v)))
            })
            .collect();
        let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
            .with_configs(configs)]);
        let ResponseBody::CreateTopics(response) = self.call(7, request) else {
            panic!()
        };
        assert_eq!(response.topics[0].error_code, 0, "{response:?}");
    }
}

pub fn produce_request(topic: &str, partition: i32, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

pub fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1024 * 1024)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1024 * 1024)])])
}

pub fn metadata_request(topics: &[&str]) -> MetadataRequest {
    use odradek_core::wire::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    MetadataRequest::default()
        .with_topics(Some(
            topics
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(name(t))))
                .collect(),
        ))
        .with_allow_auto_topic_creation(true)
}

/// The batch bytes a fetch returns for (topic index 0, partition index 0).
pub fn fetched_records(body: &ResponseBody) -> Bytes {
    let ResponseBody::Fetch(response) = body else {
        panic!("not a fetch: {body:?}")
    };
    response.responses[0].partitions[0]
        .records
        .clone()
        .unwrap_or_default()
}

pub fn api_key_of(body: &ResponseBody) -> ApiKey {
    body.api_key()
}
