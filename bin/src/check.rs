//! `odradek check`: read a history (JSON lines or Jepsen EDN), run a checker, print a short
//! verdict, optionally write a self-contained HTML report, and exit with the verdict:
//! 0 valid, 1 invalid, 2 unknown, 3 bad input (unreadable or malformed history, bad flags).
//!
//! This is glue only: formats, pairing, checkers and rendering live in `odradek-jepsen`.

use odradek_jepsen::history::{pair, read_history_file, Format, History, Pairing, PairingError};
use odradek_jepsen::linearizable::{self, LinearizableOptions, ModelKind};
use odradek_jepsen::queue::{self, QueueOptions, SubscribeSkips};
use odradek_jepsen::report::{overall_validity, render_html, render_text};
use odradek_jepsen::verdict::Verdict;
use std::path::PathBuf;
use std::time::Duration;

/// Exit status for input the checker cannot read (and for wrong flags).
pub const EXIT_BAD_INPUT: u8 = 3;

/// Which checker to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckerKind {
    /// Kafka queue semantics (Jepsen's Kafka workload anomalies).
    Queue,
    /// Linearizability against a model (`--model`).
    Linearizable,
}

/// Arguments of `odradek check`.
#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    /// The history file (`.jsonl`/`.json` for JSON lines, `.edn` for Jepsen EDN).
    pub history: PathBuf,
    /// The history format; detected from the extension (then the content) when omitted.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// The checker; when omitted, `queue` if the history has send/poll/txn operations,
    /// otherwise `linearizable`.
    #[arg(long, value_enum)]
    pub checker: Option<CheckerKind>,
    /// The model for `--checker linearizable`: register, cas-register or kv.
    #[arg(long, default_value = "cas-register", value_parser = parse_model)]
    pub model: ModelKind,
    /// Write a self-contained HTML report (verdict, witnesses, plots) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Queue checker: infer write-write dependencies from offsets (Jepsen's `:ww-deps`).
    #[arg(long)]
    pub ww_deps: bool,
    /// Queue checker: allow poll-skip and nonmonotonic-poll anywhere once any consumer
    /// subscribes (Jepsen's test-wide rule) instead of only for subscribed consumers.
    #[arg(long)]
    pub subscribe_whole_run: bool,
    /// Linearizability: give up with `unknown` after this many seconds.
    #[arg(long, value_parser = parse_positive_seconds)]
    pub time_limit_seconds: Option<f64>,
    /// Linearizability: give up with `unknown` after this many search steps per key.
    #[arg(long)]
    pub max_steps: Option<u64>,
}

fn parse_format(name: &str) -> Result<Format, String> {
    match name {
        "jsonl" | "json" => Ok(Format::Jsonl),
        "edn" => Ok(Format::Edn),
        other => Err(format!("unknown format {other:?}: expected jsonl or edn")),
    }
}

fn parse_positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!(
            "expected a positive number of seconds, got {text:?}"
        )),
    }
}

fn parse_model(name: &str) -> Result<ModelKind, String> {
    ModelKind::from_name(name)
        .ok_or_else(|| format!("unknown model {name:?}: expected register, cas-register or kv"))
}

/// Runs `odradek check`, printing to stdout/stderr; returns the exit status.
pub fn run(args: &CheckArgs) -> u8 {
    match check(args) {
        Ok((verdicts, text)) => {
            print!("{text}");
            overall_validity(&verdicts).exit_code()
        }
        Err(message) => {
            eprintln!("odradek check: {message}");
            EXIT_BAD_INPUT
        }
    }
}

/// Reads, checks and reports; returns the verdicts and the text to print, or a message
/// describing the bad input.
pub fn check(args: &CheckArgs) -> Result<(Vec<Verdict>, String), String> {
    let history = read_history_file(&args.history, args.format).map_err(|e| e.to_string())?;
    let at = |index: u64, error: String| {
        format!(
            "{}: {}: {error}",
            args.history.display(),
            history.locate(index)
        )
    };
    let pairing = pair(&history).map_err(|e| at(pairing_error_index(&e), e.to_string()))?;
    let checker = args.checker.unwrap_or_else(|| detect_checker(&history));
    let verdict = match checker {
        CheckerKind::Queue => run_queue(args, &history).map_err(|(i, e)| at(i, e))?,
        CheckerKind::Linearizable => run_linearizable(args, &history).map_err(|(i, e)| at(i, e))?,
    };
    let verdicts = vec![verdict];
    if let Some(path) = &args.report {
        write_report(path, &history, &pairing, &verdicts)?;
    }
    Ok((verdicts.clone(), render_text(&verdicts)))
}

/// Queue histories are recognisable by Jepsen's Kafka workload functions.
fn detect_checker(history: &History) -> CheckerKind {
    let is_queue_op = |f: &str| matches!(f, "send" | "poll" | "txn" | "assign" | "subscribe");
    if history.ops.iter().any(|op| is_queue_op(&op.f)) {
        CheckerKind::Queue
    } else {
        CheckerKind::Linearizable
    }
}

/// The Jepsen index of the op a pairing error is about.
fn pairing_error_index(error: &PairingError) -> u64 {
    match error {
        PairingError::DoubleInvoke { index, .. }
        | PairingError::CompletionWithoutInvoke { index, .. }
        | PairingError::ProcessReusedAfterInfo { index, .. } => *index,
    }
}

/// A checker's complaint about the op with this Jepsen index.
type OpError = (u64, String);

fn run_queue(args: &CheckArgs, history: &History) -> Result<Verdict, OpError> {
    let options = QueueOptions {
        ww_deps: args.ww_deps,
        subscribe_skips: if args.subscribe_whole_run {
            SubscribeSkips::WholeRun
        } else {
            SubscribeSkips::PerConsumer
        },
    };
    let report = queue::check(history, &options).map_err(|error| match &error {
        queue::QueueError::Pairing(pairing) => (pairing_error_index(pairing), error.to_string()),
        queue::QueueError::Malformed { index, .. } => (*index, error.to_string()),
    })?;
    Ok(report.verdict())
}

fn run_linearizable(args: &CheckArgs, history: &History) -> Result<Verdict, OpError> {
    let mut options = LinearizableOptions::default();
    if let Some(seconds) = args.time_limit_seconds {
        options.max_duration = Some(Duration::from_secs_f64(seconds));
    }
    if args.max_steps.is_some() {
        options.max_steps = args.max_steps;
    }
    let report = linearizable::check(history, args.model, &options).map_err(|error| {
        let index = match &error {
            linearizable::LinearizableError::Pairing(pairing) => pairing_error_index(pairing),
            linearizable::LinearizableError::MalformedOp { index, .. } => *index,
        };
        (index, error.to_string())
    })?;
    Ok(report.verdict())
}

fn write_report(
    path: &PathBuf,
    history: &History,
    pairing: &Pairing,
    verdicts: &[Verdict],
) -> Result<(), String> {
    let html = render_html(history, pairing, verdicts);
    std::fs::write(path, html).map_err(|e| format!("cannot write report {}: {e}", path.display()))
}
