//! Queue checker throughput on a generated Kafka-workload history of 1,000,000 entries
//! (500,000 send/poll operations, each an invocation and a completion): 10 concurrent
//! processes, 16 keys, polls reading up to 8 messages of one key from the consumer's
//! position, and a final poll of everything. Generated deterministically (a fixed LCG).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use odradek_jepsen::queue::{check, QueueOptions};
use std::hint::black_box;

const PROCESSES: usize = 10;
const KEYS: usize = 16;
const HISTORY_ENTRIES: usize = 1_000_000;

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

fn pair(offset: usize, value: i64) -> Value {
    Value::Vector(vec![Value::Int(offset as i64), Value::Int(value)])
}

fn poll_value(reads: Vec<(usize, Vec<Value>)>) -> Value {
    let map = reads
        .into_iter()
        .map(|(k, pairs)| (Value::Int(k as i64), Value::Vector(pairs)))
        .collect();
    Value::Vector(vec![Value::Vector(vec![kw("poll"), Value::Map(map)])])
}

struct Generator {
    rng: Lcg,
    ops: Vec<Op>,
    logs: Vec<Vec<i64>>,
    positions: Vec<Vec<usize>>,
    next_value: i64,
}

impl Generator {
    fn push(&mut self, p: usize, op_type: OpType, f: &str, value: Value) {
        let index = self.ops.len() as u64;
        self.ops.push(Op {
            index,
            time: index as i64 * 1000,
            process: Process::Client(p as i64),
            op_type,
            f: f.to_string(),
            value,
            error: None,
        });
    }

    /// One round: every process invokes, then every process completes (effects at completion).
    fn round(&mut self) {
        let mut planned = Vec::with_capacity(PROCESSES);
        for p in 0..PROCESSES {
            let key = self.rng.below(KEYS as u64) as usize;
            if self.rng.below(2) == 0 {
                let v = self.next_value;
                self.next_value += 1;
                let mop = Value::Vector(vec![kw("send"), Value::Int(key as i64), Value::Int(v)]);
                self.push(p, OpType::Invoke, "send", Value::Vector(vec![mop]));
                planned.push((key, Some(v)));
            } else {
                let mop = Value::Vector(vec![kw("poll")]);
                self.push(p, OpType::Invoke, "poll", Value::Vector(vec![mop]));
                planned.push((key, None));
            }
        }
        for (p, (key, send)) in planned.into_iter().enumerate() {
            match send {
                Some(v) => {
                    self.logs[key].push(v);
                    let offset = self.logs[key].len() - 1;
                    let mop =
                        Value::Vector(vec![kw("send"), Value::Int(key as i64), pair(offset, v)]);
                    self.push(p, OpType::Ok, "send", Value::Vector(vec![mop]));
                }
                None => {
                    let from = self.positions[p][key];
                    let to = (from + 1 + self.rng.below(8) as usize).min(self.logs[key].len());
                    let pairs = (from..to).map(|o| pair(o, self.logs[key][o])).collect();
                    self.positions[p][key] = to;
                    self.push(p, OpType::Ok, "poll", poll_value(vec![(key, pairs)]));
                }
            }
        }
    }
}

fn generate() -> History {
    let mut g = Generator {
        rng: Lcg(7),
        ops: Vec::with_capacity(HISTORY_ENTRIES + 2),
        logs: vec![Vec::new(); KEYS],
        positions: vec![vec![0; KEYS]; PROCESSES],
        next_value: 0,
    };
    while g.ops.len() + 2 * PROCESSES <= HISTORY_ENTRIES - 2 {
        g.round();
    }
    let all = (0..KEYS)
        .map(|k| {
            (
                k,
                g.logs[k]
                    .iter()
                    .enumerate()
                    .map(|(o, &v)| pair(o, v))
                    .collect(),
            )
        })
        .collect();
    let final_poller = PROCESSES + 1;
    g.push(
        final_poller,
        OpType::Invoke,
        "poll",
        Value::Vector(vec![Value::Vector(vec![kw("poll")])]),
    );
    g.push(final_poller, OpType::Ok, "poll", poll_value(all));
    History::from_ops(g.ops)
}

fn bench_queue(c: &mut Criterion) {
    let history = generate();
    let report = check(&history, &QueueOptions::default()).expect("well-formed");
    assert!(
        report.anomalies.is_empty(),
        "generated history must be valid"
    );
    let mut group = c.benchmark_group("queue");
    group.sample_size(10);
    group.bench_function("check_1m_entries", |b| {
        b.iter(|| check(black_box(&history), &QueueOptions::default()))
    });
    let ww = QueueOptions {
        ww_deps: true,
        ..QueueOptions::default()
    };
    group.bench_function("check_1m_entries_ww_deps", |b| {
        b.iter(|| check(black_box(&history), &ww))
    });
    group.finish();
}

criterion_group!(benches, bench_queue);
criterion_main!(benches);
