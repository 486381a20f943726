//! Consumers and final readers: assign-mode readers of every partition of one class.
//!
//! A reader assigns its keys (an `assign` op, `ok` at once: assignment is client-side),
//! then repeats `poll` ops, each one Fetch of all its partitions from its positions. An
//! `ok` poll records the records read per key and advances the positions; a partition
//! answering OFFSET_OUT_OF_RANGE is reset to its earliest offset by a ListOffsets before
//! the next poll (not recorded: it reads no records). A final reader first learns each
//! partition's end offset (ListOffsets latest) and polls from 0 until it reached them all.
//!
//! Leaders: every request goes to the leader of its partitions from the client's metadata
//! cache, one request per leader node (a poll over partitions led by two nodes sends two
//! Fetches, each carrying the partitions' leader epochs, and completes when both answered,
//! or as soon as one is corrupt or refused). The cache is refreshed first when a partition
//! the step needs has no usable leader; after a refresh the reader reads what it can
//! (partitions still without a leader read nothing in that poll). A partition answering
//! an error (other than OFFSET_OUT_OF_RANGE) reads nothing and is marked stale.
//!
//! A consumer may have a per-poll record limit (`poll_limit`, drawn from the seed), like a
//! Kafka client's `max.poll.records` that keeps no fetch buffer: a poll returns at most that
//! many records of each key, in offset order, and the key's position becomes the offset
//! after the last one returned, so the next Fetch starts inside a batch when the limit cut
//! one (the records beyond the limit are fetched again). Final readers are unlimited.

use super::class::DurabilityClass;
use super::client::{InFlight, Pending};
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

/// What a reader does next, and about which partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// ListOffsets at this timestamp ([`EARLIEST`] for resets, [`LATEST`] for end offsets).
    ListOffsets(i64, Vec<i32>),
    /// A poll of these partitions.
    Poll(Vec<i32>),
}

impl Step {
    fn partitions(&self) -> &[i32] {
        match self {
            Step::ListOffsets(_, partitions) | Step::Poll(partitions) => partitions,
        }
    }
}

/// A final reader learns end offsets first; every reader resets before it polls.
fn next_step(reader: &ReaderState) -> Step {
    let missing = reader.missing_ends();
    if reader.final_read && !missing.is_empty() {
        return Step::ListOffsets(LATEST, missing);
    }
    if !reader.to_reset.is_empty() {
        return Step::ListOffsets(EARLIEST, reader.to_reset.iter().copied().collect());
    }
    Step::Poll(reader.partitions.clone())
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
    act_reader(shared, state, client, now, history);
}

/// A final reader's next step (the workers are quiet): end offsets, resets, or a poll.
pub(crate) fn act_final_reader(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    if state.reader.as_ref().is_none_or(ReaderState::is_done) {
        return;
    }
    assign_if_needed(state, now, history);
    act_reader(shared, state, client, now, history);
}

/// Refreshes metadata if the step's partitions need it, else sends the step's requests to
/// the leaders it knows (one per leader node); with none known, backs off.
fn act_reader(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    let step = next_step(reader);
    let final_read = reader.final_read;
    if state.wants_refresh(step.partitions(), now) {
        state.refresh_metadata(shared, client, now);
        return;
    }
    let groups = state.leaders.by_leader(step.partitions());
    if groups.is_empty() {
        state.last_error = Some("no leader known for any partition to read".to_owned());
        state.wake_at = Some(Mono(now.0.saturating_add(shared.retry_delay())));
        return;
    }
    match step {
        Step::ListOffsets(timestamp, _) => {
            send_list_offsets(shared, state, client, now, timestamp, groups)
        }
        Step::Poll(_) => {
            if !final_read {
                shared.operations_started += 1;
            }
            start_poll(shared, state, client, now, groups, history)
        }
    }
}

/// One ListOffsets per leader node.
fn send_list_offsets(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    timestamp: i64,
    groups: BTreeMap<usize, Vec<(i32, i32)>>,
) {
    let Some(class) = state.class() else {
        return;
    };
    let requests = groups
        .into_iter()
        .map(|(node, partitions)| {
            let body = requests::list_offsets(class.topic(), &partitions, timestamp);
            (node, partitions.iter().map(|&(p, _)| p).collect(), body)
        })
        .collect();
    let purpose = Purpose::ListOffsets { timestamp };
    state.request_each(shared, client, now, requests, LIST_OFFSETS_VERSION, purpose);
}

/// Invokes a poll and sends one Fetch per leader node, each partition from its position
/// with its leader epoch.
fn start_poll(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    now: Mono,
    groups: BTreeMap<usize, Vec<(i32, i32)>>,
    history: &mut HistoryRecorder,
) {
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    let topic = reader.class.topic();
    let mut positions = BTreeMap::new();
    let mut requests = Vec::new();
    for (node, partitions) in groups {
        let wanted: Vec<(i32, i64, i32)> = partitions
            .iter()
            .map(|&(p, epoch)| (p, reader.positions.get(&p).copied().unwrap_or(0), epoch))
            .collect();
        positions.extend(wanted.iter().map(|&(p, offset, _)| (p, offset)));
        let asked = wanted.iter().map(|&(p, _, _)| p).collect();
        requests.push((node, asked, requests::fetch(topic, &wanted)));
    }
    history.invoke(now, state.process, "poll", poll_invocation());
    let purpose = Purpose::Poll {
        positions,
        reads: BTreeMap::new(),
    };
    state.request_each(shared, client, now, requests, FETCH_VERSION, purpose);
}

/// Takes in one Fetch answer of the poll in flight (`in_flight`, without `answered` in its
/// pending list): the poll completes once every Fetch answered, or at once when this one
/// is corrupt or refused.
pub(crate) fn on_fetch(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    mut in_flight: InFlight,
    answered: &Pending,
    response: &NodeResponse,
    history: &mut HistoryRecorder,
) {
    let Some(class) = state.class() else {
        return;
    };
    let Purpose::Poll { positions, reads } = &mut in_flight.purpose else {
        return;
    };
    let asked: BTreeMap<i32, i64> = answered
        .partitions
        .iter()
        .filter_map(|p| positions.get(p).map(|&offset| (*p, offset)))
        .collect();
    let outcome = fetch_outcome(&response.body, class.topic(), &asked, |p| class.key(p));
    let delay = match outcome {
        FetchOutcome::Read(answer) => {
            let moved: Vec<i32> = answer
                .iter()
                .filter(|(_, read)| {
                    read.error_code != 0
                        && read.error_code != KafkaErrorCode::OffsetOutOfRange.code()
                })
                .map(|(&p, _)| p)
                .collect();
            state.leaders.mark_stale(&moved);
            reads.extend(answer);
            if !in_flight.pending.is_empty() {
                state.in_flight = Some(in_flight);
                return;
            }
            let reads = std::mem::take(reads);
            complete_poll(shared, state, now, reads, history)
        }
        FetchOutcome::Corrupt { detail } => {
            shared.corrupt_batches_seen += 1;
            let invocation = poll_invocation();
            state.complete_info(shared, now, "poll", invocation, "corrupt-batch", history);
            state.last_error = Some(format!("corrupt-batch: {detail}"));
            shared.retry_delay()
        }
        FetchOutcome::Refused { error } => {
            state.leaders.mark_stale(&answered.partitions);
            let invocation = poll_invocation();
            let error_value = Some(error.clone());
            history.complete(
                now,
                state.process,
                OpType::Fail,
                "poll",
                invocation,
                error_value,
            );
            state.last_error = Some(error);
            shared.retry_delay()
        }
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}

/// Completes the poll `ok` with what every Fetch read; returns the pause before the next
/// step.
fn complete_poll(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    reads: BTreeMap<i32, PartitionRead>,
    history: &mut HistoryRecorder,
) -> u64 {
    let Some(reader) = state.reader.as_mut() else {
        return 0;
    };
    let class = reader.class;
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

/// Takes in one ListOffsets answer of the request(s) in flight (`in_flight`, without
/// `answered` in its pending list). Once all answered, the reader goes on at once unless
/// some partition is still missing. A partition answering an error is marked stale.
pub(crate) fn on_list_offsets(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    in_flight: InFlight,
    answered: &Pending,
    response: &NodeResponse,
) {
    let Purpose::ListOffsets { timestamp } = in_flight.purpose else {
        return;
    };
    let Some(reader) = state.reader.as_mut() else {
        return;
    };
    let mut failed = Vec::new();
    for (partition, result) in list_offsets_outcome(&response.body, reader.class.topic()) {
        if !answered.partitions.contains(&partition) {
            continue; // not asked of this node
        }
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
            Err(message) => {
                failed.push(partition);
                state.last_error = Some(message);
            }
        }
    }
    state.leaders.mark_stale(&failed);
    if !in_flight.pending.is_empty() {
        state.in_flight = Some(in_flight);
        return;
    }
    let Some(reader) = state.reader.as_ref() else {
        return;
    };
    let incomplete = if timestamp == EARLIEST {
        !reader.to_reset.is_empty()
    } else {
        !reader.missing_ends().is_empty()
    };
    let delay = if incomplete {
        if failed.is_empty() {
            state.last_error = Some("partition missing from ListOffsets".to_owned());
        }
        shared.retry_delay()
    } else {
        0
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}
