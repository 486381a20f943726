//! The raft log store over the simulator's `SimDisk` (torn writes, lost unsynced data,
//! fsync failures, a full disk), through the same `Storage` trait as production:
//! - a crash at every storage call of a scripted history, on several disk seeds, leaves
//!   exactly what was acknowledged (plus, for the one unacknowledged operation, its before
//!   or after state, or a prefix of its entries); recovery never fails after a crash, is
//!   itself durable, and the log takes appends after it;
//! - a torn tail is cut at the last whole frame, durably;
//! - a damaged record before the tail, or a damaged vote file, is a typed error that cuts
//!   nothing;
//! - a failed fsync fences the log until a restart, which recovers the acknowledged state;
//!   a full disk fails an append without leaving garbage behind;
//! - a crash at every storage call of a snapshot write leaves the old or the new snapshot;
//! - a whole one-voter quorum node runs on a `SimDisk` and keeps its commits across a power
//!   loss.

mod raft_support;

use odradek::raft::{
    ControllerQuorumConfig, ControllerQuorumNode, LogFileError, MetadataStateMachine,
};
use odradek_core::controller::MetadataLog;
use odradek_core::storage::{Storage, StorageError};
use odradek_sim::disk::{FaultKind, SimDisk, SimDiskFaults};
use openraft::storage::RaftStateMachine;
use openraft::{RaftSnapshotBuilder, Vote};
use raft_support::sim_store::{
    cuttable_raft_storage, entry, flat_name, log_id, open_store, raft_storage, StoreModel, StoreOp,
};
use raft_support::{batch, fast_timings, records_of, WAIT_MAX};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;

/// Disk seeds per crash point: each draws different lost / kept / torn outcomes.
const SEEDS: u64 = 6;

/// A history touching every kind of write: votes, appends of one and several entries
/// (several sectors each), a truncation, a purge (a rewrite) and committed ids.
fn script() -> Vec<StoreOp> {
    vec![
        StoreOp::Vote(Vote::new(1, 1)),
        StoreOp::Append(vec![entry(1, 1, 300)]),
        StoreOp::Committed(Some(log_id(1, 1))),
        StoreOp::Append(vec![entry(1, 2, 700), entry(1, 3, 100), entry(1, 4, 900)]),
        StoreOp::TruncateFrom(3),
        StoreOp::Vote(Vote::new(2, 2)),
        StoreOp::Append(vec![entry(2, 3, 500), entry(2, 4, 400)]),
        StoreOp::PurgeUpTo(log_id(1, 2)),
        StoreOp::Append(vec![entry(2, 5, 800)]),
        StoreOp::Committed(Some(log_id(2, 4))),
        StoreOp::Vote(Vote::new(3, 1)),
    ]
}

/// Runs the script on a fresh disk until the power goes after `cut` storage calls; returns
/// the disk, the acknowledged state, and the operation that was cut short, if any.
fn run_until_cut(seed: u64, cut: u64) -> (SimDisk, StoreModel, Option<StoreOp>) {
    let disk = SimDisk::new(seed);
    let (store, budget) = open_store(&disk).expect("a fresh store opens");
    budget.cut_after(cut);
    let mut acked = StoreModel::default();
    for op in script() {
        match op.perform(&store) {
            Ok(()) => acked = acked.after(&op),
            Err(_) => return (disk, acked, Some(op)),
        }
        assert_eq!(
            StoreModel::of(&store),
            acked,
            "the store mirrors what it acknowledged"
        );
    }
    (disk, acked, None)
}

/// Was a write to the raft log torn by a crash of `disk`?
fn tore_the_log(disk: &SimDisk) -> bool {
    disk.fault_log().iter().any(|fault| {
        fault.file == flat_name("raft-log")
            && matches!(
                fault.kind,
                FaultKind::CrashDroppedPending { torn: true, .. }
            )
    })
}

#[test]
fn a_crash_at_every_storage_call_keeps_exactly_what_was_acknowledged() {
    let mut torn_runs = 0;
    let mut cut = 0;
    loop {
        let mut finished = false;
        for seed in 0..SEEDS {
            let (disk, acked, in_flight) = run_until_cut(seed, cut);
            finished = in_flight.is_none();
            disk.crash();
            torn_runs += u32::from(tore_the_log(&disk));
            let (store, _) = open_store(&disk).expect("recovery never fails after a crash");
            let recovered = StoreModel::of(&store);
            let allowed = match &in_flight {
                Some(op) => acked.crash_outcomes(op),
                None => vec![acked.clone()],
            };
            assert!(
                allowed.contains(&recovered),
                "cut after {cut} calls, seed {seed}, in flight {in_flight:?}: recovered {recovered:?}"
            );
            // Recovery made what it kept durable, and the log takes appends after it.
            let next = entry(9, recovered.next_index(), 600);
            store
                .append_entries(vec![next.clone()])
                .expect("append after recovery");
            drop(store);
            disk.crash();
            let (again, _) = open_store(&disk).expect("second recovery");
            let expected = recovered.after(&StoreOp::Append(vec![next]));
            assert_eq!(StoreModel::of(&again), expected, "cut {cut}, seed {seed}");
        }
        if finished {
            break;
        }
        cut += 1;
    }
    assert!(cut >= 30, "the script makes many storage calls ({cut})");
    assert!(torn_runs > 0, "some crash tore a raft log write");
}

#[test]
fn a_torn_tail_is_cut_at_the_last_whole_frame_durably() {
    let disk = SimDisk::new(1);
    let (store, _) = open_store(&disk).unwrap();
    store
        .append_entries(vec![entry(1, 1, 200), entry(1, 2, 200)])
        .unwrap();
    let intact = StoreModel::of(&store);
    drop(store);
    let log = flat_name("raft-log");
    let mut raw = disk.clone();
    let log_len = raw.len(&log).unwrap() as usize;
    let whole = raw.read_at(&log, 0, log_len).unwrap();
    // A copy of the first frame whose last bytes never made it, made durable as a real
    // torn sector would be.
    let first_len = u32::from_be_bytes(whole[..4].try_into().unwrap()) as usize + 12;
    raw.append(&log, &whole[..first_len - 7]).unwrap();
    raw.sync(&log).unwrap();

    let (store, _) = open_store(&disk).expect("a torn tail is not an error");
    assert_eq!(StoreModel::of(&store), intact);
    assert_eq!(
        raw.len(&log).unwrap(),
        whole.len() as u64,
        "the tail was cut"
    );
    assert_eq!(
        disk.durable_files()[&log].len(),
        whole.len(),
        "and the cut is durable"
    );
}

/// Rewrites `file` on the disk with one byte changed, durably.
fn damage(disk: &SimDisk, file: &str, position: usize) -> Vec<u8> {
    let mut raw = disk.clone();
    let name = flat_name(file);
    let len = raw.len(&name).unwrap() as usize;
    let mut bytes = raw.read_at(&name, 0, len).unwrap();
    bytes[position] ^= 0x20;
    raw.truncate(&name, 0).unwrap();
    raw.append(&name, &bytes).unwrap();
    raw.sync(&name).unwrap();
    bytes
}

#[test]
fn a_damaged_record_before_the_tail_is_a_typed_error_and_nothing_is_cut() {
    let disk = SimDisk::new(2);
    let (store, _) = open_store(&disk).unwrap();
    for index in 1..=3 {
        store.append_entries(vec![entry(1, index, 100)]).unwrap();
    }
    drop(store);
    let first_len = {
        let bytes = disk.files()[&flat_name("raft-log")].clone();
        u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize + 12
    };
    // A byte inside the second frame's payload: the third frame follows it intact.
    let damaged = damage(&disk, "raft-log", first_len + 12 + 20);

    match open_store(&disk) {
        Err(LogFileError::Corrupt { file, offset, .. }) => {
            assert_eq!(file, "raft-log");
            assert_eq!(offset, first_len as u64);
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a corrupt log was accepted"),
    }
    assert_eq!(
        disk.files()[&flat_name("raft-log")],
        damaged,
        "nothing was cut"
    );
}

#[test]
fn a_damaged_vote_is_a_typed_error_and_an_intact_one_survives_crashes() {
    let disk = SimDisk::new(3);
    let (store, _) = open_store(&disk).unwrap();
    store.write_vote(Vote::new(4, 2)).unwrap();
    store.write_vote(Vote::new(5, 3)).unwrap();
    drop(store);
    disk.crash();
    let (store, _) = open_store(&disk).unwrap();
    assert_eq!(store.vote(), Some(Vote::new(5, 3)));
    drop(store);

    damage(&disk, "raft-vote", 14);
    match open_store(&disk) {
        Err(LogFileError::Corrupt { file, .. }) => assert_eq!(file, "raft-vote"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a damaged vote was accepted"),
    }
}

#[test]
fn a_failed_fsync_fences_the_log_until_a_restart_recovers_what_was_acknowledged() {
    let disk = SimDisk::new(4);
    let (store, _) = open_store(&disk).unwrap();
    store.append_entries(vec![entry(1, 1, 300)]).unwrap();
    let acked = StoreModel::of(&store);
    disk.set_faults(SimDiskFaults {
        sync_failure_probability: 1.0,
        ..SimDiskFaults::default()
    });
    let failed = store.append_entries(vec![entry(1, 2, 300)]);
    assert!(
        matches!(
            failed,
            Err(LogFileError::Storage(StorageError::SyncFailed { .. }))
        ),
        "{failed:?}"
    );
    assert_eq!(
        StoreModel::of(&store),
        acked,
        "nothing unacknowledged is served"
    );
    disk.set_faults(SimDiskFaults::default());
    let fenced = store.append_entries(vec![entry(1, 2, 300)]);
    assert!(
        matches!(fenced, Err(LogFileError::Fenced { .. })),
        "{fenced:?}"
    );
    drop(store);

    disk.crash();
    let (store, _) = open_store(&disk).expect("restart recovers");
    assert_eq!(StoreModel::of(&store), acked);
    store.append_entries(vec![entry(1, 2, 300)]).unwrap();
    assert_eq!(store.last_log_index(), Some(2));
}

#[test]
fn a_full_disk_fails_the_append_and_leaves_no_garbage_before_the_next_one() {
    let disk = SimDisk::new(5);
    let (store, _) = open_store(&disk).unwrap();
    store.append_entries(vec![entry(1, 1, 100)]).unwrap();
    disk.set_faults(SimDiskFaults {
        capacity_bytes: Some(disk.used_bytes() + 200),
        ..SimDiskFaults::default()
    });
    let full = store.append_entries(vec![entry(1, 2, 900)]);
    assert!(
        matches!(
            full,
            Err(LogFileError::Storage(StorageError::NoSpace { .. }))
        ),
        "{full:?}"
    );
    disk.set_faults(SimDiskFaults::default());
    store.append_entries(vec![entry(1, 2, 50)]).unwrap();
    let acked = StoreModel::of(&store);
    drop(store);

    disk.crash();
    let (store, _) = open_store(&disk).expect("no garbage between frames");
    assert_eq!(StoreModel::of(&store), acked);
    assert_eq!(store.last_log_index(), Some(2));
}

#[test]
fn the_log_store_and_state_machine_share_one_simdisk_directory() {
    let disk = SimDisk::new(6);
    let storage = raft_storage(&disk);
    let store = odradek::raft::FileLogStore::open(storage.clone()).unwrap();
    let _state_machine = MetadataStateMachine::open_in(storage).unwrap();
    store.append_entries(vec![entry(1, 1, 10)]).unwrap();
    let names: Vec<String> = disk.files().into_keys().collect();
    assert!(names.contains(&flat_name("raft-log")), "{names:?}");
}

/// A committed proposal entry at `index` carrying `records` from `first_offset` on.
fn proposal_entry(
    index: u64,
    first_offset: u64,
    records: &[odradek_core::controller::MetadataRecord],
) -> openraft::Entry<odradek::raft::MetadataRaftTypes> {
    openraft::Entry {
        log_id: log_id(1, index),
        payload: openraft::EntryPayload::Normal(odradek::raft::MetadataProposal {
            term: 1,
            first_offset,
            records: (records.iter())
                .map(odradek_core::node::metadata_store::encode_record)
                .collect(),
        }),
    }
}

fn next_offset_of(state_machine: &MetadataStateMachine) -> u64 {
    let applied = state_machine.applied();
    let next_offset = applied.lock().unwrap().next_offset();
    next_offset
}

#[tokio::test]
async fn a_crash_at_every_storage_call_of_a_snapshot_write_leaves_the_old_or_the_new_one() {
    let mut cut = 0;
    loop {
        let disk = SimDisk::new(cut);
        let (storage, budget) = cuttable_raft_storage(&disk).unwrap();
        let mut state_machine = MetadataStateMachine::open_in(storage).unwrap();
        state_machine
            .apply(vec![proposal_entry(1, 0, &batch(0, 2))])
            .await
            .unwrap();
        let mut builder = state_machine.get_snapshot_builder().await;
        builder.build_snapshot().await.expect("the old snapshot");
        state_machine
            .apply(vec![proposal_entry(2, 2, &batch(2, 3))])
            .await
            .unwrap();
        budget.cut_after(cut);
        let written = builder.build_snapshot().await.is_ok();
        drop((state_machine, builder));
        disk.crash();

        let reopened = MetadataStateMachine::open_in(raft_storage(&disk))
            .expect("a snapshot file is never left damaged by a crash");
        let recovered = next_offset_of(&reopened);
        if written {
            assert_eq!(recovered, 5, "an acknowledged snapshot survives");
            break;
        }
        assert!([2, 5].contains(&recovered), "cut {cut}: {recovered}");
        cut += 1;
    }
    assert!(
        cut >= 4,
        "a snapshot write is several storage calls ({cut})"
    );
}

#[tokio::test]
async fn a_one_voter_quorum_on_a_simdisk_keeps_its_commits_across_a_power_loss() {
    let disk = SimDisk::new(12);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let voters = BTreeMap::from([(1, addr)]);
    let mut config =
        ControllerQuorumConfig::new("simdisk-quorum", 1, voters, PathBuf::from("not-used"));
    fast_timings(&mut config);
    let mut node =
        ControllerQuorumNode::start_on_storage(config.clone(), listener, raft_storage(&disk))
            .await
            .expect("starts on a SimDisk");
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    while node.metadata_log().leader_term().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = node.metadata_log_mut().append(batch(0, 3)).unwrap();
    while node.metadata_log().committed_offset() < Some(last) {
        assert!(tokio::time::Instant::now() < deadline, "no commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.shutdown().await.unwrap();
    disk.crash();

    let cluster_listener = rebind(addr).await;
    let mut node =
        ControllerQuorumNode::start_on_storage(config, cluster_listener, raft_storage(&disk))
            .await
            .expect("restarts on the crashed SimDisk");
    let mut records = Vec::new();
    while records.len() < 3 {
        match node.metadata_log_mut().poll_committed() {
            Some(record) => records.push(record),
            None => {
                assert!(tokio::time::Instant::now() < deadline, "{records:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    assert_eq!(records_of(&records), batch(0, 3));
    assert_eq!(records.last().map(|r| r.offset), Some(last));
    node.shutdown().await.unwrap();
    assert!(
        !std::path::Path::new("not-used").exists(),
        "no real directory"
    );
}

/// Binds `addr` again, retrying while the old listener's port is still held.
async fn rebind(addr: std::net::SocketAddr) -> TcpListener {
    let deadline = tokio::time::Instant::now() + WAIT_MAX;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "{error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
