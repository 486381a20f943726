//! `odradek serve` end to end over real TCP: the Kafka requests a client starts with, produce
//! and fetch at both durability levels, and pipelining.

mod serve_support;

use odradek_core::wire::kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use odradek_core::wire::ResponseBody;
use serve_support::*;

#[test]
fn api_versions_lists_produce_and_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut client = broker.connect();
    let ResponseBody::ApiVersions(response) =
        client.call(API_VERSIONS_V, ApiVersionsRequest::default())
    else {
        panic!("not ApiVersions")
    };
    assert_eq!(response.error_code, 0);
    let keys: Vec<i16> = response.api_keys.iter().map(|k| k.api_key).collect();
    assert!(keys.contains(&(ApiKey::Produce as i16)), "{keys:?}");
    assert!(keys.contains(&(ApiKey::Fetch as i16)), "{keys:?}");
}

#[test]
fn the_startup_line_names_the_bound_port_and_metadata_advertises_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = ServeProcess::start(&data, &[]);
    assert_ne!(broker.address.port(), 0);
    let advertised = format!("advertised 127.0.0.1:{}", broker.address.port());
    assert!(
        broker.startup_line.contains(&advertised),
        "{}",
        broker.startup_line
    );
    assert!(broker.startup_line.contains(&data.display().to_string()));

    let mut client = broker.connect();
    create_topic(&mut client, "three", 3);
    let ResponseBody::Metadata(metadata) = client.call(METADATA_V, metadata_request(&["three"]))
    else {
        panic!("not Metadata")
    };
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(metadata.brokers[0].host.as_str(), "127.0.0.1");
    assert_eq!(metadata.brokers[0].port, i32::from(broker.address.port()));
    assert_eq!(metadata.topics.len(), 1);
    assert_eq!(metadata.topics[0].error_code, 0);
    let mut partitions: Vec<i32> = metadata.topics[0]
        .partitions
        .iter()
        .map(|p| p.partition_index)
        .collect();
    partitions.sort_unstable();
    assert_eq!(partitions, vec![0, 1, 2]);
}

#[test]
fn records_produced_with_acks_1_and_acks_all_are_fetched_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "every-batch"]);
    let mut client = broker.connect();
    create_topic(&mut client, "events", 3);
    let leader = values("leader", 10);
    let all = values("all", 10);
    assert_eq!(produce(&mut client, "events", 1, 1, &leader), (0, 0));
    assert_eq!(produce(&mut client, "events", 1, -1, &all), (0, 10));
    let expected: Vec<String> = leader.iter().chain(&all).cloned().collect();
    assert_eq!(fetch_all(&mut client, "events", 1), expected);
    assert!(fetch_all(&mut client, "events", 0).is_empty());
}

#[test]
fn pipelined_requests_are_answered_in_request_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "every-batch"]);
    let mut client = broker.connect();
    create_topic(&mut client, "pipe", 2);
    let mut sent = Vec::new();
    for round in 0..20 {
        let batch = values(&format!("r{round}"), 3);
        let acks = if round % 2 == 0 { -1 } else { 1 };
        sent.push((
            client.send(PRODUCE_V, produce_request("pipe", round % 2, acks, &batch)),
            ApiKey::Produce,
            PRODUCE_V,
        ));
        sent.push((
            client.send(METADATA_V, metadata_request(&["pipe"])),
            ApiKey::Metadata,
            METADATA_V,
        ));
        sent.push((
            client.send(FETCH_V, fetch_request("pipe", 0, 0)),
            ApiKey::Fetch,
            FETCH_V,
        ));
    }
    for (correlation_id, api_key, version) in sent {
        let (answered, body) = client.receive(api_key, version);
        assert_eq!(answered, correlation_id);
        assert_eq!(body.api_key(), api_key);
    }
    assert_eq!(fetch_all(&mut client, "pipe", 0).len(), 30);
    assert_eq!(fetch_all(&mut client, "pipe", 1).len(), 30);
}

#[test]
fn acks_all_under_every_batch_flush_is_answered_after_the_disk_worker_synced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start_logging(
        &dir.path().join("data"),
        &["--flush", "every-batch"],
        "info,odradek::serve::disk=debug",
    );
    let mut client = broker.connect();
    create_topic(&mut client, "synced", 1);
    assert_eq!(
        produce(&mut client, "synced", 0, -1, &values("v", 3)),
        (0, 0)
    );
    let log = broker.log();
    assert!(
        log.contains("group commit"),
        "no sync went through the disk worker:\n{log}"
    );
}

#[test]
fn acks_all_under_an_interval_flush_is_answered_once_the_timer_synced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "50"]);
    let mut client = broker.connect();
    create_topic(&mut client, "interval", 1);
    for round in 0..3 {
        let batch = values(&format!("r{round}"), 2);
        assert_eq!(
            produce(&mut client, "interval", 0, -1, &batch),
            (0, 2 * round)
        );
    }
    assert_eq!(fetch_all(&mut client, "interval", 0).len(), 6);
}

#[test]
fn a_long_polling_fetch_is_answered_when_another_connection_produces() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut consumer = broker.connect();
    let mut producer = broker.connect();
    create_topic(&mut producer, "poll", 1);
    let waiting = fetch_request("poll", 0, 0)
        .with_max_wait_ms(30_000)
        .with_min_bytes(1);
    let started = std::time::Instant::now();
    let correlation_id = consumer.send(FETCH_V, waiting);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        produce(&mut producer, "poll", 0, 1, &values("wake", 1)).0,
        0
    );
    let (answered, body) = consumer.receive(ApiKey::Fetch, FETCH_V);
    assert_eq!(answered, correlation_id);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let ResponseBody::Fetch(response) = body else {
        panic!("not Fetch")
    };
    let records = response.responses[0].partitions[0].records.clone();
    assert!(
        records.is_some_and(|r| !r.is_empty()),
        "the fetch woke without records"
    );
}

#[test]
fn an_idle_long_polling_fetch_is_answered_empty_at_its_max_wait() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut consumer = broker.connect();
    create_topic(&mut consumer, "idle", 1);
    let started = std::time::Instant::now();
    let waiting = fetch_request("idle", 0, 0)
        .with_max_wait_ms(300)
        .with_min_bytes(1);
    let ResponseBody::Fetch(response) = consumer.call(FETCH_V, waiting) else {
        panic!("not Fetch")
    };
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let records = response.responses[0].partitions[0].records.clone();
    assert!(records.is_none_or(|r| r.is_empty()));
}

#[test]
fn a_thousand_requests_written_in_one_go_are_all_answered_in_order() {
    use odradek_core::wire::encode_request;
    use odradek_core::wire::kafka_protocol::messages::RequestHeader;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut client = broker.connect();
    let mut bytes = Vec::new();
    for correlation_id in 0..1000 {
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(API_VERSIONS_V)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(text("burst")));
        let body = ApiVersionsRequest::default()
            .with_client_software_name(text("burst"))
            .with_client_software_version(text("1"));
        bytes.extend_from_slice(&encode_request(&header, &body.into()).unwrap());
    }
    let mut writer = client.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&bytes).unwrap());
    for correlation_id in 0..1000 {
        let (answered, _) = client.receive(ApiKey::ApiVersions, API_VERSIONS_V);
        assert_eq!(answered, correlation_id);
    }
    sender.join().unwrap();
}

#[test]
fn twenty_clients_producing_at_once_each_find_all_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &["--flush", "every-batch"]);
    create_topic(&mut broker.connect(), "crowd", 4);
    let address = broker.address;
    let producers: Vec<_> = (0..20)
        .map(|client| {
            std::thread::spawn(move || {
                let mut connection = Client::connect(address);
                for round in 0..10 {
                    let batch = values(&format!("c{client}-r{round}"), 3);
                    let (error, _) = produce(&mut connection, "crowd", client % 4, -1, &batch);
                    assert_eq!(error, 0);
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    let mut consumer = broker.connect();
    for partition in 0..4 {
        let fetched = fetch_all(&mut consumer, "crowd", partition);
        assert_eq!(fetched.len(), 5 * 10 * 3, "partition {partition}");
        for client in (0..20).filter(|c| c % 4 == partition) {
            let prefix = format!("c{client}-");
            let mine: Vec<&String> = fetched.iter().filter(|v| v.starts_with(&prefix)).collect();
            let expected: Vec<String> = (0..10)
                .flat_map(|round| values(&format!("c{client}-r{round}"), 3))
                .collect();
            assert_eq!(mine, expected.iter().collect::<Vec<_>>(), "client {client}");
        }
    }
}
