//! Throughput of the node's request paths on `SimDisk` (no faults, no fsync), per request,
//! decode excluded (requests are decoded once and cloned; a clone shares the record bytes):
//!
//! - `node/produce_acks1`: one Produce v9 of one 16-record batch (100-byte values, ~1.9 KB)
//!   with acks=1 to one partition, handled and its response drained and encoded.
//! - `node/fetch_1mib`: one Fetch v12 of up to 1 MiB from offset 0 of a partition holding
//!   ~4 MiB, handled, drained and encoded.
//!
//! The node is replaced (untimed) every `REQUESTS_PER_NODE` produces so the in-memory disk
//! stays bounded. Run: `cargo bench -p odradek-core --bench node -- --warm-up-time 1
//! --measurement-time 3`.

use bytes::Bytes;
use criterion::{black_box, Criterion, Throughput};
use odradek_core::node::{ConnectionId, Node, NodeConfig, NodeInput, NodeOutput};
use odradek_core::record::{Record, RecordBatchBuilder};
use odradek_core::time::{Mono, Now};
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{
    FetchRequest, ProduceRequest, RequestHeader, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{decode_request, encode_request, DecodedRequest, RequestBody};
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use std::time::Duration;

const REQUESTS_PER_NODE: u64 = 20_000;
const NOW: Now = Now {
    mono: Mono(0),
    wall_ms: 1_700_000_000_000,
};

fn decoded(version: i16, body: RequestBody) -> DecodedRequest {
    let header = RequestHeader::default()
        .with_request_api_key(body.api_key() as i16)
        .with_request_api_version(version)
        .with_correlation_id(1);
    let frame = encode_request(&header, &body).expect("encodes").freeze();
    decode_request(frame.slice(4..)).expect("decodes")
}

fn produce_request() -> DecodedRequest {
    let mut builder = RecordBatchBuilder::new(NOW.wall_ms);
    for i in 0..16 {
        builder = builder.record(Record {
            timestamp_delta: i,
            key: None,
            value: Some(vec![b'v'; 100]),
        });
    }
    let body = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(Bytes::from(builder.build())))])]);
    decoded(9, body.into())
}

fn fetch_request() -> DecodedRequest {
    let body = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1024 * 1024)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("bench")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1024 * 1024)])]);
    decoded(12, body.into())
}

/// Handles one request and drains (encoding every response, as a driver must).
fn handle(node: &mut Node<SimDiskProvider>, request: &DecodedRequest) -> usize {
    node.handle(
        NOW,
        NodeInput::Request {
            connection: ConnectionId(0),
            request: request.clone(),
        },
    );
    let mut bytes = 0;
    while let Some(output) = node.poll_output() {
        if let NodeOutput::Response { response, .. } = output {
            bytes += response.encode().expect("encodes").len();
        }
    }
    bytes
}

fn fresh_node(produce: &DecodedRequest, preload: u64) -> Node<SimDiskProvider> {
    let provider = SimDiskProvider::new(SimDisk::new(1));
    let mut node = Node::open(provider, NodeConfig::default(), NOW).expect("opens");
    for _ in 0..preload.max(1) {
        handle(&mut node, produce);
    }
    node
}

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn timed(iters: u64, produce: &DecodedRequest, request: &DecodedRequest, preload: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let chunk = (iters - done).min(REQUESTS_PER_NODE);
        let mut node = fresh_node(produce, preload);
        let start = std::time::Instant::now();
        for _ in 0..chunk {
            black_box(handle(&mut node, request));
        }
        total += start.elapsed();
        done += chunk;
    }
    total
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let produce = produce_request();
    let fetch = fetch_request();
    let mut group = criterion.benchmark_group("node");
    group.throughput(Throughput::Elements(1));
    group.bench_function("produce_acks1", |b| {
        b.iter_custom(|iters| timed(iters, &produce, &produce, 1));
    });
    group.throughput(Throughput::Bytes(1024 * 1024));
    group.bench_function("fetch_1mib", |b| {
        b.iter_custom(|iters| timed(iters, &produce, &fetch, 2_200));
    });
    group.finish();
    criterion.final_summary();
}
