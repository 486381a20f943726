//! The fast path for histories: a top-level op (`{…}` or `#jepsen.history.Op{…}`) is read
//! entry by entry straight into the op's fields, without allocating its keys or building
//! the map. Values are parsed by the general parser; anything that is not a map at the top
//! level falls back to it entirely. The result and the errors are the same as parsing the
//! whole value and converting it (tests compare both).

use super::lexer::Mark;
use super::parser::Parser;
use super::EdnError;
use crate::history::read::Fields;
use crate::history::Value;

/// How Jepsen writes an op record; other spellings take the general path.
const OP_RECORD_OPEN: &[u8] = b"#jepsen.history.Op{";

/// What the next top-level value is.
pub(crate) enum NextOp {
    /// The input is exhausted.
    End,
    /// A map or op record, with the line it starts on.
    Fields(Fields, usize),
    /// Any other value (converted by the caller, which reports it if it is not an op).
    Other(Value, usize),
}

enum Key<'t> {
    Name(&'t str),
    Value(Value),
}

impl<'t> Parser<'t> {
    /// Reads the next top-level value, taking the fast path for op maps.
    pub(crate) fn next_op(&mut self) -> Result<NextOp, EdnError> {
        if self.finished {
            return Ok(NextOp::End);
        }
        let Some(b) = self.lexer.skip_blank() else {
            self.end_of_input()?;
            return Ok(NextOp::End);
        };
        let line = self.lexer.mark().line;
        if b != b'{' {
            if !self.lexer.rest().starts_with(OP_RECORD_OPEN) {
                return Ok(match self.next_value_at()? {
                    Some((value, start)) => NextOp::Other(value, start.line),
                    None => NextOp::End,
                });
            }
            self.lexer.skip_matched(OP_RECORD_OPEN.len() - 1);
        }
        let opened = self.lexer.mark();
        self.lexer.bump();
        let mut fields = Fields::default();
        while let Some(key) = self.map_key(opened)? {
            let value = self.map_value(opened)?;
            match key {
                Key::Name(name) => fields.set(name, value),
                Key::Value(key) => {
                    if let Some(name) = key.as_name() {
                        fields.set(name, value);
                    }
                }
            }
        }
        Ok(NextOp::Fields(fields, line))
    }

    /// The next key, or `None` after the closing `}`.
    fn map_key(&mut self, opened: Mark) -> Result<Option<Key<'t>>, EdnError> {
        self.skip_discards(opened)?;
        match self.lexer.skip_blank() {
            Some(b'}') => {
                self.lexer.bump();
                Ok(None)
            }
            Some(b':') => Ok(Some(Key::Name(self.lexer.keyword_name()?))),
            Some(b']' | b')') | None => Err(self.unclosed(opened)),
            Some(_) => Ok(Some(Key::Value(self.nested_value(opened)?))),
        }
    }

    fn map_value(&mut self, opened: Mark) -> Result<Value, EdnError> {
        self.skip_discards(opened)?;
        match self.lexer.skip_blank() {
            Some(b'}') => {
                let at = self.position(opened);
                let expected = format!(
                    "an even number of forms in the map opened at line {}, column {}",
                    at.line, at.column
                );
                Err(self.syntax(self.lexer.mark(), expected, "`}`".into()))
            }
            Some(b']' | b')') | None => Err(self.unclosed(opened)),
            Some(_) => self.nested_value(opened),
        }
    }

    /// One complete value inside the map (the caller has ruled out closers and the end).
    fn nested_value(&mut self, opened: Mark) -> Result<Value, EdnError> {
        match self.next_value_at()? {
            Some((value, _)) => Ok(value),
            None => Err(self.unclosed(opened)),
        }
    }

    /// Skips `#_ value` forms before a key or value (`#_ #_ a b` discards both).
    fn skip_discards(&mut self, opened: Mark) -> Result<(), EdnError> {
        let mut pending = 0usize;
        loop {
            let next = self.lexer.skip_blank();
            if next == Some(b'#') && self.lexer.rest().starts_with(b"#_") {
                self.lexer.skip_matched(2);
                pending += 1;
                continue;
            }
            if pending == 0 {
                return Ok(());
            }
            if matches!(next, Some(b'}' | b']' | b')') | None) {
                let found = self.lexer.describe_here();
                let expected = "a value after `#_`".to_string();
                return Err(self.syntax(self.lexer.mark(), expected, found));
            }
            self.nested_value(opened)?;
            pending -= 1;
        }
    }

    fn unclosed(&self, opened: Mark) -> EdnError {
        let at = self.position(opened);
        let expected = format!(
            "`}}` to close `{{` opened at line {}, column {}",
            at.line, at.column
        );
        let found = self.lexer.describe_here();
        self.syntax(self.lexer.mark(), expected, found)
    }
}
