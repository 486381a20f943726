//! Recording what clients (and the nemesis) did as a Jepsen history, and the value shapes
//! of the Kafka queue workload that `odradek_jepsen::queue` checks.
//!
//! Contract: ops are appended in the order they happen; each op's `index` is its position
//! and its `time` the simulated monotonic nanoseconds. Client ops belong to
//! `Process::Client(n)`, faults to `Process::Nemesis`. The recorder does not check pairing
//! (the workload guarantees one outstanding op per process and a fresh process after every
//! `info`, which is what Jepsen's pairing requires); it only counts.
//!
//! Value shapes (Jepsen's Kafka workload): `send` invokes `[[send k v1] [send k v2] ...]`
//! (one micro-op per record of its batch; Jepsen tags an op made only of sends `:f :send`
//! however many there are) and completes `[[send k [o1 v1]] [send k [o2 v2]] ...]`; `poll`
//! invokes `[[poll]]` and completes `[[poll {k [[offset v] ...]}]]`; `assign` carries the
//! vector of keys.

use odradek_core::Mono;
use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use std::collections::BTreeMap;

/// Appends Jepsen ops with index = position and time = simulated nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct HistoryRecorder {
    ops: Vec<Op>,
    invocations: u64,
    ok: u64,
    fail: u64,
    info: u64,
}

impl HistoryRecorder {
    /// An empty history.
    pub fn new() -> HistoryRecorder {
        HistoryRecorder::default()
    }

    /// A client process invokes `f` with `value`.
    pub fn invoke(&mut self, now: Mono, process: i64, f: &str, value: Value) {
        self.invocations += 1;
        self.push(
            now,
            Process::Client(process),
            OpType::Invoke,
            f,
            value,
            None,
        );
    }

    /// A client process completes its outstanding `f` as `ok`, `fail` or `info`, with the
    /// result (or, for `fail`/`info`, usually the invocation's value) and an error.
    pub fn complete(
        &mut self,
        now: Mono,
        process: i64,
        op_type: OpType,
        f: &str,
        value: Value,
        error: Option<String>,
    ) {
        match op_type {
            OpType::Ok => self.ok += 1,
            OpType::Fail => self.fail += 1,
            OpType::Info => self.info += 1,
            OpType::Invoke => {
                debug_assert!(false, "complete called with invoke");
                self.invocations += 1;
            }
        }
        let error = error.map(Value::Str);
        self.push(now, Process::Client(process), op_type, f, value, error);
    }

    /// A nemesis op (Jepsen records fault starts and ends as `info` ops of `:nemesis`).
    pub fn nemesis(&mut self, now: Mono, op_type: OpType, f: &str, value: Value) {
        self.push(now, Process::Nemesis, op_type, f, value, None);
    }

    /// Everything recorded so far.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Client invocations so far.
    pub fn operations(&self) -> u64 {
        self.invocations
    }

    /// Client `ok` completions so far.
    pub fn ok_count(&self) -> u64 {
        self.ok
    }

    /// Client `fail` completions so far.
    pub fn fail_count(&self) -> u64 {
        self.fail
    }

    /// Client `info` completions so far.
    pub fn info_count(&self) -> u64 {
        self.info
    }

    /// The history.
    pub fn into_history(self) -> History {
        History::from_ops(self.ops)
    }

    fn push(
        &mut self,
        now: Mono,
        process: Process,
        op_type: OpType,
        f: &str,
        value: Value,
        error: Option<Value>,
    ) {
        self.ops.push(Op {
            index: self.ops.len() as u64,
            time: i64::try_from(now.0).unwrap_or(i64::MAX),
            process,
            op_type,
            f: f.to_owned(),
            value,
            error,
        });
    }
}

/// `[[send k v1] [send k v2] ...]`: one micro-op per record of the send's batch.
pub(crate) fn send_invocation(key: &str, values: &[i64]) -> Value {
    Value::Vector(
        values
            .iter()
            .map(|&value| send_micro_op(key, Value::Int(value)))
            .collect(),
    )
}

/// `[[send k [o1 v1]] [send k [o2 v2]] ...]`: the batch's records took consecutive offsets
/// from `base_offset`; every offset is `nil` when the broker did not say.
pub(crate) fn send_completion(key: &str, base_offset: Option<i64>, values: &[i64]) -> Value {
    let micro_ops = values
        .iter()
        .zip(0i64..)
        .map(|(&value, delta)| {
            let offset = base_offset.map_or(Value::Nil, |base| Value::Int(base + delta));
            send_micro_op(key, Value::Vector(vec![offset, Value::Int(value)]))
        })
        .collect();
    Value::Vector(micro_ops)
}

fn send_micro_op(key: &str, sent: Value) -> Value {
    Value::Vector(vec![
        Value::Keyword("send".to_owned()),
        Value::Str(key.to_owned()),
        sent,
    ])
}

/// `[[poll]]`.
pub(crate) fn poll_invocation() -> Value {
    micro_ops(vec![Value::Keyword("poll".to_owned())])
}

/// `[[poll {k [[offset v] ...]}]]`, keys in order; keys that read nothing are left out.
pub(crate) fn poll_completion(reads: &BTreeMap<String, Vec<(i64, i64)>>) -> Value {
    let entries = reads
        .iter()
        .filter(|(_, records)| !records.is_empty())
        .map(|(key, records)| {
            let pairs = records
                .iter()
                .map(|&(offset, value)| Value::Vector(vec![Value::Int(offset), Value::Int(value)]))
                .collect();
            (Value::Str(key.clone()), Value::Vector(pairs))
        })
        .collect();
    micro_ops(vec![Value::Keyword("poll".to_owned()), Value::Map(entries)])
}

/// The vector of keys an `assign` carries.
pub(crate) fn assign_value(keys: &[String]) -> Value {
    Value::Vector(keys.iter().map(|k| Value::Str(k.clone())).collect())
}

fn micro_ops(micro_op: Vec<Value>) -> Value {
    Value::Vector(vec![Value::Vector(micro_op)])
}
