//! Order anomalies: did consumers and producers move through each key's version order one
//! step at a time, as Jepsen's Kafka checker expects?
//!
//! Within one operation (`int-` prefix), consecutive values of a key polled (or sent) should
//! be adjacent in the version order: a gap is a *skip*, going backwards or repeating is
//! *nonmonotonic*. Across one process's operations, the first value an operation polls of a
//! key should directly follow the last value that process's previous `ok` poll of that key
//! returned (`poll-skip`, `nonmonotonic-poll`), and a process's sends to a key should move
//! forward (`nonmonotonic-send`). An `assign` or `subscribe` forgets keys no longer followed.
//! Values whose index is unknown are never flagged.
//!
//! Allowed: `int-send-skip` always (transactions interleave); `poll-skip` and
//! `nonmonotonic-poll` when the consumer subscribed (rebalances move it), per
//! [`SubscribeSkips`].

use super::order::VersionOrders;
use super::parse::{Event, Group, Item, KeyId, KvId, NodeId, Parsed};
use super::text::{fmt_process, fmt_value, found, list_capped};
use super::SubscribeSkips;
use crate::history::OpType;
use crate::verdict::Anomaly;
use std::collections::BTreeMap;

/// How many skipped values an explanation lists.
const SKIPPED_SHOWN_MAX: usize = 8;

struct Ctx<'a, 'h> {
    parsed: &'a Parsed<'h>,
    orders: &'a VersionOrders,
}

impl Ctx<'_, '_> {
    fn key(&self, key: KeyId) -> String {
        fmt_value(self.parsed.key_values[key as usize])
    }
    fn value(&self, kv: KvId) -> String {
        fmt_value(self.parsed.kv_value[kv as usize])
    }
    fn skipped(&self, key: KeyId, a: KvId, b: KvId) -> String {
        let by_index = &self.orders.keys[key as usize].by_index;
        let (i, j) = (
            self.orders.index_of[a as usize] as usize,
            self.orders.index_of[b as usize] as usize,
        );
        list_capped(
            by_index[i + 1..j].iter().map(|&kv| self.value(kv)),
            SKIPPED_SHOWN_MAX,
        )
    }
    /// `"skip"` / `"nonmonotonic"` classification of the step a → b, if anomalous.
    fn step(&self, a: KvId, b: KvId) -> Option<(bool, i64)> {
        let delta = self.orders.delta(a, b);
        match delta {
            1 => None,
            d if d > 1 => Some((true, d)),
            d => Some((false, d)),
        }
    }
}

/// `int-poll-skip`, `int-nonmonotonic-poll`, `int-send-skip`, `int-nonmonotonic-send`.
pub(crate) fn internal(parsed: &Parsed<'_>, orders: &VersionOrders, out: &mut Vec<Anomaly>) {
    let ctx = Ctx { parsed, orders };
    for id in 0..parsed.nodes.len() as NodeId {
        for group in parsed.reads_of(id) {
            internal_pairs(&ctx, id, group, parsed.read_items(group), "poll", out);
        }
        for group in parsed.writes_of(id) {
            internal_pairs(&ctx, id, group, parsed.write_items(group), "send", out);
        }
    }
}

fn internal_pairs(
    ctx: &Ctx<'_, '_>,
    id: NodeId,
    group: &Group,
    items: &[Item],
    verb: &str,
    out: &mut Vec<Anomaly>,
) {
    let op = ctx.parsed.nodes[id as usize].witness();
    for pair in items.windows(2) {
        let (a, b) = (pair[0].kv, pair[1].kv);
        let Some((skip, delta)) = ctx.step(a, b) else {
            continue;
        };
        let (name, what) = if skip {
            (
                format!("int-{verb}-skip"),
                format!(
                    "skipping {} values ({})",
                    delta - 1,
                    ctx.skipped(group.key, a, b)
                ),
            )
        } else {
            (
                format!("int-nonmonotonic-{verb}"),
                format!("moving {delta} positions in the log where +1 was expected"),
            )
        };
        out.push(found(
            ctx.parsed,
            &name,
            format!(
                "op {op} {verb}ed key {} value {} then {}, {what}",
                ctx.key(group.key),
                ctx.value(a),
                ctx.value(b)
            ),
            vec![id],
        ));
    }
}

/// What a process last did with a key.
#[derive(Clone, Copy)]
struct Last {
    node: NodeId,
    subscribed: bool,
}

/// Per-process consumer state.
#[derive(Default, Clone)]
struct Consumer {
    subscribed: bool,
    last: BTreeMap<KeyId, Last>,
}

/// `poll-skip` and `nonmonotonic-poll`, per process.
pub(crate) fn external_polls(
    parsed: &Parsed<'_>,
    orders: &VersionOrders,
    skips: SubscribeSkips,
    out: &mut Vec<Anomaly>,
) {
    let ctx = Ctx { parsed, orders };
    let any_subscribe = parsed
        .events
        .iter()
        .any(|e| matches!(e, Event::Control(c) if c.subscribe));
    let mut consumers = vec![Consumer::default(); parsed.process_count];
    for event in &parsed.events {
        match event {
            Event::Control(control) => {
                let consumer = &mut consumers[control.process as usize];
                consumer.subscribed = control.subscribe;
                consumer.last.retain(|k, _| control.keys.contains(k));
            }
            Event::Node(id) => {
                let node = &parsed.nodes[*id as usize];
                let consumer = &mut consumers[node.process as usize];
                for group in parsed.reads_of(*id) {
                    let Some(last) = consumer.last.get(&group.key) else {
                        continue;
                    };
                    let allowed = match skips {
                        SubscribeSkips::Never => false,
                        SubscribeSkips::PerConsumer => last.subscribed || consumer.subscribed,
                        SubscribeSkips::WholeRun => any_subscribe,
                    };
                    external_poll_step(&ctx, *last, *id, group, allowed, out);
                }
                if node.outcome == OpType::Ok {
                    let subscribed = consumer.subscribed;
                    for group in parsed.reads_of(*id) {
                        let last = Last {
                            node: *id,
                            subscribed,
                        };
                        consumer.last.insert(group.key, last);
                    }
                }
            }
        }
    }
}

fn external_poll_step(
    ctx: &Ctx<'_, '_>,
    last: Last,
    id: NodeId,
    group: &Group,
    allowed: bool,
    out: &mut Vec<Anomaly>,
) {
    let parsed = ctx.parsed;
    let before = Parsed::group_for(parsed.reads_of(last.node), group.key)
        .and_then(|g| parsed.read_items(g).last());
    let (Some(before), Some(after)) = (before, parsed.read_items(group).first()) else {
        return;
    };
    let Some((skip, delta)) = ctx.step(before.kv, after.kv) else {
        return;
    };
    let (earlier, later) = (
        parsed.nodes[last.node as usize].witness(),
        parsed.nodes[id as usize].witness(),
    );
    let (name, what) = if skip {
        let skipped = ctx.skipped(group.key, before.kv, after.kv);
        (
            "poll-skip",
            format!("skipping {} values ({skipped})", delta - 1),
        )
    } else {
        (
            "nonmonotonic-poll",
            format!("moving {delta} positions in the log where +1 was expected"),
        )
    };
    let mut anomaly = found(
        parsed,
        name,
        format!(
            "process {}: op {earlier} last polled key {} value {}, then op {later} started at value {}, {what}",
            fmt_process(&parsed.history.ops[parsed.nodes[id as usize].invoke].process),
            ctx.key(group.key),
            ctx.value(before.kv),
            ctx.value(after.kv)
        ),
        vec![last.node, id],
    );
    anomaly.fails_run = !allowed;
    out.push(anomaly);
}

/// `nonmonotonic-send`, per process, over `ok` and `info` operations.
pub(crate) fn external_sends(parsed: &Parsed<'_>, orders: &VersionOrders, out: &mut Vec<Anomaly>) {
    let ctx = Ctx { parsed, orders };
    let mut last_sends: Vec<BTreeMap<KeyId, NodeId>> = vec![BTreeMap::new(); parsed.process_count];
    for event in &parsed.events {
        match event {
            Event::Control(control) => {
                last_sends[control.process as usize].retain(|k, _| control.keys.contains(k));
            }
            Event::Node(id) => {
                let node = &parsed.nodes[*id as usize];
                if node.outcome == OpType::Fail {
                    continue;
                }
                let last = &mut last_sends[node.process as usize];
                for group in parsed.writes_of(*id) {
                    if let Some(&before_node) = last.get(&group.key) {
                        external_send_step(&ctx, before_node, *id, group, out);
                    }
                }
                for group in parsed.writes_of(*id) {
                    last.insert(group.key, *id);
                }
            }
        }
    }
}

fn external_send_step(
    ctx: &Ctx<'_, '_>,
    before_node: NodeId,
    id: NodeId,
    group: &Group,
    out: &mut Vec<Anomaly>,
) {
    let parsed = ctx.parsed;
    let before = Parsed::group_for(parsed.writes_of(before_node), group.key)
        .and_then(|g| parsed.write_items(g).last());
    let (Some(before), Some(after)) = (before, parsed.write_items(group).first()) else {
        return;
    };
    let delta = ctx.orders.delta(before.kv, after.kv);
    if delta >= 1 {
        return;
    }
    out.push(found(
        parsed,
        "nonmonotonic-send",
        format!(
            "op {} sent key {} value {}, then op {} of the same process sent {}, {} positions earlier in the log",
            parsed.nodes[before_node as usize].witness(),
            ctx.key(group.key),
            ctx.value(before.kv),
            parsed.nodes[id as usize].witness(),
            ctx.value(after.kv),
            1 - delta
        ),
        vec![before_node, id],
    ));
}
