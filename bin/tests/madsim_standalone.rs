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

mod madsim_support;
mod serve_support;

use madsim::runtime::Handle;
use madsim_support::{read_partition, Client};
use odradek::config::ServeConfig;
use odradek::serve::serve_standalone;
use odradek_core::log::FlushPolicy;
use odradek_core::wire::ResponseBody;
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use serve_support::{create_topics_request, produce_request, CREATE_TOPICS_V, PRODUCE_V};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BROKER_IP: [u8; 4] = [10, 0, 0, 1];
const CLIENT_IP: [u8; 4] = [10, 0, 0, 2];
const PORT: u16 = 9092;
const TOPIC: &str = "events";
/// Kafka's acks=all.
const ACKS_ALL: i16 = -1;

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

/// Creates the topic, then produces batches with acks=all until a call fails (the broker was
/// killed), recording each acknowledged value in `acked` as soon as it is acknowledged.
async fn produce_until_failure(acked: Arc<Mutex<Vec<String>>>) {
    let mut client = Client::connect(broker_address())
        .await
        .expect("connect to the broker");
    let Ok(ResponseBody::CreateTopics(created)) = client
        .call(CREATE_TOPICS_V, create_topics_request(TOPIC, 1))
        .await
    else {
        panic!("no CreateTopics response")
    };
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    for batch in 0.. {
        let values: Vec<String> = (0..5).map(|i| format!("v{batch}-{i}")).collect();
        let request = produce_request(TOPIC, 0, ACKS_ALL, &values);
        match client.call(PRODUCE_V, request).await {
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

/// Every record value of the partition, read back through a new connection.
async fn read_back() -> Vec<String> {
    let mut client = Client::connect_with_retries(broker_address()).await;
    let read = read_partition(&mut client, TOPIC).await;
    read.expect("the partition is read back")
        .into_iter()
        .map(|(_, value)| value)
        .collect()
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
