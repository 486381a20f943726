//! `odradek produce` and `odradek consume` against a real `odradek serve`: keyed records come
//! back exactly once, in order per partition, on the partition Kafka's murmur2 partitioner
//! picks; consumers start where told and stop when told.

mod console_support;

use std::io::Write;
use std::time::Duration;

use console_support::{status_and_stderr, Broker};
use odradek::client::partitioner::partition_for_key;

const ALL_FIELDS: &str = "{partition}\t{offset}\t{key}\t{value}";

/// `(partition, offset, key, value)` rows of a consumer printing [`ALL_FIELDS`].
fn rows(stdout: &str) -> Vec<(u32, i64, String, String)> {
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "{line:?}");
            (
                fields[0].parse().expect("partition"),
                fields[1].parse().expect("offset"),
                fields[2].to_string(),
                fields[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn keyed_lines_come_back_from_the_beginning_exactly_once_and_in_order_per_partition() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "keyed", "--partitions", "3"], "");
    let lines: Vec<(String, String)> = (0..60)
        .map(|i| (format!("user{}", i % 7), format!("event-{i}")))
        .collect();
    let input: String = lines.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let produced = broker.run(&["produce", "keyed", "--key-separator", ":"], &input);
    let (status, stderr) = status_and_stderr(&produced);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains("produced 60 records to keyed (0 failed)"),
        "{stderr}"
    );

    let stdout = broker.ok(
        &[
            "consume",
            "keyed",
            "--from-beginning",
            "--timeout-ms",
            "1500",
            "--format",
            ALL_FIELDS,
        ],
        "",
    );
    let consumed = rows(&stdout);
    assert_eq!(consumed.len(), 60, "{stdout}");
    for partition in 0..3u32 {
        let in_partition: Vec<_> = consumed.iter().filter(|r| r.0 == partition).collect();
        let offsets: Vec<i64> = in_partition.iter().map(|r| r.1).collect();
        assert_eq!(offsets, (0..in_partition.len() as i64).collect::<Vec<_>>());
        let expected: Vec<(String, String)> = lines
            .iter()
            .filter(|(key, _)| partition_for_key(key.as_bytes(), 3) == partition)
            .cloned()
            .collect();
        let got: Vec<(String, String)> = in_partition
            .iter()
            .map(|r| (r.2.clone(), r.3.clone()))
            .collect();
        assert_eq!(got, expected, "partition {partition}");
    }
}

#[test]
fn lines_without_a_key_are_spread_round_robin_and_printed_as_values_by_default() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "plain", "--partitions", "2"], "");
    broker.ok(&["produce", "plain", "--acks", "1"], "a\nb\nc\nd\n");
    let stdout = broker.ok(
        &[
            "consume",
            "plain",
            "--from-beginning",
            "--timeout-ms",
            "1000",
            "--format",
            "{partition}:{key}:{value}",
        ],
        "",
    );
    let mut got: Vec<&str> = stdout.lines().collect();
    got.sort();
    assert_eq!(got, ["0:null:a", "0:null:c", "1:null:b", "1:null:d"]);
    let values = broker.ok(
        &[
            "consume",
            "plain",
            "--partition",
            "1",
            "--offset",
            "earliest",
            "--timeout-ms",
            "1000",
        ],
        "",
    );
    assert_eq!(values, "b\nd\n");
}

#[test]
fn consuming_from_an_offset_starts_exactly_there_and_max_messages_stops_early() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "numbers"], "");
    let input: String = (0..10).map(|i| format!("v{i}\n")).collect();
    broker.ok(
        &["produce", "numbers", "--acks", "all", "--batch-size", "10"],
        &input,
    );
    let stdout = broker.ok(
        &[
            "consume",
            "numbers",
            "--partition",
            "0",
            "--offset",
            "4",
            "--max-messages",
            "3",
            "--format",
            "{offset}={value}",
        ],
        "",
    );
    assert_eq!(stdout, "4=v4\n5=v5\n6=v6\n");
}

#[test]
fn a_consumer_without_a_start_position_sees_only_records_produced_after_it_started() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "live"], "");
    broker.ok(&["produce", "live"], "old\n");
    let mut consumer = broker.spawn(&[
        "consume",
        "live",
        "--max-messages",
        "1",
        "--timeout-ms",
        "15000",
    ]);
    // Keep producing until the consumer (whose start-up time is unknown) has seen one record.
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        broker.ok(&["produce", "live"], "new\n");
        if consumer.try_wait().expect("poll consumer").is_some() {
            break;
        }
    }
    let output = consumer.wait_with_output().expect("consumer exits");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "new\n");
}

#[test]
fn producing_to_a_partition_the_topic_does_not_have_fails_with_status_1() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "narrow", "--partitions", "2"], "");
    let output = broker.run(&["produce", "narrow", "--partition", "2"], "x\n");
    let (status, stderr) = status_and_stderr(&output);
    assert_eq!(status, Some(1));
    assert!(stderr.contains("no partition 2"), "{stderr}");
    let stdout = broker.ok(
        &[
            "consume",
            "narrow",
            "--from-beginning",
            "--timeout-ms",
            "500",
        ],
        "",
    );
    assert_eq!(stdout, "");
}

#[test]
fn acks_zero_records_are_written_without_waiting_for_answers() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "fire"], "");
    broker.ok(&["produce", "fire", "--acks", "0"], "x\ny\n");
    let stdout = broker.ok(
        &[
            "consume",
            "fire",
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "5000",
        ],
        "",
    );
    assert_eq!(stdout, "x\ny\n");
}

#[test]
fn records_with_a_timestamp_and_a_topic_placeholder_render_in_the_chosen_format() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "stamped"], "");
    let before = now_ms();
    broker.ok(&["produce", "stamped", "--key-separator", "="], "k=v\n");
    let after = now_ms();
    let stdout = broker.ok(
        &[
            "consume",
            "stamped",
            "--from-beginning",
            "--max-messages",
            "1",
            "--format",
            "{topic}|{timestamp}|{key}|{value}",
        ],
        "",
    );
    let fields: Vec<&str> = stdout.trim_end().split('|').collect();
    assert_eq!((fields[0], fields[2], fields[3]), ("stamped", "k", "v"));
    let timestamp: i64 = fields[1].parse().expect("timestamp");
    assert!(
        (before..=after).contains(&timestamp),
        "{timestamp} not in {before}..={after}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

#[test]
fn an_unknown_topic_with_auto_creation_off_fails_producing_and_consuming_with_status_1() {
    let broker = Broker::start_with(false);
    for args in [
        &["produce", "missing"][..],
        &[
            "consume",
            "missing",
            "--from-beginning",
            "--timeout-ms",
            "500",
        ][..],
    ] {
        let (status, stderr) = status_and_stderr(&broker.run(args, "x\n"));
        assert_eq!(status, Some(1), "{args:?}");
        assert!(
            stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_producer_auto_creates_its_topic_when_the_broker_allows_it() {
    let broker = Broker::start();
    broker.ok(&["produce", "fresh"], "hello\n");
    assert_eq!(broker.ok(&["topics", "list"], ""), "fresh\n");
}

#[test]
fn a_line_without_the_key_separator_fails_alone_and_makes_the_exit_status_1() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "strict"], "");
    let output = broker.run(
        &["produce", "strict", "--key-separator", ":"],
        "a:1\nbroken\nb:2\n",
    );
    let (status, stderr) = status_and_stderr(&output);
    assert_eq!(status, Some(1));
    assert!(
        stderr.contains("produced 2 records to strict (1 failed)"),
        "{stderr}"
    );
    let stdout = broker.ok(
        &[
            "consume",
            "strict",
            "--from-beginning",
            "--max-messages",
            "2",
            "--format",
            "{key}={value}",
        ],
        "",
    );
    assert_eq!(stdout, "a=1\nb=2\n");
}

#[test]
fn bad_producer_and_consumer_flags_exit_with_status_3() {
    let broker = Broker::start();
    let bad: [&[&str]; 5] = [
        &["produce", "t", "--acks", "2"],
        &["consume", "t", "--offset", "5"],
        &["consume", "t", "--offset", "soon", "--partition", "0"],
        &["consume", "t", "--from-beginning", "--offset", "latest"],
        &["consume", "t", "--format", "{headers}"],
    ];
    for args in bad {
        let (status, stderr) = status_and_stderr(&broker.run(args, ""));
        assert_eq!(status, Some(3), "{args:?}: {stderr}");
    }
}

#[test]
fn a_long_running_producer_sends_lingering_records_before_its_input_ends() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "interactive"], "");
    let mut producer = broker.spawn(&["produce", "interactive", "--linger-ms", "10"]);
    let mut stdin = producer.stdin.take().expect("stdin");
    stdin.write_all(b"first\n").expect("write");
    stdin.flush().expect("flush");
    // The record is consumable while the producer still waits for more input.
    let stdout = broker.ok(
        &[
            "consume",
            "interactive",
            "--from-beginning",
            "--max-messages",
            "1",
            "--timeout-ms",
            "10000",
        ],
        "",
    );
    assert_eq!(stdout, "first\n");
    drop(stdin);
    let output = producer.wait_with_output().expect("producer exits");
    assert!(output.status.success());
}
