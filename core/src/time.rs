//! Time as data. A core never reads a clock: every call that needs time takes a [`Now`],
//! built once per event by the driver (the simulator or the tokio adapter).
//!
//! `Mono` is monotonic and drives timers (fsync intervals, segment age); `wall_ms` is the
//! wall clock in Unix milliseconds and only ever ends up in data (record timestamps,
//! time-based retention), because wall clocks jump and skew.

/// Monotonic nanoseconds since the driver started; the simulator starts at zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mono(pub u64);

impl Mono {
    /// This instant plus `millis` milliseconds (saturating).
    pub fn plus_millis(self, millis: u64) -> Mono {
        Mono(self.0.saturating_add(millis.saturating_mul(1_000_000)))
    }

    /// Whole milliseconds elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn millis_since(self, earlier: Mono) -> u64 {
        self.0.saturating_sub(earlier.0) / 1_000_000
    }
}

/// All a core may know about "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time; never decreases between calls on one machine.
    pub mono: Mono,
    /// Wall-clock Unix time in milliseconds; may jump in either direction.
    pub wall_ms: i64,
}

impl Now {
    /// A `Now` at monotonic zero and wall-clock zero; handy in tests.
    pub const ZERO: Now = Now {
        mono: Mono(0),
        wall_ms: 0,
    };
}
