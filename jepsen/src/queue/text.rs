//! Rendering keys and values for one-line explanations, and building [`Anomaly`] records.
//!
//! Values print as EDN (`:x`, `"s"`, `[1 2]`), so explanations read like Jepsen's output.

use super::parse::{NodeId, Parsed};
use crate::history::{Process, Value};
use crate::verdict::Anomaly;
use std::fmt::Write;

/// At most this many witnessing operations are kept per anomaly (the explanation says how
/// many there were), so one huge anomaly cannot swamp a report.
pub const WITNESS_OPS_MAX: usize = 64;

/// An anomaly witnessed by `nodes`; `fails_run` starts true and the allowed-set rules in
/// the module root decide the final value.
pub(crate) fn found(
    parsed: &Parsed<'_>,
    name: &str,
    explanation: String,
    nodes: Vec<NodeId>,
) -> Anomaly {
    let witnesses = nodes
        .into_iter()
        .map(|n| parsed.nodes[n as usize].witness())
        .collect();
    found_at(name, explanation, witnesses)
}

/// Like [`found`], with history indexes instead of operations.
pub(crate) fn found_at(name: &str, explanation: String, mut witnesses: Vec<usize>) -> Anomaly {
    witnesses.sort_unstable();
    witnesses.dedup();
    witnesses.truncate(WITNESS_OPS_MAX);
    Anomaly {
        name: name.to_string(),
        fails_run: true,
        explanation,
        witness_ops: witnesses,
    }
}

/// EDN rendering of a value.
pub(crate) fn fmt_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(digits) => {
            let _ = write!(out, "{digits}N");
        }
        Value::Float(f) => {
            let _ = write!(out, "{}", f.0);
        }
        Value::Str(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::Keyword(k) => {
            let _ = write!(out, ":{k}");
        }
        Value::Symbol(s) => out.push_str(s),
        Value::Vector(items) => write_seq(out, "[", items, "]"),
        Value::List(items) => write_seq(out, "(", items, ")"),
        Value::Set(items) => write_seq(out, "#{", items, "}"),
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push(' ');
                write_value(out, v);
            }
            out.push('}');
        }
        Value::Tagged(tag, inner) => {
            let _ = write!(out, "#{tag} ");
            write_value(out, inner);
        }
    }
}

fn write_seq(out: &mut String, open: &str, items: &[Value], close: &str) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, item);
    }
    out.push_str(close);
}

/// `a, b, c` for at most `max` items, then `… (n more)`.
pub(crate) fn list_capped(items: impl ExactSizeIterator<Item = String>, max: usize) -> String {
    let total = items.len();
    let mut shown: Vec<String> = items.take(max).collect();
    if total > max {
        shown.push(format!("... ({} more)", total - max));
    }
    shown.join(", ")
}

/// A process as Jepsen prints it: `3`, `:nemesis`, or its name.
pub(crate) fn fmt_process(process: &Process) -> String {
    match process {
        Process::Client(n) => n.to_string(),
        Process::Nemesis => ":nemesis".to_string(),
        Process::Named(name) => name.clone(),
    }
}
