//! Which directed links (`from → to`) are blocked, and why: by a partition (removed all at
//! once by `heal`) or by a clog (FoundationDB's swizzle-clog, removed link by link). A link is
//! usable only when it is neither partitioned nor clogged, so a clog survives the healing of
//! a partition on the same link and the other way round.

use std::collections::BTreeMap;

use super::Endpoint;

/// Why one directed link is blocked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Block {
    partitioned: bool,
    clogged: bool,
}

/// The blocked directed links. Absent links are open; one lookup per packet.
#[derive(Debug, Default)]
pub(super) struct Links {
    blocked: BTreeMap<(Endpoint, Endpoint), Block>,
}

impl Links {
    /// Is the link `from → to` blocked? A link to oneself never is.
    pub(super) fn is_blocked(&self, from: Endpoint, to: Endpoint) -> bool {
        !self.blocked.is_empty() && self.blocked.contains_key(&(from, to))
    }

    /// Partitions every link from an endpoint of `from` to a different endpoint of `to`.
    pub(super) fn partition(&mut self, from: &[Endpoint], to: &[Endpoint]) {
        for &source in from {
            for &target in to.iter().filter(|&&target| target != source) {
                self.blocked
                    .entry((source, target))
                    .or_default()
                    .partitioned = true;
            }
        }
    }

    /// Clogs the link `from → to` (not a link to oneself).
    pub(super) fn clog(&mut self, from: Endpoint, to: Endpoint) {
        if from != to {
            self.blocked.entry((from, to)).or_default().clogged = true;
        }
    }

    /// Unclogs `from → to`; true if the link is now open and was not before.
    pub(super) fn unclog(&mut self, from: Endpoint, to: Endpoint) -> bool {
        let Some(block) = self.blocked.get_mut(&(from, to)) else {
            return false;
        };
        block.clogged = false;
        if block.partitioned {
            return false;
        }
        self.blocked.remove(&(from, to));
        true
    }

    /// Removes every partition and every clog; true if any link was blocked.
    pub(super) fn heal(&mut self) -> bool {
        let any = !self.blocked.is_empty();
        self.blocked.clear();
        any
    }

    /// Removes every partition, keeping clogs; true if any link opened.
    pub(super) fn heal_partitions(&mut self) -> bool {
        let before = self.blocked.len();
        self.blocked.retain(|_, block| {
            block.partitioned = false;
            block.clogged
        });
        self.blocked.len() != before
    }

    /// The blocked links (partitioned, clogged or both), in order.
    pub(super) fn blocked(&self) -> impl Iterator<Item = (Endpoint, Endpoint)> + '_ {
        self.blocked.keys().copied()
    }
}
