//! Same seed ⇒ the same run: byte-identical trace lines, equal trace hashes, equal
//! histories. (The bin crate's tests repeat this across two separate processes.)

use odradek_jepsen::history::jsonl;
use odradek_sim::{options_from_seed, run, FaultKind, FaultSelection};

#[test]
fn the_same_seed_twice_gives_the_same_trace_and_history() {
    for seed in [1u64, 7, 42, 1234] {
        let mut options = options_from_seed(seed, &FaultSelection::default());
        options.trace = true;
        let first = run(&options);
        let second = run(&options);
        assert!(!first.trace.is_empty(), "seed {seed}: the trace has lines");
        assert_eq!(first.trace, second.trace, "seed {seed}: traces differ");
        assert_eq!(first.trace_hash, second.trace_hash, "seed {seed}");
        assert_eq!(
            jsonl::to_string(&first.history),
            jsonl::to_string(&second.history),
            "seed {seed}: histories differ"
        );
        assert_eq!(first.summary, second.summary, "seed {seed}");
    }
}

#[test]
fn different_seeds_take_different_paths() {
    let selection = FaultSelection::default();
    let hashes: std::collections::BTreeSet<u64> = (0..6)
        .map(|seed| run(&options_from_seed(seed, &selection)).trace_hash)
        .collect();
    assert_eq!(hashes.len(), 6, "six seeds, six distinct traces");
}

#[test]
fn keeping_the_trace_lines_does_not_change_the_run() {
    let selection = FaultSelection {
        pinned: [FaultKind::Crash, FaultKind::NetworkDelay].into(),
        ..FaultSelection::default()
    };
    let quiet = options_from_seed(5, &selection);
    let mut traced = quiet.clone();
    traced.trace = true;
    let a = run(&quiet);
    let b = run(&traced);
    assert_eq!(a.summary, b.summary);
    assert_eq!(jsonl::to_string(&a.history), jsonl::to_string(&b.history));
}
