//! Consumers and final readers: assign-mode readers of every partition of one class.
//!
//! A reader assigns its keys (an `assign` op, `ok` at once: assignment is client-side),
//! then repeats `poll` ops, each one Fetch of all its partitions from its positions. An
//! `ok` poll records the records read per key and advances the positions; a partition
//! answering OFFSET_OUT_OF_RANGE is reset to its earliest offset by a ListOffsets before
//! the next poll (not recorded: it reads no records). A final reader first learns each
//! partition's end offset (ListOffsets latest) and polls from 0 until it reached them all.
//!
//! A consumer may have a per-poll record limit (`poll_limit`, drawn from the seed), like a
//! Kafka client's `max.poll.records` that keeps no fetch buffer: a poll returns at most that
//! many records of each key, in offset order, and the key's position becomes the offset
//! after the last one returned, so the next Fetch starts inside a batch when the limit cut
//! one (the records beyond the limit are fetched again). Final readers are unlimited.

use super::class::DurabilityClass;
use super::history::{assign_value, poll_completion, poll_invocation, HistoryRecorder};
use super::requests::{self, EARLIEST, FETCH_VERSION, LATEST, LIST_OFFSETS_VERSION};
use super::responses::{
    error_name, fetch_outcome, list_offsets_outcome, FetchOutcome, PartitionRead,
};
use super::{Client, Purpose, Shared};
use odradek_core::node::NodeResponse;
use odradek_core::wire::KafkaErrorCode;
use odradek_core::Mono;
use odradek_jepsen::history::OpType;
use std::collections::{BTreeMap, BTreeSet};

/// A reader's positions and what it still has to do.
#[derive(Clone, Debug)]
pub(crate) struct ReaderState {
    pub class: DurabilityClass,
    pub partitions: Vec<i32>,
    /// Where the next fetch of each partition starts.
    pub positions: BTreeMap<i32, i64>,
    /// Partitions to move to their earliest offset before the next poll.
    pub to_reset: BTreeSet<i32>,
    /// Has the current process assigned its keys?
    pub assigned: bool,
    /// A final reader (reads to `end_offsets`, not bounded by the operation budget).
    pub final_read: bool,
    /// Final readers: each partition's end offset when the final reads began.
    pub end_offsets: BTreeMap<i32, i64>,
    /// The most records a poll returns per key (`None`: all that were fetched).
    pub poll_limit: Option<usize>,
}

impl ReaderState {
    pub(crate) fn new(class: DurabilityClass, partitions: i32, final_read: bool) -> ReaderState {
        let partitions: Vec<i32> = (0..partitions).collect();
        ReaderState {
            class,
            positions: partitions.iter().map(|&p| (p, 0)).collect(),
            partitions,
            to_reset: BTreeSet::new(),
            assigned: false,
            final_read,
            end_offsets: BTreeMap::new(),
            poll_limit: None,
        }
    }

    fn keys(&self) -> Vec<String> {
        self.partitions.iter().map(|&p| self.class.key(p)).collect()
    }

    fn missing_ends(&self) -> Vec<i32> {
        let known = |p: &&i32| self.end_offsets.contains_key(p);
        self.partitions
            .iter()
            .filter(|p| !known(p))
            .copied()
            .collect()
    }

    /// Partitions whose position has not reached the end offset.
    fn unread(&self) -> Vec<i32> {
        self.partitions
            .iter()
            .filter(|p| {
                let position = self.positions.get(p).copied().unwrap_or(0);
                self.end_offsets.get(p).is_none_or(|&end| position < end)
            })
            .copied()
            .collect()
    }

    /// A final reader that reached every end offset.
    pub(crate) fn is_done(&self) -> bool {
        self.final_read && self.unread().is_empty()
    }

    /// What this final reader still misses.
    pub(crate) fn progress(&self, waiting: Option<String>, last_error: Option<&str>) -> String {
        let topic = self.class.topic();
        let mut text = if self.is_done() {
            format!("{topic}: done")
        } else if let Some(waiting) = waiting {
            format!("{topic}: {waiting}")
        } else if !self.missing_ends().is_empty() {
            let missing: Vec<String> = self
                .missing_ends()
                .iter()
                .map(|&p| self.class.key(p))
                .collect();
            format!("{topic}: end offsets unknown for {}", missing.join(", "))
        } else {
            let behind: Vec<String> = self
                .unread()
                .iter()
                .map(|p| {
                    let position = self.positions.get(p).copied().unwrap_or(0);
                    let end = self.end_offsets.get(p).copied().unwrap_or(0);
                    format!("{} read to {position} of {end}", self.class.key(*p))
                })
                .collect();
            format!("{topic}: {}", behind.join(", "))
        };
        if let (false, Some(error)) = (self.is_done(), last_error) {
            text.push_str(&format!(" (last error: {error})"));
        }
        text
    }
}

/// Records the `assign` of the reader's keys under its current process, if not yet done.
fn assign_if_needed(state: &mut Client, now: Mono, history: &mut HistoryRecorder) {
    let Some(reader) = state.reader.as_mut() else {
        return;
    };
    if reader.assigned {
        return;
    }
    let keys = assign_value(&reader.keys());
    history.invoke(now, state.process, "assign", keys.clone());
    history.complete(now, state.process, OpType::Ok, "assign", keys, None);
    reader.assigned = true;
}

/// A consumer's next step: reset offsets, or poll.
pub(crate) fn act_consumer(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    if !shared.may_start_operation() {
        return; // idle until the end of the run
    }
    assign_if_needed(state, now, history);
    if reset_if_needed(shared, state, client, now) {
        return;
    }
    shared.operations_started += 1;
    start_poll(shared, state, client, now, history);
}

/// A final reader's next step (the workers are quiet): end offsets, resets, or a poll.
pub(crate) fn act_final_reader(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    if reader.is_done() {
        return;
    }
    assign_if_needed(state, now, history);
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    let missing = reader.missing_ends();
    if !missing.is_empty() {
        let body = requests::list_offsets(reader.class.topic(), &missing, LATEST);
        let purpose = Purpose::ListOffsets { timestamp: LATEST };
        state.request(shared, client, now, body, LIST_OFFSETS_VERSION, purpose);
        return;
    }
    if reset_if_needed(shared, state, client, now) {
        return;
    }
    start_poll(shared, state, client, now, history);
}

/// Sends ListOffsets earliest for the partitions to reset; false if there are none.
fn reset_if_needed(shared: &mut Shared, state: &mut Client, client: usize, now: Mono) -> bool {
    let Some(reader) = state.reader.as_ref() else {
        return false;
    };
    if reader.to_reset.is_empty() {
        return false;
    }
    let partitions: Vec<i32> = reader.to_reset.iter().copied().collect();
    let body = requests::list_offsets(reader.class.topic(), &partitions, EARLIEST);
    let purpose = Purpose::ListOffsets {
        timestamp: EARLIEST,
    };
    state.request(shared, client, now, body, LIST_OFFSETS_VERSION, purpose);
    true
}

fn start_poll(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    let positions = reader.positions.clone();
    let wanted: Vec<(i32, i64)> = positions.iter().map(|(&p, &o)| (p, o)).collect();
    let body = requests::fetch(reader.class.topic(), &wanted);
    history.invoke(now, state.process, "poll", poll_invocation());
    let purpose = Purpose::Poll { positions };
    state.request(shared, client, now, body, FETCH_VERSION, purpose);
}

/// Completes the poll in flight from the fetch answer.
pub(crate) fn on_fetch(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    positions: &BTreeMap<i32, i64>,
    response: &NodeResponse,
    history: &mut HistoryRecorder,
) {
    let Some(reader) = state.reader.as_mut() else {
        return;
    };
    let class = reader.class;
    let outcome = fetch_outcome(&response.body, class.topic(), positions, |p| class.key(p));
    let delay = match outcome {
        FetchOutcome::Read(reads) => {
            let mut recorded = BTreeMap::new();
            let mut error = None;
            for (partition, read) in reads {
                if read.error_code != 0 {
                    if read.error_code == KafkaErrorCode::OffsetOutOfRange.code() {
                        reader.to_reset.insert(partition);
                    }
                    error = Some(error_name(read.error_code));
                    continue;
                }
                let (records, next_position) = limit_records(read, reader.poll_limit);
                reader.positions.insert(partition, next_position);
                recorded.insert(class.key(partition), records);
            }
            let value = poll_completion(&recorded);
            history.complete(now, state.process, OpType::Ok, "poll", value, None);
            match error {
                Some(error) => {
                    state.last_error = Some(error);
                    shared.retry_delay()
                }
                None => shared.think_delay(),
            }
        }
        FetchOutcome::Corrupt { detail } => {
            shared.corrupt_batches_seen += 1;
            let invocation = poll_invocation();
            state.complete_info(shared, now, "poll", invocation, "corrupt-batch", history);
            state.last_error = Some(format!("corrupt-batch: {detail}"));
            shared.retry_delay()
        }
        FetchOutcome::Refused { error } => {
            let invocation = poll_invocation();
            history.complete(
                now,
                state.process,
                OpType::Fail,
                "poll",
                invocation,
                Some(error.clone()),
            );
            state.last_error = Some(error);
            shared.retry_delay()
        }
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}

/// What a poll returns of one partition's read: at most `limit` records (in offset order),
/// and the position after the last one returned when the limit cut the read short, else
/// the read's own next position.
fn limit_records(read: PartitionRead, limit: Option<usize>) -> (Vec<(i64, i64)>, i64) {
    let mut records = read.records;
    let limit = limit.map(|limit| limit.max(1)); // a poll of nothing would never move
    match limit {
        Some(limit) if records.len() > limit => {
            records.truncate(limit);
            let next = records
                .last()
                .map_or(read.next_position, |&(offset, _)| offset.saturating_add(1));
            (records, next)
        }
        _ => (records, read.next_position),
    }
}

/// Takes in the offsets a ListOffsets answered; the reader goes on at once unless some
/// partition failed.
pub(crate) fn on_list_offsets(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    timestamp: i64,
    response: &NodeResponse,
) {
    let Some(reader) = state.reader.as_mut() else {
        return;
    };
    let mut error = None;
    for (partition, result) in list_offsets_outcome(&response.body, reader.class.topic()) {
        match result {
            Ok(offset) if timestamp == EARLIEST => {
                if reader.to_reset.remove(&partition) {
                    reader.positions.insert(partition, offset);
                }
            }
            Ok(offset) => {
                if reader.partitions.contains(&partition) {
                    reader.end_offsets.insert(partition, offset);
                }
            }
            Err(message) => error = Some(message),
        }
    }
    let incomplete = if timestamp == EARLIEST {
        !reader.to_reset.is_empty()
    } else {
        !reader.missing_ends().is_empty()
    };
    let delay = if incomplete {
        state.last_error =
            Some(error.unwrap_or_else(|| "partition missing from ListOffsets".to_owned()));
        shared.retry_delay()
    } else {
        0
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}
