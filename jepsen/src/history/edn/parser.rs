//! The EDN parser: builds [`Value`]s from the lexer's tokens with an explicit stack (never
//! recursion), so deeply nested input cannot overflow the thread's stack; nesting deeper than
//! [`MAX_DEPTH`] is a clear error instead.
//!
//! It yields top-level values one at a time ([`Parser::next_value`]), so a history of a
//! million operations is never held as one giant value. [`Parser::enter_outer_vector`] lets
//! a caller stream the elements of a single top-level vector the same way.

use super::lexer::{CollKind, Lexer, Mark, Token};
use super::{EdnError, MAX_DEPTH};
use crate::history::value::Value;

/// Where a top-level value started: line and column, both from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

enum Frame {
    /// An open collection whose items so far are `Parser::items[first..]`.
    Collection {
        kind: CollKind,
        first: usize,
        opened: Mark,
    },
    Tag {
        tag: String,
    },
    Discard,
}

/// A streaming EDN parser over one text.
pub struct Parser<'t> {
    pub(super) lexer: Lexer<'t>,
    stack: Vec<Frame>,
    /// The items of every open collection, innermost last: one buffer reused for the whole
    /// input, so each finished collection costs exactly one allocation of its exact size.
    items: Vec<Value>,
    /// Set while streaming the elements of a top-level vector: where it opened.
    outer_vector: Option<Mark>,
    /// The closer of the top-level sequence: `]` for a vector, `)` for a list (Knossos
    /// writes its histories as one top-level list).
    outer_closer: u8,
    pub(super) finished: bool,
    /// The last top-level start position and its column, so that columns of successive
    /// values on one very long line are counted incrementally (linear, not quadratic).
    column_cache: (Mark, usize),
}

impl<'t> Parser<'t> {
    /// A parser at the start of `text`.
    pub fn new(text: &'t str) -> Parser<'t> {
        Parser {
            lexer: Lexer::new(text),
            stack: Vec::new(),
            items: Vec::new(),
            outer_vector: None,
            outer_closer: b']',
            finished: false,
            column_cache: (Lexer::new(text).mark(), 1),
        }
    }

    /// If the input starts with `[` (or `(`, a top-level list as Knossos writes), consumes
    /// it so that [`Parser::next_value`] yields the sequence's elements, and returns true.
    pub fn enter_outer_vector(&mut self) -> bool {
        self.outer_closer = match self.lexer.skip_blank() {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => return false,
        };
        self.outer_vector = Some(self.lexer.mark());
        self.lexer.bump();
        true
    }

    pub(super) fn position(&self, mark: Mark) -> Position {
        Position {
            line: mark.line,
            column: mark.column(self.lexer.text()),
        }
    }

    /// The position of a top-level value's start, using and updating the column cache.
    pub(super) fn start_position(&mut self, mark: Mark) -> Position {
        let (cached, cached_column) = self.column_cache;
        let column = if cached.line_start == mark.line_start && cached.offset <= mark.offset {
            let between = self
                .lexer
                .text()
                .get(cached.offset..mark.offset)
                .unwrap_or("");
            cached_column + between.chars().count()
        } else {
            mark.column(self.lexer.text())
        };
        self.column_cache = (mark, column);
        Position {
            line: mark.line,
            column,
        }
    }

    pub(super) fn syntax(&self, mark: Mark, expected: String, found: String) -> EdnError {
        let at = self.position(mark);
        EdnError::Syntax {
            line: at.line,
            column: at.column,
            expected,
            found,
        }
    }

    /// The next complete top-level value and where it starts; `None` at the end.
    pub fn next_value(&mut self) -> Result<Option<(Value, Position)>, EdnError> {
        match self.next_value_at()? {
            Some((value, start)) => Ok(Some((value, self.start_position(start)))),
            None => Ok(None),
        }
    }

    /// Like [`Parser::next_value`], with the start as a [`Mark`] (no column computed).
    pub(super) fn next_value_at(&mut self) -> Result<Option<(Value, Mark)>, EdnError> {
        if self.finished {
            return Ok(None);
        }
        let mut start = self.lexer.mark();
        loop {
            let Some((token, mark)) = self.lexer.next_token()? else {
                return self.end_of_input().map(|()| None);
            };
            if self.stack.is_empty() {
                start = mark;
            }
            let value = match token {
                Token::Atom(value) => value,
                Token::Open(kind) => {
                    self.push(
                        Frame::Collection {
                            kind,
                            first: self.items.len(),
                            opened: mark,
                        },
                        mark,
                    )?;
                    continue;
                }
                Token::Tag(tag) => {
                    let tag = tag.to_string();
                    self.push(Frame::Tag { tag }, mark)?;
                    continue;
                }
                Token::Discard => {
                    self.push(Frame::Discard, mark)?;
                    continue;
                }
                Token::Close(closer) => match self.close(closer, mark)? {
                    Some(value) => value,
                    None => return Ok(None),
                },
            };
            if let Some(done) = self.deliver(value) {
                return Ok(Some((done, start)));
            }
        }
    }

    fn push(&mut self, frame: Frame, mark: Mark) -> Result<(), EdnError> {
        if self.stack.len() >= MAX_DEPTH {
            let at = self.position(mark);
            return Err(EdnError::TooDeep {
                line: at.line,
                column: at.column,
                max_depth: MAX_DEPTH,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Hands a finished value to the innermost open frame; returns it if it is top-level.
    fn deliver(&mut self, mut value: Value) -> Option<Value> {
        loop {
            match self.stack.last_mut() {
                None => return Some(value),
                Some(Frame::Collection { .. }) => {
                    self.items.push(value);
                    return None;
                }
                Some(Frame::Tag { tag }) => {
                    let tag = std::mem::take(tag);
                    self.stack.pop();
                    value = Value::Tagged(tag, Box::new(value));
                }
                Some(Frame::Discard) => {
                    self.stack.pop();
                    return None;
                }
            }
        }
    }

    /// Closes the innermost collection; `Ok(None)` when it closes the outer vector.
    fn close(&mut self, closer: u8, mark: Mark) -> Result<Option<Value>, EdnError> {
        let found = || format!("`{}`", closer as char);
        match self.stack.pop() {
            Some(Frame::Collection {
                kind,
                first,
                opened,
            }) if kind.closer() == closer => {
                let items = self.items.drain(first..);
                match build(kind, items) {
                    Some(value) => Ok(Some(value)),
                    None => {
                        let at = self.position(opened);
                        let expected = format!(
                            "an even number of forms in the map opened at line {}, column {}",
                            at.line, at.column
                        );
                        Err(self.syntax(mark, expected, found()))
                    }
                }
            }
            Some(Frame::Collection { kind, opened, .. }) => {
                let at = self.position(opened);
                let expected = format!(
                    "`{}` to close `{}` opened at line {}, column {}",
                    kind.closer() as char,
                    kind.opener(),
                    at.line,
                    at.column
                );
                Err(self.syntax(mark, expected, found()))
            }
            Some(Frame::Tag { tag }) => {
                Err(self.syntax(mark, format!("a value after `#{tag}`"), found()))
            }
            Some(Frame::Discard) => Err(self.syntax(mark, "a value after `#_`".into(), found())),
            None if closer == self.outer_closer && self.outer_vector.is_some() => {
                self.finish_outer_vector()?;
                Ok(None)
            }
            None => Err(self.syntax(mark, "a value".into(), found())),
        }
    }

    fn finish_outer_vector(&mut self) -> Result<(), EdnError> {
        self.outer_vector = None;
        self.finished = true;
        if self.lexer.skip_blank().is_some() {
            let found = self.lexer.describe_here();
            let mark = self.lexer.mark();
            return Err(self.syntax(mark, "end of input after the vector".into(), found));
        }
        Ok(())
    }

    pub(super) fn end_of_input(&mut self) -> Result<(), EdnError> {
        let end = self.lexer.mark();
        let found = "end of input".to_string();
        match self.stack.last() {
            None => match self.outer_vector {
                Some(opened) => {
                    let at = self.position(opened);
                    let (closer, opener) = match self.outer_closer {
                        b')' => (')', '('),
                        _ => (']', '['),
                    };
                    let expected = format!(
                        "`{closer}` to close `{opener}` opened at line {}, column {}",
                        at.line, at.column
                    );
                    Err(self.syntax(end, expected, found))
                }
                None => {
                    self.finished = true;
                    Ok(())
                }
            },
            Some(Frame::Collection { kind, opened, .. }) => {
                let at = self.position(*opened);
                let expected = format!(
                    "`{}` to close `{}` opened at line {}, column {}",
                    kind.closer() as char,
                    kind.opener(),
                    at.line,
                    at.column
                );
                Err(self.syntax(end, expected, found))
            }
            Some(Frame::Tag { tag }) => {
                let expected = format!("a value after `#{tag}`");
                Err(self.syntax(end, expected, found))
            }
            Some(Frame::Discard) => Err(self.syntax(end, "a value after `#_`".into(), found)),
        }
    }
}

/// Builds a collection value from its items; `None` for a map with an odd number of forms.
fn build(kind: CollKind, mut items: std::vec::Drain<'_, Value>) -> Option<Value> {
    Some(match kind {
        CollKind::Vector => Value::Vector(items.collect()),
        CollKind::List => Value::List(items.collect()),
        CollKind::Set => Value::Set(items.collect()),
        CollKind::Map => {
            if items.len() & 1 == 1 {
                return None;
            }
            let mut entries = Vec::with_capacity(items.len() / 2);
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                entries.push((key, value));
            }
            Value::Map(entries)
        }
    })
}
