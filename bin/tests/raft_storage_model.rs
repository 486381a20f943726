//! A property test of the raft log store on a `SimDisk` against a plain model: random
//! appends, truncations, purges, votes and committed ids, interleaved with crashes — clean
//! ones between operations and power cuts part way through one. After every step the store
//! holds what the model says; after every crash it holds what was acknowledged, plus at
//! most the before/after state (or an entry prefix) of the operation the power cut.

mod raft_support;

use odradek_sim::disk::SimDisk;
use openraft::Vote;
use proptest::prelude::*;
use raft_support::sim_store::{entry, open_store, StoreModel, StoreOp};

/// One step of a history, in terms of the current state (so every step is meaningful).
#[derive(Clone, Debug)]
enum Action {
    /// Appends entries of these payload sizes at the next index.
    Append(Vec<usize>),
    /// Truncates this many entries off the end (at least one live entry stays purgeable).
    TruncateBack(u64),
    /// Purges this many entries off the front.
    PurgeFront(u64),
    /// Votes in the current term (which first grows by this much).
    Vote(u64),
    /// Saves the last entry's id as committed.
    Commit,
}

#[derive(Clone, Debug)]
struct Step {
    action: Action,
    /// The power goes after this many storage calls of the step (then a crash, a restart).
    power_cut: Option<u8>,
    /// A clean crash and restart after the step.
    crash_after: bool,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => proptest::collection::vec(1usize..900, 1..4).prop_map(Action::Append),
        1 => (1u64..4).prop_map(Action::TruncateBack),
        1 => (1u64..4).prop_map(Action::PurgeFront),
        1 => (0u64..2).prop_map(Action::Vote),
        1 => Just(Action::Commit),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        action(),
        proptest::option::weighted(0.15, 0u8..6),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(action, power_cut, crash_after)| Step {
            action,
            power_cut,
            crash_after,
        })
}

/// The store operation `action` means in state `model` at `term`, if any.
fn to_op(action: &Action, model: &StoreModel, term: &mut u64) -> Option<StoreOp> {
    let next = model.next_index();
    match action {
        Action::Append(sizes) => Some(StoreOp::Append(
            (sizes.iter().enumerate())
                .map(|(i, size)| entry(*term, next + i as u64, *size))
                .collect(),
        )),
        Action::TruncateBack(count) => {
            let first = *model.entries.keys().next()?;
            let from = next.saturating_sub(*count).max(first);
            *term += 1;
            Some(StoreOp::TruncateFrom(from))
        }
        Action::PurgeFront(count) => {
            let first = *model.entries.keys().next()?;
            let upto = model.entries.get(&(first + count - 1))?;
            Some(StoreOp::PurgeUpTo(upto.log_id))
        }
        Action::Vote(bump) => {
            *term += bump;
            Some(StoreOp::Vote(Vote::new(*term, 1 + *term % 3)))
        }
        Action::Commit => {
            let last = model.entries.values().next_back()?;
            Some(StoreOp::Committed(Some(last.log_id)))
        }
    }
}

fn check_history(seed: u64, steps: &[Step]) -> Result<(), TestCaseError> {
    let disk = SimDisk::new(seed);
    let (mut store, mut budget) = open_store(&disk).expect("a fresh store opens");
    let mut model = StoreModel::default();
    let mut term = 1;
    for (number, step) in steps.iter().enumerate() {
        let Some(op) = to_op(&step.action, &model, &mut term) else {
            continue;
        };
        if let Some(calls) = step.power_cut {
            budget.cut_after(u64::from(calls));
        }
        let result = op.perform(&store);
        let allowed = match &result {
            Ok(()) => {
                model = model.after(&op);
                prop_assert_eq!(&StoreModel::of(&store), &model, "step {}", number);
                vec![model.clone()]
            }
            Err(_) => {
                prop_assert!(
                    step.power_cut.is_some(),
                    "step {} failed: {:?}",
                    number,
                    result
                );
                model.crash_outcomes(&op)
            }
        };
        if result.is_err() || step.crash_after {
            drop(store);
            disk.crash();
            (store, budget) = open_store(&disk).expect("recovery never fails after a crash");
            let recovered = StoreModel::of(&store);
            prop_assert!(
                allowed.contains(&recovered),
                "step {} ({:?}): recovered {:?}",
                number,
                op,
                recovered
            );
            model = recovered;
        } else {
            budget.cut_after(u64::MAX);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_store_matches_its_model_through_random_writes_and_crashes(
        seed in any::<u64>(),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        check_history(seed, &steps)?;
    }
}
