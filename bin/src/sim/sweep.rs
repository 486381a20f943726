//! Sweeping a range of seeds on worker threads.
//!
//! Contract: every seed of the range runs exactly once, through [`guarded_run`], on one of
//! `jobs` threads that take the next seed from a shared counter; each run is independent and
//! deterministic, so the totals do not depend on the number of threads or their timing
//! (failing seeds are listed in seed order). A run's history and trace are dropped as soon as
//! it is counted, so memory stays flat however many seeds run.

use super::args::{RunSpec, SeedRange};
use super::guard::{guarded_run, Guarded, RunFailure};
use indicatif::ProgressBar;
use odradek_sim::{Options, RunResult};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A seed that failed, with what replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedFailure {
    /// The seed.
    pub seed: u64,
    /// Why it failed.
    pub failure: RunFailure,
    /// The command that replays it.
    pub replay: String,
}

/// What a sweep (or a single run) adds up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepTotals {
    /// Seeds that ran.
    pub seeds_run: u64,
    /// Seeds that passed.
    pub passed: u64,
    /// Seeds that failed, in seed order once the sweep is done.
    pub failures: Vec<SeedFailure>,
    /// Events over all runs.
    pub events: u64,
    /// Simulated nanoseconds over all runs.
    pub simulated_ns: u64,
    /// Client operations over all runs.
    pub operations: u64,
    /// Fault counts by name over all runs.
    pub faults: BTreeMap<String, u64>,
    /// Excused anomaly counts by name over all runs.
    pub excused_anomalies: BTreeMap<String, u64>,
}

impl SweepTotals {
    /// Counts one seed's run.
    pub fn add(&mut self, seed: u64, guarded: &Guarded, spec: &RunSpec) {
        let summary = guarded.summary();
        self.seeds_run += 1;
        self.events = self.events.saturating_add(summary.events);
        self.simulated_ns = self.simulated_ns.saturating_add(summary.simulated_ns);
        self.operations = self.operations.saturating_add(summary.operations);
        add_counts(&mut self.faults, &summary.faults);
        add_counts(&mut self.excused_anomalies, &summary.excused_anomalies);
        match guarded.failure() {
            None => self.passed += 1,
            Some(failure) => self.failures.push(SeedFailure {
                seed,
                failure,
                replay: spec.replay_command(seed),
            }),
        }
    }

    /// Adds another worker's totals to these.
    pub fn merge(&mut self, other: SweepTotals) {
        self.seeds_run += other.seeds_run;
        self.passed += other.passed;
        self.failures.extend(other.failures);
        self.failures.sort_by_key(|failure| failure.seed);
        self.events = self.events.saturating_add(other.events);
        self.simulated_ns = self.simulated_ns.saturating_add(other.simulated_ns);
        self.operations = self.operations.saturating_add(other.operations);
        add_counts(&mut self.faults, &other.faults);
        add_counts(&mut self.excused_anomalies, &other.excused_anomalies);
    }

    /// Seeds that failed.
    pub fn failed(&self) -> u64 {
        self.failures.len() as u64
    }
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (name, count) in from {
        let total = into.entry(name.clone()).or_insert(0);
        *total = total.saturating_add(*count);
    }
}

/// Runs every seed of `range` on `jobs` threads (at least one, at most one per seed),
/// ticking `progress` once per seed.
pub fn sweep<R>(
    runner: &R,
    spec: &RunSpec,
    range: SeedRange,
    jobs: usize,
    progress: &ProgressBar,
) -> SweepTotals
where
    R: Fn(&Options) -> RunResult + Sync + ?Sized,
{
    let next_offset = AtomicU64::new(0);
    let threads = jobs.clamp(1, usize::try_from(range.len()).unwrap_or(usize::MAX));
    let failed = AtomicU64::new(0);
    let mut totals = SweepTotals::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| worker(runner, spec, range, &next_offset, &failed, progress)))
            .collect();
        for worker in workers {
            // A worker cannot panic (runs are guarded); if one did anyway, its seeds are
            // missing from `seeds_run`, which the summary shows against the range's size.
            if let Ok(worker_totals) = worker.join() {
                totals.merge(worker_totals);
            }
        }
    });
    totals
}

fn worker<R>(
    runner: &R,
    spec: &RunSpec,
    range: SeedRange,
    next_offset: &AtomicU64,
    failed: &AtomicU64,
    progress: &ProgressBar,
) -> SweepTotals
where
    R: Fn(&Options) -> RunResult + Sync + ?Sized,
{
    let mut totals = SweepTotals::default();
    while let Some(seed) = range.seed_at(next_offset.fetch_add(1, Ordering::Relaxed)) {
        let guarded = guarded_run(runner, &spec.options(seed));
        let failures_before = totals.failures.len();
        totals.add(seed, &guarded, spec);
        if totals.failures.len() > failures_before {
            let failed_so_far = failed.fetch_add(1, Ordering::Relaxed) + 1;
            progress.set_message(format!("{failed_so_far} failed"));
        }
        progress.inc(1);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::args::parse_seed_range;
    use crate::sim::fake;

    fn run_sweep(runner: fn(&Options) -> RunResult, range: &str, jobs: usize) -> SweepTotals {
        let range = parse_seed_range(range).unwrap();
        sweep(
            &runner,
            &RunSpec::default(),
            range,
            jobs,
            &ProgressBar::hidden(),
        )
    }

    #[test]
    fn a_sweep_counts_every_seed_once_and_lists_odd_failures_in_order() {
        let totals = run_sweep(fake::fails_odd_seeds, "10..20", 3);
        assert_eq!(
            (totals.seeds_run, totals.passed, totals.failed()),
            (10, 5, 5)
        );
        let seeds: Vec<u64> = totals.failures.iter().map(|f| f.seed).collect();
        assert_eq!(seeds, vec![11, 13, 15, 17, 19]);
        assert_eq!(totals.events, (10..20).map(|seed| 1000 + seed).sum::<u64>());
        assert_eq!(totals.simulated_ns, 10 * 1_000_000_000);
        assert_eq!(totals.failures[0].failure.kind, "anomaly");
        assert_eq!(totals.failures[0].replay, "odradek sim --seed 11");
    }

    #[test]
    fn totals_do_not_depend_on_the_number_of_threads() {
        let one = run_sweep(fake::fails_odd_seeds, "0..=40", 1);
        let many = run_sweep(fake::fails_odd_seeds, "0..=40", 8);
        assert_eq!(one, many);
        let total_faults: u64 = one.faults.values().sum();
        let expected: usize = (0..=40)
            .map(|seed| RunSpec::default().options(seed).faults.len())
            .sum();
        assert_eq!(total_faults, expected as u64);
    }

    #[test]
    fn a_panicking_seed_fails_that_seed_and_the_sweep_goes_on() {
        let totals = run_sweep(fake::panics_on_multiples_of_four, "0..10", 2);
        assert_eq!(totals.seeds_run, 10);
        let seeds: Vec<u64> = totals.failures.iter().map(|f| f.seed).collect();
        assert_eq!(seeds, vec![0, 4, 8]);
        assert!(totals
            .failures
            .iter()
            .all(|f| f.failure.kind == "runner-panic"));
        assert_eq!(totals.passed, 7);
    }

    #[test]
    fn a_range_ending_at_the_last_u64_runs_its_seeds_and_stops() {
        let totals = run_sweep(fake::passes, &format!("{}..={}", u64::MAX - 2, u64::MAX), 4);
        assert_eq!((totals.seeds_run, totals.passed), (3, 3));
    }
}
