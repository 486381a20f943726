//! The on-disk format, pinned: segment, offset-index and time-index files produced by a fixed
//! append sequence, as a hex snapshot. Any format change shows up in review
//! (`cargo insta review`); a change here means old data directories need migration.
//! Also: the same seed gives byte-identical disk contents and log outputs (determinism).

mod common;

use common::*;
use odradek_core::log::{FlushPolicy, LogConfig, LogOutput, PartitionLog};
use odradek_core::record::{Offset, Record, RecordBatchBuilder};
use odradek_core::time::Now;
use odradek_sim::disk::{SimDisk, SimDiskFaults};
use std::fmt::Write;

fn fixed_log(disk: &SimDisk) -> PartitionLog<SimDisk> {
    let config = LogConfig {
        segment_bytes: 300,
        index_interval_bytes: 100,
        ..LogConfig::default()
    };
    let mut log = open(disk, config, at_ms(0));
    for i in 0..6u8 {
        let batch = RecordBatchBuilder::new(1_700_000_000_000 + i64::from(i) * 1000)
            .record(Record {
                timestamp_delta: 0,
                key: Some(vec![b'k', b'0' + i]),
                value: Some(vec![b'v'; usize::from(i) * 10]),
            })
            .value(5, b"second")
            .build();
        log.append(at_ms(u64::from(i)), batch).expect("append");
    }
    log
}

fn hex_dump(files: &std::collections::BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    for (name, bytes) in files {
        writeln!(out, "== {name} ({} bytes)", bytes.len()).unwrap();
        for (row, chunk) in bytes.chunks(16).enumerate() {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "{:06x}  {}", row * 16, hex.join(" ")).unwrap();
        }
    }
    out
}

#[test]
fn segment_and_index_files_have_a_pinned_format() {
    let disk = SimDisk::new(0);
    let log = fixed_log(&disk);
    assert_eq!(log.log_end_offset(), Offset(12));
    insta::assert_snapshot!(hex_dump(&disk.files()));
}

/// Runs a fixed workload with every fault knob on and returns a digest of everything
/// observable: disk contents, fault log, and every output and result of the log.
fn faulty_run(seed: u64) -> String {
    let faults = SimDiskFaults {
        read_corruption_probability: 0.05,
        write_corruption_probability: 0.02,
        misdirected_write_probability: 0.02,
        sync_failure_probability: 0.05,
        capacity_bytes: Some(50_000),
        ..SimDiskFaults::default()
    };
    let disk = SimDisk::with_faults(seed, faults);
    let config = LogConfig {
        segment_bytes: 2_000,
        flush_policy: FlushPolicy::EveryBatch,
        ..LogConfig::default()
    };
    let mut trace = String::new();
    let mut log = PartitionLog::open(disk.clone(), config.clone(), Now::ZERO).map(|(l, _)| l);
    for step in 0..300u64 {
        let now = at_ms(step);
        match &mut log {
            Ok(l) if step % 50 == 49 => {
                drop(std::mem::replace(
                    &mut log,
                    Err(odradek_core::log::LogError::Fenced {
                        file: String::new(),
                    }),
                ));
                disk.crash();
                log = PartitionLog::open(disk.clone(), config.clone(), now).map(|(l, report)| {
                    writeln!(trace, "reopen {report:?}").unwrap();
                    l
                });
            }
            Ok(l) => {
                writeln!(
                    trace,
                    "append {:?}",
                    l.append(now, batch(1 + (step % 4) as usize, 50, step as i64))
                )
                .unwrap();
                while let Some(LogOutput::Sync(request)) = l.poll_output() {
                    writeln!(
                        trace,
                        "sync {:?} {:?}",
                        request,
                        l.perform_sync(now, &request)
                    )
                    .unwrap();
                }
                let from = Offset(l.log_start_offset().0 + step % 7).min(l.log_end_offset());
                writeln!(trace, "read {:?}", l.read(from, 500).map(|r| r.records)).unwrap();
            }
            Err(error) => {
                writeln!(trace, "open failed {error:?}").unwrap();
                disk.crash();
                log = PartitionLog::open(disk.clone(), config.clone(), now).map(|(l, _)| l);
            }
        }
    }
    writeln!(trace, "faults {:?}", disk.fault_log()).unwrap();
    writeln!(trace, "files {}", hex_dump(&disk.files())).unwrap();
    trace
}

#[test]
fn the_same_seed_gives_byte_identical_disks_and_outputs() {
    let first = faulty_run(42);
    let second = faulty_run(42);
    assert!(first.len() > 10_000, "the run did real work");
    assert!(first == second, "same seed, different trace");
    assert_ne!(
        first,
        faulty_run(43),
        "a different seed explores a different run"
    );
}
