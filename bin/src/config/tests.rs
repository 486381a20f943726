//! Defaults < file < flags, and every bad input is a typed error naming what is wrong.

use super::*;

fn flags_with_file(text: &str) -> (tempfile::TempDir, ServeFlags) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odradek.toml");
    std::fs::write(&path, text).unwrap();
    let flags = ServeFlags {
        config_file: Some(path),
        ..ServeFlags::default()
    };
    (dir, flags)
}

#[test]
fn embedded_defaults_listen_on_loopback_9092_with_data_in_odradek_data() {
    let config = resolve(&ServeFlags::default()).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:9092");
    assert_eq!(
        (config.advertised_host.as_str(), config.advertised_port),
        ("127.0.0.1", 9092)
    );
    assert_eq!(config.data_dir, PathBuf::from("odradek-data"));
    assert_eq!(config.node_id, 0);
    assert!(config.auto_create_topics_enable);
}

#[test]
fn the_file_overrides_defaults_and_flags_override_the_file() {
    let (_dir, mut flags) = flags_with_file(
        "node_id = 3\nlisten = \"127.0.0.1:19092\"\nflush = \"every-batch\"\nretention_ms = -1\nnum_partitions = 6\n",
    );
    let from_file = resolve(&flags).unwrap();
    assert_eq!(from_file.node_id, 3);
    assert_eq!(from_file.listen.port(), 19092);
    assert_eq!(from_file.advertised_port, 19092);
    assert_eq!(from_file.flush_policy, FlushPolicy::EveryBatch);
    assert_eq!(from_file.retention_ms, None);
    assert_eq!(from_file.num_partitions, 6);
    flags.node_id = Some(7);
    flags.flush = Some("250".to_string());
    flags.advertised_listener = Some("broker.example:9093".to_string());
    let overridden = resolve(&flags).unwrap();
    assert_eq!(overridden.node_id, 7);
    assert_eq!(overridden.flush_policy, FlushPolicy::IntervalMs(250));
    assert_eq!(overridden.advertised_host, "broker.example");
    assert_eq!(overridden.advertised_port, 9093);
    assert_eq!(
        overridden.listen.port(),
        19092,
        "file value kept where no flag is given"
    );
}

#[test]
fn unknown_keys_are_errors_that_name_the_key_and_line() {
    let (_dir, flags) = flags_with_file("node_id = 1\nlisten_adress = \"127.0.0.1:1\"\n");
    let error = resolve(&flags).unwrap_err().to_string();
    assert!(error.contains("listen_adress"), "{error}");
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn wrong_types_and_bad_values_are_errors() {
    let (_dir, flags) = flags_with_file("node_id = \"zero\"\n");
    assert!(matches!(resolve(&flags), Err(ConfigError::Invalid { .. })));
    let (_dir, flags) = flags_with_file("listen = \"localhost\"\n");
    assert!(matches!(
        resolve(&flags),
        Err(ConfigError::BadValue { key: "listen", .. })
    ));
    let (_dir, flags) = flags_with_file("retention_bytes = -5\n");
    assert!(matches!(
        resolve(&flags),
        Err(ConfigError::BadValue {
            key: "retention_bytes",
            ..
        })
    ));
    let (_dir, flags) = flags_with_file("num_partitions = 0\n");
    assert!(matches!(
        resolve(&flags),
        Err(ConfigError::BadValue {
            key: "num_partitions",
            ..
        })
    ));
    let bad_flush = ServeFlags {
        flush: Some("sometimes".to_string()),
        ..ServeFlags::default()
    };
    assert!(matches!(
        resolve(&bad_flush),
        Err(ConfigError::BadValue { key: "flush", .. })
    ));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let flags = ServeFlags {
        config_file: Some(PathBuf::from("/nonexistent/odradek.toml")),
        ..ServeFlags::default()
    };
    let error = resolve(&flags).unwrap_err().to_string();
    assert!(error.contains("/nonexistent/odradek.toml"), "{error}");
}

#[test]
fn connections_max_idle_defaults_to_ten_minutes_and_the_flag_beats_the_file() {
    assert_eq!(
        resolve(&ServeFlags::default())
            .unwrap()
            .connections_max_idle,
        Some(Duration::from_secs(600))
    );
    let (_dir, mut flags) = flags_with_file("connections_max_idle_ms = 1500\n");
    assert_eq!(
        resolve(&flags).unwrap().connections_max_idle,
        Some(Duration::from_millis(1500))
    );
    flags.connections_max_idle_ms = Some(-1);
    assert_eq!(resolve(&flags).unwrap().connections_max_idle, None);
    flags.connections_max_idle_ms = Some(0);
    assert!(matches!(
        resolve(&flags),
        Err(ConfigError::BadValue {
            key: "connections_max_idle_ms",
            ..
        })
    ));
}

#[test]
fn serve_never_plants_a_bug_and_has_no_key_for_one() {
    let config = resolve(&ServeFlags::default()).unwrap();
    let node = crate::serve::node_config(&config, 0);
    assert!(node.log.planted_bugs.is_empty());
    let (_dir, flags) = flags_with_file("planted_bugs = \"ack-before-durable\"\n");
    assert!(
        resolve(&flags).is_err(),
        "no configuration key plants a bug"
    );
}

#[test]
fn without_a_quorum_serve_is_the_standalone_broker() {
    let config = resolve(&ServeFlags::default()).unwrap();
    assert_eq!(config.cluster, None);
}

#[test]
fn the_quorum_flag_turns_cluster_mode_on_with_an_inter_broker_listener() {
    let flags = ServeFlags {
        node_id: Some(2),
        listen: Some("127.0.0.1:19092".to_string()),
        controller_quorum: Some("1@127.0.0.1:9301, 2@127.0.0.1:9302,3@127.0.0.1:9303".to_string()),
        ..ServeFlags::default()
    };
    let config = resolve(&flags).unwrap();
    let cluster = config.cluster.unwrap();
    assert_eq!(cluster.controller_quorum.len(), 3);
    assert_eq!(cluster.controller_quorum[&2].port(), 9302);
    assert!(cluster.is_controller(2));
    assert!(!cluster.is_controller(4));
    assert_eq!(cluster.inter_broker_listen.to_string(), "127.0.0.1:0");
}

#[test]
fn the_cluster_table_configures_the_quorum_and_flags_override_it() {
    let (_dir, mut flags) = flags_with_file(
        "node_id = 1\n[cluster]\ncontroller_quorum = \"1@127.0.0.1:9301\"\ninter_broker_listen = \"127.0.0.1:9401\"\n",
    );
    let from_file = resolve(&flags).unwrap().cluster.unwrap();
    assert_eq!(from_file.inter_broker_listen.port(), 9401);
    assert_eq!(
        from_file
            .controller_quorum
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1]
    );
    flags.inter_broker_listen = Some("127.0.0.1:9402".to_string());
    let overridden = resolve(&flags).unwrap().cluster.unwrap();
    assert_eq!(overridden.inter_broker_listen.port(), 9402);
}

#[test]
fn bad_quorums_are_errors_naming_the_setting() {
    for quorum in [
        "",
        "1@",
        "x@127.0.0.1:1",
        "-1@127.0.0.1:1",
        "1@127.0.0.1:1,1@127.0.0.1:2",
        "127.0.0.1:1",
    ] {
        let flags = ServeFlags {
            controller_quorum: Some(quorum.to_string()),
            ..ServeFlags::default()
        };
        let error = resolve(&flags).unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::BadValue {
                    key: "controller_quorum",
                    ..
                }
            ),
            "{quorum:?}: {error}"
        );
    }
    let orphan = ServeFlags {
        inter_broker_listen: Some("127.0.0.1:1".to_string()),
        ..ServeFlags::default()
    };
    assert!(resolve(&orphan).is_err());
}

#[test]
fn the_inter_broker_advertised_address_is_parsed_and_needs_cluster_mode() {
    let flags = ServeFlags {
        controller_quorum: Some("1@127.0.0.1:9301".to_string()),
        inter_broker_advertised: Some("proxy.local:7000".to_string()),
        ..ServeFlags::default()
    };
    let cluster = resolve(&flags).unwrap().cluster.unwrap();
    assert_eq!(
        cluster.inter_broker_advertised,
        Some(("proxy.local".to_string(), 7000))
    );
    let orphan = ServeFlags {
        inter_broker_advertised: Some("127.0.0.1:7000".to_string()),
        ..ServeFlags::default()
    };
    assert!(resolve(&orphan).is_err());
}
