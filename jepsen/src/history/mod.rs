//! Histories: what clients (and the nemesis) did, one operation per entry, as Jepsen records
//! them. An invocation (`type = invoke`) is later completed by the same process with `ok`
//! (it happened), `fail` (it certainly did not happen) or `info` (unknown: it may have
//! happened, at any time after its invocation). Nemesis operations (faults) are kept for
//! plots and reports but are not client operations.
//!
//! Formats: Odradek's native JSON lines (one [`Op`] per line) and Jepsen's EDN (see the
//! `edn` module). [`pairing`] matches invocations with completions per process the way
//! Jepsen does.

pub mod edn;
pub mod jsonl;
pub mod pairing;
pub mod read;
pub mod value;

pub use pairing::{pair, PairedOp, Pairing, PairingError};
pub use read::{read_history_file, read_history_str, Format, HistoryError};
pub use value::{Float, Value};

/// invoke | ok | fail | info.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpType {
    /// The operation started.
    Invoke,
    /// The operation completed and took effect.
    Ok,
    /// The operation completed and certainly did not take effect.
    Fail,
    /// The outcome is unknown: it may or may not have taken effect.
    Info,
}

impl OpType {
    /// The Jepsen name (`"invoke"`, `"ok"`, `"fail"`, `"info"`).
    pub fn name(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    /// Parses a Jepsen type name.
    pub fn from_name(name: &str) -> Option<OpType> {
        match name {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }
}

/// Who performed an operation: a numbered client process, or the nemesis.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    /// A client process (Jepsen: an integer).
    Client(i64),
    /// The fault injector (Jepsen: `:nemesis`).
    Nemesis,
    /// Any other named process; treated like a client.
    Named(String),
}

impl Process {
    /// Is this the nemesis?
    pub fn is_nemesis(&self) -> bool {
        matches!(self, Process::Nemesis)
    }
}

/// One entry of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Jepsen's `:index` as read; an op without one gets its position in the history. (Kept
    /// as read so messages match the file; witnesses and pairings use positions in `ops`.)
    pub index: u64,
    /// Nanoseconds since the start of the test.
    pub time: i64,
    /// Who did it.
    pub process: Process,
    /// invoke / ok / fail / info.
    pub op_type: OpType,
    /// The function, e.g. `send`, `poll`, `txn`, `read`, `write`, `cas`.
    pub f: String,
    /// The argument (on invoke) or result (on completion).
    pub value: Value,
    /// An error description, if the operation failed or is indeterminate.
    pub error: Option<Value>,
}

/// A whole history, in order.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The operations, in the order they happened.
    pub ops: Vec<Op>,
    /// For a history read from a file: the line each op starts on (parallel to `ops`), so
    /// errors found after reading (pairing, malformed values) can name the line. Empty for
    /// histories built in memory. Not part of equality.
    pub source_lines: Vec<u32>,
}

impl PartialEq for History {
    fn eq(&self, other: &History) -> bool {
        self.ops == other.ops
    }
}

impl History {
    /// A history of these ops, with no source lines.
    pub fn from_ops(ops: Vec<Op>) -> History {
        History {
            ops,
            source_lines: Vec::new(),
        }
    }

    /// Where the op with Jepsen index `index` came from: `line N` when the history was read
    /// from a file, else `op N`.
    pub fn locate(&self, index: u64) -> String {
        let position = self.ops.iter().position(|op| op.index == index);
        match position.and_then(|p| self.source_lines.get(p)) {
            Some(line) => format!("line {line}"),
            None => format!("op {index}"),
        }
    }
}
