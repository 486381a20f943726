//! The checker's API beyond the built-in models: users' own models, budgets that give
//! `unknown`, model names, and the verdict a violation renders to (snapshot).

mod linearizable_support;

use linearizable_support::{int, nil, Builder};
use odradek_jepsen::history::Value;
use odradek_jepsen::linearizable::{
    check, check_with_model, Completion, LinearizableOptions, Model, ModelKind, ParsedOp,
    PartitionKey, PartitionOutcome, RawOp, UnknownReason,
};
use odradek_jepsen::verdict::Validity;
use std::time::Duration;

/// A counter: `add n` increments, `read` returns the total.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Counter(i64);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum CounterOp {
    Add(i64),
    Read(i64),
}

impl Model for Counter {
    type Op = CounterOp;

    fn name(&self) -> String {
        "counter".to_string()
    }

    fn parse_op(&self, op: &RawOp<'_>) -> Result<Option<ParsedOp<CounterOp>>, String> {
        let parsed = match (op.f, op.completion) {
            ("read", Completion::Indeterminate) => return Ok(None),
            ("read", Completion::Ok) => {
                CounterOp::Read(op.effective_value().as_int().ok_or("an integer read")?)
            }
            ("add", _) => CounterOp::Add(op.invoke_value.as_int().ok_or("an integer to add")?),
            _ => return Err("f `add` or `read`".to_string()),
        };
        Ok(Some(ParsedOp {
            partition: PartitionKey::Whole,
            op: parsed,
        }))
    }

    fn step(&self, op: &CounterOp) -> Option<Counter> {
        match op {
            CounterOp::Add(n) => Some(Counter(self.0 + n)),
            CounterOp::Read(seen) => (*seen == self.0).then(|| self.clone()),
        }
    }
}

#[test]
fn a_users_model_is_checked_like_a_built_in_one() {
    let mut h = Builder::new();
    h.invoke(0, "add", int(1))
        .invoke(1, "add", int(2))
        .done(2, "read", nil(), int(2))
        .ok(0, "add", int(1))
        .ok(1, "add", int(2))
        .done(2, "read", nil(), int(3));
    let options = LinearizableOptions::default();
    let report = check_with_model(&h.history(), &Counter(0), &options).unwrap();
    assert_eq!(report.validity, Validity::Valid);
    assert_eq!(report.model, "counter");
    h.done(2, "read", nil(), int(1));
    let report = check_with_model(&h.history(), &Counter(0), &options).unwrap();
    assert_eq!(report.validity, Validity::Invalid);
    assert_eq!(report.verdict().anomalies[0].name, "nonlinearizable");
}

#[test]
fn a_users_parse_error_is_reported_with_the_op_index() {
    let mut h = Builder::new();
    h.done(0, "add", int(1), int(1))
        .done(0, "add", Value::Str("one".into()), nil());
    let error =
        check_with_model(&h.history(), &Counter(0), &LinearizableOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "op 2 (f `add`, value \"one\"): expected an integer to add"
    );
}

/// Sequential writes and reads of a register: linearizable, and `ops` long.
fn long_register_history(ops: usize) -> Builder {
    let mut h = Builder::new();
    for i in 0..ops as i64 / 2 {
        h.done(0, "write", int(i), int(i))
            .done(1, "read", nil(), int(i));
    }
    h
}

#[test]
fn running_out_of_steps_gives_unknown_not_a_guess() {
    let h = long_register_history(100);
    let options = LinearizableOptions {
        max_steps: Some(10),
        ..LinearizableOptions::default()
    };
    let report = check(&h.history(), ModelKind::Register, &options).unwrap();
    assert_eq!(report.validity, Validity::Unknown);
    assert_eq!(
        report.partitions[0].outcome,
        PartitionOutcome::Unknown(UnknownReason::StepBudget)
    );
    assert_eq!(report.partitions[0].steps, 10);
    let verdict = report.verdict();
    assert_eq!(verdict.validity, Validity::Unknown);
    assert!(verdict.anomalies.is_empty());
    assert!(verdict.notes.iter().any(|n| n.contains("step budget")));
}

#[test]
fn running_out_of_time_gives_unknown_not_a_guess() {
    let h = long_register_history(4_000);
    let options = LinearizableOptions {
        max_duration: Some(Duration::ZERO),
        ..LinearizableOptions::default()
    };
    let report = check(&h.history(), ModelKind::Register, &options).unwrap();
    assert_eq!(report.validity, Validity::Unknown);
    assert_eq!(
        report.partitions[0].outcome,
        PartitionOutcome::Unknown(UnknownReason::TimeBudget)
    );
}

#[test]
fn the_same_history_with_enough_budget_is_valid() {
    let h = long_register_history(4_000);
    let report = check(
        &h.history(),
        ModelKind::Register,
        &LinearizableOptions::default(),
    )
    .unwrap();
    assert_eq!(report.validity, Validity::Valid);
}

#[test]
fn model_names_round_trip() {
    for kind in ModelKind::ALL {
        assert_eq!(ModelKind::from_name(kind.name()), Some(kind));
    }
    assert_eq!(
        ModelKind::from_name("cas-register"),
        Some(ModelKind::CasRegister)
    );
    assert_eq!(ModelKind::from_name("queue"), None);
}

#[test]
fn a_violation_renders_to_a_verdict_with_witnesses() {
    let mut h = Builder::new();
    h.done(0, "write", int(1), int(1))
        .invoke(0, "write", int(2))
        .invoke(1, "cas", Value::Vector(vec![int(1), int(3)]))
        .ok(0, "write", int(2))
        .info(1, "cas", nil())
        .invoke(2, "write", int(4))
        .fail(2, "write", int(4))
        .done(3, "read", nil(), int(3))
        .done(3, "read", nil(), int(2));
    let options = LinearizableOptions {
        threads: Some(1),
        ..LinearizableOptions::default()
    };
    let report = check(&h.history(), ModelKind::CasRegister, &options).unwrap();
    insta::assert_debug_snapshot!(report.verdict());
}
