//! Who wrote and read each message, which transactions must have committed, and the version
//! order of every key — as Jepsen's Kafka checker builds them.
//!
//! - A transaction *must have committed* if it is `ok`, or `info` and some message it sent
//!   was polled by an `ok` operation.
//! - The version order of a key comes from the offsets of *all* polls (whatever the poll's
//!   outcome: Kafka's pollers must only ever see safe data) and of the sends of transactions
//!   that must have committed. An offset seen with two values is `inconsistent-offsets`; a
//!   value seen at two offsets is a `duplicate`. Offsets with no known value are gaps
//!   (transaction markers) and are skipped: positions in the order are *dense indexes*.
//! - When an offset holds several values, the order keeps one representative (the value
//!   first seen in the history); a value's index is the last position where it represents
//!   its offset. Analyses that need an index treat values without one as "unknown".

use super::parse::{KeyId, KvId, NodeId, Parsed, NONE};
use super::text::{fmt_value, found};
use crate::history::OpType;
use crate::verdict::Anomaly;
use rustc_hash::FxHashMap as FastMap;

/// Per-message and per-operation facts shared by the analyses.
pub(crate) struct Facts {
    /// The last operation that sent each message (Jepsen's `writer-of`), or `NONE`.
    pub writer: Vec<NodeId>,
    /// A `fail`ed operation that sent each message, or `NONE`.
    pub failed_writer: Vec<NodeId>,
    /// Was the message sent by an `ok` operation?
    pub ok_written: Vec<bool>,
    /// Was the message polled by an `ok` operation?
    pub ok_read: Vec<bool>,
    /// For every operation: must it have committed?
    pub committed: Vec<bool>,
    /// Every operation that polled each message (CSR: `reader_start[kv]..reader_start[kv+1]`).
    pub reader_start: Vec<u32>,
    pub readers: Vec<NodeId>,
}

impl Facts {
    pub fn readers_of(&self, kv: KvId) -> &[NodeId] {
        let kv = kv as usize;
        &self.readers[self.reader_start[kv] as usize..self.reader_start[kv + 1] as usize]
    }
}

/// Builds [`Facts`].
pub(crate) fn facts(parsed: &Parsed<'_>) -> Facts {
    let kvs = parsed.kv_count();
    let mut facts = Facts {
        writer: vec![NONE; kvs],
        failed_writer: vec![NONE; kvs],
        ok_written: vec![false; kvs],
        ok_read: vec![false; kvs],
        committed: vec![false; parsed.nodes.len()],
        reader_start: vec![0; kvs + 1],
        readers: Vec::new(),
    };
    for (id, node) in parsed.nodes.iter().enumerate() {
        for group in parsed.writes_of(id as NodeId) {
            for item in parsed.write_items(group) {
                let kv = item.kv as usize;
                facts.writer[kv] = id as NodeId;
                match node.outcome {
                    OpType::Ok => facts.ok_written[kv] = true,
                    OpType::Fail => facts.failed_writer[kv] = id as NodeId,
                    _ => {}
                }
            }
        }
        for group in parsed.reads_of(id as NodeId) {
            for item in parsed.read_items(group) {
                facts.reader_start[item.kv as usize + 1] += 1;
                if node.is_ok() {
                    facts.ok_read[item.kv as usize] = true;
                }
            }
        }
    }
    for kv in 0..kvs {
        facts.reader_start[kv + 1] += facts.reader_start[kv];
    }
    let mut fill = facts.reader_start.clone();
    facts.readers = vec![0; facts.reader_start[kvs] as usize];
    for id in 0..parsed.nodes.len() {
        for group in parsed.reads_of(id as NodeId) {
            for item in parsed.read_items(group) {
                let slot = &mut fill[item.kv as usize];
                facts.readers[*slot as usize] = id as NodeId;
                *slot += 1;
            }
        }
    }
    for (id, node) in parsed.nodes.iter().enumerate() {
        facts.committed[id] = match node.outcome {
            OpType::Ok => true,
            OpType::Info => parsed.writes_of(id as NodeId).iter().any(|group| {
                parsed
                    .write_items(group)
                    .iter()
                    .any(|item| facts.ok_read[item.kv as usize])
            }),
            _ => false,
        };
    }
    facts
}

/// The version order of one key.
#[derive(Default)]
pub(crate) struct KeyOrder {
    /// The representative message at each dense index.
    pub by_index: Vec<KvId>,
}

/// Version orders of all keys, with per-message positions.
pub(crate) struct VersionOrders {
    pub keys: Vec<KeyOrder>,
    /// Jepsen's `by-value`: the dense index of each message, or `NONE`.
    pub index_of: Vec<u32>,
    /// The first dense index where each message appears at all, or `NONE`.
    pub first_index: Vec<u32>,
    /// The last dense index where each message appears at all, or `NONE`.
    pub last_index: Vec<u32>,
}

impl VersionOrders {
    /// Index difference `b - a`, or 1 ("adjacent, nothing to say") if either is unknown.
    pub fn delta(&self, a: KvId, b: KvId) -> i64 {
        match (self.index_of[a as usize], self.index_of[b as usize]) {
            (NONE, _) | (_, NONE) => 1,
            (i, j) => i64::from(j) - i64::from(i),
        }
    }
}

/// One observation of a message at an offset: `(key, offset, message, observer)`.
type Sighting = (KeyId, i64, KvId, NodeId);

/// Builds the version orders, reporting `inconsistent-offsets` and `duplicate` anomalies.
pub(crate) fn version_orders(
    parsed: &Parsed<'_>,
    facts: &Facts,
    anomalies: &mut Vec<Anomaly>,
) -> VersionOrders {
    let mut sightings: Vec<Sighting> = Vec::new();
    for id in 0..parsed.nodes.len() {
        for group in parsed.reads_of(id as NodeId) {
            for item in parsed.read_items(group) {
                if let Some(offset) = item.offset {
                    sightings.push((group.key, offset, item.kv, id as NodeId));
                }
            }
        }
        if facts.committed[id] {
            for group in parsed.writes_of(id as NodeId) {
                for item in parsed.write_items(group) {
                    if let Some(offset) = item.offset {
                        sightings.push((group.key, offset, item.kv, id as NodeId));
                    }
                }
            }
        }
    }
    sightings.sort_unstable();
    let kvs = parsed.kv_count();
    let mut orders = VersionOrders {
        keys: (0..parsed.key_count())
            .map(|_| KeyOrder::default())
            .collect(),
        index_of: vec![NONE; kvs],
        first_index: vec![NONE; kvs],
        last_index: vec![NONE; kvs],
    };
    let mut inconsistent = Vec::new();
    let mut duplicates = Vec::new();
    for key_sightings in sightings.chunk_by(|a, b| a.0 == b.0) {
        let key = key_sightings[0].0;
        order_key(parsed, &mut orders, key, key_sightings, &mut inconsistent);
        find_duplicates(parsed, &orders, key_sightings, &mut duplicates);
    }
    anomalies.extend(inconsistent);
    anomalies.extend(duplicates);
    orders
}

fn order_key(
    parsed: &Parsed<'_>,
    orders: &mut VersionOrders,
    key: KeyId,
    sightings: &[Sighting],
    inconsistent: &mut Vec<Anomaly>,
) {
    let mut by_index = Vec::new();
    for at_offset in sightings.chunk_by(|a, b| a.1 == b.1) {
        let index = by_index.len() as u32;
        let representative = at_offset[0].2;
        by_index.push(representative);
        orders.index_of[representative as usize] = index;
        let mut distinct: Vec<(KvId, NodeId)> = Vec::new();
        for &(_, _, kv, node) in at_offset {
            if distinct.last().is_none_or(|&(last, _)| last != kv) {
                distinct.push((kv, node));
            }
            let first = &mut orders.first_index[kv as usize];
            if *first == NONE {
                *first = index;
            }
            orders.last_index[kv as usize] = index;
        }
        if distinct.len() > 1 {
            let values: Vec<String> = distinct
                .iter()
                .map(|&(kv, _)| fmt_value(parsed.kv_value[kv as usize]))
                .collect();
            let witnesses = distinct.iter().map(|&(_, node)| node).collect();
            inconsistent.push(found(
                parsed,
                "inconsistent-offsets",
                format!(
                    "key {} offset {} holds different values: {}",
                    fmt_value(parsed.key_values[key as usize]),
                    at_offset[0].1,
                    values.join(", ")
                ),
                witnesses,
            ));
        }
    }
    orders.keys[key as usize].by_index = by_index;
}

fn find_duplicates(
    parsed: &Parsed<'_>,
    orders: &VersionOrders,
    sightings: &[Sighting],
    duplicates: &mut Vec<Anomaly>,
) {
    // A message seen at two offsets has a first index below its last index.
    let mut dups: Vec<(KvId, Vec<(i64, NodeId)>)> = Vec::new();
    let mut slots: FastMap<KvId, usize> = FastMap::default();
    for &(_, offset, kv, node) in sightings {
        let k = kv as usize;
        if orders.first_index[k] == orders.last_index[k] {
            continue;
        }
        let slot = *slots.entry(kv).or_insert_with(|| {
            dups.push((kv, Vec::new()));
            dups.len() - 1
        });
        let seen = &mut dups[slot].1;
        if seen.last().is_none_or(|&(last, _)| last != offset) {
            seen.push((offset, node));
        }
    }
    dups.sort_by_key(|(kv, _)| *kv);
    for (kv, seen) in dups {
        let offsets: Vec<String> = seen.iter().map(|(o, _)| o.to_string()).collect();
        duplicates.push(found(
            parsed,
            "duplicate",
            format!(
                "key {} value {} appears at {} offsets: {}",
                fmt_value(parsed.key_values[parsed.kv_key[kv as usize] as usize]),
                fmt_value(parsed.kv_value[kv as usize]),
                seen.len(),
                offsets.join(", ")
            ),
            seen.iter().map(|&(_, node)| node).collect(),
        ));
    }
}
