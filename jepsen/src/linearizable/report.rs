//! The checker's answer: per-partition outcomes, the violation's witness in terms of history
//! operations, and the conversion into the common [`Verdict`].

use super::model::{Model, PartitionKey};
use super::models::show;
use super::prepare::{Prepared, SearchOp};
use super::search::{GaveUp, SearchOutcome, SearchResult, Witness};
use crate::history::{History, Process};
use crate::verdict::{Anomaly, Validity, Verdict};

/// How many linearized operations before the blocked one are cited as witnesses.
const WITNESS_PREFIX_OPS: usize = 5;

/// The result of a linearizability check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearizableReport {
    /// The model's name.
    pub model: String,
    /// Invalid if a partition is nonlinearizable, else unknown if a budget ran out, else
    /// valid.
    pub validity: Validity,
    /// Were `jepsen.independent` `[key value]` tuples unwrapped?
    pub independent_keys: bool,
    /// Operations searched (`ok`, `info` and pending, minus irrelevant ones).
    pub searched_ops: usize,
    /// `fail` operations, dropped because they never happened.
    pub failed_ops: usize,
    /// Operations left out because they cannot change the answer: those the model declared
    /// irrelevant (indeterminate reads, wildcard reads) and indeterminate operations invoked
    /// after their partition's last `ok` completion.
    pub irrelevant_ops: usize,
    /// One entry per partition, in key order.
    pub partitions: Vec<PartitionReport>,
    /// The first nonlinearizable partition's witness (in key order), if any.
    pub violation: Option<Violation>,
}

/// What the search found for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionReport {
    /// The partition.
    pub key: PartitionKey,
    /// Operations searched in it.
    pub op_count: usize,
    /// Search steps taken.
    pub steps: u64,
    /// The answer.
    pub outcome: PartitionOutcome,
}

/// One partition's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionOutcome {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    Nonlinearizable,
    /// A budget ran out first.
    Unknown(UnknownReason),
    /// Not searched to the end: an earlier partition (in key order) is nonlinearizable.
    NotChecked,
}

/// Which budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownReason {
    /// `max_steps` for this partition.
    StepBudget,
    /// `max_duration` for the whole check.
    TimeBudget,
}

/// A history operation, by index, with a description for humans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRef {
    /// Index into `History::ops` of the invocation.
    pub invoke: usize,
    /// Index of the completion, if any.
    pub completion: Option<usize>,
    /// E.g. `op 7: process 2 read → ok 3`.
    pub description: String,
}

/// Evidence that a partition is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The partition.
    pub partition: PartitionKey,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<OpRef>,
    /// The operation that could not be placed after that prefix.
    pub blocked: OpRef,
    /// The model state after the prefix, then other states reached at the same depth.
    pub states: Vec<String>,
    /// One line for humans.
    pub explanation: String,
}

/// Assembles the report from the search outcomes (one per partition, in key order).
pub(crate) fn build<M: Model>(
    history: &History,
    initial: &M,
    prepared: &Prepared<M::Op>,
    outcomes: Vec<SearchOutcome<M>>,
) -> LinearizableReport {
    let mut partitions = Vec::with_capacity(outcomes.len());
    let mut violation = None;
    for (partition, outcome) in prepared.partitions.iter().zip(outcomes) {
        let result = match outcome.result {
            SearchResult::Linearizable => PartitionOutcome::Linearizable,
            SearchResult::Nonlinearizable(witness) => {
                if violation.is_none() {
                    violation = Some(violation_of(
                        history,
                        &partition.key,
                        &partition.ops,
                        witness,
                    ));
                }
                PartitionOutcome::Nonlinearizable
            }
            SearchResult::GaveUp(GaveUp::Steps) => {
                PartitionOutcome::Unknown(UnknownReason::StepBudget)
            }
            SearchResult::GaveUp(GaveUp::Time) => {
                PartitionOutcome::Unknown(UnknownReason::TimeBudget)
            }
            SearchResult::GaveUp(GaveUp::Cancelled) => PartitionOutcome::NotChecked,
        };
        partitions.push(PartitionReport {
            key: partition.key.clone(),
            op_count: partition.ops.len(),
            steps: outcome.steps,
            outcome: result,
        });
    }
    let validity = if violation.is_some() {
        Validity::Invalid
    } else if partitions
        .iter()
        .all(|p| p.outcome == PartitionOutcome::Linearizable)
    {
        Validity::Valid
    } else {
        Validity::Unknown
    };
    LinearizableReport {
        model: initial.name(),
        validity,
        independent_keys: prepared.independent,
        searched_ops: prepared.partitions.iter().map(|p| p.ops.len()).sum(),
        failed_ops: prepared.failed_ops,
        irrelevant_ops: prepared.irrelevant_ops,
        partitions,
        violation,
    }
}

fn violation_of<M: Model>(
    history: &History,
    key: &PartitionKey,
    ops: &[SearchOp<M::Op>],
    witness: Witness<M>,
) -> Violation {
    let op_ref = |position: usize| {
        let op = &ops[position];
        OpRef {
            invoke: op.invoke,
            completion: op.completion,
            description: describe_op(history, op.invoke, op.completion),
        }
    };
    let prefix: Vec<OpRef> = witness.prefix.iter().map(|&p| op_ref(p)).collect();
    let blocked = op_ref(witness.blocked);
    let states: Vec<String> = witness.states.iter().map(M::describe_state).collect();
    let after = match prefix.last() {
        Some(last) => format!(
            "the longest linearizable prefix found has {} ops, ending with {}",
            prefix.len(),
            last.description
        ),
        None => "no operation can be linearized before it".to_string(),
    };
    let state_text = match states.split_first() {
        Some((first, [])) => first.clone(),
        Some((first, others)) => format!("{first} (or {})", others.join(", or ")),
        None => "unknown".to_string(),
    };
    let explanation = format!(
        "{}{} cannot be linearized: {after}; the model is then {state_text}",
        partition_prefix(key),
        blocked.description
    );
    Violation {
        partition: key.clone(),
        prefix,
        blocked,
        states,
        explanation,
    }
}

fn partition_prefix(key: &PartitionKey) -> String {
    match key {
        PartitionKey::Whole => String::new(),
        PartitionKey::Key(value) => format!("key {}: ", show(value)),
    }
}

/// `op 7: process 2 read nil → ok 3`, with history `index`es.
fn describe_op(history: &History, invoke: usize, completion: Option<usize>) -> String {
    let call = &history.ops[invoke];
    let process = match &call.process {
        Process::Client(id) => id.to_string(),
        Process::Nemesis => "nemesis".to_string(),
        Process::Named(name) => name.clone(),
    };
    let outcome = match completion.map(|c| &history.ops[c]) {
        Some(done) => format!("{} {}", done.op_type.name(), show(&done.value)),
        None => "pending".to_string(),
    };
    format!(
        "op {}: process {process} {} {} → {outcome}",
        call.index,
        call.f,
        show(&call.value)
    )
}

/// The common verdict; see [`LinearizableReport::verdict`].
pub(crate) fn verdict(report: &LinearizableReport) -> Verdict {
    let anomalies = report.violation.iter().map(anomaly).collect();
    Verdict {
        checker: "linearizable".to_string(),
        validity: report.validity,
        anomalies,
        notes: notes(report),
    }
}

fn anomaly(violation: &Violation) -> Anomaly {
    let start = violation.prefix.len().saturating_sub(WITNESS_PREFIX_OPS);
    let mut witness_ops: Vec<usize> = violation.prefix[start..]
        .iter()
        .chain([&violation.blocked])
        .flat_map(|op| [Some(op.invoke), op.completion])
        .flatten()
        .collect();
    witness_ops.sort_unstable();
    witness_ops.dedup();
    Anomaly {
        name: "nonlinearizable".to_string(),
        fails_run: true,
        explanation: violation.explanation.clone(),
        witness_ops,
    }
}

fn notes(report: &LinearizableReport) -> Vec<String> {
    let mut notes = vec![format!("model: {}", report.model)];
    let independent = if report.independent_keys {
        " (jepsen.independent keys)"
    } else {
        ""
    };
    notes.push(format!(
        "partitions: {}{independent}",
        report.partitions.len()
    ));
    notes.push(format!(
        "operations searched: {}; fail ops dropped: {}; irrelevant ops left out: {}",
        report.searched_ops, report.failed_ops, report.irrelevant_ops
    ));
    let steps: u64 = report.partitions.iter().map(|p| p.steps).sum();
    notes.push(format!("search steps: {steps}"));
    let unknown: Vec<String> = report
        .partitions
        .iter()
        .filter_map(|p| match p.outcome {
            PartitionOutcome::Unknown(UnknownReason::StepBudget) => {
                Some(format!("{}step budget", partition_prefix(&p.key)))
            }
            PartitionOutcome::Unknown(UnknownReason::TimeBudget) => {
                Some(format!("{}time budget", partition_prefix(&p.key)))
            }
            _ => None,
        })
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "undecided partitions (budget exhausted): {}",
            unknown.join("; ")
        ));
    }
    let not_checked = report
        .partitions
        .iter()
        .filter(|p| p.outcome == PartitionOutcome::NotChecked)
        .count();
    if not_checked > 0 {
        notes.push(format!(
            "partitions not searched to the end after the violation: {not_checked}"
        ));
    }
    notes
}
