//! Cost of replicating metadata through the controller quorum, in process, with a lossless
//! network delivering every message at once (no timers fire):
//!
//! - `quorum/commit_batch_3_voters` and `..._5_voters`: one 4-record proposal at the leader,
//!   every resulting AppendEntries and answer delivered, until the leader commits it.
//!
//! The cluster is rebuilt (untimed) every `PROPOSALS_PER_CLUSTER` proposals so logs stay
//! bounded. Run: `cargo bench -p odradek-core --bench quorum -- --warm-up-time 1
//! --measurement-time 3`.

use criterion::{black_box, Criterion, Throughput};
use odradek_core::controller::{ConfigRecord, MetadataRecord};
use odradek_core::quorum::{QuorumConfig, QuorumMessage, QuorumNode, QuorumOutput};
use odradek_core::time::{Mono, Now};
use std::collections::VecDeque;

const PROPOSALS_PER_CLUSTER: u64 = 2_000;

struct Cluster {
    nodes: Vec<QuorumNode>,
    queue: VecDeque<(u32, u32, QuorumMessage)>,
    now: Now,
}

impl Cluster {
    /// Node 1 elected leader; everything delivered.
    fn new(size: u32) -> Cluster {
        let voters: Vec<u32> = (1..=size).collect();
        let nodes = voters
            .iter()
            .map(|&id| {
                QuorumNode::new(QuorumConfig::new(id, voters.clone(), 1), Now::ZERO).unwrap()
            })
            .collect();
        let mut cluster = Cluster {
            nodes,
            queue: VecDeque::new(),
            now: Now {
                mono: Mono(0).plus_millis(1_000),
                wall_ms: 0,
            },
        };
        cluster.nodes[0].handle_timeout(cluster.now);
        cluster.collect(1);
        cluster.deliver();
        assert_eq!(cluster.nodes[0].leader_term(), Some(1));
        cluster
    }

    fn collect(&mut self, id: u32) {
        while let Some(output) = self.nodes[id as usize - 1].poll_output() {
            if let QuorumOutput::Send { to, message } = output {
                self.queue.push_back((id, to, message));
            }
        }
    }

    fn deliver(&mut self) {
        while let Some((from, to, message)) = self.queue.pop_front() {
            self.nodes[to as usize - 1].handle_message(self.now, from, message);
            self.collect(to);
        }
    }

    fn commit_one(&mut self, key: u64) -> u64 {
        let records = (0..4)
            .map(|i| {
                MetadataRecord::Config(ConfigRecord {
                    topic: "t".to_owned(),
                    key: format!("k{key}.{i}"),
                    value: Some("v".to_owned()),
                })
            })
            .collect();
        self.nodes[0].propose(self.now, records).expect("leader");
        self.collect(1);
        self.deliver();
        let committed = self.nodes[0].commit_index();
        assert_eq!(
            committed,
            self.nodes[0].log().len() as u64,
            "the batch commits"
        );
        committed
    }
}

fn bench_commit(c: &mut Criterion, size: u32) {
    let mut group = c.benchmark_group("quorum");
    group.throughput(Throughput::Elements(4));
    let mut cluster = Cluster::new(size);
    let mut proposals = 0;
    group.bench_function(format!("commit_batch_{size}_voters"), |b| {
        b.iter(|| {
            if proposals == PROPOSALS_PER_CLUSTER {
                cluster = Cluster::new(size);
                proposals = 0;
            }
            proposals += 1;
            black_box(cluster.commit_one(proposals))
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_commit(&mut criterion, 3);
    bench_commit(&mut criterion, 5);
    criterion.final_summary();
}
