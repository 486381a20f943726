//! Reading a generated 1,000,000-op Kafka-style history in each format.
//!
//! Run: `cargo bench -p odradek-jepsen --bench read -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_main, Criterion, Throughput};
use odradek_jepsen::history::edn::history_to_edn;
use odradek_jepsen::history::{
    jsonl, read_history_str, Format, History, Op, OpType, Process, Value,
};

const OPS: usize = 1_000_000;

fn kw(name: &str) -> Value {
    Value::Keyword(name.to_string())
}

/// Invoke/complete pairs on 10 processes: sends and polls, like Jepsen's Kafka workload.
fn generated_history() -> History {
    let mut ops = Vec::with_capacity(OPS);
    let mut offset = 0i64;
    while ops.len() < OPS {
        let i = ops.len() as i64;
        let process = Process::Client(i / 2 % 10);
        let key = Value::Int(i % 7);
        let (f, invoke, ok) = if i % 4 == 0 {
            offset += 1;
            let invoke = vec![kw("send"), key.clone(), Value::Int(i)];
            let sent = Value::Vector(vec![Value::Int(offset), Value::Int(i)]);
            ("send", invoke, vec![kw("send"), key, sent])
        } else {
            let batch = Value::Vector(vec![Value::Vector(vec![Value::Int(offset), Value::Int(i)])]);
            let polled = Value::Map(vec![(key, batch)]);
            ("poll", vec![kw("poll")], vec![kw("poll"), polled])
        };
        for (op_type, value, time) in [
            (OpType::Invoke, invoke, i * 1000),
            (OpType::Ok, ok, i * 1000 + 700),
        ] {
            ops.push(Op {
                index: ops.len() as u64,
                time,
                process: process.clone(),
                op_type,
                f: f.to_string(),
                value: Value::Vector(vec![Value::Vector(value)]),
                error: None,
            });
        }
    }
    History::from_ops(ops)
}

fn read(c: &mut Criterion) {
    let history = generated_history();
    let edn = history_to_edn(&history);
    let jsonl = jsonl::to_string(&history);
    let mut group = c.benchmark_group("read_1m_ops");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(edn.len() as u64));
    group.bench_function("edn", |b| {
        b.iter(|| read_history_str(&edn, Format::Edn).map(|h| h.ops.len()))
    });
    group.throughput(Throughput::Bytes(jsonl.len() as u64));
    group.bench_function("jsonl", |b| {
        b.iter(|| read_history_str(&jsonl, Format::Jsonl).map(|h| h.ops.len()))
    });
    group.finish();
}

// criterion's macros generate undocumented items.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::read);
}
criterion_main!(harness::benches);
