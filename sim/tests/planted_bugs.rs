//! Every planted bug is caught within a stated number of seeds, and the same seeds pass
//! without it. The bound is the promise: if a change to the simulator makes a bug harder to
//! find, this test says so.

use odradek_core::bugs::PlantedBug;
use odradek_sim::{options_from_seed, run, FaultKind, FaultSelection, Options};

/// A bug, the faults its scenario pins, and within how many seeds it must be caught.
struct Case {
    bug: PlantedBug,
    faults: &'static [FaultKind],
    seeds_max: u64,
}

const CASES: [Case; 5] = [
    Case {
        bug: PlantedBug::AckBeforeDurable,
        faults: &[FaultKind::DiskLatency],
        seeds_max: 2,
    },
    Case {
        bug: PlantedBug::FetchBeyondDurable,
        faults: &[FaultKind::DiskLatency],
        seeds_max: 2,
    },
    Case {
        bug: PlantedBug::RecoverWithoutTruncatingTornTail,
        faults: &[
            FaultKind::Crash,
            FaultKind::TornWrites,
            FaultKind::DiskLatency,
        ],
        seeds_max: 20,
    },
    Case {
        bug: PlantedBug::FetchSkipsRecord,
        faults: &[FaultKind::ConnectionReset],
        seeds_max: 10,
    },
    Case {
        bug: PlantedBug::OffsetReusedAfterCrash,
        faults: &[FaultKind::Crash],
        seeds_max: 10,
    },
];

fn options(case: &Case, seed: u64, bug: Option<PlantedBug>) -> Options {
    let selection = FaultSelection {
        pinned: case.faults.iter().copied().collect(),
        only: true,
        ..FaultSelection::default()
    };
    let mut options = options_from_seed(seed, &selection);
    options.intensity = 1.0;
    options.bug = bug;
    options
}

/// The first seed below the bound that fails with the bug planted.
fn first_catch(case: &Case) -> Option<(u64, String)> {
    (0..case.seeds_max).find_map(|seed| {
        let result = run(&options(case, seed, Some(case.bug)));
        result.failure.map(|failure| (seed, failure.to_string()))
    })
}

fn check(case: &Case) {
    let (seed, failure) = first_catch(case)
        .unwrap_or_else(|| panic!("{} not caught in {} seeds", case.bug, case.seeds_max));
    eprintln!("{} caught at seed {seed}: {failure}", case.bug);
    for clean_seed in 0..=seed {
        let result = run(&options(case, clean_seed, None));
        assert!(
            result.passed(),
            "without {}, seed {clean_seed} fails: {}",
            case.bug,
            result.failure.map(|f| f.to_string()).unwrap_or_default()
        );
    }
}

#[test]
fn acknowledging_before_the_fsync_is_caught() {
    check(&CASES[0]);
}

#[test]
fn serving_fetches_beyond_the_durable_offset_is_caught() {
    check(&CASES[1]);
}

#[test]
fn recovering_without_truncating_a_torn_tail_is_caught() {
    check(&CASES[2]);
}

#[test]
fn a_fetch_that_skips_a_record_is_caught() {
    check(&CASES[3]);
}

#[test]
fn reusing_an_offset_after_a_crash_is_caught() {
    check(&CASES[4]);
}
