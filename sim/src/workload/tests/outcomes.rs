//! How single answers complete operations, with hand-made responses and no node.

use super::driver::config;
use crate::workload::requests::record_batch;
use crate::workload::{
    ClientOutput, ClientRole, DurabilityClass, HistoryRecorder, Workload, WorkloadConfig,
};
use bytes::{Bytes, BytesMut};
use odradek_core::node::NodeResponse;
use odradek_core::record::{set_base_offset, Offset};
use odradek_core::wire::kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use odradek_core::wire::kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, PartitionData,
};
use odradek_core::wire::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use odradek_core::wire::kafka_protocol::messages::produce_response::{
    PartitionProduceResponse, TopicProduceResponse,
};
use odradek_core::wire::kafka_protocol::messages::{
    CreateTopicsResponse, FetchResponse, ListOffsetsResponse, ProduceResponse, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{DecodedRequest, RequestBody, ResponseBody};
use odradek_core::Mono;
use odradek_jepsen::history::{Op, OpType, Process, Value};
use std::collections::BTreeMap;

/// A workload driven by hand.
pub(super) struct Bench {
    pub workload: Workload,
    pub history: HistoryRecorder,
    pub now: Mono,
    /// Outputs drained but not yet looked at.
    pub outputs: Vec<(usize, ClientOutput)>,
    /// The node each request taken by [`Bench::next_request`] went to, by correlation id.
    pub sent_to: BTreeMap<i32, usize>,
}

fn name(text: &str) -> TopicName {
    TopicName(StrBytes::from_string(text.to_owned()))
}

impl Bench {
    pub(super) fn new(config: WorkloadConfig) -> Bench {
        let mut bench = Bench {
            workload: Workload::new(config),
            history: HistoryRecorder::new(),
            now: Mono(0),
            outputs: Vec::new(),
            sent_to: BTreeMap::new(),
        };
        bench.workload.handle_start(bench.now, &mut bench.history);
        bench
    }

    /// A bench whose topics exist.
    pub(super) fn set_up(config: WorkloadConfig) -> Bench {
        let mut bench = Bench::new(config);
        let setup = bench.workload.config().clients;
        let request = bench.next_request(setup);
        let topics = DurabilityClass::ALL.map(|class| (class.topic(), 0));
        bench.respond(setup, &request, create_topics_response(&topics));
        assert!(bench.workload.is_setup_complete());
        bench
    }

    pub(super) fn client_with(&self, role: ClientRole) -> usize {
        (0..self.workload.client_count())
            .find(|&c| self.workload.role(c) == Some(role))
            .expect("a client with the role")
    }

    pub(super) fn drain(&mut self) {
        while let Some(output) = self.workload.poll_output() {
            self.outputs.push(output);
        }
    }

    /// Advances time in 1 ms steps until `client` sends a request (at most 5 s).
    pub(super) fn next_request(&mut self, client: usize) -> DecodedRequest {
        for _ in 0..5_000 {
            self.drain();
            let found = self
                .outputs
                .iter()
                .position(|(c, out)| *c == client && matches!(out, ClientOutput::Send { .. }));
            if let Some(at) = found {
                if let (_, ClientOutput::Send { request, node }) = self.outputs.remove(at) {
                    self.sent_to.insert(request.correlation_id(), node);
                    return request;
                }
            }
            self.advance(1_000_000);
        }
        panic!("client {client} sent nothing");
    }

    pub(super) fn advance(&mut self, ns: u64) {
        self.now = Mono(self.now.0 + ns);
        self.workload.handle_timeout(self.now, &mut self.history);
    }

    /// The node a request taken by [`Bench::next_request`] went to.
    pub(super) fn node_of(&self, request: &DecodedRequest) -> usize {
        self.sent_to[&request.correlation_id()]
    }

    /// Answers `request` from the node it went to.
    pub(super) fn respond(&mut self, client: usize, request: &DecodedRequest, body: ResponseBody) {
        let node = self.sent_to.get(&request.correlation_id()).copied();
        let response = NodeResponse {
            api_key: request.api_key,
            api_version: request.api_version,
            correlation_id: request.correlation_id(),
            body,
        };
        self.workload.handle_response(
            self.now,
            client,
            node.unwrap_or(0),
            response,
            &mut self.history,
        );
    }

    pub(super) fn last_op(&self) -> &Op {
        self.history.ops().last().expect("an op")
    }

    /// The last op of `process` of this type.
    pub(super) fn op_of(&self, process: i64, op_type: OpType) -> &Op {
        self.history
            .ops()
            .iter()
            .rev()
            .find(|op| op.process == Process::Client(process) && op.op_type == op_type)
            .expect("such an op")
    }

    pub(super) fn process(&self, client: usize) -> i64 {
        self.workload.process_of(client).expect("the client exists")
    }

    /// Overrides the per-poll record limit a consumer drew.
    pub(super) fn set_poll_limit(&mut self, client: usize, limit: Option<usize>) {
        let reader = self.workload.clients[client].reader.as_mut();
        reader.expect("a reader").poll_limit = limit;
    }

    /// Overrides the most records per send a producer drew.
    pub(super) fn set_records_per_send_max(&mut self, client: usize, most: usize) {
        self.workload.clients[client].records_per_send_max = most;
    }
}

pub(super) fn create_topics_response(topics: &[(&str, i16)]) -> ResponseBody {
    let topics = topics
        .iter()
        .map(|&(topic, code)| {
            CreatableTopicResult::default()
                .with_name(name(topic))
                .with_error_code(code)
        })
        .collect();
    ResponseBody::CreateTopics(CreateTopicsResponse::default().with_topics(topics))
}

pub(super) fn produce_response(
    topic: &str,
    partition: i32,
    code: i16,
    base_offset: i64,
) -> ResponseBody {
    let partition = PartitionProduceResponse::default()
        .with_index(partition)
        .with_error_code(code)
        .with_base_offset(base_offset);
    let topic = TopicProduceResponse::default()
        .with_name(name(topic))
        .with_partition_responses(vec![partition]);
    ResponseBody::Produce(ProduceResponse::default().with_responses(vec![topic]))
}

pub(super) fn fetch_response(topic: &str, code: i16, records: Option<Bytes>) -> ResponseBody {
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_error_code(code)
        .with_records(records);
    let topic = FetchableTopicResponse::default()
        .with_topic(name(topic))
        .with_partitions(vec![partition]);
    ResponseBody::Fetch(FetchResponse::default().with_responses(vec![topic]))
}

fn list_offsets_response(topic: &str, offset: i64) -> ResponseBody {
    let partition = ListOffsetsPartitionResponse::default()
        .with_partition_index(0)
        .with_offset(offset);
    let topic = ListOffsetsTopicResponse::default()
        .with_name(name(topic))
        .with_partitions(vec![partition]);
    ResponseBody::ListOffsets(ListOffsetsResponse::default().with_topics(vec![topic]))
}

/// A stored batch (base offset set) holding one record per value.
pub(super) fn stored_batch(key: &str, values: &[i64], base_offset: u64) -> BytesMut {
    let mut batch = BytesMut::from(&record_batch(key, values, 0, 0)[..]);
    set_base_offset(&mut batch, Offset(base_offset));
    batch
}

/// (topic, partition) of a Produce.
pub(super) fn produced_to(request: &DecodedRequest) -> (String, i32, i16) {
    let RequestBody::Produce(produce) = &request.body else {
        panic!("not a produce: {request:?}")
    };
    let topic = &produce.topic_data[0];
    let partition = topic.partition_data[0].index;
    (topic.name.0.to_string(), partition, produce.acks)
}

pub(super) fn fetch_offset(request: &DecodedRequest) -> i64 {
    let RequestBody::Fetch(fetch) = &request.body else {
        panic!("not a fetch: {request:?}")
    };
    fetch.topics[0].partitions[0].fetch_offset
}

#[test]
fn setup_retries_until_every_topic_exists_and_workers_wait_for_it() {
    let mut bench = Bench::new(config(1, 2, 1, 100));
    let setup = 2;
    let first = bench.next_request(setup);
    let RequestBody::CreateTopics(create) = &first.body else {
        panic!("setup starts with CreateTopics: {first:?}")
    };
    assert_eq!(create.topics.len(), 3);
    let configs: Vec<(String, Option<String>)> = create.topics[0]
        .configs
        .iter()
        .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
        .collect();
    assert!(configs.contains(&("flush.messages".to_owned(), Some("1".to_owned()))));
    let answer = [("acks-all", 0), ("acks-one", 40), ("acks-zero", 36)];
    bench.respond(setup, &first, create_topics_response(&answer));
    assert!(!bench.workload.is_setup_complete());
    let retry = bench.next_request(setup);
    assert!(
        bench.outputs.is_empty(),
        "workers wait for the topics: {:?}",
        bench.outputs
    );
    let RequestBody::CreateTopics(create) = &retry.body else {
        panic!("setup retries CreateTopics: {retry:?}")
    };
    let names: Vec<String> = create.topics.iter().map(|t| t.name.0.to_string()).collect();
    assert_eq!(names, vec!["acks-one".to_owned()]);
    bench.respond(setup, &retry, create_topics_response(&[("acks-one", 36)]));
    assert!(bench.workload.is_setup_complete());
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let (topic, _, acks) = produced_to(&bench.next_request(producer));
    assert_eq!((topic.as_str(), acks), ("acks-all", -1));
    assert!(bench.history.ops().iter().all(|op| op.f != "create-topics"));
}

#[test]
fn produce_errors_complete_sends_as_fail_when_not_appended_and_info_otherwise() {
    let mut bench = Bench::set_up(config(2, 2, 1, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let cases = [
        (19, OpType::Fail, "NOT_ENOUGH_REPLICAS"),
        (3, OpType::Fail, "UNKNOWN_TOPIC_OR_PARTITION"),
        (87, OpType::Fail, "INVALID_RECORD"),
        (2, OpType::Fail, "CORRUPT_MESSAGE"),
        (10, OpType::Fail, "MESSAGE_TOO_LARGE"),
        (56, OpType::Info, "KAFKA_STORAGE_ERROR"),
        (7, OpType::Info, "REQUEST_TIMED_OUT"),
        (20, OpType::Info, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"),
        (999, OpType::Info, "error-code-999"),
    ];
    for (code, expected, error) in cases {
        let process = bench.process(producer);
        let request = bench.next_request(producer);
        let (topic, partition, _) = produced_to(&request);
        let invocation = bench.op_of(process, OpType::Invoke).value.clone();
        bench.respond(
            producer,
            &request,
            produce_response(&topic, partition, code, -1),
        );
        let op = bench.last_op();
        assert_eq!(op.op_type, expected, "code {code}");
        assert_eq!(op.process, Process::Client(process));
        assert_eq!(op.error, Some(Value::Str(error.to_owned())));
        assert_eq!(
            op.value, invocation,
            "a failed or unknown send keeps its value"
        );
        let renumbered = bench.process(producer) != process;
        assert_eq!(renumbered, expected == OpType::Info, "code {code}");
    }
    let request = bench.next_request(producer);
    let (topic, partition, _) = produced_to(&request);
    bench.respond(
        producer,
        &request,
        produce_response(&topic, partition, 0, 41),
    );
    let op = bench.last_op();
    assert_eq!(op.op_type, OpType::Ok);
    let Some([Value::Vector(mop), ..]) = op.value.as_seq() else {
        panic!("{:?}", op.value)
    };
    assert_eq!(mop[1], Value::Str(format!("{topic}/{partition}")));
    let Value::Vector(pair) = &mop[2] else {
        panic!("{mop:?}")
    };
    assert_eq!(pair[0], Value::Int(41));
}

#[test]
fn a_reset_connection_completes_the_op_in_flight_as_info_under_a_retired_process() {
    let mut bench = Bench::set_up(config(3, 2, 1, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let process = bench.process(producer);
    let request = bench.next_request(producer);
    bench
        .workload
        .handle_disconnected(bench.now, producer, 0, &mut bench.history);
    let op = bench.last_op();
    assert_eq!(
        (op.op_type, op.process.clone(), op.error.clone()),
        (
            OpType::Info,
            Process::Client(process),
            Some(Value::Str("connection-reset".to_owned()))
        )
    );
    bench.drain();
    assert!(!bench
        .outputs
        .iter()
        .any(|(c, out)| *c == producer && matches!(out, ClientOutput::Reconnect { .. })));
    // A late answer to the abandoned request changes nothing.
    let before = bench.history.ops().len();
    let (topic, partition, _) = produced_to(&request);
    bench.respond(
        producer,
        &request,
        produce_response(&topic, partition, 0, 0),
    );
    assert_eq!(bench.history.ops().len(), before);
    let fresh = bench.process(producer);
    assert_ne!(fresh, process);
    bench.next_request(producer);
    let op = bench.last_op();
    assert_eq!(
        (op.op_type, op.process.clone()),
        (OpType::Invoke, Process::Client(fresh))
    );

    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    let polling = bench.process(consumer);
    bench.next_request(consumer);
    bench
        .workload
        .handle_disconnected(bench.now, consumer, 0, &mut bench.history);
    assert_eq!(bench.last_op().op_type, OpType::Info);
    assert_eq!(bench.last_op().f, "poll");
    let again = bench.process(consumer);
    assert_ne!(again, polling);
    bench.next_request(consumer);
    let assigns = bench
        .history
        .ops()
        .iter()
        .filter(|op| op.f == "assign" && op.process == Process::Client(again))
        .count();
    assert_eq!(
        assigns, 2,
        "the new process assigns (invoke and ok) before polling"
    );
}

#[test]
fn an_unanswered_request_times_out_as_info_and_asks_for_a_reconnect() {
    let mut bench = Bench::set_up(config(4, 2, 1, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let process = bench.process(producer);
    bench.next_request(producer);
    let sent_at = bench.now;
    bench.outputs.clear();
    let completed = |bench: &Bench| {
        bench
            .history
            .ops()
            .iter()
            .any(|op| op.process == Process::Client(process) && op.op_type != OpType::Invoke)
    };
    while !completed(&bench) {
        bench.advance(10_000_000);
        assert!(bench.now.0 - sent_at.0 <= 1_010_000_000, "no timeout");
    }
    let op = bench.op_of(process, OpType::Info);
    assert_eq!(op.op_type, OpType::Info);
    assert_eq!(op.error, Some(Value::Str("timeout".to_owned())));
    assert!(bench.now.0 - sent_at.0 >= 1_000_000_000);
    bench.drain();
    assert!(bench
        .outputs
        .iter()
        .any(|(c, out)| *c == producer && *out == ClientOutput::Reconnect { node: 0 }));
}

#[test]
fn acks_zero_sends_complete_info_as_soon_as_they_are_sent() {
    let mut bench = Bench::set_up(config(5, 6, 1, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksZero));
    let process = bench.process(producer);
    let request = bench.next_request(producer);
    assert_eq!(produced_to(&request).2, 0);
    assert!(!request.expects_response());
    let ops = bench.history.ops();
    let mine: Vec<&Op> = ops
        .iter()
        .filter(|op| op.process == Process::Client(process))
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        (mine[0].op_type, mine[1].op_type),
        (OpType::Invoke, OpType::Info)
    );
    assert_eq!(mine[0].time, mine[1].time);
    assert_ne!(bench.process(producer), process);
}

#[test]
fn a_corrupt_batch_makes_the_poll_info_is_counted_and_keeps_the_position() {
    let mut bench = Bench::set_up(config(6, 2, 1, 100));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    bench.set_poll_limit(consumer, None);
    let request = bench.next_request(consumer);
    assert_eq!(fetch_offset(&request), 0);
    let mut corrupt = stored_batch("acks-all/0", &[42], 0);
    let last = corrupt.len() - 2;
    corrupt[last] ^= 0x01;
    bench.respond(
        consumer,
        &request,
        fetch_response("acks-all", 0, Some(corrupt.freeze())),
    );
    let op = bench.last_op();
    assert_eq!((op.op_type, op.f.as_str()), (OpType::Info, "poll"));
    assert_eq!(op.error, Some(Value::Str("corrupt-batch".to_owned())));
    assert_eq!(bench.workload.corrupt_batches_seen(), 1);

    let request = bench.next_request(consumer);
    assert_eq!(fetch_offset(&request), 0, "the position did not move");
    let foreign = stored_batch("acks-one/0", &[42], 0).freeze();
    bench.respond(
        consumer,
        &request,
        fetch_response("acks-all", 0, Some(foreign)),
    );
    assert_eq!(
        bench.workload.corrupt_batches_seen(),
        2,
        "a foreign record is corruption"
    );

    let request = bench.next_request(consumer);
    assert_eq!(fetch_offset(&request), 0);
    let mut two = stored_batch("acks-all/0", &[42], 0);
    two.extend_from_slice(&stored_batch("acks-all/0", &[43], 1));
    bench.respond(
        consumer,
        &request,
        fetch_response("acks-all", 0, Some(two.freeze())),
    );
    let op = bench.last_op();
    assert_eq!(op.op_type, OpType::Ok);
    let pairs =
        |offset: i64, value: i64| Value::Vector(vec![Value::Int(offset), Value::Int(value)]);
    let expected = Value::Vector(vec![Value::Vector(vec![
        Value::Keyword("poll".to_owned()),
        Value::Map(vec![(
            Value::Str("acks-all/0".to_owned()),
            Value::Vector(vec![pairs(0, 42), pairs(1, 43)]),
        )]),
    ])]);
    assert_eq!(op.value, expected);
    assert_eq!(fetch_offset(&bench.next_request(consumer)), 2);
}

#[test]
fn offset_out_of_range_resets_the_position_to_the_earliest_offset() {
    let mut bench = Bench::set_up(config(7, 2, 1, 100));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    let request = bench.next_request(consumer);
    bench.respond(consumer, &request, fetch_response("acks-all", 1, None));
    assert_eq!(
        bench.last_op().op_type,
        OpType::Ok,
        "a poll that read nothing"
    );
    let request = bench.next_request(consumer);
    let RequestBody::ListOffsets(list) = &request.body else {
        panic!("expected ListOffsets: {request:?}")
    };
    assert_eq!(list.topics[0].partitions[0].timestamp, -2);
    let before = bench.history.ops().len();
    bench.respond(consumer, &request, list_offsets_response("acks-all", 7));
    assert_eq!(
        bench.history.ops().len(),
        before,
        "offset resets are not recorded"
    );
    assert_eq!(fetch_offset(&bench.next_request(consumer)), 7);
}

#[test]
fn final_reads_wait_for_workers_then_read_to_the_end_offsets_and_report_progress() {
    let mut bench = Bench::set_up(config(8, 2, 1, 100));
    assert_eq!(
        bench.workload.final_read_progress(),
        "final reads not started"
    );
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    let produce = bench.next_request(producer);
    let poll = bench.next_request(consumer);
    bench
        .workload
        .stop_operations(bench.now, &mut bench.history);
    bench
        .workload
        .start_final_reads(bench.now, &mut bench.history);
    bench.advance(50_000_000);
    bench.drain();
    assert!(
        bench.outputs.is_empty(),
        "readers wait: {:?}",
        bench.outputs
    );
    assert!(!bench.workload.is_final_read_complete());
    let progress = bench.workload.final_read_progress();
    assert!(
        progress.contains("waiting for 2 in-flight worker operations"),
        "{progress}"
    );

    bench.respond(producer, &produce, produce_response("acks-all", 0, 0, 0));
    bench.respond(consumer, &poll, fetch_response("acks-all", 0, None));
    let readers: Vec<usize> = DurabilityClass::ALL
        .iter()
        .map(|&class| bench.client_with(ClientRole::FinalReader(class)))
        .collect();
    for (&reader, class) in readers.iter().zip(DurabilityClass::ALL) {
        let request = bench.next_request(reader);
        let RequestBody::ListOffsets(list) = &request.body else {
            panic!("a final reader starts with the end offsets: {request:?}")
        };
        assert_eq!(list.topics[0].partitions[0].timestamp, -1);
        let end = if class == DurabilityClass::AcksAll {
            2
        } else {
            0
        };
        bench.respond(reader, &request, list_offsets_response(class.topic(), end));
    }
    let all = readers[0];
    let request = bench.next_request(all);
    assert_eq!(fetch_offset(&request), 0);
    let batch = stored_batch("acks-all/0", &[0], 0).freeze();
    bench.respond(all, &request, fetch_response("acks-all", 0, Some(batch)));
    let progress = bench.workload.final_read_progress();
    assert_eq!(
        progress,
        "acks-all: acks-all/0 read to 1 of 2; acks-one: done; acks-zero: done"
    );
    let request = bench.next_request(all);
    assert_eq!(fetch_offset(&request), 1);
    let batch = stored_batch("acks-all/0", &[5], 1).freeze();
    bench.respond(all, &request, fetch_response("acks-all", 0, Some(batch)));
    assert!(bench.workload.is_final_read_complete());
    let keys = bench.workload.history_keys();
    assert_eq!(keys, vec!["acks-all/0", "acks-one/0", "acks-zero/0"]);
}
