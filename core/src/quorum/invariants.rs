//! Local invariants of one quorum node, checked after every input by tests and the
//! simulator. Cross-node properties (election safety, log matching, leader completeness,
//! state-machine safety) need the whole cluster and live in the test harness.

use super::node::{QuorumNode, Role};

impl QuorumNode {
    /// Panics with a description of the first broken local invariant.
    pub fn check_invariants(&self) {
        let id = self.config.node_id;
        let term = self.persistent.current_term;
        let last = self.last_index();
        assert!(
            self.commit_index <= last,
            "node {id}: commit index {} beyond last index {last}",
            self.commit_index
        );
        if self.commit_index > 0 {
            assert!(
                self.entry(self.commit_index).ends_batch,
                "node {id}: commit index {} is inside a batch",
                self.commit_index
            );
        }
        let mut previous_term = 0;
        for (position, entry) in self.persistent.log.iter().enumerate() {
            assert!(
                entry.term >= previous_term && entry.term <= term,
                "node {id}: entry {} has term {} after term {previous_term} (current term {term})",
                position + 1,
                entry.term
            );
            previous_term = entry.term;
        }
        if let Some(voted) = self.persistent.voted_for {
            assert!(
                self.config.voters.contains(&voted),
                "node {id}: voted for non-voter {voted}"
            );
        }
        self.check_role_invariants();
    }

    fn check_role_invariants(&self) {
        let id = self.config.node_id;
        let term = self.persistent.current_term;
        let last = self.last_index();
        match &self.role {
            Role::Follower => {}
            Role::Candidate { votes } => {
                assert_eq!(
                    self.persistent.voted_for,
                    Some(id),
                    "node {id}: candidate without self-vote"
                );
                assert!(
                    votes.iter().all(|voter| self.config.voters.contains(voter)),
                    "node {id}: votes from non-voters {votes:?}"
                );
            }
            Role::Leader { peers } => {
                assert_eq!(
                    self.persistent.voted_for,
                    Some(id),
                    "node {id}: leader without self-vote"
                );
                assert_eq!(
                    self.leader_hint,
                    Some(id),
                    "node {id}: leader names another leader"
                );
                assert_eq!(
                    self.term_at(last),
                    term,
                    "node {id}: leader of term {term} lacks an entry of its term at the tail"
                );
                for (peer, progress) in peers {
                    assert!(
                        progress.match_index < progress.next_index
                            && progress.next_index <= last + 1,
                        "node {id}: progress of {peer} out of range: {progress:?}, last {last}"
                    );
                }
            }
        }
    }
}
