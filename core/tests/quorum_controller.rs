//! The controller sits on the replicated metadata log: three controller nodes, each a
//! `Controller` over a `QuorumMetadataLog`, exchange quorum messages over a lossless
//! network. Every controller's committed image converges, and after the active
//! controller's node crashes the next leader catches up and keeps serving commands.

mod controller_support;

use controller_support::cluster;
use odradek_core::controller::{
    Controller, ControllerError, CreateTopicRequest, MetadataLog, MetadataLogError,
};
use odradek_core::quorum::{QuorumConfig, QuorumMessage, QuorumMetadataLog, QuorumNode};
use odradek_core::{Mono, Now};
use std::collections::BTreeMap;

struct ControllerNode {
    controller: Controller,
    log: QuorumMetadataLog,
}

struct World {
    now: Mono,
    nodes: BTreeMap<u32, ControllerNode>,
    /// (deliver at, sequence, from, to, message)
    network: Vec<(Mono, u64, u32, u32, QuorumMessage)>,
    sequence: u64,
}

fn now(mono: Mono) -> Now {
    Now { mono, wall_ms: 0 }
}

impl World {
    fn new() -> World {
        let (template, _) = cluster(3);
        let mut nodes = BTreeMap::new();
        for id in 1..=3 {
            let config = QuorumConfig::new(id, vec![1, 2, 3], 11);
            let node = QuorumNode::new(config, Now::ZERO).unwrap();
            let controller = Controller::new(template.config().clone()).unwrap();
            let log = QuorumMetadataLog::new(node, Now::ZERO);
            nodes.insert(id, ControllerNode { controller, log });
        }
        World {
            now: Mono(0),
            nodes,
            network: Vec::new(),
            sequence: 0,
        }
    }

    /// Collects sent messages and applies committed records on node `id`.
    fn settle(&mut self, id: u32) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        while let Some((to, message)) = node.log.poll_send() {
            self.sequence += 1;
            let at = self.now.plus_millis(2);
            self.network.push((at, self.sequence, id, to, message));
        }
        node.controller
            .apply_committed(&mut node.log)
            .expect("committed records apply");
        node.controller.check_invariants();
    }

    fn step(&mut self) {
        let next_message = self.network.iter().map(|m| (m.0, m.1)).min();
        let next_timer = self
            .nodes
            .iter()
            .filter_map(|(&id, n)| n.log.poll_timeout().map(|at| (at, id)))
            .min();
        match (next_message, next_timer) {
            (Some((at, sequence)), timer) if timer.is_none_or(|(t, _)| at <= t) => {
                let position = self.network.iter().position(|m| m.1 == sequence).unwrap();
                let (_, _, from, to, message) = self.network.swap_remove(position);
                self.now = self.now.max(at);
                if let Some(node) = self.nodes.get_mut(&to) {
                    node.log.handle_message(now(self.now), from, message);
                }
                self.settle(to);
            }
            (_, Some((at, id))) => {
                self.now = self.now.max(at);
                self.nodes
                    .get_mut(&id)
                    .unwrap()
                    .log
                    .handle_timeout(now(self.now));
                self.settle(id);
            }
            _ => {}
        }
    }

    fn run_for(&mut self, millis: u64) {
        let until = self.now.plus_millis(millis);
        while self.now < until {
            self.step();
        }
    }

    fn leader(&self) -> Option<u32> {
        self.nodes
            .iter()
            .filter_map(|(&id, n)| n.log.leader_term().map(|term| (term, id)))
            .max()
            .map(|(_, id)| id)
    }

    fn create_topic(&mut self, leader: u32, name: &str) -> Result<(), ControllerError> {
        let node = self.nodes.get_mut(&leader).unwrap();
        let request = CreateTopicRequest::new(name, 2, 3);
        let created = node
            .controller
            .create_topics(&[request], false)
            .remove(0)
            .result?;
        node.controller.propose(&mut node.log, created.records)?;
        self.settle(leader);
        Ok(())
    }
}

#[test]
fn every_controller_applies_the_same_records_and_a_new_leader_carries_on() {
    let mut world = World::new();
    world.run_for(1_000);
    let first = world.leader().expect("a leader is elected");
    let (_, local_log) = cluster(3);
    let registrations = local_log.records().to_vec();
    world
        .nodes
        .get_mut(&first)
        .unwrap()
        .log
        .append(registrations)
        .expect("the leader accepts");
    world.settle(first);
    world.run_for(200);
    world.create_topic(first, "t").expect("a valid topic");
    world.run_for(200);
    for node in world.nodes.values() {
        assert!(node.controller.image().topic_by_name("t").is_some());
        assert_eq!(
            node.controller.image(),
            world.nodes[&first].controller.image()
        );
    }

    let follower = *world.nodes.keys().find(|&&id| id != first).unwrap();
    let refused = world.create_topic(follower, "u");
    assert_eq!(refused, Err(MetadataLogError::NotLeader.into()));

    world.nodes.remove(&first);
    world.run_for(1_000);
    let second = world.leader().expect("the two survivors elect a leader");
    assert_ne!(second, first);
    world
        .create_topic(second, "u")
        .expect("the new leader serves commands");
    world.run_for(200);
    for node in world.nodes.values() {
        let image = node.controller.image();
        assert!(image.topic_by_name("t").is_some() && image.topic_by_name("u").is_some());
    }
}
