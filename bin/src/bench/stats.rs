//! The pure parts of the load generator: rate pacing, latency percentiles, throughput
//! arithmetic and the parsing of a process's CPU time from `/proc/PID/stat`.
//!
//! Contract: nothing here touches a socket or a clock; callers pass elapsed times in, so every
//! function is unit tested with exact numbers.
//!
//! Why separate: the numbers a benchmark prints are only as good as this arithmetic, and it is
//! the part that can be checked without a broker.

use std::time::Duration;

use hdrhistogram::Histogram;

/// When each send of a fixed-rate workload is due: send `n` is due `n × interval` after the
/// start, so a late send never shifts the ones after it (no drift).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pacer {
    interval: Duration,
}

impl Pacer {
    /// A pacer for `requests_per_second` (must be > 0 and finite, else `None`).
    pub fn new(requests_per_second: f64) -> Option<Pacer> {
        if !(requests_per_second.is_finite() && requests_per_second > 0.0) {
            return None;
        }
        let interval = Duration::try_from_secs_f64(1.0 / requests_per_second).ok()?;
        Some(Pacer { interval })
    }

    /// The time between two sends.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When send `n` (from 0) is due, measured from the start.
    pub fn due(&self, n: u64) -> Duration {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(n));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How long to wait before send `n` when `elapsed` has passed since the start (zero when
    /// it is already due or late).
    pub fn wait_before(&self, n: u64, elapsed: Duration) -> Duration {
        self.due(n).saturating_sub(elapsed)
    }

    /// Whether send `n`, started at `elapsed`, started more than one interval after it was due
    /// (the sender could not keep up; its latencies then understate what a client would see).
    pub fn is_behind(&self, n: u64, elapsed: Duration) -> bool {
        elapsed > self.due(n).saturating_add(self.interval)
    }
}

/// A latency histogram in microseconds, 1 µs to 60 s at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid")
}

/// Records one latency (rounded up to a whole microsecond; saturates at the top bound).
pub fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    histogram.saturating_record(micros);
}

/// The percentiles a latency run reports, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl LatencySummary {
    /// Summarises a histogram (all zeros when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> LatencySummary {
        if histogram.is_empty() {
            return LatencySummary {
                count: 0,
                p50_us: 0,
                p99_us: 0,
                p999_us: 0,
                max_us: 0,
            };
        }
        LatencySummary {
            count: histogram.len(),
            p50_us: histogram.value_at_quantile(0.50),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
            max_us: histogram.max(),
        }
    }
}

/// Records and bytes moved in some time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Records moved.
    pub records: u64,
    /// Payload bytes moved (record values only, so both brokers are charged the same).
    pub payload_bytes: u64,
    /// Wall time it took.
    pub elapsed: Duration,
}

impl Throughput {
    /// Records per second (0 for a zero duration).
    pub fn records_per_sec(&self) -> f64 {
        per_second(self.records as f64, self.elapsed)
    }

    /// Payload megabytes (10^6 bytes) per second.
    pub fn megabytes_per_sec(&self) -> f64 {
        per_second(self.payload_bytes as f64 / 1e6, self.elapsed)
    }
}

fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        amount / secs
    } else {
        0.0
    }
}

/// CPU seconds per million records (0 when no record moved).
pub fn cpu_seconds_per_million(cpu_seconds: f64, records: u64) -> f64 {
    if records == 0 {
        0.0
    } else {
        cpu_seconds * 1e6 / records as f64
    }
}

/// User + system CPU time, in clock ticks, from the text of `/proc/PID/stat`. The command
/// name (field 2) may contain spaces and parentheses, so fields are counted after its last
/// `)`: utime and stime are fields 14 and 15.
pub fn cpu_ticks_from_stat(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// Seconds in `ticks` clock ticks at `ticks_per_second` (USER_HZ).
pub fn ticks_to_seconds(ticks: u64, ticks_per_second: u64) -> f64 {
    if ticks_per_second == 0 {
        0.0
    } else {
        ticks as f64 / ticks_per_second as f64
    }
}
