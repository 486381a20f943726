//! One run behind a panic guard.
//!
//! Contract: [`guarded_run`] never unwinds. The world catches panics of the code it drives
//! and reports them as `Failure::Panic`; this is the second line of defence for a panic in
//! the world itself, so that one bad seed fails that seed and never ends a sweep of
//! thousands. A caught panic becomes [`RunFailure::panicked`] with the payload's message.

use odradek_sim::{Options, RunResult, Summary};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why a seed failed, reduced to what the CLI prints and aggregates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFailure {
    /// `invariant`, `panic`, `anomaly`, `liveness` (`Failure::kind_name`), or
    /// `runner-panic` for a panic that escaped the world.
    pub kind: String,
    /// The one-line description.
    pub message: String,
    /// The checker's text report, for anomalies.
    pub detail: Option<String>,
}

impl RunFailure {
    /// A panic that escaped the runner, with its payload.
    pub fn panicked(payload: &(dyn std::any::Any + Send)) -> RunFailure {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_string());
        RunFailure {
            kind: "runner-panic".to_string(),
            message: format!("the run panicked outside the world's guard: {text}"),
            detail: None,
        }
    }
}

/// What a guarded run produced: the whole result, or only the panic that ended it.
#[derive(Debug)]
pub enum Guarded {
    /// The runner returned (the run itself may still have failed).
    Returned(Box<RunResult>),
    /// The runner panicked.
    Panicked(RunFailure),
}

impl Guarded {
    /// The failure, if the run failed or panicked.
    pub fn failure(&self) -> Option<RunFailure> {
        match self {
            Guarded::Returned(result) => result.failure.as_ref().map(|failure| RunFailure {
                kind: failure.kind_name().to_string(),
                message: failure.to_string(),
                detail: match failure {
                    odradek_sim::Failure::Anomaly { report, .. } => Some(report.clone()),
                    _ => None,
                },
            }),
            Guarded::Panicked(failure) => Some(failure.clone()),
        }
    }

    /// The run's summary; empty for a panicked run (it got no further than the panic).
    pub fn summary(&self) -> Summary {
        match self {
            Guarded::Returned(result) => result.summary.clone(),
            Guarded::Panicked(_) => Summary::default(),
        }
    }
}

/// Runs `runner` on `options`, catching any panic.
pub fn guarded_run<R>(runner: &R, options: &Options) -> Guarded
where
    R: Fn(&Options) -> RunResult + ?Sized,
{
    // The runner owns every piece of state it touches (a world per call), so nothing the
    // panic interrupted is observed afterwards: unwind safety holds by construction.
    match catch_unwind(AssertUnwindSafe(|| runner(options))) {
        Ok(result) => Guarded::Returned(Box::new(result)),
        Err(payload) => Guarded::Panicked(RunFailure::panicked(payload.as_ref())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fake;
    use odradek_sim::{options_from_seed, FaultSelection};

    #[test]
    fn a_panicking_runner_becomes_a_failure_with_its_message() {
        let options = options_from_seed(4, &FaultSelection::default());
        let guarded = guarded_run(&fake::panics_on_multiples_of_four, &options);
        let failure = guarded.failure().expect("a panic is a failure");
        assert_eq!(failure.kind, "runner-panic");
        assert!(
            failure.message.contains("fake world exploded"),
            "{failure:?}"
        );
        assert_eq!(guarded.summary(), Summary::default());
    }

    #[test]
    fn a_returned_failure_keeps_its_kind_message_and_report() {
        let options = options_from_seed(3, &FaultSelection::default());
        let failure = guarded_run(&fake::fails_odd_seeds, &options)
            .failure()
            .expect("odd seeds fail");
        assert_eq!(failure.kind, "anomaly");
        assert!(failure.message.contains("lost-write"), "{failure:?}");
        assert_eq!(failure.detail.as_deref(), Some("lost-write: fake report"));
        let options = options_from_seed(2, &FaultSelection::default());
        assert_eq!(
            guarded_run(&fake::fails_odd_seeds, &options).failure(),
            None
        );
    }
}
