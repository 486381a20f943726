//! The planted-bug catalogue: for each bug the simulator must find, the scenario it is hunted
//! in (pinned fault kinds), the bound on seeds, and the search itself. The test suite
//! (`sim/tests/planted_bugs.rs`) and `odradek sim --planted-bugs` (which prints the table for
//! the paper) both run exactly this, so the published table is generated, not typed.
//!
//! A bug counts as caught at the first seed (from 0) whose run fails with it planted; the
//! claim is completed by running every seed up to that one *without* the bug, which must pass
//! (otherwise the failure is the scenario's, not the bug's).

use crate::options::{options_from_seed, FaultKind, FaultSelection, Options};
use crate::outcome::{Failure, RunResult};
use odradek_core::bugs::PlantedBug;
use std::fmt::Write;

/// One bug, its scenario and its bound.
#[derive(Clone, Copy, Debug)]
pub struct PlantedBugCase {
    /// The bug.
    pub bug: PlantedBug,
    /// The fault kinds its scenario pins (and nothing else).
    pub faults: &'static [FaultKind],
    /// It must be caught below this seed.
    pub seeds_max: u64,
    /// Brokers in its world: 1 (standalone) or a replicated cluster.
    pub brokers: usize,
}

/// Every planted bug the single-broker world can exercise, with its scenario, in
/// `PlantedBug::ALL` order (bugs that [`PlantedBug::needs_cluster`] wait for the
/// multi-broker world).
pub const CASES: [PlantedBugCase; 5] = [
    PlantedBugCase {
        bug: PlantedBug::AckBeforeDurable,
        faults: &[FaultKind::DiskLatency],
        seeds_max: 2,
        brokers: 1,
    },
    PlantedBugCase {
        bug: PlantedBug::FetchBeyondDurable,
        faults: &[FaultKind::DiskLatency],
        seeds_max: 2,
        brokers: 1,
    },
    PlantedBugCase {
        bug: PlantedBug::RecoverWithoutTruncatingTornTail,
        faults: &[
            FaultKind::Crash,
            FaultKind::TornWrites,
            FaultKind::DiskLatency,
        ],
        seeds_max: 20,
        brokers: 1,
    },
    PlantedBugCase {
        bug: PlantedBug::FetchSkipsRecord,
        faults: &[FaultKind::ConnectionReset],
        seeds_max: 10,
        brokers: 1,
    },
    PlantedBugCase {
        bug: PlantedBug::OffsetReusedAfterCrash,
        faults: &[FaultKind::Crash],
        seeds_max: 10,
        brokers: 1,
    },
];

/// The replication and controller bugs, hunted in a three-broker cluster, in
/// `PlantedBug::ALL` order.
pub const CLUSTER_CASES: [PlantedBugCase; 7] = [
    PlantedBugCase {
        bug: PlantedBug::UncleanElectionByDefault,
        faults: &[FaultKind::Crash, FaultKind::Partition],
        seeds_max: 10,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::StaleAlterPartitionAccepted,
        faults: &[FaultKind::Partition, FaultKind::Pause],
        seeds_max: 250,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::AcksAllIgnoresMinInsync,
        faults: &[FaultKind::Crash],
        seeds_max: 10,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::TruncateToHighWatermark,
        faults: &[FaultKind::Crash, FaultKind::Partition],
        seeds_max: 10,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::ServeBeyondHighWatermark,
        faults: &[FaultKind::Crash, FaultKind::Partition],
        seeds_max: 5,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::HighWatermarkBeforeFollowerHasData,
        faults: &[FaultKind::Crash],
        seeds_max: 10,
        brokers: 3,
    },
    PlantedBugCase {
        bug: PlantedBug::ReassignmentCompletesEarly,
        faults: &[FaultKind::MovePartition],
        seeds_max: 10,
        brokers: 5,
    },
];

/// Every case: the single-broker ones, then the cluster ones.
pub fn all_cases() -> Vec<PlantedBugCase> {
    CASES.iter().chain(CLUSTER_CASES.iter()).copied().collect()
}

impl PlantedBugCase {
    /// The fault selection of the scenario: exactly the pinned kinds.
    pub fn selection(&self) -> FaultSelection {
        FaultSelection {
            pinned: self.faults.iter().copied().collect(),
            excluded: Default::default(),
            only: true,
        }
    }

    /// The options of `seed` in this scenario, at full intensity, with `bug` planted or not,
    /// and `min.insync.replicas` 2 (the setting every replication bug is stated against: with
    /// 1, "acks=all ignores min.insync.replicas" would be no bug at all).
    pub fn options(&self, seed: u64, bug: Option<PlantedBug>) -> Options {
        let mut options = options_from_seed(seed, &self.selection());
        options.intensity = 1.0;
        options.min_insync_replicas = 2;
        options.bug = bug;
        options.set_brokers(self.brokers);
        options
    }
}

/// What hunting one bug found.
#[derive(Clone, Debug)]
pub struct HuntResult {
    /// The case.
    pub case: PlantedBugCase,
    /// The first seed that failed with the bug, and how.
    pub caught: Option<(u64, Failure)>,
    /// The seeds up to the catching one that failed *without* the bug (must be empty).
    pub clean_failures: Vec<(u64, Failure)>,
}

impl HuntResult {
    /// Caught within the bound, and the same seeds pass without the bug.
    pub fn holds(&self) -> bool {
        self.caught.is_some() && self.clean_failures.is_empty()
    }
}

/// Hunts one bug with `runner` (normally [`crate::run`]).
pub fn hunt(case: &PlantedBugCase, runner: &dyn Fn(&Options) -> RunResult) -> HuntResult {
    let caught = (0..case.seeds_max).find_map(|seed| {
        let result = runner(&case.options(seed, Some(case.bug)));
        result.failure.map(|failure| (seed, failure))
    });
    let last = caught.as_ref().map_or(case.seeds_max, |(seed, _)| seed + 1);
    let clean_failures = (0..last)
        .filter_map(|seed| {
            let result = runner(&case.options(seed, None));
            result.failure.map(|failure| (seed, failure))
        })
        .collect();
    HuntResult {
        case: *case,
        caught,
        clean_failures,
    }
}

/// The markdown table of hunt results: bug, scenario, bound, the seed that caught it, and
/// what caught it.
pub fn table(results: &[HuntResult]) -> String {
    let mut out = String::from(
        "| planted bug | brokers | scenario (pinned faults) | seed bound | caught at seed | caught by | same seeds without the bug |\n|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        let faults: Vec<&str> = result.case.faults.iter().map(|k| k.name()).collect();
        let (seed, by) = match &result.caught {
            Some((seed, failure)) => (seed.to_string(), caught_by(failure)),
            None => ("not caught".to_owned(), "—".to_owned()),
        };
        let clean = if result.clean_failures.is_empty() {
            "pass".to_owned()
        } else {
            format!("{} fail", result.clean_failures.len())
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {seed} | {by} | {clean} |",
            result.case.bug,
            result.case.brokers,
            faults.join(", "),
            result.case.seeds_max
        );
    }
    out
}

/// A short description of what caught a bug, for the table.
fn caught_by(failure: &Failure) -> String {
    match failure {
        Failure::Invariant { message, .. } => format!("invariant: {}", first_words(message)),
        Failure::Panic { message, .. } => format!("panic: {}", first_words(message)),
        Failure::Anomaly { names, .. } => {
            let list: Vec<String> = names.iter().map(|(n, c)| format!("{n} ×{c}")).collect();
            format!("queue checker: {}", list.join(", "))
        }
        Failure::Liveness { .. } => "liveness: final reads never reached the end".to_owned(),
    }
}

fn first_words(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(12).collect();
    let mut short = words.join(" ").replace('|', "/");
    if text.split_whitespace().count() > 12 {
        short.push_str(" …");
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planted_bug_has_exactly_one_case_in_declaration_order() {
        let bugs: Vec<PlantedBug> = all_cases().iter().map(|case| case.bug).collect();
        let mut expected: Vec<PlantedBug> = PlantedBug::ALL
            .into_iter()
            .filter(|bug| !bug.needs_cluster())
            .collect();
        expected.extend(
            PlantedBug::ALL
                .into_iter()
                .filter(|bug| bug.needs_cluster()),
        );
        assert_eq!(bugs, expected);
        assert!(CLUSTER_CASES.iter().all(|case| case.brokers >= 3));
    }

    #[test]
    fn every_single_broker_bug_has_exactly_one_case_in_declaration_order() {
        let bugs: Vec<PlantedBug> = CASES.iter().map(|case| case.bug).collect();
        let single_broker: Vec<PlantedBug> = PlantedBug::ALL
            .into_iter()
            .filter(|bug| !bug.needs_cluster())
            .collect();
        assert_eq!(bugs, single_broker);
    }
}
