//! Reports of checker verdicts: a short plain-text summary (what `odradek check` prints) and
//! one self-contained HTML page (inline CSS and SVG, no external assets, no scripts) with
//! the verdicts, every anomaly with its explanation and witness operations, and plots of
//! latency, throughput and a per-process timeline with nemesis windows shaded.
//!
//! Both renderers are deterministic (no clocks), escape all text from the history, and bound
//! their output on huge inputs: anomalies are grouped by name with the first few shown, and
//! plots thin their marks (see [`plots`]).

pub mod html;
pub mod nemesis;
pub mod plots;
pub mod svg;
pub mod text;

pub use html::render_html;
pub use nemesis::{nemesis_windows, NemesisWindow};
pub use text::render_text;

use crate::verdict::{Anomaly, Validity, Verdict};

/// The validity of several verdicts together: invalid if any is, else unknown if any is,
/// else valid (also for no verdicts at all).
pub fn overall_validity(verdicts: &[Verdict]) -> Validity {
    verdicts
        .iter()
        .fold(Validity::Valid, |all, verdict| all.and(verdict.validity))
}

/// The lower-case name of a validity: `valid`, `invalid`, `unknown`.
pub fn validity_name(validity: Validity) -> &'static str {
    match validity {
        Validity::Valid => "valid",
        Validity::Invalid => "invalid",
        Validity::Unknown => "unknown",
    }
}

/// Anomalies grouped by name, groups in order of first appearance.
pub fn group_by_name(anomalies: &[Anomaly]) -> Vec<(&str, Vec<&Anomaly>)> {
    let mut groups: Vec<(&str, Vec<&Anomaly>)> = Vec::new();
    for anomaly in anomalies {
        match groups.iter_mut().find(|(name, _)| *name == anomaly.name) {
            Some((_, members)) => members.push(anomaly),
            None => groups.push((&anomaly.name, vec![anomaly])),
        }
    }
    groups
}
