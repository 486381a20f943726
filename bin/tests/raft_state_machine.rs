//! The metadata state machine on hand-made entries: a proposal commits whole at the offsets
//! it names, only in the term it was made in and never below the next offset; an
//! undecodable record is an error that applies nothing; snapshots carry every record to a
//! fresh node and across a restart.

mod raft_support;

use odradek::raft::{MetadataProposal, MetadataRaftTypes, MetadataStateMachine};
use odradek_core::controller::MetadataRecord;
use odradek_core::node::metadata_store::encode_record;
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, RaftSnapshotBuilder};
use raft_support::{batch, records_of};

fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// An entry appended at `index` in `entry_term`, carrying a proposal made in
/// `proposal_term` with its first record at `first_offset`.
fn proposal_entry(
    entry_term: u64,
    index: u64,
    proposal_term: u64,
    first_offset: u64,
    records: &[MetadataRecord],
) -> Entry<MetadataRaftTypes> {
    Entry {
        log_id: log_id(entry_term, index),
        payload: EntryPayload::Normal(MetadataProposal {
            term: proposal_term,
            first_offset,
            records: records.iter().map(encode_record).collect(),
        }),
    }
}

fn offsets(state_machine: &MetadataStateMachine) -> Vec<u64> {
    let applied = state_machine.applied();
    let applied = applied.lock().unwrap();
    applied.records().iter().map(|r| r.offset.0).collect()
}

#[tokio::test]
async fn proposals_commit_only_in_their_own_term_and_never_below_the_next_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut state_machine = MetadataStateMachine::open(dir.path()).unwrap();
    let entries = vec![
        Entry {
            log_id: log_id(2, 1),
            payload: EntryPayload::Blank,
        },
        proposal_entry(2, 2, 2, 0, &batch(0, 2)), // applied at 0, 1
        proposal_entry(3, 3, 2, 2, &batch(2, 1)), // made in term 2, appended in 3: skipped
        proposal_entry(3, 4, 3, 1, &batch(3, 1)), // below next offset 2: skipped
        proposal_entry(3, 5, 3, 5, &batch(4, 2)), // a gap is allowed: 5, 6
    ];
    let responses = state_machine.apply(entries).await.unwrap();
    assert_eq!(responses.len(), 5);
    assert_eq!(offsets(&state_machine), vec![0, 1, 5, 6]);
    let applied = state_machine.applied();
    let applied = applied.lock().unwrap();
    assert_eq!(
        records_of(applied.records()),
        [batch(0, 2), batch(4, 2)].concat()
    );
    assert_eq!(applied.next_offset(), 7);
    assert_eq!(applied.last_applied(), Some(log_id(3, 5)));
}

#[tokio::test]
async fn an_undecodable_record_is_an_error_and_applies_none_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut state_machine = MetadataStateMachine::open(dir.path()).unwrap();
    let mut entry = proposal_entry(1, 1, 1, 0, &batch(0, 2));
    if let EntryPayload::Normal(proposal) = &mut entry.payload {
        proposal.records[1] = vec![0xEE, 0x00];
    }
    assert!(state_machine.apply(vec![entry]).await.is_err());
    assert_eq!(offsets(&state_machine), Vec::<u64>::new());
}

#[tokio::test]
async fn a_snapshot_carries_every_record_to_a_fresh_node_and_across_a_restart() {
    let source_dir = tempfile::tempdir().unwrap();
    let mut source = MetadataStateMachine::open(source_dir.path()).unwrap();
    let entries = vec![
        proposal_entry(1, 1, 1, 0, &batch(0, 3)),
        proposal_entry(1, 2, 1, 3, &batch(3, 1)),
    ];
    source.apply(entries).await.unwrap();
    let mut builder = source.get_snapshot_builder().await;
    let snapshot = builder.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, 2)));

    let target_dir = tempfile::tempdir().unwrap();
    let mut target = MetadataStateMachine::open(target_dir.path()).unwrap();
    target
        .install_snapshot(&snapshot.meta, snapshot.snapshot)
        .await
        .unwrap();
    assert_eq!(offsets(&target), vec![0, 1, 2, 3]);
    let (last_applied, _) = target.applied_state().await.unwrap();
    assert_eq!(last_applied, Some(log_id(1, 2)));

    // A restart: the directories are locked while their state machines are open.
    drop((source, builder, target));
    for dir in [source_dir.path(), target_dir.path()] {
        let restarted = MetadataStateMachine::open(dir).unwrap();
        let applied = restarted.applied();
        let applied = applied.lock().unwrap();
        assert_eq!(records_of(applied.records()), batch(0, 4));
        assert_eq!(applied.next_offset(), 4);
    }
}
