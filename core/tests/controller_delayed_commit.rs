//! The controller over a metadata log that commits later, as a replicated log does: commands
//! issued before earlier proposals commit see them (the controller's view), nothing reaches
//! the committed image before the log commits it, and a controller that loses leadership
//! forgets its uncommitted proposals and is refused further ones (NOT_CONTROLLER).

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    BrokerId, CommittedRecord, Controller, ControllerError, CreateTopicRequest, MetadataImage,
    MetadataLog, MetadataLogError, MetadataOffset, MetadataRecord, PartitionIndex,
};
use std::collections::VecDeque;

/// A test double of a replicated log: proposals wait until `commit_next` commits the oldest
/// batch; `lose_leadership` drops every uncommitted batch (a new leader never had them) and
/// refuses proposals until `win_leadership` starts a new term.
#[derive(Default)]
struct DelayedLog {
    committed: Vec<CommittedRecord>,
    unpolled: VecDeque<CommittedRecord>,
    pending: VecDeque<Vec<MetadataRecord>>,
    next_offset: u64,
    term: Option<u64>,
}

impl DelayedLog {
    fn leading() -> DelayedLog {
        DelayedLog {
            term: Some(1),
            ..DelayedLog::default()
        }
    }

    fn commit_next(&mut self) {
        let batch = self.pending.pop_front().expect("a pending batch");
        for record in batch {
            let committed = CommittedRecord {
                offset: MetadataOffset(self.committed.len() as u64),
                record,
            };
            self.committed.push(committed.clone());
            self.unpolled.push_back(committed);
        }
    }

    fn lose_leadership(&mut self) {
        self.pending.clear();
        self.next_offset = self.committed.len() as u64;
        self.term = None;
    }

    fn win_leadership(&mut self, term: u64) {
        self.term = Some(term);
    }
}

impl MetadataLog for DelayedLog {
    fn append(&mut self, records: Vec<MetadataRecord>) -> Result<MetadataOffset, MetadataLogError> {
        if self.term.is_none() {
            return Err(MetadataLogError::NotLeader);
        }
        self.next_offset += records.len() as u64;
        if !records.is_empty() {
            self.pending.push_back(records);
        }
        Ok(MetadataOffset(self.next_offset.saturating_sub(1)))
    }

    fn poll_committed(&mut self) -> Option<CommittedRecord> {
        self.unpolled.pop_front()
    }

    fn committed_offset(&self) -> Option<MetadataOffset> {
        self.committed.last().map(|c| c.offset)
    }

    fn read_committed(&self, from: MetadataOffset, max_records: usize) -> Vec<CommittedRecord> {
        self.committed
            .iter()
            .filter(|c| c.offset >= from)
            .take(max_records)
            .cloned()
            .collect()
    }

    fn leader_term(&self) -> Option<u64> {
        self.term
    }
}

/// A controller whose brokers 0..3 registered and heartbeated (at time zero) through the
/// local log, then moved onto a `DelayedLog` that already commits the same records.
fn delayed_cluster() -> (Controller, DelayedLog) {
    let (local_controller, local_log) = cluster(3);
    let mut log = DelayedLog::leading();
    let mut controller = Controller::new(local_controller.config().clone()).expect("valid");
    log.append(local_log.records().to_vec()).expect("leader");
    log.commit_next();
    let count = local_log.records().len();
    assert_eq!(controller.apply_committed(&mut log), Ok(count));
    (controller, log)
}

fn propose_topic_t(controller: &mut Controller, log: &mut DelayedLog) {
    let request = CreateTopicRequest::new("t", 1, 3);
    let created = controller
        .create_topics(&[request], false)
        .remove(0)
        .result
        .expect("valid");
    controller.propose(log, created.records).expect("leader");
}

#[test]
fn commands_see_uncommitted_proposals_and_the_image_changes_only_on_commit() {
    let (mut controller, mut log) = delayed_cluster();
    propose_topic_t(&mut controller, &mut log);
    assert!(
        controller.image().topic_by_name("t").is_none(),
        "not committed"
    );
    assert!(controller.view().topic_by_name("t").is_some());
    assert!(controller.has_uncommitted());
    let again = controller.create_topics(&[CreateTopicRequest::new("t", 1, 3)], false);
    assert!(matches!(
        again[0].result,
        Err(ControllerError::TopicAlreadyExists { .. })
    ));
    let t = controller
        .view()
        .topic_by_name("t")
        .expect("in view")
        .topic_id;
    assert_eq!(
        controller.elect_preferred_leader(t, PartitionIndex(0)),
        Err(ControllerError::ElectionNotNeeded),
        "the uncommitted partition is found, led by its preferred replica"
    );
    assert_eq!(controller.apply_committed(&mut log), Ok(0));
    log.commit_next();
    assert_eq!(controller.apply_committed(&mut log), Ok(2));
    assert!(!controller.has_uncommitted());
    assert_eq!(controller.image(), controller.view());
    controller.check_invariants();
}

#[test]
fn a_fencing_decided_before_commit_is_not_decided_twice() {
    let (mut controller, mut log) = delayed_cluster();
    assert_eq!(
        controller.handle_timeout(at_millis(1)),
        vec![],
        "sessions start"
    );
    let records = controller.handle_timeout(at_millis(9001));
    assert_eq!(records.len(), 3, "all three brokers missed their sessions");
    controller.propose(&mut log, records).expect("leader");
    assert_eq!(controller.handle_timeout(at_millis(9002)), vec![]);
    assert!(controller.view().is_fenced(BrokerId(0)));
    assert!(!controller.image().is_fenced(BrokerId(0)));
    log.commit_next();
    controller.apply_committed(&mut log).expect("applies");
    assert!(controller.image().is_fenced(BrokerId(0)));
}

#[test]
fn a_controller_that_loses_leadership_discards_its_uncommitted_view() {
    let (mut controller, mut log) = delayed_cluster();
    propose_topic_t(&mut controller, &mut log);
    log.lose_leadership();
    assert_eq!(controller.apply_committed(&mut log), Ok(0));
    assert!(!controller.has_uncommitted());
    assert!(controller.view().topic_by_name("t").is_none());
    let created = controller
        .create_topics(&[CreateTopicRequest::new("t", 1, 3)], false)
        .remove(0)
        .result
        .expect("valid again against the committed image");
    assert_eq!(
        controller.propose(&mut log, created.records),
        Err(ControllerError::NotController)
    );
    log.win_leadership(2);
    propose_topic_t(&mut controller, &mut log);
    log.commit_next();
    controller.apply_committed(&mut log).expect("applies");
    assert!(controller.image().topic_by_name("t").is_some());
    let mut replayed = MetadataImage::new();
    for committed in log.read_committed(MetadataOffset(0), usize::MAX) {
        replayed
            .apply(committed.offset, &committed.record)
            .expect("valid log");
    }
    assert_eq!(&replayed, controller.image());
}

#[test]
fn a_new_leadership_term_discards_proposals_of_the_old_one_even_without_a_refusal() {
    let (mut controller, mut log) = delayed_cluster();
    propose_topic_t(&mut controller, &mut log);
    log.lose_leadership();
    log.win_leadership(2);
    assert_eq!(controller.apply_committed(&mut log), Ok(0));
    assert!(!controller.has_uncommitted());
    assert!(controller.view().topic_by_name("t").is_none());
}

#[test]
fn records_that_do_not_apply_to_the_view_never_reach_the_log() {
    let (mut controller, mut log) = delayed_cluster();
    assert!(matches!(
        controller.propose(&mut log, vec![fencing(9, true)]),
        Err(ControllerError::InvalidRecords { .. })
    ));
    assert!(log.pending.is_empty());
    assert!(!controller.has_uncommitted());
}
