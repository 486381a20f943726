//! Clients in a cluster: they learn leaders from Metadata, send each request to the
//! partition's leader with its epoch, and refresh after leadership errors; hand-made
//! answers, no node.

use super::driver::config;
use super::outcomes::{create_topics_response, produce_response, stored_batch, Bench};
use crate::options::{options_from_seed, FaultSelection};
use crate::workload::leaders::{LeaderCache, METADATA_MAX_AGE_NS};
use crate::workload::{
    ClientOutput, ClientRole, DurabilityClass, WorkloadConfig, METADATA_VERSION,
};
use bytes::Bytes;
use odradek_core::wire::kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, PartitionData,
};
use odradek_core::wire::kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use odradek_core::wire::kafka_protocol::messages::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use odradek_core::wire::kafka_protocol::messages::{
    BrokerId, FetchResponse, ListOffsetsResponse, MetadataResponse, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{DecodedRequest, RequestBody, ResponseBody};
use odradek_core::Mono;
use odradek_jepsen::history::{OpType, Value};

fn name(text: &str) -> TopicName {
    TopicName(StrBytes::from_string(text.to_owned()))
}

/// A cluster workload: `nodes` nodes, replication factor 3, min.insync.replicas 2.
fn cluster(seed: u64, clients: usize, partitions: i32) -> WorkloadConfig {
    WorkloadConfig {
        nodes: 3,
        replication_factor: 3,
        min_insync_replicas: Some(2),
        ..config(seed, clients, partitions, 100)
    }
}

/// A Metadata answer for `topic`: (partition, leader, epoch) each.
fn metadata_response(topic: &str, leaders: &[(i32, i32, i32)]) -> ResponseBody {
    let partitions = leaders
        .iter()
        .map(|&(partition, leader, epoch)| {
            MetadataResponsePartition::default()
                .with_partition_index(partition)
                .with_leader_id(BrokerId(leader))
                .with_leader_epoch(epoch)
        })
        .collect();
    let topic = MetadataResponseTopic::default()
        .with_name(Some(name(topic)))
        .with_partitions(partitions);
    ResponseBody::Metadata(MetadataResponse::default().with_topics(vec![topic]))
}

/// A Fetch answer for `topic`: (partition, error code, records) each.
fn fetch_response(topic: &str, partitions: Vec<(i32, i16, Option<Bytes>)>) -> ResponseBody {
    let partitions = partitions
        .into_iter()
        .map(|(partition, code, records)| {
            PartitionData::default()
                .with_partition_index(partition)
                .with_error_code(code)
                .with_records(records)
        })
        .collect();
    let topic = FetchableTopicResponse::default()
        .with_topic(name(topic))
        .with_partitions(partitions);
    ResponseBody::Fetch(FetchResponse::default().with_responses(vec![topic]))
}

/// A ListOffsets answer for `acks-all`: (partition, error code, offset) each.
fn list_offsets_response(partitions: &[(i32, i16, i64)]) -> ResponseBody {
    let partitions = partitions
        .iter()
        .map(|&(partition, code, offset)| {
            ListOffsetsPartitionResponse::default()
                .with_partition_index(partition)
                .with_error_code(code)
                .with_offset(offset)
        })
        .collect();
    let topic = ListOffsetsTopicResponse::default()
        .with_name(name("acks-all"))
        .with_partitions(partitions);
    ResponseBody::ListOffsets(ListOffsetsResponse::default().with_topics(vec![topic]))
}

fn metadata_topics(request: &DecodedRequest) -> Vec<String> {
    let RequestBody::Metadata(metadata) = &request.body else {
        panic!("expected Metadata: {request:?}")
    };
    assert!(!metadata.allow_auto_topic_creation);
    let topics = metadata.topics.as_ref().expect("named topics");
    topics
        .iter()
        .map(|t| t.name.as_ref().expect("a name").0.to_string())
        .collect()
}

/// (partition, fetch offset, current leader epoch) of a Fetch.
fn fetched(request: &DecodedRequest) -> Vec<(i32, i64, i32)> {
    let RequestBody::Fetch(fetch) = &request.body else {
        panic!("expected Fetch: {request:?}")
    };
    fetch.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition, p.fetch_offset, p.current_leader_epoch))
        .collect()
}

/// Takes a Metadata request from `client` and answers it.
fn answer_metadata(
    bench: &mut Bench,
    client: usize,
    class: DurabilityClass,
    leaders: &[(i32, i32, i32)],
) {
    let request = bench.next_request(client);
    assert_eq!(metadata_topics(&request), vec![class.topic().to_owned()]);
    assert_eq!(request.api_version, METADATA_VERSION);
    bench.respond(client, &request, metadata_response(class.topic(), leaders));
}

#[test]
fn options_give_replication_factor_three_and_the_runs_min_insync_capped_at_it() {
    let mut options = options_from_seed(1, &FaultSelection::default());
    let cases = [
        (1, 1, 3, None),
        (2, 2, 3, Some(2)),
        (3, 3, 3, Some(3)),
        (5, 3, 2, Some(2)),
        (5, 3, 1, Some(1)),
    ];
    for (nodes, replication_factor, drawn, min_insync) in cases {
        options.nodes = nodes;
        options.min_insync_replicas = drawn;
        let config = WorkloadConfig::from_options(&options);
        assert_eq!(config.nodes, nodes);
        assert_eq!(
            config.replication_factor, replication_factor,
            "{nodes} nodes"
        );
        assert_eq!(config.min_insync_replicas, min_insync, "{nodes} nodes");
    }
}

#[test]
fn setup_creates_topics_with_replication_factor_three_and_min_insync_two_on_acks_all_only() {
    let mut bench = Bench::new(cluster(1, 2, 2));
    let setup = 2;
    let request = bench.next_request(setup);
    assert!(bench.node_of(&request) < 3);
    let RequestBody::CreateTopics(create) = &request.body else {
        panic!("setup starts with CreateTopics: {request:?}")
    };
    for topic in &create.topics {
        assert_eq!((topic.num_partitions, topic.replication_factor), (2, 3));
        let configs: Vec<(String, String)> = topic
            .configs
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        let min_insync = configs.iter().find(|(n, _)| n == "min.insync.replicas");
        if topic.name.0.as_str() == "acks-all" {
            assert_eq!(min_insync.map(|(_, v)| v.as_str()), Some("2"));
        } else {
            assert_eq!(min_insync, None, "{}", topic.name.0.as_str());
        }
        assert!(configs.contains(&("flush.messages".to_owned(), "1".to_owned())));
        assert!(configs.contains(&("retention.ms".to_owned(), "-1".to_owned())));
        assert!(!configs
            .iter()
            .any(|(n, _)| n == "unclean.leader.election.enable"));
    }
    // A failed attempt is retried on another node.
    let first_node = bench.node_of(&request);
    let answer = [("acks-all", 41), ("acks-one", 41), ("acks-zero", 41)];
    bench.respond(setup, &request, create_topics_response(&answer));
    let retry = bench.next_request(setup);
    assert_ne!(bench.node_of(&retry), first_node);
}

#[test]
fn a_producer_in_a_cluster_asks_metadata_first_then_produces_to_the_leader() {
    let mut bench = Bench::set_up(cluster(2, 2, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    answer_metadata(&mut bench, producer, DurabilityClass::AcksAll, &[(0, 2, 5)]);
    let produce = bench.next_request(producer);
    assert!(
        matches!(produce.body, RequestBody::Produce(_)),
        "{produce:?}"
    );
    assert_eq!(bench.node_of(&produce), 2);
    bench.respond(producer, &produce, produce_response("acks-all", 0, 0, 0));
    assert_eq!(bench.last_op().op_type, OpType::Ok);
    let next = bench.next_request(producer);
    assert!(
        matches!(next.body, RequestBody::Produce(_)),
        "a known leader needs no refresh: {next:?}"
    );
    assert_eq!(bench.node_of(&next), 2);
}

#[test]
fn not_leader_fails_an_acks_one_send_and_the_next_request_refreshes_then_goes_to_the_new_leader() {
    let mut bench = Bench::set_up(cluster(3, 6, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksOne));
    answer_metadata(&mut bench, producer, DurabilityClass::AcksOne, &[(0, 0, 1)]);
    let produce = bench.next_request(producer);
    assert_eq!(bench.node_of(&produce), 0);
    let process = bench.process(producer);
    bench.respond(producer, &produce, produce_response("acks-one", 0, 6, -1));
    let op = bench.last_op();
    assert_eq!(op.op_type, OpType::Fail);
    assert_eq!(
        op.error,
        Some(Value::Str("NOT_LEADER_OR_FOLLOWER".to_owned()))
    );
    assert_eq!(bench.process(producer), process, "a fail keeps the process");
    answer_metadata(&mut bench, producer, DurabilityClass::AcksOne, &[(0, 1, 2)]);
    let produce = bench.next_request(producer);
    assert!(
        matches!(produce.body, RequestBody::Produce(_)),
        "{produce:?}"
    );
    assert_eq!(bench.node_of(&produce), 1);
}

#[test]
fn leadership_errors_on_acks_all_sends_are_fail_except_not_leader_which_may_follow_an_append() {
    let mut bench = Bench::set_up(cluster(4, 2, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let cases = [
        (6, OpType::Info, "NOT_LEADER_OR_FOLLOWER"),
        (74, OpType::Fail, "FENCED_LEADER_EPOCH"),
        (75, OpType::Fail, "UNKNOWN_LEADER_EPOCH"),
        (5, OpType::Fail, "LEADER_NOT_AVAILABLE"),
    ];
    let mut epoch = 1;
    for (code, expected, error) in cases {
        answer_metadata(
            &mut bench,
            producer,
            DurabilityClass::AcksAll,
            &[(0, 1, epoch)],
        );
        epoch += 1;
        let produce = bench.next_request(producer);
        assert_eq!(bench.node_of(&produce), 1);
        bench.respond(
            producer,
            &produce,
            produce_response("acks-all", 0, code, -1),
        );
        let op = bench.last_op();
        assert_eq!(op.op_type, expected, "code {code}");
        assert_eq!(op.error, Some(Value::Str(error.to_owned())));
        // The loop's next answer_metadata asserts the refresh comes first.
    }
    answer_metadata(
        &mut bench,
        producer,
        DurabilityClass::AcksAll,
        &[(0, 1, epoch)],
    );
}

#[test]
fn not_enough_replicas_fails_while_after_append_and_broker_timeouts_are_info_without_refresh() {
    let mut bench = Bench::set_up(cluster(5, 2, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    answer_metadata(&mut bench, producer, DurabilityClass::AcksAll, &[(0, 2, 1)]);
    let cases = [
        (19, OpType::Fail, "NOT_ENOUGH_REPLICAS"),
        (20, OpType::Info, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"),
        (7, OpType::Info, "REQUEST_TIMED_OUT"),
    ];
    for (code, expected, error) in cases {
        let produce = bench.next_request(producer);
        assert!(
            matches!(produce.body, RequestBody::Produce(_)),
            "{produce:?}"
        );
        assert_eq!(bench.node_of(&produce), 2);
        bench.respond(
            producer,
            &produce,
            produce_response("acks-all", 0, code, -1),
        );
        let op = bench.last_op();
        assert_eq!(op.op_type, expected, "code {code}");
        assert_eq!(op.error, Some(Value::Str(error.to_owned())));
    }
}

#[test]
fn a_poll_over_partitions_led_by_two_nodes_sends_two_fetches_with_epochs_and_completes_once_both_answered(
) {
    let mut bench = Bench::set_up(cluster(6, 2, 2));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    bench.set_poll_limit(consumer, None);
    answer_metadata(
        &mut bench,
        consumer,
        DurabilityClass::AcksAll,
        &[(0, 0, 3), (1, 2, 4)],
    );
    let mut fetches = [bench.next_request(consumer), bench.next_request(consumer)];
    fetches.sort_by_key(|f| bench.node_of(f));
    assert_eq!(bench.node_of(&fetches[0]), 0);
    assert_eq!(bench.node_of(&fetches[1]), 2);
    assert_eq!(fetched(&fetches[0]), vec![(0, 0, 3)]);
    assert_eq!(fetched(&fetches[1]), vec![(1, 0, 4)]);
    let in_flight = bench.workload.clients[consumer].in_flight.as_ref();
    let pending = in_flight.map(|f| f.pending.len());
    assert_eq!(pending, Some(2), "one operation, two requests");

    let batch = stored_batch("acks-all/1", &[7], 0).freeze();
    bench.respond(
        consumer,
        &fetches[1],
        fetch_response("acks-all", vec![(1, 0, Some(batch))]),
    );
    assert_eq!(
        bench.last_op().op_type,
        OpType::Invoke,
        "waits for the other fetch"
    );
    let batch = stored_batch("acks-all/0", &[5], 0).freeze();
    bench.respond(
        consumer,
        &fetches[0],
        fetch_response("acks-all", vec![(0, 0, Some(batch))]),
    );
    let op = bench.last_op();
    assert_eq!((op.op_type, op.f.as_str()), (OpType::Ok, "poll"));
    let pair = |offset: i64, value: i64| Value::Vector(vec![Value::Int(offset), Value::Int(value)]);
    let expected = Value::Vector(vec![Value::Vector(vec![
        Value::Keyword("poll".to_owned()),
        Value::Map(vec![
            (
                Value::Str("acks-all/0".to_owned()),
                Value::Vector(vec![pair(0, 5)]),
            ),
            (
                Value::Str("acks-all/1".to_owned()),
                Value::Vector(vec![pair(0, 7)]),
            ),
        ]),
    ])]);
    assert_eq!(op.value, expected);
    let next = bench.next_request(consumer);
    assert_eq!(fetched(&next)[0].1, 1, "positions moved past what was read");
}

#[test]
fn a_fetch_partition_error_reads_nothing_and_the_next_request_refreshes_metadata() {
    let mut bench = Bench::set_up(cluster(7, 2, 1));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    answer_metadata(&mut bench, consumer, DurabilityClass::AcksAll, &[(0, 1, 9)]);
    let fetch = bench.next_request(consumer);
    assert_eq!(fetched(&fetch), vec![(0, 0, 9)]);
    bench.respond(
        consumer,
        &fetch,
        fetch_response("acks-all", vec![(0, 74, None)]),
    );
    assert_eq!(
        bench.last_op().op_type,
        OpType::Ok,
        "a poll that read nothing"
    );
    answer_metadata(
        &mut bench,
        consumer,
        DurabilityClass::AcksAll,
        &[(0, 2, 10)],
    );
    let fetch = bench.next_request(consumer);
    assert_eq!(bench.node_of(&fetch), 2);
    assert_eq!(fetched(&fetch), vec![(0, 0, 10)]);
}

#[test]
fn a_timed_out_produce_asks_its_leader_to_reconnect_and_the_next_request_refreshes() {
    let mut bench = Bench::set_up(cluster(8, 2, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    answer_metadata(&mut bench, producer, DurabilityClass::AcksAll, &[(0, 2, 1)]);
    bench.next_request(producer);
    bench.outputs.clear();
    bench.advance(1_000_000_000);
    assert_eq!(bench.last_op().op_type, OpType::Info);
    bench.drain();
    assert!(bench
        .outputs
        .iter()
        .any(|(c, out)| *c == producer && *out == ClientOutput::Reconnect { node: 2 }));
    let request = bench.next_request(producer);
    metadata_topics(&request);
}

#[test]
fn final_readers_list_offsets_and_fetch_per_leader_through_errors() {
    let mut bench = Bench::set_up(cluster(9, 2, 2));
    bench
        .workload
        .stop_operations(bench.now, &mut bench.history);
    bench
        .workload
        .start_final_reads(bench.now, &mut bench.history);
    let reader = bench.client_with(ClientRole::FinalReader(DurabilityClass::AcksAll));
    answer_metadata(
        &mut bench,
        reader,
        DurabilityClass::AcksAll,
        &[(0, 0, 1), (1, 1, 1)],
    );
    let mut lists = [bench.next_request(reader), bench.next_request(reader)];
    lists.sort_by_key(|l| bench.node_of(l));
    for (node, list) in lists.iter().enumerate() {
        assert_eq!(bench.node_of(list), node);
        let RequestBody::ListOffsets(body) = &list.body else {
            panic!("expected ListOffsets: {list:?}")
        };
        let partition = &body.topics[0].partitions[0];
        assert_eq!(partition.partition_index, node as i32);
        assert_eq!(
            (partition.timestamp, partition.current_leader_epoch),
            (-1, 1)
        );
    }
    // Node 1 no longer leads partition 1: refresh, then ask the new leader for it alone.
    bench.respond(reader, &lists[0], list_offsets_response(&[(0, 0, 0)]));
    bench.respond(reader, &lists[1], list_offsets_response(&[(1, 6, -1)]));
    answer_metadata(
        &mut bench,
        reader,
        DurabilityClass::AcksAll,
        &[(0, 0, 1), (1, 2, 2)],
    );
    let list = bench.next_request(reader);
    assert_eq!(bench.node_of(&list), 2);
    bench.respond(reader, &list, list_offsets_response(&[(1, 0, 1)]));
    let mut fetches = [bench.next_request(reader), bench.next_request(reader)];
    fetches.sort_by_key(|f| bench.node_of(f));
    assert_eq!(fetched(&fetches[0]), vec![(0, 0, 1)]);
    assert_eq!(fetched(&fetches[1]), vec![(1, 0, 2)]);
    assert_eq!(bench.node_of(&fetches[1]), 2);
    let batch = stored_batch("acks-all/1", &[3], 0).freeze();
    bench.respond(
        reader,
        &fetches[1],
        fetch_response("acks-all", vec![(1, 0, Some(batch))]),
    );
    bench.respond(reader, &fetches[0], fetch_response("acks-all", vec![]));
    let progress = bench.workload.final_read_progress();
    assert!(progress.starts_with("acks-all: done"), "{progress}");
}

#[test]
fn metadata_from_a_lagging_broker_with_an_older_epoch_is_ignored() {
    let mut cache = LeaderCache::new(3);
    let now = Mono(0);
    assert!(cache.needs_refresh(&[0], now));
    cache.learn(&metadata_response("t", &[(0, 1, 5)]), "t", now);
    assert_eq!(cache.leader(0).map(|l| (l.node, l.epoch)), Some((1, 5)));
    cache.mark_stale(&[0]);
    assert!(cache.needs_refresh(&[0], now));
    cache.learn(&metadata_response("t", &[(0, 2, 4)]), "t", now);
    assert_eq!(
        cache.leader(0),
        None,
        "an older epoch does not bring a leader back"
    );
    cache.learn(&metadata_response("t", &[(0, 2, 6)]), "t", now);
    assert_eq!(cache.leader(0).map(|l| (l.node, l.epoch)), Some((2, 6)));
    assert!(!cache.needs_refresh(&[0], now));
    assert!(
        cache.needs_refresh(&[0], Mono(METADATA_MAX_AGE_NS)),
        "too old"
    );
    cache.learn(&metadata_response("t", &[(1, 7, 1)]), "t", now);
    assert_eq!(
        cache.leader(1),
        None,
        "a leader id outside the nodes is no leader"
    );
    let single = LeaderCache::new(1);
    assert!(!single.needs_refresh(&[0, 1], now));
    assert_eq!(single.leader(3).map(|l| (l.node, l.epoch)), Some((0, -1)));
}

#[test]
fn a_single_node_world_never_sends_metadata_even_after_leadership_errors() {
    let mut bench = Bench::set_up(config(10, 2, 2, 100));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    for _ in 0..3 {
        let produce = bench.next_request(producer);
        assert_eq!(bench.node_of(&produce), 0);
        let RequestBody::Produce(body) = &produce.body else {
            panic!("no Metadata with one node: {produce:?}")
        };
        let partition = body.topic_data[0].partition_data[0].index;
        bench.respond(
            producer,
            &produce,
            produce_response("acks-all", partition, 6, -1),
        );
    }
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    let fetch = bench.next_request(consumer);
    assert_eq!(
        fetched(&fetch),
        vec![(0, 0, -1), (1, 0, -1)],
        "one Fetch, no epochs"
    );
}

#[test]
fn a_metadata_answer_naming_no_leader_is_retried_on_another_node_after_a_backoff() {
    let mut bench = Bench::set_up(cluster(11, 2, 1));
    let producer = bench.client_with(ClientRole::Producer(DurabilityClass::AcksAll));
    let first = bench.next_request(producer);
    metadata_topics(&first);
    let asked_at = bench.now;
    bench.respond(
        producer,
        &first,
        metadata_response("acks-one", &[(0, 1, 1)]),
    );
    let retry = bench.next_request(producer);
    metadata_topics(&retry);
    assert_ne!(bench.node_of(&retry), bench.node_of(&first));
    assert!(bench.now.0 - asked_at.0 >= crate::workload::RETRY_BACKOFF_NS);
}

#[test]
fn a_reset_connection_to_one_leader_ends_the_whole_poll_as_info() {
    let mut bench = Bench::set_up(cluster(12, 2, 2));
    let consumer = bench.client_with(ClientRole::Consumer(DurabilityClass::AcksAll));
    answer_metadata(
        &mut bench,
        consumer,
        DurabilityClass::AcksAll,
        &[(0, 0, 1), (1, 1, 1)],
    );
    let [a, b] = [bench.next_request(consumer), bench.next_request(consumer)];
    let node = bench.node_of(&b);
    bench
        .workload
        .handle_disconnected(bench.now, consumer, node, &mut bench.history);
    let op = bench.last_op();
    assert_eq!((op.op_type, op.f.as_str()), (OpType::Info, "poll"));
    assert!(bench.workload.clients[consumer].in_flight.is_none());
    let before = bench.history.ops().len();
    bench.respond(consumer, &a, fetch_response("acks-all", vec![]));
    assert_eq!(
        bench.history.ops().len(),
        before,
        "a late answer changes nothing"
    );
    metadata_topics(&bench.next_request(consumer));
}
