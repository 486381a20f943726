//! Property tests: histories produced by a real sequential object under random concurrent
//! schedules are always linearizable, and changing one read to a value never written makes
//! them not linearizable.
//!
//! The generator runs clients as a small state machine per slot: invoke, then take effect
//! on the sequential object at some later step (the linearization point), then complete —
//! `ok`, or `info` (crashed after the effect), or the client crashes *before* the effect
//! (`info`, no effect), or the op stays pending at the end. A crashed client's slot continues
//! with a fresh process id, as Jepsen does. Cas ops whose expected value does not match,
//! and appends to a scalar, complete with `fail` and have no effect.

use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use odradek_jepsen::linearizable::{check, LinearizableOptions, ModelKind};
use odradek_jepsen::verdict::Validity;
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::BTreeMap;

/// A value never written by the generator.
const NEVER_WRITTEN: i64 = 999;
const SLOTS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Register,
    CasRegister,
    IndependentCasRegister,
    Kv,
}

impl Shape {
    fn model(self) -> ModelKind {
        match self {
            Shape::Register => ModelKind::Register,
            Shape::CasRegister | Shape::IndependentCasRegister => ModelKind::CasRegister,
            Shape::Kv => ModelKind::Kv,
        }
    }
}

#[derive(Clone, Debug)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
    Append(i64),
}

struct Pending {
    call: Call,
    key: i64,
    /// `None` until the op took effect; then what it observed (a read's value, or whether
    /// a cas matched).
    effect: Option<Result<Value, ()>>,
}

struct Generator {
    shape: Shape,
    ops: Vec<Op>,
    store: BTreeMap<i64, Value>,
    process_of_slot: Vec<i64>,
    next_process: i64,
    pending: Vec<Option<Pending>>,
}

impl Generator {
    fn new(shape: Shape) -> Generator {
        Generator {
            shape,
            ops: Vec::new(),
            store: BTreeMap::new(),
            process_of_slot: (0..SLOTS as i64).collect(),
            next_process: SLOTS as i64,
            pending: (0..SLOTS).map(|_| None).collect(),
        }
    }

    fn emit(&mut self, slot: usize, op_type: OpType, f: &str, value: Value) {
        let index = self.ops.len() as u64;
        self.ops.push(Op {
            index,
            time: index as i64,
            process: Process::Client(self.process_of_slot[slot]),
            op_type,
            f: f.to_string(),
            value,
            error: None,
        });
    }

    fn step(&mut self, slot: usize, dice: u8, value: i64, key: i64) {
        match self.pending[slot].take() {
            None => self.invoke(slot, dice, value, key),
            Some(pending) if pending.effect.is_none() && dice < 20 => {
                self.crash(slot, &pending);
            }
            Some(mut pending) if pending.effect.is_none() => {
                pending.effect = Some(self.apply(&pending));
                self.pending[slot] = Some(pending);
            }
            Some(pending) if dice < 30 => self.crash(slot, &pending),
            Some(pending) => self.complete(slot, &pending),
        }
    }

    fn invoke(&mut self, slot: usize, dice: u8, value: i64, key: i64) {
        let call = match (self.shape, dice % 3) {
            (_, 0) => Call::Read,
            (Shape::Register, _) | (_, 1) => Call::Write(value),
            (Shape::Kv, _) => Call::Append(value),
            _ => Call::Cas(value % 3, (value + 1) % 4),
        };
        let key = if self.shape == Shape::Kv || self.shape == Shape::IndependentCasRegister {
            key
        } else {
            0
        };
        let pending = Pending {
            call,
            key,
            effect: None,
        };
        let (f, argument) = describe(&pending.call, Value::Nil);
        let wrapped = self.wrap(key, argument);
        self.emit(slot, OpType::Invoke, f, wrapped);
        self.pending[slot] = Some(pending);
    }

    /// The linearization point: the sequential object does the operation.
    fn apply(&mut self, pending: &Pending) -> Result<Value, ()> {
        let cell = self.store.entry(pending.key).or_insert(Value::Nil);
        match &pending.call {
            Call::Read => Ok(cell.clone()),
            Call::Write(v) => {
                *cell = Value::Int(*v);
                Ok(Value::Nil)
            }
            Call::Cas(old, new) if *cell == Value::Int(*old) => {
                *cell = Value::Int(*new);
                Ok(Value::Nil)
            }
            Call::Cas(..) => Err(()),
            // Like the kv model: appending to a scalar fails (and has no effect).
            Call::Append(_) if !matches!(cell, Value::Nil | Value::Vector(_)) => Err(()),
            Call::Append(v) => {
                let mut items = match cell {
                    Value::Vector(items) => items.clone(),
                    _ => Vec::new(),
                };
                items.push(Value::Int(*v));
                *cell = Value::Vector(items);
                Ok(Value::Nil)
            }
        }
    }

    fn crash(&mut self, slot: usize, pending: &Pending) {
        let (f, argument) = describe(&pending.call, Value::Nil);
        let wrapped = self.wrap(pending.key, argument);
        self.emit(slot, OpType::Info, f, wrapped);
        self.process_of_slot[slot] = self.next_process;
        self.next_process += 1;
    }

    fn complete(&mut self, slot: usize, pending: &Pending) {
        let (op_type, observed) = match &pending.effect {
            Some(Ok(observed)) => (OpType::Ok, observed.clone()),
            _ => (OpType::Fail, Value::Nil),
        };
        let (f, result) = describe(&pending.call, observed);
        let wrapped = self.wrap(pending.key, result);
        self.emit(slot, op_type, f, wrapped);
    }

    fn wrap(&self, key: i64, value: Value) -> Value {
        match self.shape {
            Shape::Register | Shape::CasRegister => value,
            Shape::IndependentCasRegister | Shape::Kv => {
                Value::Vector(vec![Value::Int(key), value])
            }
        }
    }
}

/// The op's `f` and its value (for reads: what was observed).
fn describe(call: &Call, observed: Value) -> (&'static str, Value) {
    match call {
        Call::Read => ("read", observed),
        Call::Write(v) => ("write", Value::Int(*v)),
        Call::Cas(old, new) => (
            "cas",
            Value::Vector(vec![Value::Int(*old), Value::Int(*new)]),
        ),
        Call::Append(v) => ("append", Value::Int(*v)),
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Register),
        Just(Shape::CasRegister),
        Just(Shape::IndependentCasRegister),
        Just(Shape::Kv),
    ]
}

fn history() -> impl Strategy<Value = (Shape, History)> {
    let steps = prop::collection::vec((0..SLOTS, any::<u8>(), 0i64..4, 0i64..3), 1..200);
    (shape(), steps).prop_map(|(shape, steps)| {
        let mut generator = Generator::new(shape);
        for (slot, dice, value, key) in steps {
            generator.step(slot, dice, value, key);
        }
        (shape, History::from_ops(generator.ops))
    })
}

/// Replaces the observed value of one `ok` read with [`NEVER_WRITTEN`]; `None` if the
/// history has no `ok` read.
fn corrupt_one_read(shape: Shape, history: &mut History, which: Index) -> Option<usize> {
    let reads: Vec<usize> = (0..history.ops.len())
        .filter(|&i| history.ops[i].op_type == OpType::Ok && history.ops[i].f == "read")
        .collect();
    if reads.is_empty() {
        return None;
    }
    let target = reads[which.index(reads.len())];
    let op = &mut history.ops[target];
    op.value = match (shape, &op.value) {
        (Shape::Register | Shape::CasRegister, _) => Value::Int(NEVER_WRITTEN),
        (_, Value::Vector(tuple)) => {
            Value::Vector(vec![tuple[0].clone(), Value::Int(NEVER_WRITTEN)])
        }
        (_, other) => other.clone(),
    };
    Some(target)
}

fn options() -> LinearizableOptions {
    LinearizableOptions {
        threads: Some(2),
        ..LinearizableOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn histories_of_a_real_sequential_object_are_linearizable((shape, history) in history()) {
        let report = check(&history, shape.model(), &options()).unwrap();
        prop_assert_eq!(report.validity, Validity::Valid, "{:?}", report.violation);
    }

    #[test]
    fn a_read_of_a_value_never_written_makes_them_nonlinearizable(
        (shape, mut history) in history(),
        which in any::<Index>(),
    ) {
        let corrupted = corrupt_one_read(shape, &mut history, which);
        prop_assume!(corrupted.is_some());
        let report = check(&history, shape.model(), &options()).unwrap();
        prop_assert_eq!(report.validity, Validity::Invalid);
        let violation = report.violation.unwrap();
        prop_assert!(!violation.explanation.is_empty());
    }
}
