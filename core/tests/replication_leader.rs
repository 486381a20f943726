//! Leader behaviour of `PartitionReplica`: acks, min.insync.replicas, the high watermark,
//! ISR expansion and shrinking through AlterPartition, fencing by epochs.

mod replication_support;

/// Inside a `replication` module so `cargo test -p odradek-core replication` runs them.
mod replication {
    use super::replication_support;
    use odradek_core::controller::{LeaderEpoch, PartitionEpoch};
    use odradek_core::record::{BatchHeader, Offset};
    use odradek_core::replication::{
        elect_leader, AckId, AckStatus, Acks, AlterPartition, FollowerFetch, FollowerRequest,
        ReplicationError, ALTER_PARTITION_RETRY_MS,
    };
    use replication_support::{broker, Cluster};

    #[test]
    fn a_leader_stamps_its_epoch_into_every_batch() {
        let mut c = Cluster::simple(1);
        c.elect(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        let stored = c.batch_at(1, Offset(0)).unwrap();
        assert_eq!(
            BatchHeader::parse(&stored).unwrap().partition_leader_epoch,
            1
        );
    }

    #[test]
    fn acks_all_waits_until_every_isr_member_fetched_past_the_batch() {
        let mut c = Cluster::simple(2);
        let outcome = c.produce(&["a", "b"], Acks::All).unwrap();
        assert_eq!(outcome.ack, AckStatus::Waiting(AckId(0)));
        assert_eq!(outcome.info.last_offset, Offset(1));
        // Each follower fetches the records; the leader learns they have them on the next fetch.
        c.fetch(1);
        c.fetch(2);
        assert_eq!(c.replica(0).high_watermark(), Offset(0));
        assert!(c.completed.is_empty());
        c.fetch(1);
        assert_eq!(c.replica(0).high_watermark(), Offset(0));
        c.fetch(2);
        assert_eq!(c.replica(0).high_watermark(), Offset(2));
        assert_eq!(c.completed.get(&AckId(0)), Some(&Ok(())));
    }

    #[test]
    fn acks_one_is_answered_at_once_and_acks_all_with_a_small_isr_is_refused() {
        let mut c = Cluster::simple(2);
        assert_eq!(
            c.produce(&["a"], Acks::Leader).unwrap().ack,
            AckStatus::Done
        );
        let now = c.now();
        c.replica(0)
            .handle_isr_update(now, PartitionEpoch(1), vec![broker(0)])
            .unwrap();
        assert_eq!(
            c.produce(&["b"], Acks::All),
            Err(ReplicationError::NotEnoughReplicas {
                isr: 1,
                min_insync_replicas: 2
            })
        );
        assert_eq!(c.replica(0).log_end_offset(), Offset(1), "nothing appended");
        assert_eq!(
            c.produce(&["c"], Acks::Leader).unwrap().ack,
            AckStatus::Done
        );
    }

    #[test]
    fn a_shrink_below_min_insync_fails_waiting_produces_after_the_append() {
        let mut c = Cluster::simple(2);
        let outcome = c.produce(&["a"], Acks::All).unwrap();
        let AckStatus::Waiting(id) = outcome.ack else {
            panic!("acks=all must wait for the followers");
        };
        let now = c.now();
        c.replica(0)
            .handle_isr_update(now, PartitionEpoch(1), vec![broker(0)])
            .unwrap();
        c.drain(0);
        assert_eq!(
            c.completed.get(&id),
            Some(&Err(ReplicationError::NotEnoughReplicasAfterAppend {
                isr: 1,
                min_insync_replicas: 2
            }))
        );
    }

    #[test]
    fn a_follower_that_stops_fetching_is_shrunk_out_of_the_isr_after_the_lag_limit() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        c.produce(&["b"], Acks::Leader).unwrap();
        c.fetch(1);
        c.fetch(1);
        // Follower 2 never fetches "b". Lag limit is 100 ms: nothing at 100 ms, shrink after.
        assert_eq!(c.replica(0).poll_timeout(), Some(at(101)));
        c.tick(100);
        assert!(c.alter_requests.is_empty());
        c.tick(1);
        assert_eq!(
            c.alter_requests,
            vec![AlterPartition {
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
                new_isr: vec![broker(0), broker(1)],
            }]
        );
        // While a request is in flight the only ISR timer is its resend.
        assert_eq!(c.replica(0).poll_timeout(), Some(at(101 + 5_000)));
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0), broker(1)]);
        assert_eq!(c.replica(0).high_watermark(), Offset(2));
    }

    #[test]
    fn a_lagging_follower_rejoins_the_isr_once_it_reaches_the_high_watermark() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.tick(101);
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
        c.fetch(2);
        assert!(
            c.alter_requests.is_empty(),
            "fetch offset 0 is below the HW 1"
        );
        c.fetch(2);
        assert_eq!(
            c.alter_requests,
            vec![AlterPartition {
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(1),
                new_isr: vec![broker(0), broker(2)],
            }]
        );
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0), broker(2)]);
    }

    #[test]
    fn a_pending_expansion_already_counts_for_the_high_watermark() {
        let mut c = Cluster::simple(1);
        c.tick(101);
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
        c.fetch(1); // caught up at offset 0: expansion requested, not yet confirmed
        assert_eq!(c.alter_requests.len(), 1);
        c.produce(&["a"], Acks::Leader).unwrap();
        assert_eq!(
            c.replica(0).high_watermark(),
            Offset(0),
            "waits for broker 2"
        );
        c.fetch(1);
        c.fetch(1);
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
    }

    #[test]
    fn fetches_with_a_stale_or_future_epoch_are_refused() {
        let mut c = Cluster::simple(1);
        c.elect(0);
        let now = c.now();
        let fetch = |epoch| FollowerFetch {
            replica: broker(1),
            current_leader_epoch: LeaderEpoch(epoch),
            fetch_offset: Offset(0),
            last_fetched_epoch: None,
            max_bytes: 1024,
        };
        assert_eq!(
            c.replica(0).handle_follower_fetch(now, &fetch(0)),
            Err(ReplicationError::FencedLeaderEpoch {
                current: LeaderEpoch(1),
                received: LeaderEpoch(0)
            })
        );
        assert_eq!(
            c.replica(0).handle_follower_fetch(now, &fetch(2)),
            Err(ReplicationError::UnknownLeaderEpoch {
                current: LeaderEpoch(1),
                received: LeaderEpoch(2)
            })
        );
        assert_eq!(
            c.replica(1).handle_follower_fetch(now, &fetch(1)),
            Err(ReplicationError::NotLeaderOrFollower {
                leader: Some(broker(0))
            })
        );
    }

    #[test]
    fn a_follower_asks_where_its_last_epoch_ends_before_it_fetches() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        c.elect(1);
        match c.replica(0).next_request() {
            Some(FollowerRequest::OffsetsForLeaderEpoch(query)) => {
                assert_eq!(query.leader_epoch, LeaderEpoch(0));
                assert_eq!(query.current_leader_epoch, LeaderEpoch(1));
            }
            other => panic!("expected an epoch query, got {other:?}"),
        }
        c.fetch(0);
        assert!(matches!(
            c.replica(0).next_request(),
            Some(FollowerRequest::Fetch(FollowerFetch {
                fetch_offset: Offset(1),
                last_fetched_epoch: Some(LeaderEpoch(0)),
                ..
            }))
        ));
    }

    #[test]
    fn becoming_leader_with_an_older_epoch_is_fenced() {
        let mut c = Cluster::simple(1);
        c.elect(1);
        let now = c.now();
        let result = c.replica(1).become_leader(
            now,
            LeaderEpoch(0),
            PartitionEpoch(9),
            vec![broker(1)],
            replication_support::replicas(),
        );
        assert_eq!(
            result,
            Err(ReplicationError::FencedLeaderEpoch {
                current: LeaderEpoch(1),
                received: LeaderEpoch(0)
            })
        );
    }

    fn at(ms: u64) -> odradek_core::time::Mono {
        replication_support::at_ms(ms).mono
    }

    #[test]
    fn an_isr_member_fetching_below_the_high_watermark_is_shrunk_out_at_once() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
        // Broker 3 lost its records (a crash before they were durable) and fetches from 0.
        let now = c.now();
        let fetch = FollowerFetch {
            replica: broker(2),
            current_leader_epoch: LeaderEpoch(0),
            fetch_offset: Offset(0),
            last_fetched_epoch: None,
            max_bytes: 1024,
        };
        let response = c.replica(0).handle_follower_fetch(now, &fetch).unwrap();
        assert_eq!(response.high_watermark, Offset(1), "never decreases");
        c.drain(0);
        assert_eq!(
            c.alter_requests,
            vec![AlterPartition {
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
                new_isr: vec![broker(0), broker(1)],
            }]
        );
        c.replica(0).check_invariants();
    }

    /// Broker 3 fetches its way back into the ISR (expansion requested at partition epoch 1,
    /// high watermark 1); returns the request.
    fn expansion_of_broker_3_requested(c: &mut Cluster) -> AlterPartition {
        c.produce(&["a"], Acks::Leader).unwrap();
        c.tick(101);
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
        c.fetch(2);
        c.fetch(2);
        let expansion = AlterPartition {
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(1),
            new_isr: vec![broker(0), broker(2)],
        };
        assert_eq!(c.alter_requests, vec![expansion.clone()]);
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
        expansion
    }

    #[test]
    fn a_member_that_lost_records_while_its_expansion_was_pending_is_shrunk_out_once_confirmed() {
        let mut c = Cluster::simple(1);
        expansion_of_broker_3_requested(&mut c);
        // Broker 3 loses offset 0 in a power loss and fetches from 0, below the HW of 1.
        let now = c.now();
        let fetch = FollowerFetch {
            replica: broker(2),
            current_leader_epoch: LeaderEpoch(0),
            fetch_offset: Offset(0),
            last_fetched_epoch: None,
            max_bytes: 1024,
        };
        let response = c.replica(0).handle_follower_fetch(now, &fetch).unwrap();
        assert_eq!(response.high_watermark, Offset(1), "never decreases");
        c.drain(0);
        assert_eq!(
            c.alter_requests.len(),
            1,
            "the expansion is still in flight"
        );
        // The controller commits the expansion; the leader applies it and asks at once to
        // take broker 3 out again.
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0), broker(2)]);
        assert_eq!(
            c.alter_requests,
            vec![AlterPartition {
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(2),
                new_isr: vec![broker(0)],
            }]
        );
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
        c.replica(0).check_invariants();
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
    }

    #[test]
    fn a_refused_expansion_keeps_counting_for_the_high_watermark_until_the_controller_state_arrives(
    ) {
        let mut c = Cluster::simple(1);
        let expansion = expansion_of_broker_3_requested(&mut c);
        // The controller that proposed the expansion loses its leadership and answers
        // NotController; its successor commits the expansion at partition epoch 2.
        c.alter_requests.clear();
        let now = c.now();
        c.replica(0).handle_alter_partition_rejected(now);
        c.produce(&["b", "c"], Acks::Leader).unwrap();
        assert_eq!(
            c.replica(0).high_watermark(),
            Offset(1),
            "broker 3 may be in the ISR: the HW waits for it"
        );
        c.tick(ALTER_PARTITION_RETRY_MS);
        assert_eq!(c.alter_requests, vec![expansion], "resent");
        c.alter_requests.clear();
        let now = c.now();
        c.replica(0)
            .handle_isr_update(now, PartitionEpoch(2), vec![broker(0), broker(2)])
            .unwrap();
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
        assert!(c.alter_requests.is_empty(), "broker 3 lost nothing");
        c.fetch(2);
        c.fetch(2);
        assert_eq!(c.replica(0).high_watermark(), Offset(3));
    }

    #[test]
    fn an_unanswered_alter_partition_is_sent_again_after_the_retry_interval() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.tick(101);
        let request = c.alter_requests.clone();
        assert_eq!(request.len(), 1);
        c.alter_requests.clear(); // lost on the way to the controller
        c.tick(ALTER_PARTITION_RETRY_MS - 1);
        assert!(c.alter_requests.is_empty());
        c.tick(1);
        assert_eq!(c.alter_requests, request);
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
    }

    #[test]
    fn only_an_unclean_election_picks_a_leader_outside_the_isr_and_it_loses_acknowledged_records() {
        let mut c = Cluster::simple(1);
        c.tick(101); // neither follower fetched: both are shrunk out
        c.controller_apply();
        assert_eq!(c.isr, vec![broker(0)]);
        c.produce(&["a"], Acks::All).unwrap();
        assert_eq!(
            c.acknowledged.len(),
            1,
            "min.insync.replicas=1: the leader alone acks"
        );
        let replicas = replication_support::replicas();
        let alive = [broker(1), broker(2)]; // the leader's broker is gone
        assert_eq!(elect_leader(&replicas, &c.isr, &alive, false), None);
        let unclean = elect_leader(&replicas, &c.isr, &alive, true);
        assert_eq!(unclean, Some(broker(1)));
        c.elect_any(1);
        c.replicate(3);
        let violation = c.violation().expect("the acknowledged record is gone");
        assert!(violation.contains("acknowledged batch at 0"), "{violation}");
    }
}
