//! Each fault knob: its counter moves when it is certain and stays still when it is off,
//! and it has the documented effect on streams and datagrams.

use odradek_core::time::Mono;

use super::{Harness, CLIENT, SERVER};
use crate::disk::LatencyDistribution;
use crate::net::{Delivery, NetConfig, NetStats, SimNet};

const MESSAGES: u32 = 20;

/// Sends `MESSAGES` on a stream and as datagrams under `config`; returns the harness.
fn exercise(config: NetConfig) -> Harness {
    let mut harness = Harness::new(11, config);
    let stream = harness.net.open_stream(CLIENT, SERVER);
    for message in 0..MESSAGES {
        harness.send(stream, CLIENT, message);
        harness.datagram(CLIENT, SERVER, message);
    }
    harness.run_to_quiescence();
    harness
}

fn certain_drop() -> NetConfig {
    NetConfig {
        drop_probability: 1.0,
        ..NetConfig::default()
    }
}

#[test]
fn a_perfect_network_moves_no_fault_counter() {
    let harness = exercise(NetConfig::default());
    let stats = harness.net.stats();
    assert_eq!(
        *stats,
        NetStats {
            sent: 2 * u64::from(MESSAGES),
            delivered: 2 * u64::from(MESSAGES),
            ..NetStats::default()
        }
    );
}

#[test]
fn certain_drop_loses_every_datagram_and_resets_the_stream_after_its_retransmissions() {
    let harness = exercise(certain_drop());
    let stats = harness.net.stats();
    let retransmits = u64::from(NetConfig::default().retransmits_max);
    assert_eq!(stats.delivered, 0);
    assert_eq!(stats.retransmitted, retransmits);
    assert_eq!(stats.dropped, u64::from(MESSAGES) + retransmits + 1);
    assert_eq!((stats.resets, stats.stream_timeouts), (1, 1));
    assert!(harness.received(SERVER, None).is_empty());
}

#[test]
fn the_stream_gives_up_after_the_whole_exponential_backoff() {
    let harness = exercise(certain_drop());
    let config = NetConfig::default();
    let backoff = config.retransmit_timeout_ns * ((1 << (config.retransmits_max + 1)) - 1);
    let resets: Vec<Mono> = harness
        .log
        .iter()
        .filter(|(_, delivery)| matches!(delivery, Delivery::Reset { .. }))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(resets, vec![Mono(backoff + 50_000); 2]);
}

#[test]
fn a_lost_stream_message_arrives_after_one_retransmit_timeout_per_loss() {
    let config = NetConfig {
        drop_probability: 0.5,
        ..NetConfig::default()
    };
    let mut net = SimNet::new(5, config.clone());
    let mut seen_losses = std::collections::BTreeSet::new();
    for message in 0..200u32 {
        let stream = net.open_stream(CLIENT, SERVER);
        let before = net.stats().retransmitted;
        let scheduled = net.send(Mono(0), stream, CLIENT, message);
        let losses = net.stats().retransmitted - before;
        let Some(entry) = scheduled else {
            continue;
        };
        let backoff = config.retransmit_timeout_ns * ((1 << losses) - 1);
        assert_eq!(entry.at, Mono(backoff + 50_000), "after {losses} losses");
        seen_losses.insert(losses);
    }
    assert!(seen_losses.contains(&0) && seen_losses.contains(&1) && seen_losses.contains(&2));
}

#[test]
fn certain_duplication_is_discarded_on_streams_and_delivered_twice_as_datagrams() {
    let harness = exercise(NetConfig {
        duplicate_probability: 1.0,
        ..NetConfig::default()
    });
    let stats = harness.net.stats();
    assert_eq!(stats.duplicated, 2 * u64::from(MESSAGES));
    assert_eq!(stats.duplicate_discarded, u64::from(MESSAGES));
    let stream = crate::net::StreamId(0);
    assert_eq!(
        harness.received(SERVER, Some(stream)),
        (0..MESSAGES).collect::<Vec<_>>()
    );
    let mut datagrams = harness.received(SERVER, None);
    datagrams.sort_unstable();
    let twice: Vec<u32> = (0..MESSAGES).flat_map(|message| [message; 2]).collect();
    assert_eq!(datagrams, twice);
}

#[test]
fn certain_reordering_keeps_stream_order_but_scrambles_datagrams() {
    let harness = exercise(NetConfig {
        reorder_probability: 1.0,
        reorder_delay_max_ns: 50_000_000,
        ..NetConfig::default()
    });
    assert_eq!(harness.net.stats().reordered, 2 * u64::from(MESSAGES));
    let stream = crate::net::StreamId(0);
    let in_order: Vec<u32> = (0..MESSAGES).collect();
    assert_eq!(harness.received(SERVER, Some(stream)), in_order);
    let datagrams = harness.received(SERVER, None);
    assert_ne!(datagrams, in_order);
    let mut sorted = datagrams;
    sorted.sort_unstable();
    assert_eq!(sorted, in_order);
}

#[test]
fn a_drawn_latency_delays_every_delivery_within_its_bounds() {
    let harness = exercise(NetConfig {
        latency: LatencyDistribution::Uniform {
            min_ns: 1_000_000,
            max_ns: 3_000_000,
        },
        ..NetConfig::default()
    });
    assert!(harness
        .log
        .iter()
        .all(|(at, _)| (Mono(1_000_000)..=Mono(3_000_000)).contains(at)));
    let distinct: std::collections::BTreeSet<Mono> =
        harness.log.iter().map(|(at, _)| *at).collect();
    assert!(distinct.len() > 1);
}

#[test]
fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
    let noisy = NetConfig {
        latency: LatencyDistribution::Uniform {
            min_ns: 10_000,
            max_ns: 900_000,
        },
        drop_probability: 0.2,
        duplicate_probability: 0.2,
        reorder_probability: 0.3,
        ..NetConfig::default()
    };
    let schedule = |seed: u64| {
        let mut harness = Harness::new(seed, noisy.clone());
        let stream = harness.net.open_stream(CLIENT, SERVER);
        for message in 0..50 {
            harness.send(stream, CLIENT, message);
            harness.datagram(SERVER, CLIENT, message);
        }
        harness.run_to_quiescence();
        (harness.log, harness.net.stats().clone())
    };
    assert_eq!(schedule(42), schedule(42));
    assert_ne!(schedule(42).0, schedule(43).0);
}

#[test]
fn nonsense_knobs_are_clamped_instead_of_panicking() {
    let harness = exercise(NetConfig {
        latency: LatencyDistribution::WithTail {
            min_ns: 9_000,
            max_ns: 1_000,
            tail_probability: f64::NAN,
            tail_max_ns: 0,
        },
        drop_probability: -3.0,
        duplicate_probability: f64::INFINITY,
        reorder_probability: f64::NAN,
        reorder_delay_max_ns: 0,
        retransmits_max: u32::MAX,
        ..NetConfig::default()
    });
    let config = harness.net.config();
    assert_eq!(config.drop_probability, 0.0);
    assert_eq!(config.duplicate_probability, 1.0);
    assert_eq!(config.reorder_probability, 0.0);
    assert_eq!(config.retransmits_max, crate::net::RETRANSMITS_LIMIT);
    assert_eq!(harness.net.stats().delivered, 3 * u64::from(MESSAGES));
}

#[test]
fn certain_drop_with_the_most_retransmissions_still_terminates() {
    let harness = exercise(NetConfig {
        drop_probability: 1.0,
        retransmits_max: u32::MAX,
        ..NetConfig::default()
    });
    assert_eq!(
        harness.net.stats().retransmitted,
        u64::from(crate::net::RETRANSMITS_LIMIT)
    );
    assert_eq!(harness.net.stats().resets, 1);
}
