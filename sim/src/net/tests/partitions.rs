//! Partitions and clogs: held segments, release in order, stream timeouts, datagram loss.

use odradek_core::time::Mono;

use super::{Harness, CLIENT, OTHER, SERVER};
use crate::net::{Delivery, Endpoint, NetConfig};

#[test]
fn a_partition_holds_stream_messages_and_heal_releases_them_in_order() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(stream, CLIENT, 0);
    harness.net.block_between(&[CLIENT], &[SERVER]);
    for message in 1..4 {
        harness.send(stream, CLIENT, message);
    }
    harness.send(stream, SERVER, 100);
    harness.advance_ms(1_000);
    assert!(harness.received(SERVER, Some(stream)).is_empty());
    assert!(harness.received(CLIENT, Some(stream)).is_empty());
    assert_eq!(
        harness.net.stats().held,
        5,
        "0 was on the wire, 1 to 3 and 100 were sent"
    );
    harness.heal();
    for message in 4..6 {
        harness.send(stream, CLIENT, message);
    }
    harness.run_to_quiescence();
    assert_eq!(
        harness.received(SERVER, Some(stream)),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert_eq!(harness.received(CLIENT, Some(stream)), vec![100]);
    assert!(harness.net.is_stream_open(stream));
    assert_eq!(harness.net.poll_timeout(), None);
}

#[test]
fn segments_on_the_wire_when_a_link_is_blocked_are_held_ahead_of_later_ones() {
    let config = NetConfig {
        reorder_probability: 1.0,
        reorder_delay_max_ns: 30_000_000,
        ..NetConfig::default()
    };
    let mut harness = Harness::new(9, config);
    let stream = harness.net.open_stream(CLIENT, SERVER);
    for message in 0..10 {
        harness.send(stream, CLIENT, message);
    }
    harness.advance_ms(10);
    let before = harness.received(SERVER, Some(stream)).len();
    harness.net.block(&[CLIENT], &[SERVER]);
    for message in 10..12 {
        harness.send(stream, CLIENT, message);
    }
    harness.advance_ms(1_000);
    assert_eq!(harness.received(SERVER, Some(stream)).len(), before);
    assert!(
        0 < before && before < 10,
        "some segments arrived and some were still on the wire at the block"
    );
    harness.heal();
    harness.run_to_quiescence();
    assert_eq!(
        harness.received(SERVER, Some(stream)),
        (0..12).collect::<Vec<_>>()
    );
}

#[test]
fn a_datagram_on_the_wire_when_its_link_is_blocked_is_lost() {
    let mut harness = Harness::perfect();
    harness.datagram(CLIENT, SERVER, 1);
    harness.net.block(&[CLIENT], &[SERVER]);
    harness.advance_ms(1);
    harness.heal();
    harness.run_to_quiescence();
    assert!(harness.received(SERVER, None).is_empty());
    assert_eq!(harness.net.stats().blocked_datagrams, 1);
}

#[test]
fn a_one_way_partition_blocks_only_its_direction() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.block(&[SERVER], &[CLIENT]);
    assert!(harness.net.is_blocked(SERVER, CLIENT));
    assert!(!harness.net.is_blocked(CLIENT, SERVER));
    harness.send(stream, CLIENT, 1);
    harness.send(stream, SERVER, 2);
    harness.advance_ms(100);
    assert_eq!(harness.received(SERVER, Some(stream)), vec![1]);
    assert!(harness.received(CLIENT, Some(stream)).is_empty());
}

#[test]
fn a_stream_held_longer_than_the_stream_timeout_is_reset() {
    let config = NetConfig {
        stream_timeout_ns: 2_000_000_000,
        ..NetConfig::default()
    };
    let mut harness = Harness::new(3, config);
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.isolate(SERVER, &[CLIENT, OTHER]);
    harness.send(stream, CLIENT, 1);
    harness.advance_ms(500);
    harness.send(stream, CLIENT, 2);
    assert_eq!(harness.net.poll_timeout(), Some(Mono(2_000_000_000)));
    harness.advance_ms(1_499);
    assert!(harness.net.is_stream_open(stream));
    harness.advance_ms(1);
    assert!(!harness.net.is_stream_open(stream));
    harness.heal();
    harness.run_to_quiescence();
    assert!(harness.received(SERVER, Some(stream)).is_empty());
    assert_eq!(
        harness.notices(),
        vec![
            Delivery::Reset { stream, to: CLIENT },
            Delivery::Reset { stream, to: SERVER }
        ]
    );
    let stats = harness.net.stats();
    assert_eq!(
        (stats.stream_timeouts, stats.resets, stats.discarded),
        (1, 1, 2)
    );
}

#[test]
fn a_healed_partition_cancels_the_stream_timeout() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.block(&[CLIENT], &[SERVER]);
    harness.send(stream, CLIENT, 1);
    assert!(harness.net.poll_timeout().is_some());
    harness.advance_ms(10);
    harness.heal();
    assert_eq!(harness.net.poll_timeout(), None);
    harness.advance_ms(60_000);
    assert!(harness.net.is_stream_open(stream));
    assert_eq!(harness.received(SERVER, Some(stream)), vec![1]);
}

#[test]
fn an_idle_stream_across_a_partition_is_not_reset() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.block_between(&[CLIENT], &[SERVER]);
    harness.advance_ms(60_000);
    assert!(harness.net.is_stream_open(stream));
}

#[test]
fn a_clog_holds_one_link_until_unclogged() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.clog(CLIENT, SERVER);
    harness.send(stream, CLIENT, 1);
    harness.send(stream, SERVER, 2);
    harness.advance_ms(100);
    assert!(harness.received(SERVER, Some(stream)).is_empty());
    assert_eq!(harness.received(CLIENT, Some(stream)), vec![2]);
    let scheduled = harness.net.unclog(harness.now, CLIENT, SERVER);
    assert_eq!(scheduled.len(), 1);
    harness.enqueue(scheduled);
    harness.run_to_quiescence();
    assert_eq!(harness.received(SERVER, Some(stream)), vec![1]);
}

#[test]
fn a_clog_survives_healing_partitions_and_a_partition_survives_unclogging() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.clog(CLIENT, SERVER);
    harness.net.block(&[CLIENT], &[SERVER]);
    harness.send(stream, CLIENT, 1);
    assert!(harness.net.unclog(harness.now, CLIENT, SERVER).is_empty());
    assert!(harness.net.is_blocked(CLIENT, SERVER));
    harness.net.clog(CLIENT, SERVER);
    assert!(harness.net.heal_partitions(harness.now).is_empty());
    assert_eq!(harness.net.blocked_links(), vec![(CLIENT, SERVER)]);
    let released = harness.net.unclog(harness.now, CLIENT, SERVER);
    assert_eq!(released.len(), 1);
}

#[test]
fn datagrams_across_a_partition_are_lost_not_held() {
    let mut harness = Harness::perfect();
    harness.net.block(&[CLIENT], &[SERVER]);
    harness.datagram(CLIENT, SERVER, 1);
    harness.heal();
    harness.datagram(CLIENT, SERVER, 2);
    harness.run_to_quiescence();
    assert_eq!(harness.received(SERVER, None), vec![2]);
    assert_eq!(harness.net.stats().blocked_datagrams, 1);
}

#[test]
fn split_partitions_the_two_halves_from_each_other_only() {
    let mut harness = Harness::perfect();
    let endpoints: Vec<Endpoint> = (0..5).map(Endpoint).collect();
    harness.net.split(&endpoints);
    let first = [Endpoint(0), Endpoint(1)];
    let second = [Endpoint(2), Endpoint(3), Endpoint(4)];
    for a in first {
        for b in second {
            assert!(harness.net.is_blocked(a, b) && harness.net.is_blocked(b, a));
        }
    }
    assert!(!harness.net.is_blocked(Endpoint(0), Endpoint(1)));
    assert!(!harness.net.is_blocked(Endpoint(2), Endpoint(4)));
    assert_eq!(harness.net.blocked_links().len(), 12);
}

#[test]
fn isolating_an_endpoint_blocks_it_both_ways_and_never_blocks_a_link_to_itself() {
    let mut harness = Harness::perfect();
    harness.net.isolate(SERVER, &[CLIENT, SERVER, OTHER]);
    assert_eq!(harness.net.blocked_links().len(), 4);
    assert!(!harness.net.is_blocked(SERVER, SERVER));
    assert!(!harness.net.is_blocked(CLIENT, OTHER));
}

#[test]
fn a_close_held_behind_a_partition_arrives_after_heal_and_after_the_held_messages() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.net.block(&[CLIENT], &[SERVER]);
    harness.send(stream, CLIENT, 1);
    let scheduled = harness.net.close_stream(harness.now, stream, CLIENT);
    assert!(scheduled.is_empty());
    harness.advance_ms(100);
    harness.heal();
    harness.run_to_quiescence();
    assert_eq!(harness.received(SERVER, Some(stream)), vec![1]);
    assert_eq!(
        harness.notices(),
        vec![Delivery::Closed { stream, to: SERVER }]
    );
}
