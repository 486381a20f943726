//! Raft's Figure 8 scenario, scripted message by message on five nodes: a leader that
//! re-replicates an entry of an older term to a majority must not count it committed,
//! because a node with a newer-term entry at that index can still be elected and overwrite
//! it (§5.4.2). The script records every commit and checks that no index ever commits two
//! different entries.

use odradek_core::controller::{ConfigRecord, MetadataRecord};
use odradek_core::quorum::{LogEntry, QuorumConfig, QuorumMessage, QuorumNode, QuorumOutput};
use odradek_core::{Mono, Now};
use std::collections::BTreeMap;

struct Script {
    millis: u64,
    nodes: BTreeMap<u32, QuorumNode>,
    queue: Vec<(u32, u32, QuorumMessage)>,
    commits: BTreeMap<u64, LogEntry>,
}

fn record(key: &str) -> MetadataRecord {
    MetadataRecord::Config(ConfigRecord {
        topic: "t".to_string(),
        key: key.to_string(),
        value: None,
    })
}

impl Script {
    fn new() -> Script {
        let mut nodes = BTreeMap::new();
        for id in 1..=5 {
            let mut config = QuorumConfig::new(id, vec![1, 2, 3, 4, 5], 5);
            config.max_entries_per_message = 1;
            nodes.insert(id, QuorumNode::new(config, Now::ZERO).unwrap());
        }
        Script {
            millis: 0,
            nodes,
            queue: Vec::new(),
            commits: BTreeMap::new(),
        }
    }

    fn now(&mut self) -> Now {
        self.millis += 1;
        Now {
            mono: Mono(0).plus_millis(self.millis),
            wall_ms: 0,
        }
    }

    /// Collects `id`'s outputs; records its commits, checking state-machine safety.
    fn collect(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).unwrap();
        while let Some(output) = node.poll_output() {
            if let QuorumOutput::Send { to, message } = output {
                self.queue.push((id, to, message));
            }
        }
        let node = &self.nodes[&id];
        for index in 1..=node.commit_index() {
            let entry = node.log()[index as usize - 1].clone();
            let known = self.commits.entry(index).or_insert_with(|| entry.clone());
            assert_eq!(
                *known, entry,
                "index {index} committed two different entries"
            );
        }
    }

    /// Delivers queued messages (and those they cause) that `allow` lets through, in
    /// order; every other message is lost. `allow` also sees the receiver's log length.
    fn pump(&mut self, allow: impl Fn(u32, u32, &QuorumMessage, usize) -> bool) {
        while !self.queue.is_empty() {
            let (from, to, message) = self.queue.remove(0);
            let receiver_log = self.nodes.get(&to).map_or(0, |node| node.log().len());
            if !self.nodes.contains_key(&to) || !allow(from, to, &message, receiver_log) {
                continue;
            }
            let now = self.now();
            self.nodes
                .get_mut(&to)
                .unwrap()
                .handle_message(now, from, message);
            self.collect(to);
        }
    }

    /// Fires `id`'s election timer and delivers votes among `group` only.
    fn campaign(&mut self, id: u32, group: &[u32]) {
        let deadline = self.nodes[&id].poll_timeout().unwrap();
        self.millis = self.millis.max(deadline.millis_since(Mono(0)));
        let now = self.now();
        self.nodes.get_mut(&id).unwrap().handle_timeout(now);
        self.collect(id);
        self.pump(|from, to, message, _| {
            let vote = matches!(
                message,
                QuorumMessage::RequestVote { .. } | QuorumMessage::VoteResponse { .. }
            );
            vote && group.contains(&from) && group.contains(&to)
        });
    }

    fn propose(&mut self, id: u32, key: &str) {
        let now = self.now();
        self.nodes
            .get_mut(&id)
            .unwrap()
            .propose(now, vec![record(key)])
            .expect("leader");
        self.collect(id);
    }

    /// A crash and restart: only the persistent state survives.
    fn restart(&mut self, id: u32) {
        let persisted = self.nodes[&id].persistent_state();
        let config = self.nodes[&id].config().clone();
        let now = self.now();
        self.nodes
            .insert(id, QuorumNode::restart(config, persisted, now).unwrap());
    }

    fn heartbeat(&mut self, id: u32) {
        let deadline = self.nodes[&id].poll_timeout().unwrap();
        self.millis = self.millis.max(deadline.millis_since(Mono(0)));
        let now = self.now();
        self.nodes.get_mut(&id).unwrap().handle_timeout(now);
        self.collect(id);
    }
}

#[test]
fn an_older_terms_entry_on_a_majority_is_not_committed_until_the_leaders_own_entry_is() {
    let mut s = Script::new();
    let everyone = [1, 2, 3, 4, 5];
    s.campaign(1, &everyone);
    assert_eq!(s.nodes[&1].leader_term(), Some(1));
    s.propose(1, "a");
    s.pump(|_, _, _, _| true);
    s.pump(|_, _, _, _| true);
    assert_eq!(
        s.nodes[&1].commit_index(),
        2,
        "marker and a commit everywhere"
    );

    // X (term 1, index 3) stays on node 1: every message carrying it is lost.
    s.propose(1, "x");
    s.queue.clear();
    // Node 5 wins term 2 with 3 and 4; its marker (index 3, term 2) reaches no one.
    s.campaign(5, &[3, 4, 5]);
    assert_eq!(s.nodes[&5].leader_term(), Some(2));
    s.queue.clear();
    // Node 1 crashes and restarts, wins term 3 with 2 and 3 (3 voted for 5 in term 2), and
    // sends X (one entry per message) to both but not its own marker.
    s.restart(1);
    s.campaign(1, &[1, 2, 3]);
    s.campaign(1, &[1, 2, 3]);
    assert_eq!(s.nodes[&1].leader_term(), Some(3));
    s.queue.clear();
    s.heartbeat(1);
    s.pump(|from, to, message, receiver_log| {
        // The marker of term 3 is lost whenever the receiver would store it.
        let marker_lost = match message {
            QuorumMessage::AppendEntries {
                prev_log_index,
                entries,
                ..
            } => entries.iter().any(|e| e.term == 3) && *prev_log_index as usize <= receiver_log,
            _ => false,
        };
        !marker_lost && [from, to].iter().all(|id| [1, 2, 3].contains(id))
    });
    for id in [2, 3] {
        assert_eq!(
            s.nodes[&id].log().len(),
            3,
            "X reached node {id}: a majority holds it"
        );
    }
    assert!(
        s.nodes[&1].commit_index() < 3,
        "yet it is not committed (§5.4.2)"
    );

    // Node 1 dies; node 5 (last term 2) wins term 4 and overwrites X everywhere.
    s.nodes.remove(&1);
    s.queue.clear();
    s.restart(5);
    s.campaign(5, &[2, 3, 4, 5]);
    s.campaign(5, &[2, 3, 4, 5]);
    assert_eq!(s.nodes[&5].leader_term(), Some(4));
    for _ in 0..6 {
        s.heartbeat(5);
        s.pump(|_, to, _, _| to != 1);
    }
    assert_eq!(s.nodes[&5].commit_index(), 4);
    for id in [2, 3, 4] {
        assert_eq!(
            s.nodes[&id].log()[2].term,
            2,
            "node {id} holds node 5's entry at 3"
        );
    }
}
