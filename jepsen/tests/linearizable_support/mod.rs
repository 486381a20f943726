//! Shared helpers for the linearizability tests: a terse history builder and value makers.
#![allow(dead_code)]

use odradek_jepsen::history::{History, Op, OpType, Process, Value};

/// Builds a history one event at a time; indexes are positions.
#[derive(Default)]
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
            time: index as i64 * 1_000,
            process: Process::Client(process),
            op_type,
            f: f.to_string(),
            value,
            error: None,
        });
        self
    }

    pub fn invoke(&mut self, process: i64, f: &str, value: Value) -> &mut Self {
        self.push(process, OpType::Invoke, f, value)
    }

    pub fn ok(&mut self, process: i64, f: &str, value: Value) -> &mut Self {
        self.push(process, OpType::Ok, f, value)
    }

    pub fn fail(&mut self, process: i64, f: &str, value: Value) -> &mut Self {
        self.push(process, OpType::Fail, f, value)
    }

    pub fn info(&mut self, process: i64, f: &str, value: Value) -> &mut Self {
        self.push(process, OpType::Info, f, value)
    }

    /// Invocation immediately followed by its `ok` completion.
    pub fn done(&mut self, process: i64, f: &str, invoke: Value, result: Value) -> &mut Self {
        self.invoke(process, f, invoke).ok(process, f, result)
    }

    pub fn nemesis(&mut self, f: &str) -> &mut Self {
        let index = self.ops.len() as u64;
        self.ops.push(Op {
            index,
            time: index as i64 * 1_000,
            process: Process::Nemesis,
            op_type: OpType::Info,
            f: f.to_string(),
            value: Value::Nil,
            error: None,
        });
        self
    }

    pub fn history(&self) -> History {
        History::from_ops(self.ops.clone())
    }
}

pub fn int(i: i64) -> Value {
    Value::Int(i)
}

pub fn nil() -> Value {
    Value::Nil
}

pub fn pair(a: Value, b: Value) -> Value {
    Value::Vector(vec![a, b])
}

pub fn ints(items: &[i64]) -> Value {
    Value::Vector(items.iter().map(|&i| Value::Int(i)).collect())
}
