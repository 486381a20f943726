//! Fake runners for the CLI's unit tests: deterministic stand-ins for `odradek_sim::run`
//! whose pass/fail rule is a plain function of the options, so sweeping, aggregation,
//! shrinking and exit codes can be tested without a simulator world.

use odradek_sim::{Failure, FaultKind, Options, RunResult, Summary};
use std::collections::BTreeMap;

/// A result for these options: 1000 + seed events over one simulated second, one
/// occurrence of each fault kind that is on, and the given failure.
pub fn result(options: &Options, failure: Option<Failure>) -> RunResult {
    let faults: BTreeMap<String, u64> = options
        .faults
        .iter()
        .map(|kind| (kind.name().to_string(), 1))
        .collect();
    RunResult {
        options: options.clone(),
        summary: Summary {
            events: 1000u64.saturating_add(options.seed),
            simulated_ns: 1_000_000_000,
            operations: options.operations_max,
            ok: options.operations_max,
            failed: 0,
            info: 0,
            faults,
            excused_anomalies: BTreeMap::new(),
        },
        failure,
        history: Default::default(),
        trace: if options.trace {
            vec![format!("trace line of seed {}", options.seed)]
        } else {
            Vec::new()
        },
        trace_hash: options.seed,
    }
}

fn lost_write() -> Failure {
    Failure::Anomaly {
        names: [("lost-write".to_string(), 1)].into(),
        report: "lost-write: fake report".to_string(),
    }
}

/// Every seed passes.
pub fn passes(options: &Options) -> RunResult {
    result(options, None)
}

/// Odd seeds fail with a lost write; even seeds pass.
pub fn fails_odd_seeds(options: &Options) -> RunResult {
    let failure = (options.seed % 2 == 1).then(lost_write);
    result(options, failure)
}

/// Seeds divisible by four panic; every other seed passes.
pub fn panics_on_multiples_of_four(options: &Options) -> RunResult {
    if options.seed.is_multiple_of(4) {
        panic!("fake world exploded at seed {}", options.seed);
    }
    result(options, None)
}

/// Fails (an invariant) exactly when crashes are on, whatever else is.
pub fn fails_with_crash(options: &Options) -> RunResult {
    let failure = options.has(FaultKind::Crash).then(|| Failure::Invariant {
        event: 7,
        message: "offset reused after restart".to_string(),
    });
    result(options, failure)
}

/// Fails with a lost write when a pause is on, at least 300 operations are issued and at
/// least 2 clients run; otherwise (fewer operations, fewer clients) it passes.
pub fn fails_with_pause_and_load(options: &Options) -> RunResult {
    let fails =
        options.has(FaultKind::Pause) && options.operations_max >= 300 && options.clients >= 2;
    result(options, fails.then(lost_write))
}

/// Fails with a liveness failure when fault kinds are few and an invariant when they are
/// many, so shrinking the faults would change the failure.
pub fn failure_kind_depends_on_fault_count(options: &Options) -> RunResult {
    let failure = if options.faults.len() >= 3 {
        Failure::Invariant {
            event: 1,
            message: "many faults".to_string(),
        }
    } else {
        Failure::Liveness {
            message: "few faults".to_string(),
        }
    };
    result(options, Some(failure))
}
