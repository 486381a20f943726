//! Throughput benchmarks of the partition log's hot paths, with the machine's own limits
//! measured alongside so the numbers can be judged.
//!
//! - `append/{simdisk,file}`: 16 KiB batches (16 records of 1000-byte values, 16445 bytes),
//!   `FlushPolicy::Never`, the default 1 GiB segments, on `SimDisk` (in memory, no faults) and
//!   on `FileStorage` (real files under `target/bench-data`, no fsync). The goal on `SimDisk`
//!   is "CRC-32C and one copy, no more" (>= 2 GB/s); on files, within 80% of `dd`.
//! - `append/simdisk_fresh`: like `simdisk` but on a new `SimDisk` every 256 MiB, so it also
//!   pays the kernel's first-touch page faults of the simulated disk's growing buffer.
//! - `append/*_storage_only`: the same batches appended straight to the storage, no log: the
//!   floor under the log's append.
//! - `read/*`: the whole log (128 MiB) read sequentially in 1 MiB fetches (page-cache hot on
//!   files).
//! - `baseline/*`: a 16 KiB memcpy into a large buffer and a CRC-32C of 16 KiB, i.e. what an
//!   append cannot avoid.
//!
//! Batches are built outside the timed region (append consumes its `BytesMut`), and the log
//! is emptied, untimed, before it exceeds [`APPEND_LOG_BYTES_MAX`] so memory and disk use stay
//! bounded however many iterations criterion asks for.

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{black_box, BenchmarkGroup, Criterion, Throughput};
use odradek::storage::FileStorage;
use odradek_core::log::{FlushPolicy, LogConfig, PartitionLog};
use odradek_core::record::RecordBatchBuilder;
use odradek_core::storage::Storage;
use odradek_core::time::Now;
use odradek_sim::disk::SimDisk;
use std::path::PathBuf;
use std::time::Duration;

const RECORDS_PER_BATCH: usize = 16;
const VALUE_LEN: usize = 1000;
/// Batches built ahead of one timed run of appends (about 16 MiB).
const POOL_BATCHES: u64 = 1024;
/// The log is replaced (untimed) before it grows past this.
const APPEND_LOG_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Size of the log the read benchmarks scan.
const READ_LOG_BYTES: u64 = 128 * 1024 * 1024;
/// `max_bytes` of each read (a typical fetch size).
const FETCH_MAX_BYTES: usize = 1024 * 1024;

/// One ~16 KiB batch of 16 records with 1000-byte values, as a producer would send it.
fn template_batch() -> BytesMut {
    let value = vec![b'v'; VALUE_LEN];
    (0..RECORDS_PER_BATCH)
        .fold(RecordBatchBuilder::new(0), |builder, _| {
            builder.value(0, &value)
        })
        .build()
}

fn bench_config() -> LogConfig {
    LogConfig {
        flush_policy: FlushPolicy::Never,
        ..LogConfig::default()
    }
}

fn open_log<S: Storage>(storage: S) -> PartitionLog<S> {
    PartitionLog::open(storage, bench_config(), Now::ZERO)
        .expect("open log")
        .0
}

/// A fresh, empty directory for `FileStorage` on the same disk as the workspace (not tmpfs).
fn bench_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

fn remove_bench_dir(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(name);
    let _ = std::fs::remove_dir_all(dir);
}

/// Something 16 KiB batches are appended to in the timed loop.
trait AppendTarget {
    /// Bytes held now.
    fn size(&mut self) -> u64;
    /// Empties the target (untimed).
    fn reset(&mut self);
    /// The timed operation.
    fn push(&mut self, batch: BytesMut);
}

/// How a full log is replaced, untimed, by an empty one.
#[derive(Clone, Copy)]
enum Refill {
    /// Truncate the log to empty: the storage keeps its memory (or page cache) mapped, so
    /// appends measure the log, CRC and copy.
    Truncate,
    /// Start over on new storage: appends also pay the kernel's first-touch page faults of
    /// the storage's growing buffers.
    FreshStorage,
}

/// A partition log, the thing under test.
struct LogTarget<S: Storage, F: FnMut() -> S> {
    log: PartitionLog<S>,
    refill: Refill,
    fresh: F,
}

impl<S: Storage, F: FnMut() -> S> AppendTarget for LogTarget<S, F> {
    fn size(&mut self) -> u64 {
        self.log.size_bytes()
    }

    fn reset(&mut self) {
        match self.refill {
            Refill::Truncate => {
                let start = self.log.log_start_offset();
                self.log.truncate_to(Now::ZERO, start).expect("truncate");
            }
            Refill::FreshStorage => {
                let old = std::mem::replace(&mut self.log, open_log((self.fresh)()));
                drop(old);
            }
        }
    }

    fn push(&mut self, batch: BytesMut) {
        black_box(self.log.append(Now::ZERO, batch).expect("append"));
    }
}

/// The bare storage, without the log: the floor the log's append is compared against.
struct StorageTarget<S: Storage> {
    storage: S,
}

const RAW_FILE: &str = "raw.log";

impl<S: Storage> AppendTarget for StorageTarget<S> {
    fn size(&mut self) -> u64 {
        self.storage.len(RAW_FILE).expect("len")
    }

    fn reset(&mut self) {
        self.storage.truncate(RAW_FILE, 0).expect("truncate");
    }

    fn push(&mut self, batch: BytesMut) {
        black_box(self.storage.append(RAW_FILE, &batch).expect("append"));
    }
}

fn storage_target<S: Storage>(mut storage: S) -> StorageTarget<S> {
    storage.create(RAW_FILE).expect("create");
    StorageTarget { storage }
}

/// Times `iters` pushes of copies of `template`; only the pushes are timed.
/// A benchmark must read the real clock, which the workspace rightly forbids in core code.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
fn timed_appends(target: &mut impl AppendTarget, iters: u64, template: &[u8]) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut remaining = iters;
    while remaining > 0 {
        let count = remaining.min(POOL_BATCHES);
        if target.size() + count * template.len() as u64 > APPEND_LOG_BYTES_MAX {
            target.reset();
        }
        let pool: Vec<BytesMut> = (0..count).map(|_| BytesMut::from(template)).collect();
        let start = std::time::Instant::now();
        for batch in pool {
            target.push(batch);
        }
        elapsed += start.elapsed();
        remaining -= count;
    }
    elapsed
}

fn bench_append(group: &mut BenchmarkGroup<WallTime>, name: &str, target: &mut impl AppendTarget) {
    let template = template_batch();
    group.throughput(Throughput::Bytes(template.len() as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| timed_appends(target, iters, &template))
    });
}

fn log_target<S: Storage, F: FnMut() -> S>(refill: Refill, mut fresh: F) -> LogTarget<S, F> {
    LogTarget {
        log: open_log(fresh()),
        refill,
        fresh,
    }
}

fn append_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    let file = || FileStorage::open(bench_dir("append")).expect("open FileStorage");
    let sim = || SimDisk::new(1);
    bench_append(
        &mut group,
        "simdisk",
        &mut log_target(Refill::Truncate, sim),
    );
    let mut fresh = log_target(Refill::FreshStorage, sim);
    bench_append(&mut group, "simdisk_fresh", &mut fresh);
    drop(fresh);
    bench_append(&mut group, "file", &mut log_target(Refill::Truncate, file));
    bench_append(
        &mut group,
        "simdisk_storage_only",
        &mut storage_target(sim()),
    );
    bench_append(&mut group, "file_storage_only", &mut storage_target(file()));
    group.finish();
    remove_bench_dir("append");
}

/// Appends copies of `template` until the log holds about [`READ_LOG_BYTES`].
fn fill<S: Storage>(log: &mut PartitionLog<S>, template: &[u8]) {
    while log.size_bytes() < READ_LOG_BYTES {
        log.append(Now::ZERO, BytesMut::from(template))
            .expect("append");
    }
}

/// Reads the whole log front to back in [`FETCH_MAX_BYTES`] fetches; returns bytes read.
fn read_all<S: Storage>(log: &mut PartitionLog<S>) -> u64 {
    let mut from = log.log_start_offset();
    let end = log.log_end_offset();
    let mut bytes = 0u64;
    while from < end {
        let read = log.read(from, FETCH_MAX_BYTES).expect("read");
        bytes += read.records.len() as u64;
        from = read.next_offset;
    }
    bytes
}

fn bench_read<S: Storage>(
    group: &mut BenchmarkGroup<WallTime>,
    name: &str,
    log: &mut PartitionLog<S>,
) {
    let size = log.size_bytes();
    assert_eq!(read_all(log), size, "a full scan returns every stored byte");
    group.throughput(Throughput::Bytes(size));
    group.bench_function(name, |b| b.iter(|| black_box(read_all(log))));
}

fn read_benches(c: &mut Criterion) {
    let template = template_batch();
    let mut group = c.benchmark_group("read");
    {
        let mut log = open_log(SimDisk::new(1));
        fill(&mut log, &template);
        bench_read(&mut group, "simdisk", &mut log);
    }
    {
        let mut log = open_log(FileStorage::open(bench_dir("read")).expect("open FileStorage"));
        fill(&mut log, &template);
        bench_read(&mut group, "file", &mut log);
    }
    group.finish();
    remove_bench_dir("read");
}

/// What an append cannot avoid: one copy of the batch and one CRC-32C over it.
fn baseline_benches(c: &mut Criterion) {
    let template = template_batch();
    let chunk = &template[..];
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Bytes(chunk.len() as u64));
    group.bench_function("crc32c_16k", |b| {
        b.iter(|| black_box(crc32c::crc32c(black_box(chunk))))
    });
    // Copies into a buffer much larger than the caches, as appends to a growing log do.
    let capacity = (APPEND_LOG_BYTES_MAX as usize / 4) / chunk.len() * chunk.len();
    let mut sink = vec![0u8; capacity];
    let mut at = 0usize;
    group.bench_function("memcpy_16k", |b| {
        b.iter(|| {
            if at + chunk.len() > sink.len() {
                at = 0;
            }
            sink[at..at + chunk.len()].copy_from_slice(black_box(chunk));
            at += chunk.len();
        })
    });
    group.finish();
    black_box(&sink);
}

fn configured() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn main() {
    let mut criterion = configured().configure_from_args();
    baseline_benches(&mut criterion);
    append_benches(&mut criterion);
    read_benches(&mut criterion);
    criterion.final_summary();
}
