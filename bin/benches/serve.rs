//! End-to-end throughput of `odradek serve` over loopback TCP: a real broker process (the
//! bench profile's binary) and a blocking client using core's wire helpers.
//!
//! Groups: produce `acks=1` one request at a time and pipelined (32 requests written before
//! the answers are read), and pipelined `acks=all` under `--flush every-batch`, where the
//! disk worker's group commit lets the pipelined requests share fsyncs. Each request carries
//! one batch of 16 records of 100 bytes. Run:
//! `cargo bench -p odradek --bench serve -- --warm-up-time 1 --measurement-time 3`.
//!
//! Observed on the shared 2-core dev VM (ext4 on a virtual disk, load average ~3 from other
//! work, so runs vary by 2x), 2026-11-25: acks=1 one at a time 28-76 us/request, pipelined
//! ~54-76k requests/s (~0.9-1.2M records/s); acks=all with every-batch flush one at a time
//! 0.3-1.2 ms/request, pipelined ~10-31k requests/s (group commit: pipelined requests share
//! fsyncs).

#[path = "../tests/serve_support/mod.rs"]
mod serve_support;

use criterion::{Criterion, Throughput};
use odradek_core::wire::kafka_protocol::messages::ApiKey;
use serve_support::*;

const PIPELINE: usize = 32;

fn record_values() -> Vec<String> {
    (0..16).map(|i| format!("{i:0>100}")).collect()
}

fn pipelined(client: &mut Client, topic: &str, acks: i16, values: &[String]) {
    for _ in 0..PIPELINE {
        client.send(PRODUCE_V, produce_request(topic, 0, acks, values));
    }
    for _ in 0..PIPELINE {
        client.receive(ApiKey::Produce, PRODUCE_V);
    }
}

fn produce(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let values = record_values();
    let mut group = c.benchmark_group("serve_produce_16x100B");

    let broker = ServeProcess::start(&dir.path().join("never"), &[]);
    let mut client = broker.connect();
    create_topic(&mut client, "bench", 1);
    group.throughput(Throughput::Elements(1));
    group.bench_function("acks1_one_at_a_time", |b| {
        b.iter(|| serve_support::produce(&mut client, "bench", 0, 1, &values))
    });
    group.throughput(Throughput::Elements(PIPELINE as u64));
    group.bench_function("acks1_pipelined_32", |b| {
        b.iter(|| pipelined(&mut client, "bench", 1, &values))
    });
    drop(broker);

    let synced = ServeProcess::start(&dir.path().join("every"), &["--flush", "every-batch"]);
    let mut client = synced.connect();
    create_topic(&mut client, "bench", 1);
    group.throughput(Throughput::Elements(1));
    group.bench_function("acks_all_every_batch_one_at_a_time", |b| {
        b.iter(|| serve_support::produce(&mut client, "bench", 0, -1, &values))
    });
    group.throughput(Throughput::Elements(PIPELINE as u64));
    group.bench_function("acks_all_every_batch_pipelined_32", |b| {
        b.iter(|| pipelined(&mut client, "bench", -1, &values))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    produce(&mut criterion);
    criterion.final_summary();
}
