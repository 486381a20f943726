//! The EDN lexer: turns text into tokens (delimiters, `#` dispatch forms, and complete atoms
//! as [`Value`]s), tracking line and column for every token so errors can point at the input.
//!
//! Contract: a single forward pass over the bytes, O(length of input), no recursion. Strings
//! without escapes are copied with one allocation; the column of a position is only computed
//! when an error (or a caller) asks for it.
//!
//! Representations of EDN atoms without their own [`Value`] variant: a character (`\a`,
//! `\newline`, `\u00e9`) becomes a one-character string, a ratio (`1/3`) becomes a float, a
//! decimal with the `M` suffix becomes `Tagged("bigdec", Str(digits))` (lossless), and an
//! integer with the `N` suffix, or too large for 64 bits, becomes `BigInt` unless it fits in
//! an `i64`.

use super::EdnError;
use crate::history::value::{Float, Value};

/// A line (from 1) and a byte offset; the column is derived on demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Line number, from 1.
    pub line: usize,
    /// Byte offset of the start of that line.
    pub line_start: usize,
    /// Byte offset of the position.
    pub offset: usize,
}

impl Mark {
    /// The column (from 1, counted in characters) of this position in `text`.
    pub fn column(&self, text: &str) -> usize {
        text.get(self.line_start..self.offset)
            .map_or(1, |prefix| prefix.chars().count() + 1)
    }
}

/// The kinds of collection EDN has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollKind {
    /// `[…]`
    Vector,
    /// `(…)`
    List,
    /// `#{…}`
    Set,
    /// `{…}`
    Map,
}

impl CollKind {
    /// The closing delimiter.
    pub fn closer(self) -> u8 {
        match self {
            CollKind::Vector => b']',
            CollKind::List => b')',
            CollKind::Set | CollKind::Map => b'}',
        }
    }

    /// The opening delimiter as written.
    pub fn opener(self) -> &'static str {
        match self {
            CollKind::Vector => "[",
            CollKind::List => "(",
            CollKind::Set => "#{",
            CollKind::Map => "{",
        }
    }
}

/// One token.
#[derive(Debug, PartialEq)]
pub enum Token<'t> {
    /// An opening delimiter.
    Open(CollKind),
    /// A closing delimiter: `]`, `)` or `}`.
    Close(u8),
    /// `#_`: discard the next value.
    Discard,
    /// `#tag`: tag the next value.
    Tag(&'t str),
    /// A complete atom.
    Atom(Value),
}

/// The lexer state.
pub struct Lexer<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

/// Bytes that end a symbol, keyword, number or character token.
fn is_terminator(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b','
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'"'
            | b';'
            | b'\\'
    )
}

impl<'t> Lexer<'t> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'t str) -> Lexer<'t> {
        Lexer {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The current position.
    pub fn mark(&self) -> Mark {
        Mark {
            line: self.line,
            line_start: self.line_start,
            offset: self.pos,
        }
    }

    /// The whole input.
    pub fn text(&self) -> &'t str {
        self.text
    }

    fn error_at(&self, mark: Mark, expected: &str, found: String) -> EdnError {
        EdnError::Syntax {
            line: mark.line,
            column: mark.column(self.text),
            expected: expected.to_string(),
            found,
        }
    }

    /// Skips whitespace, commas and `;` comments; returns the next byte, if any.
    pub fn skip_blank(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b'\n' => self.newline_at(self.pos),
                b';' => {
                    while self.bytes.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return Some(b),
            }
        }
        None
    }

    fn newline_at(&mut self, newline: usize) {
        self.pos = newline + 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Consumes one byte known to be there (after [`Lexer::skip_blank`] returned it).
    pub fn bump(&mut self) {
        self.pos += 1;
    }

    /// The input from the current position on.
    pub fn rest(&self) -> &'t [u8] {
        &self.bytes[self.pos..]
    }

    /// Skips `count` bytes of ASCII the caller has just matched with [`Lexer::rest`].
    pub fn skip_matched(&mut self, count: usize) {
        self.pos = (self.pos + count).min(self.bytes.len());
    }

    /// Reads a keyword at the current position (which holds `:`) without allocating.
    pub fn keyword_name(&mut self) -> Result<&'t str, EdnError> {
        let start = self.mark();
        let text = self.bare_text();
        match text.strip_prefix(':') {
            Some(name) if !name.is_empty() && !name.starts_with(':') => Ok(name),
            _ => Err(self.error_at(start, "a keyword name", format!("`{text}`"))),
        }
    }

    /// The next token and where it starts, or `None` at the end of the input.
    pub fn next_token(&mut self) -> Result<Option<(Token<'t>, Mark)>, EdnError> {
        let Some(b) = self.skip_blank() else {
            return Ok(None);
        };
        let start = self.mark();
        let token = match b {
            b'[' => self.single(Token::Open(CollKind::Vector)),
            b'(' => self.single(Token::Open(CollKind::List)),
            b'{' => self.single(Token::Open(CollKind::Map)),
            b']' | b')' | b'}' => self.single(Token::Close(b)),
            b'"' => Token::Atom(Value::Str(self.string(start)?)),
            b'#' => self.dispatch(start)?,
            b'\\' => Token::Atom(Value::Str(self.character(start)?)),
            _ => Token::Atom(self.bare(start)?),
        };
        Ok(Some((token, start)))
    }

    fn single(&mut self, token: Token<'t>) -> Token<'t> {
        self.pos += 1;
        token
    }

    /// The text of a bare token (symbol, keyword, number) starting at the current position.
    fn bare_text(&mut self) -> &'t str {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|&b| !is_terminator(b)) {
            self.pos += 1;
        }
        // Terminators are ASCII, so these offsets are character boundaries.
        &self.text[start..self.pos]
    }

    fn bare(&mut self, start: Mark) -> Result<Value, EdnError> {
        let text = self.bare_text();
        let bytes = text.as_bytes();
        let starts_number = bytes[0].is_ascii_digit()
            || (matches!(bytes[0], b'+' | b'-') && bytes.get(1).is_some_and(u8::is_ascii_digit));
        if starts_number {
            return parse_number(text)
                .ok_or_else(|| self.error_at(start, "a number", format!("`{text}`")));
        }
        match text {
            "nil" => return Ok(Value::Nil),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        if let Some(name) = text.strip_prefix(':') {
            if name.is_empty() || name.starts_with(':') {
                return Err(self.error_at(start, "a keyword name", format!("`{text}`")));
            }
            return Ok(Value::Keyword(name.to_string()));
        }
        Ok(Value::Symbol(text.to_string()))
    }

    /// `#{`, `#_`, `##Inf`/`##-Inf`/`##NaN`, or `#tag`.
    fn dispatch(&mut self, start: Mark) -> Result<Token<'t>, EdnError> {
        self.pos += 1;
        match self.bytes.get(self.pos) {
            Some(b'{') => Ok(self.single(Token::Open(CollKind::Set))),
            Some(b'_') => Ok(self.single(Token::Discard)),
            Some(b'#') => {
                self.pos += 1;
                let name = self.bare_text();
                let value = match name {
                    "Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    "NaN" => f64::NAN,
                    _ => {
                        let found = format!("`##{name}`");
                        return Err(self.error_at(start, "##Inf, ##-Inf or ##NaN", found));
                    }
                };
                Ok(Token::Atom(Value::Float(Float(value))))
            }
            Some(b) if b.is_ascii_alphabetic() => Ok(Token::Tag(self.bare_text())),
            _ => {
                let found = self.describe_here();
                Err(self.error_at(start, "`{`, `_` or a tag name after `#`", found))
            }
        }
    }

    /// Describes what is at the current position, for an error message.
    pub fn describe_here(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "end of input".to_string(),
            Some(c) => format!("`{c}`"),
        }
    }

    fn string(&mut self, start: Mark) -> Result<String, EdnError> {
        self.pos += 1;
        let content_start = self.pos;
        // Fast path: no escapes.
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.error_at(start, "a closing `\"`", "end of input".into())),
                Some(b'"') => {
                    let content = &self.text[content_start..self.pos];
                    self.pos += 1;
                    return Ok(content.to_string());
                }
                Some(b'\\') => break,
                Some(b'\n') => {
                    self.line += 1;
                    self.line_start = self.pos + 1;
                    self.pos += 1;
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::from(&self.text[content_start..self.pos]);
        self.string_with_escapes(start, &mut out)?;
        Ok(out)
    }

    fn string_with_escapes(&mut self, start: Mark, out: &mut String) -> Result<(), EdnError> {
        loop {
            let run_start = self.pos;
            while self
                .bytes
                .get(self.pos)
                .is_some_and(|&b| b != b'"' && b != b'\\')
            {
                if self.bytes[self.pos] == b'\n' {
                    self.line += 1;
                    self.line_start = self.pos + 1;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.bytes.get(self.pos) {
                None => return Err(self.error_at(start, "a closing `\"`", "end of input".into())),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => out.push(self.escape()?),
            }
        }
    }

    fn escape(&mut self) -> Result<char, EdnError> {
        let at = self.mark();
        self.pos += 1;
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(self.error_at(at, "an escape character", "end of input".into()));
        };
        self.pos += 1;
        let c = match b {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'"' => '"',
            b'\\' => '\\',
            b'u' => return self.unicode_escape(at),
            _ => {
                self.pos -= 1;
                let found = format!("`\\{}`", self.describe_here().trim_matches('`'));
                return Err(self.error_at(
                    at,
                    "one of \\n \\t \\r \\b \\f \\\" \\\\ \\uXXXX",
                    found,
                ));
            }
        };
        Ok(c)
    }

    fn unicode_escape(&mut self, at: Mark) -> Result<char, EdnError> {
        let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
        let code = u32::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 4);
        match code.and_then(char::from_u32) {
            Some(c) => {
                self.pos += 4;
                Ok(c)
            }
            None => Err(self.error_at(at, "four hex digits after \\u", format!("`{hex}`"))),
        }
    }

    /// `\c`, `\newline`, `\space`, `\tab`, `\return`, `\formfeed`, `\backspace`, `\uXXXX`.
    fn character(&mut self, start: Mark) -> Result<String, EdnError> {
        self.pos += 1;
        let Some(first) = self.text[self.pos..].chars().next() else {
            return Err(self.error_at(start, "a character after `\\`", "end of input".into()));
        };
        let name_start = self.pos;
        self.pos += first.len_utf8();
        while self.bytes.get(self.pos).is_some_and(|&b| !is_terminator(b)) {
            self.pos += 1;
        }
        let name = &self.text[name_start..self.pos];
        if name.chars().count() == 1 {
            return Ok(name.to_string());
        }
        let named = match name {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "return" => Some('\r'),
            "formfeed" => Some('\u{c}'),
            "backspace" => Some('\u{8}'),
            _ => name
                .strip_prefix('u')
                .filter(|hex| hex.len() == 4)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32),
        };
        named
            .map(String::from)
            .ok_or_else(|| self.error_at(start, "a character name", format!("`\\{name}`")))
    }
}

/// Parses an EDN number token (see the module docs for representations).
fn parse_number(text: &str) -> Option<Value> {
    if let Some(digits) = text.strip_suffix('N') {
        return parse_integer(digits);
    }
    if let Some(decimal) = text.strip_suffix('M') {
        decimal.parse::<f64>().ok()?;
        let decimal = decimal.strip_prefix('+').unwrap_or(decimal);
        return Some(Value::Tagged(
            "bigdec".to_string(),
            Box::new(Value::Str(decimal.to_string())),
        ));
    }
    if let Some((numerator, denominator)) = text.split_once('/') {
        let n: f64 = all_digits(numerator)?.parse().ok()?;
        let unsigned = !denominator.is_empty() && denominator.bytes().all(|b| b.is_ascii_digit());
        let d: f64 = unsigned.then(|| denominator.parse().ok()).flatten()?;
        return (d != 0.0).then(|| Value::Float(Float(n / d)));
    }
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        let valid = text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        return valid
            .then(|| text.parse::<f64>().ok())
            .flatten()
            .map(|f| Value::Float(Float(f)));
    }
    parse_integer(text)
}

/// Checks that `text` is an optionally signed run of digits.
fn all_digits(text: &str) -> Option<&str> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    (!unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

fn parse_integer(text: &str) -> Option<Value> {
    all_digits(text)?;
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Int(i));
    }
    let negative = text.starts_with('-');
    let unsigned = text.trim_start_matches(['+', '-']).trim_start_matches('0');
    let sign = if negative { "-" } else { "" };
    Some(Value::BigInt(format!("{sign}{unsigned}")))
}
