//! Producers: each `send` op is one Produce of one record batch holding 1 ..= the
//! producer's `records_per_send_max` records (the count drawn per send; values are fresh
//! consecutive integers), to a drawn partition of the producer's class, with the class's
//! `acks`. The op records one `send` micro-op per record, and an `ok` gives them the
//! consecutive offsets from the batch's base offset. Completions follow the broker's answer
//! (see `responses`), and an `acks=0` send completes `info` as soon as it is handed to the
//! world (no answer comes).

use super::class::DurabilityClass;
use super::history::{send_completion, send_invocation, HistoryRecorder};
use super::requests::{self, PRODUCE_VERSION, RECORD_TIMESTAMP_BASE_MS};
use super::responses::{produce_outcome, SendOutcome};
use super::{Client, Purpose, Shared, NODE};
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

/// Invokes a send (if operations may start) and sends its Produce.
pub(crate) fn start_send(
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
    let partition = shared.rng.random_range(0..shared.partitions);
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
        shared.send(client, NODE, body, PRODUCE_VERSION);
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
    state.request(shared, client, now, body, PRODUCE_VERSION, purpose);
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
    let delay = match produce_outcome(&response.body, sent.class.topic(), sent.partition) {
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
