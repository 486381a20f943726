//! The report's three plots, each one `<svg>` element:
//! - latency over time: one mark per completed client op at its invocation time, colour by
//!   outcome (ok/fail/info), shape by `f`, log-scale milliseconds;
//! - throughput over time: completions per second per outcome, in 100 buckets;
//! - timeline: one row per process (a crashed process's successor reuses its row), one bar
//!   per op from invocation to completion (or to the end, if pending), witness ops outlined.
//!
//! All three shade nemesis windows. Big histories are thinned deterministically (every k-th
//! op) to keep the file small; captions say so.

use super::nemesis::NemesisWindow;
use super::svg::{escape, marker, Frame, Swatch, FAIL_COLOUR, INFO_COLOUR, OK_COLOUR, SHAPES};
use crate::history::edn::to_edn;
use crate::history::{History, OpType, PairedOp, Pairing, Process};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Most marks in the latency plot.
pub const LATENCY_POINTS_MAX: usize = 20_000;
/// Most bars in the timeline.
pub const TIMELINE_OPS_MAX: usize = 400;
/// Most rows in the timeline.
pub const TIMELINE_ROWS_MAX: usize = 64;
const THROUGHPUT_BUCKETS: usize = 100;
const NS_PER_S: f64 = 1e9;

/// A rendered plot and a caption saying what it shows (and what it left out).
pub struct Plot {
    /// Heading.
    pub title: &'static str,
    /// The `<svg>` element.
    pub svg: String,
    /// One sentence under the plot (already plain text; escape when embedding).
    pub caption: String,
}

/// What all plots share: the history, its pairing, the fault windows, and time zero.
pub struct PlotContext<'a> {
    /// The history.
    pub history: &'a History,
    /// Its pairing.
    pub pairing: &'a Pairing,
    /// Fault windows.
    pub windows: &'a [NemesisWindow],
    /// The earliest time in the history (ns): x = 0 on every plot.
    pub t0: i64,
    /// The latest time in the history (ns).
    pub t1: i64,
}

impl PlotContext<'_> {
    fn seconds(&self, time: i64) -> f64 {
        (time - self.t0) as f64 / NS_PER_S
    }

    fn x_range(&self) -> (f64, f64) {
        (0.0, self.seconds(self.t1))
    }

    fn shade_windows(&self, frame: &Frame, out: &mut String) {
        for window in self.windows {
            let state = if window.closed {
                ""
            } else {
                " (still open at the end)"
            };
            let title = format!(
                "{}: {:.3}s to {:.3}s{state}",
                window.name,
                self.seconds(window.start),
                self.seconds(window.end)
            );
            frame.shade(
                out,
                self.seconds(window.start),
                self.seconds(window.end),
                &title,
            );
        }
    }

    /// When an op ended: its completion's time, or the end of the history if pending.
    fn end_time(&self, paired: &PairedOp) -> i64 {
        paired
            .completion
            .map_or(self.t1, |c| self.history.ops[c].time)
    }

    fn completed(&self) -> impl Iterator<Item = (&PairedOp, usize)> + '_ {
        self.pairing
            .client_ops
            .iter()
            .filter_map(|paired| paired.completion.map(|c| (paired, c)))
    }
}

fn outcome_colour(outcome: OpType) -> &'static str {
    match outcome {
        OpType::Ok => OK_COLOUR,
        OpType::Fail => FAIL_COLOUR,
        OpType::Info | OpType::Invoke => INFO_COLOUR,
    }
}

fn outcome_legend() -> Vec<(Swatch, String)> {
    vec![
        (Swatch::Colour(OK_COLOUR), "ok".to_string()),
        (Swatch::Colour(FAIL_COLOUR), "fail".to_string()),
        (Swatch::Colour(INFO_COLOUR), "info".to_string()),
    ]
}

/// One mark per `stride`-th completed op: (invocation s, latency ms, shape, outcome), and
/// the shape of each `f`.
type LatencyPoints<'a> = (Vec<(f64, f64, usize, OpType)>, BTreeMap<&'a str, usize>);

fn latency_points<'a>(context: &PlotContext<'a>, stride: usize) -> LatencyPoints<'a> {
    let history = context.history;
    let mut shapes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut points = Vec::new();
    for (paired, completion) in context.completed().step_by(stride) {
        let invoke = &history.ops[paired.invoke];
        let done = &history.ops[completion];
        let latency_ms = ((done.time - invoke.time) as f64 / 1e6).max(1e-3);
        let next_shape = shapes.len();
        let shape = *shapes.entry(invoke.f.as_str()).or_insert(next_shape);
        points.push((
            context.seconds(invoke.time),
            latency_ms,
            shape,
            done.op_type,
        ));
    }
    (points, shapes)
}

/// Latency over time per `f` and outcome.
pub fn latency(context: &PlotContext<'_>) -> Plot {
    let completed = context.completed().count();
    let stride = completed.div_ceil(LATENCY_POINTS_MAX).max(1);
    let (points, shapes) = latency_points(context, stride);
    let y_max = points.iter().map(|p| p.1).fold(1.0, f64::max);
    let y_min = points.iter().map(|p| p.1).fold(y_max, f64::min).min(1.0);
    let y_range = (
        10f64.powf(y_min.log10().floor()),
        10f64.powf(y_max.log10().ceil()),
    );
    let frame = Frame::new(context.x_range(), y_range, true);
    let mut svg = String::new();
    frame.open(&mut svg, "Latency over time");
    context.shade_windows(&frame, &mut svg);
    frame.axes(&mut svg, "time (s)", "latency (ms)");
    for &(x, y, shape, outcome) in &points {
        marker(
            &mut svg,
            shape,
            frame.x(x),
            frame.y(y),
            outcome_colour(outcome),
        );
    }
    let mut legend = outcome_legend();
    legend.extend(
        shapes
            .iter()
            .map(|(f, &shape)| (Swatch::Shape(shape), f.to_string())),
    );
    if !context.windows.is_empty() {
        legend.push((Swatch::Band, "nemesis".to_string()));
    }
    frame.legend(&mut svg, &legend);
    svg.push_str("</svg>");
    let pending = context.pairing.client_ops.len() - completed;
    let mut caption = format!(
        "{} completed client ops; {pending} pending ops have no latency and are not shown.",
        completed
    );
    if stride > 1 {
        let _ = write!(
            caption,
            " Showing one op in {stride} ({} marks).",
            points.len()
        );
    }
    if shapes.len() > SHAPES {
        caption.push_str(" Shapes repeat: there are more functions than shapes.");
    }
    Plot {
        title: "Latency",
        svg,
        caption,
    }
}

/// Completions per second over time, per outcome.
pub fn throughput(context: &PlotContext<'_>) -> Plot {
    let (_, x_max) = context.x_range();
    let span = if x_max > 0.0 { x_max } else { 1.0 };
    let bucket_s = span / THROUGHPUT_BUCKETS as f64;
    let mut counts = [[0u64; THROUGHPUT_BUCKETS]; 3];
    for (_, completion) in context.completed() {
        let done = &context.history.ops[completion];
        let bucket = ((context.seconds(done.time) / bucket_s) as usize).min(THROUGHPUT_BUCKETS - 1);
        let series = match done.op_type {
            OpType::Ok => 0,
            OpType::Fail => 1,
            OpType::Info | OpType::Invoke => 2,
        };
        counts[series][bucket] += 1;
    }
    let rate = |count: u64| count as f64 / bucket_s;
    let y_max = counts
        .iter()
        .flatten()
        .map(|&c| rate(c))
        .fold(1.0, f64::max);
    let frame = Frame::new((0.0, span), (0.0, y_max * 1.05), false);
    let mut svg = String::new();
    frame.open(&mut svg, "Throughput over time");
    context.shade_windows(&frame, &mut svg);
    frame.axes(&mut svg, "time (s)", "completions per second");
    for (series, colour) in [OK_COLOUR, FAIL_COLOUR, INFO_COLOUR].iter().enumerate() {
        let points: Vec<String> = counts[series]
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let x = frame.x((i as f64 + 0.5) * bucket_s);
                format!("{x:.1},{:.1}", frame.y(rate(c)))
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
            points.join(" ")
        );
    }
    frame.legend(&mut svg, &outcome_legend());
    svg.push_str("</svg>");
    let caption = format!("Completions per second in buckets of {bucket_s:.3} s.");
    Plot {
        title: "Throughput",
        svg,
        caption,
    }
}

/// The slice of client ops (by invocation order) the timeline shows: centred on the first
/// witness op if there is one, else the start of the history.
fn timeline_slice(pairing: &Pairing, witnesses: &BTreeSet<usize>) -> std::ops::Range<usize> {
    let total = pairing.client_ops.len();
    let centre = witnesses
        .first()
        .map(|&w| {
            pairing
                .client_ops
                .partition_point(|p| p.invoke <= w)
                .saturating_sub(1)
        })
        .unwrap_or(0);
    let start = centre
        .saturating_sub(TIMELINE_OPS_MAX / 2)
        .min(total.saturating_sub(TIMELINE_OPS_MAX));
    start..(start + TIMELINE_OPS_MAX).min(total)
}

/// Timeline rows: which row each process is drawn in, and the processes of each row.
struct Lanes<'h> {
    of: BTreeMap<&'h Process, usize>,
    labels: Vec<Vec<&'h Process>>,
    dropped: usize,
}

/// Gives each process the lowest row whose previous process had finished all its shown ops
/// before this one's first invocation, so the process that replaces a crashed one (as
/// Jepsen's workers do) reuses its row.
fn assign_lanes<'h>(
    history: &'h History,
    shown: &[PairedOp],
    end_of: impl Fn(&PairedOp) -> i64,
) -> Lanes<'h> {
    let mut last_end: BTreeMap<&Process, i64> = BTreeMap::new();
    for paired in shown {
        let end = last_end
            .entry(&history.ops[paired.invoke].process)
            .or_insert(i64::MIN);
        *end = (*end).max(end_of(paired));
    }
    let mut lanes = Lanes {
        of: BTreeMap::new(),
        labels: Vec::new(),
        dropped: 0,
    };
    let mut lane_free_after: Vec<i64> = Vec::new();
    for paired in shown {
        let invoke = &history.ops[paired.invoke];
        if lanes.of.contains_key(&invoke.process) {
            continue;
        }
        let free = lane_free_after.iter().position(|&end| end < invoke.time);
        let lane = match free {
            Some(lane) => lane,
            None if lane_free_after.len() < TIMELINE_ROWS_MAX => {
                lane_free_after.push(i64::MIN);
                lanes.labels.push(Vec::new());
                lane_free_after.len() - 1
            }
            None => {
                lanes.dropped += 1;
                last_end.remove(&invoke.process);
                continue;
            }
        };
        lane_free_after[lane] = last_end.get(&invoke.process).copied().unwrap_or(i64::MAX);
        lanes.labels[lane].push(&invoke.process);
        lanes.of.insert(&invoke.process, lane);
    }
    lanes
}

/// A row's label: its processes, the middle ones elided when there are many.
fn lane_label(processes: &[&Process]) -> String {
    let names: Vec<String> = processes.iter().map(|p| process_name(p)).collect();
    if names.len() <= 3 {
        return names.join(",");
    }
    format!("{},{},…,{}", names[0], names[1], names[names.len() - 1])
}

/// One row per process (reused by successors of crashed processes), one bar per op; `witnesses` (history indexes) are outlined.
pub fn timeline(context: &PlotContext<'_>, witnesses: &BTreeSet<usize>) -> Plot {
    let history = context.history;
    let slice = timeline_slice(context.pairing, witnesses);
    let shown = &context.pairing.client_ops[slice.clone()];
    let end_of = |paired: &PairedOp| context.end_time(paired);
    let lanes = assign_lanes(history, shown, end_of);
    let x_lo = shown
        .first()
        .map_or(0.0, |p| context.seconds(history.ops[p.invoke].time));
    let x_hi = shown
        .iter()
        .map(|p| context.seconds(end_of(p)))
        .fold(x_lo, f64::max);
    let lane_count = lanes.labels.len().max(1) as f64;
    let mut frame = Frame::new((x_lo, x_hi), (0.0, lane_count), false);
    frame.height = (frame.top + frame.bottom + 16.0 * lane_count).max(120.0);
    frame.y_ticks = false;
    let mut svg = String::new();
    frame.open(&mut svg, "Timeline of operations per process");
    context.shade_windows(&frame, &mut svg);
    frame.axes(&mut svg, "time (s)", "process");
    draw_bars(&mut svg, context, &frame, shown, &lanes, witnesses);
    for (row, processes) in lanes.labels.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            frame.x_right() + 6.0,
            frame.y(row as f64 + 0.5) + 4.0,
            escape(&lane_label(processes))
        );
    }
    svg.push_str("</svg>");
    let mut caption = format!(
        "Client ops {} to {} of {} (by invocation), witness ops outlined.",
        slice.start,
        slice.end.saturating_sub(1),
        context.pairing.client_ops.len()
    );
    if lanes.dropped > 0 {
        let _ = write!(caption, " {} more processes not shown.", lanes.dropped);
    }
    Plot {
        title: "Timeline",
        svg,
        caption,
    }
}

/// One bar per op, in its process's row, outlined if it witnesses an anomaly.
fn draw_bars(
    svg: &mut String,
    context: &PlotContext<'_>,
    frame: &Frame,
    shown: &[PairedOp],
    lanes: &Lanes<'_>,
    witnesses: &BTreeSet<usize>,
) {
    let history = context.history;
    let end_of = |paired: &PairedOp| context.end_time(paired);
    let row_height = (frame.y(0.0) - frame.y(1.0)).abs();
    for paired in shown {
        let invoke = &history.ops[paired.invoke];
        let Some(&row) = lanes.of.get(&invoke.process) else {
            continue;
        };
        let x0 = frame.x(context.seconds(invoke.time));
        let x1 = frame.x(context.seconds(end_of(paired))).max(x0 + 1.5);
        let y = frame.y(row as f64 + 1.0) + 2.0;
        let is_witness = witnesses.contains(&paired.invoke)
            || paired.completion.is_some_and(|c| witnesses.contains(&c));
        let outline = if is_witness {
            r##" stroke="#000" stroke-width="2""##
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"{outline}><title>{}</title></rect>"#,
            x1 - x0,
            (row_height - 4.0).max(1.0),
            outcome_colour(paired.outcome(history)),
            escape(&bar_title(history, paired))
        );
    }
}

/// How a process is shown: its number, `nemesis`, or its name.
pub fn process_name(process: &Process) -> String {
    match process {
        Process::Client(p) => p.to_string(),
        Process::Nemesis => "nemesis".to_string(),
        Process::Named(name) => name.clone(),
    }
}

fn bar_title(history: &History, paired: &PairedOp) -> String {
    let invoke = &history.ops[paired.invoke];
    let mut title = format!("op {} {} {}", invoke.index, invoke.f, to_edn(&invoke.value));
    match paired.completion.map(|c| &history.ops[c]) {
        Some(done) => {
            let _ = write!(title, " → {} {}", done.op_type.name(), to_edn(&done.value));
        }
        None => title.push_str(" → pending"),
    }
    let mut chars = title.char_indices();
    if let Some((cut, _)) = chars.nth(200) {
        title.truncate(cut);
        title.push('…');
    }
    title
}
