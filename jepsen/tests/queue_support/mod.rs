//! A small builder for Kafka-workload histories, so tests read like the histories they
//! describe: `send`, `poll`, `txn`, `assign`, `subscribe`, with invocations and completions
//! either back to back or split to make operations concurrent.

#![allow(dead_code)]

use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use odradek_jepsen::queue::{check, QueueOptions, QueueReport};

/// A keyword.
pub fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

/// `[:send k v]`.
pub fn send_mop(k: i64, v: i64) -> Value {
    Value::Vector(vec![kw("send"), Value::Int(k), Value::Int(v)])
}

/// `[:send k [offset v]]`, offset `nil` when `None`.
pub fn sent(k: i64, offset: Option<i64>, v: i64) -> Value {
    let offset = offset.map_or(Value::Nil, Value::Int);
    Value::Vector(vec![
        kw("send"),
        Value::Int(k),
        Value::Vector(vec![offset, Value::Int(v)]),
    ])
}

/// `[:poll]`.
pub fn poll_mop() -> Value {
    Value::Vector(vec![kw("poll")])
}

/// `[:poll {k [[offset v] ...]}]`.
pub fn polled(reads: &[(i64, &[(i64, i64)])]) -> Value {
    let map = reads
        .iter()
        .map(|(k, pairs)| {
            let pairs = pairs
                .iter()
                .map(|&(o, v)| Value::Vector(vec![Value::Int(o), Value::Int(v)]))
                .collect();
            (Value::Int(*k), Value::Vector(pairs))
        })
        .collect();
    Value::Vector(vec![kw("poll"), Value::Map(map)])
}

/// Builds a history op by op; indexes and times are assigned in order.
#[derive(Default, Clone)]
pub struct Builder {
    ops: Vec<Op>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    fn push(&mut self, process: i64, op_type: OpType, f: &str, value: Value) -> &mut Self {
        let index = self.ops.len() as u64;
        self.ops.push(Op {
            index,
            time: index as i64 * 10,
            process: Process::Client(process),
            op_type,
            f: f.to_string(),
            value,
            error: None,
        });
        self
    }

    /// An invocation of `f` with these micro-ops.
    pub fn invoke(&mut self, p: i64, f: &str, mops: Vec<Value>) -> &mut Self {
        self.push(p, OpType::Invoke, f, Value::Vector(mops))
    }

    /// A completion of `f` with these micro-ops.
    pub fn complete(&mut self, p: i64, t: OpType, f: &str, mops: Vec<Value>) -> &mut Self {
        self.push(p, t, f, Value::Vector(mops))
    }

    /// An `ok` send of `v` to `k`, acknowledged at `offset`.
    pub fn send(&mut self, p: i64, k: i64, v: i64, offset: Option<i64>) -> &mut Self {
        self.invoke(p, "send", vec![send_mop(k, v)]).complete(
            p,
            OpType::Ok,
            "send",
            vec![sent(k, offset, v)],
        )
    }

    /// A send that completes with `t` (`fail` or `info`) and no offset.
    pub fn send_not_ok(&mut self, p: i64, k: i64, v: i64, t: OpType) -> &mut Self {
        self.invoke(p, "send", vec![send_mop(k, v)])
            .complete(p, t, "send", vec![send_mop(k, v)])
    }

    /// An `ok` poll returning `reads`.
    pub fn poll(&mut self, p: i64, reads: &[(i64, &[(i64, i64)])]) -> &mut Self {
        self.invoke(p, "poll", vec![poll_mop()]).complete(
            p,
            OpType::Ok,
            "poll",
            vec![polled(reads)],
        )
    }

    /// An `ok` txn: invoked with `invoked`, completed with `completed`.
    pub fn txn(&mut self, p: i64, invoked: Vec<Value>, completed: Vec<Value>) -> &mut Self {
        self.invoke(p, "txn", invoked)
            .complete(p, OpType::Ok, "txn", completed)
    }

    fn keys_op(&mut self, p: i64, f: &str, keys: &[i64]) -> &mut Self {
        let keys: Vec<Value> = keys.iter().map(|&k| Value::Int(k)).collect();
        self.push(p, OpType::Invoke, f, Value::Vector(keys.clone()))
            .push(p, OpType::Ok, f, Value::Vector(keys))
    }

    /// An `ok` assign of `keys`.
    pub fn assign(&mut self, p: i64, keys: &[i64]) -> &mut Self {
        self.keys_op(p, "assign", keys)
    }

    /// An `ok` subscribe to `keys`.
    pub fn subscribe(&mut self, p: i64, keys: &[i64]) -> &mut Self {
        self.keys_op(p, "subscribe", keys)
    }

    /// The history.
    pub fn build(&self) -> History {
        History::from_ops(self.ops.clone())
    }
}

/// Checks with default options; panics (in tests only) on malformed histories.
pub fn check_default(history: &History) -> QueueReport {
    check(history, &QueueOptions::default()).expect("well-formed history")
}

/// Names of the anomalies that fail the run, sorted and deduplicated.
pub fn failing(report: &QueueReport) -> Vec<String> {
    let mut names: Vec<String> = report
        .anomalies
        .iter()
        .filter(|a| a.fails_run)
        .map(|a| a.name.clone())
        .collect();
    names.dedup();
    names
}

/// Names of all anomalies, allowed ones included, sorted and deduplicated.
pub fn all_names(report: &QueueReport) -> Vec<String> {
    let mut names: Vec<String> = report.anomalies.iter().map(|a| a.name.clone()).collect();
    names.dedup();
    names
}

/// Does the report contain an anomaly of this name?
pub fn has(report: &QueueReport, name: &str) -> bool {
    report.anomalies.iter().any(|a| a.name == name)
}
