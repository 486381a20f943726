//! The stream guarantee under every fault: whatever the knobs and whatever partitions,
//! clogs, resets, closes and crashes happen, each stream direction delivers a gap-free,
//! duplicate-free prefix of what was sent, in send order; nothing reaches an end after it
//! learnt the stream closed or reset; and a stream still open after healing delivered
//! everything.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::Harness;
use crate::disk::LatencyDistribution;
use crate::net::{Delivery, Endpoint, NetConfig, StreamId};

const ENDPOINTS: u32 = 4;
/// Streams opened at the start: (client, server).
const STREAMS: [(u32, u32); 4] = [(0, 1), (2, 1), (0, 3), (3, 2)];

#[derive(Debug, Clone)]
enum Op {
    Send { stream: usize, from_server: bool },
    Datagram { from: u32, to: u32 },
    Advance { micros: u64 },
    Block { from: u32, to: u32 },
    Isolate { endpoint: u32 },
    Clog { from: u32, to: u32 },
    Unclog { from: u32, to: u32 },
    Heal,
    Reset { stream: usize },
    Close { stream: usize, by_server: bool },
    Crash { endpoint: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let endpoint = 0..ENDPOINTS;
    let stream = 0..STREAMS.len();
    prop_oneof![
        12 => (stream.clone(), any::<bool>())
            .prop_map(|(stream, from_server)| Op::Send { stream, from_server }),
        2 => (endpoint.clone(), endpoint.clone()).prop_map(|(from, to)| Op::Datagram { from, to }),
        6 => (0..400_000u64).prop_map(|micros| Op::Advance { micros }),
        1 => (endpoint.clone(), endpoint.clone()).prop_map(|(from, to)| Op::Block { from, to }),
        1 => endpoint.clone().prop_map(|endpoint| Op::Isolate { endpoint }),
        1 => (endpoint.clone(), endpoint.clone()).prop_map(|(from, to)| Op::Clog { from, to }),
        1 => (endpoint.clone(), endpoint.clone()).prop_map(|(from, to)| Op::Unclog { from, to }),
        1 => Just(Op::Heal),
        1 => stream.clone().prop_map(|stream| Op::Reset { stream }),
        1 => (stream, any::<bool>()).prop_map(|(stream, by_server)| Op::Close { stream, by_server }),
        1 => endpoint.prop_map(|endpoint| Op::Crash { endpoint }),
    ]
}

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), 0.0..1.0f64, 0.0..0.3f64]
}

fn config() -> impl Strategy<Value = NetConfig> {
    (
        (0..2_000_000u64, 0..2_000_000u64),
        (probability(), probability(), probability()),
        (
            0..50_000_000u64,
            1..200_000_000u64,
            0..6u32,
            1..2_000_000_000u64,
        ),
    )
        .prop_map(
            |(
                (min_ns, max_ns),
                (drop, duplicate, reorder),
                (reorder_max, rto, retransmits, timeout),
            )| {
                NetConfig {
                    latency: LatencyDistribution::Uniform { min_ns, max_ns },
                    drop_probability: drop,
                    duplicate_probability: duplicate,
                    reorder_probability: reorder,
                    reorder_delay_max_ns: reorder_max,
                    retransmit_timeout_ns: rto,
                    retransmits_max: retransmits,
                    stream_timeout_ns: timeout,
                }
            },
        )
}

/// A message names its stream, direction and sequence number.
fn encode(stream: usize, direction: usize, sequence: u32) -> u32 {
    sequence * 8 + (stream as u32) * 2 + direction as u32
}

fn decode(message: u32) -> (usize, usize, u32) {
    (
        ((message % 8) / 2) as usize,
        (message % 2) as usize,
        message / 8,
    )
}

/// Runs `ops`, then heals and switches faults off, and drains; returns the harness and how
/// many messages were sent per (stream, direction).
fn run(seed: u64, config: NetConfig, ops: &[Op]) -> (Harness, BTreeMap<(usize, usize), u32>) {
    let mut harness = Harness::new(seed, config);
    let streams: Vec<StreamId> = STREAMS
        .iter()
        .map(|&(client, server)| harness.net.open_stream(Endpoint(client), Endpoint(server)))
        .collect();
    let mut sent = BTreeMap::new();
    for op in ops {
        let now = harness.now;
        match *op {
            Op::Send {
                stream,
                from_server,
            } => {
                let direction = usize::from(from_server);
                let count = sent.entry((stream, direction)).or_insert(0);
                let message = encode(stream, direction, *count);
                *count += 1;
                let (client, server) = STREAMS[stream];
                let from = Endpoint(if from_server { server } else { client });
                harness.send(streams[stream], from, message);
            }
            Op::Datagram { from, to } => harness.datagram(Endpoint(from), Endpoint(to), u32::MAX),
            Op::Advance { micros } => {
                harness.advance_to(odradek_core::time::Mono(now.0 + micros * 1_000))
            }
            Op::Block { from, to } => harness.net.block(&[Endpoint(from)], &[Endpoint(to)]),
            Op::Isolate { endpoint } => {
                let all: Vec<Endpoint> = (0..ENDPOINTS).map(Endpoint).collect();
                harness.net.isolate(Endpoint(endpoint), &all);
            }
            Op::Clog { from, to } => harness.net.clog(Endpoint(from), Endpoint(to)),
            Op::Unclog { from, to } => {
                let scheduled = harness.net.unclog(now, Endpoint(from), Endpoint(to));
                harness.enqueue(scheduled);
            }
            Op::Heal => harness.heal(),
            Op::Reset { stream } => {
                let scheduled = harness.net.reset_stream(now, streams[stream]);
                harness.enqueue(scheduled);
            }
            Op::Close { stream, by_server } => {
                let (client, server) = STREAMS[stream];
                let by = Endpoint(if by_server { server } else { client });
                let scheduled = harness.net.close_stream(now, streams[stream], by);
                harness.enqueue(scheduled);
            }
            Op::Crash { endpoint } => {
                let scheduled = harness.net.reset_endpoint(now, Endpoint(endpoint));
                harness.enqueue(scheduled);
            }
        }
    }
    harness.heal();
    harness.net.set_config(NetConfig::default());
    harness.run_to_quiescence();
    (harness, sent)
}

/// Checks the log: per stream direction a prefix in order, nothing after Closed/Reset.
fn check_streams(harness: &Harness, sent: &BTreeMap<(usize, usize), u32>) {
    let mut received: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    let mut finished: Vec<(StreamId, Endpoint)> = Vec::new();
    for (_, delivery) in &harness.log {
        match *delivery {
            Delivery::Message {
                stream: Some(stream),
                to,
                message,
                ..
            } => {
                assert!(
                    !finished.contains(&(stream, to)),
                    "message after close/reset"
                );
                let (index, direction, sequence) = decode(message);
                assert_eq!(StreamId(index as u64), stream);
                let next = received.entry((index, direction)).or_insert(0);
                assert_eq!(sequence, *next, "gap, duplicate or reorder on {stream:?}");
                *next += 1;
            }
            Delivery::Message { stream: None, .. } => {}
            Delivery::Closed { stream, to } | Delivery::Reset { stream, to } => {
                finished.push((stream, to));
            }
        }
    }
    for (index, _) in STREAMS.iter().enumerate() {
        if harness.net.is_stream_open(StreamId(index as u64)) {
            for direction in 0..2 {
                let sent = sent.get(&(index, direction)).copied().unwrap_or(0);
                let got = received.get(&(index, direction)).copied().unwrap_or(0);
                assert_eq!(got, sent, "open stream {index} lost messages");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_stream_delivers_an_ordered_gap_free_prefix_under_any_faults(
        seed in any::<u64>(),
        config in config(),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let (harness, sent) = run(seed, config, &ops);
        check_streams(&harness, &sent);
        prop_assert_eq!(harness.net.in_flight(), 0);
        prop_assert_eq!(harness.net.poll_timeout(), None);
    }

    #[test]
    fn a_run_is_a_pure_function_of_seed_config_and_calls(
        seed in any::<u64>(),
        config in config(),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let (first, _) = run(seed, config.clone(), &ops);
        let (second, _) = run(seed, config, &ops);
        prop_assert_eq!(&first.log, &second.log);
        prop_assert_eq!(first.net.stats(), second.net.stats());
    }
}
