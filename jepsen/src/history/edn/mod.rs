//! Jepsen's EDN: a complete EDN reader into [`Value`], and histories from EDN text.
//!
//! The reader supports everything Jepsen histories contain and the rest of EDN: `nil`,
//! booleans, integers (`N` suffix and out-of-range literals become [`Value::BigInt`]),
//! decimals with the `M` suffix, floats with exponents, `##Inf`/`##NaN`, ratios, strings with
//! escapes, characters, symbols, keywords (also namespaced), lists, vectors, maps, sets,
//! `;` comments, `#_` discards, commas as whitespace, and tagged literals (`#inst`, `#uuid`,
//! and any other tag, kept as [`Value::Tagged`]). Jepsen's record literal
//! `#jepsen.history.Op{…}` is a tagged map. See [`lexer`] for how atoms without their own
//! [`Value`] variant are represented.
//!
//! A history file is either a sequence of operations (one per line in Jepsen's
//! `history.edn`, though any whitespace separates them) or a single vector of operations.
//! Either way it is parsed one operation at a time, in linear time, with nesting bounded by
//! [`MAX_DEPTH`] so hostile input gives an error rather than a stack overflow. Every error
//! names the line and column; [`crate::history::read`] adds the file name.

pub mod lexer;
mod ops;
pub mod parser;
pub mod write;

pub use parser::{Parser, Position};
pub use write::{history_to_edn, to_edn};

use super::read::{fields_to_op, op_from_value, HistoryError};
use super::{History, Value};

/// The deepest nesting of collections and tags the reader accepts. Real histories nest a
/// handful of levels; the bound keeps recursive consumers (drop, clone, printing) safe.
pub const MAX_DEPTH: usize = 256;

/// Malformed EDN text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EdnError {
    /// The text is not EDN at this position.
    #[error("line {line}, column {column}: expected {expected}, found {found}")]
    Syntax {
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        column: usize,
        /// What the reader expected here.
        expected: String,
        /// What it found instead.
        found: String,
    },
    /// Collections or tags nest deeper than [`MAX_DEPTH`].
    #[error("line {line}, column {column}: nesting deeper than {max_depth} levels")]
    TooDeep {
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        column: usize,
        /// The limit.
        max_depth: usize,
    },
}

/// Parses every top-level value in `text`, with where each starts.
pub fn parse_all(text: &str) -> Result<Vec<(Value, Position)>, EdnError> {
    let mut parser = Parser::new(text);
    let mut values = Vec::new();
    while let Some(value) = parser.next_value()? {
        values.push(value);
    }
    Ok(values)
}

/// Parses text holding exactly one value (surrounding blanks and comments allowed).
pub fn parse_one(text: &str) -> Result<Value, EdnError> {
    let mut parser = Parser::new(text);
    let Some((value, _)) = parser.next_value()? else {
        return Err(EdnError::Syntax {
            line: 1,
            column: 1,
            expected: "a value".into(),
            found: "end of input".into(),
        });
    };
    if let Some((_, at)) = parser.next_value()? {
        return Err(EdnError::Syntax {
            line: at.line,
            column: at.column,
            expected: "end of input after one value".into(),
            found: "another value".into(),
        });
    }
    Ok(value)
}

/// Reads a history from EDN text: operations one after another, or one vector of them.
/// An operation without `:index` gets its position; errors carry no file name (see
/// [`HistoryError::with_file`]).
pub fn read_history(text: &str) -> Result<History, HistoryError> {
    let mut parser = Parser::new(text);
    parser.enter_outer_vector();
    // Jepsen ops take roughly 100 bytes of EDN each; reserving avoids most regrowth.
    let mut ops = Vec::with_capacity(text.len() / 128);
    let mut source_lines = Vec::with_capacity(text.len() / 128);
    loop {
        let position = ops.len() as u64;
        let (op, line) = match parser.next_op()? {
            ops::NextOp::End => break,
            ops::NextOp::Fields(fields, line) => (fields_to_op(fields, position, line)?, line),
            ops::NextOp::Other(value, line) => (op_from_value(value, position, line)?, line),
        };
        ops.push(op);
        source_lines.push(u32::try_from(line).unwrap_or(u32::MAX));
    }
    Ok(History { ops, source_lines })
}
