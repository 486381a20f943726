//! A short sweep of the default scenario (every seed draws its own fault mix): all pass.
//! Long sweeps belong to the CLI (`odradek sim --seeds 0..10000`).

use odradek_sim::{options_from_seed, run, FaultSelection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const SEEDS: u64 = 300;
const THREADS: usize = 2;

#[test]
fn three_hundred_seeds_of_the_default_scenario_pass() {
    let next = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= SEEDS {
                    return;
                }
                let options = options_from_seed(seed, &FaultSelection::default());
                if let Some(failure) = run(&options).failure {
                    let replay = options.replay_command(&FaultSelection::default());
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{failure}\n  {replay}"));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "failing seeds:\n{}",
        failures.join("\n")
    );
}
