//! Leader election for one partition, as Kafka's controller does it: the first replica in
//! assignment order that is alive and in the ISR (clean election). Only when the topic sets
//! `unclean.leader.election.enable` may a live replica outside the ISR be chosen, which can
//! lose acknowledged records (it is the operator's explicit choice of availability).

use crate::controller::BrokerId;

/// The new leader, or `None` when the partition must stay offline.
pub fn elect_leader(
    replicas: &[BrokerId],
    isr: &[BrokerId],
    alive: &[BrokerId],
    unclean_leader_election_enable: bool,
) -> Option<BrokerId> {
    let clean = replicas
        .iter()
        .copied()
        .find(|id| alive.contains(id) && isr.contains(id));
    let unclean = || {
        replicas
            .iter()
            .copied()
            .find(|id| alive.contains(id))
            .filter(|_| unclean_leader_election_enable)
    };
    clean.or_else(unclean)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: [BrokerId; 3] = [BrokerId(1), BrokerId(2), BrokerId(3)];

    #[test]
    fn the_first_live_isr_member_in_assignment_order_is_elected() {
        assert_eq!(elect_leader(&B, &[B[2], B[1]], &B, false), Some(B[1]));
        assert_eq!(elect_leader(&B, &[B[2], B[1]], &[B[2]], false), Some(B[2]));
    }

    #[test]
    fn without_a_live_isr_member_only_an_unclean_election_picks_a_leader() {
        assert_eq!(elect_leader(&B, &[B[0]], &[B[1], B[2]], false), None);
        assert_eq!(elect_leader(&B, &[B[0]], &[B[2], B[1]], true), Some(B[1]));
    }
}
