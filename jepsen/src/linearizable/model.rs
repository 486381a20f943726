//! The contract between the linearizability search and a sequential specification.
//!
//! A [`Model`] is a value of the specification's state: the search clones it, steps it with
//! operations, and memoizes on it (hence `Eq + Hash`). Operations are parsed once, before the
//! search, from the history's invocation and completion ([`RawOp`]) into the model's own
//! typed [`Model::Op`], so the search never looks at EDN values and a malformed operation is
//! reported before any work is done.
//!
//! Parsing also says which partition an operation belongs to: operations on different
//! partitions must commute and never constrain each other (P-compositionality), which lets
//! the checker search each partition alone. Models whose state is one object answer
//! [`PartitionKey::Whole`].

use crate::history::Value;
use std::fmt::Debug;
use std::hash::Hash;

/// How an operation that is searched completed. (`fail` operations never happened and are
/// dropped before parsing.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// `ok`: it took effect between its invocation and its completion.
    Ok,
    /// `info`, or never completed: it may have taken effect at any time after its
    /// invocation, or never.
    Indeterminate,
}

/// One client operation as the history recorded it, handed to [`Model::parse_op`].
///
/// Under `jepsen.independent` tuples (see [`crate::linearizable::IndependentKeys`]) the checker
/// has already stripped the `[key value]` wrapper: `invoke_value` and `completion_value` are
/// the inner values and the key is the partition.
#[derive(Clone, Copy, Debug)]
pub struct RawOp<'h> {
    /// The function, e.g. `read`, `write`, `cas`.
    pub f: &'h str,
    /// The invocation's value (what the client asked for).
    pub invoke_value: &'h Value,
    /// The `ok` completion's value (what the client observed); `None` when indeterminate.
    pub completion_value: Option<&'h Value>,
    /// How it completed.
    pub completion: Completion,
}

impl<'h> RawOp<'h> {
    /// The value that describes what the operation did, as Knossos reads it: the `ok`
    /// completion's value (a read's result), falling back to the invocation's value when the
    /// completion has none (`nil`) or the operation is indeterminate.
    pub fn effective_value(&self) -> &'h Value {
        match self.completion_value {
            Some(value) if *value != Value::Nil => value,
            _ => self.invoke_value,
        }
    }
}

/// Which independent part of the state an operation touches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartitionKey {
    /// The model is one object; all operations are searched together.
    Whole,
    /// Operations with equal keys are searched together, apart from all others.
    Key(Value),
}

/// A parsed operation and its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedOp<O> {
    /// Its partition.
    pub partition: PartitionKey,
    /// What the model steps with.
    pub op: O,
}

/// A sequential specification: its value is the state.
///
/// Implement it for your own data type and pass an initial state to
/// [`crate::linearizable::check_with_model`]. Every partition starts from a clone of that
/// initial state.
pub trait Model: Clone + Eq + Hash + Debug + Send + Sync {
    /// The model's own operation type, parsed from the history once. Equal operations must
    /// act alike in every state (the search treats equal indeterminate operations as
    /// interchangeable).
    type Op: Clone + Eq + Hash + Debug + Send + Sync;

    /// The model's name, for verdicts (`register`, `cas-register`, `kv`).
    fn name(&self) -> String;

    /// Parses one operation.
    ///
    /// `Ok(None)` declares the operation irrelevant: it neither changes the state nor
    /// constrains it (an indeterminate read, say), so the search may leave it out.
    /// `Err(expected)` describes what a well-formed operation looks like, e.g.
    /// ``"value [old new] for f `cas`"``; the checker adds the operation's index.
    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<Self::Op>>, String>;

    /// Applies `op` to this state: the next state, or `None` if the operation cannot have
    /// happened in this state (a read that does not match, a compare-and-set whose
    /// expected value is not there).
    fn step(&self, op: &Self::Op) -> Option<Self>;

    /// Is `op` read-only: in every state where [`Model::step`] accepts it, does it leave the
    /// state unchanged? Then the search may linearize it as soon as it is accepted and try
    /// nothing else first (moving a read-only op earlier, to a point where it is accepted
    /// and concurrent, keeps any linearization valid), which removes the interleavings of
    /// reads from the search. Answering `true` wrongly makes the checker unsound; the
    /// default `false` is always safe.
    fn is_read_only(op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// A short human description of the state, for witnesses.
    fn describe_state(&self) -> String {
        format!("{self:?}")
    }
}
