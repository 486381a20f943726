//! Property tests against a sequential Kafka-like model: a `Vec` log per key, several
//! processes interleaving sends and poll-then-send txns (ok / info / fail outcomes) and
//! polls that read dense runs from each consumer's position, then a final poll of everything. Such histories are always
//! valid; injecting one fault (a changed polled value, or an acknowledged send dropped from
//! every poll while a later value is read) makes them invalid with the expected anomaly.

mod queue_support;

use odradek_jepsen::history::{History, OpType, Value};
use odradek_jepsen::queue::{check, QueueOptions, QueueReport};
use odradek_jepsen::verdict::Validity;
use proptest::prelude::*;
use queue_support::*;

#[derive(Clone, Debug)]
enum Action {
    /// Send to one or two keys (possibly the same key twice); with `poll_first`, a `txn`
    /// that first polls `(mask, batch)`, then sends.
    Send {
        keys: (usize, Option<usize>),
        outcome: u8,
        info_applied: bool,
        poll_first: Option<(u8, usize)>,
    },
    /// Poll the keys in `mask`, at most `batch` messages per key.
    Poll { mask: u8, batch: usize, outcome: u8 },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (
            0usize..3,
            proptest::option::of(0usize..3),
            0u8..8,
            any::<bool>(),
            proptest::option::of((0u8..8, 0usize..4)),
        )
            .prop_map(|(k, k2, outcome, info_applied, poll_first)| Action::Send {
                keys: (k, k2),
                outcome,
                info_applied,
                poll_first,
            }),
        (0u8..8, 0usize..4, 0u8..8).prop_map(|(mask, batch, outcome)| Action::Poll {
            mask,
            batch,
            outcome
        }),
    ]
}

/// outcome 0..=5 → ok, 6 → info, 7 → fail.
fn outcome_of(code: u8) -> OpType {
    match code {
        6 => OpType::Info,
        7 => OpType::Fail,
        _ => OpType::Ok,
    }
}

/// An invoked operation and the (key, value) sends it carries.
type Outstanding = (Action, Vec<(usize, i64)>);

struct Model {
    keys: usize,
    threads: usize,
    logs: Vec<Vec<i64>>,
    process: Vec<i64>,
    positions: Vec<Vec<usize>>,
    pending: Vec<Option<Outstanding>>,
    next_value: i64,
    b: Builder,
}

impl Model {
    fn new(keys: usize, threads: usize) -> Model {
        Model {
            keys,
            threads,
            logs: vec![Vec::new(); keys],
            process: (0..threads as i64).collect(),
            positions: vec![vec![0; keys]; threads],
            pending: vec![None; threads],
            next_value: 1,
            b: Builder::new(),
        }
    }

    fn step(&mut self, thread: usize, action: Action) {
        let t = thread % self.threads;
        match self.pending[t].take() {
            Some((pending, writes)) => self.complete(t, pending, writes),
            None => self.invoke(t, action),
        }
    }

    fn invoke(&mut self, t: usize, action: Action) {
        let p = self.process[t];
        match &action {
            Action::Send {
                keys: (k, k2),
                poll_first,
                ..
            } => {
                let mut writes = Vec::new();
                for k in std::iter::once(*k).chain(*k2) {
                    writes.push((k % self.keys, self.next_value));
                    self.next_value += 1;
                }
                let mut mops: Vec<Value> = poll_first.iter().map(|_| poll_mop()).collect();
                mops.extend(writes.iter().map(|&(k, v)| send_mop(k as i64, v)));
                let f = if poll_first.is_some() { "txn" } else { "send" };
                self.b.invoke(p, f, mops);
                self.pending[t] = Some((action, writes));
            }
            Action::Poll { .. } => {
                self.b.invoke(p, "poll", vec![poll_mop()]);
                self.pending[t] = Some((action, Vec::new()));
            }
        }
    }

    fn retire(&mut self, t: usize) {
        self.process[t] += self.threads as i64;
        self.positions[t] = vec![0; self.keys];
    }

    fn complete(&mut self, t: usize, action: Action, writes: Vec<(usize, i64)>) {
        let p = self.process[t];
        match action {
            Action::Send {
                outcome,
                info_applied,
                poll_first,
                ..
            } => {
                let outcome = outcome_of(outcome);
                // A txn polls before its own sends are applied (read-committed).
                let mut mops = Vec::new();
                if let Some((mask, batch)) = poll_first {
                    if outcome == OpType::Ok {
                        let reads = self.read(t, mask, batch);
                        let reads: Vec<(i64, &[(i64, i64)])> = reads
                            .iter()
                            .map(|(k, pairs)| (*k, pairs.as_slice()))
                            .collect();
                        mops.push(polled(&reads));
                    } else {
                        mops.push(poll_mop());
                    }
                }
                if outcome == OpType::Ok || (outcome == OpType::Info && info_applied) {
                    for &(k, v) in &writes {
                        self.logs[k].push(v);
                    }
                }
                mops.extend(if outcome == OpType::Ok {
                    let mut offsets = vec![0usize; self.keys];
                    // Offsets of this op's appends, in order, per key.
                    let mut done = Vec::new();
                    for &(k, v) in writes.iter().rev() {
                        let offset = self.logs[k].len() - 1 - offsets[k];
                        offsets[k] += 1;
                        done.push(sent(k as i64, Some(offset as i64), v));
                    }
                    done.reverse();
                    done
                } else {
                    writes.iter().map(|&(k, v)| send_mop(k as i64, v)).collect()
                });
                let f = if poll_first.is_some() { "txn" } else { "send" };
                self.b.complete(p, outcome, f, mops);
                if outcome == OpType::Info {
                    self.retire(t);
                }
            }
            Action::Poll {
                mask,
                batch,
                outcome,
            } => match outcome_of(outcome) {
                OpType::Ok => {
                    let reads = self.read(t, mask, batch);
                    let reads: Vec<(i64, &[(i64, i64)])> = reads
                        .iter()
                        .map(|(k, pairs)| (*k, pairs.as_slice()))
                        .collect();
                    self.b.complete(p, OpType::Ok, "poll", vec![polled(&reads)]);
                }
                other => {
                    self.b.complete(p, other, "poll", vec![poll_mop()]);
                    if other == OpType::Info {
                        self.retire(t);
                    }
                }
            },
        }
    }

    fn read(&mut self, t: usize, mask: u8, batch: usize) -> Vec<(i64, Vec<(i64, i64)>)> {
        let mut reads = Vec::new();
        for k in (0..self.keys).filter(|k| mask & (1 << k) != 0) {
            let from = self.positions[t][k];
            let to = (from + batch).min(self.logs[k].len());
            let pairs = (from..to).map(|o| (o as i64, self.logs[k][o])).collect();
            self.positions[t][k] = to;
            reads.push((k as i64, pairs));
        }
        reads
    }

    /// A fresh consumer assigns every key and polls every log from the start.
    fn finish(mut self) -> (History, Vec<Vec<i64>>) {
        let keys: Vec<i64> = (0..self.keys as i64).collect();
        let all: Vec<(i64, Vec<(i64, i64)>)> = self
            .logs
            .iter()
            .enumerate()
            .map(|(k, log)| {
                (
                    k as i64,
                    log.iter()
                        .enumerate()
                        .map(|(o, &v)| (o as i64, v))
                        .collect(),
                )
            })
            .collect();
        let all: Vec<(i64, &[(i64, i64)])> = all.iter().map(|(k, p)| (*k, p.as_slice())).collect();
        self.b.assign(10_000, &keys).poll(10_000, &all);
        (self.b.build(), self.logs)
    }
}

fn run(keys: usize, threads: usize, steps: &[(usize, Action)]) -> (History, Vec<Vec<i64>>) {
    let mut model = Model::new(keys, threads);
    for (thread, action) in steps {
        model.step(*thread, action.clone());
    }
    model.finish()
}

fn scenario() -> impl Strategy<Value = (usize, usize, Vec<(usize, Action)>, usize)> {
    (
        1usize..=3,
        1usize..=4,
        proptest::collection::vec((0usize..4, action()), 1..80),
        any::<usize>(),
    )
}

/// Every `[offset value]` pair of every ok poll: (op index, mop-map entry, pair position).
fn poll_items(history: &History) -> Vec<(usize, usize, usize, i64)> {
    let mut items = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.op_type != OpType::Ok || (op.f != "poll" && op.f != "txn") {
            continue;
        }
        let Some(Value::Map(entries)) =
            op.value.as_seq().and_then(|m| m[0].as_seq()).map(|m| &m[1])
        else {
            continue;
        };
        for (e, (k, pairs)) in entries.iter().enumerate() {
            for p in 0..pairs.as_seq().map_or(0, <[Value]>::len) {
                items.push((i, e, p, k.as_int().unwrap_or(-1)));
            }
        }
    }
    items
}

/// Mutable access to the pairs of one poll's map entry.
fn pairs_mut(history: &mut History, op: usize, entry: usize) -> &mut Vec<Value> {
    let Value::Vector(mops) = &mut history.ops[op].value else {
        unreachable!("poll value")
    };
    let Value::Vector(mop) = &mut mops[0] else {
        unreachable!("poll mop")
    };
    let Value::Map(entries) = &mut mop[1] else {
        unreachable!("poll map")
    };
    let Value::Vector(pairs) = &mut entries[entry].1 else {
        unreachable!("pairs")
    };
    pairs
}

fn report(history: &History, ww_deps: bool) -> QueueReport {
    let options = QueueOptions {
        ww_deps,
        ..QueueOptions::default()
    };
    check(history, &options).expect("model histories are well-formed")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn model_histories_are_always_valid((keys, threads, steps, _pick) in scenario()) {
        let (history, _) = run(keys, threads, &steps);
        for ww_deps in [false, true] {
            let r = report(&history, ww_deps);
            prop_assert_eq!(r.validity(), Validity::Valid, "{:#?}", r.anomalies);
            prop_assert!(all_names(&r).is_empty(), "{:#?}", r.anomalies);
        }
    }

    #[test]
    fn a_changed_polled_value_is_caught((keys, threads, steps, pick) in scenario()) {
        let (mut history, logs) = run(keys, threads, &steps);
        let candidates: Vec<_> = poll_items(&history)
            .into_iter()
            .filter(|&(_, _, _, k)| logs[k as usize].len() >= 2)
            .collect();
        prop_assume!(!candidates.is_empty());
        let (op, entry, pos, k) = candidates[pick % candidates.len()];
        let pair = &mut pairs_mut(&mut history, op, entry)[pos];
        let Value::Vector(ov) = pair else { unreachable!("pair") };
        let offset = ov[0].as_int().unwrap_or(0) as usize;
        let log = &logs[k as usize];
        ov[1] = Value::Int(log[(offset + 1 + pick / 7 % (log.len() - 1)) % log.len()]);
        let r = report(&history, false);
        prop_assert_eq!(r.validity(), Validity::Invalid);
        prop_assert!(has(&r, "inconsistent-offsets") || has(&r, "duplicate"), "{:#?}", r.anomalies);
    }

    #[test]
    fn an_acknowledged_send_missing_from_all_polls_is_a_lost_write((keys, threads, steps, pick) in scenario()) {
        let (mut history, logs) = run(keys, threads, &steps);
        // Acknowledged sends (ok, with an offset) that have a later value in their log.
        let mut acked = Vec::new();
        for op in history.ops.iter().filter(|op| op.op_type == OpType::Ok && op.f == "send") {
            for mop in op.value.as_seq().unwrap_or(&[]) {
                let parts = mop.as_seq().unwrap_or(&[]);
                let (k, pair) = (parts[1].as_int().unwrap_or(0), parts[2].as_seq().unwrap_or(&[]));
                let offset = pair[0].as_int().unwrap_or(0);
                if (offset as usize) + 1 < logs[k as usize].len() {
                    acked.push((k, pair[1].clone()));
                }
            }
        }
        prop_assume!(!acked.is_empty());
        let (k, v) = acked[pick % acked.len()].clone();
        for (op, entry, _, key) in poll_items(&history) {
            if key == k {
                pairs_mut(&mut history, op, entry).retain(|p| p.as_seq().map(|p| &p[1]) != Some(&v));
            }
        }
        let r = report(&history, false);
        prop_assert_eq!(r.validity(), Validity::Invalid);
        prop_assert!(has(&r, "lost-write"), "{:#?}", r.anomalies);
        prop_assert!(has(&r, "unseen"), "{:#?}", r.anomalies);
    }
}
