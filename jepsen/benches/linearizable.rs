//! Linearizability checker benchmarks on deterministic, generated histories:
//! - `cas_register_etcd_like`: Jepsen-etcd-like single-register histories, ~80 operations
//!   by 20 client slots, read/write/cas on values 0..5, crashed clients (`info`) replaced
//!   by fresh process ids, failed cas ops; goal: median well under 1 ms;
//! - `kv_50_clients_10_keys`: ~2,000 operations by 50 client slots on 10 keys (read/write of
//!   unique values), linearizable (goal < 250 ms) and with one stale read (faster).
//!
//! Histories come from a real sequential object driven by a seeded schedule (each operation
//! takes effect at a random step between its invocation and completion), so the valid ones
//! are linearizable by construction; the setup asserts the expected verdict.

// `criterion_group!` defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use odradek_jepsen::linearizable::{check, LinearizableOptions, ModelKind};
use odradek_jepsen::verdict::Validity;
use std::collections::BTreeMap;

/// SplitMix64: a tiny deterministic generator, enough for schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy)]
struct Workload {
    slots: usize,
    invocations: usize,
    keys: i64,
    /// Register: read/write/cas on values 0..5. Otherwise kv read/write of unique values.
    cas_register: bool,
    crash_percent: u64,
}

#[derive(Clone)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
}

struct Outstanding {
    call: Call,
    key: i64,
    effect: Option<Option<Value>>,
}

struct Generator {
    workload: Workload,
    rng: Rng,
    ops: Vec<Op>,
    store: BTreeMap<i64, Value>,
    process_of_slot: Vec<i64>,
    next_process: i64,
    outstanding: Vec<Option<Outstanding>>,
    invoked: usize,
    next_unique: i64,
}

impl Generator {
    fn emit(&mut self, slot: usize, op_type: OpType, call: &Call, key: i64, read: Value) {
        let (f, value) = match call {
            Call::Read => ("read", read),
            Call::Write(v) => ("write", Value::Int(*v)),
            Call::Cas(old, new) => (
                "cas",
                Value::Vector(vec![Value::Int(*old), Value::Int(*new)]),
            ),
        };
        let value = if self.workload.cas_register {
            value
        } else {
            Value::Vector(vec![Value::Int(key), value])
        };
        let index = self.ops.len() as u64;
        self.ops.push(Op {
            index,
            time: index as i64 * 1_000_000,
            process: Process::Client(self.process_of_slot[slot]),
            op_type,
            f: f.to_string(),
            value,
            error: None,
        });
    }

    fn invoke(&mut self, slot: usize) {
        let key = self.rng.below(self.workload.keys as u64) as i64;
        let call = match (self.workload.cas_register, self.rng.below(3)) {
            (_, 0) => Call::Read,
            (true, 1) => Call::Write(self.rng.below(5) as i64),
            (true, _) => Call::Cas(self.rng.below(5) as i64, self.rng.below(5) as i64),
            (false, _) => {
                self.next_unique += 1;
                Call::Write(self.next_unique)
            }
        };
        self.emit(slot, OpType::Invoke, &call, key, Value::Nil);
        self.invoked += 1;
        self.outstanding[slot] = Some(Outstanding {
            call,
            key,
            effect: None,
        });
    }

    fn take_effect(&mut self, pending: &Outstanding) -> Option<Value> {
        let cell = self.store.entry(pending.key).or_insert(Value::Nil);
        match &pending.call {
            Call::Read => Some(cell.clone()),
            Call::Write(v) => {
                *cell = Value::Int(*v);
                Some(Value::Nil)
            }
            Call::Cas(old, new) if *cell == Value::Int(*old) => {
                *cell = Value::Int(*new);
                Some(Value::Nil)
            }
            Call::Cas(..) => None,
        }
    }

    fn advance(&mut self, slot: usize) {
        let Some(mut pending) = self.outstanding[slot].take() else {
            if self.invoked < self.workload.invocations {
                self.invoke(slot);
            }
            return;
        };
        if self.rng.chance(self.workload.crash_percent) {
            self.emit(slot, OpType::Info, &pending.call, pending.key, Value::Nil);
            self.process_of_slot[slot] = self.next_process;
            self.next_process += 1;
            return;
        }
        match pending.effect.take() {
            None => {
                pending.effect = Some(self.take_effect(&pending));
                self.outstanding[slot] = Some(pending);
            }
            Some(Some(read)) => self.emit(slot, OpType::Ok, &pending.call, pending.key, read),
            Some(None) => self.emit(slot, OpType::Fail, &pending.call, pending.key, Value::Nil),
        }
    }
}

fn generate(workload: Workload, seed: u64) -> History {
    let mut generator = Generator {
        workload,
        rng: Rng(seed),
        ops: Vec::new(),
        store: BTreeMap::new(),
        process_of_slot: (0..workload.slots as i64).collect(),
        next_process: workload.slots as i64,
        outstanding: (0..workload.slots).map(|_| None).collect(),
        invoked: 0,
        next_unique: 0,
    };
    while generator.invoked < workload.invocations
        || generator.outstanding.iter().any(Option::is_some)
    {
        let slot = generator.rng.below(workload.slots as u64) as usize;
        generator.advance(slot);
    }
    History::from_ops(generator.ops)
}

/// Makes the first `ok` read after the middle of the history return -1, a value never
/// written: a read no linearization can explain.
fn with_impossible_read(mut history: History) -> History {
    let middle = history.ops.len() / 2;
    let read = (middle..history.ops.len())
        .find(|&i| history.ops[i].op_type == OpType::Ok && history.ops[i].f == "read")
        .expect("an ok read after the middle");
    if let Value::Vector(tuple) = &mut history.ops[read].value {
        tuple[1] = Value::Int(-1);
    }
    history
}

fn expect(history: &History, model: ModelKind, validity: Validity) {
    let report = check(history, model, &LinearizableOptions::default()).expect("well-formed");
    assert_eq!(report.validity, validity, "{:?}", report.violation);
}

fn bench_cas_register(c: &mut Criterion) {
    let workload = Workload {
        slots: 20,
        invocations: 80,
        keys: 1,
        cas_register: true,
        crash_percent: 4,
    };
    let mut group = c.benchmark_group("cas_register_etcd_like");
    for seed in [1, 2, 3] {
        let history = generate(workload, seed);
        expect(&history, ModelKind::CasRegister, Validity::Valid);
        let options = LinearizableOptions::default();
        group.bench_function(format!("seed_{seed}"), |b| {
            b.iter(|| check(black_box(&history), ModelKind::CasRegister, &options))
        });
    }
    // A hundred histories per iteration: the mean per history includes the slow tail.
    let histories: Vec<History> = (100..200).map(|seed| generate(workload, seed)).collect();
    let options = LinearizableOptions::default();
    group.sample_size(10);
    group.bench_function("seeds_100_to_199_all", |b| {
        b.iter(|| {
            for history in &histories {
                let report = check(black_box(history), ModelKind::CasRegister, &options);
                black_box(report.map(|r| r.validity)).ok();
            }
        })
    });
    group.finish();
}

fn bench_kv(c: &mut Criterion) {
    let workload = Workload {
        slots: 50,
        invocations: 2_000,
        keys: 10,
        cas_register: false,
        crash_percent: 1,
    };
    let valid = generate(workload, 7);
    expect(&valid, ModelKind::Kv, Validity::Valid);
    let invalid = with_impossible_read(valid.clone());
    expect(&invalid, ModelKind::Kv, Validity::Invalid);
    let options = LinearizableOptions::default();
    let mut group = c.benchmark_group("kv_50_clients_10_keys");
    group.sample_size(20);
    group.bench_function("linearizable", |b| {
        b.iter(|| check(black_box(&valid), ModelKind::Kv, &options))
    });
    group.bench_function("stale_read", |b| {
        b.iter(|| check(black_box(&invalid), ModelKind::Kv, &options))
    });
    group.finish();
}

criterion_group!(benches, bench_cas_register, bench_kv);
criterion_main!(benches);
