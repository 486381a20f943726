//! Each planted bug ([`odradek_core::bugs::PlantedBug`]) makes the wrong thing happen, and
//! the same steps without it do the right thing. The log-level bugs are driven on a
//! `PartitionLog` directly, the node-level ones through a `Node`.

mod common;
mod node_support;

use common::{at_ms, batch as log_batch, open, sync_all};
use node_support::{batch, fetch_request, produce_request, Harness};
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::log::{FlushPolicy, LogConfig, LogError, PartitionLog};
use odradek_core::node::NodeConfig;
use odradek_core::record::{split_batches, Offset};
use odradek_core::storage::Storage;
use odradek_core::wire::ResponseBody;
use odradek_sim::disk::SimDisk;

const LOG_FILE: &str = "00000000000000000000.log";

fn log_config(bugs: PlantedBugs) -> LogConfig {
    LogConfig {
        flush_policy: FlushPolicy::EveryBatch,
        planted_bugs: bugs,
        ..LogConfig::default()
    }
}

fn node_with(bugs: PlantedBugs) -> Harness {
    let mut config = NodeConfig::default();
    config.log.planted_bugs = bugs;
    let mut h = Harness::with_config(config);
    h.create_topic("t", 1, &[("flush.messages", "1")]);
    h
}

/// Reads the whole log from its start, batch by batch, as a consumer would.
fn read_everything(log: &mut PartitionLog<SimDisk>) -> Result<Vec<Offset>, LogError> {
    let mut bases = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let read = log.read(next, 1 << 20)?;
        for batch in split_batches(read.records).expect("served batches are whole") {
            bases.push(Offset(u64::from_be_bytes(batch[0..8].try_into().unwrap())));
        }
        next = read.next_offset;
    }
    Ok(bases)
}

/// (high watermark, record bytes) of partition 0 in a fetch answer.
fn fetched(body: &ResponseBody) -> (i64, usize) {
    let ResponseBody::Fetch(response) = body else {
        panic!("not a fetch: {body:?}")
    };
    let partition = &response.responses[0].partitions[0];
    let bytes = partition.records.as_ref().map_or(0, |r| r.len());
    (partition.high_watermark, bytes)
}

#[test]
fn ack_before_durable_answers_acks_all_before_the_sync_only_when_planted() {
    for (bugs, answered_early) in [
        (PlantedBugs::only(PlantedBug::AckBeforeDurable), true),
        (PlantedBugs::NONE, false),
    ] {
        let mut h = node_with(bugs);
        h.send(1, 9, produce_request("t", 0, -1, batch(0, &["x"])));
        let drained = h.drain();
        assert_eq!(drained.syncs.len(), 1, "the append still asks for a sync");
        assert_eq!(!drained.answers.is_empty(), answered_early, "{bugs:?}");
        let after = h.perform_syncs(&drained.syncs);
        assert_eq!(after.answers.len(), usize::from(!answered_early));
    }
}

#[test]
fn fetch_beyond_durable_serves_unsynced_records_only_when_planted() {
    for (bugs, visible) in [
        (PlantedBugs::only(PlantedBug::FetchBeyondDurable), true),
        (PlantedBugs::NONE, false),
    ] {
        let mut h = node_with(bugs);
        h.send(1, 9, produce_request("t", 0, 1, batch(0, &["x", "y"])));
        let drained = h.drain();
        assert_eq!((drained.answers.len(), drained.syncs.len()), (1, 1));
        h.send(2, 12, fetch_request("t", 0, 0, 0, 1));
        let answer = h.drain().answers.remove(0);
        let (high_watermark, bytes) = fetched(&answer.body);
        assert_eq!(high_watermark, if visible { 2 } else { 0 }, "{bugs:?}");
        assert_eq!(bytes > 0, visible, "{bugs:?}");
    }
}

#[test]
fn recover_without_truncating_torn_tail_leaves_garbage_a_reader_hits_only_when_planted() {
    for bugs in [
        PlantedBugs::only(PlantedBug::RecoverWithoutTruncatingTornTail),
        PlantedBugs::NONE,
    ] {
        let disk = SimDisk::new(7);
        let mut log = open(&disk, log_config(bugs), at_ms(0));
        log.append(at_ms(0), log_batch(1, 100, 0)).unwrap();
        log.append(at_ms(0), log_batch(1, 100, 0)).unwrap();
        sync_all(&mut log, at_ms(0));
        drop(log);
        let mut storage = disk.clone();
        let len = storage.len(LOG_FILE).unwrap();
        storage.truncate(LOG_FILE, len - 7).unwrap(); // a torn last batch
        let (mut log, report) = PartitionLog::open(disk.clone(), log_config(bugs), at_ms(1))
            .expect("recovery opens the log");
        assert_eq!(log.log_end_offset(), Offset(1));
        let appended = log.append(at_ms(1), log_batch(2, 10, 1)).unwrap();
        assert_eq!(appended.base_offset, Offset(1));
        let read = read_everything(&mut log);
        if bugs.is_empty() {
            assert!(report.truncated.is_some());
            assert_eq!(read, Ok(vec![Offset(0), Offset(1)]));
        } else {
            assert_eq!(report.truncated, None);
            assert!(
                matches!(read, Err(LogError::Corruption { .. })),
                "the reader must hit the kept garbage: {read:?}"
            );
        }
    }
}

#[test]
fn fetch_skips_record_starts_a_mid_batch_read_at_the_next_batch_only_when_planted() {
    for (bugs, first) in [
        (PlantedBugs::only(PlantedBug::FetchSkipsRecord), Offset(3)),
        (PlantedBugs::NONE, Offset(0)),
    ] {
        let disk = SimDisk::new(7);
        let mut log = open(&disk, log_config(bugs), at_ms(0));
        log.append(at_ms(0), log_batch(3, 10, 0)).unwrap(); // offsets 0..=2
        log.append(at_ms(0), log_batch(2, 10, 0)).unwrap(); // offsets 3..=4
        let at_base = log.read(Offset(0), 1 << 20).unwrap();
        assert_eq!(at_base.first_offset, Offset(0), "a read at a base is exact");
        let mid_batch = log.read(Offset(1), 1 << 20).unwrap();
        assert_eq!(mid_batch.first_offset, first, "{bugs:?}");
        assert_eq!(mid_batch.next_offset, Offset(5));
    }
}

#[test]
fn fetch_skips_record_loses_records_for_a_node_fetch_inside_a_batch() {
    let mut h = node_with(PlantedBugs::only(PlantedBug::FetchSkipsRecord));
    h.call(9, produce_request("t", 0, -1, batch(0, &["a", "b", "c"])));
    h.call(9, produce_request("t", 0, -1, batch(0, &["d"])));
    let body = h.call(12, fetch_request("t", 0, 1, 0, 1));
    let records = node_support::fetched_records(&body);
    let batches = split_batches(records).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        &batches[0][0..8],
        &3u64.to_be_bytes(),
        "offsets 1 and 2 skipped"
    );
}

#[test]
fn offset_reused_after_crash_assigns_an_offset_twice_only_when_planted() {
    for (bugs, next_base) in [
        (
            PlantedBugs::only(PlantedBug::OffsetReusedAfterCrash),
            Offset(2),
        ),
        (PlantedBugs::NONE, Offset(3)),
    ] {
        let disk = SimDisk::new(7);
        let mut log = open(&disk, log_config(bugs), at_ms(0));
        log.append(at_ms(0), log_batch(1, 10, 0)).unwrap();
        let before = log.append(at_ms(0), log_batch(2, 10, 0)).unwrap();
        assert_eq!(before.last_offset, Offset(2));
        sync_all(&mut log, at_ms(0));
        drop(log);
        disk.crash();
        let mut log = open(&disk, log_config(bugs), at_ms(1));
        let after = log.append(at_ms(1), log_batch(1, 10, 1)).unwrap();
        assert_eq!(after.base_offset, next_base, "{bugs:?}");
    }
}

#[test]
fn offset_reused_after_crash_leaves_an_empty_log_alone() {
    let bugs = PlantedBugs::only(PlantedBug::OffsetReusedAfterCrash);
    let disk = SimDisk::new(7);
    drop(open(&disk, log_config(bugs), at_ms(0)));
    disk.crash();
    let mut log = open(&disk, log_config(bugs), at_ms(1));
    assert_eq!(log.log_end_offset(), Offset(0));
    let first = log.append(at_ms(1), log_batch(1, 10, 1)).unwrap();
    assert_eq!(first.base_offset, Offset(0));
}

#[test]
fn the_node_default_config_plants_no_bug() {
    assert!(NodeConfig::default().log.planted_bugs.is_empty());
    assert!(LogConfig::default().planted_bugs.is_empty());
}
