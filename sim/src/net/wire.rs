//! The wire: what is in flight (scheduled, not yet delivered), the seeded fault draws for
//! each packet, and the counters. `SimNet` decides *whether* a segment may go (links,
//! stream state); the wire decides *when* it arrives and what the faults did to it.

use std::collections::BTreeMap;

use odradek_core::time::Mono;
use rand_chacha::ChaCha8Rng;

use super::config::{backoff_ns, chance, draw_latency_ns, uniform, NetConfig};
use super::stream::{Segment, Stream};
use super::{Endpoint, MessageId, NetStats, Scheduled, StreamId};

/// What a scheduled delivery carries.
#[derive(Debug)]
pub(super) enum Cargo<M> {
    /// A message or close marker of a stream (listed in its direction's `scheduled`).
    Stream(StreamId, Segment<M>),
    /// A datagram.
    Datagram(M),
    /// The notice that a stream was reset (it outlives the stream).
    Reset(StreamId),
}

/// One scheduled delivery.
#[derive(Debug)]
pub(super) struct InFlight<M> {
    pub(super) at: Mono,
    pub(super) from: Endpoint,
    pub(super) to: Endpoint,
    pub(super) cargo: Cargo<M>,
}

/// Everything in flight, the fault draws and the counters.
#[derive(Debug)]
pub(super) struct Wire<M> {
    pub(super) config: NetConfig,
    pub(super) rng: ChaCha8Rng,
    pub(super) stats: NetStats,
    pub(super) in_flight: BTreeMap<MessageId, InFlight<M>>,
    next_message: u64,
}

impl<M> Wire<M> {
    pub(super) fn new(config: NetConfig, rng: ChaCha8Rng) -> Self {
        Wire {
            config: config.clamped(),
            rng,
            stats: NetStats::default(),
            in_flight: BTreeMap::new(),
            next_message: 0,
        }
    }

    /// Registers a delivery due `at`; the world enqueues the returned id at that time.
    pub(super) fn schedule(
        &mut self,
        at: Mono,
        from: Endpoint,
        to: Endpoint,
        cargo: Cargo<M>,
    ) -> Scheduled {
        let id = MessageId(self.next_message);
        self.next_message += 1;
        self.in_flight.insert(
            id,
            InFlight {
                at,
                from,
                to,
                cargo,
            },
        );
        Scheduled { id, at }
    }

    /// `now` plus one drawn base latency.
    pub(super) fn arrival_after_latency(&mut self, now: Mono) -> Mono {
        let latency = draw_latency_ns(&mut self.rng, &self.config.latency);
        if latency > super::SLOW_LATENCY_NS {
            self.stats.slow += 1;
        }
        Mono(now.0.saturating_add(latency))
    }

    /// The extra delay of a reordered packet, or zero if this packet is not reordered.
    pub(super) fn reorder_delay_ns(&mut self) -> u64 {
        if !chance(&mut self.rng, self.config.reorder_probability) {
            return 0;
        }
        self.stats.reordered += 1;
        uniform(&mut self.rng, 1, self.config.reorder_delay_max_ns.max(1))
    }

    /// Sends `segment` now in `direction` of `stream` through TCP: lost packets are
    /// retransmitted after exponential backoff, duplicates are discarded by the receiver,
    /// and the receiver re-sequences so delivery is never before the previous segment's.
    /// Returns `None` when every retransmission was lost: the direction is then given up
    /// and the stream resets at that time (the caller registers the deadline).
    pub(super) fn transmit_segment(
        &mut self,
        now: Mono,
        stream_id: StreamId,
        stream: &mut Stream<M>,
        direction: usize,
        segment: Segment<M>,
    ) -> Option<Scheduled> {
        let losses = self.draw_losses();
        let retransmits_max = self.config.retransmits_max;
        let timeout_ns = self.config.retransmit_timeout_ns;
        if losses > retransmits_max {
            self.stats.retransmitted += u64::from(retransmits_max);
            self.stats.discarded += 1;
            let give_up = now.0.saturating_add(backoff_ns(timeout_ns, losses));
            stream.directions[direction].given_up_at = Some(Mono(give_up));
            return None;
        }
        self.stats.retransmitted += u64::from(losses);
        let sent = Mono(now.0.saturating_add(backoff_ns(timeout_ns, losses)));
        let mut arrival = self.arrival_after_latency(sent);
        if chance(&mut self.rng, self.config.duplicate_probability) {
            self.stats.duplicated += 1;
            self.stats.duplicate_discarded += 1;
        }
        arrival = Mono(arrival.0.saturating_add(self.reorder_delay_ns()));
        let (from, to) = stream.ends(direction);
        let lane = &mut stream.directions[direction];
        let at = arrival.max(lane.last_delivery);
        lane.last_delivery = at;
        let scheduled = self.schedule(at, from, to, Cargo::Stream(stream_id, segment));
        lane.scheduled.push_back(scheduled.id);
        Some(scheduled)
    }

    /// Takes the segments scheduled in `direction` of `stream` back off the wire, in order
    /// (their delivery events become stale).
    pub(super) fn unschedule(
        &mut self,
        stream: &mut Stream<M>,
        direction: usize,
    ) -> impl Iterator<Item = Segment<M>> + '_ {
        let ids = std::mem::take(&mut stream.directions[direction].scheduled);
        ids.into_iter()
            .filter_map(|id| match self.in_flight.remove(&id) {
                Some(InFlight {
                    cargo: Cargo::Stream(_, segment),
                    ..
                }) => Some(segment),
                _ => None,
            })
    }

    /// Consecutive losses of one packet: stops at the first transmission that gets through
    /// or one past `retransmits_max` (TCP gives up).
    fn draw_losses(&mut self) -> u32 {
        let mut losses = 0;
        while losses <= self.config.retransmits_max
            && chance(&mut self.rng, self.config.drop_probability)
        {
            losses += 1;
            self.stats.dropped += 1;
        }
        losses
    }
}
