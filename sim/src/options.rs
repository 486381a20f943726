//! What a simulation run does: the fault kinds it may inject, how hard, the workload's size,
//! and an optional planted bug. [`options_from_seed`] draws every knob from the seed (swarm
//! testing: each seed picks its own fault mix and intensity), so a seed alone names a run;
//! [`FaultSelection`] lets the CLI pin or exclude fault kinds on top of the draw.
//!
//! Why swarm testing: a fixed "all faults at medium rate" mix hides bugs that need one fault
//! to be frequent and another absent (Groce et al., *Swarm Testing*, ISSTA 2012).

use odradek_core::bugs::PlantedBug;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::fmt;

/// A kind of fault the world can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Messages take a drawn time to arrive (with a tail).
    NetworkDelay,
    /// Packets are dropped (TCP retransmits them: a delay; repeated loss resets).
    NetworkDrop,
    /// Packets are duplicated (TCP discards the copy).
    NetworkDuplicate,
    /// Packets overtake each other (TCP puts them back in order).
    NetworkReorder,
    /// Network partitions: symmetric, one-way, isolating one node, halves.
    Partition,
    /// FoundationDB's swizzle-clog: links clogged one by one, unclogged in random order.
    SwizzleClog,
    /// Connections are reset: a client's in-flight requests get an unknown outcome.
    ConnectionReset,
    /// Disk operations take a drawn time (syncs the longest).
    DiskLatency,
    /// A crash loses or tears the unsynced tail of files (needs `Crash` to matter).
    TornWrites,
    /// Reads return a flipped bit (the stored bytes are intact).
    ReadCorruption,
    /// Writes store a flipped bit.
    WriteCorruption,
    /// Writes land at the wrong position of the file.
    MisdirectedWrites,
    /// The disk fills up (ENOSPC).
    DiskFull,
    /// fsync fails (fsyncgate semantics: the unsynced data is gone at the next crash).
    FsyncError,
    /// A node crashes (memory lost) and restarts from its disk.
    Crash,
    /// A node stops processing for a while, then resumes with its memory intact.
    Pause,
    /// A node crashes and restarts several times in quick succession.
    RestartStorm,
    /// A node's wall clock runs ahead of or behind the others'.
    ClockSkew,
    /// A node's wall clock jumps forward or back.
    ClockJump,
    /// An operator moves a partition's replicas onto other brokers (KIP-455 reassignment,
    /// Jepsen's Redpanda `move-partition` nemesis), or cancels a running move. Clusters only.
    MovePartition,
    /// A broker stops gracefully: it asks the controller to move its leadership and ISR
    /// memberships away (KRaft's controlled shutdown), keeps serving a while, exits (its
    /// process dies, the machine keeps its page cache), and restarts later. Clusters only.
    ControlledShutdown,
}

impl FaultKind {
    /// Every fault kind, in declaration order.
    pub const ALL: [FaultKind; 21] = [
        FaultKind::NetworkDelay,
        FaultKind::NetworkDrop,
        FaultKind::NetworkDuplicate,
        FaultKind::NetworkReorder,
        FaultKind::Partition,
        FaultKind::SwizzleClog,
        FaultKind::ConnectionReset,
        FaultKind::DiskLatency,
        FaultKind::TornWrites,
        FaultKind::ReadCorruption,
        FaultKind::WriteCorruption,
        FaultKind::MisdirectedWrites,
        FaultKind::DiskFull,
        FaultKind::FsyncError,
        FaultKind::Crash,
        FaultKind::Pause,
        FaultKind::RestartStorm,
        FaultKind::ClockSkew,
        FaultKind::ClockJump,
        FaultKind::MovePartition,
        FaultKind::ControlledShutdown,
    ];

    /// The kebab-case name (`--faults`, summaries, nemesis ops).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::NetworkDelay => "delay",
            FaultKind::NetworkDrop => "drop",
            FaultKind::NetworkDuplicate => "duplicate",
            FaultKind::NetworkReorder => "reorder",
            FaultKind::Partition => "partition",
            FaultKind::SwizzleClog => "swizzle-clog",
            FaultKind::ConnectionReset => "connection-reset",
            FaultKind::DiskLatency => "disk-latency",
            FaultKind::TornWrites => "torn-writes",
            FaultKind::ReadCorruption => "read-corruption",
            FaultKind::WriteCorruption => "write-corruption",
            FaultKind::MisdirectedWrites => "misdirected-writes",
            FaultKind::DiskFull => "disk-full",
            FaultKind::FsyncError => "fsync-error",
            FaultKind::Crash => "crash",
            FaultKind::Pause => "pause",
            FaultKind::RestartStorm => "restart-storm",
            FaultKind::ClockSkew => "clock-skew",
            FaultKind::ClockJump => "clock-jump",
            FaultKind::MovePartition => "move-partition",
            FaultKind::ControlledShutdown => "controlled-shutdown",
        }
    }

    /// Parses a name made by [`FaultKind::name`].
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Does a single broker (replication factor 1, fsync-every-batch topics) promise to
    /// survive this fault without losing an acknowledged record? Corruption of stored bytes
    /// is detected (checksums) but cannot be repaired without a second copy, so those kinds
    /// are injected only when asked for, and then loss is reported as expected, not a bug.
    pub fn is_survivable_by_one_replica(self) -> bool {
        !matches!(
            self,
            FaultKind::ReadCorruption | FaultKind::WriteCorruption | FaultKind::MisdirectedWrites
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of fault kinds.
pub type FaultSet = BTreeSet<FaultKind>;

/// Parses a comma-separated list of fault names (`"crash,partition"`); `all` means every kind.
pub fn parse_fault_list(list: &str) -> Result<FaultSet, String> {
    let mut set = FaultSet::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "all" {
            set.extend(FaultKind::ALL);
            continue;
        }
        let kind = FaultKind::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown fault kind {name:?} (known: {})", known.join(", "))
        })?;
        set.insert(kind);
    }
    Ok(set)
}

/// Controllers of a cluster run's metadata quorum (a majority of 3 survives one loss).
pub const CLUSTER_CONTROLLERS: usize = 3;

/// How the CLI narrows the seed's draw: `pinned` kinds are always on, `excluded` never.
/// With `only` set, exactly the pinned kinds are on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultSelection {
    /// Always on.
    pub pinned: FaultSet,
    /// Never on.
    pub excluded: FaultSet,
    /// Exactly `pinned`, nothing drawn.
    pub only: bool,
}

/// Everything that defines a run. Built by [`options_from_seed`]; fields may be adjusted
/// afterwards (tests, shrinking), and the run is a pure function of this value.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The seed every random choice of the run comes from.
    pub seed: u64,
    /// Broker nodes in the world.
    pub nodes: usize,
    /// Controller processes of the metadata quorum; 0 runs the brokers standalone (each
    /// its own controller: only meaningful with one broker).
    pub controllers: usize,
    /// Client processes (producers and consumers together).
    pub clients: usize,
    /// Topics' partitions in the queue workload.
    pub partitions: i32,
    /// Simulated length of the safety phase (faults on), in nanoseconds.
    pub safety_ns: u64,
    /// Bound on the liveness phase (faults healed) before the run fails, in nanoseconds.
    pub liveness_ns: u64,
    /// Client operations the workload issues at most during the safety phase.
    pub operations_max: u64,
    /// `min.insync.replicas` of the `acks-all` topic in a cluster (capped at the
    /// replication factor; a standalone broker's topics never set it). Drawn per seed:
    /// 1, 2 (twice as likely: what operators run with replication factor 3) or 3.
    pub min_insync_replicas: i32,
    /// The fault kinds this run injects.
    pub faults: FaultSet,
    /// Scales every fault's rate: 0.0 (rare) to 1.0 (frequent).
    pub intensity: f64,
    /// A planted bug, if any.
    pub bug: Option<PlantedBug>,
    /// Keep the readable event trace (the trace hash is always computed).
    pub trace: bool,
}

impl Options {
    /// Is this fault kind on in this run?
    pub fn has(&self, kind: FaultKind) -> bool {
        self.faults.contains(&kind)
    }

    /// Sets the topology: one broker runs standalone (its own controller); more run as a
    /// cluster with a quorum of [`CLUSTER_CONTROLLERS`] controllers.
    pub fn set_brokers(&mut self, brokers: usize) {
        self.nodes = brokers.max(1);
        self.controllers = if self.nodes > 1 {
            CLUSTER_CONTROLLERS
        } else {
            0
        };
    }

    /// Is this a multi-broker cluster run?
    pub fn is_cluster(&self) -> bool {
        self.controllers > 0
    }

    /// The fault kinds on in this run that one replica cannot survive without loss.
    pub fn unsurvivable_faults(&self) -> Vec<FaultKind> {
        self.faults
            .iter()
            .copied()
            .filter(|kind| !kind.is_survivable_by_one_replica())
            .collect()
    }

    /// The command that replays this run (seed, fault selection, bug).
    pub fn replay_command(&self, selection: &FaultSelection) -> String {
        let mut command = format!("odradek sim --seed {}", self.seed);
        if selection.only {
            command.push_str(" --faults-only ");
            command.push_str(&join_names(&selection.pinned));
        } else {
            if !selection.pinned.is_empty() {
                command.push_str(" --faults ");
                command.push_str(&join_names(&selection.pinned));
            }
            if !selection.excluded.is_empty() {
                command.push_str(" --exclude-faults ");
                command.push_str(&join_names(&selection.excluded));
            }
        }
        if let Some(bug) = self.bug {
            command.push_str(" --bug ");
            command.push_str(bug.name());
        }
        command
    }
}

fn join_names(set: &FaultSet) -> String {
    let names: Vec<&str> = set.iter().map(|kind| kind.name()).collect();
    names.join(",")
}

/// The default scenario for a seed: a cluster of 3 to 5 brokers with a quorum of
/// [`CLUSTER_CONTROLLERS`] controllers, a handful of clients, 10 simulated seconds of faults,
/// and a fault mix drawn from the seed. Each survivable kind is on with probability 1/2;
/// corruption kinds only when pinned. (The broker count is drawn last, so every other draw
/// of a seed is the one it had when the world was a single broker: `set_brokers(1)` gives
/// that scenario back; `min.insync.replicas` and then the kinds of [`DRAWN_LAST`] come after
/// it, so a seed's earlier draws did not change when they were added.)
pub fn options_from_seed(seed: u64, selection: &FaultSelection) -> Options {
    // A stream of its own, so that adding a knob to the world never changes this draw.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f70_7469_6f6e_7321);
    let mut faults = FaultSet::new();
    let select = |kind: FaultKind, drawn: bool, faults: &mut FaultSet| {
        let default_on = kind.is_survivable_by_one_replica() && drawn;
        let on = if selection.only {
            selection.pinned.contains(&kind)
        } else {
            (default_on || selection.pinned.contains(&kind)) && !selection.excluded.contains(&kind)
        };
        if on {
            faults.insert(kind);
        }
    };
    for kind in FaultKind::ALL
        .into_iter()
        .filter(|k| !DRAWN_LAST.contains(k))
    {
        select(kind, rng.random_bool(0.5), &mut faults);
    }
    let mut options = Options {
        seed,
        nodes: 1,
        controllers: 0,
        clients: rng.random_range(2..=5),
        partitions: rng.random_range(1..=3),
        safety_ns: 10_000_000_000,
        liveness_ns: 30_000_000_000,
        operations_max: 5_000,
        min_insync_replicas: 2,
        faults,
        intensity: rng.random_range(0.1..=1.0),
        bug: None,
        trace: false,
    };
    options.set_brokers(rng.random_range(3..=5));
    options.min_insync_replicas = MIN_INSYNC_DRAW[rng.random_range(0..MIN_INSYNC_DRAW.len())];
    for kind in DRAWN_LAST {
        select(kind, rng.random_bool(0.5), &mut options.faults);
    }
    options
}

/// Fault kinds added after seeds were published, drawn after every other knob so that a
/// seed's earlier draws stay what they were.
const DRAWN_LAST: [FaultKind; 2] = [FaultKind::MovePartition, FaultKind::ControlledShutdown];

/// The values a seed draws `min.insync.replicas` from, uniformly (so 2 is twice as likely).
pub const MIN_INSYNC_DRAW: [i32; 4] = [1, 2, 2, 3];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_name_parses_back_to_the_same_kind() {
        for kind in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(kind.name()), Some(kind));
        }
        assert!(parse_fault_list("crash,nope").is_err());
        assert_eq!(parse_fault_list("all").unwrap().len(), FaultKind::ALL.len());
    }

    #[test]
    fn the_same_seed_draws_the_same_options_and_seeds_differ() {
        let selection = FaultSelection::default();
        assert_eq!(
            options_from_seed(7, &selection),
            options_from_seed(7, &selection)
        );
        let mixes: BTreeSet<Vec<FaultKind>> = (0..20)
            .map(|seed| {
                options_from_seed(seed, &selection)
                    .faults
                    .into_iter()
                    .collect()
            })
            .collect();
        assert!(mixes.len() > 10, "swarm draws should differ between seeds");
    }

    #[test]
    fn seeds_draw_every_min_insync_setting_and_two_most_often() {
        let selection = FaultSelection::default();
        let mut counts = [0usize; 4];
        for seed in 0..400 {
            let drawn = options_from_seed(seed, &selection).min_insync_replicas;
            assert!((1..=3).contains(&drawn), "seed {seed} drew {drawn}");
            counts[usize::try_from(drawn).unwrap_or(0)] += 1;
        }
        assert!(counts[1] > 50 && counts[3] > 50, "{counts:?}");
        assert!(counts[2] > counts[1] && counts[2] > counts[3], "{counts:?}");
    }

    #[test]
    fn corruption_is_drawn_only_when_pinned_and_exclusion_wins() {
        let selection = FaultSelection::default();
        for seed in 0..50 {
            assert!(options_from_seed(seed, &selection)
                .unsurvivable_faults()
                .is_empty());
        }
        let pinned = FaultSelection {
            pinned: [FaultKind::ReadCorruption].into(),
            excluded: [FaultKind::Crash].into(),
            only: false,
        };
        let options = options_from_seed(3, &pinned);
        assert!(options.has(FaultKind::ReadCorruption) && !options.has(FaultKind::Crash));
        let only = FaultSelection {
            pinned: [FaultKind::Pause].into(),
            excluded: FaultSet::new(),
            only: true,
        };
        assert_eq!(
            options_from_seed(3, &only).faults,
            [FaultKind::Pause].into()
        );
    }

    #[test]
    fn the_replay_command_names_seed_selection_and_bug() {
        let selection = FaultSelection {
            pinned: [FaultKind::Crash].into(),
            excluded: [FaultKind::Pause].into(),
            only: false,
        };
        let mut options = options_from_seed(42, &selection);
        options.bug = Some(PlantedBug::FetchSkipsRecord);
        assert_eq!(
            options.replay_command(&selection),
            "odradek sim --seed 42 --faults crash --exclude-faults pause --bug fetch-skips-record"
        );
    }
}
