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
use super::{Float, History, Op, Process, Value};
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
    index: Option<JsonValue>,
    time: Option<JsonValue>,
    process: Option<JsonValue>,
    #[serde(rename = "type")]
    op_type: Option<JsonValue>,
    f: Option<JsonValue>,
    value: Option<JsonValue>,
    error: Option<JsonValue>,
}

/// A [`Value`] deserialized straight from JSON with the mapping of
/// [`Value::from_json`] (same result, without building a `serde_json::Value` first).
struct JsonValue(Value);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(JsonValueVisitor)
            .map(JsonValue)
    }
}

struct JsonValueVisitor;

impl<'de> serde::de::Visitor<'de> for JsonValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or_else(|_| Value::BigInt(u.to_string()), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(Float(f)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Vector(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some((key, JsonValue(value))) = map.next_entry::<String, JsonValue>()? {
            entries.push((key, value));
        }
        Ok(object_to_value(entries))
    }
}

/// The object rules of [`Value::from_json`]: keys in order, the last of duplicates winning;
/// then `#set`, `#map` and `#tag` objects, otherwise a map with string keys.
fn object_to_value(mut entries: Vec<(String, Value)>) -> Value {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // The stable sort kept duplicates in input order: keep the last of each run.
    let mut unique: Vec<(String, Value)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        match unique.last_mut() {
            Some((last, slot)) if *last == key => *slot = value,
            _ => unique.push((key, value)),
        }
    }
    match unique.as_mut_slice() {
        [(key, Value::Vector(items))] if key == "#set" => Value::Set(std::mem::take(items)),
        [(key, Value::Vector(pairs))] if key == "#map" => {
            let pairs = std::mem::take(pairs)
                .into_iter()
                .filter_map(|pair| match pair {
                    Value::Vector(kv) if kv.len() == 2 => {
                        let mut kv = kv.into_iter();
                        Some((kv.next()?, kv.next()?))
                    }
                    _ => None,
                });
            Value::Map(pairs.collect())
        }
        [(tag_key, Value::Str(tag)), (value_key, value)]
            if tag_key == "#tag" && value_key == "value" =>
        {
            match (tag.as_str(), value) {
                ("bigint", Value::Str(digits)) => Value::BigInt(std::mem::take(digits)),
                (_, value) => {
                    let value = std::mem::replace(value, Value::Nil);
                    Value::Tagged(std::mem::take(tag), Box::new(value))
                }
            }
        }
        _ => Value::Map(
            unique
                .into_iter()
                .map(|(key, value)| (Value::Str(key), value))
                .collect(),
        ),
    }
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
    let mut source_lines = Vec::with_capacity(text.len() / 128);
    for (number, line) in text.lines().enumerate() {
        let line_number = number + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let position = ops.len() as u64;
        ops.push(read_line(trimmed, line, line_number, position)?);
        source_lines.push(u32::try_from(line_number).unwrap_or(u32::MAX));
    }
    Ok(History { ops, source_lines })
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
    let convert = |field: Option<JsonValue>| field.map(|JsonValue(value)| value);
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
