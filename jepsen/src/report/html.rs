//! The self-contained HTML report: one page, inline CSS and SVG, nothing fetched.
//!
//! Sections: the overall verdict and a summary of the history; per checker its validity,
//! notes, and anomalies grouped by name (first [`ANOMALIES_SHOWN_MAX`] of each), each with
//! its explanation and a table of its witness ops and their partners (the invocation of a
//! witnessed completion and vice versa); the fault windows; and the plots.

use super::nemesis::{nemesis_windows, NemesisWindow};
use super::plots::{self, process_name, Plot, PlotContext};
use super::svg::escape;
use super::{group_by_name, overall_validity, validity_name};
use crate::history::edn::to_edn;
use crate::history::{History, Op, OpType, Pairing, Value};
use crate::verdict::{Anomaly, Validity, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How many anomalies of one name are shown in full.
pub const ANOMALIES_SHOWN_MAX: usize = 20;
/// How many rows a witness table has at most.
pub const WITNESS_ROWS_MAX: usize = 50;
/// Longest value shown in a table cell, in characters.
pub const VALUE_CHARS_MAX: usize = 300;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}\
h1 .verdict,h2 .verdict{padding:.1em .5em;border-radius:4px;color:#fff}\
.valid{background:#2e7d32}.invalid{background:#c62828}.unknown{background:#6d6d6d}\
table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:13px}\
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.value{font-family:ui-monospace,monospace;max-width:560px;overflow-wrap:anywhere}\
tr.ok td.type{color:#2e7d32}tr.fail td.type{color:#c62828}tr.info td.type{color:#ef8c00}\
tr.partner{color:#777}.anomaly{margin:1em 0;padding:.2em 1em;border-left:4px solid #c62828;background:#fdf6f6}\
.anomaly.allowed{border-color:#9e9e9e;background:#f7f7f7}.explanation{font-weight:600}\
.caption{color:#555;font-size:13px}svg.plot{display:block;max-width:100%;height:auto}\
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#999}svg text{font-size:11px;fill:#333}\
svg .label{font-size:12px}";

/// The whole report page for a history, its pairing and the checkers' verdicts.
pub fn render_html(history: &History, pairing: &Pairing, verdicts: &[Verdict]) -> String {
    let validity = overall_validity(verdicts);
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>History check: {v}</title><style>{STYLE}</style></head><body>\n<h1>History check: <span class=\"verdict {v}\">{v}</span></h1>\n",
        v = validity_name(validity)
    );
    // A pairing of another history would index out of bounds: show what is safe to show.
    let consistent = pairing.partner.len() == history.ops.len();
    let windows = if consistent {
        nemesis_windows(history, pairing)
    } else {
        Vec::new()
    };
    summary(&mut out, history, pairing, consistent);
    for verdict in verdicts {
        verdict_section(&mut out, history, pairing, verdict);
    }
    windows_section(&mut out, history, &windows);
    if consistent {
        plots_section(&mut out, history, pairing, &windows, verdicts);
    }
    out.push_str("</body></html>\n");
    out
}

fn summary(out: &mut String, history: &History, pairing: &Pairing, consistent: bool) {
    let (t0, t1) = time_span(history);
    out.push_str("<h2>History</h2>\n<p>");
    let _ = write!(
        out,
        "{} operations over {:.3} s",
        history.ops.len(),
        (t1 - t0) as f64 / 1e9
    );
    if consistent {
        let count = |outcome: OpType| {
            let of = |p: &&crate::history::PairedOp| {
                p.completion.map(|c| history.ops[c].op_type) == Some(outcome)
            };
            pairing.client_ops.iter().filter(of).count()
        };
        let pending = pairing.client_ops.iter().filter(|p| p.completion.is_none());
        let _ = write!(
            out,
            ": {} client operations ({} ok, {} fail, {} info, {} pending) and {} nemesis operations",
            pairing.client_ops.len(),
            count(OpType::Ok),
            count(OpType::Fail),
            count(OpType::Info),
            pending.count(),
            pairing.nemesis_ops.len()
        );
    } else {
        out.push_str(" (the pairing given does not match this history: plots are left out)");
    }
    out.push_str(".</p>\n");
}

fn time_span(history: &History) -> (i64, i64) {
    let t0 = history.ops.iter().map(|op| op.time).min().unwrap_or(0);
    let t1 = history.ops.iter().map(|op| op.time).max().unwrap_or(0);
    (t0, t1)
}

fn verdict_section(out: &mut String, history: &History, pairing: &Pairing, verdict: &Verdict) {
    let v = validity_name(verdict.validity);
    let _ = writeln!(
        out,
        "<h2>{} <span class=\"verdict {v}\">{v}</span></h2>",
        escape(&verdict.checker)
    );
    if !verdict.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for note in &verdict.notes {
            let _ = write!(out, "<li>{}</li>", escape(note));
        }
        out.push_str("</ul>\n");
    }
    if verdict.anomalies.is_empty() {
        let none = match verdict.validity {
            Validity::Unknown => "No anomaly found, but the check did not finish.",
            Validity::Valid | Validity::Invalid => "No anomalies.",
        };
        let _ = writeln!(out, "<p>{none}</p>");
    }
    for (name, members) in group_by_name(&verdict.anomalies) {
        let failing = members.iter().any(|a| a.fails_run);
        let effect = if failing { "fails the run" } else { "allowed" };
        let _ = writeln!(
            out,
            "<h3 id=\"{}-{}\">{} <small>× {} ({effect})</small></h3>",
            escape(&verdict.checker),
            escape(name),
            escape(name),
            members.len()
        );
        for anomaly in members.iter().take(ANOMALIES_SHOWN_MAX) {
            anomaly_block(out, history, pairing, anomaly);
        }
        if members.len() > ANOMALIES_SHOWN_MAX {
            let more = members.len() - ANOMALIES_SHOWN_MAX;
            let _ = writeln!(
                out,
                "<p class=\"caption\">… and {more} more {}.</p>",
                escape(name)
            );
        }
    }
}

fn anomaly_block(out: &mut String, history: &History, pairing: &Pairing, anomaly: &Anomaly) {
    let class = if anomaly.fails_run {
        "anomaly"
    } else {
        "anomaly allowed"
    };
    let _ = write!(
        out,
        "<div class=\"{class}\"><p class=\"explanation\">{}</p>",
        escape(&anomaly.explanation)
    );
    let witnesses: BTreeSet<usize> = anomaly.witness_ops.iter().copied().collect();
    let mut rows: BTreeSet<usize> = witnesses.clone();
    rows.extend(
        witnesses
            .iter()
            .filter_map(|&w| pairing.partner.get(w).copied().flatten()),
    );
    if !rows.is_empty() {
        out.push_str("<table><tr><th>index</th><th>time (s)</th><th>process</th><th>type</th><th>f</th><th>value</th><th>error</th></tr>");
        for &row in rows.iter().take(WITNESS_ROWS_MAX) {
            match history.ops.get(row) {
                Some(op) => op_row(out, op, !witnesses.contains(&row)),
                None => {
                    let _ = write!(
                        out,
                        "<tr><td colspan=\"7\">op {row} is not in this history</td></tr>"
                    );
                }
            }
        }
        out.push_str("</table>");
        if rows.len() > WITNESS_ROWS_MAX {
            let more = rows.len() - WITNESS_ROWS_MAX;
            let _ = write!(out, "<p class=\"caption\">… and {more} more ops.</p>");
        }
    }
    out.push_str("</div>\n");
}

fn op_row(out: &mut String, op: &Op, is_partner: bool) {
    let kind = op.op_type.name();
    let class = if is_partner {
        format!("{kind} partner")
    } else {
        kind.to_string()
    };
    let error = op.error.as_ref().map(short_value).unwrap_or_default();
    let _ = write!(
        out,
        "<tr class=\"{class}\"><td>{}</td><td>{:.6}</td><td>{}</td><td class=\"type\">{kind}</td><td>{}</td><td class=\"value\">{}</td><td class=\"value\">{}</td></tr>",
        op.index,
        op.time as f64 / 1e9,
        escape(&process_name(&op.process)),
        escape(&op.f),
        escape(&short_value(&op.value)),
        escape(&error)
    );
}

/// A value as EDN text, cut to [`VALUE_CHARS_MAX`] characters.
fn short_value(value: &Value) -> String {
    let mut text = to_edn(value);
    if let Some((cut, _)) = text.char_indices().nth(VALUE_CHARS_MAX) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn windows_section(out: &mut String, history: &History, windows: &[NemesisWindow]) {
    if windows.is_empty() {
        return;
    }
    let (t0, _) = time_span(history);
    out.push_str("<h2>Faults</h2>\n<table><tr><th>fault</th><th>from (s)</th><th>to (s)</th></tr>");
    for window in windows {
        let open = if window.closed { "" } else { " (still open)" };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.3}{open}</td></tr>",
            escape(&window.name),
            (window.start - t0) as f64 / 1e9,
            (window.end - t0) as f64 / 1e9
        );
    }
    out.push_str("</table>\n");
}

fn plots_section(
    out: &mut String,
    history: &History,
    pairing: &Pairing,
    windows: &[NemesisWindow],
    verdicts: &[Verdict],
) {
    let (t0, t1) = time_span(history);
    let context = PlotContext {
        history,
        pairing,
        windows,
        t0,
        t1,
    };
    // The timeline centres on the first witness of the first anomaly that fails the run.
    let witnesses: BTreeSet<usize> = verdicts
        .iter()
        .flat_map(|v| &v.anomalies)
        .find(|a| a.fails_run)
        .map(|a| {
            a.witness_ops
                .iter()
                .copied()
                .filter(|&w| w < history.ops.len())
                .collect()
        })
        .unwrap_or_default();
    out.push_str("<h2>Plots</h2>\n");
    for plot in [
        plots::latency(&context),
        plots::throughput(&context),
        plots::timeline(&context, &witnesses),
    ] {
        plot_figure(out, &plot);
    }
}

fn plot_figure(out: &mut String, plot: &Plot) {
    let _ = writeln!(
        out,
        "<figure><figcaption><h3>{}</h3></figcaption>{}<p class=\"caption\">{}</p></figure>",
        escape(plot.title),
        plot.svg,
        escape(&plot.caption)
    );
}
