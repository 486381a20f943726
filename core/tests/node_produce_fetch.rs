//! Produce and Fetch through the node: acks 0/1/all, long polls, pipelining, limits.

mod node_support;

use bytes::BytesMut;
use node_support::*;
use odradek_core::record::{set_base_offset, set_partition_leader_epoch, Offset};
use odradek_core::wire::ResponseBody;

fn produce_answer(body: &ResponseBody) -> (i16, i64) {
    let ResponseBody::Produce(response) = body else {
        panic!("not a produce: {body:?}")
    };
    let partition = &response.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

/// The batch as stored: the producer's bytes with the assigned base offset.
fn stored(batch: &bytes::Bytes, base_offset: u64) -> bytes::Bytes {
    let mut bytes = BytesMut::from(batch.as_ref());
    set_base_offset(&mut bytes, Offset(base_offset));
    // The leader stamps its leader epoch into the batch (as Kafka does): 0 for a new topic.
    set_partition_leader_epoch(&mut bytes, 0);
    bytes.freeze()
}

#[test]
fn produce_with_acks_1_is_answered_at_once_and_fetch_returns_the_same_batch_bytes() {
    let mut h = Harness::new();
    h.create_topic("orders", 1, &[]);
    let first = batch(1_000, &["a", "b"]);
    let second = batch(2_000, &["c"]);
    let answer = h.call(9, produce_request("orders", 0, 1, first.clone()));
    assert_eq!(produce_answer(&answer), (0, 0));
    let answer = h.call(3, produce_request("orders", 0, 1, second.clone()));
    assert_eq!(produce_answer(&answer), (0, 2));
    let fetched = h.call(12, fetch_request("orders", 0, 0, 0, 1));
    let mut expected = BytesMut::from(stored(&first, 0).as_ref());
    expected.extend_from_slice(&stored(&second, 2));
    assert_eq!(fetched_records(&fetched), expected.freeze());
    let ResponseBody::Fetch(response) = fetched else {
        panic!()
    };
    let partition = &response.responses[0].partitions[0];
    assert_eq!(
        (partition.high_watermark, partition.log_start_offset),
        (3, 0)
    );
}

#[test]
fn produce_with_acks_all_waits_for_the_sync_when_the_topic_flushes_every_batch() {
    let mut h = Harness::new();
    h.create_topic("durable", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("durable", 0, -1, batch(0, &["x"])));
    let drained = h.drain();
    assert!(
        drained.answers.is_empty(),
        "answered before the sync: {drained:?}"
    );
    assert_eq!(drained.syncs.len(), 1);
    let after = h.perform_syncs(&drained.syncs);
    assert_eq!(after.answers.len(), 1);
    assert_eq!(produce_answer(&after.answers[0].body), (0, 0));
}

#[test]
fn produce_with_acks_all_is_answered_after_append_when_the_topic_never_syncs() {
    let mut h = Harness::new();
    h.create_topic("relaxed", 1, &[]);
    h.send(1, 9, produce_request("relaxed", 0, -1, batch(0, &["x"])));
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1);
    assert!(drained.syncs.is_empty());
}

#[test]
fn a_failed_sync_answers_acks_all_with_a_storage_error() {
    let mut h = Harness::new();
    h.create_topic("durable", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("durable", 0, -1, batch(0, &["x"])));
    let drained = h.drain();
    let (partition, request) = drained.syncs[0].clone();
    let error = odradek_core::storage::StorageError::SyncFailed {
        name: "x".into(),
        detail: "eio".into(),
    };
    h.node.handle(
        h.now,
        odradek_core::node::NodeInput::Synced {
            partition,
            id: request.id,
            result: Err(error),
        },
    );
    let after = h.drain();
    assert_eq!(produce_answer(&after.answers[0].body).0, 56);
}

#[test]
fn produce_with_acks_0_gets_no_response_but_is_appended() {
    let mut h = Harness::new();
    h.create_topic("fire", 1, &[]);
    h.send(1, 9, produce_request("fire", 0, 0, batch(0, &["x"])));
    assert!(h.drain().answers.is_empty());
    let fetched = h.call(12, fetch_request("fire", 0, 0, 0, 1));
    assert_eq!(fetched_records(&fetched), stored(&batch(0, &["x"]), 0));
}

#[test]
fn a_corrupt_batch_is_rejected_with_corrupt_message_and_appends_nothing() {
    let mut h = Harness::new();
    h.create_topic("t", 1, &[]);
    let mut bad = BytesMut::from(batch(0, &["x"]).as_ref());
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let answer = h.call(9, produce_request("t", 0, 1, bad.freeze()));
    assert_eq!(produce_answer(&answer).0, 2);
    let garbage = h.call(
        9,
        produce_request("t", 0, 1, bytes::Bytes::from_static(b"nonsense")),
    );
    assert_eq!(produce_answer(&garbage).0, 87);
    let fetched = h.call(12, fetch_request("t", 0, 0, 0, 1));
    assert!(fetched_records(&fetched).is_empty());
}

#[test]
fn a_long_poll_fetch_is_answered_when_min_bytes_arrive() {
    let mut h = Harness::new();
    h.create_topic("poll", 1, &[]);
    h.send(1, 12, fetch_request("poll", 0, 0, 5_000, 1));
    assert!(h.drain().answers.is_empty());
    assert_eq!(h.node.poll_timeout(), Some(h.now.mono.plus_millis(5_000)));
    h.send(2, 9, produce_request("poll", 0, 1, batch(0, &["x"])));
    let drained = h.drain();
    let mut connections: Vec<u64> = drained.answers.iter().map(|a| a.connection.0).collect();
    connections.sort_unstable();
    assert_eq!(connections, vec![1, 2], "{drained:?}");
    let fetch = drained
        .answers
        .iter()
        .find(|a| a.connection.0 == 1)
        .unwrap();
    assert_eq!(fetched_records(&fetch.body), stored(&batch(0, &["x"]), 0));
}

#[test]
fn a_long_poll_fetch_is_answered_empty_at_its_deadline() {
    let mut h = Harness::new();
    h.create_topic("poll", 1, &[]);
    h.send(1, 12, fetch_request("poll", 0, 0, 500, 1));
    h.advance_ms(499);
    h.node.handle_timeout(h.now);
    assert!(h.drain().answers.is_empty());
    h.advance_ms(1);
    h.node.handle_timeout(h.now);
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1);
    assert!(fetched_records(&drained.answers[0].body).is_empty());
}

#[test]
fn pipelined_requests_on_one_connection_are_answered_in_request_order() {
    let mut h = Harness::new();
    h.create_topic("durable", 1, &[("flush.messages", "1")]);
    let produce = h.send(7, 9, produce_request("durable", 0, -1, batch(0, &["x"])));
    let metadata = h.send(7, 12, metadata_request(&["durable"]));
    let other = h.send(8, 12, metadata_request(&["durable"]));
    let drained = h.drain();
    let order: Vec<(u64, i32)> = drained
        .answers
        .iter()
        .map(|a| (a.connection.0, a.correlation_id))
        .collect();
    assert_eq!(
        order,
        vec![(8, other)],
        "the other connection is not held up"
    );
    let after = h.perform_syncs(&drained.syncs);
    let order: Vec<(u64, i32)> = after
        .answers
        .iter()
        .map(|a| (a.connection.0, a.correlation_id))
        .collect();
    assert_eq!(order, vec![(7, produce), (7, metadata)]);
}

#[test]
fn fetch_honours_partition_max_bytes_with_whole_batches_but_returns_at_least_one() {
    let mut h = Harness::new();
    h.create_topic("big", 1, &[]);
    let one = batch(0, &["0123456789"]);
    for _ in 0..3 {
        h.call(9, produce_request("big", 0, 1, one.clone()));
    }
    let mut request = fetch_request("big", 0, 0, 0, 1);
    request.topics[0].partitions[0].partition_max_bytes = (one.len() * 2 + 1) as i32;
    let two = fetched_records(&h.call(12, request.clone()));
    assert_eq!(two.len(), one.len() * 2);
    request.topics[0].partitions[0].partition_max_bytes = 1;
    let at_least_one = fetched_records(&h.call(12, request));
    assert_eq!(at_least_one, stored(&one, 0));
}

#[test]
fn fetch_past_the_end_is_offset_out_of_range_and_unknown_topics_are_reported() {
    let mut h = Harness::new();
    h.create_topic("t", 1, &[]);
    let ResponseBody::Fetch(response) = h.call(12, fetch_request("t", 0, 5, 0, 1)) else {
        panic!()
    };
    assert_eq!(response.responses[0].partitions[0].error_code, 1);
    let ResponseBody::Fetch(response) = h.call(12, fetch_request("nope", 0, 0, 0, 1)) else {
        panic!()
    };
    assert_eq!(response.responses[0].partitions[0].error_code, 3);
}

#[test]
fn a_long_poll_fetch_keeps_waiting_while_only_other_partitions_grow() {
    let mut h = Harness::new();
    h.create_topic("poll", 2, &[]);
    h.send(1, 12, fetch_request("poll", 0, 0, 5_000, 1));
    h.send(
        2,
        9,
        produce_request("poll", 1, 1, batch(0, &["elsewhere"])),
    );
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 1);
    assert_eq!(drained.answers[0].connection.0, 2);
    h.send(2, 9, produce_request("poll", 0, 1, batch(0, &["here"])));
    let drained = h.drain();
    assert_eq!(drained.answers.len(), 2);
}

#[test]
fn fetch_max_bytes_caps_the_whole_response_across_partitions() {
    let mut h = Harness::new();
    h.create_topic("wide", 2, &[]);
    let one = batch(0, &["0123456789"]);
    for partition in 0..2 {
        h.call(9, produce_request("wide", partition, 1, one.clone()));
    }
    let mut request = fetch_request("wide", 0, 0, 0, 1);
    let mut second = request.topics[0].partitions[0].clone();
    second.partition = 1;
    request.topics[0].partitions.push(second);
    request.max_bytes = (one.len() + 1) as i32;
    let ResponseBody::Fetch(response) = h.call(12, request) else {
        panic!()
    };
    let sizes: Vec<usize> = response.responses[0]
        .partitions
        .iter()
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .collect();
    assert_eq!(sizes, vec![one.len(), 0]);
}

#[test]
fn produce_with_acks_all_under_flush_ms_is_answered_after_the_interval_sync() {
    let mut h = Harness::new();
    h.create_topic("interval", 1, &[("flush.ms", "100")]);
    h.send(1, 9, produce_request("interval", 0, -1, batch(0, &["x"])));
    let drained = h.drain();
    assert!(
        drained.answers.is_empty() && drained.syncs.is_empty(),
        "{drained:?}"
    );
    assert_eq!(h.node.poll_timeout(), Some(h.now.mono.plus_millis(100)));
    h.advance_ms(100);
    h.node.handle_timeout(h.now);
    let drained = h.drain();
    assert!(drained.answers.is_empty());
    assert_eq!(drained.syncs.len(), 1);
    let after = h.perform_syncs(&drained.syncs);
    assert_eq!(produce_answer(&after.answers[0].body), (0, 0));
}

#[test]
fn a_batch_above_max_message_bytes_is_refused_with_message_too_large() {
    let mut h = Harness::new();
    h.create_topic("small", 1, &[("max.message.bytes", "100")]);
    let big = batch(0, &[&"x".repeat(200)]);
    assert_eq!(
        produce_answer(&h.call(9, produce_request("small", 0, 1, big))).0,
        10
    );
    let bad_acks = h.call(9, produce_request("small", 0, 2, batch(0, &["x"])));
    assert_eq!(produce_answer(&bad_acks).0, 21);
}

#[test]
fn deleting_a_topic_answers_the_fetches_parked_on_it() {
    let mut h = Harness::new();
    h.create_topic("gone", 1, &[]);
    h.send(1, 12, fetch_request("gone", 0, 0, 5_000, 1));
    let request = odradek_core::wire::kafka_protocol::messages::DeleteTopicsRequest::default()
        .with_topic_names(vec![name("gone")]);
    h.send(2, 5, request);
    let drained = h.drain();
    let fetch = drained
        .answers
        .iter()
        .find(|a| a.connection.0 == 1)
        .expect("fetch answered");
    let ResponseBody::Fetch(response) = &fetch.body else {
        panic!()
    };
    assert_eq!(response.responses[0].partitions[0].error_code, 3);
}

#[test]
fn deleting_a_topic_answers_acks_all_produces_still_waiting_on_it() {
    let mut h = Harness::new();
    h.create_topic("durable", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("durable", 0, -1, batch(0, &["x"])));
    let waiting = h.drain();
    assert!(waiting.answers.is_empty());
    let request = odradek_core::wire::kafka_protocol::messages::DeleteTopicsRequest::default()
        .with_topic_names(vec![name("durable")]);
    h.send(2, 5, request);
    let drained = h.drain();
    let produce = drained
        .answers
        .iter()
        .find(|a| a.connection.0 == 1)
        .expect("produce answered");
    // NOT_LEADER_OR_FOLLOWER, not UNKNOWN_TOPIC_OR_PARTITION: the batch was appended (and
    // could have been read), so the answer must not tell the client it was never written.
    assert_eq!(produce_answer(&produce.body).0, 6);
    // The stale sync's completion is ignored: the partition is gone.
    let after = h.perform_syncs(&waiting.syncs);
    assert!(after.answers.is_empty());
}

#[test]
fn a_late_sync_of_a_deleted_topic_does_not_vouch_for_the_recreated_topic() {
    use odradek_core::node::NodeInput;
    let mut h = Harness::new();
    h.create_topic("reborn", 1, &[("flush.messages", "1")]);
    h.send(1, 9, produce_request("reborn", 0, -1, batch(0, &["old"])));
    let old = h.drain().syncs;
    let request = odradek_core::wire::kafka_protocol::messages::DeleteTopicsRequest::default()
        .with_topic_names(vec![name("reborn")]);
    h.send(2, 5, request);
    h.drain();
    h.create_topic("reborn", 1, &[("flush.messages", "1")]);
    h.send(3, 9, produce_request("reborn", 0, -1, batch(0, &["new"])));
    let new = h.drain().syncs;
    assert_ne!(old[0].1.id, new[0].1.id, "sync ids are unique per node");
    let (partition, request) = old[0].clone();
    h.node.handle(
        h.now,
        NodeInput::Synced {
            partition,
            id: request.id,
            result: Ok(()),
        },
    );
    assert!(
        h.drain().answers.is_empty(),
        "the stale completion answered the new produce"
    );
    let after = h.perform_syncs(&new);
    assert_eq!(after.answers.len(), 1);
    assert_eq!(after.answers[0].connection.0, 3);
}

#[test]
fn a_full_disk_part_way_through_a_record_set_answers_it_with_a_storage_error() {
    let mut h = Harness::new();
    h.create_topic("full", 1, &[]);
    let one = batch(0, &[&"v".repeat(600)]);
    let mut two = BytesMut::from(one.as_ref());
    two.extend_from_slice(&one);
    let mut faults = h.disk.faults();
    faults.capacity_bytes = Some(h.disk.used_bytes() + one.len() as u64 + 10);
    h.disk.set_faults(faults);
    let answer = h.call(9, produce_request("full", 0, 1, two.freeze()));
    assert_eq!(produce_answer(&answer).0, 56);
    assert_eq!(
        h.node.queued_responses(odradek_core::node::ConnectionId(0)),
        0
    );
}

#[test]
fn an_incremental_fetch_naming_a_session_is_refused_with_session_not_found() {
    let mut h = Harness::new();
    h.create_topic("s", 1, &[]);
    let request = fetch_request("s", 0, 0, 0, 1)
        .with_session_id(42)
        .with_session_epoch(1);
    let ResponseBody::Fetch(response) = h.call(12, request) else {
        panic!()
    };
    assert_eq!((response.error_code, response.session_id), (70, 0));
    let ResponseBody::Fetch(response) =
        h.call(12, fetch_request("s", 0, 0, 0, 1).with_session_epoch(0))
    else {
        panic!()
    };
    assert_eq!((response.error_code, response.session_id), (0, 0));
}

#[test]
fn a_log_append_time_topic_stamps_batches_with_the_broker_clock() {
    use odradek_core::record::{validate_batch, TIMESTAMP_TYPE_LOG_APPEND_TIME};
    let mut h = Harness::new();
    h.create_topic("stamped", 1, &[("message.timestamp.type", "LogAppendTime")]);
    let answer = h.call(9, produce_request("stamped", 0, 1, batch(5, &["a", "b"])));
    let ResponseBody::Produce(response) = answer else {
        panic!()
    };
    assert_eq!(
        response.responses[0].partition_responses[0].log_append_time_ms,
        h.now.wall_ms
    );
    let fetched = fetched_records(&h.call(12, fetch_request("stamped", 0, 0, 0, 1)));
    let header = validate_batch(&fetched).expect("the CRC was recomputed");
    assert_ne!(header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME, 0);
    assert_eq!(header.max_timestamp, h.now.wall_ms);
}
