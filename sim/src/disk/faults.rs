//! Fault knobs of [`SimDisk`](super::SimDisk) and the log of faults it injected.
//!
//! Every knob is off by default: `SimDiskFaults::default()` is a perfect (if forgetful at
//! crash) disk. Probabilities are per operation; values outside `[0, 1]` (or NaN) are clamped
//! when used, so a fuzzed configuration can never make the disk panic.
//!
//! The fault log exists so that checkers can tell *injected* damage from a bug: "the log
//! served a corrupt byte" is only a violation if no corruption was injected into that range.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// Which faults a [`SimDisk`](super::SimDisk) injects, and how often. All off by default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimDiskFaults {
    /// Probability that a non-empty `read_at` returns its bytes with one bit flipped. The
    /// stored bytes stay intact, so the next read of the same range is (probably) clean.
    pub read_corruption_probability: f64,
    /// Probability that a non-empty `append` stores its bytes with one bit flipped. The
    /// damage is stored: every later read sees it, and a sync makes it durable.
    pub write_corruption_probability: f64,
    /// Probability that a non-empty `append` is misdirected: the file grows as asked but the
    /// intended range reads as zeros, and the bytes land at another 512-byte-aligned position
    /// of the same file, overwriting what was there (possibly synced data, which they damage
    /// durably). Only injected when such a distinct aligned position fits inside the file.
    pub misdirected_write_probability: f64,
    /// Probability that a `sync` fails with fsyncgate semantics: the file's unsynced data is
    /// lost at the next crash (reads still return it until then) and every later `sync` of
    /// that file fails too, until the next crash (the restart reopens the file).
    pub sync_failure_probability: f64,
    /// Total bytes the disk holds (the current length of all files). An `append` that would
    /// exceed it writes a seeded prefix of what fits and fails with `NoSpace`. `None`: no limit.
    pub capacity_bytes: Option<u64>,
    /// The latency distributions [`SimDisk::draw_latency_ns`](super::SimDisk::draw_latency_ns)
    /// draws from. Zero by default.
    pub latency: DiskLatency,
}

/// A kind of operation, for drawing its latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DiskOperation {
    /// `read_at`.
    Read,
    /// `append` and `truncate`.
    Write,
    /// `sync`.
    Sync,
    /// `create`, `remove`, `rename`, `list`, `len`.
    Metadata,
}

/// One latency distribution per [`DiskOperation`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiskLatency {
    /// Latency of reads.
    pub read: LatencyDistribution,
    /// Latency of appends and truncates.
    pub write: LatencyDistribution,
    /// Latency of syncs (usually the slowest by far).
    pub sync: LatencyDistribution,
    /// Latency of directory operations.
    pub metadata: LatencyDistribution,
}

impl DiskLatency {
    /// The distribution for `operation`.
    pub fn for_operation(&self, operation: DiskOperation) -> &LatencyDistribution {
        match operation {
            DiskOperation::Read => &self.read,
            DiskOperation::Write => &self.write,
            DiskOperation::Sync => &self.sync,
            DiskOperation::Metadata => &self.metadata,
        }
    }
}

/// A distribution of latencies in nanoseconds. Bounds given in the wrong order are swapped.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LatencyDistribution {
    /// Always zero.
    #[default]
    Zero,
    /// Always `ns`.
    Constant {
        /// The latency.
        ns: u64,
    },
    /// Uniform in `min_ns..=max_ns`.
    Uniform {
        /// Smallest latency.
        min_ns: u64,
        /// Largest latency.
        max_ns: u64,
    },
    /// Uniform in `min_ns..=max_ns`, except that with `tail_probability` the latency is
    /// uniform in `max_ns..=tail_max_ns` instead: a device that usually answers quickly and
    /// sometimes stalls (queueing, garbage collection in the SSD).
    WithTail {
        /// Smallest usual latency.
        min_ns: u64,
        /// Largest usual latency.
        max_ns: u64,
        /// Probability of a stall.
        tail_probability: f64,
        /// Largest stall.
        tail_max_ns: u64,
    },
}

impl LatencyDistribution {
    /// Draws one latency in nanoseconds from `rng`. A tail probability outside `[0, 1]` is
    /// clamped; nothing is drawn for `Zero` and `Constant`, so a perfect device or network
    /// consumes no random numbers. Shared by the disk and the network.
    pub fn draw_ns(&self, rng: &mut ChaCha8Rng) -> u64 {
        match *self {
            LatencyDistribution::Zero => 0,
            LatencyDistribution::Constant { ns } => ns,
            LatencyDistribution::Uniform { min_ns, max_ns } => uniform_ns(rng, min_ns, max_ns),
            LatencyDistribution::WithTail {
                min_ns,
                max_ns,
                tail_probability,
                tail_max_ns,
            } => {
                let probability = clamp_probability(tail_probability);
                if probability > 0.0 && rng.random_bool(probability) {
                    uniform_ns(rng, max_ns, tail_max_ns)
                } else {
                    uniform_ns(rng, min_ns, max_ns)
                }
            }
        }
    }
}

/// Uniform in `a..=b` or `b..=a`.
pub fn uniform_ns(rng: &mut ChaCha8Rng, a: u64, b: u64) -> u64 {
    rng.random_range(a.min(b)..=a.max(b))
}

/// One fault the disk injected, on the file that had `file_id` and `file` as its name then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// The file's name when the fault was injected.
    pub file: String,
    /// The file's identity (like an inode number): stays the same across renames, never
    /// reused after a remove. Lets [`SimDisk::is_corruption_injected`](super::SimDisk::is_corruption_injected)
    /// follow a file that was renamed after the fault.
    pub file_id: u64,
    /// What happened.
    pub kind: FaultKind,
}

/// What a fault did. Positions are byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// A read returned the byte at `position` with bit `bit` flipped (the stored byte is fine).
    ReadCorruption {
        /// The damaged byte.
        position: u64,
        /// The flipped bit, 0 to 7.
        bit: u8,
    },
    /// An append stored the byte at `position` with bit `bit` flipped.
    WriteCorruption {
        /// The damaged byte.
        position: u64,
        /// The flipped bit, 0 to 7.
        bit: u8,
    },
    /// An append meant for `intended..intended + len` was stored at `landed..landed + len`;
    /// the intended range holds zeros.
    MisdirectedWrite {
        /// Where the bytes should have gone (the end of the file).
        intended: u64,
        /// Where they went (512-byte aligned).
        landed: u64,
        /// How many bytes.
        len: u64,
    },
    /// An append at `position` of `requested` bytes hit the capacity; `written` bytes of it
    /// were stored before `NoSpace` was returned.
    NoSpace {
        /// Where the append started.
        position: u64,
        /// How many bytes it wanted to write.
        requested: u64,
        /// How many bytes it wrote.
        written: u64,
    },
    /// A sync failed; the file's pending bytes from `durable_len` to `len` will be lost at
    /// the next crash, and later syncs of the file fail until then.
    SyncFailure {
        /// The length of the file's stable (synced and not truncated since) prefix.
        durable_len: u64,
        /// The file's length when the sync failed.
        len: u64,
    },
    /// A crash dropped some or all of a file's pending changes: its length went from
    /// `len_before` (what reads returned) to `len_after`.
    CrashDroppedPending {
        /// Length before the crash.
        len_before: u64,
        /// Length after the crash.
        len_after: u64,
        /// Whether the survivor is a torn write: a strict prefix of the pending appends cut
        /// at a 512-byte boundary, as opposed to none or all of them.
        torn: bool,
    },
}

impl FaultKind {
    /// A kebab-case name for counters and reports; a crash that tore a write is
    /// `torn-write`, one that dropped pending data whole is `lost-unsynced-write`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::ReadCorruption { .. } => "read-corruption",
            FaultKind::WriteCorruption { .. } => "write-corruption",
            FaultKind::MisdirectedWrite { .. } => "misdirected-write",
            FaultKind::NoSpace { .. } => "no-space",
            FaultKind::SyncFailure { .. } => "sync-failure",
            FaultKind::CrashDroppedPending { torn: true, .. } => "torn-write",
            FaultKind::CrashDroppedPending { torn: false, .. } => "lost-unsynced-write",
        }
    }
}

impl InjectedFault {
    /// The byte ranges of the file whose stored or returned content may differ from what was
    /// written because of this fault. Empty for faults that lose data rather than alter it
    /// (no space, sync failure, crash).
    pub fn corrupted_ranges(&self) -> Vec<Range<u64>> {
        match self.kind {
            FaultKind::ReadCorruption { position, .. }
            | FaultKind::WriteCorruption { position, .. } => {
                std::iter::once(position..position + 1).collect()
            }
            FaultKind::MisdirectedWrite {
                intended,
                landed,
                len,
            } => vec![intended..intended + len, landed..landed + len],
            FaultKind::NoSpace { .. }
            | FaultKind::SyncFailure { .. }
            | FaultKind::CrashDroppedPending { .. } => Vec::new(),
        }
    }
}

/// Clamps a probability knob into `[0, 1]`; NaN counts as 0 (the fault is off).
pub(super) fn clamp_probability(probability: f64) -> f64 {
    if probability.is_nan() {
        0.0
    } else {
        probability.clamp(0.0, 1.0)
    }
}
