//! The world's single event queue, ordered by (simulated time, sequence number).
//!
//! Why a sequence number: two events due at the same nanosecond must pop in a fixed order,
//! and the order they were scheduled in is the only one that does not depend on anything
//! but the seed. A `BinaryHeap` ordered on `Reverse((time, sequence))` gives that in O(log n).

use super::nemesis::NemesisAction;
use crate::net::MessageId;
use odradek_core::log::SyncRequest;
use odradek_core::node::TopicPartition;
use odradek_core::time::Mono;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something due at a simulated instant.
#[derive(Clone, Debug)]
pub enum Event {
    /// The workload starts (time zero).
    Start,
    /// A network message (or stream notice) is due; ask the network for it.
    Deliver(MessageId),
    /// The network's own timer (stream timeouts).
    NetTimer,
    /// A node's `poll_timeout` came due.
    NodeTimer {
        /// The node.
        node: usize,
    },
    /// A sync a node asked for has taken its disk latency; perform and report it.
    SyncDone {
        /// The node.
        node: usize,
        /// The node's incarnation that asked (a crash voids older ones).
        incarnation: u64,
        /// The partition whose log asked.
        partition: TopicPartition,
        /// What to sync.
        request: SyncRequest,
    },
    /// The workload's timer.
    WorkloadTimer,
    /// A controller's `poll_timeout` came due.
    ControllerTimer {
        /// The controller.
        controller: usize,
    },
    /// A fault starts or stops.
    Nemesis(NemesisAction),
    /// The safety phase ends: heal everything, start the final reads.
    EndSafety,
}

impl Event {
    /// A short name for traces.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Deliver(_) => "deliver",
            Event::NetTimer => "net-timer",
            Event::NodeTimer { .. } => "node-timer",
            Event::SyncDone { .. } => "sync-done",
            Event::WorkloadTimer => "workload-timer",
            Event::ControllerTimer { .. } => "controller-timer",
            Event::Nemesis(_) => "nemesis",
            Event::EndSafety => "end-safety",
        }
    }
}

/// A queued event; ordered by its key alone.
struct Entry {
    key: Reverse<(Mono, u64)>,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.key == other.key
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// The queue: a min-heap on (time, sequence).
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    next_sequence: u64,
}

impl EventQueue {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Mono, event: Event) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.heap.push(Entry {
            key: Reverse((at, sequence)),
            event,
        });
    }

    /// The earliest event, with its time.
    pub fn pop(&mut self) -> Option<(Mono, Event)> {
        let entry = self.heap.pop()?;
        Some((entry.key.0 .0, entry.event))
    }

    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<Mono> {
        self.heap.peek().map(|entry| entry.key.0 .0)
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Is the queue empty?
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_by_time_then_by_the_order_they_were_pushed() {
        let mut queue = EventQueue::default();
        queue.push(Mono(5), Event::NetTimer);
        queue.push(Mono(1), Event::WorkloadTimer);
        queue.push(Mono(5), Event::EndSafety);
        queue.push(Mono(1), Event::Start);
        let order: Vec<&str> = std::iter::from_fn(|| queue.pop())
            .map(|(_, event)| event.kind_name())
            .collect();
        assert_eq!(
            order,
            vec!["workload-timer", "start", "net-timer", "end-safety"]
        );
        assert!(queue.is_empty());
    }
}
