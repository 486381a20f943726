//! Restart and crash recovery of a node: topics come back from the durable metadata log,
//! acknowledged data from the partition logs, deleted topics stay deleted.

mod node_support;

use node_support::*;
use odradek_core::controller::{
    BrokerId, BrokerRegistration, ConfigRecord, IncarnationId, LeaderEpoch, Listener,
    MetadataRecord, PartitionEpoch, PartitionIndex, PartitionRecord, RemoveTopicRecord, TopicId,
    TopicRecord,
};
use odradek_core::node::metadata_store::{decode_record, encode_record};
use odradek_core::node::TopicPartition;
use odradek_core::storage::StorageProvider;
use odradek_core::wire::kafka_protocol::messages::{DeleteTopicsRequest, MetadataRequest};
use odradek_core::wire::ResponseBody;

fn topic_names(h: &mut Harness) -> Vec<String> {
    let ResponseBody::Metadata(response) = h.call(12, MetadataRequest::default().with_topics(None))
    else {
        panic!()
    };
    response
        .topics
        .iter()
        .map(|t| t.name.as_ref().unwrap().0.to_string())
        .collect()
}

#[test]
fn a_crash_and_restart_recovers_every_topic_and_every_acknowledged_record() {
    let mut h = Harness::new();
    h.create_topic("durable", 2, &[("flush.messages", "1")]);
    h.create_topic("other", 1, &[]);
    let acked = batch(10, &["kept"]);
    h.call(9, produce_request("durable", 1, -1, acked.clone()));
    // Not acknowledged: its sync is never performed.
    h.send(
        5,
        9,
        produce_request("durable", 1, -1, batch(20, &["maybe"])),
    );
    assert!(h.drain().answers.is_empty());
    h.crash_and_restart();
    assert_eq!(
        topic_names(&mut h),
        vec!["durable".to_owned(), "other".to_owned()]
    );
    let fetched = fetched_records(&h.call(12, fetch_request("durable", 1, 0, 0, 1)));
    assert!(fetched.len() >= acked.len());
    // Bytes 0..12 are the base offset and length, 12..16 the leader epoch the leader
    // stamped (as Kafka does); everything after is the producer's, byte for byte.
    assert_eq!(
        &fetched[16..acked.len()],
        &acked[16..],
        "the acked batch survives byte for byte"
    );
    let log = h
        .node
        .partition_log(&TopicPartition::new("durable", 1))
        .unwrap();
    assert_eq!(
        log.config().flush_policy,
        odradek_core::log::FlushPolicy::EveryBatch
    );
    let answer = h.call(9, produce_request("durable", 1, -1, batch(30, &["after"])));
    let ResponseBody::Produce(response) = answer else {
        panic!()
    };
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}

#[test]
fn a_deleted_topic_stays_deleted_after_restart_and_its_directories_are_gone() {
    let mut h = Harness::new();
    h.create_topic("keep", 1, &[]);
    h.create_topic("drop", 2, &[]);
    h.call(
        5,
        DeleteTopicsRequest::default().with_topic_names(vec![name("drop")]),
    );
    h.crash_and_restart();
    assert_eq!(topic_names(&mut h), vec!["keep".to_owned()]);
    let dirs = h.node.provider_mut().list_directories().unwrap();
    assert_eq!(
        dirs,
        vec!["__cluster_metadata-0".to_owned(), "keep-0".to_owned()]
    );
}

#[test]
fn a_directory_no_live_topic_owns_is_removed_at_startup() {
    let mut h = Harness::new();
    h.create_topic("keep", 1, &[]);
    let mut provider = odradek_sim::disk::SimDiskProvider::new(h.disk.clone());
    provider.open_directory("stale-0").unwrap();
    h.restart();
    let dirs = h.node.provider_mut().list_directories().unwrap();
    assert_eq!(
        dirs,
        vec!["__cluster_metadata-0".to_owned(), "keep-0".to_owned()]
    );
}

#[test]
fn a_recreated_topic_after_restart_gets_a_new_id_and_starts_empty() {
    let mut h = Harness::new();
    h.create_topic("again", 1, &[]);
    h.call(9, produce_request("again", 0, 1, batch(0, &["old"])));
    h.call(
        5,
        DeleteTopicsRequest::default().with_topic_names(vec![name("again")]),
    );
    h.restart();
    h.create_topic("again", 1, &[]);
    assert!(fetched_records(&h.call(12, fetch_request("again", 0, 0, 0, 1))).is_empty());
}

#[test]
fn every_metadata_record_kind_round_trips_through_the_store_format() {
    let topic_id = TopicId::derive(1, 2);
    let records = vec![
        MetadataRecord::RegisterBroker(BrokerRegistration {
            broker_id: BrokerId(0),
            incarnation: IncarnationId(u128::MAX - 3),
            listeners: vec![Listener {
                name: "PLAINTEXT".into(),
                host: "h_1".into(),
                port: 9092,
            }],
            rack: Some("r".into()),
        }),
        MetadataRecord::Topic(TopicRecord {
            name: "a_b".into(),
            topic_id,
        }),
        MetadataRecord::Partition(PartitionRecord {
            topic_id,
            partition: PartitionIndex(3),
            replicas: vec![BrokerId(0), BrokerId(2)],
            isr: vec![BrokerId(2)],
            leader: None,
            leader_epoch: LeaderEpoch(4),
            partition_epoch: PartitionEpoch(5),
        }),
        MetadataRecord::Config(ConfigRecord {
            topic: "a_b".into(),
            key: "retention.ms".into(),
            value: None,
        }),
        MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id }),
    ];
    for record in records {
        let bytes = encode_record(&record);
        assert_eq!(decode_record(&bytes), Some(record.clone()));
        assert_eq!(
            decode_record(&bytes[..bytes.len() - 1]),
            None,
            "truncation is detected"
        );
    }
}

#[test]
fn a_node_on_real_files_recovers_topics_and_records_after_reopening() {
    use odradek::storage::FileStorageProvider;
    use odradek_core::node::{ConnectionId, Node, NodeConfig, NodeInput, NodeOutput};
    use odradek_core::wire::kafka_protocol::messages::RequestHeader;
    use odradek_core::wire::{decode_request, encode_request, RequestBody};

    fn call(
        node: &mut Node<FileStorageProvider>,
        now: odradek_core::Now,
        version: i16,
        body: RequestBody,
    ) -> ResponseBody {
        let header = RequestHeader::default()
            .with_request_api_key(body.api_key() as i16)
            .with_request_api_version(version)
            .with_correlation_id(1);
        let frame = encode_request(&header, &body).unwrap().freeze();
        let request = decode_request(frame.slice(4..)).unwrap();
        node.handle(
            now,
            NodeInput::Request {
                connection: ConnectionId(0),
                request,
            },
        );
        let mut answer = None;
        while let Some(output) = node.poll_output() {
            match output {
                NodeOutput::Response { response, .. } => answer = Some(response.body),
                NodeOutput::Sync { partition, request } => {
                    node.perform_sync(now, &partition, &request).unwrap()
                }
                NodeOutput::Close { .. } => panic!("closed"),
                NodeOutput::ToController(_) | NodeOutput::ToBroker { .. } => {
                    panic!("a standalone node sent a cluster-mode output")
                }
            }
        }
        answer.expect("an answer")
    }

    let root = tempfile::tempdir().unwrap();
    let now = odradek_core::Now {
        mono: odradek_core::Mono(0),
        wall_ms: 1_000,
    };
    let open = || {
        Node::open(
            FileStorageProvider::open(root.path()).unwrap(),
            NodeConfig::default(),
            now,
        )
        .unwrap()
    };
    let mut node = open();
    let records = batch(5, &["on", "disk"]);
    let answer = call(
        &mut node,
        now,
        9,
        produce_request("files", 0, 1, records.clone()).into(),
    );
    let ResponseBody::Produce(produced) = answer else {
        panic!()
    };
    assert_eq!(produced.responses[0].partition_responses[0].error_code, 0);
    drop(node);
    let mut node = open();
    let fetched = fetched_records(&call(
        &mut node,
        now,
        12,
        fetch_request("files", 0, 0, 0, 1).into(),
    ));
    // The leader stamped its epoch into bytes 12..16 (as Kafka does).
    assert_eq!(&fetched[8..12], &records[8..12]);
    assert_eq!(&fetched[16..], &records[16..]);
    assert!(root.path().join("files-0").is_dir());
}

#[test]
fn a_partition_whose_log_cannot_open_is_offline_without_taking_the_node_down() {
    // SimDisk flattens directory and file names into one name of at most 255 bytes, so a
    // 240-byte topic name cannot hold segment files there.
    let mut h = Harness::new();
    let long = "a".repeat(240);
    h.create_topic(&long, 1, &[]);
    let offline = TopicPartition::new(&long, 0);
    assert!(h.node.offline_partitions().contains_key(&offline));
    let ResponseBody::Produce(response) = h.call(9, produce_request(&long, 0, 1, batch(0, &["x"])))
    else {
        panic!()
    };
    assert_eq!(response.responses[0].partition_responses[0].error_code, 56);
    h.crash_and_restart();
    assert!(h.node.offline_partitions().contains_key(&offline));
    h.create_topic("fine", 1, &[]);
    let ResponseBody::Produce(response) =
        h.call(9, produce_request("fine", 0, 1, batch(0, &["x"])))
    else {
        panic!()
    };
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}
