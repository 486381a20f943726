//! `odradek sim`: run the deterministic simulator on one seed or sweep a range of seeds,
//! print what happened, and for every failure the one command that replays it.
//!
//! - `--seed N`: one run; a summary (pass/FAIL, events, simulated and wall time, speed, fault
//!   counts, excused anomalies); `--trace`, `--history FILE`, `--report FILE.html` and
//!   `--shrink` (find a smaller failing configuration) apply to it.
//! - `--seeds A..B` / `A..=B`: a sweep on `--jobs` threads with a progress bar on stderr
//!   (hidden when stderr is not a terminal), then a summary table and the failing seeds.
//! - `--planted-bugs`: hunt every planted bug in its scenario and print the markdown table.
//! - `--faults`, `--exclude-faults`, `--faults-only`, `--bug`, `--operations`, `--clients`,
//!   `--brokers` adjust the seed's drawn options (see [`args`]).
//!
//! Exit status: 0 every seed passed, 1 any seed failed (a panic in a run is a failure of
//! that seed, never the end of a sweep), 3 bad input (flags, unwritable output files), as
//! `odradek check`.
//!
//! The simulator is a parameter ([`Runner`]): this module decides nothing about worlds. `main`
//! passes `odradek_sim::run`; the tests pass fake runners whose outcome is a plain function
//! of the options.

pub mod args;
pub mod artifacts;
#[cfg(test)]
mod fake;
pub mod guard;
pub mod render;
pub mod shrink;
pub mod sweep;

pub use args::{RunSpec, SeedRange, SimArgs};

use crate::check::EXIT_BAD_INPUT;
use artifacts::ArtifactError;
use guard::{guarded_run, Guarded, RunFailure};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use odradek_sim::{Options, RunResult};
use std::io::{IsTerminal, Write};
use std::time::Instant;

/// The function that runs one simulation: `odradek_sim::run` in the binary.
pub type Runner = fn(&Options) -> RunResult;

/// Exit status when every seed passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit status when any seed failed.
pub const EXIT_FAILED: u8 = 1;

/// Runs `odradek sim` with this runner, printing to stdout/stderr; returns the exit status.
pub fn execute(args: &SimArgs, runner: Runner) -> u8 {
    execute_with(args, &runner, &mut std::io::stdout().lock())
}

/// [`execute`] with any runner and output (tests capture the output).
pub fn execute_with<R>(args: &SimArgs, runner: &R, out: &mut dyn Write) -> u8
where
    R: Fn(&Options) -> RunResult + Sync + ?Sized,
{
    if args.planted_bugs {
        return planted_bug_table(runner, out);
    }
    let spec = RunSpec::from_args(args);
    if let Err(problem) = spec.validate() {
        eprintln!("odradek sim: {problem}");
        return EXIT_BAD_INPUT;
    }
    match (args.seed, args.seeds) {
        (Some(seed), _) => run_single(args, &spec, seed, runner, out),
        (None, Some(range)) => run_sweep(args, &spec, range, runner, out),
        (None, None) => {
            // clap's argument group requires one of them; kept for callers that build args.
            eprintln!("odradek sim: give --seed N or --seeds A..B");
            EXIT_BAD_INPUT
        }
    }
}

/// Hunts every planted bug (`odradek_sim::planted`) and prints the table; fails if any bug
/// escapes its bound or its seeds fail without it.
fn planted_bug_table<R>(runner: &R, out: &mut dyn Write) -> u8
where
    R: Fn(&Options) -> RunResult + Sync + ?Sized,
{
    let run_one = |options: &Options| runner(options);
    let results: Vec<_> = odradek_sim::planted::all_cases()
        .iter()
        .map(|case| odradek_sim::planted::hunt(case, &run_one))
        .collect();
    let _ = write!(out, "{}", odradek_sim::planted::table(&results));
    if results.iter().all(odradek_sim::planted::HuntResult::holds) {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn run_single<R>(args: &SimArgs, spec: &RunSpec, seed: u64, runner: &R, out: &mut dyn Write) -> u8
where
    R: Fn(&Options) -> RunResult + ?Sized,
{
    let started = Instant::now();
    let guarded = guarded_run(runner, &spec.options(seed));
    let wall = started.elapsed();
    let replay = spec.replay_command(seed);
    if let (true, Guarded::Returned(result)) = (args.trace, &guarded) {
        for line in &result.trace {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = write!(out, "{}", render::single(seed, &guarded, wall, &replay));
    let failure = guarded.failure();
    let mut status = if failure.is_some() {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    };
    status = status.max(write_artifacts(args, &guarded, failure.as_ref(), &replay));
    if args.shrink {
        match failure {
            Some(failure) => {
                eprintln!("odradek sim: shrinking seed {seed} …");
                let shrunk = shrink::shrink(runner, seed, spec, failure);
                let _ = write!(out, "{}", render::shrunk(seed, &shrunk));
            }
            None => {
                let _ = writeln!(out, "nothing to shrink: seed {seed} passes");
            }
        }
    }
    let _ = out.flush();
    status
}

/// Writes `--history` and `--report`; returns the exit status they call for (0 when fine).
fn write_artifacts(
    args: &SimArgs,
    guarded: &Guarded,
    failure: Option<&RunFailure>,
    replay: &str,
) -> u8 {
    if args.history.is_none() && args.report.is_none() {
        return EXIT_PASSED;
    }
    let Guarded::Returned(result) = guarded else {
        eprintln!("odradek sim: no history or report: the run panicked before producing one");
        return EXIT_FAILED;
    };
    let mut written = Ok(());
    if let Some(path) = &args.history {
        written = artifacts::write_history(path, &result.history);
    }
    if let (Ok(()), Some(path)) = (&written, &args.report) {
        written = artifacts::write_report(path, result, failure, replay);
    }
    match written {
        Ok(()) => EXIT_PASSED,
        Err(error) => {
            eprintln!("odradek sim: {error}");
            match error {
                ArtifactError::Write { .. } => EXIT_BAD_INPUT,
                ArtifactError::UncheckableHistory(_) => EXIT_FAILED,
            }
        }
    }
}

fn run_sweep<R>(
    args: &SimArgs,
    spec: &RunSpec,
    range: SeedRange,
    runner: &R,
    out: &mut dyn Write,
) -> u8
where
    R: Fn(&Options) -> RunResult + Sync + ?Sized,
{
    let jobs = args
        .jobs
        .and_then(|jobs| usize::try_from(jobs).ok())
        .unwrap_or_else(available_parallelism);
    let jobs = jobs.clamp(1, usize::try_from(range.len()).unwrap_or(usize::MAX));
    let progress = progress_bar(range.len());
    let started = Instant::now();
    let totals = sweep::sweep(runner, spec, range, jobs, &progress);
    let wall = started.elapsed();
    progress.finish_and_clear();
    let _ = write!(out, "{}", render::sweep(range, jobs, &totals, wall));
    let _ = out.flush();
    if totals.failures.is_empty() && totals.seeds_run == range.len() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

fn available_parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A progress bar on stderr, or a hidden one when stderr is not a terminal (logs, CI).
fn progress_bar(seeds: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} seeds ({per_sec}, eta {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::with_draw_target(Some(seeds), ProgressDrawTarget::stderr()).with_style(style)
}

#[cfg(test)]
mod tests;
