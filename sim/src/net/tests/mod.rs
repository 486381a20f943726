//! SimNet's tests, one file per behaviour, and the little world that drives them: one event
//! queue ordered by `(time, sequence)`, exactly the contract the simulator's world follows.

mod faults;
mod order_property;
mod partitions;
mod streams;

use std::collections::BTreeMap;

use odradek_core::time::Mono;

use super::{Delivery, Endpoint, MessageId, NetConfig, Scheduled, SimNet, StreamId};

const CLIENT: Endpoint = Endpoint(1);
const SERVER: Endpoint = Endpoint(2);
const OTHER: Endpoint = Endpoint(3);

/// A minimal world: enqueues what SimNet schedules, delivers it when due, fires timeouts.
struct Harness {
    net: SimNet<u32>,
    queue: BTreeMap<(Mono, u64), MessageId>,
    sequence: u64,
    now: Mono,
    log: Vec<(Mono, Delivery<u32>)>,
}

impl Harness {
    fn new(seed: u64, config: NetConfig) -> Self {
        Harness {
            net: SimNet::new(seed, config),
            queue: BTreeMap::new(),
            sequence: 0,
            now: Mono(0),
            log: Vec::new(),
        }
    }

    fn perfect() -> Self {
        Harness::new(7, NetConfig::default())
    }

    fn enqueue(&mut self, scheduled: impl IntoIterator<Item = Scheduled>) {
        for entry in scheduled {
            assert!(entry.at >= self.now, "scheduled in the past: {entry:?}");
            self.queue.insert((entry.at, self.sequence), entry.id);
            self.sequence += 1;
        }
    }

    fn send(&mut self, stream: StreamId, from: Endpoint, message: u32) {
        let scheduled = self.net.send(self.now, stream, from, message);
        self.enqueue(scheduled);
    }

    fn datagram(&mut self, from: Endpoint, to: Endpoint, message: u32) {
        let scheduled = self.net.send_datagram(self.now, from, to, message);
        self.enqueue(scheduled);
    }

    fn heal(&mut self) {
        let scheduled = self.net.heal(self.now);
        self.enqueue(scheduled);
    }

    /// Processes every event and timeout due at or before `until`, then sets the clock there.
    fn advance_to(&mut self, until: Mono) {
        loop {
            let event = self.queue.first_key_value().map(|(&(at, _), _)| at);
            let timeout = self.net.poll_timeout();
            let next = match (event, timeout) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(next) => next,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if timeout == Some(next) {
                let scheduled = self.net.handle_timeout(self.now);
                self.enqueue(scheduled);
                continue;
            }
            let Some(((at, _), id)) = self.queue.pop_first() else {
                break;
            };
            if let Some(delivery) = self.net.deliver(at, id) {
                self.log.push((at, delivery));
            }
        }
        self.now = self.now.max(until);
    }

    /// Runs until nothing is queued and no timeout is pending.
    fn run_to_quiescence(&mut self) {
        self.advance_to(Mono(u64::MAX));
    }

    fn advance_ms(&mut self, millis: u64) {
        self.advance_to(self.now.plus_millis(millis));
    }

    /// The messages `to` received on `stream` (or as datagrams for `None`), in order.
    fn received(&self, to: Endpoint, stream: Option<StreamId>) -> Vec<u32> {
        self.log
            .iter()
            .filter_map(|(_, delivery)| match delivery {
                Delivery::Message {
                    stream: on,
                    to: receiver,
                    message,
                    ..
                } if *on == stream && *receiver == to => Some(*message),
                _ => None,
            })
            .collect()
    }

    /// The notices (`Closed`/`Reset`) in the log, in order.
    fn notices(&self) -> Vec<Delivery<u32>> {
        self.log
            .iter()
            .filter(|(_, delivery)| !matches!(delivery, Delivery::Message { .. }))
            .map(|(_, delivery)| delivery.clone())
            .collect()
    }
}
