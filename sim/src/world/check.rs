//! The history verdict of a run: Jepsen's queue checker, once per durability class.
//!
//! The workload writes three classes of topics (`acks=all`, `acks=1`, `acks=0`, all with
//! `flush.messages=1`), and each client process sticks to one class. The checker runs on
//! each class's sub-history separately, because the classes promise different things:
//! - `acks=all` records are acknowledged only once durable, so *nothing* excuses losing them
//!   — unless the run injected corruption, which one replica cannot repair;
//! - `acks=1` and `acks=0` records are acknowledged (or not at all) before their fsync, so a
//!   power loss or a failed fsync may take them back, and the offsets they held are reused —
//!   exactly what Kafka does with one replica. In runs with such faults, the loss family
//!   (`lost-write`, `unseen`, `inconsistent-offsets`) on those keys is *excused*: counted in
//!   the summary, not a failure. In a replicated cluster the same holds in every run: the
//!   leader alone acknowledges them, and a leader change may take them back (and hand
//!   their offsets out again, which the producer sees as `nonmonotonic-send`). Every
//!   other anomaly fails the run.

use crate::options::Options;
use crate::outcome::Failure;
use crate::workload::key_class;
use odradek_jepsen::history::{History, Op, Process, Value};
use odradek_jepsen::queue::{check, QueueOptions};
use std::collections::BTreeMap;

/// Anomalies that mean "an acknowledged record is gone".
const LOSS_FAMILY: [&str; 3] = ["lost-write", "unseen", "inconsistent-offsets"];

/// The checker's verdict on a run.
pub struct HistoryVerdict {
    /// The failure, if any anomaly is not excused.
    pub failure: Option<Failure>,
    /// Excused anomalies by name.
    pub excused: BTreeMap<String, u64>,
}

/// The durability classes checked, in order.
const CLASSES: [i16; 3] = [-1, 1, 0];

/// Checks the history per durability class. `counters` are the run's fault counts (to know
/// whether power losses or fsync failures happened). The ops are moved into one
/// sub-history per class for the checker and moved back afterwards, so `history` ends as it
/// began (no op is cloned: values can be large and runs long).
pub fn check_history(
    history: &mut History,
    options: &Options,
    counters: &BTreeMap<String, u64>,
) -> HistoryVerdict {
    let classes = process_classes(history);
    let all = std::mem::take(&mut history.ops);
    let mut buckets: [Vec<Op>; 4] = Default::default();
    let bucket_of: Vec<usize> = all
        .iter()
        .map(|op| match classes.get(&op.process) {
            Some(class) => CLASSES.iter().position(|c| c == class).unwrap_or(3),
            None => 3,
        })
        .collect();
    for (op, &bucket) in all.into_iter().zip(&bucket_of) {
        buckets[bucket].push(op);
    }
    let mut subs: Vec<History> = buckets.into_iter().map(History::from_ops).collect();
    let verdict = check_classes(&subs[..3], options, counters);
    let mut drains: Vec<std::vec::IntoIter<Op>> = subs
        .iter_mut()
        .map(|sub| std::mem::take(&mut sub.ops).into_iter())
        .collect();
    history.ops = bucket_of
        .iter()
        .filter_map(|&bucket| drains[bucket].next())
        .collect();
    verdict
}

/// The checker on each class's sub-history (`subs[i]` holds class `CLASSES[i]`).
fn check_classes(
    subs: &[History],
    options: &Options,
    counters: &BTreeMap<String, u64>,
) -> HistoryVerdict {
    let corruption = !options.unsurvivable_faults().is_empty();
    let unsynced_loss = counters.get("power-loss").is_some_and(|n| *n > 0)
        || counters.get("fsync-failed").is_some_and(|n| *n > 0)
        || corruption;
    let mut excused = BTreeMap::new();
    let mut failing: BTreeMap<String, u64> = BTreeMap::new();
    let mut report = String::new();
    for (&class, sub) in CLASSES.iter().zip(subs) {
        if sub.ops.is_empty() {
            continue;
        }
        let checked = match check(sub, &QueueOptions::default()) {
            Ok(checked) => checked,
            Err(error) => {
                let failure = Failure::Invariant {
                    event: 0,
                    message: format!("the workload recorded a malformed history: {error}"),
                };
                return HistoryVerdict {
                    failure: Some(failure),
                    excused,
                };
            }
        };
        let may_lose = if class == -1 {
            corruption
        } else {
            // In a cluster, acks=1 and acks=0 are acknowledged (or not at all) by the leader
            // alone: a leader change before the followers fetched them takes them back,
            // and the new leader reuses their offsets (Kafka's documented acks=1 trade).
            unsynced_loss || options.is_cluster()
        };
        // A leader change that takes back acks=1 records makes the new leader hand their
        // offsets out again, so a later send of the same producer lands below an earlier
        // one: nonmonotonic-send is that loss seen from the producer.
        let cluster_reuse = class != -1 && options.is_cluster();
        for anomaly in checked.anomalies.iter().filter(|a| a.fails_run) {
            let name = anomaly.name.as_str();
            let reused = cluster_reuse && name == "nonmonotonic-send";
            let bucket = if reused || (may_lose && LOSS_FAMILY.contains(&name)) {
                &mut excused
            } else {
                if failing.values().sum::<u64>() < 20 {
                    report.push_str(&format!(
                        "[acks={class}] {}: {}\n",
                        anomaly.name, anomaly.explanation
                    ));
                }
                &mut failing
            };
            *bucket.entry(anomaly.name.clone()).or_insert(0) += 1;
        }
    }
    let failure = (!failing.is_empty()).then_some(Failure::Anomaly {
        names: failing,
        report,
    });
    HistoryVerdict { failure, excused }
}

/// The durability class of each client process: that of the first key it touched.
fn process_classes(history: &History) -> BTreeMap<Process, i16> {
    let mut classes = BTreeMap::new();
    for op in &history.ops {
        if op.process.is_nemesis() || classes.contains_key(&op.process) {
            continue;
        }
        if let Some(class) = first_key(&op.value).and_then(|key| key_class(&key)) {
            classes.insert(op.process.clone(), class);
        }
    }
    classes
}

/// The first string key mentioned in an op's value (`[[send k v]]`, `[[poll {k ...}]]`,
/// `[k ...]`).
fn first_key(value: &Value) -> Option<String> {
    match value {
        Value::Str(text) if key_class(text).is_some() => Some(text.clone()),
        Value::Vector(items) | Value::List(items) => items.iter().find_map(first_key),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(key, value)| first_key(key).or_else(|| first_key(value))),
        _ => None,
    }
}
