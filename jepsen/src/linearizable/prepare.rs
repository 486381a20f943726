//! From a history to the partitions the search works on.
//!
//! Pairs invocations with completions (`history::pair`), drops `fail` operations (they never
//! happened), unwraps `jepsen.independent` `[key value]` tuples when asked to (or when
//! [`IndependentKeys::Auto`] recognises them), lets the model parse every remaining
//! operation, groups operations by partition in invocation order, and leaves out the
//! indeterminate operations nothing could have observed. Every malformed
//! operation is reported here, with its index, before any search starts.

use super::model::{Completion, Model, ParsedOp, PartitionKey, RawOp};
use super::models::normalize;
use super::{IndependentKeys, LinearizableError};
use crate::history::{pair, History, OpType, PairedOp, Value};
use std::collections::BTreeMap;

/// One operation as the search sees it.
#[derive(Clone, Debug)]
pub(crate) struct SearchOp<O> {
    /// Index into `History::ops` of the invocation.
    pub invoke: usize,
    /// Index of the completion, if any (also for `info` completions).
    pub completion: Option<usize>,
    /// `ok`: it must take effect before its completion. Otherwise it may take effect at any
    /// time after its invocation, or never.
    pub must_happen: bool,
    /// The model's operation.
    pub op: O,
}

/// The operations of one partition, in invocation order.
#[derive(Clone, Debug)]
pub(crate) struct Partition<O> {
    pub key: PartitionKey,
    pub ops: Vec<SearchOp<O>>,
}

/// Everything the search needs, plus counts for the report.
#[derive(Clone, Debug)]
pub(crate) struct Prepared<O> {
    /// Partitions in key order.
    pub partitions: Vec<Partition<O>>,
    /// Were `[key value]` tuples unwrapped?
    pub independent: bool,
    /// `fail` operations dropped.
    pub failed_ops: usize,
    /// Operations that cannot change the answer, left out: those the model declared
    /// irrelevant (e.g. indeterminate reads) and indeterminate ones invoked after the last
    /// `ok` completion of their partition.
    pub irrelevant_ops: usize,
}

/// Prepares `history` for `model`; see the module docs.
pub(crate) fn prepare<M: Model>(
    history: &History,
    model: &M,
    independent_keys: IndependentKeys,
) -> Result<Prepared<M::Op>, LinearizableError> {
    let pairing = pair(history)?;
    let independent = match independent_keys {
        IndependentKeys::Always => true,
        IndependentKeys::Never => false,
        IndependentKeys::Auto => looks_independent(history, &pairing.client_ops, model),
    };
    let mut by_key: BTreeMap<PartitionKey, Vec<SearchOp<M::Op>>> = BTreeMap::new();
    let (mut failed_ops, mut irrelevant_ops) = (0, 0);
    for paired in &pairing.client_ops {
        let outcome = paired.outcome(history);
        if outcome == OpType::Fail {
            failed_ops += 1;
            continue;
        }
        let Some(parsed) = parse_one(history, paired, outcome, model, independent)? else {
            irrelevant_ops += 1;
            continue;
        };
        by_key.entry(parsed.partition).or_default().push(SearchOp {
            invoke: paired.invoke,
            completion: paired.completion,
            must_happen: outcome == OpType::Ok,
            op: parsed.op,
        });
    }
    let mut partitions = Vec::with_capacity(by_key.len());
    for (key, mut ops) in by_key {
        irrelevant_ops += drop_trailing_indeterminate(&mut ops);
        if !ops.is_empty() {
            partitions.push(Partition { key, ops });
        }
    }
    Ok(Prepared {
        partitions,
        independent,
        failed_ops,
        irrelevant_ops,
    })
}

/// Drops the indeterminate operations invoked after the partition's last `ok` completion:
/// nothing observed them, so a linearization may always leave them out. (Pending
/// operations at the end of a test are the common case.) Answers how many were dropped.
fn drop_trailing_indeterminate<O>(ops: &mut Vec<SearchOp<O>>) -> usize {
    let last_ok = ops
        .iter()
        .filter(|op| op.must_happen)
        .filter_map(|op| op.completion)
        .max();
    let before = ops.len();
    ops.retain(|op| op.must_happen || last_ok.is_some_and(|last| op.invoke < last));
    before - ops.len()
}

/// Parses one `ok`/`info`/pending operation, unwrapping an independent tuple if asked to.
fn parse_one<M: Model>(
    history: &History,
    paired: &PairedOp,
    outcome: OpType,
    model: &M,
    independent: bool,
) -> Result<Option<ParsedOp<M::Op>>, LinearizableError> {
    let invoke = &history.ops[paired.invoke];
    let completion_value = match (outcome, paired.completion) {
        (OpType::Ok, Some(c)) => Some(&history.ops[c].value),
        _ => None,
    };
    let malformed = |expected: String| LinearizableError::MalformedOp {
        index: invoke.index,
        f: invoke.f.clone(),
        value: super::models::show(&invoke.value),
        expected,
    };
    let completion = if outcome == OpType::Ok {
        Completion::Ok
    } else {
        Completion::Indeterminate
    };
    let mut raw = RawOp {
        f: &invoke.f,
        invoke_value: &invoke.value,
        completion_value,
        completion,
    };
    let mut tuple_key = None;
    if independent {
        const TUPLE: &str = "a jepsen.independent [key value] tuple";
        let (key, inner) = split_tuple(&invoke.value).ok_or_else(|| malformed(TUPLE.into()))?;
        raw.invoke_value = inner;
        if let Some(value) = completion_value.filter(|v| **v != Value::Nil) {
            let (_, inner) = split_tuple(value)
                .ok_or_else(|| malformed(format!("{TUPLE} as the completion's value")))?;
            raw.completion_value = Some(inner);
        }
        tuple_key = Some(normalize(key));
    }
    let Some(mut parsed) = model.parse_op(&raw).map_err(malformed)? else {
        return Ok(None);
    };
    if let Some(key) = tuple_key {
        parsed.partition = match parsed.partition {
            PartitionKey::Whole => PartitionKey::Key(key),
            PartitionKey::Key(inner) => PartitionKey::Key(Value::Vector(vec![key, inner])),
        };
    }
    Ok(Some(parsed))
}

fn split_tuple(value: &Value) -> Option<(&Value, &Value)> {
    match value.as_seq()? {
        [key, inner] => Some((key, inner)),
        _ => None,
    }
}

/// [`IndependentKeys::Auto`]: every client invocation's value is a `[key value]` tuple (a
/// plain register read invokes with `nil`, so plain histories never qualify), and the model
/// treats the unwrapped first operation as a whole-object operation (a model that
/// partitions by itself, like kv, already expects `[key value]`).
fn looks_independent<M: Model>(history: &History, client_ops: &[PairedOp], model: &M) -> bool {
    let Some(first) = client_ops.first() else {
        return false;
    };
    let all_tuples = client_ops
        .iter()
        .all(|op| split_tuple(&history.ops[op.invoke].value).is_some());
    if !all_tuples {
        return false;
    }
    let invoke = &history.ops[first.invoke];
    let Some((_, inner)) = split_tuple(&invoke.value) else {
        return false;
    };
    let raw = RawOp {
        f: &invoke.f,
        invoke_value: inner,
        completion_value: None,
        completion: Completion::Indeterminate,
    };
    match model.parse_op(&raw) {
        Ok(Some(parsed)) => parsed.partition == PartitionKey::Whole,
        Ok(None) => true,
        Err(_) => false,
    }
}
