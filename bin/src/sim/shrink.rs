//! `--shrink`: from a failing seed, find a smaller configuration that still fails the same
//! way, and the command that reproduces it.
//!
//! Contract: the seed never changes (it names the run's every random choice); what shrinks
//! is the configuration on top of it, greedily: drop one fault kind at a time while the run
//! still fails, then halve `operations_max`, then remove clients one by one, and repeat the
//! three passes until none makes progress or [`SHRINK_RUNS_MAX`] runs were spent. A
//! candidate counts as failing only with the *same kind* of failure as the original (an
//! anomaly stays an anomaly), so shrinking cannot slide from the bug being chased to a
//! different one. The result is always a configuration that was seen to fail, expressed as
//! a [`RunSpec`] with an exact fault list (`--faults-only`) and explicit overrides, so its
//! replay command reproduces it.

use super::args::RunSpec;
use super::guard::{guarded_run, RunFailure};
use odradek_sim::{FaultSelection, FaultSet, Options, RunResult};

/// Runs spent on shrinking at most (each is a whole simulation).
pub const SHRINK_RUNS_MAX: u32 = 200;

/// The smallest failing configuration found.
#[derive(Clone, Debug, PartialEq)]
pub struct Shrunk {
    /// It, as flags.
    pub spec: RunSpec,
    /// How it fails.
    pub failure: RunFailure,
    /// Runs tried while shrinking.
    pub runs: u32,
    /// Did the search stop because it ran out of runs rather than progress?
    pub budget_exhausted: bool,
}

/// Shrinks the failing run of `seed` under `spec`, which failed with `original`.
pub fn shrink<R>(runner: &R, seed: u64, spec: &RunSpec, original: RunFailure) -> Shrunk
where
    R: Fn(&Options) -> RunResult + ?Sized,
{
    let options = spec.options(seed);
    let exact = RunSpec {
        selection: exact_selection(options.faults.clone()),
        // Candidates only need to fail; keeping each one's trace would only cost memory.
        trace: false,
        ..spec.clone()
    };
    let mut shrinker = Shrinker {
        runner,
        seed,
        best: exact,
        failure: original,
        runs: 0,
    };
    loop {
        let before = shrinker.best.clone();
        shrinker.drop_faults();
        shrinker.halve_operations();
        shrinker.remove_clients();
        if shrinker.best == before || shrinker.runs >= SHRINK_RUNS_MAX {
            break;
        }
    }
    Shrunk {
        budget_exhausted: shrinker.runs >= SHRINK_RUNS_MAX,
        spec: shrinker.best,
        failure: shrinker.failure,
        runs: shrinker.runs,
    }
}

fn exact_selection(faults: FaultSet) -> FaultSelection {
    FaultSelection {
        pinned: faults,
        excluded: FaultSet::new(),
        only: true,
    }
}

struct Shrinker<'r, R: ?Sized> {
    runner: &'r R,
    seed: u64,
    best: RunSpec,
    failure: RunFailure,
    runs: u32,
}

impl<R> Shrinker<'_, R>
where
    R: Fn(&Options) -> RunResult + ?Sized,
{
    /// Runs `candidate`; if it fails the same way, it becomes the best. False once the
    /// budget is spent.
    fn accept_if_failing(&mut self, candidate: RunSpec) -> bool {
        if self.runs >= SHRINK_RUNS_MAX {
            return false;
        }
        self.runs += 1;
        let failure = guarded_run(self.runner, &candidate.options(self.seed)).failure();
        match failure {
            Some(failure) if failure.kind == self.failure.kind => {
                self.best = candidate;
                self.failure = failure;
                true
            }
            _ => false,
        }
    }

    fn drop_faults(&mut self) {
        let kinds: Vec<_> = self.best.selection.pinned.iter().copied().collect();
        for kind in kinds {
            let mut faults = self.best.selection.pinned.clone();
            faults.remove(&kind);
            let candidate = RunSpec {
                selection: exact_selection(faults),
                ..self.best.clone()
            };
            self.accept_if_failing(candidate);
        }
    }

    fn halve_operations(&mut self) {
        loop {
            let operations = self.best.options(self.seed).operations_max;
            if operations <= 1 {
                return;
            }
            let candidate = RunSpec {
                operations: Some(operations / 2),
                ..self.best.clone()
            };
            if !self.accept_if_failing(candidate) {
                return;
            }
        }
    }

    fn remove_clients(&mut self) {
        loop {
            let clients = self.best.options(self.seed).clients;
            if clients <= 1 {
                return;
            }
            let candidate = RunSpec {
                clients: Some(clients - 1),
                ..self.best.clone()
            };
            if !self.accept_if_failing(candidate) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fake;
    use odradek_sim::FaultKind;

    fn shrink_with(runner: fn(&Options) -> RunResult, seed: u64, spec: &RunSpec) -> Shrunk {
        let original = guarded_run(&runner, &spec.options(seed))
            .failure()
            .expect("the seed fails before shrinking");
        shrink(&runner, seed, spec, original)
    }

    fn with_all_faults_but_corruption() -> RunSpec {
        let mut spec = RunSpec::default();
        spec.selection.pinned = FaultKind::ALL
            .into_iter()
            .filter(|kind| kind.is_survivable_by_one_replica())
            .collect();
        spec
    }

    #[test]
    fn a_failure_that_needs_only_crashes_shrinks_to_exactly_crashes() {
        let spec = with_all_faults_but_corruption();
        assert!(spec.options(5).faults.len() > 10);
        let shrunk = shrink_with(fake::fails_with_crash, 5, &spec);
        assert_eq!(shrunk.spec.options(5).faults, [FaultKind::Crash].into());
        assert_eq!(shrunk.failure.kind, "invariant");
        assert!(!shrunk.budget_exhausted);
        assert_eq!(
            shrunk.spec.replay_command(5),
            "odradek sim --seed 5 --faults-only crash --operations 1 --clients 1"
        );
    }

    #[test]
    fn operations_halve_and_clients_drop_only_while_the_run_still_fails() {
        let shrunk = shrink_with(fake::fails_with_pause_and_load, 8, &{
            let mut spec = with_all_faults_but_corruption();
            spec.clients = Some(4);
            spec
        });
        let options = shrunk.spec.options(8);
        assert_eq!(options.faults, [FaultKind::Pause].into());
        // The drawn budget (5000) halves while it fails: … → 625 → 312 fail; 156 passes.
        assert_eq!(options.operations_max, 312);
        assert_eq!(options.clients, 2);
        assert!(
            fake::fails_with_pause_and_load(&options).failure.is_some(),
            "the shrunk configuration must still fail"
        );
    }

    #[test]
    fn shrinking_never_trades_the_failure_for_a_different_kind() {
        let five_kinds = [
            FaultKind::Crash,
            FaultKind::Pause,
            FaultKind::Partition,
            FaultKind::NetworkDrop,
            FaultKind::ClockSkew,
        ];
        let spec = RunSpec {
            selection: exact_selection(five_kinds.into()),
            ..RunSpec::default()
        };
        let shrunk = shrink_with(fake::failure_kind_depends_on_fault_count, 1, &spec);
        assert_eq!(shrunk.failure.kind, "invariant");
        assert_eq!(shrunk.spec.options(1).faults.len(), 3);
    }

    #[test]
    fn a_failure_without_faults_shrinks_to_faults_only_none() {
        let shrunk = shrink_with(fake::fails_odd_seeds, 3, &with_all_faults_but_corruption());
        assert!(shrunk.spec.options(3).faults.is_empty());
        let replay = shrunk.spec.replay_command(3);
        assert!(replay.contains("--faults-only none"), "{replay}");
    }
}
