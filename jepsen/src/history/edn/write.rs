//! Writing [`Value`]s and histories as EDN, the way Jepsen prints them: keywords with a
//! colon, maps as `{:k v, …}`, strings with escapes. Used for Jepsen-compatible output and
//! for showing values readably in reports and error messages.
//!
//! Round trip: for values the reader produces, `parse_one(&to_edn(v)) == v`, except that
//! characters were already read as strings and ratios as floats.

use crate::history::{History, Op, Process, Value};
use std::fmt::Write as _;

/// The EDN text of a value.
pub fn to_edn(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Appends the EDN text of a value to `out`.
pub fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(digits) => {
            out.push_str(digits);
            out.push('N');
        }
        Value::Float(f) => write_float(f.0, out),
        Value::Str(s) => write_string(s, out),
        Value::Keyword(k) => {
            out.push(':');
            out.push_str(k);
        }
        Value::Symbol(s) => out.push_str(s),
        Value::Vector(items) => write_seq("[", items, "]", out),
        Value::List(items) => write_seq("(", items, ")", out),
        Value::Set(items) => write_seq("#{", items, "}", out),
        Value::Map(entries) => write_map(entries, out),
        Value::Tagged(tag, inner) => match (tag.as_str(), inner.as_ref()) {
            ("bigdec", Value::Str(digits)) => {
                out.push_str(digits);
                out.push('M');
            }
            _ => {
                out.push('#');
                out.push_str(tag);
                if !matches!(inner.as_ref(), Value::Map(_)) {
                    out.push(' ');
                }
                write_value(inner, out);
            }
        },
    }
}

fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("##NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "##Inf" } else { "##-Inf" });
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f:?}");
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_seq(open: &str, items: &[Value], close: &str, out: &mut String) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(item, out);
    }
    out.push_str(close);
}

fn write_map(entries: &[(Value, Value)], out: &mut String) {
    out.push('{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(key, out);
        out.push(' ');
        write_value(value, out);
    }
    out.push('}');
}

/// Can `name` be written as a keyword and read back as the same name?
fn is_keyword_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || "*+!-_?<>=".contains(c))
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "*+!-_?<>=./$%&'".contains(c))
        && !name.ends_with('/')
}

fn write_name(name: &str, out: &mut String) {
    if is_keyword_name(name) {
        out.push(':');
        out.push_str(name);
    } else {
        write_string(name, out);
    }
}

/// Appends one operation as a Jepsen op map.
pub fn write_op(op: &Op, out: &mut String) {
    let _ = write!(
        out,
        "{{:index {}, :time {}, :type :{}, :process ",
        op.index,
        op.time,
        op.op_type.name()
    );
    match &op.process {
        Process::Client(p) => {
            let _ = write!(out, "{p}");
        }
        Process::Nemesis => out.push_str(":nemesis"),
        Process::Named(name) => write_name(name, out),
    }
    out.push_str(", :f ");
    write_name(&op.f, out);
    out.push_str(", :value ");
    write_value(&op.value, out);
    if let Some(error) = &op.error {
        out.push_str(", :error ");
        write_value(error, out);
    }
    out.push('}');
}

/// A whole history as Jepsen's `history.edn`: one op map per line.
pub fn history_to_edn(history: &History) -> String {
    let mut out = String::with_capacity(history.ops.len() * 100);
    for op in &history.ops {
        write_op(op, &mut out);
        out.push('\n');
    }
    out
}
