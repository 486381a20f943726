//! Searching partitions in parallel, and stopping early without losing determinism.
//!
//! Partitions are independent (P-compositionality), so worker threads (scoped, at most
//! `available_parallelism`) take them from a shared counter in key order. When partition
//! `p` turns out nonlinearizable, every partition after `p` is abandoned or skipped, while
//! partitions before `p` (at most one per other worker is still running, thanks to the key
//! order) run to the end: the reported violation is therefore always the first
//! nonlinearizable partition in key order, whatever the thread timing, at the cost of
//! finishing those few searches. With one worker, or one partition, everything runs on the
//! calling thread.

use super::model::Model;
use super::prepare::Partition;
use super::search::{search, Controls, GaveUp, SearchOutcome, SearchResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Limits shared by all partitions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub max_steps: Option<u64>,
    pub deadline: Option<Instant>,
    pub threads: usize,
}

/// Searches every partition; the result has one entry per partition, in key order.
pub(crate) fn search_partitions<M: Model>(
    initial: &M,
    partitions: &[Partition<M::Op>],
    budget: Budget,
) -> Vec<SearchOutcome<M>> {
    let shared = Shared {
        next_partition: AtomicUsize::new(0),
        first_invalid: AtomicUsize::new(usize::MAX),
        results: Mutex::new(vec![None; partitions.len()]),
    };
    let threads = budget.threads.clamp(1, partitions.len().max(1));
    if threads == 1 {
        work(initial, partitions, budget, &shared);
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| work(initial, partitions, budget, &shared));
            }
        });
    }
    let results = shared
        .results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or(SearchOutcome {
                result: SearchResult::GaveUp(GaveUp::Cancelled),
                steps: 0,
            })
        })
        .collect()
}

struct Shared<M> {
    /// The next partition to take.
    next_partition: AtomicUsize,
    /// The smallest partition index found nonlinearizable so far.
    first_invalid: AtomicUsize,
    results: Mutex<Vec<Option<SearchOutcome<M>>>>,
}

fn work<M: Model>(
    initial: &M,
    partitions: &[Partition<M::Op>],
    budget: Budget,
    shared: &Shared<M>,
) {
    loop {
        let p = shared.next_partition.fetch_add(1, Ordering::Relaxed);
        if p >= partitions.len() {
            return;
        }
        let outcome = if shared.first_invalid.load(Ordering::Relaxed) < p {
            SearchOutcome {
                result: SearchResult::GaveUp(GaveUp::Cancelled),
                steps: 0,
            }
        } else {
            let cancelled = || shared.first_invalid.load(Ordering::Relaxed) < p;
            let controls = Controls {
                max_steps: budget.max_steps,
                deadline: budget.deadline,
                cancelled: &cancelled,
            };
            search(initial, &partitions[p].ops, &controls)
        };
        if matches!(outcome.result, SearchResult::Nonlinearizable(_)) {
            shared.first_invalid.fetch_min(p, Ordering::Relaxed);
        }
        let mut results = shared
            .results
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        results[p] = Some(outcome);
    }
}
