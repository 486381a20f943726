//! One stream's bookkeeping: its two ends, whether it is open, closed or reset, and per
//! direction what TCP would hold in its buffers (messages waiting for a blocked link) and
//! when the receiver last got something (to deliver in send order).

use std::collections::VecDeque;

use odradek_core::time::Mono;

use super::{Endpoint, MessageId};

/// What travels on a stream: a message or the orderly-close marker (FIN).
#[derive(Debug, Clone)]
pub(super) enum Segment<M> {
    Message(M),
    Close,
}

/// Where a stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StreamState {
    Open,
    /// `by` closed it; the close marker travels to the peer after the earlier messages.
    Closed {
        by: Endpoint,
    },
    /// Reset: nothing more is delivered on it except the reset notices.
    Reset,
}

/// One direction of a stream (client → server is index 0, server → client index 1).
#[derive(Debug)]
pub(super) struct Direction<M> {
    /// Delivery time of the latest segment scheduled in this direction; later segments are
    /// never due earlier (the receiver re-sequences).
    pub(super) last_delivery: Mono,
    /// The segments scheduled (handed to the world) and not yet delivered, in send order,
    /// which is also their delivery order.
    pub(super) scheduled: VecDeque<MessageId>,
    /// Segments waiting because the link is blocked, or because an earlier one is waiting.
    pub(super) held: VecDeque<Segment<M>>,
    /// When the oldest segment in `held` was held.
    pub(super) held_since: Mono,
    /// Set when a segment exhausted its retransmissions: TCP gives up at this time and the
    /// stream is reset; nothing more gets through in this direction.
    pub(super) given_up_at: Option<Mono>,
}

impl<M> Direction<M> {
    fn new() -> Self {
        Direction {
            last_delivery: Mono(0),
            scheduled: VecDeque::new(),
            held: VecDeque::new(),
            held_since: Mono(0),
            given_up_at: None,
        }
    }

    /// When this direction's trouble resets the stream, if it has any.
    fn deadline(&self, stream_timeout_ns: u64) -> Option<Mono> {
        let held_deadline = (!self.held.is_empty())
            .then(|| Mono(self.held_since.0.saturating_add(stream_timeout_ns)));
        match (held_deadline, self.given_up_at) {
            (Some(held), Some(given_up)) => Some(held.min(given_up)),
            (held, given_up) => held.or(given_up),
        }
    }
}

/// One stream, opened by `client` to `server`.
#[derive(Debug)]
pub(super) struct Stream<M> {
    pub(super) client: Endpoint,
    pub(super) server: Endpoint,
    pub(super) state: StreamState,
    pub(super) directions: [Direction<M>; 2],
    /// The reset deadline registered in the network's timeout set, if any.
    pub(super) deadline: Option<Mono>,
}

impl<M> Stream<M> {
    pub(super) fn new(client: Endpoint, server: Endpoint) -> Self {
        Stream {
            client,
            server,
            state: StreamState::Open,
            directions: [Direction::new(), Direction::new()],
            deadline: None,
        }
    }

    /// The direction `from` sends in, or `None` if `from` is not an end of this stream.
    pub(super) fn direction_from(&self, from: Endpoint) -> Option<usize> {
        if from == self.client {
            Some(0)
        } else if from == self.server {
            Some(1)
        } else {
            None
        }
    }

    /// `(from, to)` of direction `direction`.
    pub(super) fn ends(&self, direction: usize) -> (Endpoint, Endpoint) {
        if direction == 0 {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        }
    }

    /// The earliest time this stream must be reset (held too long or given up).
    pub(super) fn reset_deadline(&self, stream_timeout_ns: u64) -> Option<Mono> {
        let [forward, backward] = &self.directions;
        match (
            forward.deadline(stream_timeout_ns),
            backward.deadline(stream_timeout_ns),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Can the network forget this stream? Only once it is no longer open and nothing of it
    /// is in flight or waiting.
    pub(super) fn is_finished(&self) -> bool {
        self.state != StreamState::Open
            && self.directions.iter().all(|direction| {
                direction.scheduled.is_empty()
                    && direction.held.is_empty()
                    && direction.given_up_at.is_none()
            })
    }
}
