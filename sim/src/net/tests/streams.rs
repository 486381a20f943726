//! Streams on a perfect network: order, orderly close, reset, crash of an endpoint.

use odradek_core::time::Mono;

use super::{Harness, CLIENT, OTHER, SERVER};
use crate::net::Delivery;

#[test]
fn a_perfect_stream_delivers_every_message_once_in_order_after_the_latency() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    for message in 0..5 {
        harness.send(stream, CLIENT, message);
    }
    harness.send(stream, SERVER, 100);
    harness.run_to_quiescence();
    assert_eq!(harness.received(SERVER, Some(stream)), vec![0, 1, 2, 3, 4]);
    assert_eq!(harness.received(CLIENT, Some(stream)), vec![100]);
    assert!(harness.log.iter().all(|(at, _)| *at == Mono(50_000)));
    assert_eq!(harness.net.stats().sent, 6);
    assert_eq!(harness.net.stats().delivered, 6);
    assert_eq!(harness.net.in_flight(), 0);
}

#[test]
fn deliveries_name_the_stream_and_both_ends() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    assert_eq!(harness.net.stream_ends(stream), Some((CLIENT, SERVER)));
    harness.send(stream, SERVER, 9);
    harness.run_to_quiescence();
    assert_eq!(
        harness.log[0].1,
        Delivery::Message {
            stream: Some(stream),
            from: SERVER,
            to: CLIENT,
            message: 9
        }
    );
}

#[test]
fn a_close_arrives_after_the_messages_sent_before_it() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(stream, CLIENT, 1);
    harness.send(stream, CLIENT, 2);
    let scheduled = harness.net.close_stream(harness.now, stream, CLIENT);
    harness.enqueue(scheduled);
    assert!(!harness.net.is_stream_open(stream));
    harness.run_to_quiescence();
    let kinds: Vec<_> = harness
        .log
        .iter()
        .map(|(_, delivery)| delivery.clone())
        .collect();
    assert_eq!(kinds.len(), 3);
    assert!(matches!(kinds[0], Delivery::Message { message: 1, .. }));
    assert!(matches!(kinds[1], Delivery::Message { message: 2, .. }));
    assert_eq!(kinds[2], Delivery::Closed { stream, to: SERVER });
    assert_eq!(harness.net.stats().closes, 1);
}

#[test]
fn after_a_close_sends_are_discarded_and_messages_to_the_closer_are_not_delivered() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(stream, SERVER, 7);
    let scheduled = harness.net.close_stream(harness.now, stream, CLIENT);
    harness.enqueue(scheduled);
    harness.send(stream, CLIENT, 8);
    harness.send(stream, SERVER, 9);
    harness.run_to_quiescence();
    assert!(harness.received(CLIENT, Some(stream)).is_empty());
    assert!(harness.received(SERVER, Some(stream)).is_empty());
    assert_eq!(
        harness.notices(),
        vec![Delivery::Closed { stream, to: SERVER }]
    );
    assert_eq!(harness.net.stats().discarded, 3);
    assert!(harness.net.streams_of(CLIENT).is_empty());
}

#[test]
fn a_reset_discards_queued_messages_and_notifies_both_ends() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(stream, CLIENT, 1);
    harness.send(stream, SERVER, 2);
    let scheduled = harness.net.reset_stream(harness.now, stream);
    harness.enqueue(scheduled);
    harness.send(stream, CLIENT, 3);
    harness.run_to_quiescence();
    assert!(harness.received(SERVER, Some(stream)).is_empty());
    assert!(harness.received(CLIENT, Some(stream)).is_empty());
    assert_eq!(
        harness.notices(),
        vec![
            Delivery::Reset { stream, to: CLIENT },
            Delivery::Reset { stream, to: SERVER }
        ]
    );
    let stats = harness.net.stats();
    assert_eq!((stats.resets, stats.discarded, stats.delivered), (1, 3, 0));
    assert!(!harness.net.is_stream_open(stream));
    assert_eq!(harness.net.in_flight(), 0);
}

#[test]
fn resetting_a_stream_twice_resets_it_once() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    let first = harness.net.reset_stream(harness.now, stream);
    let second = harness.net.reset_stream(harness.now, stream);
    assert_eq!(first.len(), 2);
    assert!(second.is_empty());
    assert_eq!(harness.net.stats().resets, 1);
}

#[test]
fn a_crashed_endpoint_resets_all_its_streams_and_only_its_peers_hear_of_it() {
    let mut harness = Harness::perfect();
    let first = harness.net.open_stream(CLIENT, SERVER);
    let second = harness.net.open_stream(OTHER, SERVER);
    let unrelated = harness.net.open_stream(CLIENT, OTHER);
    assert_eq!(harness.net.streams_of(SERVER), vec![first, second]);
    harness.send(first, CLIENT, 1);
    let scheduled = harness.net.reset_endpoint(harness.now, SERVER);
    harness.enqueue(scheduled);
    harness.run_to_quiescence();
    assert_eq!(
        harness.notices(),
        vec![
            Delivery::Reset {
                stream: first,
                to: CLIENT
            },
            Delivery::Reset {
                stream: second,
                to: OTHER
            }
        ]
    );
    assert!(harness.received(SERVER, Some(first)).is_empty());
    assert!(harness.net.streams_of(SERVER).is_empty());
    assert!(harness.net.is_stream_open(unrelated));
}

#[test]
fn sending_on_an_unknown_stream_or_from_a_stranger_is_discarded_without_panic() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(crate::net::StreamId(99), CLIENT, 1);
    harness.send(stream, OTHER, 2);
    let closed = harness.net.close_stream(harness.now, stream, OTHER);
    assert!(closed.is_empty());
    harness.run_to_quiescence();
    assert!(harness.log.is_empty());
    assert_eq!(harness.net.stats().discarded, 2);
    assert!(harness.net.is_stream_open(stream));
}

#[test]
fn delivering_an_unknown_or_already_delivered_id_gives_nothing() {
    let mut net = crate::net::SimNet::new(1, crate::net::NetConfig::default());
    let stream = net.open_stream(CLIENT, SERVER);
    let Some(scheduled) = net.send(Mono(0), stream, CLIENT, 5u32) else {
        panic!("a perfect network schedules every message");
    };
    assert!(net.deliver(scheduled.at, scheduled.id).is_some());
    assert!(net.deliver(scheduled.at, scheduled.id).is_none());
    assert!(net
        .deliver(scheduled.at, crate::net::MessageId(1234))
        .is_none());
}

#[test]
fn finished_streams_are_forgotten() {
    let mut harness = Harness::perfect();
    let stream = harness.net.open_stream(CLIENT, SERVER);
    harness.send(stream, CLIENT, 1);
    let scheduled = harness.net.close_stream(harness.now, stream, SERVER);
    harness.enqueue(scheduled);
    harness.run_to_quiescence();
    assert_eq!(harness.net.stream_ends(stream), None);
    assert!(harness.net.streams.is_empty());
    assert!(harness.net.streams_by_endpoint.is_empty());
}
