//! Level-2 simulation: the real `odradek serve` adapter (acceptor, connection tasks, framing,
//! the broker task) run under madsim, on a simulated network and a `SimDisk`.
//!
//! Only built with `RUSTFLAGS="--cfg madsim"` (see the README for the command). A broker
//! node serves a standalone broker through [`serve_standalone`] on a `SimDiskProvider`
//! (`flush.messages=1`, so an acks=all produce is answered only after its fsync); a client
//! node speaks Kafka to it over simulated TCP: creates a topic and produces with acks=all
//! until the broker node is killed at a time drawn from the seed. The disk then loses power
//! (every unsynced write may be torn or lost), the node restarts and recovers from the disk,
//! and a fresh client reads the partition back: every acknowledged record must be there, once,
//! in the order it was acknowledged. A second test stops the broker gracefully (ctrl-c) with
//! no per-batch fsync: only the drain's final fsync of every file keeps the acknowledged records.
//! A third partitions client and broker mid-produce, heals, and reads back from the same broker.
//!
//! Seeds: `MADSIM_TEST_SEED` (default 0) and `MADSIM_TEST_NUM` runs from it;
//! `MADSIM_TEST_CHECK_DETERMINISM=1` runs each seed twice and fails if they differ.
#![cfg(madsim)]

use bytes::{Buf, Bytes};
use madsim::runtime::Handle;
use odradek::config::ServeConfig;
use odradek::serve::serve_standalone;
use odradek_core::log::FlushPolicy;
use odradek_core::record::{split_batches, RecordBatchBuilder, RecordIter};
use odradek_core::wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use odradek_core::wire::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, FetchRequest, ProduceRequest, RequestHeader, TopicName,
};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{decode_response, encode_request, RequestBody, ResponseBody};
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BROKER_IP: [u8; 4] = [10, 0, 0, 1];
const CLIENT_IP: [u8; 4] = [10, 0, 0, 2];
const PORT: u16 = 9092;
const TOPIC: &str = "events";
const PRODUCE_V: i16 = 9;
const FETCH_V: i16 = 12;
const CREATE_TOPICS_V: i16 = 7;
/// Longest wait for one response (the broker may be dead).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn broker_address() -> SocketAddr {
    SocketAddr::from((BROKER_IP, PORT))
}

fn broker_config() -> ServeConfig {
    ServeConfig {
        listen: broker_address(),
        advertised_host: std::net::Ipv4Addr::from(BROKER_IP).to_string(),
        advertised_port: PORT,
        data_dir: "/simulated/odradek-data".into(),
        ..ServeConfig::default()
    }
}

/// A minimal async Kafka client on one simulated connection: one request at a time.
struct Client {
    stream: TcpStream,
    next_correlation: i32,
}

/// Why a call got no response (the broker is gone); the test only needs to know it failed.
#[derive(Debug)]
enum CallError {
    Io,
    TimedOut,
}

impl Client {
    async fn connect() -> std::io::Result<Client> {
        let stream = TcpStream::connect(broker_address()).await?;
        Ok(Client {
            stream,
            next_correlation: 1,
        })
    }

    /// Sends `body` and reads its response, within [`CALL_TIMEOUT`].
    async fn call(&mut self, version: i16, body: RequestBody) -> Result<ResponseBody, CallError> {
        match madsim::time::timeout(CALL_TIMEOUT, self.exchange(version, body)).await {
            Ok(result) => result.map_err(|_| CallError::Io),
            Err(_) => Err(CallError::TimedOut),
        }
    }

    async fn exchange(&mut self, version: i16, body: RequestBody) -> std::io::Result<ResponseBody> {
        let api_key: ApiKey = body.api_key();
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("madsim-test")));
        let frame = encode_request(&header, &body).map_err(std::io::Error::other)?;
        self.stream.write_all(&frame).await?;
        self.stream.flush().await?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await?;
        let mut frame = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut frame).await?;
        let (header, body) =
            decode_response(api_key, version, Bytes::from(frame)).map_err(std::io::Error::other)?;
        assert_eq!(
            header.correlation_id, correlation_id,
            "response to another request"
        );
        Ok(body)
    }
}

fn topic_name() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

fn create_topic_request() -> RequestBody {
    let topic = CreatableTopic::default()
        .with_name(topic_name())
        .with_num_partitions(1)
        .with_replication_factor(1);
    RequestBody::CreateTopics(
        CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![topic]),
    )
}

fn produce_request(values: &[String]) -> RequestBody {
    let batch = values
        .iter()
        .enumerate()
        .fold(RecordBatchBuilder::new(1_700_000_000_000), |b, (i, v)| {
            b.value(i as i64, v.as_bytes())
        })
        .build()
        .freeze();
    let partition = PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(batch));
    let topic = TopicProduceData::default()
        .with_name(topic_name())
        .with_partition_data(vec![partition]);
    RequestBody::Produce(
        ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![topic]),
    )
}

fn fetch_request(offset: i64) -> RequestBody {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1024 * 1024);
    let topic = FetchTopic::default()
        .with_topic(topic_name())
        .with_partitions(vec![partition]);
    RequestBody::Fetch(
        FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(1024 * 1024)
            .with_topics(vec![topic]),
    )
}

/// Creates the topic, then produces batches with acks=all until a call fails (the broker was
/// killed), recording each acknowledged value in `acked` as soon as it is acknowledged.
async fn produce_until_failure(acked: Arc<Mutex<Vec<String>>>) {
    let mut client = Client::connect().await.expect("connect to the broker");
    let Ok(ResponseBody::CreateTopics(created)) =
        client.call(CREATE_TOPICS_V, create_topic_request()).await
    else {
        panic!("no CreateTopics response")
    };
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    for batch in 0.. {
        let values: Vec<String> = (0..5).map(|i| format!("v{batch}-{i}")).collect();
        match client.call(PRODUCE_V, produce_request(&values)).await {
            Ok(ResponseBody::Produce(response)) => {
                let answer = &response.responses[0].partition_responses[0];
                if answer.error_code == 0 {
                    acked.lock().unwrap().extend(values);
                }
            }
            Ok(other) => panic!("not a Produce response: {other:?}"),
            Err(_) => return, // the broker is gone
        }
    }
}

/// Every record value of the partition, fetching from offset 0 up to the high watermark.
async fn read_back() -> Vec<String> {
    let mut client = connect_with_retries().await;
    let mut values = Vec::new();
    let mut offset = 0i64;
    loop {
        let Ok(ResponseBody::Fetch(response)) = client.call(FETCH_V, fetch_request(offset)).await
        else {
            panic!("no Fetch response after the restart")
        };
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, 0, "fetch error: {data:?}");
        let records = data.records.clone().unwrap_or_default();
        if records.is_empty() {
            assert_eq!(offset, data.high_watermark, "fetch stalled below the HW");
            return values;
        }
        for batch in split_batches(records).expect("valid batches") {
            let base = (&batch[..8]).get_i64();
            let mut records = RecordIter::new(&batch).expect("an uncompressed batch");
            while let Some(record) = records.next_record() {
                let record = record.expect("a well-formed record");
                let at = base + record.offset_delta;
                if at >= offset {
                    let value = record.value.expect("a value");
                    values.push(String::from_utf8(value.to_vec()).expect("utf-8"));
                    offset = at + 1;
                }
            }
        }
    }
}

/// The restarted broker may still be recovering: retry connecting for a while.
async fn connect_with_retries() -> Client {
    for _ in 0..50 {
        if let Ok(client) = Client::connect().await {
            return client;
        }
        madsim::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the restarted broker never accepted a connection")
}

/// How the broker node is stopped before the power cut.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// `Handle::kill`: the process dies mid-request.
    Kill,
    /// Ctrl-c: the broker drains (answers what is in flight, fsyncs every file), then the
    /// node is killed once the drain had time to finish.
    Graceful,
}

/// Starts the broker on a fresh disk, produces until the broker is stopped as `stop` says
/// (at a time drawn from the seed), cuts the disk's power, restarts the broker, and asserts
/// that every acknowledged record is read back, once and in order.
async fn every_acknowledged_record_survives(flush_policy: FlushPolicy, stop: Stop) {
    let handle = Handle::current();
    let seed = handle.seed();
    let disk = SimDisk::new(seed);
    let node_disk = disk.clone();
    let broker = handle
        .create_node()
        .name("broker")
        .ip(BROKER_IP.into())
        .init(move || {
            let provider = SimDiskProvider::new(node_disk.clone());
            let config = ServeConfig {
                flush_policy,
                ..broker_config()
            };
            async move {
                let ctrl_c = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                serve_standalone(config, provider, ctrl_c)
                    .await
                    .expect("the broker serves");
            }
        })
        .build();
    let client = handle
        .create_node()
        .name("client")
        .ip(CLIENT_IP.into())
        .build();
    // Let the broker bind before the client connects.
    madsim::time::sleep(Duration::from_millis(100)).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let producer = client.spawn(produce_until_failure(Arc::clone(&acked)));
    let stop_after_ms = 50 + seed % 400;
    madsim::time::sleep(Duration::from_millis(stop_after_ms)).await;
    if let Stop::Graceful = stop {
        handle.send_ctrl_c(broker.id());
        // Longer than the drain's grace periods (5 s for requests, 2 s for closes).
        madsim::time::sleep(Duration::from_secs(8)).await;
    }
    handle.kill(broker.id());
    disk.crash();
    producer.await.expect("the producer task");
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "seed {seed}: nothing was acknowledged before the stop at {stop_after_ms} ms"
    );

    handle.restart(broker.id());
    let read = client.spawn(read_back()).await.expect("the reader task");
    eprintln!(
        "seed {seed} ({stop:?}): stopped at {stop_after_ms} ms; {} acknowledged, {} read back",
        acked.len(),
        read.len()
    );
    assert!(
        read.len() >= acked.len(),
        "seed {seed}: {} acknowledged, {} read back",
        acked.len(),
        read.len()
    );
    assert_eq!(
        read[..acked.len()],
        acked[..],
        "seed {seed}: an acknowledged record is lost, duplicated or out of order"
    );
}

#[madsim::test]
async fn a_killed_and_restarted_broker_on_a_power_cut_disk_keeps_every_acknowledged_record() {
    every_acknowledged_record_survives(FlushPolicy::EveryBatch, Stop::Kill).await;
}

/// Without per-batch fsync an acks=all record is acknowledged before it is durable, so only
/// the drain's final fsync of every file keeps it through the power cut.
#[madsim::test]
async fn a_gracefully_stopped_broker_fsyncs_everything_so_a_power_cut_loses_no_acknowledged_record()
{
    every_acknowledged_record_survives(FlushPolicy::Never, Stop::Graceful).await;
}

/// A network partition between client and broker mid-produce: the client's request times
/// out (its connection is dead but never closed), the partition heals, and a new connection
/// to the same, still running broker reads back every acknowledged record.
#[madsim::test]
async fn a_partition_between_client_and_broker_loses_no_acknowledged_record() {
    let handle = Handle::current();
    let seed = handle.seed();
    let disk = SimDisk::new(seed);
    let node_disk = disk.clone();
    let broker = handle
        .create_node()
        .name("broker")
        .ip(BROKER_IP.into())
        .init(move || {
            let provider = SimDiskProvider::new(node_disk.clone());
            async move {
                let never = std::future::pending::<()>();
                serve_standalone(broker_config(), provider, never)
                    .await
                    .expect("the broker serves");
            }
        })
        .build();
    let client = handle
        .create_node()
        .name("client")
        .ip(CLIENT_IP.into())
        .build();
    madsim::time::sleep(Duration::from_millis(100)).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let producer = client.spawn(produce_until_failure(Arc::clone(&acked)));
    madsim::time::sleep(Duration::from_millis(50 + seed % 400)).await;
    let net = madsim::net::NetSim::current();
    net.clog_link(client.id(), broker.id());
    net.clog_link(broker.id(), client.id());
    producer.await.expect("the producer task");
    net.unclog_link(client.id(), broker.id());
    net.unclog_link(broker.id(), client.id());
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "seed {seed}: nothing was acknowledged");

    let read = client.spawn(read_back()).await.expect("the reader task");
    eprintln!(
        "seed {seed} (partition, healed at {} ms): {} acknowledged, {} read back",
        madsim::time::TimeHandle::current().elapsed().as_millis(),
        acked.len(),
        read.len()
    );
    assert!(
        read.len() >= acked.len() && read[..acked.len()] == acked[..],
        "seed {seed}: {} acknowledged, {} read back: an acknowledged record is lost, \
         duplicated or out of order",
        acked.len(),
        read.len()
    );
}
