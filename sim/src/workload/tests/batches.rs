//! Clients that behave like real ones: producers that batch several records per send, and
//! consumers with a per-poll record limit whose next fetch starts inside a batch.

use super::driver::config;
use super::outcomes::{
    fetch_offset, fetch_response, produce_response, produced_to, stored_batch, Bench,
};
use crate::workload::client::{POLL_LIMITS, RECORDS_PER_SEND_MAX};
use crate::workload::responses::decode_records;
use crate::workload::{ClientRole, DurabilityClass, Workload};
use odradek_core::record::BatchHeader;
use odradek_core::wire::kafka_protocol::messages::ProduceRequest;
use odradek_core::wire::{DecodedRequest, RequestBody};
use odradek_jepsen::history::{OpType, Value};
use std::collections::BTreeSet;

/// The one batch of a Produce: its record count and its records' values.
fn produced_batch(request: &DecodedRequest, key: &str) -> (i32, Vec<i64>) {
    let RequestBody::Produce(ProduceRequest { topic_data, .. }) = &request.body else {
        panic!("not a produce: {request:?}")
    };
    let bytes = topic_data[0].partition_data[0]
        .records
        .clone()
        .expect("records");
    let header = BatchHeader::parse(&bytes).expect("a batch header");
    assert_eq!(header.total_len(), Some(bytes.len()), "exactly one batch");
    let (records, _) = decode_records(bytes, 0, key).expect("a valid batch");
    let values = records.iter().map(|&(_, value)| value).collect();
    (header.records_count, values)
}

fn send_mop(key: &str, sent: Value) -> Value {
    Value::Vector(vec![
        Value::Keyword("send".to_owned()),
        Value::Str(key.to_owned()),
        sent,
    ])
}

fn pair(offset: i64, value: i64) -> Value {
    Value::Vector(vec![Value::Int(offset), Value::Int(value)])
}

fn poll_of(key: &str, pairs: Vec<Value>) -> Value {
    Value::Vector(vec![Value::Vector(vec![
        Value::Keyword("poll".to_owned()),
        Value::Map(vec![(Value::Str(key.to_owned()), Value::Vector(pairs))]),
    ])])
}

#[test]
fn a_send_of_several_records_is_one_batch_and_one_op_whose_records_take_consecutive_offsets() {
    let mut bench = Bench::set_up(config(21, 2, 1, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    bench.set_records_per_send_max(producer, RECORDS_PER_SEND_MAX);
    let mut sizes = BTreeSet::new();
    for base in (0..40).map(|i| i * 10) {
        let process = bench.process(producer);
        let request = bench.next_request(producer);
        let (topic, partition, _) = produced_to(&request);
        let key = format!("{topic}/{partition}");
        let (count, values) = produced_batch(&request, &key);
        assert_eq!(count as usize, values.len());
        assert!((1..=RECORDS_PER_SEND_MAX).contains(&values.len()));
        sizes.insert(values.len());
        let invoked: Vec<Value> = values
            .iter()
            .map(|&v| send_mop(&key, Value::Int(v)))
            .collect();
        let invocation = &bench.op_of(process, OpType::Invoke).value;
        assert_eq!(
            (bench.last_op().f.as_str(), invocation),
            ("send", &Value::Vector(invoked))
        );
        bench.respond(
            producer,
            &request,
            produce_response(&topic, partition, 0, base),
        );
        let completed: Vec<Value> = values
            .iter()
            .zip(base..)
            .map(|(&v, offset)| send_mop(&key, pair(offset, v)))
            .collect();
        let op = bench.last_op();
        assert_eq!((op.op_type, op.f.as_str()), (OpType::Ok, "send"));
        assert_eq!(op.value, Value::Vector(completed));
    }
    let all: BTreeSet<usize> = (1..=RECORDS_PER_SEND_MAX).collect();
    assert_eq!(sizes, all, "every batch size from 1 to the most occurs");
}

#[test]
fn a_consumer_with_a_poll_limit_returns_that_many_records_and_fetches_again_inside_the_batch() {
    let mut bench = Bench::set_up(config(22, 2, 1, 100));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    bench.set_poll_limit(consumer, Some(2));
    let key = "acks-all/0";
    let batch = stored_batch(key, &[40, 41, 42, 43, 44], 0).freeze();
    let expected = [
        (0, vec![pair(0, 40), pair(1, 41)]),
        (2, vec![pair(2, 42), pair(3, 43)]),
        (4, vec![pair(4, 44)]),
    ];
    for (position, pairs) in expected {
        let request = bench.next_request(consumer);
        assert_eq!(fetch_offset(&request), position);
        // The broker answers with the whole batch holding the position, as Kafka does.
        let answer = fetch_response("acks-all", 0, Some(batch.clone()));
        bench.respond(consumer, &request, answer);
        let op = bench.last_op();
        assert_eq!((op.op_type, op.f.as_str()), (OpType::Ok, "poll"));
        assert_eq!(op.value, poll_of(key, pairs));
    }
    assert_eq!(fetch_offset(&bench.next_request(consumer)), 5);
}

#[test]
fn an_unlimited_consumer_takes_every_fetched_record_and_moves_past_the_batch() {
    let mut bench = Bench::set_up(config(23, 2, 1, 100));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    bench.set_poll_limit(consumer, None);
    let key = "acks-all/0";
    let request = bench.next_request(consumer);
    let batch = stored_batch(key, &[7, 8, 9], 3).freeze();
    bench.respond(
        consumer,
        &request,
        fetch_response("acks-all", 0, Some(batch)),
    );
    let pairs = vec![pair(3, 7), pair(4, 8), pair(5, 9)];
    assert_eq!(bench.last_op().value, poll_of(key, pairs));
    assert_eq!(fetch_offset(&bench.next_request(consumer)), 6);
}

#[test]
fn every_producer_and_consumer_habit_is_drawn_from_the_seed_and_occurs() {
    let mut sizes = BTreeSet::new();
    let mut limits = BTreeSet::new();
    for seed in 0..40 {
        let workload = Workload::new(config(seed, 6, 1, 10));
        let again = Workload::new(config(seed, 6, 1, 10));
        for (client, twin) in workload.clients.iter().zip(&again.clients) {
            let limit = client.reader.as_ref().and_then(|r| r.poll_limit);
            let twin_limit = twin.reader.as_ref().and_then(|r| r.poll_limit);
            assert_eq!(
                (client.records_per_send_max, limit),
                (twin.records_per_send_max, twin_limit),
                "seed {seed}: the same seed draws the same habits"
            );
            match client.role {
                ClientRole::Producer(_) => {
                    sizes.insert(client.records_per_send_max);
                }
                ClientRole::Consumer(_) => {
                    limits.insert(limit);
                }
                ClientRole::Setup | ClientRole::FinalReader(_) => {
                    assert_eq!((client.records_per_send_max, limit), (1, None));
                }
            }
        }
    }
    assert_eq!(sizes, (1..=RECORDS_PER_SEND_MAX).collect::<BTreeSet<_>>());
    assert_eq!(limits, POLL_LIMITS.into_iter().collect::<BTreeSet<_>>());
}
