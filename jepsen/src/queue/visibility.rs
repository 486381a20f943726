//! Anomalies about which messages were (not) visible: `G1a`, `precommitted-read`,
//! `lost-write` and `unseen`, with the meanings of Jepsen's Kafka checker.
//!
//! - `G1a` (aborted read): an `ok` operation polled a message that a `fail`ed op sent.
//! - `precommitted-read`: an operation polled a message it sent itself (Kafka consumers at
//!   read-committed must never see uncommitted records, not even their own).
//! - `lost-write`: for a key, take the highest dense index at which any value polled by an
//!   `ok` op first appears; every message whose last appearance is at or below it should have
//!   been polled by some `ok` op. One that was not, whose sender must have committed, is lost.
//! - `unseen`: messages acknowledged by an `ok` send that no `ok` poll ever returned, by the
//!   end of the history (Jepsen runs final polls to make this meaningful).

use super::order::{Facts, VersionOrders};
use super::parse::{KeyId, KvId, NodeId, Parsed, NONE};
use super::text::{fmt_value, found, list_capped};
use crate::verdict::Anomaly;

/// How many values an explanation lists before summarising.
const VALUES_SHOWN_MAX: usize = 8;

fn key_name(parsed: &Parsed<'_>, key: KeyId) -> String {
    fmt_value(parsed.key_values[key as usize])
}

fn value_name(parsed: &Parsed<'_>, kv: KvId) -> String {
    fmt_value(parsed.kv_value[kv as usize])
}

/// `G1a`: ok polls of messages sent by failed operations.
pub(crate) fn aborted_reads(parsed: &Parsed<'_>, facts: &Facts, out: &mut Vec<Anomaly>) {
    for (id, node) in parsed.nodes.iter().enumerate() {
        if !node.is_ok() {
            continue;
        }
        for group in parsed.reads_of(id as NodeId) {
            for item in parsed.read_items(group) {
                let writer = facts.failed_writer[item.kv as usize];
                if writer == NONE {
                    continue;
                }
                out.push(found(
                    parsed,
                    "G1a",
                    format!(
                        "op {} polled key {} value {}, which failed op {} sent",
                        node.witness(),
                        key_name(parsed, group.key),
                        value_name(parsed, item.kv),
                        parsed.nodes[writer as usize].witness()
                    ),
                    vec![writer, id as NodeId],
                ));
            }
        }
    }
}

/// `precommitted-read`: operations that polled their own sends.
pub(crate) fn precommitted_reads(parsed: &Parsed<'_>, out: &mut Vec<Anomaly>) {
    for (id, node) in parsed.nodes.iter().enumerate() {
        let reads = parsed.reads_of(id as NodeId);
        if reads.is_empty() {
            continue;
        }
        let own = parsed.writes_of(id as NodeId).iter().find_map(|write| {
            let read = Parsed::group_for(reads, write.key)?;
            parsed.write_items(write).iter().find_map(|sent| {
                parsed
                    .read_items(read)
                    .iter()
                    .any(|polled| polled.kv == sent.kv)
                    .then_some((write.key, sent.kv))
            })
        });
        if let Some((key, kv)) = own {
            out.push(found(
                parsed,
                "precommitted-read",
                format!(
                    "op {} polled key {} value {}, which it sent itself",
                    node.witness(),
                    key_name(parsed, key),
                    value_name(parsed, kv)
                ),
                vec![id as NodeId],
            ));
        }
    }
}

/// Messages grouped by key, in id order: `(start, end)` ranges into a sorted id list.
fn kvs_by_key(parsed: &Parsed<'_>) -> (Vec<u32>, Vec<KvId>) {
    let mut start = vec![0u32; parsed.key_count() + 1];
    for &key in &parsed.kv_key {
        start[key as usize + 1] += 1;
    }
    for k in 0..parsed.key_count() {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut ids = vec![0; parsed.kv_count()];
    for (kv, &key) in parsed.kv_key.iter().enumerate() {
        ids[fill[key as usize] as usize] = kv as KvId;
        fill[key as usize] += 1;
    }
    (start, ids)
}

/// `lost-write`; see the module docs.
pub(crate) fn lost_writes(
    parsed: &Parsed<'_>,
    facts: &Facts,
    orders: &VersionOrders,
    out: &mut Vec<Anomaly>,
) {
    let (start, ids) = kvs_by_key(parsed);
    for key in 0..parsed.key_count() {
        let kvs = &ids[start[key] as usize..start[key + 1] as usize];
        let bound_kv = kvs
            .iter()
            .copied()
            .filter(|&kv| facts.ok_read[kv as usize] && orders.first_index[kv as usize] != NONE)
            .max_by_key(|&kv| (orders.first_index[kv as usize], std::cmp::Reverse(kv)));
        let Some(bound_kv) = bound_kv else {
            continue;
        };
        let bound = orders.first_index[bound_kv as usize];
        let max_reader = facts
            .readers_of(bound_kv)
            .iter()
            .copied()
            .find(|&r| parsed.nodes[r as usize].is_ok());
        let mut lost: Vec<KvId> = kvs
            .iter()
            .copied()
            .filter(|&kv| {
                let k = kv as usize;
                orders.last_index[k] != NONE
                    && orders.last_index[k] <= bound
                    && !facts.ok_read[k]
                    && facts.writer[k] != NONE
                    && facts.committed[facts.writer[k] as usize]
            })
            .collect();
        lost.sort_by_key(|&kv| (orders.first_index[kv as usize], kv));
        for kv in lost {
            let writer = facts.writer[kv as usize];
            let mut witnesses = vec![writer];
            witnesses.extend(max_reader);
            out.push(found(
                parsed,
                "lost-write",
                format!(
                    "key {} value {} (index {}) sent by op {} was never polled, yet op {} polled the later value {} (index {})",
                    key_name(parsed, key as KeyId),
                    value_name(parsed, kv),
                    orders.first_index[kv as usize],
                    parsed.nodes[writer as usize].witness(),
                    max_reader.map_or_else(|| "?".to_string(), |r| parsed.nodes[r as usize].witness().to_string()),
                    value_name(parsed, bound_kv),
                    bound
                ),
                witnesses,
            ));
        }
    }
}

/// `unseen`: one anomaly per key with acknowledged sends never polled.
pub(crate) fn unseen(parsed: &Parsed<'_>, facts: &Facts, out: &mut Vec<Anomaly>) {
    let (start, ids) = kvs_by_key(parsed);
    for key in 0..parsed.key_count() {
        let kvs = &ids[start[key] as usize..start[key + 1] as usize];
        let missing: Vec<KvId> = kvs
            .iter()
            .copied()
            .filter(|&kv| facts.ok_written[kv as usize] && !facts.ok_read[kv as usize])
            .collect();
        if missing.is_empty() {
            continue;
        }
        let values = list_capped(
            missing.iter().map(|&kv| value_name(parsed, kv)),
            VALUES_SHOWN_MAX,
        );
        out.push(found(
            parsed,
            "unseen",
            format!(
                "key {}: {} acknowledged sends never polled by the end of the history: {}",
                key_name(parsed, key as KeyId),
                missing.len(),
                values
            ),
            missing
                .iter()
                .map(|&kv| facts.writer[kv as usize])
                .filter(|&w| w != NONE)
                .collect(),
        ));
    }
}
