//! Cluster mode under random faults: for each seed, a schedule of produces (acks=all and
//! acks=1) to whichever broker the controller names leader, link cuts, isolations and broker
//! restarts (memory lost, disk kept), on even seeds also delayed, reordered and duplicated
//! controller messages and delayed broker messages, then a healed period. Afterwards every
//! replica holds the same log, every acks=all acknowledged batch is at its offset on every
//! replica, every batch a leader ever exposed to consumers (below its high watermark) is
//! still there unchanged, the ISR is full, and every node's invariants held throughout.

mod node_cluster_support;
mod node_support;

use node_cluster_support::*;
use node_support::{batch, fetch_request, fetched_records, name, produce_request, text};
use odradek_core::bugs::{PlantedBug, PlantedBugs};
use odradek_core::node::TopicPartition;
use odradek_core::record::Offset;
use odradek_core::wire::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use odradek_core::wire::kafka_protocol::messages::CreateTopicsRequest;
use odradek_core::wire::ResponseBody;

const TOPIC: &str = "model";
/// Partitions of the topic: their leaders spread over the brokers, so followers fetch
/// several partitions per request.
const PARTITIONS: i32 = 3;

/// A tiny deterministic generator (xorshift64*), seeded per run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// An acks=all produce in flight: correlation id, partition and the batch sent.
struct Sent {
    correlation_id: i32,
    partition: i32,
    batch: bytes::Bytes,
}

/// An acknowledged acks=all batch: partition, base offset, the batch sent.
type Acked = Vec<(i32, u64, bytes::Bytes)>;

/// Bytes of a stored batch that the producer chose: all but base offset and the leader
/// epoch (stamped by the leader).
fn producer_part(stored: &[u8]) -> Vec<u8> {
    let mut part = stored[8..12].to_vec();
    part.extend_from_slice(&stored[16..]);
    part
}

/// One run. `crashes`: restarts crash the disk (unsynced writes lost), syncs take 3 ms, and
/// the topic syncs every batch (`flush.messages=1`), so acknowledged means durable.
fn run(seed: u64, crashes: bool, planted_bugs: PlantedBugs) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut cluster = Cluster::start_with(500, planted_bugs);
    if seed.is_multiple_of(2) {
        cluster.net_faults = Some(NetFaults {
            jitter_ms: 1 + seed % 20,
            duplicate_one_in: 10,
            state: seed | 1,
        });
    }
    let mut topic = CreatableTopic::default()
        .with_name(name(TOPIC))
        .with_num_partitions(PARTITIONS)
        .with_replication_factor(3);
    if crashes {
        cluster.sync_delay_ms = 3;
        topic = topic.with_configs(vec![CreatableTopicConfig::default()
            .with_name(text("flush.messages"))
            .with_value(Some(text("1")))]);
    }
    let request = CreateTopicsRequest::default().with_topics(vec![topic]);
    let created = cluster.call(0, 7, request, 3_000);
    assert!(matches!(created.body, ResponseBody::CreateTopics(_)));
    cluster.run_ms(300);
    let mut sent: Vec<Sent> = Vec::new();
    let mut acked: Acked = Vec::new();
    let mut exposed = Exposed::new();
    for step in 0..6_000u64 {
        match rng.below(60) {
            0..=5 => {
                let partition = rng.below(PARTITIONS as u64) as i32;
                let target = match cluster.partition(TOPIC, partition).leader {
                    Some(leader) => index_of(leader),
                    None => rng.below(3) as usize,
                };
                let acks = if rng.below(2) == 0 { -1 } else { 1 };
                let records = batch(step as i64, &[&format!("{seed}-{step}")]);
                let correlation_id = cluster.send(
                    target,
                    2,
                    9,
                    produce_request(TOPIC, partition, acks, records.clone()),
                );
                if acks == -1 {
                    sent.push(Sent {
                        correlation_id,
                        partition,
                        batch: records,
                    });
                }
            }
            6 => {
                let a = rng.below(3) as usize;
                let b = (a + 1 + rng.below(2) as usize) % 3;
                cluster.cut_both(a, b);
            }
            7 => cluster.isolate(rng.below(3) as usize),
            8 | 9 => cluster.heal(),
            10 if rng.below(4) == 0 => match crashes {
                true => cluster.crash_and_restart(rng.below(3) as usize),
                false => cluster.restart(rng.below(3) as usize),
            },
            _ => {}
        }
        cluster.step();
        collect_acks(&mut cluster, &mut sent, &mut acked);
        if step % 16 == 0 {
            cluster.check_invariants();
            record_exposed(&mut cluster, &mut exposed, seed);
        }
    }
    cluster.heal();
    cluster.run_until(20_000, |c| {
        (0..PARTITIONS).all(|p| {
            let tp = TopicPartition::new(TOPIC, p);
            let states: Vec<_> = (0..3).map(|i| c.replica_state(i, &tp)).collect();
            c.partition(TOPIC, p).isr.len() == 3
                && states
                    .iter()
                    .all(|s| s.is_some_and(|s| Some(s.3) == states[0].map(|f| f.3) && s.2 == s.3))
        })
    });
    collect_acks(&mut cluster, &mut sent, &mut acked);
    cluster.check_invariants();
    for partition in 0..PARTITIONS {
        let tp = TopicPartition::new(TOPIC, partition);
        let mine: Vec<(u64, bytes::Bytes)> = acked
            .iter()
            .filter(|(p, _, _)| *p == partition)
            .map(|(_, offset, batch)| (*offset, batch.clone()))
            .collect();
        check_logs(&mut cluster, &tp, &mine, seed);
    }
    record_exposed(&mut cluster, &mut exposed, seed);
    for (partition, offset) in exposed.keys() {
        let tp = TopicPartition::new(TOPIC, *partition);
        let high_watermark = cluster.replica_state(0, &tp).unwrap().2;
        assert!(
            *offset < high_watermark,
            "seed {seed}: the batch exposed at {partition}/{offset} is gone"
        );
    }
}

/// Batches a leader exposed to consumers (below its high watermark): (partition, base
/// offset) → CRC.
type Exposed = std::collections::BTreeMap<(i32, u64), u32>;

/// Records what every leader exposes to a consumer now (a Fetch from offset 0, answered at
/// once); panics if a batch exposed before at the same offset differs (exposed records must
/// never be lost or replaced).
fn record_exposed(cluster: &mut Cluster, exposed: &mut Exposed, seed: u64) {
    for index in 0..3 {
        for partition in 0..PARTITIONS {
            let tp = TopicPartition::new(TOPIC, partition);
            let leads = cluster.nodes[index]
                .partition_replica(&tp)
                .is_some_and(|r| r.is_leader());
            if !leads {
                continue;
            }
            let correlation = cluster.send(index, 3, 12, fetch_request(TOPIC, partition, 0, 0, 1));
            let Some(response) = cluster.take_response(correlation) else {
                continue; // behind an earlier request on the connection
            };
            let records = fetched_records(&response.body);
            for (header, _) in odradek_core::record::complete_batches(&records) {
                let before = exposed.insert((partition, header.base_offset), header.crc);
                assert!(
                    before.is_none_or(|crc| crc == header.crc),
                    "seed {seed}: broker {} exposed another batch at {partition}/{}",
                    index + 1,
                    header.base_offset
                );
            }
        }
    }
}

fn collect_acks(cluster: &mut Cluster, sent: &mut Vec<Sent>, acked: &mut Acked) {
    sent.retain(|s| {
        let Some(response) = cluster.take_response(s.correlation_id) else {
            return true;
        };
        let ResponseBody::Produce(produce) = response.body else {
            panic!("not a produce answer")
        };
        let partition = &produce.responses[0].partition_responses[0];
        if partition.error_code == 0 {
            acked.push((s.partition, partition.base_offset as u64, s.batch.clone()));
        }
        false
    });
    cluster.responses.clear();
}

fn check_logs(
    cluster: &mut Cluster,
    tp: &TopicPartition,
    acked: &[(u64, bytes::Bytes)],
    seed: u64,
) {
    let end = cluster.replica_state(0, tp).unwrap().3;
    let logs: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let log = cluster.nodes[i].partition_log(tp).unwrap();
            let mut bytes = Vec::new();
            let mut next = log.log_start_offset();
            while next < Offset(end) {
                let read = log.read(next, 1 << 20).unwrap();
                bytes.extend_from_slice(&read.records);
                next = read.next_offset;
            }
            bytes
        })
        .collect();
    let summaries: Vec<Vec<(u64, i32, u32)>> = logs.iter().map(|log| summary(log)).collect();
    assert_eq!(
        summaries[0], summaries[1],
        "seed {seed}: replicas 0 and 1 diverge"
    );
    assert_eq!(
        summaries[0], summaries[2],
        "seed {seed}: replicas 0 and 2 diverge"
    );
    assert_eq!(logs[0], logs[1], "seed {seed}: replicas 0 and 1 diverge");
    assert_eq!(logs[0], logs[2], "seed {seed}: replicas 0 and 2 diverge");
    for (offset, batch) in acked {
        let log = cluster.nodes[0].partition_log(tp).unwrap();
        let read = log.read(Offset(*offset), 1).unwrap();
        let stored = &read.records[..batch.len().min(read.records.len())];
        assert_eq!(
            u64::from_be_bytes(stored[..8].try_into().unwrap()),
            *offset,
            "seed {seed}: the batch at {offset} starts there"
        );
        assert_eq!(
            producer_part(stored),
            producer_part(batch),
            "seed {seed}: the acks=all batch acknowledged at {offset} is there"
        );
    }
}

#[test]
fn replicas_converge_and_keep_every_acks_all_batch_under_random_faults() {
    for seed in 1..=100 {
        run(seed, false, PlantedBugs::NONE);
    }
}

#[test]
fn with_fsync_per_batch_acks_all_batches_survive_crashes_that_lose_unsynced_writes() {
    for seed in 1..=100 {
        run(seed, true, PlantedBugs::NONE);
    }
}

/// (base offset, leader epoch, CRC) of each batch.
fn summary(log: &[u8]) -> Vec<(u64, i32, u32)> {
    odradek_core::record::complete_batches(log)
        .map(|(header, _)| {
            (
                header.base_offset,
                header.partition_leader_epoch,
                header.crc,
            )
        })
        .collect()
}

/// Whether some seed in `1..=10` fails with `bug` planted.
fn some_seed_fails(bug: PlantedBug, crashes: bool) -> bool {
    (1..=10).any(|seed| {
        let run = || run(seed, crashes, PlantedBugs::only(bug));
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err()
    })
}

#[test]
fn the_model_catches_each_planted_replication_bug() {
    for bug in [
        PlantedBug::TruncateToHighWatermark,
        PlantedBug::HighWatermarkBeforeFollowerHasData,
        PlantedBug::ServeBeyondHighWatermark,
        PlantedBug::AckBeforeDurable,
    ] {
        assert!(some_seed_fails(bug, false), "{bug:?} went unnoticed");
    }
    assert!(some_seed_fails(PlantedBug::AckBeforeDurable, true));
}
