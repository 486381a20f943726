//! Planted bugs: deliberate, named mistakes the core can be switched into, so the simulator
//! can prove it finds each bug class real brokers have shipped (and that without the bug the
//! same seeds pass).
//!
//! # Contract
//! - A bug is planted only through [`PlantedBugs`] in the log configuration
//!   (`LogConfig::planted_bugs`) or, for the controller's bugs, the controller configuration
//!   (`ControllerConfig::planted_bugs`), which nothing but the simulator and tests set:
//!   `odradek serve` has no flag or config key for it and builds its configuration with
//!   [`PlantedBugs::NONE`] (a bin test asserts this). Production behaviour is the empty set.
//! - Each variant names the mistake it makes, not the symptom; the simulator's tests state
//!   which anomaly or invariant catches it and within how many seeds.

use std::fmt;

/// One deliberate mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlantedBug {
    /// `acks=all` under a syncing flush policy is answered right after the append, before the
    /// fsync that makes it durable.
    AckBeforeDurable,
    /// Fetches serve up to the log end offset under a syncing flush policy, including records
    /// a crash can still take back.
    FetchBeyondDurable,
    /// Recovery keeps a torn or corrupt tail instead of truncating it.
    RecoverWithoutTruncatingTornTail,
    /// A fetch that starts inside a batch skips to the next batch (an off-by-one on the
    /// batch boundary), so a record is never delivered.
    FetchSkipsRecord,
    /// After a crash, recovery sets the next offset one below the log end offset, so the
    /// first offset assigned after restart was already assigned before the crash.
    OffsetReusedAfterCrash,
    /// The controller elects an out-of-sync replica when no ISR member is live even though
    /// the topic leaves `unclean.leader.election.enable` at its default `false` (Kafka 0.8's
    /// default, found by Jepsen in 2013): acknowledged writes the new leader never had are lost.
    UncleanElectionByDefault,
    /// The controller does not fence AlterPartition by epoch: the leader-epoch check is
    /// skipped, and with it the partition-epoch and current-leader checks that would catch the
    /// same staleness, so a zombie leader from an older epoch rewrites the ISR.
    StaleAlterPartitionAccepted,
    /// Replication: an `acks=all` produce is answered as soon as the leader has the records,
    /// ignoring the in-sync replicas and `min.insync.replicas`.
    AcksAllIgnoresMinInsync,
    /// Replication: a replica that becomes a follower truncates its log to its high watermark
    /// instead of to the end offset of its last epoch on the leader (the bug KIP-101 fixed).
    TruncateToHighWatermark,
    /// Replication: the leader serves consumers up to its log end offset instead of the high
    /// watermark, so they read records the in-sync replicas do not all have yet.
    ServeBeyondHighWatermark,
    /// Replication: the leader counts the records it is *sending* a follower as the follower's,
    /// advancing the high watermark before the follower has them.
    HighWatermarkBeforeFollowerHasData,
    /// Reassignment: a move completes as soon as it starts, counting the target replicas in
    /// sync before they fetched anything and handing leadership to the first of them, so a
    /// new, empty replica can lead and the replicas holding the data are dropped.
    ReassignmentCompletesEarly,
}

impl PlantedBug {
    /// Every planted bug, in declaration order.
    pub const ALL: [PlantedBug; 12] = [
        PlantedBug::AckBeforeDurable,
        PlantedBug::FetchBeyondDurable,
        PlantedBug::RecoverWithoutTruncatingTornTail,
        PlantedBug::FetchSkipsRecord,
        PlantedBug::OffsetReusedAfterCrash,
        PlantedBug::UncleanElectionByDefault,
        PlantedBug::StaleAlterPartitionAccepted,
        PlantedBug::AcksAllIgnoresMinInsync,
        PlantedBug::TruncateToHighWatermark,
        PlantedBug::ServeBeyondHighWatermark,
        PlantedBug::HighWatermarkBeforeFollowerHasData,
        PlantedBug::ReassignmentCompletesEarly,
    ];

    /// The kebab-case name used by `odradek sim --bug`.
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::AckBeforeDurable => "ack-before-durable",
            PlantedBug::FetchBeyondDurable => "fetch-beyond-durable",
            PlantedBug::RecoverWithoutTruncatingTornTail => "recover-without-truncating-torn-tail",
            PlantedBug::FetchSkipsRecord => "fetch-skips-record",
            PlantedBug::OffsetReusedAfterCrash => "offset-reused-after-crash",
            PlantedBug::UncleanElectionByDefault => "unclean-election-by-default",
            PlantedBug::StaleAlterPartitionAccepted => "stale-alter-partition-accepted",
            PlantedBug::AcksAllIgnoresMinInsync => "acks-all-ignores-min-insync",
            PlantedBug::TruncateToHighWatermark => "truncate-to-high-watermark",
            PlantedBug::ServeBeyondHighWatermark => "serve-beyond-high-watermark",
            PlantedBug::HighWatermarkBeforeFollowerHasData => {
                "high-watermark-before-follower-has-data"
            }
            PlantedBug::ReassignmentCompletesEarly => "reassignment-completes-early",
        }
    }

    /// Does the bug live in code that only a cluster exercises (the controller's elections
    /// and ISR changes, replication)? Those need the multi-broker simulator world; the
    /// single-broker world refuses them rather than run a bug that cannot fire.
    pub fn needs_cluster(self) -> bool {
        matches!(
            self,
            PlantedBug::UncleanElectionByDefault
                | PlantedBug::StaleAlterPartitionAccepted
                | PlantedBug::AcksAllIgnoresMinInsync
                | PlantedBug::TruncateToHighWatermark
                | PlantedBug::ServeBeyondHighWatermark
                | PlantedBug::HighWatermarkBeforeFollowerHasData
                | PlantedBug::ReassignmentCompletesEarly
        )
    }

    /// Parses a name made by [`PlantedBug::name`].
    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|bug| bug.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for PlantedBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of planted bugs (a bit set: checked on hot paths; room for 32 bugs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlantedBugs(u32);

impl PlantedBugs {
    /// No bugs: production behaviour.
    pub const NONE: PlantedBugs = PlantedBugs(0);

    /// Exactly this bug.
    pub fn only(bug: PlantedBug) -> PlantedBugs {
        PlantedBugs(bug.bit())
    }

    /// This set with `bug` added.
    pub fn with(self, bug: PlantedBug) -> PlantedBugs {
        PlantedBugs(self.0 | bug.bit())
    }

    /// Is this bug planted?
    pub fn has(self, bug: PlantedBug) -> bool {
        self.0 & bug.bit() != 0
    }

    /// Is any bug planted?
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_name_parses_back_to_the_same_bug() {
        for bug in PlantedBug::ALL {
            assert_eq!(PlantedBug::from_name(bug.name()), Some(bug));
        }
        assert_eq!(PlantedBug::from_name("no-such-bug"), None);
    }

    #[test]
    fn a_set_holds_only_the_bug_it_was_made_with() {
        let set = PlantedBugs::only(PlantedBug::FetchSkipsRecord);
        assert!(set.has(PlantedBug::FetchSkipsRecord));
        assert!(!set.has(PlantedBug::AckBeforeDurable));
        assert!(PlantedBugs::NONE.is_empty() && !set.is_empty());
    }
}
