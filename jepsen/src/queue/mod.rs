//! The Kafka queue checker: the anomalies of Jepsen's Kafka workload
//! (`jepsen.tests.kafka`), with its names, meanings and allowed-set rules.
//!
//! Input: a history of client operations `send`, `poll` and `txn`, whose values are
//! vectors of micro-ops — `[send k v]` completing as `[send k [offset v]]` (offset `nil` when
//! unknown) and `[poll]` completing as `[poll {k [[offset v] ...]}]` — plus `assign` /
//! `subscribe` (a vector of keys; replaces what the consumer follows). Other functions
//! (`crash`, `debug-topic-partitions`, ...) are ignored. Keywords and strings are the same.
//!
//! Output: a [`QueueReport`] listing every anomaly found with its witnessing operations
//! (history indexes) and a one-line explanation. Anomalies the run allows are listed with
//! `fails_run = false`: `G0*` and `int-send-skip` always; `poll-skip` and
//! `nonmonotonic-poll` for consumers that subscribe ([`SubscribeSkips`]); `G1c*` when
//! write-write dependencies are inferred ([`QueueOptions::ww_deps`]).
//!
//! Submodules: `parse` (dense tables), `order` (writers, readers, commitment, version
//! orders, `inconsistent-offsets`, `duplicate`), `visibility` (`G1a`,
//! `precommitted-read`, `lost-write`, `unseen`), `monotonic` (skips and nonmonotonic
//! polls/sends), `graph` + `cycles` (dependency cycles).
//!
//! Deliberate differences from Jepsen:
//! - process edges join the graph next to realtime ones (Jepsen's strict-serializable
//!   analysis only builds realtime edges, so it never names a `-process` cycle);
//! - `unseen` is one anomaly per key (Jepsen: one map over all keys);
//! - a value polled but never sent has no writer and is simply not attributed (Jepsen
//!   throws); pending operations count as `info` with their invocation's value;
//! - a string key made of digits equals the integer key (JSON object keys are strings);
//! - Jepsen's per-op `:rebalance-log` is not in our op model, so internal poll checks
//!   never excuse rebalanced keys;
//! - [`SubscribeSkips::PerConsumer`] (the default) excuses skips per consumer; Jepsen's
//!   test-wide rule is [`SubscribeSkips::WholeRun`].

mod cycles;
mod graph;
mod monotonic;
mod order;
mod parse;
mod text;
mod visibility;

use crate::history::{History, PairingError};
use crate::verdict::{Anomaly, Validity, Verdict};
use std::collections::BTreeMap;

pub use text::WITNESS_OPS_MAX;

/// When are `poll-skip` and `nonmonotonic-poll` allowed? A subscribed consumer may be
/// rebalanced between polls, so it legitimately jumps around a partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubscribeSkips {
    /// Allowed when the polling process was subscribed (its latest `assign`/`subscribe` was
    /// a subscribe) at either of the two polls.
    #[default]
    PerConsumer,
    /// Jepsen's rule: allowed everywhere as soon as the run uses `subscribe` at all.
    WholeRun,
    /// Never allowed.
    Never,
}

/// Checker options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueOptions {
    /// Infer write-write dependencies from offsets (Jepsen's `:ww-deps`). When on, `G1c`
    /// cycles are expected (Kafka does not isolate writes) and allowed.
    pub ww_deps: bool,
    /// Which consumer skips are allowed.
    pub subscribe_skips: SubscribeSkips,
}

/// A history the checker cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// Invocations and completions do not pair up.
    #[error(transparent)]
    Pairing(#[from] PairingError),
    /// An operation's value is not shaped as the Kafka workload writes it.
    #[error("op {index}: expected {expected}, found {found}")]
    Malformed {
        /// The offending op's index.
        index: u64,
        /// What was expected there.
        expected: &'static str,
        /// What was found (abbreviated).
        found: String,
    },
}

/// Sizes of what was checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// send/poll/txn operations.
    pub operations: usize,
    /// Distinct keys.
    pub keys: usize,
    /// Distinct messages (key, value).
    pub messages: usize,
    /// Edges in the dependency graph.
    pub edges: usize,
    /// Strongly connected components (of two or more operations) in it.
    pub cyclic_components: usize,
}

/// Everything the queue checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueReport {
    /// Every anomaly, grouped by name in Jepsen's (alphabetical) error order.
    pub anomalies: Vec<Anomaly>,
    /// Sizes of what was checked.
    pub stats: QueueStats,
}

/// How many anomalies of one name the [`Verdict`] lists (all are counted in its notes).
pub const ANOMALIES_SHOWN_PER_NAME: usize = 32;

impl QueueReport {
    /// Does any anomaly fail the run?
    pub fn validity(&self) -> Validity {
        if self.anomalies.iter().any(|a| a.fails_run) {
            Validity::Invalid
        } else {
            Validity::Valid
        }
    }

    /// Number of anomalies per name, allowed ones included.
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for a in &self.anomalies {
            *counts.entry(a.name.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// The common verdict (checker `queue`): failing anomalies first within each name, at
    /// most [`ANOMALIES_SHOWN_PER_NAME`] per name, with counts in the notes.
    pub fn verdict(&self) -> Verdict {
        let mut shown: BTreeMap<&str, Vec<&Anomaly>> = BTreeMap::new();
        for a in self.anomalies.iter().filter(|a| a.fails_run) {
            shown.entry(a.name.as_str()).or_default().push(a);
        }
        for a in self.anomalies.iter().filter(|a| !a.fails_run) {
            shown.entry(a.name.as_str()).or_default().push(a);
        }
        let anomalies = shown
            .values()
            .flat_map(|list| {
                list.iter()
                    .take(ANOMALIES_SHOWN_PER_NAME)
                    .map(|a| (*a).clone())
            })
            .collect();
        let s = &self.stats;
        let mut notes = vec![format!(
            "{} operations, {} keys, {} messages, {} dependency edges, {} cyclic components",
            s.operations, s.keys, s.messages, s.edges, s.cyclic_components
        )];
        for (name, list) in &shown {
            let failing = list.iter().filter(|a| a.fails_run).count();
            notes.push(format!(
                "{name}: {} found ({failing} failing, {} allowed)",
                list.len(),
                list.len() - failing
            ));
        }
        Verdict {
            checker: "queue".to_string(),
            validity: self.validity(),
            anomalies,
            notes,
        }
    }
}

/// Is an anomaly of this name allowed regardless of where it happened?
fn always_allowed(name: &str, options: &QueueOptions) -> bool {
    match name {
        "int-send-skip" | "G0" | "G0-process" | "G0-realtime" => true,
        "G1c" | "G1c-process" | "G1c-realtime" => options.ww_deps,
        _ => false,
    }
}

/// Checks a Kafka-workload history; see the module docs.
pub fn check(history: &History, options: &QueueOptions) -> Result<QueueReport, QueueError> {
    let parsed = parse::parse(history)?;
    let facts = order::facts(&parsed);
    let mut anomalies = Vec::new();
    let orders = order::version_orders(&parsed, &facts, &mut anomalies);
    visibility::aborted_reads(&parsed, &facts, &mut anomalies);
    visibility::precommitted_reads(&parsed, &mut anomalies);
    visibility::lost_writes(&parsed, &facts, &orders, &mut anomalies);
    visibility::unseen(&parsed, &facts, &mut anomalies);
    monotonic::internal(&parsed, &orders, &mut anomalies);
    monotonic::external_polls(&parsed, &orders, options.subscribe_skips, &mut anomalies);
    monotonic::external_sends(&parsed, &orders, &mut anomalies);
    let graph = graph::build(&parsed, &facts, &orders, options.ww_deps);
    let components = cycles::cycles(&parsed, &facts, &orders, &graph, &mut anomalies);
    for anomaly in &mut anomalies {
        if always_allowed(&anomaly.name, options) {
            anomaly.fails_run = false;
        }
    }
    // Jepsen's error order: names sorted; discovery order within a name (stable sort).
    anomalies.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(QueueReport {
        anomalies,
        stats: QueueStats {
            operations: parsed.nodes.len(),
            keys: parsed.key_count(),
            messages: parsed.kv_count(),
            edges: graph.edge_count(),
            cyclic_components: components,
        },
    })
}
