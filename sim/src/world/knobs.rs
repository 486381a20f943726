//! The fault knobs of the network and the disks for a run, scaled by its intensity.
//!
//! Rates are chosen so that at intensity 1.0 every enabled fault happens many times in a
//! ten-second safety phase, and at 0.1 a few times; a fault kind that is off is exactly off
//! (probability zero), so `--faults-only` runs are clean apart from what they pin.

use crate::disk::{DiskLatency, LatencyDistribution, SimDiskFaults};
use crate::net::NetConfig;
use crate::options::{FaultKind, Options};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const US: u64 = 1_000;
const MS: u64 = 1_000_000;

/// The probability of a fault `kind` that happens with `at_full` at intensity 1.0: scaled
/// by the run's intensity, and exactly zero when the kind is off.
fn rate(options: &Options, kind: FaultKind, at_full: f64) -> f64 {
    if options.has(kind) {
        at_full * options.intensity.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The network configuration of the safety phase.
pub fn net_config(options: &Options) -> NetConfig {
    let intensity = options.intensity.clamp(0.0, 1.0);
    let rate = |kind, at_full| rate(options, kind, at_full);
    let latency = if options.has(FaultKind::NetworkDelay) {
        LatencyDistribution::WithTail {
            min_ns: 20 * US,
            max_ns: 500 * US,
            tail_probability: 0.02 * intensity,
            tail_max_ns: 100 * MS,
        }
    } else {
        LatencyDistribution::Constant { ns: 50 * US }
    };
    NetConfig {
        latency,
        drop_probability: rate(FaultKind::NetworkDrop, 0.02),
        duplicate_probability: rate(FaultKind::NetworkDuplicate, 0.02),
        reorder_probability: rate(FaultKind::NetworkReorder, 0.05),
        ..NetConfig::default()
    }
}

/// The disk faults of the safety phase for a disk that holds `used_bytes` now.
pub fn disk_faults(options: &Options, used_bytes: u64, rng: &mut ChaCha8Rng) -> SimDiskFaults {
    let intensity = options.intensity.clamp(0.0, 1.0);
    let rate = |kind, at_full| rate(options, kind, at_full);
    let latency = if options.has(FaultKind::DiskLatency) {
        DiskLatency {
            // fdatasync on SSDs takes from half a millisecond to several; the tail is a
            // device stall.
            sync: LatencyDistribution::WithTail {
                min_ns: 500 * US,
                max_ns: 8 * MS,
                tail_probability: 0.01 * intensity,
                tail_max_ns: 50 * MS,
            },
            ..DiskLatency::default()
        }
    } else {
        DiskLatency::default()
    };
    let capacity_bytes = options
        .has(FaultKind::DiskFull)
        .then(|| used_bytes + rng.random_range(16 * 1024..=512 * 1024));
    SimDiskFaults {
        read_corruption_probability: rate(FaultKind::ReadCorruption, 0.002),
        write_corruption_probability: rate(FaultKind::WriteCorruption, 0.002),
        misdirected_write_probability: rate(FaultKind::MisdirectedWrites, 0.001),
        sync_failure_probability: rate(FaultKind::FsyncError, 0.002),
        capacity_bytes,
        latency,
    }
}

/// The wall-clock skew of a node at start, in milliseconds.
pub fn clock_skew_ms(options: &Options, rng: &mut ChaCha8Rng) -> i64 {
    if options.has(FaultKind::ClockSkew) {
        rng.random_range(-10_000..=10_000)
    } else {
        0
    }
}
