//! What a single-seed run leaves on disk: its history (`--history`) and its HTML report
//! (`--report`).
//!
//! Contract: the history is written in the format its extension names (`.edn`: Jepsen EDN,
//! anything else: JSON lines), readable by `odradek check`. The report is the same page
//! `odradek check --report` renders, with two verdicts: the queue checker's on the run's
//! history (nemesis ops in the history shade the fault windows in its plots), and a
//! `simulator` verdict carrying the run's own outcome (invariants, liveness, panics are not
//! visible in the history) with the seed, fault mix and replay command in its notes.
//! Glue only: formats, checking and rendering live in `odradek-jepsen`.

use super::guard::RunFailure;
use odradek_jepsen::history::read::write_history_file;
use odradek_jepsen::history::{pair, Format, History};
use odradek_jepsen::queue::{self, QueueOptions};
use odradek_jepsen::report::render_html;
use odradek_jepsen::verdict::{Validity, Verdict};
use odradek_sim::RunResult;
use std::path::Path;

/// Why an artifact could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file could not be written (a bad path: the user's input).
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// The run's own history could not be checked (a simulator bug, not the user's).
    #[error("the run's history cannot be checked: {0}")]
    UncheckableHistory(String),
}

/// Writes the history; the format follows the extension.
pub fn write_history(path: &Path, history: &History) -> Result<(), ArtifactError> {
    let format = Format::from_path(path).unwrap_or(Format::Jsonl);
    write_history_file(path, history, format).map_err(|error| ArtifactError::Write {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

/// Checks the run's history with the queue checker and writes the HTML report.
pub fn write_report(
    path: &Path,
    result: &RunResult,
    failure: Option<&RunFailure>,
    replay: &str,
) -> Result<(), ArtifactError> {
    let history = &result.history;
    let uncheckable = |error: String| ArtifactError::UncheckableHistory(error);
    let pairing = pair(history).map_err(|e| uncheckable(e.to_string()))?;
    let queue_verdict = queue::check(history, &QueueOptions::default())
        .map_err(|e| uncheckable(e.to_string()))?
        .verdict();
    let verdicts = [simulator_verdict(result, failure, replay), queue_verdict];
    let html = render_html(history, &pairing, &verdicts);
    std::fs::write(path, html).map_err(|error| ArtifactError::Write {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

/// The run's own outcome as a verdict, so the report shows failures the history cannot.
pub fn simulator_verdict(
    result: &RunResult,
    failure: Option<&RunFailure>,
    replay: &str,
) -> Verdict {
    let options = &result.options;
    let summary = &result.summary;
    let faults: Vec<&str> = options.faults.iter().map(|kind| kind.name()).collect();
    let mut notes = vec![
        format!("seed {}; replay: {replay}", options.seed),
        format!(
            "fault kinds: {} (intensity {:.2})",
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(", ")
            },
            options.intensity
        ),
        format!(
            "{} events, {:.3} simulated seconds, {} operations (ok {}, fail {}, info {})",
            summary.events,
            summary.simulated_ns as f64 / 1e9,
            summary.operations,
            summary.ok,
            summary.failed,
            summary.info
        ),
    ];
    if !summary.excused_anomalies.is_empty() {
        let excused: Vec<String> = summary
            .excused_anomalies
            .iter()
            .map(|(name, count)| format!("{name} ×{count}"))
            .collect();
        notes.push(format!("excused by the fault mix: {}", excused.join(", ")));
    }
    if let Some(failure) = failure {
        notes.push(format!("FAILED ({}): {}", failure.kind, failure.message));
    }
    Verdict {
        checker: "simulator".to_string(),
        validity: if failure.is_some() {
            Validity::Invalid
        } else {
            Validity::Valid
        },
        anomalies: Vec::new(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fake;
    use odradek_jepsen::history::read::read_history_file;
    use odradek_jepsen::history::read_history_str;
    use odradek_sim::{options_from_seed, FaultSelection};

    const SEND_THEN_POLL: &str = r##"{"index":0,"time":0,"process":0,"type":"invoke","f":"send","value":[["send",1,10]]}
{"index":1,"time":10,"process":0,"type":"ok","f":"send","value":[["send",1,[0,10]]]}
{"index":2,"time":20,"process":1,"type":"invoke","f":"assign","value":[1]}
{"index":3,"time":30,"process":1,"type":"ok","f":"assign","value":[1]}
{"index":4,"time":40,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}
{"index":5,"time":50,"process":1,"type":"ok","f":"poll","value":[["poll",{"#map":[[1,[[0,10]]]]}]]}
"##;

    fn result_with_history() -> RunResult {
        let mut result = fake::passes(&options_from_seed(6, &FaultSelection::default()));
        result.history = read_history_str(SEND_THEN_POLL, Format::Jsonl).unwrap();
        result
    }

    #[test]
    fn the_written_history_reads_back_in_the_format_its_extension_names() {
        let dir = tempfile::tempdir().unwrap();
        let result = result_with_history();
        for name in ["run.jsonl", "run.edn"] {
            let path = dir.path().join(name);
            write_history(&path, &result.history).unwrap();
            assert_eq!(read_history_file(&path, None).unwrap(), result.history);
        }
        let edn = std::fs::read_to_string(dir.path().join("run.edn")).unwrap();
        assert!(edn.starts_with('{'), "{edn}");
    }

    #[test]
    fn the_report_shows_the_queue_verdict_and_the_simulators_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        let result = result_with_history();
        let failure = RunFailure {
            kind: "liveness".to_string(),
            message: "liveness: record 3 never read".to_string(),
            detail: None,
        };
        write_report(&path, &result, Some(&failure), "odradek sim --seed 6").unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.contains("simulator") && html.contains("queue"));
        assert!(html.contains("record 3 never read"));
        assert!(html.contains("odradek sim --seed 6"));
        assert!(html.contains("History check: <span class=\"verdict invalid\">"));
    }

    #[test]
    fn an_unwritable_path_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("run.jsonl");
        let error = write_history(&path, &result_with_history().history).unwrap_err();
        assert!(matches!(error, ArtifactError::Write { .. }), "{error}");
    }
}
