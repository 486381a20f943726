//! Throughput of `SimNet`'s hot path: one stream message sent and delivered through a
//! world-like `(time, sequence)` queue, which is what every simulated request and reply
//! costs. The simulator's budget is 500,000 events per second in total, so the network's
//! share per message should stay well under a microsecond.
//!
//! - `stream/perfect`: default config (constant latency, no faults: no random draws).
//! - `stream/faulty`: drawn latency, 5% drop, 5% duplicate, 10% reorder.
//! - `datagram/faulty`: the same faults on datagrams.
//!
//! 64 streams between 8 endpoints; 1024 messages in flight at once.

use std::collections::BTreeMap;

use criterion::{black_box, Criterion, Throughput};
use odradek_core::time::Mono;
use odradek_sim::disk::LatencyDistribution;
use odradek_sim::net::{Endpoint, MessageId, NetConfig, SimNet, StreamId};

const STREAMS: u32 = 64;
const IN_FLIGHT: u64 = 1024;
const MESSAGES: u64 = 16 * 1024;

fn faulty() -> NetConfig {
    NetConfig {
        latency: LatencyDistribution::Uniform {
            min_ns: 20_000,
            max_ns: 400_000,
        },
        drop_probability: 0.05,
        duplicate_probability: 0.05,
        reorder_probability: 0.1,
        ..NetConfig::default()
    }
}

/// Sends `MESSAGES` messages keeping `IN_FLIGHT` queued, delivering the earliest each time.
fn pump(config: &NetConfig, datagrams: bool) -> u64 {
    let mut net: SimNet<u64> = SimNet::new(1, config.clone());
    let streams: Vec<StreamId> = (0..STREAMS)
        .map(|index| net.open_stream(Endpoint(index % 8), Endpoint(100 + index % 4)))
        .collect();
    let mut queue: BTreeMap<(Mono, u64), MessageId> = BTreeMap::new();
    let mut sequence = 0u64;
    let mut now = Mono(0);
    let mut delivered = 0u64;
    for message in 0..MESSAGES {
        let index = (message % u64::from(STREAMS)) as u32;
        let (from, to) = (Endpoint(index % 8), Endpoint(100 + index % 4));
        if datagrams {
            for entry in net.send_datagram(now, from, to, message) {
                queue.insert((entry.at, sequence), entry.id);
                sequence += 1;
            }
        } else if let Some(entry) = net.send(now, streams[index as usize], from, message) {
            queue.insert((entry.at, sequence), entry.id);
            sequence += 1;
        }
        while queue.len() as u64 > IN_FLIGHT {
            let Some(((at, _), id)) = queue.pop_first() else {
                break;
            };
            now = at;
            delivered += u64::from(net.deliver(at, id).is_some());
        }
    }
    delivered
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("net");
    group.throughput(Throughput::Elements(MESSAGES));
    let perfect = NetConfig::default();
    let faulty = faulty();
    group.bench_function("stream/perfect", |b| {
        b.iter(|| black_box(pump(&perfect, false)))
    });
    group.bench_function("stream/faulty", |b| {
        b.iter(|| black_box(pump(&faulty, false)))
    });
    group.bench_function("datagram/faulty", |b| {
        b.iter(|| black_box(pump(&faulty, true)))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
