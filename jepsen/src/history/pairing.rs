//! Pairing invocations with completions, per process, as Jepsen does
//! (`jepsen.history/pair-index`):
//! - a process has at most one outstanding invocation; its next op must complete it;
//! - a client `info` completion closes its invocation, and the process never appears again
//!   (Jepsen's runner gives the thread a fresh process id after a crash);
//! - an invocation that is never completed is *pending*, which checkers treat as `info`;
//! - nemesis operations are not client operations: they are paired the same way when they
//!   form invoke/info pairs, but are reported separately and never checked.

use super::{History, Op, OpType, Process};
use std::collections::BTreeMap;

/// One client operation: its invocation and, if any, its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairedOp {
    /// Index into `History::ops` of the invocation.
    pub invoke: usize,
    /// Index of the completion; `None` if the operation is pending.
    pub completion: Option<usize>,
}

impl PairedOp {
    /// The outcome: `Ok`, `Fail`, or `Info` (also for pending operations).
    pub fn outcome(&self, history: &History) -> OpType {
        match self.completion {
            Some(c) => history.ops[c].op_type,
            None => OpType::Info,
        }
    }
}

/// The result of pairing a history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairing {
    /// Client operations in invocation order.
    pub client_ops: Vec<PairedOp>,
    /// Nemesis operations (indexes into the history), in order.
    pub nemesis_ops: Vec<usize>,
    /// For every history index, the index of its partner (invoke ↔ completion), if any.
    pub partner: Vec<Option<usize>>,
}

/// A history that cannot be paired.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// A process invoked while an earlier invocation was still outstanding.
    #[error(
        "op {index}: process {process:?} invoked again while op {outstanding} is still outstanding"
    )]
    DoubleInvoke {
        /// The offending op's index.
        index: u64,
        /// The process.
        process: Process,
        /// The index of the outstanding invocation.
        outstanding: u64,
    },
    /// A completion with no outstanding invocation on its process.
    #[error("op {index}: {op_type} completion by process {process:?}, which has no outstanding invocation")]
    CompletionWithoutInvoke {
        /// The offending op's index.
        index: u64,
        /// The process.
        process: Process,
        /// The completion's type name.
        op_type: &'static str,
    },
    /// A client process appeared again after an `info` completion closed it.
    #[error("op {index}: process {process:?} reused after it crashed (info) at op {crashed_at}")]
    ProcessReusedAfterInfo {
        /// The offending op's index.
        index: u64,
        /// The process.
        process: Process,
        /// The index of the `info` completion.
        crashed_at: u64,
    },
}

/// Pairs every invocation with its completion; see the module docs for the rules.
pub fn pair(history: &History) -> Result<Pairing, PairingError> {
    let mut pairing = Pairing {
        partner: vec![None; history.ops.len()],
        ..Pairing::default()
    };
    let mut outstanding: BTreeMap<&Process, usize> = BTreeMap::new();
    let mut crashed: BTreeMap<&Process, usize> = BTreeMap::new();
    let mut client_slot: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.process.is_nemesis() {
            pair_nemesis(&mut pairing, &mut outstanding, history, i);
            continue;
        }
        if let Some(&crashed_at) = crashed.get(&op.process) {
            return Err(PairingError::ProcessReusedAfterInfo {
                index: op.index,
                process: op.process.clone(),
                crashed_at: history.ops[crashed_at].index,
            });
        }
        match op.op_type {
            OpType::Invoke => {
                if let Some(&earlier) = outstanding.get(&op.process) {
                    return Err(double_invoke(op, &history.ops[earlier]));
                }
                outstanding.insert(&op.process, i);
                client_slot.insert(i, pairing.client_ops.len());
                pairing.client_ops.push(PairedOp {
                    invoke: i,
                    completion: None,
                });
            }
            completion => {
                let Some(invoke) = outstanding.remove(&op.process) else {
                    return Err(PairingError::CompletionWithoutInvoke {
                        index: op.index,
                        process: op.process.clone(),
                        op_type: completion.name(),
                    });
                };
                pairing.client_ops[client_slot[&invoke]].completion = Some(i);
                pairing.partner[invoke] = Some(i);
                pairing.partner[i] = Some(invoke);
                if completion == OpType::Info {
                    crashed.insert(&op.process, i);
                }
            }
        }
    }
    Ok(pairing)
}

fn double_invoke(op: &Op, earlier: &Op) -> PairingError {
    PairingError::DoubleInvoke {
        index: op.index,
        process: op.process.clone(),
        outstanding: earlier.index,
    }
}

/// Nemesis ops are often `info`/`info` pairs, sometimes lone `info`s; pair them leniently.
fn pair_nemesis<'h>(
    pairing: &mut Pairing,
    outstanding: &mut BTreeMap<&'h Process, usize>,
    history: &'h History,
    i: usize,
) {
    pairing.nemesis_ops.push(i);
    let op = &history.ops[i];
    match outstanding.remove(&op.process) {
        Some(start) if history.ops[start].f == op.f => {
            pairing.partner[start] = Some(i);
            pairing.partner[i] = Some(start);
        }
        _ => {
            outstanding.insert(&op.process, i);
        }
    }
}
