//! The metadata image and log: apply checks every record (and changes nothing when it
//! refuses one), replaying committed records into a fresh image gives an identical image,
//! the single-node log commits on append with dense offsets, and broker registration rules.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    ApplyError, BrokerFencingRecord, BrokerId, ConfigRecord, ControllerError, CreateTopicRequest,
    LeaderEpoch, Listener, LocalMetadataLog, MetadataImage, MetadataLog, MetadataOffset,
    MetadataRecord, PartitionEpoch, PartitionIndex, PartitionRecord, RemoveTopicRecord, TopicId,
    TopicRecord,
};

const T: TopicId = TopicId::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);

/// An image with brokers 0..3 and topic "t" (id `T`) with one partition on [0, 1].
fn base_image() -> MetadataImage {
    let mut image = MetadataImage::new();
    let mut records: Vec<MetadataRecord> = (0..3)
        .map(|id| MetadataRecord::RegisterBroker(broker(id, None)))
        .collect();
    records.extend((0..3).map(|id| {
        MetadataRecord::UnfenceBroker(BrokerFencingRecord {
            broker_id: BrokerId(id),
            incarnation: broker(id, None).incarnation,
        })
    }));
    records.push(topic_record("t", T));
    records.push(partition(T, 0, &[0, 1], &[0, 1], Some(0)));
    for (offset, record) in records.iter().enumerate() {
        image
            .apply(MetadataOffset(offset as u64), record)
            .expect("valid");
    }
    image
}

fn topic_record(name: &str, topic_id: TopicId) -> MetadataRecord {
    MetadataRecord::Topic(TopicRecord {
        name: name.to_owned(),
        topic_id,
    })
}

fn partition(
    topic_id: TopicId,
    index: i32,
    replicas: &[i32],
    isr: &[i32],
    leader: Option<i32>,
) -> MetadataRecord {
    let ids = |list: &[i32]| list.iter().map(|b| BrokerId(*b)).collect();
    MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition: PartitionIndex(index),
        replicas: ids(replicas),
        isr: ids(isr),
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(0),
    })
}

/// Applies `record` after the base image; asserts the image did not change on error.
fn apply_to_base(record: MetadataRecord) -> Result<(), ApplyError> {
    let mut image = base_image();
    let before = image.clone();
    let offset = image.next_offset();
    let result = image.apply(offset, &record);
    if result.is_err() {
        assert_eq!(image, before, "a refused record changed the image");
    }
    result
}

fn partition_state_error(record: MetadataRecord) -> String {
    match apply_to_base(record) {
        Err(ApplyError::InvalidPartitionState { reason, .. }) => reason.into_owned(),
        other => panic!("expected InvalidPartitionState, got {other:?}"),
    }
}

#[test]
fn partitions_must_satisfy_leader_in_isr_subset_of_replicas() {
    assert_eq!(
        partition_state_error(partition(T, 1, &[0, 1], &[0, 1], Some(2))),
        "leader is not in the isr"
    );
    assert_eq!(
        partition_state_error(partition(T, 1, &[0, 1], &[1], Some(0))),
        "leader is not in the isr"
    );
    assert_eq!(
        partition_state_error(partition(T, 1, &[0], &[0, 1], Some(0))),
        "isr is not a subset of replicas"
    );
    assert_eq!(
        partition_state_error(partition(T, 1, &[0, 0], &[0], Some(0))),
        "a broker holds two replicas"
    );
    assert_eq!(
        partition_state_error(partition(T, 1, &[], &[], None)),
        "no replicas"
    );
    assert_eq!(
        apply_to_base(partition(T, 1, &[2], &[], None)),
        Ok(()),
        "no leader is allowed"
    );
}

#[test]
fn replicas_must_be_on_registered_brokers() {
    assert_eq!(
        apply_to_base(partition(T, 1, &[0, 9], &[0], Some(0))),
        Err(ApplyError::UnregisteredBroker {
            broker_id: BrokerId(9)
        })
    );
}

#[test]
fn partitions_are_created_densely_in_order_of_existing_topics() {
    assert!(matches!(
        apply_to_base(partition(T, 2, &[0], &[0], Some(0))),
        Err(ApplyError::PartitionNotNext {
            expected: PartitionIndex(1),
            ..
        })
    ));
    assert!(matches!(
        apply_to_base(partition(T, 0, &[0], &[0], Some(0))),
        Err(ApplyError::PartitionNotNext { .. })
    ));
    let other = TopicId::from_u128(77 << 64);
    assert_eq!(
        apply_to_base(partition(other, 0, &[0], &[0], Some(0))),
        Err(ApplyError::UnknownTopicId { topic_id: other })
    );
}

#[test]
fn topic_names_are_unique_and_ids_are_never_reused_or_reserved() {
    assert!(matches!(
        apply_to_base(topic_record("t", TopicId::from_u128(5 << 64))),
        Err(ApplyError::DuplicateTopicName { .. })
    ));
    assert_eq!(
        apply_to_base(topic_record("u", T)),
        Err(ApplyError::DuplicateTopicId { topic_id: T })
    );
    assert!(matches!(
        apply_to_base(topic_record("u", TopicId::ZERO)),
        Err(ApplyError::ReservedTopicId { .. })
    ));
    let mut image = base_image();
    let remove = MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id: T });
    image.apply(image.next_offset(), &remove).expect("removes");
    assert_eq!(
        image.apply(image.next_offset(), &topic_record("t", T)),
        Err(ApplyError::DuplicateTopicId { topic_id: T })
    );
    assert_eq!(
        image.apply(image.next_offset(), &remove),
        Err(ApplyError::UnknownTopicId { topic_id: T })
    );
}

#[test]
fn configs_apply_only_to_live_topics() {
    let config = |topic: &str, value: Option<&str>| {
        MetadataRecord::Config(ConfigRecord {
            topic: topic.to_owned(),
            key: "retention.ms".to_owned(),
            value: value.map(str::to_owned),
        })
    };
    assert!(matches!(
        apply_to_base(config("nope", Some("1"))),
        Err(ApplyError::UnknownTopicName { .. })
    ));
    let mut image = base_image();
    image
        .apply(image.next_offset(), &config("t", Some("1")))
        .expect("sets");
    assert_eq!(image.topic_configs("t").map(|c| c.len()), Some(1));
    image
        .apply(image.next_offset(), &config("t", None))
        .expect("deletes");
    assert_eq!(image.topic_configs("t"), None);
}

#[test]
fn offsets_must_increase_and_broker_ids_be_non_negative() {
    let mut image = base_image();
    let last = image.last_applied_offset().expect("applied");
    assert_eq!(
        image.apply(last, &MetadataRecord::RegisterBroker(broker(5, None))),
        Err(ApplyError::OffsetNotIncreasing {
            offset: last,
            last_applied: last
        })
    );
    assert_eq!(
        apply_to_base(MetadataRecord::RegisterBroker(broker(-1, None))),
        Err(ApplyError::InvalidBrokerId {
            broker_id: BrokerId(-1)
        })
    );
}

#[test]
fn replaying_the_committed_log_into_a_fresh_image_gives_an_identical_image() {
    let (mut controller, mut log) = cluster(3);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("a", 4, 3),
    );
    let mut request = CreateTopicRequest::new("b", 2, 2);
    request.configs = vec![("segment.ms".to_owned(), Some("1000".to_owned()))];
    create(&mut controller, &mut log, request);
    let records = controller
        .create_partitions("a", 6, None, false)
        .expect("ok");
    commit(&mut controller, &mut log, records);
    let mut replayed = MetadataImage::new();
    for committed in log.read_committed(MetadataOffset(0), usize::MAX) {
        replayed
            .apply(committed.offset, &committed.record)
            .expect("valid log");
    }
    assert_eq!(&replayed, controller.image());
    replayed.check_invariants();
}

#[test]
fn the_local_log_commits_on_append_with_dense_offsets() {
    let mut log = LocalMetadataLog::new();
    assert_eq!(log.committed_offset(), None);
    let batch = vec![
        MetadataRecord::RegisterBroker(broker(0, None)),
        MetadataRecord::RegisterBroker(broker(1, None)),
    ];
    assert_eq!(log.append(batch.clone()), Ok(MetadataOffset(1)));
    assert_eq!(
        log.append(vec![topic_record("t", T)]),
        Ok(MetadataOffset(2))
    );
    assert_eq!(log.committed_offset(), Some(MetadataOffset(2)));
    let polled: Vec<_> = std::iter::from_fn(|| log.poll_committed())
        .map(|c| c.offset.0)
        .collect();
    assert_eq!(polled, vec![0, 1, 2]);
    assert_eq!(log.poll_committed(), None);
    let tail = log.read_committed(MetadataOffset(1), 10);
    assert_eq!(tail.len(), 2);
    assert_eq!(
        (tail[0].offset, &tail[0].record),
        (MetadataOffset(1), &batch[1])
    );
    assert!(log.read_committed(MetadataOffset(3), 10).is_empty());
}

#[test]
fn broker_registration_is_validated_and_idempotent() {
    let (mut controller, mut log) = cluster(1);
    assert_eq!(controller.register_broker(broker(0, None)), Ok(vec![]));
    let invalid = |registration| {
        matches!(
            controller.register_broker(registration),
            Err(ControllerError::InvalidBrokerRegistration { .. })
        )
    };
    assert!(invalid(broker(-3, None)));
    let mut no_listener = broker(1, None);
    no_listener.listeners.clear();
    assert!(invalid(no_listener));
    let mut twice = broker(1, None);
    twice.listeners.push(Listener {
        name: "PLAINTEXT".to_owned(),
        host: "other".to_owned(),
        port: 1,
    });
    assert!(invalid(twice));
    let mut restarted = broker(0, Some("r1"));
    restarted.incarnation.0 += 1;
    assert_eq!(
        controller.register_broker(restarted.clone()),
        Err(ControllerError::DuplicateBrokerRegistration {
            broker_id: BrokerId(0)
        }),
        "the previous incarnation is still heartbeating"
    );
    let fencing = controller.handle_timeout(at_millis(9000));
    commit(&mut controller, &mut log, fencing);
    assert!(controller.image().is_fenced(BrokerId(0)));
    let records = controller
        .register_broker(restarted.clone())
        .expect("valid");
    commit(&mut controller, &mut log, records);
    assert_eq!(controller.image().brokers()[&BrokerId(0)], restarted);
}
