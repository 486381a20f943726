//! Replica assignment: which brokers hold each new partition's replicas.
//!
//! Round-robin with a rotating start, as Kafka does: partition `p`'s first replica (its
//! preferred leader) is broker `(start + p) mod n`, and the followers come after it with a
//! shift that grows every `n` partitions, so leaders and followers both spread evenly. Kafka
//! draws `start` and the shift at random; here they come from the topic id, which is itself
//! derived from the controller's seed, so assignment is deterministic yet differs per topic.
//!
//! Rack-aware when every usable broker has a rack: brokers are first interleaved by rack
//! (one from each rack in turn), and a follower is skipped if its rack already holds a
//! replica of the partition while some rack holds none.

use super::ids::{BrokerId, TopicId};
use super::record::BrokerRegistration;
use std::collections::{BTreeMap, BTreeSet};

/// Where assignment starts for a topic: `(start, shift)` drawn from its id.
pub fn rotation_for(topic_id: TopicId, broker_count: usize) -> (usize, usize) {
    let bits = topic_id.as_u128();
    let count = broker_count.max(1) as u128;
    ((bits % count) as usize, ((bits >> 64) % count) as usize)
}

/// Assigns `replication_factor` replicas to each of `partition_count` partitions numbered
/// from `first_partition`. Requires `1 <= replication_factor <= brokers.len()` (checked by
/// the caller, which reports INVALID_REPLICATION_FACTOR otherwise).
pub fn assign_replicas(
    brokers: &[&BrokerRegistration],
    first_partition: usize,
    partition_count: usize,
    replication_factor: usize,
    rotation: (usize, usize),
) -> Vec<Vec<BrokerId>> {
    assert!(replication_factor >= 1 && replication_factor <= brokers.len());
    let ordered = order_brokers(brokers);
    let n = ordered.len();
    let (start, shift_start) = rotation;
    let rack_count = count_racks(&ordered);
    (first_partition..first_partition + partition_count)
        .map(|p| {
            let first = (start + p) % n;
            let shift = shift_start + p / n;
            let mut replicas = vec![ordered[first].0];
            let mut racks: BTreeSet<&str> = ordered[first].1.into_iter().collect();
            let mut step = 0;
            while replicas.len() < replication_factor {
                let (candidate, rack) = follower(&ordered, first, shift, step);
                step += 1;
                let rack_is_new = rack.is_none_or(|r| !racks.contains(r));
                let every_rack_used = racks.len() >= rack_count;
                let tried_everything = step > n;
                if replicas.contains(&candidate)
                    || !(rack_is_new || every_rack_used || tried_everything)
                {
                    continue;
                }
                replicas.push(candidate);
                racks.extend(rack);
            }
            replicas
        })
        .collect()
}

fn follower<'a>(
    ordered: &[(BrokerId, Option<&'a str>)],
    first: usize,
    shift: usize,
    step: usize,
) -> (BrokerId, Option<&'a str>) {
    let n = ordered.len();
    // Followers never land on the first replica: offsets 1..n from it.
    let offset = 1 + (shift + step) % (n - 1).max(1);
    ordered[(first + offset) % n]
}

fn count_racks(ordered: &[(BrokerId, Option<&str>)]) -> usize {
    ordered
        .iter()
        .filter_map(|(_, r)| *r)
        .collect::<BTreeSet<_>>()
        .len()
}

/// Brokers by id; interleaved by rack when every broker has one.
fn order_brokers<'a>(brokers: &[&'a BrokerRegistration]) -> Vec<(BrokerId, Option<&'a str>)> {
    let mut by_id: Vec<(BrokerId, Option<&str>)> = brokers
        .iter()
        .map(|b| (b.broker_id, b.rack.as_deref()))
        .collect();
    by_id.sort();
    if by_id.iter().any(|(_, rack)| rack.is_none()) {
        return by_id.into_iter().map(|(b, _)| (b, None)).collect();
    }
    let mut by_rack: BTreeMap<&str, Vec<BrokerId>> = BTreeMap::new();
    for (broker_id, rack) in &by_id {
        by_rack
            .entry(rack.unwrap_or(""))
            .or_default()
            .push(*broker_id);
    }
    let mut interleaved = Vec::with_capacity(by_id.len());
    for round in 0.. {
        let before = interleaved.len();
        for (rack, members) in &by_rack {
            if let Some(broker_id) = members.get(round) {
                interleaved.push((*broker_id, Some(*rack)));
            }
        }
        if interleaved.len() == before {
            break;
        }
    }
    interleaved
}
