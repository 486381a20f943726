//! Reading a history into the dense tables every queue analysis works on.
//!
//! Contract: every client `send` / `poll` / `txn` operation becomes one [`Node`] (its
//! completion's value if it has one, else its invocation's, so a pending op counts as `info`
//! with what it tried to send). Keys and `(key, value)` pairs are interned to dense ids in
//! order of first appearance, so all later tables are `Vec`s and all output is
//! deterministic. `assign` / `subscribe` completions become [`Control`] events; `crash`,
//! `debug-topic-partitions` and anything else are ignored. Malformed micro-ops give a
//! [`QueueError`] naming the op and what was expected — never a panic.
//!
//! Keys and values compare by name: `:x`, `x` and `"x"` are the same, and a string key made
//! of digits equals the integer key (JSON object keys are always strings).

use super::QueueError;
use crate::history::{pair, History, OpType, Process, Value};
use rustc_hash::FxHashMap as FastMap;
use std::collections::BTreeMap;
use std::ops::Range;

/// Dense id of a key.
pub(crate) type KeyId = u32;
/// Dense id of a `(key, value)` pair: one message.
pub(crate) type KvId = u32;
/// Dense id of a send/poll/txn operation.
pub(crate) type NodeId = u32;
/// "No such id" marker in dense tables.
pub(crate) const NONE: u32 = u32::MAX;

/// A key or value, compared the way Jepsen compares them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Atom<'h> {
    Int(i64),
    Name(&'h str),
    Other(&'h Value),
}

impl<'h> Atom<'h> {
    fn of_value(value: &'h Value) -> Atom<'h> {
        match value {
            Value::Int(i) => Atom::Int(*i),
            other => other.as_name().map_or(Atom::Other(other), Atom::Name),
        }
    }

    fn of_key(value: &'h Value) -> Atom<'h> {
        match Atom::of_value(value) {
            Atom::Name(name) => name.parse::<i64>().map_or(Atom::Name(name), Atom::Int),
            atom => atom,
        }
    }
}

/// Reads (or writes) of one key within one operation, in micro-op order.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub key: KeyId,
    pub items: Range<u32>,
}

/// One message observed or sent: which `(key, value)`, at which offset (if known).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub kv: KvId,
    pub offset: Option<i64>,
}

/// One send/poll/txn operation.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub invoke: usize,
    pub completion: Option<usize>,
    pub outcome: OpType,
    pub process: u32,
    /// Into [`Parsed::read_groups`].
    pub reads: Range<u32>,
    /// Into [`Parsed::write_groups`].
    pub writes: Range<u32>,
}

impl Node {
    /// The history index that stands for this op (its completion; its invocation if pending).
    pub fn witness(&self) -> usize {
        self.completion.unwrap_or(self.invoke)
    }
    pub fn is_ok(&self) -> bool {
        self.outcome == OpType::Ok
    }
}

/// A client event, in per-process order.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    /// A send/poll/txn operation.
    Node(NodeId),
    /// An `ok` or `info` assign/subscribe: the consumer now follows just these keys.
    Control(Control),
}

/// An assign or subscribe that (may have) taken effect.
#[derive(Clone, Debug)]
pub(crate) struct Control {
    pub process: u32,
    pub subscribe: bool,
    pub keys: Vec<KeyId>,
}

/// The whole history in dense tables.
pub(crate) struct Parsed<'h> {
    pub history: &'h History,
    pub nodes: Vec<Node>,
    pub events: Vec<Event>,
    pub process_count: usize,
    pub read_groups: Vec<Group>,
    pub read_items: Vec<Item>,
    pub write_groups: Vec<Group>,
    pub write_items: Vec<Item>,
    /// For every key: the value it was first written as.
    pub key_values: Vec<&'h Value>,
    /// For every message: its key.
    pub kv_key: Vec<KeyId>,
    /// For every message: its value as first seen.
    pub kv_value: Vec<&'h Value>,
}

impl<'h> Parsed<'h> {
    pub fn reads_of(&self, node: NodeId) -> &[Group] {
        let r = &self.nodes[node as usize].reads;
        &self.read_groups[r.start as usize..r.end as usize]
    }
    pub fn writes_of(&self, node: NodeId) -> &[Group] {
        let r = &self.nodes[node as usize].writes;
        &self.write_groups[r.start as usize..r.end as usize]
    }
    pub fn read_items(&self, group: &Group) -> &[Item] {
        &self.read_items[group.items.start as usize..group.items.end as usize]
    }
    pub fn write_items(&self, group: &Group) -> &[Item] {
        &self.write_items[group.items.start as usize..group.items.end as usize]
    }
    pub fn key_count(&self) -> usize {
        self.key_values.len()
    }
    pub fn kv_count(&self) -> usize {
        self.kv_key.len()
    }
    /// The group of `key` among `groups`, if the op touched it.
    pub fn group_for(groups: &[Group], key: KeyId) -> Option<&Group> {
        groups.iter().find(|g| g.key == key)
    }
}

/// Per-op scratch: `(key, items)` in first-touch order.
#[derive(Default)]
struct OpGroups {
    groups: Vec<(KeyId, Vec<Item>)>,
}

impl OpGroups {
    fn push(&mut self, key: KeyId, item: Option<Item>) {
        let slot = match self.groups.iter().position(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                self.groups.push((key, Vec::new()));
                self.groups.len() - 1
            }
        };
        if let Some(item) = item {
            self.groups[slot].1.push(item);
        }
    }

    fn flush(&mut self, groups: &mut Vec<Group>, items: &mut Vec<Item>) -> Range<u32> {
        let start = groups.len() as u32;
        for (key, group_items) in self.groups.drain(..) {
            let first = items.len() as u32;
            items.extend_from_slice(&group_items);
            groups.push(Group {
                key,
                items: first..items.len() as u32,
            });
        }
        start..groups.len() as u32
    }
}

struct Interner<'h> {
    keys: FastMap<Atom<'h>, KeyId>,
    kvs: FastMap<(KeyId, Atom<'h>), KvId>,
    key_values: Vec<&'h Value>,
    kv_key: Vec<KeyId>,
    kv_value: Vec<&'h Value>,
}

impl<'h> Interner<'h> {
    fn key(&mut self, value: &'h Value) -> KeyId {
        let next = self.key_values.len() as KeyId;
        let id = *self.keys.entry(Atom::of_key(value)).or_insert(next);
        if id == next {
            self.key_values.push(value);
        }
        id
    }

    fn kv(&mut self, key: KeyId, value: &'h Value) -> KvId {
        let next = self.kv_key.len() as KvId;
        let id = *self.kvs.entry((key, Atom::of_value(value))).or_insert(next);
        if id == next {
            self.kv_key.push(key);
            self.kv_value.push(value);
        }
        id
    }
}

/// Reads the history; see the module docs.
pub(crate) fn parse(history: &History) -> Result<Parsed<'_>, QueueError> {
    let pairing = pair(history)?;
    let mut parser = Parser {
        history,
        interner: Interner {
            keys: FastMap::default(),
            kvs: FastMap::default(),
            key_values: Vec::new(),
            kv_key: Vec::new(),
            kv_value: Vec::new(),
        },
        processes: BTreeMap::new(),
        reads: OpGroups::default(),
        writes: OpGroups::default(),
        out: Vec::new(),
        parsed_nodes: Vec::new(),
        read_groups: Vec::new(),
        read_items: Vec::new(),
        write_groups: Vec::new(),
        write_items: Vec::new(),
    };
    for paired in &pairing.client_ops {
        let outcome = paired.outcome(history);
        parser.client_op(paired.invoke, paired.completion, outcome)?;
    }
    Ok(Parsed {
        history,
        nodes: parser.parsed_nodes,
        events: parser.out,
        process_count: parser.processes.len(),
        read_groups: parser.read_groups,
        read_items: parser.read_items,
        write_groups: parser.write_groups,
        write_items: parser.write_items,
        key_values: parser.interner.key_values,
        kv_key: parser.interner.kv_key,
        kv_value: parser.interner.kv_value,
    })
}

struct Parser<'h> {
    history: &'h History,
    interner: Interner<'h>,
    processes: BTreeMap<&'h Process, u32>,
    reads: OpGroups,
    writes: OpGroups,
    out: Vec<Event>,
    parsed_nodes: Vec<Node>,
    read_groups: Vec<Group>,
    read_items: Vec<Item>,
    write_groups: Vec<Group>,
    write_items: Vec<Item>,
}

fn malformed(index: u64, expected: &'static str, found: &Value) -> QueueError {
    let mut found = format!("{found:?}");
    if found.len() > 120 {
        let cut = (0..=117)
            .rev()
            .find(|&i| found.is_char_boundary(i))
            .unwrap_or(0);
        found.truncate(cut);
        found.push_str("...");
    }
    QueueError::Malformed {
        index,
        expected,
        found,
    }
}

impl<'h> Parser<'h> {
    fn process_id(&mut self, process: &'h Process) -> u32 {
        let next = self.processes.len() as u32;
        *self.processes.entry(process).or_insert(next)
    }

    fn client_op(
        &mut self,
        invoke: usize,
        completion: Option<usize>,
        outcome: OpType,
    ) -> Result<(), QueueError> {
        let ops = &self.history.ops;
        let op = &ops[invoke];
        let process = self.process_id(&op.process);
        match op.f.as_str() {
            "send" | "poll" | "txn" => self.txn_op(invoke, completion, outcome, process),
            "assign" | "subscribe" if outcome != OpType::Fail => {
                let source = completion.map_or(op, |c| &ops[c]);
                let value = match &source.value {
                    Value::Nil => &op.value,
                    value => value,
                };
                let Some(keys) = value.as_seq() else {
                    return Err(malformed(source.index, "a vector of keys", value));
                };
                let keys = keys.iter().map(|k| self.interner.key(k)).collect();
                self.out.push(Event::Control(Control {
                    process,
                    subscribe: op.f == "subscribe",
                    keys,
                }));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn txn_op(
        &mut self,
        invoke: usize,
        completion: Option<usize>,
        outcome: OpType,
        process: u32,
    ) -> Result<(), QueueError> {
        let ops = &self.history.ops;
        let invocation = &ops[invoke];
        let source = match completion.map(|c| &ops[c]) {
            Some(done) if done.value.as_seq().is_some() => done,
            Some(done) if outcome == OpType::Ok => {
                return Err(malformed(done.index, "a vector of micro-ops", &done.value));
            }
            _ => invocation,
        };
        let Some(mops) = source.value.as_seq() else {
            return Err(malformed(
                source.index,
                "a vector of micro-ops",
                &source.value,
            ));
        };
        for mop in mops {
            self.mop(source.index, mop)?;
        }
        let node = Node {
            invoke,
            completion,
            outcome,
            process,
            reads: self
                .reads
                .flush(&mut self.read_groups, &mut self.read_items),
            writes: self
                .writes
                .flush(&mut self.write_groups, &mut self.write_items),
        };
        self.out
            .push(Event::Node(self.parsed_nodes.len() as NodeId));
        self.parsed_nodes.push(node);
        Ok(())
    }

    fn mop(&mut self, index: u64, mop: &'h Value) -> Result<(), QueueError> {
        const MOP: &str =
            "a micro-op [send k v], [send k [offset v]], [poll] or [poll {k [[offset v] ...]}]";
        let parts = mop.as_seq().ok_or_else(|| malformed(index, MOP, mop))?;
        match (parts.first().and_then(Value::as_name), parts.len()) {
            (Some("send"), 3) => self.send(index, &parts[1], &parts[2]),
            (Some("poll"), 1) => Ok(()),
            (Some("poll"), 2) => self.poll(index, &parts[1]),
            _ => Err(malformed(index, MOP, mop)),
        }
    }

    fn send(&mut self, index: u64, key: &'h Value, sent: &'h Value) -> Result<(), QueueError> {
        let key = self.interner.key(key);
        let (offset, value) = match sent.as_seq() {
            Some([offset, value]) => (offset_of(index, offset)?, value),
            Some(_) => {
                return Err(malformed(index, "a sent value or [offset value]", sent));
            }
            None => (None, sent),
        };
        let kv = self.interner.kv(key, value);
        self.writes.push(key, Some(Item { kv, offset }));
        Ok(())
    }

    fn poll(&mut self, index: u64, result: &'h Value) -> Result<(), QueueError> {
        let entries = match result {
            Value::Nil => return Ok(()),
            Value::Map(entries) => entries,
            other => {
                return Err(malformed(
                    index,
                    "a poll result map {k [[offset v] ...]}",
                    other,
                ))
            }
        };
        for (key, pairs) in entries {
            let key = self.interner.key(key);
            self.reads.push(key, None);
            let pairs = match pairs {
                Value::Nil => &[][..],
                pairs => pairs
                    .as_seq()
                    .ok_or_else(|| malformed(index, "a vector of [offset value] pairs", pairs))?,
            };
            for pair in pairs {
                let Some([offset, value]) = pair.as_seq() else {
                    return Err(malformed(index, "an [offset value] pair", pair));
                };
                let offset = offset_of(index, offset)?;
                let kv = self.interner.kv(key, value);
                self.reads.push(key, Some(Item { kv, offset }));
            }
        }
        Ok(())
    }
}

fn offset_of(index: u64, offset: &Value) -> Result<Option<i64>, QueueError> {
    match offset {
        Value::Nil => Ok(None),
        Value::Int(o) if *o >= 0 => Ok(Some(*o)),
        other => Err(malformed(
            index,
            "an offset: a non-negative integer or nil",
            other,
        )),
    }
}
