//! Model test: random sequences of append / read / sync / retention / truncate / time /
//! crash-and-reopen run against the partition log on a `SimDisk` and against
//! `odradek_model::log::ModelLog`, compared after every step.
//!
//! Two fault regimes, because they promise different things:
//! - **crash faults** (torn and lost unsynced writes, ENOSPC, fsync failure): strict. After a
//!   crash every batch below the durable offset the log claimed is present and identical,
//!   nothing never written appears, offsets are dense, no corruption is ever reported.
//! - **corruption faults** (read and write bit flips, misdirected writes): a damaged disk may
//!   lose data, but the log must never serve a byte that was not written where it says:
//!   every read returns exactly the model's batches or a typed `Corruption` error.

mod common;

use common::*;
use odradek_core::bugs::PlantedBugs;
use odradek_core::log::{FlushPolicy, LogConfig, LogError, LogOutput, PartitionLog};
use odradek_core::record::{split_batches, validate_batch, Offset};
use odradek_core::time::{Mono, Now};
use odradek_model::log::ModelLog;
use odradek_sim::disk::{SimDisk, SimDiskFaults};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Append {
        records: usize,
        value_len: usize,
    },
    Read {
        from_per_mille: u64,
        max_bytes: usize,
    },
    Sync,
    Retention,
    OffsetForTimestamp {
        back_ms: u64,
    },
    Truncate {
        at_per_mille: u64,
    },
    AdvanceTime {
        ms: u64,
    },
    CrashAndReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..6, 0usize..700).prop_map(|(records, value_len)| Op::Append { records, value_len }),
        4 => (0u64..=1000, 1usize..5000).prop_map(|(from_per_mille, max_bytes)| Op::Read { from_per_mille, max_bytes }),
        2 => Just(Op::Sync),
        1 => Just(Op::Retention),
        1 => (0u64..=1000).prop_map(|at_per_mille| Op::Truncate { at_per_mille }),
        1 => (1u64..2000).prop_map(|ms| Op::AdvanceTime { ms }),
        1 => Just(Op::CrashAndReopen),
        1 => (0u64..3000).prop_map(|back_ms| Op::OffsetForTimestamp { back_ms }),
    ]
}

fn config() -> impl Strategy<Value = LogConfig> {
    let flush = prop_oneof![
        Just(FlushPolicy::EveryBatch),
        (1u64..500).prop_map(FlushPolicy::IntervalMs),
        Just(FlushPolicy::Never),
    ];
    (
        800u64..6000,
        flush,
        prop::option::of(2000u64..20000),
        prop::option::of(1000u64..5000),
    )
        .prop_map(
            |(segment_bytes, flush_policy, retention_bytes, retention_ms)| LogConfig {
                segment_bytes,
                segment_ms: 3_000,
                index_interval_bytes: 512,
                retention_bytes,
                retention_ms,
                flush_policy,
                planted_bugs: PlantedBugs::NONE,
            },
        )
}

fn crash_faults() -> impl Strategy<Value = SimDiskFaults> {
    (0.0f64..0.2, prop::option::of(4_000u64..40_000)).prop_map(
        |(sync_failure_probability, capacity_bytes)| SimDiskFaults {
            sync_failure_probability,
            capacity_bytes,
            ..SimDiskFaults::default()
        },
    )
}

fn corruption_faults() -> impl Strategy<Value = SimDiskFaults> {
    (0.0f64..0.1, 0.0f64..0.05, 0.0f64..0.05).prop_map(|(read, write, misdirected)| SimDiskFaults {
        read_corruption_probability: read,
        write_corruption_probability: write,
        misdirected_write_probability: misdirected,
        ..SimDiskFaults::default()
    })
}

/// The log, its model, the disk, and the clock, stepped together.
struct Harness {
    disk: SimDisk,
    config: LogConfig,
    log: PartitionLog<SimDisk>,
    model: ModelLog,
    now: Now,
    strict: bool,
    /// A truncation failed part-way: after the next reopen the log may still hold batches
    /// past this offset, which the harness truncates away as replication would.
    uncertain_truncation: bool,
    /// Every batch ever appended, by base offset (all versions): under corruption faults a
    /// served batch must be one of these, byte for byte.
    written: std::collections::BTreeMap<u64, Vec<Vec<u8>>>,
}

impl Harness {
    fn new(seed: u64, config: LogConfig, faults: SimDiskFaults, strict: bool) -> Harness {
        let disk = SimDisk::with_faults(seed, faults);
        let (log, _) = PartitionLog::open(disk.clone(), config.clone(), Now::ZERO)
            .expect("open an empty disk");
        Harness {
            disk,
            config,
            log,
            model: ModelLog::new(),
            now: Now::ZERO,
            strict,
            uncertain_truncation: false,
            written: Default::default(),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Append { records, value_len } => self.append(records, value_len)?,
            Op::Read {
                from_per_mille,
                max_bytes,
            } => self.read(from_per_mille, max_bytes)?,
            Op::Sync => self.sync(),
            Op::Retention => self.retention()?,
            Op::Truncate { at_per_mille } => self.truncate(at_per_mille)?,
            Op::AdvanceTime { ms } => self.advance(ms)?,
            Op::CrashAndReopen => self.crash_and_reopen()?,
            Op::OffsetForTimestamp { back_ms } => self.offset_for_timestamp(back_ms)?,
        }
        self.model.mark_durable(self.log.durable_offset().0);
        prop_assert_eq!(self.log.log_start_offset().0, self.model.log_start_offset());
        prop_assert_eq!(self.log.log_end_offset().0, self.model.log_end_offset());
        Ok(())
    }

    fn append(&mut self, records: usize, value_len: usize) -> Result<(), TestCaseError> {
        let bytes = batch(records, value_len, self.now.wall_ms);
        match self.log.append(self.now, bytes.clone()) {
            Ok(info) => {
                let mut stored = bytes.to_vec();
                stored[0..8].copy_from_slice(&info.base_offset.0.to_be_bytes());
                self.written
                    .entry(info.base_offset.0)
                    .or_default()
                    .push(stored.clone());
                let base = self.model.append(records as u64, stored);
                prop_assert_eq!(base, info.base_offset.0);
            }
            Err(LogError::Storage(_) | LogError::Fenced { .. }) => {}
            Err(other) => prop_assert!(!self.strict, "unexpected append error {other:?}"),
        }
        Ok(())
    }

    fn read(&mut self, from_per_mille: u64, max_bytes: usize) -> Result<(), TestCaseError> {
        let (start, end) = (self.model.log_start_offset(), self.model.log_end_offset());
        let from = start + (end - start) * from_per_mille / 1000;
        match self.log.read(Offset(from), max_bytes) {
            Ok(read) => {
                let served = split_batches(read.records)
                    .map_err(|e| TestCaseError::fail(format!("served an invalid batch: {e}")))?;
                prop_assert_eq!(served.is_empty(), from == end);
                if self.strict {
                    let expected = self.model.read_candidates(from).expect("in range");
                    prop_assert!(served.len() <= expected.len());
                    for (got, want) in served.iter().zip(expected) {
                        prop_assert_eq!(
                            &got[..],
                            &want.bytes[..],
                            "served bytes differ from what was written"
                        );
                    }
                } else {
                    self.check_served_was_written(&served)?;
                }
                let total: usize = served.iter().map(|b| b.len()).sum();
                prop_assert!(served.len() <= 1 || total <= max_bytes);
                if let Some(last) = served.last() {
                    prop_assert_eq!(
                        read.next_offset.0,
                        validate_batch(last).unwrap().next_offset()
                    );
                }
            }
            Err(LogError::Corruption { .. } | LogError::Storage(_)) if !self.strict => {}
            Err(other) => prop_assert!(false, "read {from} of [{start}, {end}] failed: {other:?}"),
        }
        Ok(())
    }

    /// Each served batch is one that was appended at that offset, and they are contiguous.
    fn check_served_was_written(&self, served: &[bytes::Bytes]) -> Result<(), TestCaseError> {
        let mut expected_base = None;
        for batch in served {
            let header = validate_batch(batch).expect("split_batches validated it");
            let versions = self.written.get(&header.base_offset);
            prop_assert!(
                versions.is_some_and(|v| v.iter().any(|w| same_except_leader_epoch(w, batch))),
                "served a batch at offset {} that was never written there (differs at bytes {:?})",
                header.base_offset,
                versions.map(|v| differing_positions(&v[0], batch))
            );
            prop_assert!(expected_base.is_none_or(|b| b == header.base_offset));
            expected_base = Some(header.next_offset());
        }
        Ok(())
    }

    fn offset_for_timestamp(&mut self, back_ms: u64) -> Result<(), TestCaseError> {
        let target = self.now.wall_ms - back_ms as i64;
        let expected = self.model.batches().iter().find_map(|batch| {
            let header = validate_batch(&batch.bytes).ok()?;
            let mut records = odradek_core::record::RecordIter::new(&batch.bytes)?;
            while let Some(Ok(record)) = records.next_record() {
                let timestamp = header.base_timestamp + record.timestamp_delta;
                if timestamp >= target {
                    return Some((header.base_offset + record.offset_delta as u64, timestamp));
                }
            }
            None
        });
        match self.log.offset_for_timestamp(target) {
            Ok(found) if self.strict => {
                prop_assert_eq!(found.map(|f| (f.offset.0, f.timestamp)), expected)
            }
            // A damaged disk may have lost batches the model still holds; only no-panic and
            // typed errors are checked then.
            Ok(_) => {}
            Err(LogError::Corruption { .. } | LogError::Storage(_)) if !self.strict => {}
            Err(other) => prop_assert!(false, "offset_for_timestamp({target}) failed: {other:?}"),
        }
        Ok(())
    }

    fn sync(&mut self) {
        self.log.request_sync();
        self.drain_syncs();
    }

    fn drain_syncs(&mut self) {
        while let Some(LogOutput::Sync(request)) = self.log.poll_output() {
            let _ = self.log.perform_sync(self.now, &request);
        }
    }

    fn retention(&mut self) -> Result<(), TestCaseError> {
        if self.log.enforce_retention(self.now).is_ok() {
            prop_assert!(
                self.model.delete_before(self.log.log_start_offset().0),
                "retention cut inside a batch"
            );
        }
        Ok(())
    }

    fn truncate(&mut self, at_per_mille: u64) -> Result<(), TestCaseError> {
        let (start, end) = (self.model.log_start_offset(), self.model.log_end_offset());
        let at = start + (end - start) * at_per_mille / 1000;
        match self.log.truncate_to(self.now, Offset(at)) {
            Ok(new_end) => prop_assert_eq!(Ok(new_end.0), self.model.truncate_to(at)),
            Err(LogError::Storage(_) | LogError::Fenced { .. }) => {
                self.model.truncate_to(at).expect("in range");
                self.uncertain_truncation = true;
                self.crash_and_reopen()?;
            }
            Err(other) => prop_assert!(!self.strict, "unexpected truncate error {other:?}"),
        }
        Ok(())
    }

    fn advance(&mut self, ms: u64) -> Result<(), TestCaseError> {
        self.now = Now {
            mono: Mono(self.now.mono.0 + ms * 1_000_000),
            wall_ms: self.now.wall_ms + ms as i64,
        };
        let due = self.log.poll_timeout().is_some_and(|t| t <= self.now.mono);
        if due && self.log.handle_timeout(self.now).is_ok() {
            prop_assert!(self.model.delete_before(self.log.log_start_offset().0));
        }
        self.drain_syncs();
        Ok(())
    }

    fn crash_and_reopen(&mut self) -> Result<(), TestCaseError> {
        // A restart can itself hit an injected fsync failure; like an operator's supervisor,
        // the harness crashes and restarts again until recovery completes.
        for _attempt in 0..50 {
            self.disk.crash();
            match self.reopen_once() {
                Ok(true) => return self.check_recovered(),
                Ok(false) => continue,
                Err(error) => return Err(error),
            }
        }
        Err(TestCaseError::fail(
            "recovery never completed in 50 restarts",
        ))
    }

    /// One restart; `Ok(false)` if an injected storage failure interrupted recovery.
    fn reopen_once(&mut self) -> Result<bool, TestCaseError> {
        let (log, _report) =
            match PartitionLog::open(self.disk.clone(), self.config.clone(), self.now) {
                Ok(opened) => opened,
                Err(LogError::Storage(_)) => return Ok(false),
                Err(error) => {
                    prop_assert!(!self.strict, "reopen failed: {error:?}");
                    return Err(TestCaseError::reject(
                        "the damaged disk could not be reopened",
                    ));
                }
            };
        self.log = log;
        if self.uncertain_truncation && self.log.log_end_offset().0 > self.model.log_end_offset() {
            let target = Offset(
                self.model
                    .log_end_offset()
                    .max(self.log.log_start_offset().0),
            );
            if self.log.truncate_to(self.now, target).is_err() {
                return Ok(false);
            }
        }
        self.uncertain_truncation = false;
        Ok(true)
    }

    fn check_recovered(&mut self) -> Result<(), TestCaseError> {
        let end = self.log.log_end_offset().0;
        if self.strict {
            prop_assert!(self.log.log_start_offset().0 >= self.model.log_start_offset());
            prop_assert!(
                self.model.recover_to(end),
                "recovered end {end} loses durable data or splits a batch (durable {})",
                self.model.durable_offset()
            );
            if self.log.log_start_offset().0 > self.model.log_start_offset() {
                prop_assert!(self.model.delete_before(self.log.log_start_offset().0));
            }
        } else if !self.model.recover_to(end) {
            // A corrupted disk may have lost data; continue from what recovery kept.
            self.model = rebuild_model(&mut self.log);
        }
        self.drain_syncs();
        Ok(())
    }
}

/// After unrecoverable damage the model restarts from the offsets recovery kept. In this
/// regime reads are checked against every batch ever written, not against the model, so
/// the model only needs the log's start and end.
fn rebuild_model(log: &mut PartitionLog<SimDisk>) -> ModelLog {
    let mut model = ModelLog::new();
    let (start, end) = (log.log_start_offset().0, log.log_end_offset().0);
    if start > 0 {
        model.append(start, Vec::new());
        model.delete_before(start);
    }
    if end > start {
        model.append(end - start, Vec::new());
    }
    model
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_model_under_crash_faults(
        seed in any::<u64>(),
        config in config(),
        faults in crash_faults(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut harness = Harness::new(seed, config, faults, true);
        for op in &ops {
            harness.step(op)?;
        }
        harness.crash_and_reopen()?;
    }

    #[test]
    fn log_never_serves_corrupt_data_under_corruption_faults(
        seed in any::<u64>(),
        config in config(),
        faults in corruption_faults(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut harness = Harness::new(seed, config, faults, false);
        for op in &ops {
            match op {
                Op::Read { .. }
                | Op::Append { .. }
                | Op::Sync
                | Op::AdvanceTime { .. }
                | Op::OffsetForTimestamp { .. } => harness.step(op)?,
                Op::CrashAndReopen => harness.crash_and_reopen()?,
                Op::Retention | Op::Truncate { .. } => {}
            }
        }
    }
}

fn differing_positions(a: &[u8], b: &[u8]) -> Vec<usize> {
    (0..a.len().max(b.len()))
        .filter(|&i| a.get(i) != b.get(i))
        .collect()
}

/// Known gap, shared with Kafka's format: `partitionLeaderEpoch` (bytes 12..16) is not
/// covered by the batch CRC, so a bit flip there is undetectable by the log alone. The
/// leader-epoch cache that replication adds (KIP-101) is what will cross-check it; until
/// then this test compares everything else byte for byte.
fn same_except_leader_epoch(written: &[u8], served: &[u8]) -> bool {
    written.len() == served.len() && written[..12] == served[..12] && written[16..] == served[16..]
}
