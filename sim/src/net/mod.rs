//! `SimNet`: the simulated network, a pure function of a seed and the calls made on it.
//!
//! # Contract
//!
//! SimNet owns no clock and no queue. Every call that sends something returns
//! [`Scheduled`] entries (`id`, due time `at`): [`SimNet::send`], the hot path, at most one
//! as an `Option` (no allocation), the others a `Vec`. The world enqueues one delivery event
//! per entry in its own `(time, sequence)` queue, in the returned order (ties in time must
//! keep that order: it is the send order of a stream), and when the event fires
//! calls [`SimNet::deliver`] with that id, which hands out the [`Delivery`] or `None` if it
//! was discarded meanwhile (stream reset or closed). Stream resets caused by time (a message
//! held too long, retransmissions exhausted) are due at [`SimNet::poll_timeout`] and happen
//! in [`SimNet::handle_timeout`].
//!
//! # Model
//!
//! * Endpoints (nodes and clients alike) talk over **streams**, TCP-like connections opened
//!   by a client endpoint to a server endpoint, and **datagrams**.
//! * On a stream, delivery in each direction is always in send order, without gaps or
//!   duplicates: a lost packet is retransmitted after an exponential backoff (and after
//!   `retransmits_max` retransmissions TCP gives up and the stream is reset), a duplicate
//!   is discarded by the receiver, a reordered packet holds back the later ones
//!   (delivery time = max(previous delivery, drawn arrival)). What a reset destroys is
//!   always a suffix of what was sent.
//! * Datagrams get no such help: lost, duplicated (both copies arrive) and reordered.
//! * A partition or a clog blocks directed links, sharply: nothing crosses a blocked link,
//!   whether it was sent before or after the block. A stream segment that meets a blocked
//!   link (when sent, or when due to arrive) is **held**, as are the later ones of its
//!   direction, in order; unblocking schedules them again. A stream with a segment held
//!   longer than `stream_timeout_ns` is reset. A datagram that meets a blocked link is lost.
//! * A reset's notice reaches each interested end one drawn latency later, partition or
//!   not: a real end learns from the RST or from its own timeout, and the model picks the
//!   first. An end that closed the stream, or that crashed, gets no notice.
//!
//! Determinism: one ChaCha8 stream seeded from a `u64`; only ordered maps; a perfect
//! network draws no random numbers at all.

mod config;
mod links;
mod stream;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::{BTreeMap, BTreeSet};

use odradek_core::time::Mono;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use config::{NetConfig, RETRANSMITS_LIMIT};
use links::Links;
use stream::{Segment, Stream, StreamState};
use wire::{Cargo, Wire};

/// A network endpoint: a node or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint(pub u32);

/// A stream (TCP-like connection); ids are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

/// One scheduled delivery; ids are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

/// "Enqueue a delivery of `id` at `at`": what the world must do with each returned entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheduled {
    /// What to pass to [`SimNet::deliver`].
    pub id: MessageId,
    /// When.
    pub at: Mono,
}

/// What arrives at an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery<M> {
    /// A message, on a stream or as a datagram (`stream: None`).
    Message {
        /// The stream it came on, or `None` for a datagram.
        stream: Option<StreamId>,
        /// Sender.
        from: Endpoint,
        /// Receiver.
        to: Endpoint,
        /// The message.
        message: M,
    },
    /// The peer closed `stream` in order: every message it sent before arrived before this.
    Closed {
        /// The stream.
        stream: StreamId,
        /// The end that learns it.
        to: Endpoint,
    },
    /// `stream` was reset: messages still in flight on it are lost.
    Reset {
        /// The stream.
        stream: StreamId,
        /// The end that learns it.
        to: Endpoint,
    },
}

/// Counters of what the network did. Packets are counted where the fault hit them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages offered (`send` and `send_datagram`).
    pub sent: u64,
    /// Messages delivered (stream and datagram, duplicates included).
    pub delivered: u64,
    /// Packets lost (stream packets are then retransmitted).
    pub dropped: u64,
    /// Stream packets retransmitted after a loss.
    pub retransmitted: u64,
    /// Packets duplicated.
    pub duplicated: u64,
    /// Stream duplicates discarded by the receiver.
    pub duplicate_discarded: u64,
    /// Packets held back by a reorder delay.
    pub reordered: u64,
    /// Stream segments held at a blocked link (when sent, or taken back off the wire when the
    /// link got blocked while they travelled).
    pub held: u64,
    /// Datagrams lost to a blocked link (when sent or when due).
    pub blocked_datagrams: u64,
    /// Messages thrown away: sent on a stream that is not open, lost with a reset stream,
    /// sent to an end that closed the stream, or given up by TCP.
    pub discarded: u64,
    /// Streams reset, for any reason.
    pub resets: u64,
    /// Streams reset because a segment was held longer than `stream_timeout_ns` or TCP gave
    /// up retransmitting (included in `resets`).
    pub stream_timeouts: u64,
    /// Streams closed in order.
    pub closes: u64,
    /// Messages whose drawn base latency exceeded [`SLOW_LATENCY_NS`] (a delay tail).
    pub slow: u64,
}

/// A base latency above this counts as slow in [`NetStats::slow`] (a tail, not the norm of
/// tens of microseconds on a LAN).
pub const SLOW_LATENCY_NS: u64 = 1_000_000;

/// The simulated network; `M` is the message type.
#[derive(Debug)]
pub struct SimNet<M> {
    wire: Wire<M>,
    links: Links,
    streams: BTreeMap<StreamId, Stream<M>>,
    /// Every stream the network still tracks, by each of its two ends.
    streams_by_endpoint: BTreeSet<(Endpoint, StreamId)>,
    /// Stream reset deadlines (held too long, or given up).
    deadlines: BTreeSet<(Mono, StreamId)>,
    next_stream: u64,
}

impl<M: Clone> SimNet<M> {
    /// A network whose every random choice comes from `seed`.
    pub fn new(seed: u64, config: NetConfig) -> Self {
        SimNet {
            wire: Wire::new(config, ChaCha8Rng::seed_from_u64(seed)),
            links: Links::default(),
            streams: BTreeMap::new(),
            streams_by_endpoint: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            next_stream: 0,
        }
    }

    /// Replaces the fault knobs (clamped) for packets sent from now on; deadlines already
    /// set keep the old `stream_timeout_ns`.
    pub fn set_config(&mut self, config: NetConfig) {
        self.wire.config = config.clamped();
    }

    /// The knobs in force (clamped).
    pub fn config(&self) -> &NetConfig {
        &self.wire.config
    }

    /// The counters.
    pub fn stats(&self) -> &NetStats {
        &self.wire.stats
    }

    /// Opens a stream from `client` to `server`. Connection setup is instant; across a
    /// blocked link the first segment is held and the stream times out like any other.
    pub fn open_stream(&mut self, client: Endpoint, server: Endpoint) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.streams.insert(id, Stream::new(client, server));
        self.streams_by_endpoint.insert((client, id));
        self.streams_by_endpoint.insert((server, id));
        id
    }

    /// Is `stream` open (neither closed nor reset)?
    pub fn is_stream_open(&self, stream: StreamId) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|state| state.state == StreamState::Open)
    }

    /// `(client, server)` of `stream`, while the network still tracks it: open, or closed
    /// with its close (or messages before it) still travelling. A reset stream is forgotten
    /// at once.
    pub fn stream_ends(&self, stream: StreamId) -> Option<(Endpoint, Endpoint)> {
        self.streams
            .get(&stream)
            .map(|state| (state.client, state.server))
    }

    /// The open streams `endpoint` is an end of, in id order.
    pub fn streams_of(&self, endpoint: Endpoint) -> Vec<StreamId> {
        self.tracked_streams_of(endpoint)
            .filter(|id| self.is_stream_open(*id))
            .collect()
    }

    /// Sends `message` from `from` on `stream`. Returns the one delivery to enqueue, or
    /// `None` if the segment is held at a blocked link, given up by TCP, or the stream is
    /// not open or `from` is not one of its ends (then it is counted as discarded). No
    /// allocation: this is the simulator's hottest call.
    pub fn send(
        &mut self,
        now: Mono,
        stream: StreamId,
        from: Endpoint,
        message: M,
    ) -> Option<Scheduled> {
        self.wire.stats.sent += 1;
        let direction = self.streams.get(&stream).and_then(|state| {
            (state.state == StreamState::Open)
                .then(|| state.direction_from(from))
                .flatten()
        });
        let Some(direction) = direction else {
            self.wire.stats.discarded += 1;
            return None;
        };
        self.offer_segment(now, stream, direction, Segment::Message(message))
    }

    /// Sends a datagram: lost over a blocked link or with `drop_probability`, possibly
    /// duplicated (both copies arrive) and reordered. Returns zero, one or two entries.
    pub fn send_datagram(
        &mut self,
        now: Mono,
        from: Endpoint,
        to: Endpoint,
        message: M,
    ) -> Vec<Scheduled> {
        let wire = &mut self.wire;
        wire.stats.sent += 1;
        if self.links.is_blocked(from, to) {
            wire.stats.blocked_datagrams += 1;
            return Vec::new();
        }
        if config::chance(&mut wire.rng, wire.config.drop_probability) {
            wire.stats.dropped += 1;
            return Vec::new();
        }
        let duplicate = config::chance(&mut wire.rng, wire.config.duplicate_probability);
        let mut scheduled = Vec::with_capacity(1 + usize::from(duplicate));
        if duplicate {
            wire.stats.duplicated += 1;
            let at = wire.arrival_after_latency(now);
            let at = Mono(at.0.saturating_add(wire.reorder_delay_ns()));
            scheduled.push(wire.schedule(at, from, to, Cargo::Datagram(message.clone())));
        }
        let at = wire.arrival_after_latency(now);
        let at = Mono(at.0.saturating_add(wire.reorder_delay_ns()));
        scheduled.push(wire.schedule(at, from, to, Cargo::Datagram(message)));
        scheduled
    }

    /// Hands out the delivery `id` that the world scheduled for now, or `None` if there is
    /// nothing to deliver: it was discarded meanwhile (its stream was reset, or closed by
    /// the receiver), its link got blocked while it was on the wire (a datagram is then
    /// lost; a stream segment is held again, with every later one of its direction, and
    /// rescheduled when the link opens), or `id` is unknown or stale.
    pub fn deliver(&mut self, now: Mono, id: MessageId) -> Option<Delivery<M>> {
        let flight = self.wire.in_flight.remove(&id)?;
        debug_assert!(now >= flight.at, "delivery {id:?} before it is due");
        match flight.cargo {
            Cargo::Reset(stream) => Some(Delivery::Reset {
                stream,
                to: flight.to,
            }),
            Cargo::Datagram(_) if self.links.is_blocked(flight.from, flight.to) => {
                self.wire.stats.blocked_datagrams += 1;
                None
            }
            Cargo::Datagram(message) => {
                self.wire.stats.delivered += 1;
                Some(Delivery::Message {
                    stream: None,
                    from: flight.from,
                    to: flight.to,
                    message,
                })
            }
            Cargo::Stream(stream, segment) => {
                self.deliver_segment(now, id, flight.from, stream, segment)
            }
        }
    }

    /// Closes `stream` in order from `from`: the peer gets [`Delivery::Closed`] after every
    /// message `from` sent before. Sends after this are discarded, and so are messages
    /// travelling to `from`. Nothing happens if the stream is not open or `from` is not one
    /// of its ends.
    pub fn close_stream(&mut self, now: Mono, stream: StreamId, from: Endpoint) -> Vec<Scheduled> {
        let Some(state) = self.streams.get_mut(&stream) else {
            return Vec::new();
        };
        let Some(direction) = state.direction_from(from) else {
            return Vec::new();
        };
        if state.state != StreamState::Open {
            return Vec::new();
        }
        state.state = StreamState::Closed { by: from };
        let unscheduled = self.wire.unschedule(state, 1 - direction).count();
        let toward_closer = &mut state.directions[1 - direction];
        let discarded = unscheduled + toward_closer.held.len();
        self.wire.stats.discarded += discarded as u64;
        toward_closer.held.clear();
        self.wire.stats.closes += 1;
        let scheduled = self.offer_segment(now, stream, direction, Segment::Close);
        self.refresh_deadline(stream);
        scheduled.into_iter().collect()
    }

    /// Resets `stream`: both ends get [`Delivery::Reset`] (except an end that closed it),
    /// and everything still in flight or held on it is discarded.
    pub fn reset_stream(&mut self, now: Mono, stream: StreamId) -> Vec<Scheduled> {
        let mut scheduled = Vec::new();
        self.reset(now, stream, None, &mut scheduled);
        scheduled
    }

    /// Resets every stream of `endpoint` (it crashed): each peer gets [`Delivery::Reset`];
    /// `endpoint` itself gets nothing (its memory is gone). Datagrams already in flight to
    /// or from it are untouched: the world drops what reaches an endpoint that is down.
    pub fn reset_endpoint(&mut self, now: Mono, endpoint: Endpoint) -> Vec<Scheduled> {
        let streams: Vec<StreamId> = self.tracked_streams_of(endpoint).collect();
        let mut scheduled = Vec::new();
        for stream in streams {
            self.reset(now, stream, Some(endpoint), &mut scheduled);
        }
        scheduled
    }

    /// Blocks every directed link from an endpoint of `from` to a different endpoint of
    /// `to` (a one-way partition). Until [`heal`](Self::heal).
    pub fn block(&mut self, from: &[Endpoint], to: &[Endpoint]) {
        self.links.partition(from, to);
    }

    /// Partitions `a` from `b` in both directions.
    pub fn block_between(&mut self, a: &[Endpoint], b: &[Endpoint]) {
        self.links.partition(a, b);
        self.links.partition(b, a);
    }

    /// Cuts `endpoint` off from every endpoint of `others`, both ways.
    pub fn isolate(&mut self, endpoint: Endpoint, others: &[Endpoint]) {
        self.block_between(&[endpoint], others);
    }

    /// Splits `endpoints` into its first half and its second half (the middle one goes to
    /// the second) and partitions them from each other. The caller shuffles.
    pub fn split(&mut self, endpoints: &[Endpoint]) {
        let (first, second) = endpoints.split_at(endpoints.len() / 2);
        self.block_between(first, second);
    }

    /// Removes every partition and every clog; held segments whose link is now open are
    /// scheduled, in order per stream direction.
    pub fn heal(&mut self, now: Mono) -> Vec<Scheduled> {
        if self.links.heal() {
            self.release_held(now)
        } else {
            Vec::new()
        }
    }

    /// Removes every partition but keeps clogs; releases like [`heal`](Self::heal).
    pub fn heal_partitions(&mut self, now: Mono) -> Vec<Scheduled> {
        if self.links.heal_partitions() {
            self.release_held(now)
        } else {
            Vec::new()
        }
    }

    /// Clogs the directed link `from → to` (swizzle-clog): segments are held as in a
    /// partition until [`unclog`](Self::unclog) or [`heal`](Self::heal).
    pub fn clog(&mut self, from: Endpoint, to: Endpoint) {
        self.links.clog(from, to);
    }

    /// Unclogs `from → to`; if the link is now open, its held segments are scheduled.
    pub fn unclog(&mut self, now: Mono, from: Endpoint, to: Endpoint) -> Vec<Scheduled> {
        if self.links.unclog(from, to) {
            self.release_held(now)
        } else {
            Vec::new()
        }
    }

    /// Is the directed link `from → to` blocked (partitioned or clogged)?
    pub fn is_blocked(&self, from: Endpoint, to: Endpoint) -> bool {
        self.links.is_blocked(from, to)
    }

    /// The blocked directed links, in order.
    pub fn blocked_links(&self) -> Vec<(Endpoint, Endpoint)> {
        self.links.blocked().collect()
    }

    /// When the next stream reset by timeout is due.
    pub fn poll_timeout(&self) -> Option<Mono> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// Resets every stream whose deadline is at or before `now` (a segment held longer than
    /// `stream_timeout_ns`, or TCP gave up retransmitting); returns the reset notices.
    pub fn handle_timeout(&mut self, now: Mono) -> Vec<Scheduled> {
        let mut scheduled = Vec::new();
        while let Some(&(at, stream)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(state) = self.streams.get_mut(&stream) {
                state.deadline = None;
            }
            self.wire.stats.stream_timeouts += 1;
            self.reset(now, stream, None, &mut scheduled);
        }
        scheduled
    }

    /// Number of deliveries scheduled and not yet handed out.
    pub fn in_flight(&self) -> usize {
        self.wire.in_flight.len()
    }
}

/// Internal machinery: holding, releasing, resetting, forgetting.
impl<M: Clone> SimNet<M> {
    /// Delivers stream segment `id` from `from`, the first scheduled in its direction, unless
    /// its link is blocked now: then it and every later segment of the direction go back to
    /// being held, in order, ahead of those already held.
    fn deliver_segment(
        &mut self,
        now: Mono,
        id: MessageId,
        from: Endpoint,
        stream_id: StreamId,
        segment: Segment<M>,
    ) -> Option<Delivery<M>> {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            self.wire.stats.discarded += 1;
            return None;
        };
        let direction = stream.direction_from(from)?;
        let (_, to) = stream.ends(direction);
        let lane = &mut stream.directions[direction];
        match lane.scheduled.iter().position(|&scheduled| scheduled == id) {
            Some(0) => {
                lane.scheduled.pop_front();
            }
            Some(position) => {
                debug_assert!(
                    false,
                    "{id:?} delivered before earlier segments of its stream"
                );
                lane.scheduled.remove(position);
            }
            None => debug_assert!(false, "{id:?} is not scheduled on its stream"),
        }
        if self.links.is_blocked(from, to) {
            let later: Vec<Segment<M>> = self.wire.unschedule(stream, direction).collect();
            let lane = &mut stream.directions[direction];
            if lane.held.is_empty() {
                lane.held_since = now;
            }
            self.wire.stats.held += 1 + later.len() as u64;
            lane.last_delivery = now;
            for segment in later.into_iter().rev().chain(std::iter::once(segment)) {
                lane.held.push_front(segment);
            }
            self.refresh_deadline(stream_id);
            return None;
        }
        let delivery = match segment {
            Segment::Message(message) => {
                self.wire.stats.delivered += 1;
                Delivery::Message {
                    stream: Some(stream_id),
                    from,
                    to,
                    message,
                }
            }
            Segment::Close => Delivery::Closed {
                stream: stream_id,
                to,
            },
        };
        self.forget_if_finished(stream_id);
        Some(delivery)
    }

    fn tracked_streams_of(&self, endpoint: Endpoint) -> impl Iterator<Item = StreamId> + '_ {
        self.streams_by_endpoint
            .range((endpoint, StreamId(0))..=(endpoint, StreamId(u64::MAX)))
            .map(|&(_, stream)| stream)
    }

    /// Transmits `segment` in `direction` of the (tracked) `stream_id`, or holds it if its
    /// link is blocked or earlier segments are held; discards it if TCP gave up.
    fn offer_segment(
        &mut self,
        now: Mono,
        stream_id: StreamId,
        direction: usize,
        segment: Segment<M>,
    ) -> Option<Scheduled> {
        let stream = self.streams.get_mut(&stream_id)?;
        let (from, to) = stream.ends(direction);
        let lane = &mut stream.directions[direction];
        if lane.given_up_at.is_some() {
            self.wire.stats.discarded += 1;
            return None;
        }
        if !lane.held.is_empty() || self.links.is_blocked(from, to) {
            if lane.held.is_empty() {
                lane.held_since = now;
            }
            lane.held.push_back(segment);
            self.wire.stats.held += 1;
            self.refresh_deadline(stream_id);
            return None;
        }
        let scheduled = self
            .wire
            .transmit_segment(now, stream_id, stream, direction, segment);
        if scheduled.is_none() {
            self.refresh_deadline(stream_id);
        }
        scheduled
    }

    /// Schedules, in stream and send order, the held segments whose link is open.
    fn release_held(&mut self, now: Mono) -> Vec<Scheduled> {
        let mut scheduled = Vec::new();
        let mut touched = Vec::new();
        for (&stream_id, stream) in &mut self.streams {
            for direction in 0..2 {
                let (from, to) = stream.ends(direction);
                let lane = &stream.directions[direction];
                if lane.held.is_empty()
                    || lane.given_up_at.is_some()
                    || self.links.is_blocked(from, to)
                {
                    continue;
                }
                touched.push(stream_id);
                while let Some(segment) = stream.directions[direction].held.pop_front() {
                    match self
                        .wire
                        .transmit_segment(now, stream_id, stream, direction, segment)
                    {
                        Some(entry) => scheduled.push(entry),
                        None => {
                            let lane = &mut stream.directions[direction];
                            self.wire.stats.discarded += lane.held.len() as u64;
                            lane.held.clear();
                        }
                    }
                }
            }
        }
        for stream_id in touched {
            self.refresh_deadline(stream_id);
        }
        scheduled
    }

    /// Resets `stream_id` unless it already is: discards what is held, marks what is in
    /// flight for discarding, and schedules a notice to each end that wants one (not
    /// `crashed`, not an end that closed the stream).
    fn reset(
        &mut self,
        now: Mono,
        stream_id: StreamId,
        crashed: Option<Endpoint>,
        scheduled: &mut Vec<Scheduled>,
    ) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let closer = match stream.state {
            StreamState::Reset => return,
            StreamState::Closed { by } => Some(by),
            StreamState::Open => None,
        };
        stream.state = StreamState::Reset;
        for direction in 0..2 {
            let unscheduled = self.wire.unschedule(stream, direction).count();
            let lane = &mut stream.directions[direction];
            self.wire.stats.discarded += (unscheduled + lane.held.len()) as u64;
            lane.held.clear();
            lane.given_up_at = None;
        }
        self.wire.stats.resets += 1;
        let (client, server) = (stream.client, stream.server);
        for (to, from) in [(client, server), (server, client)] {
            if Some(to) != crashed && Some(to) != closer {
                let at = self.wire.arrival_after_latency(now);
                scheduled.push(self.wire.schedule(at, from, to, Cargo::Reset(stream_id)));
            }
        }
        self.refresh_deadline(stream_id);
        self.forget_if_finished(stream_id);
    }

    /// Brings the stream's entry in `deadlines` up to date with its held segments.
    fn refresh_deadline(&mut self, stream_id: StreamId) {
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let deadline = stream.reset_deadline(self.wire.config.stream_timeout_ns);
        if deadline == stream.deadline {
            return;
        }
        if let Some(old) = stream.deadline {
            self.deadlines.remove(&(old, stream_id));
        }
        if let Some(new) = deadline {
            self.deadlines.insert((new, stream_id));
        }
        stream.deadline = deadline;
    }

    /// Drops a stream that is no longer open and has nothing in flight or held.
    fn forget_if_finished(&mut self, stream_id: StreamId) {
        let Some(stream) = self.streams.get(&stream_id) else {
            return;
        };
        if !stream.is_finished() {
            return;
        }
        let (client, server) = (stream.client, stream.server);
        debug_assert!(
            stream.deadline.is_none(),
            "a finished stream has no deadline"
        );
        self.streams.remove(&stream_id);
        self.streams_by_endpoint.remove(&(client, stream_id));
        self.streams_by_endpoint.remove(&(server, stream_id));
    }
}
