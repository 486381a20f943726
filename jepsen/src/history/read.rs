//! Reading histories from files or text in either format, with one error type.
//!
//! Contract: [`read_history_file`] picks the format from the extension (`.jsonl`/`.json` →
//! JSON lines, `.edn` → EDN), or from the first character when the extension says nothing
//! (`{"` → JSON lines; `{:`, `[`, `#`, `;` → EDN). Every error is a [`HistoryError`] naming
//! the file, the line (and column where known), what was expected and what was found; bad
//! input never panics. Whole files are read into memory once and parsed in one pass.
//!
//! Operation fields are the same in both formats (names without colons here): `index`
//! (non-negative integer; missing → the op's position), `time` (integer ns; missing → 0),
//! `process` (an integer, `nemesis`, or another name), `type` (invoke|ok|fail|info), `f` (a
//! name; missing → empty), `value` (anything; missing → nil), `error` (anything; nil or
//! missing → none). Other fields are ignored. An EDN op may be a map or a
//! `#jepsen.history.Op{…}` record.

use super::edn::{self, EdnError};
use super::{jsonl, History, Op, OpType, Process, Value};
use std::path::{Path, PathBuf};

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Odradek's JSON lines.
    Jsonl,
    /// Jepsen's EDN.
    Edn,
}

impl Format {
    /// The format an extension implies: `.jsonl`/`.json` → JSON lines, `.edn` → EDN.
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            "edn" => Some(Format::Edn),
            _ => None,
        }
    }

    /// Guesses the format from the first non-blank characters of the text.
    pub fn sniff(text: &str) -> Option<Format> {
        let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        let mut chars = start.chars();
        match (chars.next()?, chars.find(|c| !c.is_whitespace())) {
            ('{', Some('"')) | ('{', Some('}')) => Some(Format::Jsonl),
            ('{', _) | ('[', _) | ('#', _) | (';', _) | ('(', _) => Some(Format::Edn),
            _ => None,
        }
    }

    /// `jsonl` or `edn`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
        }
    }
}

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}: line {line}: expected UTF-8 text, found invalid bytes", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line of the first invalid byte.
        line: usize,
    },
    /// Neither the extension nor the contents tell the format.
    #[error("{}: cannot tell the history format (expected a .jsonl or .edn file, or `{{\"`/`{{:` at the start)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The text is malformed (JSON or EDN).
    #[error(
        "{}line {line}, column {column}: expected {expected}, found {found}",
        file_prefix(file)
    )]
    Syntax {
        /// The file, when reading one.
        file: Option<PathBuf>,
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        column: usize,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// EDN nested deeper than [`edn::MAX_DEPTH`].
    #[error(
        "{}line {line}, column {column}: nesting deeper than {max_depth} levels",
        file_prefix(file)
    )]
    TooDeep {
        /// The file, when reading one.
        file: Option<PathBuf>,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The limit.
        max_depth: usize,
    },
    /// Well-formed text that is not a valid operation.
    #[error("{}line {line}: expected {expected}, found {found}", file_prefix(file))]
    InvalidOp {
        /// The file, when reading one.
        file: Option<PathBuf>,
        /// The line where the operation starts.
        line: usize,
        /// What was expected, e.g. "field `type` to be one of invoke|ok|fail|info".
        expected: String,
        /// What was found, e.g. `"done"` or "no such field".
        found: String,
    },
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|path| format!("{}: ", path.display()))
        .unwrap_or_default()
}

impl HistoryError {
    /// Attaches the file name to an error from parsing text.
    pub fn with_file(mut self, path: &Path) -> HistoryError {
        match &mut self {
            HistoryError::Syntax { file, .. }
            | HistoryError::TooDeep { file, .. }
            | HistoryError::InvalidOp { file, .. } => *file = Some(path.to_path_buf()),
            HistoryError::Io { .. }
            | HistoryError::NotUtf8 { .. }
            | HistoryError::UnknownFormat { .. } => {}
        }
        self
    }

    /// The line the error is on, if it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            HistoryError::Syntax { line, .. }
            | HistoryError::TooDeep { line, .. }
            | HistoryError::InvalidOp { line, .. }
            | HistoryError::NotUtf8 { line, .. } => Some(*line),
            HistoryError::Io { .. } | HistoryError::UnknownFormat { .. } => None,
        }
    }
}

impl From<EdnError> for HistoryError {
    fn from(error: EdnError) -> HistoryError {
        match error {
            EdnError::Syntax {
                line,
                column,
                expected,
                found,
            } => HistoryError::Syntax {
                file: None,
                line,
                column,
                expected,
                found,
            },
            EdnError::TooDeep {
                line,
                column,
                max_depth,
            } => HistoryError::TooDeep {
                file: None,
                line,
                column,
                max_depth,
            },
        }
    }
}

/// Reads a history file; `format = None` detects it (see the module docs).
pub fn read_history_file(
    path: impl AsRef<Path>,
    format: Option<Format>,
) -> Result<History, HistoryError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        HistoryError::NotUtf8 {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
        }
    })?;
    let format = format
        .or_else(|| Format::from_path(path))
        .or_else(|| Format::sniff(&text))
        .ok_or_else(|| HistoryError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    read_history_str(&text, format).map_err(|error| error.with_file(path))
}

/// Reads a history from text in the given format.
pub fn read_history_str(text: &str, format: Format) -> Result<History, HistoryError> {
    // Editors on some systems start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Jsonl => jsonl::read_history(text),
        Format::Edn => edn::read_history(text),
    }
}

/// Writes a history file in the given format (JSON lines or EDN, one op per line).
pub fn write_history_file(
    path: impl AsRef<Path>,
    history: &History,
    format: Format,
) -> Result<(), HistoryError> {
    let path = path.as_ref();
    let text = match format {
        Format::Jsonl => jsonl::to_string(history),
        Format::Edn => edn::history_to_edn(history),
    };
    std::fs::write(path, text).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Longest rendering of an offending value in an error message.
const FOUND_CHARS_MAX: usize = 80;

fn describe(value: &Value) -> String {
    let text = edn::to_edn(value);
    if text.chars().count() <= FOUND_CHARS_MAX {
        return text;
    }
    let short: String = text.chars().take(FOUND_CHARS_MAX).collect();
    format!("{short}…")
}

fn invalid(line: usize, expected: &str, found: String) -> HistoryError {
    HistoryError::InvalidOp {
        file: None,
        line,
        expected: expected.to_string(),
        found,
    }
}

/// The fields of one operation, as found (shared by the JSON-lines and EDN readers).
#[derive(Default)]
pub(crate) struct Fields {
    pub(crate) index: Option<Value>,
    pub(crate) time: Option<Value>,
    pub(crate) process: Option<Value>,
    pub(crate) op_type: Option<Value>,
    pub(crate) f: Option<Value>,
    pub(crate) value: Option<Value>,
    pub(crate) error: Option<Value>,
}

impl Fields {
    /// Records the field called `name` (the last one wins); other names are ignored.
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        let slot = match name {
            "index" => &mut self.index,
            "time" => &mut self.time,
            "process" => &mut self.process,
            "type" => &mut self.op_type,
            "f" => &mut self.f,
            "value" => &mut self.value,
            "error" => &mut self.error,
            _ => return,
        };
        *slot = Some(value);
    }
}

/// Converts a map (or `#jepsen.history.Op{…}` record) into an operation. `position` is the
/// op's place in the history (its index when it has none); `line` is for errors.
pub fn op_from_value(value: Value, position: u64, line: usize) -> Result<Op, HistoryError> {
    let expected = "an operation (a map or #jepsen.history.Op{…})";
    let entries = match value {
        Value::Map(entries) => entries,
        Value::Tagged(tag, inner) if is_op_record(&tag) => match *inner {
            Value::Map(entries) => entries,
            other => return Err(invalid(line, expected, describe(&other))),
        },
        other => return Err(invalid(line, expected, describe(&other))),
    };
    let mut fields = Fields::default();
    for (key, value) in entries {
        if let Some(name) = key.as_name() {
            fields.set(name, value);
        }
    }
    fields_to_op(fields, position, line)
}

fn is_op_record(tag: &str) -> bool {
    tag == "jepsen.history.Op" || tag.ends_with(".Op")
}

/// Validates the fields of one operation; see the module docs for the rules.
pub(crate) fn fields_to_op(fields: Fields, position: u64, line: usize) -> Result<Op, HistoryError> {
    let op_type = match &fields.op_type {
        Some(value) => value.as_name().and_then(OpType::from_name).ok_or_else(|| {
            let expected = "field `type` to be one of invoke|ok|fail|info";
            invalid(line, expected, describe(value))
        })?,
        None => {
            let expected = "field `type` (invoke|ok|fail|info)";
            return Err(invalid(line, expected, "nothing (missing or null)".into()));
        }
    };
    Ok(Op {
        index: index_field(fields.index, position, line)?,
        time: time_field(fields.time, line)?,
        process: process_field(fields.process, line)?,
        op_type,
        f: f_field(fields.f, line)?,
        value: fields.value.unwrap_or(Value::Nil),
        error: fields.error.filter(|error| *error != Value::Nil),
    })
}

fn index_field(index: Option<Value>, position: u64, line: usize) -> Result<u64, HistoryError> {
    match index {
        None | Some(Value::Nil) => Ok(position),
        Some(Value::Int(i)) if i >= 0 => Ok(i as u64),
        Some(other) => Err(invalid(
            line,
            "field `index` to be a non-negative integer",
            describe(&other),
        )),
    }
}

fn time_field(time: Option<Value>, line: usize) -> Result<i64, HistoryError> {
    match time {
        None | Some(Value::Nil) => Ok(0),
        Some(Value::Int(t)) => Ok(t),
        Some(other) => Err(invalid(
            line,
            "field `time` to be an integer (nanoseconds)",
            describe(&other),
        )),
    }
}

fn process_field(process: Option<Value>, line: usize) -> Result<Process, HistoryError> {
    let expected = "field `process` to be an integer, nemesis, or a name";
    match process {
        Some(Value::Int(p)) => Ok(Process::Client(p)),
        Some(value) => match value.as_name() {
            Some("nemesis") => Ok(Process::Nemesis),
            Some(name) => Ok(Process::Named(name.to_string())),
            None => Err(invalid(line, expected, describe(&value))),
        },
        None => Err(invalid(line, expected, "nothing (missing or null)".into())),
    }
}

fn f_field(f: Option<Value>, line: usize) -> Result<String, HistoryError> {
    match f {
        None | Some(Value::Nil) => Ok(String::new()),
        Some(Value::Keyword(name) | Value::Str(name) | Value::Symbol(name)) => Ok(name),
        Some(other) => Err(invalid(line, "field `f` to be a name", describe(&other))),
    }
}
