//! Log replication (Raft §5.3) and commit (§5.4.2): the leader's AppendEntries, the
//! follower's consistency check and conflict truncation, and the commit index, which only
//! ever rests on the end of a batch so that a proposal commits whole.

use super::node::{QuorumNode, Role};
use super::types::{QuorumMessage, QuorumOutput};
use crate::time::Mono;

/// An AppendEntries as received.
pub(super) struct AppendRequest {
    pub(super) term: u64,
    pub(super) prev_log_index: u64,
    pub(super) prev_log_term: u64,
    pub(super) entries: Vec<super::types::LogEntry>,
    pub(super) leader_commit: u64,
}

impl QuorumNode {
    /// Sends `peer` the entries from its `next_index` on (possibly none: a heartbeat).
    pub(super) fn send_append(&mut self, peer: u32) {
        let Role::Leader { peers } = &self.role else {
            return;
        };
        let Some(progress) = peers.get(&peer) else {
            return;
        };
        let prev_log_index = progress.next_index.saturating_sub(1).min(self.last_index());
        let end = self
            .last_index()
            .min(prev_log_index.saturating_add(self.config.max_entries_per_message as u64));
        let entries = self.persistent.log[prev_log_index as usize..end as usize].to_vec();
        let message = QuorumMessage::AppendEntries {
            term: self.persistent.current_term,
            prev_log_index,
            prev_log_term: self.term_at(prev_log_index),
            entries,
            leader_commit: self.commit_index,
        };
        self.send(peer, message);
    }

    /// A follower (or a candidate that learns of this term's leader) stores entries.
    pub(super) fn handle_append(&mut self, now: Mono, from: u32, request: AppendRequest) {
        let current = self.persistent.current_term;
        if request.term < current {
            self.reply_append(from, false, 0);
            return;
        }
        if matches!(self.role, Role::Leader { .. }) {
            // Two leaders in one term cannot happen (election safety); refuse rather than
            // corrupt the log if it ever did. The harness checks election safety.
            return;
        }
        if matches!(self.role, Role::Candidate { .. }) {
            self.become_follower(now, request.term);
        }
        self.leader_hint = Some(from);
        self.reset_election_deadline(now);
        let prev = request.prev_log_index;
        if prev > self.last_index() {
            self.reply_append(from, false, self.last_index() + 1);
            return;
        }
        if self.term_at(prev) != request.prev_log_term {
            let hint = self.first_index_of_term_at(prev).max(self.commit_index + 1);
            self.reply_append(from, false, hint);
            return;
        }
        let match_index = prev + request.entries.len() as u64;
        if !self.store_entries(prev, request.entries) {
            self.reply_append(from, false, self.commit_index + 1);
            return;
        }
        let target = self.batch_floor(request.leader_commit.min(match_index));
        self.advance_commit(target);
        self.reply_append(from, true, match_index);
    }

    /// Stores `entries` after `prev`, truncating at the first conflicting entry and never
    /// removing an entry that matches. Refuses (false) to truncate a committed entry.
    fn store_entries(&mut self, prev: u64, entries: Vec<super::types::LogEntry>) -> bool {
        for (offset, entry) in entries.into_iter().enumerate() {
            let index = prev + 1 + offset as u64;
            if index <= self.last_index() {
                if self.term_at(index) == entry.term {
                    continue;
                }
                if index <= self.commit_index {
                    return false;
                }
                self.persistent.log.truncate(index as usize - 1);
            }
            self.persistent.log.push(entry);
        }
        true
    }

    fn reply_append(&mut self, to: u32, success: bool, index: u64) {
        let message = QuorumMessage::AppendResponse {
            term: self.persistent.current_term,
            success,
            index,
        };
        self.send(to, message);
    }

    /// The first index of the run of entries sharing the term of the entry at `index`.
    fn first_index_of_term_at(&self, index: u64) -> u64 {
        let term = self.term_at(index);
        let mut first = index;
        while first > 1 && self.term_at(first - 1) == term {
            first -= 1;
        }
        first.max(1)
    }

    /// The highest index at or below `index` that ends a batch (0 if none).
    fn batch_floor(&self, index: u64) -> u64 {
        let mut candidate = index.min(self.last_index());
        while candidate > 0 && !self.entry(candidate).ends_batch {
            candidate -= 1;
        }
        candidate
    }

    /// Raises the commit index to `target` (if higher), emitting every newly committed
    /// record in order.
    pub(super) fn advance_commit(&mut self, target: u64) {
        while self.commit_index < target {
            self.commit_index += 1;
            if let Some(record) = self.committed_record(self.commit_index) {
                self.outputs.push_back(QuorumOutput::Committed(record));
            }
        }
    }

    /// The answer to an AppendEntries this leader sent in its current term.
    pub(super) fn handle_append_response(
        &mut self,
        now: Mono,
        from: u32,
        term: u64,
        success: bool,
        index: u64,
    ) {
        if term != self.persistent.current_term {
            return;
        }
        let last_index = self.last_index();
        let Role::Leader { peers } = &mut self.role else {
            return;
        };
        let Some(progress) = peers.get_mut(&from) else {
            return;
        };
        progress.last_response = progress.last_response.max(now);
        let resend = if success {
            progress.match_index = progress.match_index.max(index.min(last_index));
            progress.next_index = progress.next_index.max(progress.match_index + 1);
            progress.next_index <= last_index
        } else {
            let hint = index.clamp(progress.match_index + 1, last_index + 1);
            let regressed = hint < progress.next_index;
            progress.next_index = progress.next_index.min(hint);
            regressed
        };
        if success {
            self.advance_leader_commit();
        }
        if resend {
            self.send_append(from);
        }
    }

    /// A leader commits the highest batch end of its own term stored on a majority.
    pub(super) fn advance_leader_commit(&mut self) {
        let Role::Leader { peers } = &self.role else {
            return;
        };
        let majority = self.config.majority();
        let term = self.persistent.current_term;
        let mut candidate = self.last_index();
        while candidate > self.commit_index {
            let entry = self.entry(candidate);
            if entry.term != term {
                break;
            }
            let replicas = 1 + peers
                .values()
                .filter(|progress| progress.match_index >= candidate)
                .count();
            if entry.ends_batch && replicas >= majority {
                self.advance_commit(candidate);
                return;
            }
            candidate -= 1;
        }
    }
}
