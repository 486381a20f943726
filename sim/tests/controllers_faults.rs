//! `ControllerHost`s under seeded message loss, crashes and restarts, with broker commands
//! sent to random nodes. The pump checks after every event that no two nodes ever report
//! different records committed at the same offset; after healing, every node converges on
//! the same committed records. The same seed gives the same run.

mod controllers_support;

use controllers_support::{controller_config, heartbeat, registration, Pump, Reply};
use odradek_core::controller::{
    BrokerId, CommittedRecord, ControllerRequest, ControllerResponse, CreateTopicRequest,
    MetadataOffset, MetadataRecord,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a run ends with: each node's committed records, and every reply.
type Outcome = (Vec<Vec<CommittedRecord>>, Vec<Reply>);

fn random_request(rng: &mut ChaCha8Rng, round: u32) -> (i32, ControllerRequest) {
    let broker = rng.random_range(1..=4);
    let request = match rng.random_range(0..4) {
        0 => ControllerRequest::Register(registration(broker)),
        1 => heartbeat(broker),
        2 => ControllerRequest::CreateTopics(vec![CreateTopicRequest::new(
            &format!("t{}", round % 7),
            rng.random_range(1..=3),
            -1,
        )]),
        _ => ControllerRequest::FetchMetadata {
            after: Some(MetadataOffset(rng.random_range(0..20))),
            max_records: 5,
        },
    };
    (broker, request)
}

/// One round of faults: crash or restart a node, keeping a majority running.
fn nemesis(pump: &mut Pump, rng: &mut ChaCha8Rng, nodes: u32) {
    let id = rng.random_range(1..=nodes);
    let running = pump.hosts.values().filter(|h| h.is_running()).count() as u32;
    if pump.hosts[&id].is_running() {
        if running > nodes / 2 + 1 {
            pump.crash(id);
        }
    } else {
        pump.start(id);
    }
}

fn run_with_loss(seed: u64, nodes: u32) -> Outcome {
    let mut pump = Pump::new(nodes, controller_config(), seed);
    pump.drop_probability = 0.2;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED);
    for round in 0..60 {
        for _ in 0..rng.random_range(1..=3) {
            let to = rng.random_range(1..=nodes);
            let (broker, request) = random_request(&mut rng, round);
            pump.send(to, broker, request);
        }
        if rng.random_bool(0.1) {
            nemesis(&mut pump, &mut rng, nodes);
        }
        pump.run_for(rng.random_range(10..300));
    }
    pump.drop_probability = 0.0;
    for id in 1..=nodes {
        if !pump.hosts[&id].is_running() {
            pump.start(id);
        }
    }
    pump.wait_active(5_000);
    assert!(
        pump.converge(5_000),
        "seed {seed}: the healed quorum converges"
    );
    let records = pump
        .hosts
        .values()
        .map(|h| h.committed_records().to_vec())
        .collect();
    (records, pump.replies)
}

#[test]
fn dropped_messages_and_crashes_never_make_committed_records_disagree() {
    for seed in 0..20 {
        check_run(seed, 3);
    }
}

#[test]
fn a_five_node_quorum_under_loss_and_crashes_agrees_too() {
    for seed in 0..10 {
        check_run(seed, 5);
    }
}

/// Runs `seed` on `nodes` controllers; asserts agreement after healing and progress.
fn check_run(seed: u64, nodes: u32) {
    let (records, replies) = run_with_loss(seed, nodes);
    assert!(
        records.windows(2).all(|pair| pair[0] == pair[1]),
        "seed {seed}: nodes disagree after healing"
    );
    assert!(
        records[0].len() >= 3,
        "seed {seed}: commands commit despite the faults ({} records)",
        records[0].len()
    );
    assert!(!replies.is_empty(), "seed {seed}: requests are answered");
    assert_acknowledged_commands_committed(seed, &records[0], &replies);
}

/// Every command answered as done was committed when answered: the records the answering
/// node knew committed then (a prefix of the final log, by state machine safety) hold a
/// registration's `RegisterBroker`, a created topic's `Topic` with the answered id, and the
/// fencing state a heartbeat reported.
fn assert_acknowledged_commands_committed(
    seed: u64,
    records: &[CommittedRecord],
    replies: &[Reply],
) {
    for reply in replies {
        let known = &records[..reply.committed_known];
        let broker = reply.broker;
        let has =
            |wanted: &dyn Fn(&MetadataRecord) -> bool| known.iter().any(|c| wanted(&c.record));
        let committed = match &reply.response {
            ControllerResponse::Registered => {
                has(&|r| matches!(r, MetadataRecord::RegisterBroker(b) if b.broker_id == broker))
            }
            ControllerResponse::Heartbeat { fenced, .. } => {
                fenced_in(known, broker) == Some(*fenced)
            }
            ControllerResponse::CreateTopics(results) => results.iter().all(|result| {
                let Ok(created) = &result.result else {
                    return true;
                };
                let id = created.topic_id;
                has(&|r| matches!(r, MetadataRecord::Topic(t) if Some(t.topic_id) == id))
            }),
            _ => true,
        };
        assert!(committed, "seed {seed}: answered before commit: {reply:?}");
    }
}

/// Whether `broker` is fenced after `records` (`None` if it is not registered).
fn fenced_in(records: &[CommittedRecord], broker: BrokerId) -> Option<bool> {
    let mut fenced = None;
    for committed in records {
        match &committed.record {
            MetadataRecord::RegisterBroker(b) if b.broker_id == broker => fenced = Some(true),
            MetadataRecord::FenceBroker(b) if b.broker_id == broker => fenced = Some(true),
            MetadataRecord::UnfenceBroker(b) if b.broker_id == broker => fenced = Some(false),
            _ => {}
        }
    }
    fenced
}

#[test]
fn the_same_seed_gives_the_same_committed_records_and_replies() {
    let first = run_with_loss(42, 3);
    let second = run_with_loss(42, 3);
    assert_eq!(first, second);
    let other = run_with_loss(43, 3);
    assert_ne!(first.0, other.0, "a different seed takes another path");
}
