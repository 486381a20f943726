//! `odradek serve` across process deaths: records acknowledged with `acks=all` under
//! `--flush every-batch` survive `kill -9`; SIGTERM exits 0 and the next start recovers.

mod serve_support;

use serve_support::*;

#[test]
fn every_acks_all_record_survives_kill_9_and_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = ServeProcess::start(&data, &["--flush", "every-batch"]);
    let mut setup = broker.connect();
    create_topic(&mut setup, "durable", 3);
    // Two producers pipelining acks=all batches; whatever is acknowledged must survive.
    let mut acknowledged: Vec<Vec<String>> = vec![Vec::new(); 3];
    let mut producers = [broker.connect(), broker.connect()];
    for round in 0..40 {
        let mut sent = Vec::new();
        for (index, producer) in producers.iter_mut().enumerate() {
            let partition = (round + index) as i32 % 3;
            let batch = values(&format!("p{index}-r{round}"), 5);
            producer.send(PRODUCE_V, produce_request("durable", partition, -1, &batch));
            sent.push((index, partition, batch));
        }
        for (index, partition, batch) in sent {
            let (_, body) = producers[index].receive(
                odradek_core::wire::kafka_protocol::messages::ApiKey::Produce,
                PRODUCE_V,
            );
            let odradek_core::wire::ResponseBody::Produce(response) = body else {
                panic!("not a produce response")
            };
            if response.responses[0].partition_responses[0].error_code == 0 {
                acknowledged[partition as usize].extend(batch);
            }
        }
    }
    // One more batch in flight when the process dies: it may or may not survive.
    producers[0].send(
        PRODUCE_V,
        produce_request("durable", 0, -1, &values("in-flight", 5)),
    );
    broker.kill_hard();

    let restarted = ServeProcess::start(&data, &["--flush", "every-batch"]);
    let mut consumer = restarted.connect();
    for (partition, expected) in acknowledged.iter().enumerate() {
        let fetched = fetch_all(&mut consumer, "durable", partition as i32);
        assert!(!expected.is_empty());
        assert!(
            fetched.len() >= expected.len(),
            "partition {partition} lost records"
        );
        assert_eq!(
            &fetched[..expected.len()],
            &expected[..],
            "partition {partition}"
        );
    }
}

#[test]
fn sigterm_exits_0_and_the_next_start_recovers_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = ServeProcess::start(&data, &[]);
    let mut client = broker.connect();
    create_topic(&mut client, "graceful", 2);
    for round in 0..10 {
        let batch = values(&format!("r{round}"), 4);
        assert_eq!(produce(&mut client, "graceful", round % 2, 1, &batch).0, 0);
    }
    let status = broker.terminate();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    let restarted = ServeProcess::start(&data, &[]);
    let mut consumer = restarted.connect();
    assert_eq!(fetch_all(&mut consumer, "graceful", 0).len(), 20);
    assert_eq!(fetch_all(&mut consumer, "graceful", 1).len(), 20);
    let log = restarted.log();
    assert!(!log.contains("ERROR"), "{log}");
}

#[test]
fn sigterm_logs_a_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let log_path = broker.log_path.clone();
    create_topic(&mut broker.connect(), "t", 1);
    assert_eq!(broker.terminate().code(), Some(0));
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
}

#[test]
fn sigterm_answers_a_request_in_flight_before_exiting() {
    use odradek_core::wire::kafka_protocol::messages::ApiKey;
    let dir = tempfile::tempdir().unwrap();
    let broker = ServeProcess::start(&dir.path().join("data"), &[]);
    let mut consumer = broker.connect();
    create_topic(&mut consumer, "drain", 1);
    let waiting = fetch_request("drain", 0, 0)
        .with_max_wait_ms(1_000)
        .with_min_bytes(1);
    let correlation_id = consumer.send(FETCH_V, waiting);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = broker.terminate();
    assert_eq!(status.code(), Some(0));
    let (answered, body) = consumer.receive(ApiKey::Fetch, FETCH_V);
    assert_eq!(answered, correlation_id);
    assert_eq!(body.api_key(), ApiKey::Fetch);
}

#[test]
fn sigint_exits_0_like_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = ServeProcess::start(&data, &[]);
    create_topic(&mut broker.connect(), "interrupted", 1);
    assert_eq!(broker.signal("INT").code(), Some(0));
    let restarted = ServeProcess::start(&data, &[]);
    let mut client = restarted.connect();
    assert_eq!(
        produce(&mut client, "interrupted", 0, 1, &values("v", 1)),
        (0, 0)
    );
}
