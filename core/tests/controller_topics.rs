//! Topic commands, rule by rule: names, partition counts, replication factors, explicit
//! assignments, already-exists, duplicates, validate-only, auto-creation, deletion and
//! CreatePartitions.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    BrokerId, ControllerConfig, ControllerError, CreateTopicRequest, MetadataRecord,
    PartitionIndex, ReplicaAssignment, TopicId, TopicNameProblem, TopicRef,
};

fn name_problem(name: &str) -> Option<TopicNameProblem> {
    let (controller, _) = cluster(1);
    match create_error(&controller, CreateTopicRequest::new(name, 1, 1)) {
        ControllerError::InvalidTopicName { problem, .. } => Some(problem),
        _ => None,
    }
}

#[test]
fn topic_names_follow_kafkas_rules() {
    assert_eq!(name_problem(""), Some(TopicNameProblem::Empty));
    assert_eq!(name_problem("."), Some(TopicNameProblem::DotOrDotDot));
    assert_eq!(name_problem(".."), Some(TopicNameProblem::DotOrDotDot));
    assert_eq!(
        name_problem(&"a".repeat(250)),
        Some(TopicNameProblem::TooLong)
    );
    assert_eq!(
        name_problem("has space"),
        Some(TopicNameProblem::IllegalCharacter)
    );
    assert_eq!(
        name_problem("slash/y"),
        Some(TopicNameProblem::IllegalCharacter)
    );
    assert_eq!(
        name_problem("ünïcode"),
        Some(TopicNameProblem::IllegalCharacter)
    );
}

#[test]
fn legal_topic_names_are_accepted_up_to_249_characters() {
    let (mut controller, mut log) = cluster(1);
    for name in ["a", "A.b_c-9", "...", &"x".repeat(249)] {
        let created = create(
            &mut controller,
            &mut log,
            CreateTopicRequest::new(name, 1, 1),
        );
        assert_eq!(created.name, name);
        assert!(controller.image().topic_by_name(name).is_some());
    }
}

#[test]
fn a_topic_is_created_with_its_partitions_replicas_and_leaders() {
    let (mut controller, mut log) = cluster(3);
    let created = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("orders", 6, 2),
    );
    assert_eq!((created.num_partitions, created.replication_factor), (6, 2));
    let topic = controller.image().topic_by_name("orders").expect("exists");
    assert_eq!(Some(topic.topic_id), created.topic_id);
    assert_eq!(topic.partitions.len(), 6);
    for partition in &topic.partitions {
        assert_eq!(partition.replicas.len(), 2);
        assert_eq!(partition.isr, partition.replicas);
        assert_eq!(partition.leader, Some(partition.replicas[0]));
        assert_eq!(partition.leader_epoch.0, 0);
    }
    assert_eq!(created.records.len(), 1 + 6);
}

#[test]
fn zero_or_negative_partition_counts_are_invalid_partitions() {
    let (controller, _) = cluster(1);
    for count in [0, -2, i32::MIN] {
        assert!(matches!(
            create_error(&controller, CreateTopicRequest::new("t", count, 1)),
            ControllerError::InvalidPartitions { requested, .. } if requested == count
        ));
    }
    assert!(matches!(
        create_error(&controller, CreateTopicRequest::new("t", 10_001, 1)),
        ControllerError::InvalidPartitions { .. }
    ));
}

#[test]
fn minus_one_takes_num_partitions_and_default_replication_factor_from_the_config() {
    let config = ControllerConfig {
        num_partitions: 4,
        default_replication_factor: 2,
        ..ControllerConfig::default()
    };
    let (mut controller, mut log) = cluster_with(config, vec![broker(0, None), broker(1, None)]);
    let created = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("d", -1, -1),
    );
    assert_eq!((created.num_partitions, created.replication_factor), (4, 2));
}

#[test]
fn replication_factor_must_be_between_one_and_the_number_of_brokers() {
    let (controller, _) = cluster(3);
    for factor in [0, -2, 4] {
        assert_eq!(
            create_error(&controller, CreateTopicRequest::new("t", 1, factor)),
            ControllerError::InvalidReplicationFactor {
                requested: factor,
                available_brokers: 3
            }
        );
    }
    let (no_brokers, _) = cluster(0);
    assert!(matches!(
        create_error(&no_brokers, CreateTopicRequest::new("t", 1, -1)),
        ControllerError::InvalidReplicationFactor {
            available_brokers: 0,
            ..
        }
    ));
}

#[test]
fn creating_an_existing_topic_is_topic_already_exists() {
    let (mut controller, mut log) = cluster(1);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 1),
    );
    assert_eq!(
        create_error(&controller, CreateTopicRequest::new("t", 3, 1)),
        ControllerError::TopicAlreadyExists {
            name: "t".to_owned()
        }
    );
}

#[test]
fn names_differing_only_by_dot_versus_underscore_collide() {
    let (mut controller, mut log) = cluster(1);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("a.b_c", 1, 1),
    );
    assert_eq!(
        create_error(&controller, CreateTopicRequest::new("a_b.c", 1, 1)),
        ControllerError::TopicNameCollision {
            name: "a_b.c".to_owned(),
            existing: "a.b_c".to_owned()
        }
    );
    assert!(matches!(
        controller.auto_create_topic("a_b_c"),
        Err(ControllerError::TopicNameCollision { .. })
    ));
}

#[test]
fn a_topic_named_twice_in_one_request_fails_both_times_and_others_succeed() {
    let (controller, _) = cluster(1);
    let results = controller.create_topics(
        &[
            CreateTopicRequest::new("dup", 1, 1),
            CreateTopicRequest::new("ok", 1, 1),
            CreateTopicRequest::new("dup", 1, 1),
        ],
        false,
    );
    assert!(matches!(
        results[0].result,
        Err(ControllerError::InvalidRequest { .. })
    ));
    assert!(results[1].result.is_ok());
    assert!(matches!(
        results[2].result,
        Err(ControllerError::InvalidRequest { .. })
    ));
}

#[test]
fn topics_created_in_one_request_get_distinct_ids_and_all_commit() {
    let (mut controller, mut log) = cluster(2);
    let results = controller.create_topics(
        &[
            CreateTopicRequest::new("a", 1, 1),
            CreateTopicRequest::new("b", 2, 2),
        ],
        false,
    );
    let created: Vec<_> = results.into_iter().map(|r| r.result.expect("ok")).collect();
    assert_ne!(created[0].topic_id, created[1].topic_id);
    for topic in created {
        commit(&mut controller, &mut log, topic.records);
    }
    assert_eq!(controller.image().topics().len(), 2);
}

#[test]
fn validate_only_reports_the_outcome_without_records_or_an_id() {
    let (controller, _) = cluster(3);
    let results = controller.create_topics(&[CreateTopicRequest::new("v", 5, 3)], true);
    let created = results[0].result.clone().expect("valid");
    assert_eq!((created.num_partitions, created.replication_factor), (5, 3));
    assert_eq!(created.topic_id, None);
    assert!(created.records.is_empty());
    let invalid = controller.create_topics(&[CreateTopicRequest::new("v", 0, 3)], true);
    assert!(matches!(
        invalid[0].result,
        Err(ControllerError::InvalidPartitions { .. })
    ));
}

fn explicit(assignments: &[(i32, &[i32])]) -> CreateTopicRequest {
    let mut request = CreateTopicRequest::new("x", -1, -1);
    request.assignments = assignments
        .iter()
        .map(|(partition, brokers)| ReplicaAssignment {
            partition: PartitionIndex(*partition),
            broker_ids: brokers.iter().map(|b| BrokerId(*b)).collect(),
        })
        .collect();
    request
}

#[test]
fn explicit_assignments_are_used_as_given() {
    let (mut controller, mut log) = cluster(3);
    create(
        &mut controller,
        &mut log,
        explicit(&[(1, &[0, 2]), (0, &[2, 1])]),
    );
    let topic = controller.image().topic_by_name("x").expect("exists");
    assert_eq!(topic.partitions[0].replicas, vec![BrokerId(2), BrokerId(1)]);
    assert_eq!(topic.partitions[1].replicas, vec![BrokerId(0), BrokerId(2)]);
    assert_eq!(topic.partitions[1].leader, Some(BrokerId(0)));
}

#[test]
fn bad_explicit_assignments_are_invalid_replica_assignment() {
    let (controller, _) = cluster(3);
    let bad_cases: [&[(i32, &[i32])]; 5] = [
        &[(0, &[0]), (2, &[1])],    // gap
        &[(0, &[0]), (0, &[1])],    // partition twice
        &[(0, &[0, 1]), (1, &[1])], // inconsistent replication factor
        &[(0, &[1, 1])],            // broker twice
        &[(0, &[])],                // no replica
    ];
    for case in bad_cases {
        assert!(
            matches!(
                create_error(&controller, explicit(case)),
                ControllerError::InvalidReplicaAssignment { .. }
            ),
            "{case:?}"
        );
    }
    assert_eq!(
        create_error(&controller, explicit(&[(0, &[0, 9])])),
        ControllerError::UnknownBroker {
            broker_id: BrokerId(9)
        }
    );
}

#[test]
fn explicit_assignments_with_a_partition_count_are_an_invalid_request() {
    let (controller, _) = cluster(3);
    let mut request = explicit(&[(0, &[0])]);
    request.num_partitions = 1;
    assert!(matches!(
        create_error(&controller, request),
        ControllerError::InvalidRequest { .. }
    ));
}

#[test]
fn auto_creation_uses_the_defaults_and_can_be_disabled() {
    let (mut controller, mut log) = cluster(1);
    let created = controller
        .auto_create_topic("auto")
        .expect("enabled by default");
    assert_eq!((created.num_partitions, created.replication_factor), (1, 1));
    commit(&mut controller, &mut log, created.records);
    assert!(matches!(
        controller.auto_create_topic("auto"),
        Err(ControllerError::TopicAlreadyExists { .. })
    ));
    assert!(matches!(
        controller.auto_create_topic("bad name"),
        Err(ControllerError::InvalidTopicName { .. })
    ));

    let config = ControllerConfig {
        auto_create_topics_enable: false,
        ..ControllerConfig::default()
    };
    let (disabled, _) = cluster_with(config, vec![broker(0, None)]);
    assert_eq!(
        disabled.auto_create_topic("auto"),
        Err(ControllerError::AutoCreateDisabled {
            name: "auto".to_owned()
        })
    );
}

#[test]
fn deleting_a_topic_by_name_or_id_removes_it_and_its_configs() {
    let (mut controller, mut log) = cluster(1);
    let mut request = CreateTopicRequest::new("a", 2, 1);
    request.configs = vec![("retention.ms".to_owned(), Some("1000".to_owned()))];
    let a = create(&mut controller, &mut log, request);
    let b = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("b", 1, 1),
    );
    let results = controller.delete_topics(&[
        TopicRef::Name("a".to_owned()),
        TopicRef::Id(b.topic_id.expect("id")),
    ]);
    for result in results {
        let deleted = result.result.expect("deleted");
        commit(&mut controller, &mut log, deleted.records);
    }
    assert!(controller.image().topics().is_empty());
    assert_eq!(controller.image().topic_configs("a"), None);
    assert!(controller.image().is_topic_id_used(a.topic_id.expect("id")));
}

#[test]
fn deleting_an_unknown_topic_is_unknown_topic_or_unknown_topic_id() {
    let (controller, _) = cluster(1);
    let id = TopicId::from_u128(42 << 100);
    let results = controller.delete_topics(&[TopicRef::Name("nope".to_owned()), TopicRef::Id(id)]);
    assert_eq!(
        results[0].result,
        Err(ControllerError::UnknownTopic {
            name: "nope".to_owned()
        })
    );
    assert_eq!(
        results[1].result,
        Err(ControllerError::UnknownTopicId { topic_id: id })
    );
}

#[test]
fn deleting_a_topic_named_twice_is_an_invalid_request() {
    let (mut controller, mut log) = cluster(1);
    let t = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 1),
    );
    let results = controller.delete_topics(&[
        TopicRef::Name("t".to_owned()),
        TopicRef::Id(t.topic_id.expect("id")),
    ]);
    assert!(results
        .iter()
        .all(|r| matches!(r.result, Err(ControllerError::InvalidRequest { .. }))));
}

#[test]
fn a_deleted_topic_can_be_created_again_with_a_new_id() {
    let (mut controller, mut log) = cluster(1);
    let first = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 1),
    );
    let deleted = controller.delete_topics(&[TopicRef::Name("t".to_owned())]);
    commit(
        &mut controller,
        &mut log,
        deleted[0].result.clone().expect("ok").records,
    );
    let second = create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 3, 1),
    );
    assert_ne!(first.topic_id, second.topic_id);
    assert_eq!(
        controller
            .image()
            .topic_by_name("t")
            .expect("t")
            .partitions
            .len(),
        3
    );
}

#[test]
fn create_partitions_only_increases_the_count() {
    let (mut controller, mut log) = cluster(3);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 3, 2),
    );
    for new_total in [3, 2, 0, -1] {
        assert!(matches!(
            controller.create_partitions("t", new_total, None, false),
            Err(ControllerError::InvalidPartitions { requested, .. }) if requested == new_total
        ));
    }
    let records = controller
        .create_partitions("t", 5, None, false)
        .expect("grows");
    assert_eq!(records.len(), 2);
    commit(&mut controller, &mut log, records);
    let topic = controller.image().topic_by_name("t").expect("t");
    assert_eq!(topic.partitions.len(), 5);
    assert!(topic.partitions.iter().all(|p| p.replicas.len() == 2));
}

#[test]
fn create_partitions_checks_its_explicit_assignments_and_the_topic() {
    let (mut controller, mut log) = cluster(3);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 2),
    );
    let b = |ids: &[i32]| ids.iter().map(|i| BrokerId(*i)).collect::<Vec<_>>();
    assert!(matches!(
        controller.create_partitions("t", 3, Some(&[b(&[0, 1])]), false),
        Err(ControllerError::InvalidReplicaAssignment { .. })
    ));
    assert!(matches!(
        controller.create_partitions("t", 2, Some(&[b(&[0])]), false),
        Err(ControllerError::InvalidReplicaAssignment { .. })
    ));
    assert_eq!(
        controller.create_partitions("t", 2, Some(&[b(&[0, 7])]), false),
        Err(ControllerError::UnknownBroker {
            broker_id: BrokerId(7)
        })
    );
    assert_eq!(
        controller.create_partitions("missing", 2, None, false),
        Err(ControllerError::UnknownTopic {
            name: "missing".to_owned()
        })
    );
    assert_eq!(controller.create_partitions("t", 2, None, true), Ok(vec![]));
    let records = controller
        .create_partitions("t", 2, Some(&[b(&[2, 0])]), false)
        .expect("valid");
    assert!(matches!(
        &records[0],
        MetadataRecord::Partition(p) if p.partition == PartitionIndex(1) && p.replicas == b(&[2, 0])
    ));
}
