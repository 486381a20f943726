//! The text `odradek sim` prints: a single run's summary, a sweep's summary table with its
//! failing seeds, and a shrink's result. Pure functions from numbers to text, so the layout
//! is tested without running anything.
//!
//! Every failure is printed with the command that replays it: that line is the point of the
//! whole output (DESIGN.md: "A failure prints the seed and the one command that replays it").

use super::args::SeedRange;
use super::guard::{Guarded, RunFailure};
use super::shrink::Shrunk;
use super::sweep::SweepTotals;
use odradek_sim::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// `name ×count` pairs, or `none`.
pub fn counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{name} ×{count}"))
        .collect();
    parts.join(", ")
}

/// Speeds of a run or sweep: events per wall second and simulated time per wall time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speed {
    /// Events per wall-clock second.
    pub events_per_second: f64,
    /// Simulated seconds per wall-clock second.
    pub sim_over_wall: f64,
}

impl Speed {
    /// The speed of `events` events covering `simulated_ns` in `wall` time.
    pub fn of(events: u64, simulated_ns: u64, wall: Duration) -> Speed {
        // A zero wall time (a fake or trivial run) would divide by zero.
        let wall_seconds = wall.as_secs_f64().max(1e-9);
        Speed {
            events_per_second: events as f64 / wall_seconds,
            sim_over_wall: simulated_ns as f64 / 1e9 / wall_seconds,
        }
    }
}

fn seconds_ns(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

fn failure_lines(out: &mut String, failure: &RunFailure, replay: &str) {
    if let Some(detail) = &failure.detail {
        let _ = writeln!(out, "  checker report:");
        for line in detail.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "replay: {replay}");
}

/// A single run's summary; `replay` is printed when it failed.
pub fn single(seed: u64, guarded: &Guarded, wall: Duration, replay: &str) -> String {
    let mut out = String::new();
    let failure = guarded.failure();
    match &failure {
        None => {
            let _ = writeln!(out, "seed {seed}: PASS");
        }
        Some(failure) => {
            let _ = writeln!(
                out,
                "seed {seed}: FAIL ({}) {}",
                failure.kind, failure.message
            );
        }
    }
    if let Guarded::Returned(result) = guarded {
        let options = &result.options;
        let kinds: Vec<&str> = options.faults.iter().map(|kind| kind.name()).collect();
        let kinds = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        };
        let _ = writeln!(
            out,
            "  fault kinds   {kinds} (intensity {:.2})",
            options.intensity
        );
        let _ = writeln!(
            out,
            "  workload      clients {}, partitions {}, operations at most {}",
            options.clients, options.partitions, options.operations_max
        );
        let unsurvivable: Vec<&str> = options
            .unsurvivable_faults()
            .iter()
            .map(|kind| kind.name())
            .collect();
        let survivable = if unsurvivable.is_empty() {
            "all (one replica survives every fault kind on)".to_string()
        } else {
            format!(
                "not {} (one replica detects but cannot repair them: loss is excused, serving damage is not)",
                unsurvivable.join(", ")
            )
        };
        let _ = writeln!(out, "  survivable    {survivable}");
        let _ = writeln!(out, "  trace hash    {:016x}", result.trace_hash);
    }
    summary_lines(&mut out, &guarded.summary(), wall);
    if let Some(failure) = &failure {
        failure_lines(&mut out, failure, replay);
    }
    out
}

fn summary_lines(out: &mut String, summary: &Summary, wall: Duration) {
    let speed = Speed::of(summary.events, summary.simulated_ns, wall);
    let _ = writeln!(out, "  events        {}", summary.events);
    let _ = writeln!(out, "  simulated     {}", seconds_ns(summary.simulated_ns));
    let _ = writeln!(out, "  wall          {:.3} s", wall.as_secs_f64());
    let _ = writeln!(out, "  events/s      {:.0}", speed.events_per_second);
    let _ = writeln!(out, "  sim/wall      {:.1}×", speed.sim_over_wall);
    let _ = writeln!(
        out,
        "  operations    {} (ok {}, fail {}, info {})",
        summary.operations, summary.ok, summary.failed, summary.info
    );
    let _ = writeln!(out, "  faults        {}", counts(&summary.faults));
    let _ = writeln!(
        out,
        "  excused       {}",
        counts(&summary.excused_anomalies)
    );
}

/// A sweep's summary table, then each failing seed with its kind and replay command.
pub fn sweep(range: SeedRange, jobs: usize, totals: &SweepTotals, wall: Duration) -> String {
    let mut out = String::new();
    let speed = Speed::of(totals.events, totals.simulated_ns, wall);
    let _ = writeln!(out, "seeds         {range} ({} jobs)", jobs);
    let _ = writeln!(out, "run           {}", totals.seeds_run);
    let _ = writeln!(out, "passed        {}", totals.passed);
    let _ = writeln!(out, "failed        {}", totals.failed());
    let _ = writeln!(out, "events        {}", totals.events);
    let _ = writeln!(out, "events/s      {:.0}", speed.events_per_second);
    let _ = writeln!(out, "simulated     {}", seconds_ns(totals.simulated_ns));
    let _ = writeln!(out, "sim/wall      {:.1}×", speed.sim_over_wall);
    let _ = writeln!(out, "wall          {:.3} s", wall.as_secs_f64());
    let _ = writeln!(out, "operations    {}", totals.operations);
    let _ = writeln!(out, "faults        {}", counts(&totals.faults));
    let _ = writeln!(out, "excused       {}", counts(&totals.excused_anomalies));
    if totals.seeds_run < range.len() {
        let _ = writeln!(
            out,
            "WARNING: {} of {} seeds did not run (a worker thread died)",
            range.len() - totals.seeds_run,
            range.len()
        );
    }
    if !totals.failures.is_empty() {
        let _ = writeln!(out, "failing seeds:");
        for failure in &totals.failures {
            let _ = writeln!(
                out,
                "  seed {} ({}) {}",
                failure.seed, failure.failure.kind, failure.failure.message
            );
            let _ = writeln!(out, "    replay: {}", failure.replay);
        }
    }
    out
}

/// The smallest failing configuration a shrink found.
pub fn shrunk(seed: u64, shrunk: &Shrunk) -> String {
    let mut out = String::new();
    let options = shrunk.spec.options(seed);
    let kinds: Vec<&str> = options.faults.iter().map(|kind| kind.name()).collect();
    let _ = writeln!(
        out,
        "shrunk after {} runs{}:",
        shrunk.runs,
        if shrunk.budget_exhausted {
            " (run budget spent; smaller may exist)"
        } else {
            ""
        }
    );
    let kinds = if kinds.is_empty() {
        "none".to_string()
    } else {
        kinds.join(", ")
    };
    let _ = writeln!(out, "  fault kinds   {kinds}");
    let _ = writeln!(out, "  operations    {} at most", options.operations_max);
    let _ = writeln!(out, "  clients       {}", options.clients);
    let _ = writeln!(
        out,
        "  failure       ({}) {}",
        shrunk.failure.kind, shrunk.failure.message
    );
    let _ = writeln!(out, "reproduce: {}", shrunk.spec.replay_command(seed));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::args::{parse_seed_range, RunSpec};
    use crate::sim::fake;
    use crate::sim::guard::guarded_run;
    use indicatif::ProgressBar;

    #[test]
    fn speeds_divide_by_wall_time_and_survive_a_zero_wall_time() {
        let speed = Speed::of(1_000, 4_000_000_000, Duration::from_secs(2));
        assert_eq!(speed.events_per_second, 500.0);
        assert_eq!(speed.sim_over_wall, 2.0);
        assert!(Speed::of(10, 10, Duration::ZERO)
            .events_per_second
            .is_finite());
    }

    #[test]
    fn a_failing_single_run_prints_fail_its_report_and_the_replay_command() {
        let spec = RunSpec::default();
        let guarded = guarded_run(&fake::fails_odd_seeds, &spec.options(3));
        let text = single(
            3,
            &guarded,
            Duration::from_millis(5),
            &spec.replay_command(3),
        );
        assert!(text.starts_with("seed 3: FAIL (anomaly) history anomalies: lost-write ×1"));
        assert!(text.contains("    lost-write: fake report"), "{text}");
        assert!(text.contains("  events        1003"), "{text}");
        assert!(text.ends_with("replay: odradek sim --seed 3\n"), "{text}");
        let passing = guarded_run(&fake::fails_odd_seeds, &spec.options(2));
        let text = single(2, &passing, Duration::from_millis(5), "unused");
        assert!(
            text.starts_with("seed 2: PASS") && !text.contains("replay"),
            "{text}"
        );
    }

    #[test]
    fn a_sweep_table_lists_each_failing_seed_with_its_replay() {
        let range = parse_seed_range("0..4").unwrap();
        let runner = fake::fails_odd_seeds;
        let totals = crate::sim::sweep::sweep(
            &runner,
            &RunSpec::default(),
            range,
            2,
            &ProgressBar::hidden(),
        );
        let text = sweep(range, 2, &totals, Duration::from_secs(1));
        assert!(
            text.contains("passed        2\nfailed        2\n"),
            "{text}"
        );
        assert!(text.contains("events        4006\n"), "{text}");
        assert!(text.contains("  seed 1 (anomaly) history anomalies: lost-write ×1\n    replay: odradek sim --seed 1\n"));
        assert!(
            text.contains("    replay: odradek sim --seed 3\n"),
            "{text}"
        );
    }

    #[test]
    fn counts_are_listed_by_name_or_none() {
        assert_eq!(counts(&BTreeMap::new()), "none");
        let map = [("crash".to_string(), 3), ("pause".to_string(), 1)].into();
        assert_eq!(counts(&map), "crash ×3, pause ×1");
    }
}
