//! Odradek's native history format: JSON lines, one operation per line.
//!
//! Each line is an object `{"index": 0, "time": 1234, "process": 0, "type": "invoke",
//! "f": "send", "value": …, "error": …}` (`error` only when present). `process` is an
//! integer, `"nemesis"`, or another string; `value` and `error` use the JSON mapping of
//! [`Value`](crate::history::Value). Reading skips blank lines, gives ops without `index`
//! their position, and reports errors by line (see [`crate::history::read`] for the field
//! rules shared with EDN). Writing and reading round-trip every history whose values come
//! from either reader.

use super::read::{fields_to_op, Fields, HistoryError};
use super::{History, Op, Process, Value};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// One line as written.
#[derive(Serialize)]
struct OpLine<'a> {
    index: u64,
    time: i64,
    process: ProcessJson<'a>,
    #[serde(rename = "type")]
    op_type: &'static str,
    f: &'a str,
    value: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ProcessJson<'a> {
    Client(i64),
    Name(&'a str),
}

/// One line as read: every field optional, so missing ones get a clear error of our own.
#[derive(Deserialize)]
struct RawLine {
    index: Option<serde_json::Value>,
    time: Option<serde_json::Value>,
    process: Option<serde_json::Value>,
    #[serde(rename = "type")]
    op_type: Option<serde_json::Value>,
    f: Option<serde_json::Value>,
    value: Option<serde_json::Value>,
    error: Option<serde_json::Value>,
}

fn op_line(op: &Op) -> OpLine<'_> {
    OpLine {
        index: op.index,
        time: op.time,
        process: match &op.process {
            Process::Client(p) => ProcessJson::Client(*p),
            Process::Nemesis => ProcessJson::Name("nemesis"),
            Process::Named(name) => ProcessJson::Name(name),
        },
        op_type: op.op_type.name(),
        f: &op.f,
        value: op.value.to_json(),
        error: op.error.as_ref().map(Value::to_json),
    }
}

/// One operation as a JSON line (without the newline).
pub fn op_to_line(op: &Op) -> String {
    // Serializing plain structs of JSON values to a string cannot fail.
    serde_json::to_string(&op_line(op)).unwrap_or_default()
}

/// Writes a history as JSON lines.
pub fn write_history(history: &History, out: impl Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    for op in &history.ops {
        serde_json::to_writer(&mut out, &op_line(op))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A history as JSON-lines text.
pub fn to_string(history: &History) -> String {
    let mut out = String::with_capacity(history.ops.len() * 100);
    for op in &history.ops {
        out.push_str(&op_to_line(op));
        out.push('\n');
    }
    out
}

/// Reads a history from JSON-lines text. Errors carry no file name (see
/// [`HistoryError::with_file`]).
pub fn read_history(text: &str) -> Result<History, HistoryError> {
    let mut ops = Vec::with_capacity(text.len() / 128);
    for (number, line) in text.lines().enumerate() {
        let line_number = number + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let position = ops.len() as u64;
        ops.push(read_line(trimmed, line, line_number, position)?);
    }
    Ok(History { ops })
}

fn read_line(trimmed: &str, line: &str, number: usize, position: u64) -> Result<Op, HistoryError> {
    if !trimmed.starts_with('{') {
        let found: String = trimmed.chars().take(40).collect();
        let column = 1 + line.len() - line.trim_start().len();
        return Err(HistoryError::Syntax {
            file: None,
            line: number,
            column,
            expected: "a JSON object (one operation per line)".into(),
            found: format!("`{found}`"),
        });
    }
    let raw: RawLine = serde_json::from_str(line).map_err(|error| syntax(error, line, number))?;
    let convert = |field: Option<serde_json::Value>| field.map(|json| Value::from_json(&json));
    let fields = Fields {
        index: convert(raw.index),
        time: convert(raw.time),
        process: convert(raw.process),
        op_type: convert(raw.op_type),
        f: convert(raw.f),
        value: convert(raw.value),
        error: convert(raw.error),
    };
    fields_to_op(fields, position, number)
}

fn syntax(error: serde_json::Error, line: &str, number: usize) -> HistoryError {
    let message = error.to_string();
    // serde_json appends " at line L column C"; the line is ours, the column is kept.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head);
    // serde_json counts columns in bytes; report characters.
    let byte_column = error.column().min(line.len());
    let column = line
        .get(..byte_column)
        .map_or(byte_column, |prefix| prefix.chars().count())
        .max(1);
    HistoryError::Syntax {
        file: None,
        line: number,
        column,
        expected: "a valid JSON object".into(),
        found: message.to_string(),
    }
}
