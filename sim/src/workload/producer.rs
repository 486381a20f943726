//! Producers: each `send` op is one Produce of one record batch holding 1 ..= the
//! producer's `records_per_send_max` records (the count drawn per send; values are fresh
//! consecutive integers), to a drawn partition of the producer's class, with the class's
//! `acks`. The op records one `send` micro-op per record, and an `ok` gives them the
//! consecutive offsets from the batch's base offset. Completions follow the broker's answer
//! (see `responses`), and an `acks=0` send completes `info` as soon as it is handed to the
//! world (no answer comes).
//!
//! Routing: the partition is drawn first; the Produce goes to its leader from the client's
//! metadata cache, refreshing the cache first when the leader is unknown or stale. An
//! answer saying the leader moved (see `leaders::refreshes_metadata`) marks the partition
//! stale, so the next send to it refreshes first.

use super::class::DurabilityClass;
use super::history::{send_completion, send_invocation, HistoryRecorder};
use super::leaders::refreshes_metadata;
use super::requests::{self, PRODUCE_VERSION, RECORD_TIMESTAMP_BASE_MS};
use super::responses::{produce_error_code, produce_outcome, SendOutcome};
use super::{Client, Purpose, Shared};
use odradek_core::node::NodeResponse;
use odradek_core::Mono;
use odradek_jepsen::history::OpType;
use rand::Rng;

/// What a send in flight wrote.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub class: DurabilityClass,
    pub partition: i32,
    /// The values of the batch's records, in order.
    pub values: Vec<i64>,
}

/// A producer's next step (if operations may start): draw the partition, learn its leader
/// if needed, then invoke a send to it.
pub(crate) fn act_producer(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    class: DurabilityClass,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    if !shared.may_start_operation() {
        return; // idle until the end of the run
    }
    let partition = match state.next_send_partition {
        Some(partition) => partition,
        None => shared.rng.random_range(0..shared.partitions),
    };
    state.next_send_partition = Some(partition);
    if state.wants_refresh(&[partition], now) {
        state.refresh_metadata(shared, client, now);
        return;
    }
    state.next_send_partition = None;
    let Some(leader) = state.leaders.leader(partition) else {
        // Refreshed, still no leader: back off, refresh again, and draw anew.
        state.last_error = Some(format!("no leader known for {}", class.key(partition)));
        state.wake_at = Some(Mono(now.0.saturating_add(shared.retry_delay())));
        return;
    };
    start_send(
        shared,
        state,
        client,
        (class, partition),
        leader.node,
        now,
        history,
    );
}

/// Invokes a send to `partition` and sends its Produce to `node`.
fn start_send(
    shared: &mut Shared,
    state: &mut Client,
    client: usize,
    (class, partition): (DurabilityClass, i32),
    node: usize,
    now: Mono,
    history: &mut HistoryRecorder,
) {
    let count = shared
        .rng
        .random_range(1..=state.records_per_send_max.max(1));
    let values: Vec<i64> = (shared.next_value..).take(count).collect();
    shared.next_value += count as i64;
    shared.operations_started += 1;
    let key = class.key(partition);
    history.invoke(now, state.process, "send", send_invocation(&key, &values));
    let timestamp = RECORD_TIMESTAMP_BASE_MS.saturating_add((now.0 / 1_000_000) as i64);
    let batch = requests::record_batch(&key, &values, timestamp, state.payload_bytes);
    let body = requests::produce(class, partition, batch, shared.timeout_ms());
    if class == DurabilityClass::AcksZero {
        shared.send(client, node, body, PRODUCE_VERSION);
        let invocation = send_invocation(&key, &values);
        state.complete_info(
            shared,
            now,
            "send",
            invocation,
            "acks=0: no answer",
            history,
        );
        let delay = shared.think_delay();
        state.wake_at = Some(Mono(now.0.saturating_add(delay)));
        return;
    }
    let purpose = Purpose::Send {
        class,
        partition,
        values,
    };
    let target = (node, vec![partition]);
    state.request(shared, client, now, target, body, PRODUCE_VERSION, purpose);
}

/// Completes the send in flight from the broker's answer.
pub(crate) fn on_response(
    shared: &mut Shared,
    state: &mut Client,
    now: Mono,
    sent: Sent,
    response: &NodeResponse,
    history: &mut HistoryRecorder,
) {
    let key = sent.class.key(sent.partition);
    let topic = sent.class.topic();
    if produce_error_code(&response.body, topic, sent.partition).is_some_and(refreshes_metadata) {
        state.leaders.mark_stale(&[sent.partition]);
    }
    let outcome = produce_outcome(&response.body, topic, sent.partition, sent.class.acks());
    let delay = match outcome {
        SendOutcome::Ok { offset } => {
            let value = send_completion(&key, offset, &sent.values);
            history.complete(now, state.process, OpType::Ok, "send", value, None);
            shared.think_delay()
        }
        SendOutcome::Fail { error } => {
            let value = send_invocation(&key, &sent.values);
            history.complete(
                now,
                state.process,
                OpType::Fail,
                "send",
                value,
                Some(error.clone()),
            );
            state.last_error = Some(error);
            shared.retry_delay()
        }
        SendOutcome::Info { error } => {
            let value = send_invocation(&key, &sent.values);
            state.complete_info(shared, now, "send", value, &error, history);
            state.last_error = Some(error);
            shared.retry_delay()
        }
    };
    state.wake_at = Some(Mono(now.0.saturating_add(delay)));
}
