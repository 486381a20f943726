//! The plain-text verdict `odradek check` prints: the overall verdict on the first line, then
//! per checker its validity, each anomaly name with its count and first explanations, and
//! its notes.

use super::{group_by_name, overall_validity, validity_name};
use crate::verdict::Verdict;
use std::fmt::Write as _;

/// How many explanations are printed per anomaly name.
pub const TEXT_EXPLANATIONS_MAX: usize = 3;

/// The short plain-text verdict, ending with a newline.
pub fn render_text(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verdict: {}",
        validity_name(overall_validity(verdicts))
    );
    for verdict in verdicts {
        let _ = writeln!(
            out,
            "{}: {}",
            verdict.checker,
            validity_name(verdict.validity)
        );
        for (name, members) in group_by_name(&verdict.anomalies) {
            let failing = members.iter().filter(|a| a.fails_run).count();
            let effect = match failing {
                0 => "allowed".to_string(),
                n if n == members.len() => "fails the run".to_string(),
                n => format!("{n} fail the run"),
            };
            let _ = writeln!(out, "  {name}: {} ({effect})", members.len());
            for anomaly in members.iter().take(TEXT_EXPLANATIONS_MAX) {
                let _ = writeln!(out, "    - {}", one_line(&anomaly.explanation));
            }
            if members.len() > TEXT_EXPLANATIONS_MAX {
                let _ = writeln!(out, "    … {} more", members.len() - TEXT_EXPLANATIONS_MAX);
            }
        }
        for note in &verdict.notes {
            let _ = writeln!(out, "  note: {}", one_line(note));
        }
    }
    out
}

/// Keeps a line a line: newlines inside explanations become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
