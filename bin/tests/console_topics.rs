//! `odradek topics` against a real `odradek serve`: create, list, describe, delete, and the
//! errors an operator sees.

mod console_support;

use console_support::{status_and_stderr, Broker};

#[test]
fn a_topic_can_be_created_listed_described_and_deleted() {
    let broker = Broker::start();
    let created = broker.ok(
        &[
            "topics",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "retention.ms=60000",
        ],
        "",
    );
    assert_eq!(created.trim(), "Created topic orders.");
    broker.ok(&["topics", "create", "audit"], "");
    assert_eq!(broker.ok(&["topics", "list"], ""), "audit\norders\n");

    let described = broker.ok(&["topics", "describe", "orders"], "");
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), 4, "{described}");
    assert!(lines[0].starts_with("Topic: orders\t"), "{described}");
    assert!(
        lines[0].contains("PartitionCount: 3\tReplicationFactor: 1\t"),
        "{described}"
    );
    // Configs set on the topic are listed (as are broker-level overrides, as Kafka does).
    let configs = lines[0].split("Configs: ").nth(1).unwrap_or_default();
    assert!(
        configs.split(',').any(|c| c == "retention.ms=60000"),
        "{described}"
    );
    for (index, line) in lines[1..].iter().enumerate() {
        assert_eq!(
            *line,
            format!("\tTopic: orders\tPartition: {index}\tLeader: 0\tReplicas: 0\tIsr: 0")
        );
    }

    assert_eq!(
        broker.ok(&["topics", "delete", "orders"], "").trim(),
        "Deleted topic orders."
    );
    assert_eq!(broker.ok(&["topics", "list"], ""), "audit\n");
}

#[test]
fn describing_without_a_topic_describes_every_topic_with_their_own_configs() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "a", "--partitions", "2"], "");
    broker.ok(
        &["topics", "create", "b", "--config", "retention.ms=1234"],
        "",
    );
    let described = broker.ok(&["topics", "describe"], "");
    let summaries: Vec<&str> = described
        .lines()
        .filter(|l| l.starts_with("Topic:"))
        .collect();
    assert_eq!(summaries.len(), 2, "{described}");
    assert!(summaries[0].starts_with("Topic: a\t"), "{described}");
    assert!(summaries[0].contains("PartitionCount: 2"), "{described}");
    assert!(!summaries[0].contains("retention.ms=1234"), "{described}");
    assert!(summaries[1].starts_with("Topic: b\t"), "{described}");
    assert!(summaries[1].contains("retention.ms=1234"), "{described}");
    let partition_lines = described.lines().filter(|l| l.starts_with("\tTopic: a\t"));
    assert_eq!(partition_lines.count(), 2, "{described}");
}

#[test]
fn creating_an_existing_topic_fails_with_kafkas_error_name_and_status_1() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "twice"], "");
    let (status, stderr) = status_and_stderr(&broker.run(&["topics", "create", "twice"], ""));
    assert_eq!(status, Some(1));
    assert!(stderr.contains("TOPIC_ALREADY_EXISTS"), "{stderr}");
}

#[test]
fn an_unsupported_topic_config_is_refused_with_the_brokers_message() {
    let broker = Broker::start();
    let output = broker.run(
        &[
            "topics",
            "create",
            "compacted",
            "--config",
            "cleanup.policy=compact",
        ],
        "",
    );
    let (status, stderr) = status_and_stderr(&output);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("INVALID_CONFIG"), "{stderr}");
    assert!(stderr.contains("cleanup.policy"), "{stderr}");
    assert_eq!(broker.ok(&["topics", "list"], ""), "");
}

#[test]
fn deleting_or_describing_an_unknown_topic_fails_with_status_1() {
    let broker = Broker::start_with(false);
    for args in [
        ["topics", "delete", "ghost"],
        ["topics", "describe", "ghost"],
    ] {
        let (status, stderr) = status_and_stderr(&broker.run(&args, ""));
        assert_eq!(status, Some(1), "{args:?}");
        assert!(
            stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn bad_flags_exit_with_status_3() {
    let broker = Broker::start();
    let bad: [&[&str]; 4] = [
        &["topics", "create"],
        &["topics", "create", "t", "--partitions", "many"],
        &["topics", "create", "t", "--config", "no-equals-sign"],
        &["topics", "rename", "t"],
    ];
    for args in bad {
        let (status, stderr) = status_and_stderr(&broker.run(args, ""));
        assert_eq!(status, Some(3), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unreachable_bootstrap_server_is_an_error_not_a_hang() {
    let output = std::process::Command::new(console_support::odradek_binary())
        .args(["topics", "list", "--bootstrap-server", "127.0.0.1:1"])
        .output()
        .expect("run odradek");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("127.0.0.1:1"));
}
