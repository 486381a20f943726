//! Replica assignment and determinism: replicas and leaders spread evenly over 3–5 brokers,
//! across racks when racks are set; the same seed and commands give the same records, topic
//! ids included; topic ids render like Kafka's.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    BrokerId, BrokerRegistration, ControllerConfig, CreateTopicRequest, LocalMetadataLog,
    MetadataRecord, TopicId, TopicRef,
};
use std::collections::{BTreeMap, BTreeSet};

fn counts(
    controller: &odradek_core::controller::Controller,
    topic: &str,
) -> (Vec<usize>, Vec<usize>) {
    let image = controller.image();
    let mut leaders: BTreeMap<BrokerId, usize> = image.brokers().keys().map(|b| (*b, 0)).collect();
    let mut replicas = leaders.clone();
    for partition in &image.topic_by_name(topic).expect("exists").partitions {
        *leaders
            .get_mut(&partition.leader.expect("leader"))
            .expect("known") += 1;
        for broker in &partition.replicas {
            *replicas.get_mut(broker).expect("known") += 1;
        }
    }
    (
        leaders.into_values().collect(),
        replicas.into_values().collect(),
    )
}

#[test]
fn replicas_and_leaders_spread_evenly_over_three_to_five_brokers() {
    for brokers in 3..=5 {
        for factor in 1..=brokers {
            let (mut controller, mut log) = cluster(brokers);
            let partitions = brokers * 4;
            create(
                &mut controller,
                &mut log,
                CreateTopicRequest::new("even", partitions, factor as i16),
            );
            let (leaders, replicas) = counts(&controller, "even");
            assert!(
                leaders.iter().all(|&c| c == 4),
                "{brokers} brokers rf {factor}: {leaders:?}"
            );
            assert!(
                replicas.iter().all(|&c| c == 4 * factor as usize),
                "{brokers} brokers rf {factor}: {replicas:?}"
            );
        }
    }
}

#[test]
fn different_topics_start_their_leaders_on_different_brokers() {
    let (mut controller, mut log) = cluster(5);
    let mut first_leaders = BTreeSet::new();
    for index in 0..20 {
        let name = format!("t{index}");
        create(
            &mut controller,
            &mut log,
            CreateTopicRequest::new(&name, 1, 1),
        );
        first_leaders.insert(
            controller
                .image()
                .topic_by_name(&name)
                .expect("t")
                .partitions[0]
                .leader,
        );
    }
    assert!(
        first_leaders.len() >= 3,
        "rotation never moves: {first_leaders:?}"
    );
}

fn racked(racks: &[&str]) -> Vec<BrokerRegistration> {
    racks
        .iter()
        .enumerate()
        .map(|(id, rack)| broker(id as i32, Some(rack)))
        .collect()
}

fn racks_spanned(controller: &odradek_core::controller::Controller, topic: &str) -> Vec<usize> {
    let image = controller.image();
    image
        .topic_by_name(topic)
        .expect("exists")
        .partitions
        .iter()
        .map(|p| {
            p.replicas
                .iter()
                .map(|b| image.brokers()[b].rack.clone())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .collect()
}

#[test]
fn replicas_spread_across_racks_before_doubling_up_in_one() {
    let layouts: &[(&[&str], i16, usize)] = &[
        (&["a", "a", "b", "b", "c", "c"], 3, 3),
        (&["a", "b", "a", "b"], 2, 2),
        (&["a", "a", "a", "b", "c"], 3, 3),
        (&["a", "a", "b"], 3, 2),
        (&["x", "y", "z", "x", "y"], 2, 2),
    ];
    for (racks, factor, expected_racks) in layouts {
        let (mut controller, mut log) = cluster_with(ControllerConfig::default(), racked(racks));
        create(
            &mut controller,
            &mut log,
            CreateTopicRequest::new("r", 30, *factor),
        );
        let spans = racks_spanned(&controller, "r");
        assert!(
            spans.iter().all(|s| s == expected_racks),
            "{racks:?} rf {factor}: {spans:?}"
        );
    }
}

#[test]
fn rack_aware_assignment_still_spreads_leaders_evenly() {
    let (mut controller, mut log) = cluster_with(
        ControllerConfig::default(),
        racked(&["a", "a", "b", "b", "c", "c"]),
    );
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("r", 12, 3),
    );
    let (leaders, replicas) = counts(&controller, "r");
    assert_eq!(leaders, vec![2; 6]);
    assert_eq!(replicas, vec![6; 6]);
}

#[test]
fn brokers_without_racks_fall_back_to_plain_round_robin() {
    let registrations = vec![broker(0, Some("a")), broker(1, None), broker(2, Some("b"))];
    let (mut controller, mut log) = cluster_with(ControllerConfig::default(), registrations);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("m", 6, 3),
    );
    let (leaders, replicas) = counts(&controller, "m");
    assert_eq!((leaders, replicas), (vec![2; 3], vec![6; 3]));
}

#[test]
fn added_partitions_keep_the_replication_factor_and_spread() {
    let (mut controller, mut log) = cluster(4);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("g", 2, 2),
    );
    let records = controller
        .create_partitions("g", 10, None, false)
        .expect("grows");
    commit(&mut controller, &mut log, records);
    let (leaders, _) = counts(&controller, "g");
    assert!(leaders.iter().all(|&c| (2..=3).contains(&c)), "{leaders:?}");
}

/// A fixed script of commands; returns every record committed.
fn script(seed: u64) -> Vec<MetadataRecord> {
    let config = ControllerConfig {
        seed,
        ..ControllerConfig::default()
    };
    let (mut controller, mut log): (_, LocalMetadataLog) =
        cluster_with(config, racked(&["a", "b", "c", "a"]));
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("one", 5, 3),
    );
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("two", 3, 2),
    );
    let deleted = controller.delete_topics(&[TopicRef::Name("one".to_owned())]);
    commit(
        &mut controller,
        &mut log,
        deleted[0].result.clone().expect("ok").records,
    );
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("one", 2, 1),
    );
    let records = controller
        .create_partitions("two", 7, None, false)
        .expect("ok");
    commit(&mut controller, &mut log, records);
    log.records().to_vec()
}

fn topic_ids(records: &[MetadataRecord]) -> Vec<TopicId> {
    records
        .iter()
        .filter_map(|r| match r {
            MetadataRecord::Topic(t) => Some(t.topic_id),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_seed_and_commands_give_the_same_records_including_topic_ids() {
    assert_eq!(script(42), script(42));
    assert_eq!(topic_ids(&script(42)).len(), 3);
}

#[test]
fn a_different_seed_gives_different_topic_ids() {
    let (a, b) = (topic_ids(&script(1)), topic_ids(&script(2)));
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} vs {b:?}");
}

#[test]
fn topic_ids_render_like_kafkas_uuids_and_parse_back() {
    assert_eq!(TopicId::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        TopicId::METADATA_TOPIC.to_string(),
        "AAAAAAAAAAAAAAAAAAAAAQ"
    );
    let id = TopicId::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    assert_eq!(id.to_uuid_string(), "01234567-89ab-cdef-fedc-ba9876543210");
    assert_eq!(TopicId::from_bytes(id.to_bytes()), id);
    for sequence in 0..500 {
        let id = TopicId::derive(9, sequence);
        let text = id.to_string();
        assert_eq!(text.len(), 22);
        assert_eq!(TopicId::parse(&text), Ok(id));
    }
    for bad in [
        "",
        "AAAA",
        "AAAAAAAAAAAAAAAAAAAAA!",
        "AAAAAAAAAAAAAAAAAAAAAB",
    ] {
        assert!(TopicId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn derived_topic_ids_are_distinct_and_reserved_ones_are_never_handed_out() {
    let ids: BTreeSet<TopicId> = (0..10_000).map(|s| TopicId::derive(3, s)).collect();
    assert_eq!(ids.len(), 10_000);
    assert!(TopicId::ZERO.is_reserved() && TopicId::METADATA_TOPIC.is_reserved());
    let dash = TopicId::parse("-AAAAAAAAAAAAAAAAAAAAA").expect("valid base64");
    assert!(dash.is_reserved());
    let (mut controller, mut log) = cluster(1);
    for index in 0..200 {
        let created = create(
            &mut controller,
            &mut log,
            CreateTopicRequest::new(&format!("t{index}"), 1, 1),
        );
        assert!(!created.topic_id.expect("id").is_reserved());
        assert!(!created.topic_id.expect("id").to_string().starts_with('-'));
    }
}
