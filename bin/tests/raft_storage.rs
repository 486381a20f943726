//! The metadata quorum's files on a real directory: a torn tail of the raft log is cut off
//! at restart and the committed records survive; damage before the end (a damaged length
//! field included), or to the vote file, stops the node with a clear storage error instead
//! of a panic or a guess. (`raft_storage_sim.rs` crashes the same files on a `SimDisk`.)

mod raft_support;

use odradek::raft::{LogFileError, QuorumNodeError};
use raft_support::{batch, fast_timings, records_of, Cluster};
use std::fs::OpenOptions;
use std::io::Write;

/// A one-voter quorum with three committed batches, stopped; returns it and its records.
async fn stopped_single_node() -> (Cluster, Vec<odradek_core::controller::CommittedRecord>) {
    let mut cluster = Cluster::start(1, fast_timings).await;
    for first in [0, 2, 4] {
        cluster.propose(batch(first, 2)).await;
    }
    let committed = cluster.poll_records(1, 6).await;
    assert_eq!(records_of(&committed), batch(0, 6));
    cluster.stop_all().await;
    (cluster, committed)
}

fn append_bytes(path: &std::path::Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

/// Bytes of a raft log frame header: length, payload checksum, header checksum.
const HEADER_LEN: usize = 12;

/// The first whole frame of the log file at `path` (header and payload).
fn first_frame(path: &std::path::Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
    bytes[..HEADER_LEN + len].to_vec()
}

#[tokio::test]
async fn a_torn_trailing_log_entry_is_truncated_at_restart() {
    let (mut cluster, committed) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let intact_len = std::fs::metadata(&log_path).unwrap().len();
    // A real frame (a copy of the first) whose last bytes never reached the disk.
    let frame = first_frame(&log_path);
    append_bytes(&log_path, &frame[..frame.len() - 5]);

    cluster
        .restart(1)
        .await
        .expect("a torn tail is not an error");
    assert_eq!(std::fs::metadata(&log_path).unwrap().len(), intact_len);
    assert_eq!(cluster.poll_records(1, 6).await, committed);
    let (_, offset) = cluster.propose(batch(6, 1)).await;
    assert!(offset > committed[5].offset.0);
    assert_eq!(records_of(&cluster.poll_records(1, 1).await), batch(6, 1));
    cluster.stop_all().await;
}

#[tokio::test]
async fn a_whole_trailing_frame_with_a_bad_checksum_is_treated_as_torn() {
    let (mut cluster, committed) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let intact_len = std::fs::metadata(&log_path).unwrap().len();
    // A whole frame with an intact header whose payload did not all reach the disk.
    let mut frame = first_frame(&log_path);
    frame[HEADER_LEN + 1] ^= 0x55;
    append_bytes(&log_path, &frame);

    cluster.restart(1).await.expect("restart");
    assert_eq!(std::fs::metadata(&log_path).unwrap().len(), intact_len);
    assert_eq!(cluster.poll_records(1, 6).await, committed);
    cluster.stop_all().await;
}

#[tokio::test]
async fn a_zero_filled_tail_is_treated_as_torn() {
    let (mut cluster, committed) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let intact_len = std::fs::metadata(&log_path).unwrap().len();
    append_bytes(&log_path, &[0u8; 4096]);

    cluster.restart(1).await.expect("restart");
    assert_eq!(std::fs::metadata(&log_path).unwrap().len(), intact_len);
    assert_eq!(cluster.poll_records(1, 6).await, committed);
    cluster.stop_all().await;
}

#[tokio::test]
async fn a_wild_length_field_in_the_middle_of_the_log_is_corruption_not_a_torn_tail() {
    let (mut cluster, _) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let mut bytes = std::fs::read(&log_path).unwrap();
    bytes[0] = 0xFF; // the first frame's length is now over 4 GiB
    std::fs::write(&log_path, &bytes).unwrap();

    match cluster.restart(1).await {
        Err(QuorumNodeError::Storage(LogFileError::Corrupt { offset, reason, .. })) => {
            assert_eq!(offset, 0);
            assert!(reason.contains("length"), "{reason}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(()) => panic!("a corrupt log was accepted"),
    }
    assert_eq!(std::fs::read(&log_path).unwrap(), bytes, "nothing was cut");
}

#[tokio::test]
async fn a_length_field_damaged_to_run_past_the_end_is_corruption_not_a_torn_tail() {
    let (mut cluster, _) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let mut bytes = std::fs::read(&log_path).unwrap();
    // The first frame now claims the whole file and more: without the header checksum this
    // would look exactly like a torn last frame, and recovery would cut every entry.
    let wild = (bytes.len() as u32).to_be_bytes();
    bytes[..4].copy_from_slice(&wild);
    std::fs::write(&log_path, &bytes).unwrap();

    match cluster.restart(1).await {
        Err(QuorumNodeError::Storage(LogFileError::Corrupt { offset, reason, .. })) => {
            assert_eq!(offset, 0);
            assert!(reason.contains("header checksum"), "{reason}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(()) => panic!("a corrupt log was accepted"),
    }
    assert_eq!(std::fs::read(&log_path).unwrap(), bytes, "nothing was cut");
}

#[tokio::test]
async fn a_corrupt_entry_in_the_middle_of_the_log_is_a_clear_error() {
    let (mut cluster, _) = stopped_single_node().await;
    let log_path = cluster.data_dir(1).join("raft-log");
    let mut bytes = std::fs::read(&log_path).unwrap();
    // Flip a byte in the payload of the first frame; intact frames follow it.
    bytes[HEADER_LEN + 3] ^= 0x55;
    std::fs::write(&log_path, &bytes).unwrap();

    match cluster.restart(1).await {
        Err(QuorumNodeError::Storage(LogFileError::Corrupt { offset, reason, .. })) => {
            assert_eq!(offset, 0);
            assert!(reason.contains("checksum"), "{reason}");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(()) => panic!("a corrupt log was accepted"),
    }
    assert_eq!(
        std::fs::read(&log_path).unwrap(),
        bytes,
        "nothing was repaired or cut"
    );
}

#[tokio::test]
async fn a_damaged_vote_file_is_a_clear_error() {
    let (mut cluster, _) = stopped_single_node().await;
    let vote_path = cluster.data_dir(1).join("raft-vote");
    let mut bytes = std::fs::read(&vote_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&vote_path, &bytes).unwrap();

    let error = cluster.restart(1).await.expect_err("refused");
    assert!(
        matches!(&error, QuorumNodeError::Storage(LogFileError::Corrupt { file, .. }) if file == "raft-vote"),
        "{error}"
    );
}

/// Fast timings, a snapshot every 3 entries and a purge as soon as one entry is purgeable,
/// so snapshots, purges (log rewrites) and restarts interleave.
fn snapshot_often(config: &mut odradek::raft::ControllerQuorumConfig) {
    fast_timings(config);
    config.snapshot_after_entries = 3;
    config.entries_kept_after_snapshot = 1;
    config.purge_batch_entries = 1;
}

#[tokio::test]
async fn a_node_restarts_at_once_after_shutdown_with_snapshots_and_purges_in_between() {
    let mut cluster = Cluster::start(1, snapshot_often).await;
    let mut expected = Vec::new();
    for round in 0..5u128 {
        cluster.propose(batch(round * 2, 2)).await;
        expected.extend(batch(round * 2, 2));
        cluster.stop(1).await;
        cluster
            .restart(1)
            .await
            .expect("shutdown released the directory");
    }
    let records = cluster.poll_records(1, expected.len()).await;
    assert_eq!(records_of(&records), expected);
    let snapshot = cluster.data_dir(1).join("raft-snapshot");
    assert!(snapshot.exists(), "a snapshot was written");
    cluster.stop_all().await;
}
