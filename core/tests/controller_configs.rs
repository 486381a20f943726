//! Topic configs: each known key's type and bounds, unknown keys, unsupported values,
//! alter (set, delete, replace-all) and describe with Kafka's sources.

mod controller_support;

use controller_support::*;
use odradek_core::controller::{
    validate_topic_config, ConfigChange, ConfigOperation, ConfigSource, ConfigType, Controller,
    ControllerConfig, ControllerError, CreateTopicRequest, TOPIC_CONFIGS,
};
use std::collections::BTreeMap;

fn accepts(key: &str, value: &str) -> bool {
    match validate_topic_config(key, Some(value)) {
        Ok(_) => true,
        Err(ControllerError::InvalidConfigValue { key: k, .. }) => {
            assert_eq!(k, key, "the error names the key");
            false
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn numeric_configs_enforce_kafkas_types_and_lower_bounds() {
    let cases: &[(&str, &str, &str)] = &[
        // key, smallest accepted, largest rejected below it
        ("retention.ms", "-1", "-2"),
        ("retention.bytes", "-1", "-2"),
        ("segment.bytes", "14", "13"),
        ("segment.ms", "1", "0"),
        ("min.insync.replicas", "1", "0"),
        ("max.message.bytes", "0", "-1"),
        ("flush.messages", "1", "0"),
        ("flush.ms", "0", "-1"),
    ];
    for (key, smallest, too_small) in cases {
        assert!(accepts(key, smallest), "{key}={smallest}");
        assert!(!accepts(key, too_small), "{key}={too_small}");
        assert!(!accepts(key, "ten"), "{key} is numeric");
        assert!(!accepts(key, ""), "{key} needs a value");
    }
}

#[test]
fn int_configs_reject_values_beyond_32_bits_but_longs_accept_them() {
    assert!(!accepts("segment.bytes", "2147483648"));
    assert!(accepts("segment.bytes", "2147483647"));
    assert!(accepts("retention.ms", "9223372036854775807"));
    assert!(!accepts("retention.ms", "9223372036854775808"));
}

#[test]
fn values_are_normalised() {
    assert_eq!(
        validate_topic_config("retention.ms", Some(" 100 ")),
        Ok("100".to_owned())
    );
    assert_eq!(
        validate_topic_config("unclean.leader.election.enable", Some("TRUE")),
        Ok("true".to_owned())
    );
}

#[test]
fn boolean_and_enumerated_configs_accept_only_their_values() {
    assert!(accepts("unclean.leader.election.enable", "false"));
    assert!(!accepts("unclean.leader.election.enable", "yes"));
    assert!(accepts("message.timestamp.type", "CreateTime"));
    assert!(accepts("message.timestamp.type", "LogAppendTime"));
    assert!(!accepts("message.timestamp.type", "createtime"));
    assert!(accepts("cleanup.policy", "delete"));
    assert!(!accepts("cleanup.policy", "shred"));
}

#[test]
fn compaction_is_refused_as_not_supported_yet() {
    for value in ["compact", "compact,delete", "delete, compact"] {
        assert!(matches!(
            validate_topic_config("cleanup.policy", Some(value)),
            Err(ControllerError::UnsupportedConfigValue { ref key, .. }) if key == "cleanup.policy"
        ));
    }
    let error = validate_topic_config("cleanup.policy", Some("compact")).unwrap_err();
    assert!(error.to_string().contains("not supported yet"));
}

#[test]
fn unknown_config_keys_are_refused_by_name() {
    assert_eq!(
        validate_topic_config("retention.mss", Some("1")),
        Err(ControllerError::UnknownConfig {
            key: "retention.mss".to_owned()
        })
    );
    let (controller, _) = cluster(1);
    let mut request = CreateTopicRequest::new("t", 1, 1);
    request.configs = vec![("compression.typo".to_owned(), Some("x".to_owned()))];
    assert_eq!(
        create_error(&controller, request),
        ControllerError::UnknownConfig {
            key: "compression.typo".to_owned()
        }
    );
}

#[test]
fn create_refuses_null_values_and_repeated_keys() {
    let (controller, _) = cluster(1);
    let mut request = CreateTopicRequest::new("t", 1, 1);
    request.configs = vec![("retention.ms".to_owned(), None)];
    assert!(matches!(
        create_error(&controller, request.clone()),
        ControllerError::InvalidConfigValue { value: None, .. }
    ));
    request.configs = vec![
        ("retention.ms".to_owned(), Some("1".to_owned())),
        ("retention.ms".to_owned(), Some("2".to_owned())),
    ];
    assert!(matches!(
        create_error(&controller, request),
        ControllerError::InvalidRequest { .. }
    ));
}

fn set(key: &str, value: &str) -> ConfigChange {
    ConfigChange {
        key: key.to_owned(),
        operation: ConfigOperation::Set(value.to_owned()),
    }
}

fn delete(key: &str) -> ConfigChange {
    ConfigChange {
        key: key.to_owned(),
        operation: ConfigOperation::Delete,
    }
}

fn configs_of(controller: &Controller, topic: &str) -> BTreeMap<String, String> {
    controller
        .image()
        .topic_configs(topic)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn alter_configs_sets_and_deletes_and_skips_no_op_changes() {
    let (mut controller, mut log) = cluster(1);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 1),
    );
    let records = controller
        .alter_configs(
            "t",
            &[set("retention.ms", "5000"), set("segment.bytes", "1048576")],
            false,
        )
        .expect("valid");
    commit(&mut controller, &mut log, records);
    assert_eq!(
        configs_of(&controller, "t")
            .get("retention.ms")
            .map(String::as_str),
        Some("5000")
    );
    assert_eq!(
        controller.alter_configs("t", &[set("retention.ms", "5000")], false),
        Ok(vec![])
    );
    let records = controller
        .alter_configs("t", &[delete("retention.ms")], false)
        .expect("ok");
    commit(&mut controller, &mut log, records);
    assert_eq!(
        configs_of(&controller, "t").into_iter().collect::<Vec<_>>(),
        vec![("segment.bytes".to_owned(), "1048576".to_owned())]
    );
}

#[test]
fn a_bad_change_fails_the_whole_alter_and_validate_only_changes_nothing() {
    let (mut controller, mut log) = cluster(1);
    create(
        &mut controller,
        &mut log,
        CreateTopicRequest::new("t", 1, 1),
    );
    assert!(matches!(
        controller.alter_configs(
            "t",
            &[set("retention.ms", "1"), set("segment.ms", "0")],
            false
        ),
        Err(ControllerError::InvalidConfigValue { .. })
    ));
    assert!(matches!(
        controller.alter_configs("t", &[delete("nope")], false),
        Err(ControllerError::UnknownConfig { .. })
    ));
    assert!(matches!(
        controller.alter_configs(
            "t",
            &[set("retention.ms", "1"), delete("retention.ms")],
            false
        ),
        Err(ControllerError::InvalidRequest { .. })
    ));
    assert_eq!(
        controller.alter_configs("t", &[set("retention.ms", "1")], true),
        Ok(vec![])
    );
    assert_eq!(
        controller.alter_configs("gone", &[set("retention.ms", "1")], false),
        Err(ControllerError::UnknownTopic {
            name: "gone".to_owned()
        })
    );
}

#[test]
fn replace_configs_returns_unlisted_keys_to_their_defaults() {
    let (mut controller, mut log) = cluster(1);
    let mut request = CreateTopicRequest::new("t", 1, 1);
    request.configs = vec![
        ("retention.ms".to_owned(), Some("1".to_owned())),
        ("flush.ms".to_owned(), Some("2".to_owned())),
    ];
    create(&mut controller, &mut log, request);
    let records = controller
        .replace_configs("t", &[("flush.ms".to_owned(), "3".to_owned())], false)
        .expect("valid");
    commit(&mut controller, &mut log, records);
    assert_eq!(
        configs_of(&controller, "t").into_iter().collect::<Vec<_>>(),
        vec![("flush.ms".to_owned(), "3".to_owned())]
    );
}

#[test]
fn describe_reports_topic_overrides_static_broker_defaults_and_kafka_defaults() {
    let config = ControllerConfig {
        topic_config_defaults: [("retention.bytes".to_owned(), "1000".to_owned())].into(),
        ..ControllerConfig::default()
    };
    let (mut controller, mut log) = cluster_with(config, vec![broker(0, None)]);
    let mut request = CreateTopicRequest::new("t", 1, 1);
    request.configs = vec![("retention.ms".to_owned(), Some("60000".to_owned()))];
    create(&mut controller, &mut log, request);
    let described = controller.describe_configs("t", None).expect("exists");
    assert_eq!(described.len(), TOPIC_CONFIGS.len());
    let find = |name: &str| described.iter().find(|c| c.name == name).expect("listed");
    let retention = find("retention.ms");
    assert_eq!(
        (retention.value.as_str(), retention.source),
        ("60000", ConfigSource::TopicConfig)
    );
    assert!(!retention.is_default);
    let bytes = find("retention.bytes");
    assert_eq!(
        (bytes.value.as_str(), bytes.source),
        ("1000", ConfigSource::StaticBrokerConfig)
    );
    assert!(bytes.is_default);
    let segment = find("segment.bytes");
    assert_eq!(
        (segment.value.as_str(), segment.source, segment.config_type),
        ("1073741824", ConfigSource::DefaultConfig, ConfigType::Int)
    );
    let only = controller
        .describe_configs(
            "t",
            Some(&["cleanup.policy".to_owned(), "bogus".to_owned()]),
        )
        .expect("exists");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].value, "delete");
    assert!(matches!(
        controller.describe_configs("nope", None),
        Err(ControllerError::UnknownTopic { .. })
    ));
}

#[test]
fn every_kafka_default_passes_its_own_validation() {
    for definition in TOPIC_CONFIGS {
        assert!(
            validate_topic_config(definition.name, Some(definition.kafka_default)).is_ok(),
            "{}",
            definition.name
        );
    }
}

#[test]
fn a_controller_with_invalid_static_defaults_refuses_to_start() {
    let bad = ControllerConfig {
        topic_config_defaults: [("segment.bytes".to_owned(), "1".to_owned())].into(),
        ..ControllerConfig::default()
    };
    assert!(matches!(
        Controller::new(bad),
        Err(ControllerError::InvalidConfigValue { .. })
    ));
    let zero_partitions = ControllerConfig {
        num_partitions: 0,
        ..ControllerConfig::default()
    };
    assert!(Controller::new(zero_partitions).is_err());
}
