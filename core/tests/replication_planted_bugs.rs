//! The four planted replication bugs: each test runs the same scenario with and without the
//! bug and shows the wrong behaviour only when it is planted.

mod replication_support;

/// Inside a `replication` module so `cargo test -p odradek-core replication` runs them.
mod replication {
    use super::replication_support;
    use odradek_core::bugs::{PlantedBug, PlantedBugs};
    use odradek_core::controller::PartitionEpoch;
    use odradek_core::log::LogConfig;
    use odradek_core::record::Offset;
    use odradek_core::replication::{AckStatus, Acks, FollowerRequest, ReplicationConfig};
    use replication_support::{broker, Cluster};

    fn cluster(bug: Option<PlantedBug>, min_insync_replicas: usize) -> Cluster {
        let log_config = LogConfig {
            planted_bugs: bug.map_or(PlantedBugs::NONE, PlantedBugs::only),
            ..LogConfig::default()
        };
        Cluster::new(
            log_config,
            ReplicationConfig {
                min_insync_replicas,
                replica_lag_time_max_ms: 100,
                ..ReplicationConfig::default()
            },
        )
    }

    #[test]
    fn acks_all_ignores_min_insync_answers_before_the_followers_have_the_records() {
        for (bug, expected) in [
            (None, false),
            (Some(PlantedBug::AcksAllIgnoresMinInsync), true),
        ] {
            let mut c = cluster(bug, 2);
            let outcome = c.produce(&["a"], Acks::All).unwrap();
            assert_eq!(outcome.ack == AckStatus::Done, expected, "bug {bug:?}");
            let now = c.now();
            c.replica(0)
                .handle_isr_update(now, PartitionEpoch(1), vec![broker(0)])
                .unwrap();
            assert_eq!(
                c.produce(&["b"], Acks::All).is_ok(),
                expected,
                "bug {bug:?}"
            );
        }
    }

    #[test]
    fn truncate_to_high_watermark_loses_an_acknowledged_record_on_the_next_leader() {
        for (bug, loses) in [
            (None, false),
            (Some(PlantedBug::TruncateToHighWatermark), true),
        ] {
            let mut c = cluster(bug, 2);
            c.produce(&["a"], Acks::All).unwrap();
            c.fetch(1);
            c.fetch(2);
            c.fetch(1);
            c.fetch(2); // the leader's HW reaches 1: "a" is acknowledged
            assert_eq!(c.acknowledged.len(), 1);
            assert_eq!(
                c.replica(1).high_watermark(),
                Offset(0),
                "replica 1 not told yet"
            );
            c.elect(0); // a new epoch: replica 1 becomes a follower again
            c.elect(1); // the old leader fails over to replica 1, which is in the ISR
            assert_eq!(c.violation().is_some(), loses, "bug {bug:?}");
            assert_eq!(c.replica(1).log_end_offset() == Offset(0), loses);
        }
    }

    #[test]
    fn serve_beyond_high_watermark_lets_consumers_read_unreplicated_records() {
        for (bug, visible) in [
            (None, false),
            (Some(PlantedBug::ServeBeyondHighWatermark), true),
        ] {
            let mut c = cluster(bug, 1);
            c.produce(&["a"], Acks::Leader).unwrap();
            assert_eq!(c.replica(0).high_watermark(), Offset(0));
            let bound = c.replica(0).consumer_read_bound();
            assert_eq!(bound == Offset(1), visible, "bug {bug:?}");
            let read = c.replica(0).read_for_consumer(Offset(0), 1024).unwrap();
            assert_eq!(!read.records.is_empty(), visible, "bug {bug:?}");
        }
    }

    #[test]
    fn high_watermark_before_follower_has_data_acknowledges_records_the_followers_never_got() {
        let bug = PlantedBug::HighWatermarkBeforeFollowerHasData;
        for (bug, acknowledged) in [(None, false), (Some(bug), true)] {
            let mut c = cluster(bug, 2);
            c.produce(&["a"], Acks::All).unwrap();
            // Both followers fetch, but the responses are lost on the way back.
            let now = c.now();
            for follower in [1, 2] {
                let Some(FollowerRequest::Fetch(fetch)) = c.replica(follower).next_request() else {
                    panic!("a follower of an empty log fetches at once");
                };
                c.replica(0).handle_follower_fetch(now, &fetch).unwrap();
            }
            c.drain(0);
            assert_eq!(c.replica(0).high_watermark() == Offset(1), acknowledged);
            assert_eq!(c.acknowledged.len() == 1, acknowledged, "bug {bug:?}");
            assert_eq!(c.violation().is_some(), acknowledged, "bug {bug:?}");
        }
    }
}
