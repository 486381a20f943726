//! The consumer's output template: `{topic} {partition} {offset} {timestamp} {key} {value}`
//! placeholders in free text, plus the escapes `\t`, `\n` and `\\`.
//!
//! Contract: [`OutputFormat::parse`] rejects an unknown or unclosed placeholder (a bad flag,
//! exit status 3); [`OutputFormat::render`] writes one record's line without the trailing
//! newline. Keys and values are printed as UTF-8 (invalid bytes replaced); a null key or value
//! prints as `null`, as kafka-console-consumer does.

/// One record as the consumer prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLine<'r> {
    /// Topic name.
    pub topic: &'r str,
    /// Partition index.
    pub partition: i32,
    /// Record offset.
    pub offset: i64,
    /// Record timestamp (ms since the epoch).
    pub timestamp: i64,
    /// Key, if not null.
    pub key: Option<&'r [u8]>,
    /// Value, if not null.
    pub value: Option<&'r [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Topic,
    Partition,
    Offset,
    Timestamp,
    Key,
    Value,
}

/// A parsed `--format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFormat {
    pieces: Vec<Piece>,
}

/// A template that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad --format {template:?}: {reason}")]
pub struct FormatError {
    /// The template given.
    pub template: String,
    /// What is wrong.
    pub reason: String,
}

impl Default for OutputFormat {
    fn default() -> Self {
        OutputFormat {
            pieces: vec![Piece::Value],
        }
    }
}

impl OutputFormat {
    /// Parses a template.
    pub fn parse(template: &str) -> Result<OutputFormat, FormatError> {
        let error = |reason: String| FormatError {
            template: template.to_string(),
            reason,
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = template.chars();
        while let Some(character) = chars.next() {
            match character {
                '{' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let piece = match name.as_str() {
                        "topic" => Piece::Topic,
                        "partition" => Piece::Partition,
                        "offset" => Piece::Offset,
                        "timestamp" => Piece::Timestamp,
                        "key" => Piece::Key,
                        "value" => Piece::Value,
                        other => return Err(error(format!("unknown placeholder {{{other}}}"))),
                    };
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(piece);
                }
                '\\' => match chars.next() {
                    Some('t') => text.push('\t'),
                    Some('n') => text.push('\n'),
                    Some('\\') => text.push('\\'),
                    Some(other) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => text.push('\\'),
                },
                other => text.push(other),
            }
        }
        pieces.push(Piece::Text(text));
        pieces.retain(|piece| !matches!(piece, Piece::Text(t) if t.is_empty()));
        Ok(OutputFormat { pieces })
    }

    /// Renders one record (no trailing newline).
    pub fn render(&self, record: &RecordLine<'_>) -> String {
        let bytes = |value: Option<&[u8]>| match value {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => "null".to_string(),
        };
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Topic => out.push_str(record.topic),
                Piece::Partition => out.push_str(&record.partition.to_string()),
                Piece::Offset => out.push_str(&record.offset.to_string()),
                Piece::Timestamp => out.push_str(&record.timestamp.to_string()),
                Piece::Key => out.push_str(&bytes(record.key)),
                Piece::Value => out.push_str(&bytes(record.value)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'r>(key: Option<&'r [u8]>, value: Option<&'r [u8]>) -> RecordLine<'r> {
        RecordLine {
            topic: "events",
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_000,
            key,
            value,
        }
    }

    #[test]
    fn the_default_format_prints_only_the_value() {
        let line = OutputFormat::default().render(&record(Some(b"k"), Some(b"hello")));
        assert_eq!(line, "hello");
    }

    #[test]
    fn every_placeholder_and_escape_is_substituted() {
        let format =
            OutputFormat::parse(r"{topic}/{partition}@{offset} {timestamp}\t{key}={value}")
                .unwrap();
        let line = format.render(&record(Some(b"k1"), Some(b"v1")));
        assert_eq!(line, "events/2@41 1700000000000\tk1=v1");
    }

    #[test]
    fn null_keys_and_values_print_as_null() {
        let format = OutputFormat::parse("{key}:{value}").unwrap();
        assert_eq!(format.render(&record(None, None)), "null:null");
    }

    #[test]
    fn an_unknown_placeholder_is_rejected() {
        let error = OutputFormat::parse("{headers}").unwrap_err();
        assert!(error.reason.contains("{headers}"), "{error}");
    }
}
