//! The checker agrees with a brute-force oracle on small random histories, valid or not.
//!
//! The histories are random (not produced by a real object), so most are nonlinearizable
//! in some subtle way; the oracle tries every order of the operations that real time
//! allows, every subset of the indeterminate ones, with no memoization and no reduction.
//! This checks the search and its reductions (greedy reads, identical crashed ops,
//! trailing indeterminate ops left out) for soundness and completeness at once.

use odradek_jepsen::history::{History, Op, OpType, Process, Value};
use odradek_jepsen::linearizable::{check, LinearizableOptions, ModelKind};
use odradek_jepsen::verdict::Validity;
use proptest::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Cas,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Info,
    Fail,
    Pending,
}

/// One operation: what it did, when it was invoked and completed (history time units).
#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    /// Read: the value seen (`None`: nil). Write: the value. Cas: the old value.
    a: Option<i64>,
    /// Cas: the new value.
    b: i64,
    outcome: Outcome,
    invoke_at: u32,
    duration: u32,
}

fn spec() -> impl Strategy<Value = Spec> {
    let kind = prop_oneof![Just(Kind::Read), Just(Kind::Write), Just(Kind::Cas)];
    let outcome = prop_oneof![
        6 => Just(Outcome::Ok),
        1 => Just(Outcome::Info),
        1 => Just(Outcome::Fail),
        1 => Just(Outcome::Pending),
    ];
    let a = prop_oneof![1 => Just(None), 6 => (0i64..3).prop_map(Some)];
    (kind, a, 0i64..3, outcome, 0u32..12, 1u32..8).prop_map(
        |(kind, a, b, outcome, invoke_at, duration)| Spec {
            kind,
            a: if kind == Kind::Read { a } else { a.or(Some(0)) },
            b,
            outcome,
            invoke_at,
            duration,
        },
    )
}

fn value_of(spec: &Spec) -> (&'static str, Value) {
    let int = |v: Option<i64>| v.map_or(Value::Nil, Value::Int);
    match spec.kind {
        Kind::Read => ("read", int(spec.a)),
        Kind::Write => ("write", int(spec.a)),
        Kind::Cas => ("cas", Value::Vector(vec![int(spec.a), Value::Int(spec.b)])),
    }
}

/// Each op on its own process; events sorted by time, invocations first on ties.
fn history_of(specs: &[Spec]) -> History {
    let mut events: Vec<(u32, u8, usize)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        events.push((spec.invoke_at * 2, 0, i));
        if spec.outcome != Outcome::Pending {
            events.push(((spec.invoke_at + spec.duration) * 2 + 1, 1, i));
        }
    }
    events.sort();
    let ops = events
        .iter()
        .enumerate()
        .map(|(index, &(_, is_completion, i))| {
            let (f, value) = value_of(&specs[i]);
            let op_type = match (is_completion, specs[i].outcome) {
                (0, _) => OpType::Invoke,
                (_, Outcome::Ok) => OpType::Ok,
                (_, Outcome::Fail) => OpType::Fail,
                _ => OpType::Info,
            };
            let value = if op_type == OpType::Invoke && f == "read" {
                Value::Nil
            } else {
                value
            };
            Op {
                index: index as u64,
                time: index as i64,
                process: Process::Client(i as i64),
                op_type,
                f: f.to_string(),
                value,
                error: None,
            }
        })
        .collect();
    History::from_ops(ops)
}

/// The sequential register: the next state, or `None` if the op cannot happen in `state`.
fn apply(spec: &Spec, state: Option<i64>) -> Option<Option<i64>> {
    match spec.kind {
        Kind::Read if spec.a.is_none() || spec.a == state => Some(state),
        Kind::Read => None,
        Kind::Write => Some(spec.a),
        Kind::Cas if spec.a == state => Some(Some(spec.b)),
        Kind::Cas => None,
    }
}

/// Real-time bounds in event units: `ok` ops complete at their time, others never.
fn completes_at(spec: &Spec) -> u32 {
    match spec.outcome {
        Outcome::Ok => (spec.invoke_at + spec.duration) * 2 + 1,
        _ => u32::MAX,
    }
}

/// Is there an order of some of the `remaining` ops (all of the `ok` ones) that real time
/// and the register allow, starting from `state`?
fn oracle(specs: &[Spec], remaining: &mut Vec<usize>, state: Option<i64>) -> bool {
    if remaining.iter().all(|&i| specs[i].outcome != Outcome::Ok) {
        return true;
    }
    let deadline = remaining
        .iter()
        .map(|&i| completes_at(&specs[i]))
        .min()
        .unwrap_or(u32::MAX);
    for position in 0..remaining.len() {
        let i = remaining[position];
        if specs[i].invoke_at * 2 > deadline {
            continue;
        }
        let Some(next) = apply(&specs[i], state) else {
            continue;
        };
        remaining.swap_remove(position);
        let found = oracle(specs, remaining, next);
        remaining.push(i);
        let last = remaining.len() - 1;
        remaining.swap(position, last);
        if found {
            return true;
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_checker_agrees_with_brute_force(specs in prop::collection::vec(spec(), 1..8)) {
        let history = history_of(&specs);
        let mut remaining: Vec<usize> = (0..specs.len())
            .filter(|&i| specs[i].outcome != Outcome::Fail)
            .collect();
        let expected = if oracle(&specs, &mut remaining, None) {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        let options = LinearizableOptions { threads: Some(1), ..LinearizableOptions::default() };
        let report = check(&history, ModelKind::CasRegister, &options).unwrap();
        prop_assert_eq!(report.validity, expected, "{:?}", report.violation);
    }
}
