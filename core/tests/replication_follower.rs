//! Follower behaviour of `PartitionReplica`: epoch-based truncation (KIP-101, KIP-279,
//! KIP-320), appending the leader's batches with their epochs, the follower's high watermark,
//! and the leader-epoch checkpoint across crashes.

mod replication_support;

/// Inside a `replication` module so `cargo test -p odradek-core replication` runs them.
mod replication {
    use super::replication_support;
    use bytes::Bytes;
    use odradek_core::controller::LeaderEpoch;
    use odradek_core::record::{split_batches, BatchHeader, Offset};
    use odradek_core::replication::{
        Acks, EpochEndOffset, EpochEntry, FetchResponse, FollowerFetch, FollowerRequest,
        PartitionReplica, ReplicationConfig, ReplicationError,
    };
    use replication_support::{at_ms, broker, syncing, Cluster};

    fn epochs(entries: &[(i32, u64)]) -> Vec<EpochEntry> {
        entries
            .iter()
            .map(|&(epoch, start)| EpochEntry {
                leader_epoch: LeaderEpoch(epoch),
                start_offset: Offset(start),
            })
            .collect()
    }

    #[test]
    fn an_old_leader_truncates_its_unreplicated_tail_to_the_new_leaders_epoch_end() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        c.produce(&["x", "y"], Acks::Leader).unwrap(); // offsets 1-2, only on replica 0
        c.elect(1);
        c.produce(&["b"], Acks::Leader).unwrap(); // offset 1 in epoch 1
        assert_eq!(c.replica(0).log_end_offset(), Offset(3));
        c.fetch(0); // epoch query: epoch 0 ends at 1 on the new leader
        assert_eq!(c.replica(0).log_end_offset(), Offset(1));
        c.replicate(3);
        c.fetch(0);
        c.fetch(0);
        assert_eq!(c.replica(0).log_end_offset(), Offset(2));
        assert_eq!(c.batch_at(0, Offset(1)), c.batch_at(1, Offset(1)));
        assert_eq!(c.replica(0).epochs().entries(), epochs(&[(0, 0), (1, 1)]));
        c.assert_safe();
    }

    #[test]
    fn a_follower_with_everything_the_leader_has_does_not_truncate() {
        let mut c = Cluster::simple(1);
        c.produce(&["a", "b"], Acks::Leader).unwrap();
        c.replicate(2);
        c.elect(2);
        c.fetch(0);
        c.fetch(1);
        assert_eq!(c.replica(0).log_end_offset(), Offset(2));
        assert_eq!(c.replica(1).log_end_offset(), Offset(2));
    }

    #[test]
    fn the_leader_answers_a_fetch_past_its_epoch_end_with_a_diverging_epoch_and_no_records() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.elect(0);
        c.produce(&["b"], Acks::Leader).unwrap();
        let now = c.now();
        let fetch = FollowerFetch {
            replica: broker(1),
            current_leader_epoch: LeaderEpoch(1),
            fetch_offset: Offset(3),
            last_fetched_epoch: Some(LeaderEpoch(0)),
            max_bytes: 1024,
        };
        let response = c.replica(0).handle_follower_fetch(now, &fetch).unwrap();
        assert_eq!(
            response,
            FetchResponse {
                leader_epoch: LeaderEpoch(1),
                fetch_offset: Offset(3),
                records: Bytes::new(),
                high_watermark: Offset(0),
                log_start_offset: Offset(0),
                diverging_epoch: Some(EpochEndOffset {
                    leader_epoch: LeaderEpoch(0),
                    end_offset: Offset(1),
                }),
            }
        );
    }

    #[test]
    fn a_diverging_epoch_in_a_fetch_response_truncates_the_follower_then_it_refetches() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        c.produce(&["x"], Acks::Leader).unwrap();
        c.fetch(1); // replica 1 now has "x" at offset 1 in epoch 0
        c.elect(2); // replica 2 never got "x"
        c.produce(&["b"], Acks::Leader).unwrap();
        c.fetch(1); // epoch query: epoch 0 ends at 1 on replica 2
        assert_eq!(c.replica(1).log_end_offset(), Offset(1));
        // A stale answer for the old fetch offset is ignored.
        let now = c.now();
        let stale = FetchResponse {
            leader_epoch: LeaderEpoch(1),
            fetch_offset: Offset(2),
            records: Bytes::new(),
            high_watermark: Offset(2),
            log_start_offset: Offset(0),
            diverging_epoch: Some(EpochEndOffset {
                leader_epoch: LeaderEpoch(0),
                end_offset: Offset(0),
            }),
        };
        c.replica(1).handle_fetch_response(now, &stale).unwrap();
        assert_eq!(c.replica(1).log_end_offset(), Offset(1));
        c.fetch(1);
        assert_eq!(c.batch_at(1, Offset(1)), c.batch_at(2, Offset(1)));
    }

    #[test]
    fn a_follower_high_watermark_is_the_leaders_capped_by_its_own_log_end() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2);
        assert_eq!(c.replica(0).high_watermark(), Offset(1));
        assert_eq!(
            c.replica(1).high_watermark(),
            Offset(0),
            "learns it on its next fetch"
        );
        c.replicate(1);
        assert_eq!(c.replica(1).high_watermark(), Offset(1));
        c.produce(&["b", "c"], Acks::Leader).unwrap();
        c.fetch(1);
        c.fetch(2);
        c.fetch(2);
        assert_eq!(
            c.replica(0).high_watermark(),
            Offset(1),
            "replica 1 not acknowledged yet"
        );
        c.fetch(1);
        assert_eq!(c.replica(0).high_watermark(), Offset(3));
        assert_eq!(c.replica(1).high_watermark(), Offset(3));
        assert_eq!(c.replica(2).high_watermark(), Offset(1));
    }

    #[test]
    fn under_a_syncing_policy_a_follower_fetches_again_only_once_its_data_is_durable() {
        let mut c = Cluster::new(syncing(), ReplicationConfig::default());
        c.auto_sync = false;
        c.produce(&["a"], Acks::Leader).unwrap();
        c.sync(0);
        assert!(c.fetch(1));
        assert_eq!(c.replica(1).log_end_offset(), Offset(1));
        assert!(!c.fetch(1), "waits for the sync of offset 0");
        c.sync(1);
        assert!(c.fetch(1));
    }

    #[test]
    fn the_epoch_checkpoint_survives_a_crash_and_loses_epochs_whose_data_was_lost() {
        let mut c = Cluster::new(syncing(), ReplicationConfig::default());
        c.produce(&["a"], Acks::Leader).unwrap();
        c.elect(0);
        c.produce(&["b"], Acks::Leader).unwrap();
        c.elect(0); // epoch 2 starts at 2
        c.auto_sync = false;
        c.produce(&["c"], Acks::Leader).unwrap(); // never synced
        assert_eq!(
            c.replica(0).epochs().entries(),
            epochs(&[(0, 0), (1, 1), (2, 2)])
        );
        let disk = c.members[0].disk.clone();
        disk.crash();
        let (reopened, _) = PartitionReplica::open(
            disk,
            syncing(),
            ReplicationConfig::default(),
            broker(0),
            at_ms(1),
        )
        .unwrap();
        let end = reopened.log_end_offset();
        assert!(
            end == Offset(2) || end == Offset(3),
            "crash keeps the synced prefix"
        );
        let expected = if end == Offset(2) {
            epochs(&[(0, 0), (1, 1)])
        } else {
            epochs(&[(0, 0), (1, 1), (2, 2)])
        };
        assert_eq!(reopened.epochs().entries(), expected);
        assert_eq!(reopened.high_watermark(), Offset(0));
    }

    /// One follower round trip, described: the request, the answer, the follower afterwards.
    fn traced_fetch(c: &mut Cluster, i: usize) -> String {
        let now = c.now();
        let request = c.replica(i).next_request().expect("a request");
        let leader = c.leader;
        let answer = match request {
            FollowerRequest::OffsetsForLeaderEpoch(query) => {
                let answer = c
                    .replica(leader)
                    .handle_offsets_for_leader_epoch(&query)
                    .unwrap();
                c.replica(i)
                    .handle_epoch_end_offset(now, query.current_leader_epoch, answer)
                    .unwrap();
                format!("{answer:?}")
            }
            FollowerRequest::Fetch(fetch) => {
                let response = c
                    .replica(leader)
                    .handle_follower_fetch(now, &fetch)
                    .unwrap();
                c.replica(i).handle_fetch_response(now, &response).unwrap();
                let records = split_batches(response.records.clone()).unwrap();
                let epochs: Vec<i32> = records
                    .iter()
                    .map(|b| BatchHeader::parse(b).unwrap().partition_leader_epoch)
                    .collect();
                format!(
                    "{} batches (epochs {epochs:?}), hw {}, diverging {:?}",
                    records.len(),
                    response.high_watermark,
                    response.diverging_epoch
                )
            }
        };
        c.drain_all();
        let r = c.replica(i);
        format!(
            "replica {i}: {request:?}\n  -> {answer}\n  => log end {}, hw {}, epochs {:?}\n",
            r.log_end_offset(),
            r.high_watermark(),
            r.epochs().entries()
        )
    }

    #[test]
    fn a_leader_change_with_a_diverging_old_leader_exchanges_exactly_these_messages() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        let mut trace = String::new();
        trace += &traced_fetch(&mut c, 1);
        trace += &traced_fetch(&mut c, 2);
        c.produce(&["x"], Acks::Leader).unwrap(); // only on replica 0
        c.elect(1);
        c.produce(&["b", "c"], Acks::Leader).unwrap();
        trace += &traced_fetch(&mut c, 0); // epoch query, truncation
        trace += &traced_fetch(&mut c, 2); // epoch query, nothing to truncate
        for _ in 0..2 {
            trace += &traced_fetch(&mut c, 0);
            trace += &traced_fetch(&mut c, 2);
        }
        insta::assert_snapshot!(trace);
        c.assert_safe();
    }

    #[test]
    fn malformed_or_misplaced_records_from_the_leader_are_typed_errors_and_change_nothing() {
        let mut c = Cluster::simple(1);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.fetch(1);
        let now = c.now();
        let response = |records: Bytes| FetchResponse {
            leader_epoch: LeaderEpoch(0),
            fetch_offset: Offset(1),
            records,
            high_watermark: Offset(1),
            log_start_offset: Offset(0),
            diverging_epoch: None,
        };
        // A valid batch whose base offset is 0, where offset 1 is expected.
        let misplaced = response(replication_support::batch(&["b"]).freeze());
        assert_eq!(
            c.replica(1).handle_fetch_response(now, &misplaced),
            Err(ReplicationError::NonContiguousBatch {
                base_offset: Offset(0),
                log_end_offset: Offset(1)
            })
        );
        let garbage = response(Bytes::from_static(&[0xff; 70]));
        assert!(matches!(
            c.replica(1).handle_fetch_response(now, &garbage),
            Err(ReplicationError::Log(_))
        ));
        assert_eq!(c.replica(1).log_end_offset(), Offset(1));
        c.replica(1).check_invariants();
    }

    #[test]
    fn a_batch_from_an_older_epoch_than_the_log_has_is_refused() {
        let mut c = Cluster::simple(1);
        c.elect(0);
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(1); // replica 1 has epoch 1 from offset 0
        let mut old = replication_support::batch(&["b"]);
        odradek_core::record::set_base_offset(&mut old, Offset(1));
        odradek_core::record::set_partition_leader_epoch(&mut old, 0);
        let now = c.now();
        let response = FetchResponse {
            leader_epoch: LeaderEpoch(1),
            fetch_offset: Offset(1),
            records: old.freeze(),
            high_watermark: Offset(1),
            log_start_offset: Offset(0),
            diverging_epoch: None,
        };
        assert_eq!(
            c.replica(1).handle_fetch_response(now, &response),
            Err(ReplicationError::EpochRegression {
                batch_epoch: LeaderEpoch(0),
                latest_epoch: LeaderEpoch(1)
            })
        );
        assert_eq!(c.replica(1).log_end_offset(), Offset(1));
    }
    /// Regression (sim seed 2047): a failed fsync of the epoch checkpoint while a follower
    /// appended the first batch of a new epoch left the epoch in memory only; later batches
    /// of that epoch were appended without it ever reaching disk (and the checkpoint's
    /// temporary file, its sync failed once, failed every later sync). After a crash the
    /// replica led with a cache missing the epoch, answered its followers' fetches with a
    /// diverging epoch that made them truncate and refetch the same batches forever, and the
    /// ISR never grew back.
    #[test]
    fn an_epoch_checkpoint_that_failed_to_sync_is_written_before_the_next_append() {
        let mut c = Cluster::new(syncing(), ReplicationConfig::default());
        c.produce(&["a"], Acks::Leader).unwrap();
        c.replicate(2); // replica 2 holds offset 0 in epoch 0
        c.elect(1);
        c.produce(&["b"], Acks::Leader).unwrap(); // offset 1 in epoch 1
        assert!(c.fetch(2)); // the epoch query: nothing to truncate
        let disk = c.members[2].disk.clone();
        let healthy = disk.faults();
        disk.set_faults(odradek_sim::disk::SimDiskFaults {
            sync_failure_probability: 1.0,
            ..healthy.clone()
        });
        let Some(FollowerRequest::Fetch(fetch)) = c.replica(2).next_request() else {
            panic!("replica 2 fetches");
        };
        let now = c.now();
        let response = c.replica(1).handle_follower_fetch(now, &fetch).unwrap();
        c.drain(1);
        assert!(matches!(
            c.replica(2).handle_fetch_response(now, &response),
            Err(ReplicationError::Log(_))
        ));
        assert_eq!(c.replica(2).log_end_offset(), Offset(1), "nothing appended");
        disk.set_faults(healthy);
        assert!(c.fetch(2)); // the same batch again: the checkpoint is written first
        assert_eq!(c.replica(2).log_end_offset(), Offset(2));
        disk.crash();
        let (reopened, _) = PartitionReplica::open(
            disk,
            syncing(),
            ReplicationConfig::default(),
            broker(2),
            at_ms(1),
        )
        .unwrap();
        assert_eq!(reopened.log_end_offset(), Offset(2));
        assert_eq!(reopened.epochs().entries(), epochs(&[(0, 0), (1, 1)]));
    }
}
