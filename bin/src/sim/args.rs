//! `odradek sim`'s flags and how they turn into a run's [`Options`].
//!
//! Contract: every flag is validated by clap's value parsers (so bad input exits 3 through
//! `main`, like `odradek check`), and a seed plus these flags name one run exactly: the
//! options are [`options_from_seed`] with the fault selection, then the planted bug and the
//! `--operations` / `--clients` overrides. The replay command printed for a failure names
//! every one of those, so pasting it reproduces the run.

use odradek_core::bugs::PlantedBug;
use odradek_sim::options::parse_fault_list;
use odradek_sim::{options_from_seed, FaultSelection, FaultSet, Options};
use std::fmt;
use std::path::PathBuf;

/// Arguments of `odradek sim`.
#[derive(Clone, Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["seed", "seeds", "planted_bugs"])))]
pub struct SimArgs {
    /// Run this one seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sweep a range of seeds: `A..B` (B excluded) or `A..=B` (B included).
    #[arg(long, value_parser = parse_seed_range)]
    pub seeds: Option<SeedRange>,
    /// Worker threads for a sweep (default: the machine's available parallelism).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Fault kinds always on, on top of the seed's draw (comma list; `all`).
    #[arg(long, value_parser = parse_fault_names, conflicts_with = "faults_only")]
    pub faults: Option<FaultSet>,
    /// Fault kinds never on (comma list; `all`).
    #[arg(long, value_parser = parse_fault_names, conflicts_with = "faults_only")]
    pub exclude_faults: Option<FaultSet>,
    /// Exactly these fault kinds, nothing drawn (comma list; `all`; `none` for no faults).
    #[arg(long, value_parser = parse_fault_names)]
    pub faults_only: Option<FaultSet>,
    /// Plant a deliberate bug in the core (see `odradek_core::bugs`).
    #[arg(long, value_parser = parse_bug)]
    pub bug: Option<PlantedBug>,
    /// Client operations the workload issues at most (overrides the seed's draw).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub operations: Option<u64>,
    /// Client processes (overrides the seed's draw).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub clients: Option<u64>,
    /// Brokers in the cluster (overrides the seed's draw): 1 runs a standalone broker
    /// (its own controller); 2 or more run a cluster with a quorum of 3 controllers.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub brokers: Option<u64>,
    /// `min.insync.replicas` of the acks=all topic in a cluster (overrides the seed's draw
    /// of 1, 2 or 3; capped at the replication factor).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3))]
    pub min_insync: Option<u64>,
    /// Print the run's event trace, one line per event (single seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub trace: bool,
    /// Write the run's history to this file (`.edn` for Jepsen EDN, else JSON lines;
    /// single seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub history: Option<PathBuf>,
    /// Write a self-contained HTML report (queue checker verdict, plots with fault windows
    /// shaded) to this file (single seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub report: Option<PathBuf>,
    /// If the seed fails, look for a smaller failing configuration (fewer fault kinds, fewer
    /// operations, fewer clients) and print the command that reproduces it (single seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub shrink: bool,
    /// Hunt every planted bug in its scenario and print the markdown table (bug, pinned
    /// faults, seed bound, the seed that caught it and what caught it, and whether the same
    /// seeds pass without it), as published in `papers/`.
    #[arg(long)]
    pub planted_bugs: bool,
}

/// A non-empty range of seeds, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed (included).
    pub last: u64,
}

impl SeedRange {
    /// How many seeds (saturating at `u64::MAX` for the whole `u64` range).
    pub fn len(&self) -> u64 {
        (self.last - self.first).saturating_add(1)
    }

    /// Never true: a range holds at least one seed by construction.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `offset`-th seed of the range.
    pub fn seed_at(&self, offset: u64) -> Option<u64> {
        self.first
            .checked_add(offset)
            .filter(|seed| *seed <= self.last)
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.first, self.last)
    }
}

/// Parses `A..B` (half-open) or `A..=B` (inclusive); an empty range is an error.
pub fn parse_seed_range(text: &str) -> Result<SeedRange, String> {
    let (start, end, inclusive) = if let Some((start, end)) = text.split_once("..=") {
        (start, end, true)
    } else if let Some((start, end)) = text.split_once("..") {
        (start, end, false)
    } else {
        return Err(format!("expected A..B or A..=B, got {text:?}"));
    };
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("{part:?} in {text:?} is not a seed (0 to {})", u64::MAX))
    };
    let (first, end) = (number(start)?, number(end)?);
    let last = if inclusive {
        Some(end)
    } else {
        end.checked_sub(1)
    };
    match last {
        Some(last) if last >= first => Ok(SeedRange { first, last }),
        _ => Err(format!("the seed range {text:?} is empty")),
    }
}

/// Parses a fault list as `odradek_sim` does, plus `none` (the empty list, which
/// `--faults-only none` needs to name a run without faults).
pub fn parse_fault_names(text: &str) -> Result<FaultSet, String> {
    if text.trim() == "none" {
        return Ok(FaultSet::new());
    }
    parse_fault_list(text)
}

/// Parses a planted bug's name; the error lists the known ones.
pub fn parse_bug(name: &str) -> Result<PlantedBug, String> {
    PlantedBug::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = PlantedBug::ALL.iter().map(|bug| bug.name()).collect();
        format!("unknown bug {name:?} (known: {})", known.join(", "))
    })
}

/// What the flags fix on top of the seed's draw: everything a replay must repeat.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSpec {
    /// Pinned, excluded or exact fault kinds.
    pub selection: FaultSelection,
    /// The planted bug.
    pub bug: Option<PlantedBug>,
    /// `--operations`: overrides `operations_max`.
    pub operations: Option<u64>,
    /// `--clients`: overrides `clients`.
    pub clients: Option<usize>,
    /// `--brokers`: overrides `nodes` (and the controller count with it).
    pub brokers: Option<usize>,
    /// `--min-insync`: overrides `min_insync_replicas`.
    pub min_insync: Option<i32>,
    /// Keep the readable trace.
    pub trace: bool,
}

impl RunSpec {
    /// The spec the flags describe.
    pub fn from_args(args: &SimArgs) -> RunSpec {
        let selection = match &args.faults_only {
            Some(only) => FaultSelection {
                pinned: only.clone(),
                excluded: FaultSet::new(),
                only: true,
            },
            None => FaultSelection {
                pinned: args.faults.clone().unwrap_or_default(),
                excluded: args.exclude_faults.clone().unwrap_or_default(),
                only: false,
            },
        };
        RunSpec {
            selection,
            bug: args.bug,
            operations: args.operations,
            // Bounded to 1..=1024 by the value parser, so the conversion cannot fail.
            clients: args.clients.and_then(|c| usize::try_from(c).ok()),
            brokers: args.brokers.and_then(|b| usize::try_from(b).ok()),
            // Bounded to 1..=3 by the value parser.
            min_insync: args.min_insync.and_then(|m| i32::try_from(m).ok()),
            trace: args.trace,
        }
    }

    /// Refuses combinations no run can honour: a cluster bug (elections, ISR changes,
    /// replication) planted in a standalone broker, which never runs that code.
    pub fn validate(&self) -> Result<(), String> {
        match (self.bug, self.brokers) {
            (Some(bug), Some(1)) if bug.needs_cluster() => Err(format!(
                "bug {} lives in cluster code (replication, elections, ISR changes) that a \
                 standalone broker never runs; give --brokers 3 (or more)",
                bug.name()
            )),
            _ => Ok(()),
        }
    }

    /// The options of this seed's run.
    pub fn options(&self, seed: u64) -> Options {
        let mut options = options_from_seed(seed, &self.selection);
        options.bug = self.bug;
        options.trace = self.trace;
        if let Some(operations) = self.operations {
            options.operations_max = operations;
        }
        if let Some(clients) = self.clients {
            options.clients = clients;
        }
        if let Some(brokers) = self.brokers {
            options.set_brokers(brokers);
        }
        if let Some(min_insync) = self.min_insync {
            options.min_insync_replicas = min_insync;
        }
        options
    }

    /// The command that replays this seed's run: `Options::replay_command` plus the
    /// overrides (and `--faults-only none`, which an empty exact list needs).
    pub fn replay_command(&self, seed: u64) -> String {
        let options = self.options(seed);
        let mut command = if self.selection.only && self.selection.pinned.is_empty() {
            let mut command = options.replay_command(&FaultSelection::default());
            command.push_str(" --faults-only none");
            command
        } else {
            options.replay_command(&self.selection)
        };
        if let Some(operations) = self.operations {
            command.push_str(&format!(" --operations {operations}"));
        }
        if let Some(clients) = self.clients {
            command.push_str(&format!(" --clients {clients}"));
        }
        if let Some(brokers) = self.brokers {
            command.push_str(&format!(" --brokers {brokers}"));
        }
        if let Some(min_insync) = self.min_insync {
            command.push_str(&format!(" --min-insync {min_insync}"));
        }
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use odradek_sim::FaultKind;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parse(argv: &[&str]) -> Result<SimArgs, clap::Error> {
        let argv = std::iter::once("sim").chain(argv.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.args)
    }

    #[test]
    fn half_open_and_inclusive_ranges_parse_to_their_seeds() {
        let half_open = parse_seed_range("3..7").unwrap();
        assert_eq!(
            (half_open.first, half_open.last, half_open.len()),
            (3, 6, 4)
        );
        let inclusive = parse_seed_range("3..=7").unwrap();
        assert_eq!(
            (inclusive.first, inclusive.last, inclusive.len()),
            (3, 7, 5)
        );
        assert_eq!(inclusive.seed_at(4), Some(7));
        assert_eq!(inclusive.seed_at(5), None);
        let whole = parse_seed_range(&format!("0..={}", u64::MAX)).unwrap();
        assert_eq!(whole.len(), u64::MAX);
        assert_eq!(whole.seed_at(u64::MAX), Some(u64::MAX));
    }

    #[test]
    fn empty_reversed_and_malformed_ranges_are_rejected() {
        for bad in [
            "5..5", "7..3", "4..=3", "0..0", "a..3", "3..", "..3", "3", "1..2..3",
        ] {
            assert!(parse_seed_range(bad).is_err(), "{bad} should be rejected");
        }
        assert!(parse_seed_range("5..5").unwrap_err().contains("empty"));
    }

    #[test]
    fn an_unknown_bug_is_rejected_with_the_known_names() {
        let error = parse_bug("no-such-bug").unwrap_err();
        for bug in PlantedBug::ALL {
            assert!(error.contains(bug.name()), "{error}");
            assert_eq!(parse_bug(bug.name()), Ok(bug));
        }
        assert_eq!(
            parse_bug("fetch-skips-record"),
            Ok(PlantedBug::FetchSkipsRecord)
        );
    }

    #[test]
    fn seed_or_seeds_is_required_and_single_seed_flags_refuse_a_sweep() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--seed", "1", "--seeds", "0..2"]).is_err());
        assert!(parse(&["--seeds", "0..2", "--trace"]).is_err());
        assert!(parse(&["--seeds", "0..2", "--shrink"]).is_err());
        assert!(parse(&["--seeds", "0..2", "--report", "r.html"]).is_err());
        assert!(parse(&["--seed", "1", "--faults", "crash", "--faults-only", "pause"]).is_err());
        assert!(parse(&["--seed", "1", "--jobs", "0"]).is_err());
        assert!(parse(&["--seed", "1", "--clients", "0"]).is_err());
        assert!(parse(&["--seed", "1", "--faults", "crash,nope"]).is_err());
        assert!(parse(&["--seeds", "0..=9", "--jobs", "2"]).is_ok());
    }

    #[test]
    fn the_spec_applies_selection_bug_and_overrides_to_the_seeds_draw() {
        let args = parse(&[
            "--seed",
            "9",
            "--faults-only",
            "crash,pause",
            "--bug",
            "offset-reused-after-crash",
            "--operations",
            "40",
            "--clients",
            "2",
        ])
        .unwrap();
        let spec = RunSpec::from_args(&args);
        let options = spec.options(9);
        assert_eq!(options.faults, [FaultKind::Crash, FaultKind::Pause].into());
        assert_eq!(options.bug, Some(PlantedBug::OffsetReusedAfterCrash));
        assert_eq!((options.operations_max, options.clients), (40, 2));
        assert_eq!(
            spec.replay_command(9),
            "odradek sim --seed 9 --faults-only crash,pause --bug offset-reused-after-crash \
             --operations 40 --clients 2"
        );
    }

    #[test]
    fn min_insync_overrides_the_draw_and_only_one_to_three_parse() {
        let spec = RunSpec::from_args(&parse(&["--seed", "4", "--min-insync", "3"]).unwrap());
        assert_eq!(spec.options(4).min_insync_replicas, 3);
        assert!(spec.replay_command(4).ends_with(" --min-insync 3"));
        assert!(parse(&["--seed", "4", "--min-insync", "0"]).is_err());
        assert!(parse(&["--seed", "4", "--min-insync", "4"]).is_err());
    }

    #[test]
    fn the_replay_command_parses_back_to_the_same_options() {
        let specs = [
            "--seed 5 --faults-only none --operations 8",
            "--seed 5 --faults crash --exclude-faults pause,delay --clients 3",
            "--seed 5 --bug fetch-skips-record",
            "--seed 5 --brokers 3 --min-insync 3",
        ];
        for flags in specs {
            let argv: Vec<&str> = flags.split(' ').collect();
            let spec = RunSpec::from_args(&parse(&argv).unwrap());
            let replay = spec.replay_command(5);
            let replay_argv: Vec<&str> = replay.split(' ').skip(2).collect();
            let replayed = RunSpec::from_args(&parse(&replay_argv).unwrap());
            assert_eq!(replayed.options(5), spec.options(5), "{flags} -> {replay}");
        }
    }
}
