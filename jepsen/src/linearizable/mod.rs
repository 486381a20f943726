//! Linearizability checking: is there a total order of the history's operations, consistent
//! with real time, in which a sequential model accepts every operation?
//!
//! Semantics (those of Knossos):
//! - an `ok` operation took effect at one instant between its invocation and completion;
//! - a `fail` operation never happened: it is dropped;
//! - an `info` or pending (never completed) operation may have taken effect at any instant
//!   after its invocation, or never: its completion is at +infinity and it need not be
//!   linearized.
//!
//! The search is Wing–Gong's with Lowe's memoization (see `search`), run separately on each
//! partition of the state (P-compositionality: keys of a key-value store, or
//! `jepsen.independent` `[key value]` tuples), in parallel, stopping partitions that can no
//! longer change the answer once one is found nonlinearizable. Budgets (steps per partition,
//! wall time) make the answer [`Validity::Unknown`](crate::verdict::Validity::Unknown) when they run out — never a guess.
//!
//! Entry points: [`check`] with a built-in [`ModelKind`], or [`check_with_model`] with any
//! [`Model`]. A violation's witness is the longest linearizable prefix the search found, the
//! operation that could not be placed after it, and the model state(s) there; the report
//! converts into the common [`Verdict`] with one `nonlinearizable` anomaly.

mod model;
mod models;
mod parallel;
mod prepare;
mod report;
mod search;

pub use model::{Completion, Model, ParsedOp, PartitionKey, RawOp};
pub use models::{CasRegister, Kv, KvOp, Register, RegisterOp};
pub use report::{
    LinearizableReport, OpRef, PartitionOutcome, PartitionReport, UnknownReason, Violation,
};

use crate::history::{History, PairingError};
use crate::verdict::Verdict;
use std::time::{Duration, Instant};

/// The built-in models; see `models` for the operations each accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Knossos `register`: read and write, starting at `nil`.
    Register,
    /// Knossos `cas-register`: read, write and compare-and-set, starting at `nil`.
    CasRegister,
    /// A key-value store partitioned by key: read/get, write/put, append, cas.
    Kv,
}

impl ModelKind {
    /// Every built-in model.
    pub const ALL: [ModelKind; 3] = [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv];

    /// `register`, `cas-register` or `kv`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
        }
    }

    /// Parses a model name (as [`ModelKind::name`] gives).
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Whether operation values are `jepsen.independent` `[key value]` tuples to unwrap and
/// partition by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IndependentKeys {
    /// Yes if every client invocation's value is a `[key value]` tuple and the model does
    /// not partition by itself (so never for `kv`, whose values are already `[key value]`).
    #[default]
    Auto,
    /// Always unwrap; a value that is not a tuple is malformed.
    Always,
    /// Never unwrap.
    Never,
}

/// Budgets and knobs for [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearizableOptions {
    /// Search steps allowed per partition (deterministic). `None`: unlimited. Memory grows
    /// with steps (one cache entry per step at most), so keep a limit on untrusted input.
    pub max_steps: Option<u64>,
    /// Wall time allowed for the whole check. `None`: unlimited.
    pub max_duration: Option<Duration>,
    /// Worker threads; `None`: the machine's available parallelism.
    pub threads: Option<usize>,
    /// How to treat `[key value]` tuples.
    pub independent_keys: IndependentKeys,
}

impl LinearizableOptions {
    /// The default step budget per partition: a few seconds of search and well under a
    /// gigabyte of cache for the built-in models.
    pub const DEFAULT_MAX_STEPS: u64 = 5_000_000;
}

impl Default for LinearizableOptions {
    fn default() -> Self {
        LinearizableOptions {
            max_steps: Some(Self::DEFAULT_MAX_STEPS),
            max_duration: None,
            threads: None,
            independent_keys: IndependentKeys::Auto,
        }
    }
}

/// A history the checker cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinearizableError {
    /// Invocations and completions do not pair up.
    #[error("cannot pair the history: {0}")]
    Pairing(#[from] PairingError),
    /// An operation's `f` or value is not what the model accepts.
    #[error("op {index} (f `{f}`, value {value}): expected {expected}")]
    MalformedOp {
        /// The invocation's `index`.
        index: u64,
        /// Its function.
        f: String,
        /// Its invocation value, rendered.
        value: String,
        /// What the model accepts.
        expected: String,
    },
}

/// Checks `history` against a built-in model.
pub fn check(
    history: &History,
    model: ModelKind,
    options: &LinearizableOptions,
) -> Result<LinearizableReport, LinearizableError> {
    match model {
        ModelKind::Register => check_with_model(history, &Register::default(), options),
        ModelKind::CasRegister => check_with_model(history, &CasRegister::default(), options),
        ModelKind::Kv => check_with_model(history, &Kv::default(), options),
    }
}

/// Checks `history` against any model; every partition starts from a clone of `initial`.
pub fn check_with_model<M: Model>(
    history: &History,
    initial: &M,
    options: &LinearizableOptions,
) -> Result<LinearizableReport, LinearizableError> {
    let started = Instant::now();
    let prepared = prepare::prepare(history, initial, options.independent_keys)?;
    let threads = options.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let budget = parallel::Budget {
        max_steps: options.max_steps,
        deadline: options.max_duration.map(|limit| started + limit),
        threads,
    };
    let outcomes = parallel::search_partitions(initial, &prepared.partitions, budget);
    Ok(report::build(history, initial, &prepared, outcomes))
}

impl LinearizableReport {
    /// The common verdict shape (checker `linearizable`).
    pub fn verdict(&self) -> Verdict {
        report::verdict(self)
    }
}
