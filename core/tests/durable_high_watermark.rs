//! The node's high watermark under a syncing flush policy is the durable offset: fetches
//! serve nothing a crash can take back, report it, and long polls wake when a sync moves it.
//! Under `flush.messages`/`flush.ms` unset (never fsync) it is the log end offset. Also the
//! other side of durability, `acks=all` produce timeouts (REQUEST_TIMED_OUT, error code 7).

mod node_support;

use node_support::*;
use odradek_core::node::TopicPartition;
use odradek_core::record::Offset;
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::ProduceRequest;
use odradek_core::wire::ResponseBody;

const REQUEST_TIMED_OUT: i16 = 7;

/// (error code, high watermark, last stable offset, record bytes) of partition 0.
fn fetched(body: &ResponseBody) -> (i16, i64, i64, usize) {
    let ResponseBody::Fetch(response) = body else {
        panic!("not a fetch: {body:?}")
    };
    let p = &response.responses[0].partitions[0];
    let bytes = p.records.as_ref().map_or(0, |r| r.len());
    (p.error_code, p.high_watermark, p.last_stable_offset, bytes)
}

/// (error code, base offset) of every partition of topic 0 in a produce answer.
fn produced(body: &ResponseBody) -> Vec<(i16, i64)> {
    let ResponseBody::Produce(response) = body else {
        panic!("not a produce: {body:?}")
    };
    response.responses[0]
        .partition_responses
        .iter()
        .map(|p| (p.error_code, p.base_offset))
        .collect()
}

/// Fetches partition 0 of `topic` from `offset` without waiting; returns the answer.
fn fetch_now(h: &mut Harness, topic: &str, offset: i64) -> (i16, i64, i64, usize) {
    h.send(9, 12, fetch_request(topic, 0, offset, 0, 1));
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1, "{drained:?}");
    fetched(&drained.answers[0].body)
}

#[test]
fn a_fetch_serves_nothing_beyond_the_durable_offset_until_the_sync_completes() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("d", 0, 1, batch(0, &["a", "b"])));
    let drained = h.drain();
    assert_eq!((drained.answers.len(), drained.syncs.len()), (1, 1));
    assert_eq!(fetch_now(&mut h, "d", 0), (0, 0, 0, 0));
    let tp = TopicPartition::new("d", 0);
    assert_eq!(h.node.high_watermark(&tp), Some(Offset(0)));
    h.perform_syncs(&drained.syncs);
    assert_eq!(h.node.high_watermark(&tp), Some(Offset(2)));
    let (code, high_watermark, last_stable, bytes) = fetch_now(&mut h, "d", 0);
    assert_eq!((code, high_watermark, last_stable), (0, 2, 2));
    assert!(bytes > 0);
}

#[test]
fn a_fetch_stops_before_the_first_batch_that_is_not_durable() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    let first = batch(0, &["a"]);
    h.send(1, 9, produce_request("d", 0, 1, first.clone()));
    let synced = h.drain().syncs;
    h.perform_syncs(&synced);
    h.send(1, 9, produce_request("d", 0, 1, batch(1, &["b"])));
    assert_eq!(
        h.drain().syncs.len(),
        1,
        "the second batch waits for its sync"
    );
    let (code, high_watermark, _, bytes) = fetch_now(&mut h, "d", 0);
    assert_eq!((code, high_watermark, bytes), (0, 1, first.len()));
}

#[test]
fn a_fetch_between_the_high_watermark_and_the_log_end_is_empty_not_out_of_range() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("d", 0, 1, batch(0, &["a", "b", "c"])));
    h.drain();
    assert_eq!(fetch_now(&mut h, "d", 2), (0, 0, 0, 0));
    assert_eq!(fetch_now(&mut h, "d", 3), (0, 0, 0, 0));
    let (code, ..) = fetch_now(&mut h, "d", 4);
    assert_ne!(code, 0, "past the log end is still out of range");
}

#[test]
fn without_a_flush_policy_the_high_watermark_is_the_log_end_offset() {
    let mut h = Harness::new();
    h.create_topic("n", 1, &[]);
    h.send(1, 9, produce_request("n", 0, 1, batch(0, &["a", "b"])));
    assert_eq!(h.drain().answers.len(), 1);
    let (code, high_watermark, last_stable, bytes) = fetch_now(&mut h, "n", 0);
    assert_eq!((code, high_watermark, last_stable), (0, 2, 2));
    assert!(bytes > 0);
}

#[test]
fn a_long_poll_fetch_wakes_when_a_sync_advances_the_high_watermark() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    let fetch = h.send(2, 12, fetch_request("d", 0, 0, 10_000, 1));
    assert!(h.drain().answers.is_empty(), "parked");
    h.send(1, 9, produce_request("d", 0, 1, batch(0, &["a"])));
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1, "only the produce: {drained:?}");
    assert_ne!(drained.answers[0].correlation_id, fetch);
    let after = h.perform_syncs(&drained.syncs);
    assert_eq!(after.answers.len(), 1, "{after:?}");
    assert_eq!(after.answers[0].correlation_id, fetch);
    let (code, high_watermark, _, bytes) = fetched(&after.answers[0].body);
    assert_eq!((code, high_watermark), (0, 1));
    assert!(bytes > 0);
}

#[test]
fn under_flush_ms_records_become_readable_after_the_interval_sync() {
    let mut h = Harness::new();
    h.create_topic("i", 1, &[("flush.ms", "100")]);
    h.send(1, 9, produce_request("i", 0, 1, batch(0, &["a"])));
    assert!(h.drain().syncs.is_empty(), "no sync before the interval");
    assert_eq!(fetch_now(&mut h, "i", 0).1, 0);
    h.advance_ms(100);
    h.node.handle_timeout(h.now);
    let syncs = h.drain().syncs;
    assert_eq!(syncs.len(), 1);
    h.perform_syncs(&syncs);
    assert_eq!(fetch_now(&mut h, "i", 0).1, 1);
}

#[test]
fn after_a_restart_the_recovered_tail_is_readable_once_recovery_has_synced_it() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    h.call(9, produce_request("d", 0, -1, batch(0, &["a", "b"])));
    let startup = h.reopen();
    assert_eq!(
        startup.syncs.len(),
        1,
        "recovery asks to sync what it found"
    );
    assert_eq!(fetch_now(&mut h, "d", 0), (0, 0, 0, 0));
    h.perform_syncs(&startup.syncs);
    assert_eq!(fetch_now(&mut h, "d", 0).1, 2);
}

#[test]
fn the_node_invariants_can_be_checked_from_outside_at_any_time() {
    let mut h = Harness::new();
    h.create_topic("d", 2, &[("flush.messages", "1")]);
    h.node.check_invariants();
    h.send(1, 9, produce_request("d", 0, -1, batch(0, &["a"])));
    h.node.check_invariants();
    let syncs = h.drain().syncs;
    h.perform_syncs(&syncs);
    h.node.check_invariants();
}

#[test]
fn an_acks_all_produce_still_waiting_at_its_timeout_is_answered_request_timed_out() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    let request = produce_request("d", 0, -1, batch(0, &["a"])).with_timeout_ms(100);
    let correlation = h.send(1, 9, request);
    let syncs = h.drain().syncs;
    assert_eq!(h.node.poll_timeout(), Some(h.now.mono.plus_millis(100)));
    h.advance_ms(99);
    h.node.handle_timeout(h.now);
    assert!(h.drain().answers.is_empty(), "not before the timeout");
    h.advance_ms(1);
    h.node.handle_timeout(h.now);
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1);
    assert_eq!(drained.answers[0].correlation_id, correlation);
    assert_eq!(
        produced(&drained.answers[0].body),
        vec![(REQUEST_TIMED_OUT, -1)]
    );
    let next = h.node.poll_timeout();
    assert!(
        next.is_none_or(|at| at > h.now.mono),
        "nothing due: {next:?}"
    );
    // Kafka's semantics: the records may still become durable (and readable) later.
    let late = h.perform_syncs(&syncs);
    assert!(late.answers.is_empty(), "a produce is answered once");
    assert_eq!(fetch_now(&mut h, "d", 0).1, 1);
}

#[test]
fn an_acks_all_produce_made_durable_in_time_is_not_timed_out_later() {
    let mut h = Harness::new();
    h.create_topic("d", 1, &[("flush.messages", "1")]);
    let request = produce_request("d", 0, -1, batch(0, &["a"])).with_timeout_ms(100);
    h.send(1, 9, request);
    let syncs = h.drain().syncs;
    let answered = h.perform_syncs(&syncs);
    assert_eq!(produced(&answered.answers[0].body), vec![(0, 0)]);
    h.advance_ms(1_000);
    h.node.handle_timeout(h.now);
    assert!(h.drain().answers.is_empty());
}

#[test]
fn a_timeout_fails_only_the_partitions_not_yet_durable() {
    let mut h = Harness::new();
    h.create_topic("d", 2, &[("flush.messages", "1")]);
    let partitions = (0..2)
        .map(|p| {
            PartitionProduceData::default()
                .with_index(p)
                .with_records(Some(batch(0, &["a"])))
        })
        .collect();
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(50)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("d"))
            .with_partition_data(partitions)]);
    h.send(1, 9, request);
    let syncs = h.drain().syncs;
    let first: Vec<_> = syncs
        .into_iter()
        .filter(|(tp, _)| tp.partition == 0)
        .collect();
    assert!(
        h.perform_syncs(&first).answers.is_empty(),
        "partition 1 waits"
    );
    h.advance_ms(50);
    h.node.handle_timeout(h.now);
    let drained = h.drain();
    assert_eq!(
        produced(&drained.answers[0].body),
        vec![(0, 0), (REQUEST_TIMED_OUT, -1)]
    );
}
