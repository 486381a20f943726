//! Replication settings of one partition, with Kafka's names and defaults.

/// How many `acks=all` produces may wait for the in-sync replicas at once; more get
/// [`super::ReplicationError::Backpressure`].
pub const PENDING_ACKS_MAX: usize = 10_000;

/// How long a leader waits for the controller's answer to an AlterPartition before sending
/// it again (the request or its answer may be lost; a duplicate is rejected as stale).
pub const ALTER_PARTITION_RETRY_MS: u64 = 5_000;

/// Replication configuration of one partition (broker and topic configs in Kafka).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// A follower that has not caught up to the leader's log end offset for this long is
    /// removed from the ISR (`replica.lag.time.max.ms`, Kafka's default 30 s).
    pub replica_lag_time_max_ms: u64,
    /// `acks=all` needs at least this many in-sync replicas (`min.insync.replicas`).
    pub min_insync_replicas: usize,
    /// May the controller elect a leader outside the ISR (`unclean.leader.election.enable`,
    /// a topic config, off by default)? Read by [`super::elect_leader`].
    pub unclean_leader_election_enable: bool,
    /// Bytes a follower asks for per fetch (`replica.fetch.max.bytes`; at least one batch
    /// is always served).
    pub replica_fetch_max_bytes: usize,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            replica_lag_time_max_ms: 30_000,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_fetch_max_bytes: 1024 * 1024,
        }
    }
}
