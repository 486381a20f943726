//! The basic Raft exchanges of one quorum node, with exact outputs: elections, votes,
//! AppendEntries and its answers, commit by majority of current-term batch ends.

use odradek_core::controller::{
    CommittedRecord, ConfigRecord, MetadataLog, MetadataLogError, MetadataOffset, MetadataRecord,
};
use odradek_core::quorum::{
    EntryPayload, LogEntry, PersistentState, QuorumConfig, QuorumConfigError, QuorumMessage,
    QuorumMetadataLog, QuorumNode, QuorumOutput,
};
use odradek_core::{Mono, Now};

fn at(millis: u64) -> Now {
    Now {
        mono: Mono(0).plus_millis(millis),
        wall_ms: 0,
    }
}

fn record(key: &str) -> MetadataRecord {
    MetadataRecord::Config(ConfigRecord {
        topic: "t".to_string(),
        key: key.to_string(),
        value: Some("v".to_string()),
    })
}

fn entry(term: u64, ends_batch: bool, key: &str) -> LogEntry {
    LogEntry {
        term,
        ends_batch,
        payload: EntryPayload::Record(record(key)),
    }
}

fn marker(term: u64) -> LogEntry {
    LogEntry {
        term,
        ends_batch: true,
        payload: EntryPayload::LeaderMarker,
    }
}

fn config(node_id: u32) -> QuorumConfig {
    QuorumConfig::new(node_id, vec![1, 2, 3], 7)
}

fn drain(node: &mut QuorumNode) -> Vec<QuorumOutput> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn send(to: u32, message: QuorumMessage) -> QuorumOutput {
    QuorumOutput::Send { to, message }
}

/// Node 1 of {1,2,3}, elected leader of term 1 with votes from 2; outputs drained.
fn leader() -> QuorumNode {
    let mut node = QuorumNode::new(config(1), at(0)).unwrap();
    node.handle_timeout(at(1_000));
    let granted = QuorumMessage::VoteResponse {
        term: 1,
        granted: true,
    };
    node.handle_message(at(1_001), 2, granted);
    drain(&mut node);
    node
}

#[test]
fn a_follower_that_hears_nothing_becomes_a_candidate_and_asks_every_peer_for_a_vote() {
    let mut node = QuorumNode::new(config(1), at(0)).unwrap();
    let deadline = node.poll_timeout().unwrap();
    assert!(deadline >= at(150).mono && deadline <= at(300).mono);
    node.handle_timeout(at(100));
    assert_eq!(drain(&mut node), vec![], "an early timeout does nothing");
    node.handle_timeout(at(300));
    let ask = QuorumMessage::RequestVote {
        term: 1,
        last_log_index: 0,
        last_log_term: 0,
    };
    assert_eq!(drain(&mut node), vec![send(2, ask.clone()), send(3, ask)]);
    assert_eq!(node.current_term(), 1);
    assert_eq!(node.persistent_state().voted_for, Some(1));
    assert_eq!(node.leader_term(), None);
}

#[test]
fn a_candidate_with_a_majority_leads_and_replicates_its_leader_marker() {
    let mut node = QuorumNode::new(config(1), at(0)).unwrap();
    node.handle_timeout(at(1_000));
    drain(&mut node);
    let granted = QuorumMessage::VoteResponse {
        term: 1,
        granted: true,
    };
    node.handle_message(at(1_001), 2, granted);
    let append = QuorumMessage::AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![marker(1)],
        leader_commit: 0,
    };
    assert_eq!(
        drain(&mut node),
        vec![
            QuorumOutput::BecameLeader { term: 1 },
            send(2, append.clone()),
            send(3, append)
        ]
    );
    assert_eq!(node.leader_term(), Some(1));
    assert_eq!(node.leader_hint(), Some(1));
    assert_eq!(
        node.poll_timeout(),
        Some(at(1_051).mono),
        "heartbeat interval"
    );
}

#[test]
fn a_vote_goes_to_the_first_up_to_date_candidate_of_a_term_only() {
    let persisted = PersistentState {
        current_term: 2,
        voted_for: None,
        log: vec![entry(2, true, "a")],
    };
    let mut node = QuorumNode::restart(config(1), persisted, at(0)).unwrap();
    let stale = QuorumMessage::RequestVote {
        term: 3,
        last_log_index: 5,
        last_log_term: 1,
    };
    node.handle_message(at(1), 2, stale);
    let refused = QuorumMessage::VoteResponse {
        term: 3,
        granted: false,
    };
    assert_eq!(drain(&mut node), vec![send(2, refused.clone())]);
    let fresh = QuorumMessage::RequestVote {
        term: 3,
        last_log_index: 1,
        last_log_term: 2,
    };
    node.handle_message(at(2), 3, fresh.clone());
    let granted = QuorumMessage::VoteResponse {
        term: 3,
        granted: true,
    };
    assert_eq!(drain(&mut node), vec![send(3, granted.clone())]);
    node.handle_message(at(3), 2, fresh.clone());
    assert_eq!(
        drain(&mut node),
        vec![send(2, refused)],
        "already voted for 3"
    );
    node.handle_message(at(4), 3, fresh);
    assert_eq!(
        drain(&mut node),
        vec![send(3, granted)],
        "a repeated request is granted again"
    );
}

#[test]
fn a_follower_stores_entries_that_pass_the_consistency_check_and_refuses_others() {
    let mut node = QuorumNode::new(config(2), at(0)).unwrap();
    let gap = QuorumMessage::AppendEntries {
        term: 1,
        prev_log_index: 3,
        prev_log_term: 1,
        entries: vec![entry(1, true, "d")],
        leader_commit: 0,
    };
    node.handle_message(at(1), 1, gap);
    let retry_from_one = QuorumMessage::AppendResponse {
        term: 1,
        success: false,
        index: 1,
    };
    assert_eq!(drain(&mut node), vec![send(1, retry_from_one)]);
    let fits = QuorumMessage::AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![marker(1), entry(1, false, "a"), entry(1, true, "b")],
        leader_commit: 3,
    };
    node.handle_message(at(2), 1, fits);
    let stored = QuorumMessage::AppendResponse {
        term: 1,
        success: true,
        index: 3,
    };
    assert_eq!(
        drain(&mut node),
        vec![
            QuorumOutput::Committed(CommittedRecord {
                offset: MetadataOffset(1),
                record: record("a")
            }),
            QuorumOutput::Committed(CommittedRecord {
                offset: MetadataOffset(2),
                record: record("b")
            }),
            send(1, stored)
        ]
    );
    assert_eq!(node.leader_hint(), Some(1));
    assert_eq!(node.commit_index(), 3);
}

#[test]
fn a_follower_never_commits_part_of_a_batch() {
    let mut node = QuorumNode::new(config(2), at(0)).unwrap();
    let half = QuorumMessage::AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![marker(1), entry(1, false, "a")],
        leader_commit: 3,
    };
    node.handle_message(at(1), 1, half);
    let outputs = drain(&mut node);
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, QuorumOutput::Committed(_))),
        "{outputs:?}"
    );
    assert_eq!(
        node.commit_index(),
        1,
        "only the leader marker is committed"
    );
}

#[test]
fn a_conflicting_suffix_is_truncated_but_a_stale_shorter_append_keeps_matching_entries() {
    let persisted = PersistentState {
        current_term: 2,
        voted_for: None,
        log: vec![marker(1), entry(1, true, "a"), entry(2, true, "x")],
    };
    let mut node = QuorumNode::restart(config(2), persisted, at(0)).unwrap();
    let replace = QuorumMessage::AppendEntries {
        term: 3,
        prev_log_index: 2,
        prev_log_term: 1,
        entries: vec![marker(3), entry(3, true, "c")],
        leader_commit: 0,
    };
    node.handle_message(at(1), 1, replace);
    drain(&mut node);
    assert_eq!(
        node.log(),
        &[
            marker(1),
            entry(1, true, "a"),
            marker(3),
            entry(3, true, "c")
        ]
    );
    let stale = QuorumMessage::AppendEntries {
        term: 3,
        prev_log_index: 2,
        prev_log_term: 1,
        entries: vec![marker(3)],
        leader_commit: 0,
    };
    node.handle_message(at(2), 1, stale);
    drain(&mut node);
    assert_eq!(
        node.log().len(),
        4,
        "a reordered older append must not cut the log"
    );
}

#[test]
fn a_follower_points_the_leader_at_the_start_of_a_conflicting_term() {
    let persisted = PersistentState {
        current_term: 2,
        voted_for: None,
        log: vec![marker(1), entry(2, true, "x"), entry(2, true, "y")],
    };
    let mut node = QuorumNode::restart(config(2), persisted, at(0)).unwrap();
    let probe = QuorumMessage::AppendEntries {
        term: 3,
        prev_log_index: 3,
        prev_log_term: 3,
        entries: vec![],
        leader_commit: 0,
    };
    node.handle_message(at(1), 1, probe);
    let hint = QuorumMessage::AppendResponse {
        term: 3,
        success: false,
        index: 2,
    };
    assert_eq!(drain(&mut node), vec![send(1, hint)]);
}

#[test]
fn a_leader_commits_a_batch_once_a_majority_stores_it_and_emits_it_in_order() {
    let mut node = leader();
    let offset = node
        .propose(at(1_010), vec![record("a"), record("b")])
        .unwrap();
    assert_eq!(offset, MetadataOffset(2));
    let append = QuorumMessage::AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![marker(1), entry(1, false, "a"), entry(1, true, "b")],
        leader_commit: 0,
    };
    assert_eq!(
        drain(&mut node),
        vec![send(2, append.clone()), send(3, append)]
    );
    let partial = QuorumMessage::AppendResponse {
        term: 1,
        success: true,
        index: 2,
    };
    node.handle_message(at(1_011), 2, partial);
    assert_eq!(
        node.commit_index(),
        1,
        "the marker commits; half a batch does not"
    );
    assert_eq!(drain(&mut node).len(), 1, "the rest of the batch is resent");
    let whole = QuorumMessage::AppendResponse {
        term: 1,
        success: true,
        index: 3,
    };
    node.handle_message(at(1_012), 3, whole);
    assert_eq!(
        drain(&mut node),
        vec![
            QuorumOutput::Committed(CommittedRecord {
                offset: MetadataOffset(1),
                record: record("a")
            }),
            QuorumOutput::Committed(CommittedRecord {
                offset: MetadataOffset(2),
                record: record("b")
            }),
        ]
    );
    assert_eq!(node.committed_offset(), Some(MetadataOffset(2)));
    assert_eq!(node.read_committed(MetadataOffset(0), 10).len(), 2);
}

#[test]
fn a_leader_does_not_commit_an_older_terms_entry_by_counting_replicas() {
    let persisted = PersistentState {
        current_term: 1,
        voted_for: None,
        log: vec![entry(1, true, "old")],
    };
    let mut node = QuorumNode::restart(config(1), persisted, at(0)).unwrap();
    node.handle_timeout(at(1_000));
    let granted = QuorumMessage::VoteResponse {
        term: 2,
        granted: true,
    };
    node.handle_message(at(1_001), 2, granted);
    drain(&mut node);
    let has_old = QuorumMessage::AppendResponse {
        term: 2,
        success: true,
        index: 1,
    };
    node.handle_message(at(1_002), 2, has_old);
    assert_eq!(
        node.commit_index(),
        0,
        "§5.4.2: only current-term entries count"
    );
    let resend = QuorumMessage::AppendEntries {
        term: 2,
        prev_log_index: 1,
        prev_log_term: 1,
        entries: vec![marker(2)],
        leader_commit: 0,
    };
    assert_eq!(drain(&mut node), vec![send(2, resend)]);
    let has_marker = QuorumMessage::AppendResponse {
        term: 2,
        success: true,
        index: 2,
    };
    node.handle_message(at(1_003), 2, has_marker);
    assert_eq!(node.commit_index(), 2);
    let committed = QuorumOutput::Committed(CommittedRecord {
        offset: MetadataOffset(0),
        record: record("old"),
    });
    assert_eq!(drain(&mut node), vec![committed]);
}

#[test]
fn a_leader_that_hears_a_higher_term_steps_down_and_refuses_proposals() {
    let mut node = leader();
    let newer = QuorumMessage::AppendResponse {
        term: 5,
        success: false,
        index: 0,
    };
    node.handle_message(at(1_002), 3, newer);
    assert_eq!(
        drain(&mut node),
        vec![QuorumOutput::LostLeadership { term: 1 }]
    );
    assert_eq!(node.current_term(), 5);
    assert_eq!(node.leader_term(), None);
    let refused = node.propose(at(1_003), vec![record("a")]);
    assert_eq!(refused, Err(MetadataLogError::NotLeader));
}

#[test]
fn a_leader_refuses_proposals_beyond_its_uncommitted_limit() {
    let mut cfg = config(1);
    cfg.max_uncommitted_entries = 3;
    let mut node = QuorumNode::new(cfg, at(0)).unwrap();
    node.handle_timeout(at(1_000));
    let granted = QuorumMessage::VoteResponse {
        term: 1,
        granted: true,
    };
    node.handle_message(at(1_001), 2, granted);
    let refused = node.propose(at(1_002), vec![record("a"), record("b"), record("c")]);
    let limit = MetadataLogError::Backpressure {
        pending: 1,
        limit: 3,
    };
    assert_eq!(refused, Err(limit));
    assert_eq!(node.log().len(), 1, "a refused batch appends nothing");
}

#[test]
fn a_bad_configuration_is_a_typed_error() {
    let not_voter = QuorumConfig::new(4, vec![1, 2, 3], 0);
    assert!(matches!(
        QuorumNode::new(not_voter, at(0)),
        Err(QuorumConfigError::NotAVoter { node_id: 4, .. })
    ));
    let mut slow_heartbeat = config(1);
    slow_heartbeat.heartbeat_interval_ms = 500;
    assert!(matches!(
        QuorumNode::new(slow_heartbeat, at(0)),
        Err(QuorumConfigError::BadTimeouts { .. })
    ));
    let empty = QuorumConfig::new(1, vec![], 0);
    assert_eq!(
        QuorumNode::new(empty, at(0)).unwrap_err(),
        QuorumConfigError::NoVoters
    );
}

#[test]
fn a_single_voter_metadata_log_elects_itself_and_commits_each_batch_at_once() {
    let node = QuorumNode::new(QuorumConfig::new(1, vec![1], 3), at(0)).unwrap();
    let mut log = QuorumMetadataLog::new(node, at(0));
    assert_eq!(
        log.append(vec![record("a")]),
        Err(MetadataLogError::NotLeader)
    );
    log.handle_timeout(at(1_000));
    assert_eq!(log.leader_term(), Some(1));
    assert_eq!(
        log.append(vec![record("a"), record("b")]),
        Ok(MetadataOffset(2))
    );
    let committed: Vec<_> = std::iter::from_fn(|| log.poll_committed()).collect();
    let offsets: Vec<_> = committed.iter().map(|c| c.offset).collect();
    assert_eq!(offsets, vec![MetadataOffset(1), MetadataOffset(2)]);
    assert_eq!(log.committed_offset(), Some(MetadataOffset(2)));
    assert_eq!(
        log.read_committed(MetadataOffset(2), 5),
        committed[1..].to_vec()
    );
    assert_eq!(log.poll_send(), None);
}

#[test]
fn a_leader_that_hears_from_no_majority_for_an_election_timeout_steps_down() {
    let mut node = leader();
    let heard = QuorumMessage::AppendResponse {
        term: 1,
        success: true,
        index: 1,
    };
    node.handle_message(at(1_200), 2, heard);
    node.handle_timeout(at(1_400));
    assert_eq!(node.leader_term(), Some(1), "node 2 answered 200 ms ago");
    drain(&mut node);
    node.handle_timeout(at(1_500));
    assert_eq!(
        node.leader_term(),
        Some(1),
        "node 2 answered exactly 300 ms ago"
    );
    drain(&mut node);
    node.handle_timeout(at(1_560));
    assert_eq!(
        drain(&mut node),
        vec![QuorumOutput::LostLeadership { term: 1 }]
    );
    assert_eq!(node.current_term(), 1, "stepping down keeps the term");
    assert_eq!(node.leader_hint(), None);
    assert_eq!(
        node.propose(at(1_561), vec![record("a")]),
        Err(MetadataLogError::NotLeader)
    );
}
