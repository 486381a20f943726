//! What a run reports: a [`Summary`] of what happened (events, simulated time, operations,
//! fault counts), the [`Failure`] that ended it if any, the history it recorded, and the
//! hash of its event trace (same seed ⇒ same hash: the determinism tests compare these).

use crate::options::Options;
use odradek_jepsen::history::History;
use std::collections::BTreeMap;
use std::fmt;

/// Counts of what a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events popped from the world's queue.
    pub events: u64,
    /// Simulated time at the end, in nanoseconds.
    pub simulated_ns: u64,
    /// Client operations invoked (history invocations, excluding the nemesis).
    pub operations: u64,
    /// Operations that completed `ok`.
    pub ok: u64,
    /// Operations that completed `fail`.
    pub failed: u64,
    /// Operations that completed `info` (unknown outcome).
    pub info: u64,
    /// How many times each fault happened, by name (fault kinds, plus counters such as
    /// `retransmitted` or `duplicate-discarded` from the network and disk).
    pub faults: BTreeMap<String, u64>,
    /// Anomalies the checker found but the run's fault mix excuses (loss under faults one
    /// replica cannot survive), by name.
    pub excused_anomalies: BTreeMap<String, u64>,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A machine's or the world's invariant did not hold after an event.
    Invariant {
        /// The event number after which it failed.
        event: u64,
        /// What was violated.
        message: String,
    },
    /// Code panicked while handling an event.
    Panic {
        /// The event number.
        event: u64,
        /// The panic message.
        message: String,
    },
    /// The history checker found anomalies the run does not allow.
    Anomaly {
        /// Anomaly names with their counts.
        names: BTreeMap<String, u64>,
        /// The checker's text report.
        report: String,
    },
    /// The liveness phase did not converge in time.
    Liveness {
        /// What was still missing.
        message: String,
    },
}

impl Failure {
    /// A short kebab-case name: `invariant`, `panic`, `anomaly`, `liveness`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Failure::Invariant { .. } => "invariant",
            Failure::Panic { .. } => "panic",
            Failure::Anomaly { .. } => "anomaly",
            Failure::Liveness { .. } => "liveness",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invariant { event, message } => {
                write!(f, "invariant violated after event {event}: {message}")
            }
            Failure::Panic { event, message } => {
                write!(f, "panic while handling event {event}: {message}")
            }
            Failure::Anomaly { names, .. } => {
                let list: Vec<String> = names.iter().map(|(n, c)| format!("{n} ×{c}")).collect();
                write!(f, "history anomalies: {}", list.join(", "))
            }
            Failure::Liveness { message } => write!(f, "liveness: {message}"),
        }
    }
}

/// Everything one run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The options it ran with.
    pub options: Options,
    /// What happened.
    pub summary: Summary,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// The history (client operations and nemesis operations), Jepsen-style.
    pub history: History,
    /// The readable event trace, one line per event, when `options.trace` was set.
    pub trace: Vec<String>,
    /// FNV-1a hash of every trace line (computed whether or not the trace is kept).
    pub trace_hash: u64,
}

impl RunResult {
    /// Did the run pass?
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}
