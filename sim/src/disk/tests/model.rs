//! Model test: random operation sequences with crashes, against a naive reference that keeps
//! a full copy of each file's durable content. Checks the O(pending) bookkeeping of `SimFile`:
//! after every operation reads match the model, and after every crash each file is one of the
//! outcomes the contract allows.

use std::collections::BTreeMap;

use odradek_core::storage::Storage;
use proptest::prelude::*;

use super::pattern;
use crate::disk::{SimDisk, SECTOR_BYTES};

#[derive(Debug, Clone)]
enum Operation {
    Create(u8),
    Append(u8, usize),
    Truncate(u8, u16),
    Sync(u8),
    Remove(u8),
    Rename(u8, u8),
    Crash,
}

fn operation() -> impl Strategy<Value = Operation> {
    let file = 0..3u8;
    prop_oneof![
        1 => file.clone().prop_map(Operation::Create),
        4 => (file.clone(), 0..1500usize).prop_map(|(f, len)| Operation::Append(f, len)),
        1 => (file.clone(), any::<u16>()).prop_map(|(f, cut)| Operation::Truncate(f, cut)),
        2 => file.clone().prop_map(Operation::Sync),
        1 => file.clone().prop_map(Operation::Remove),
        1 => (file.clone(), file).prop_map(|(a, b)| Operation::Rename(a, b)),
        1 => Just(Operation::Crash),
    ]
}

/// The reference: current and durable content, and the shortest length since the last sync.
#[derive(Debug, Clone)]
struct ModelFile {
    current: Vec<u8>,
    durable: Vec<u8>,
    shortest_since_sync: usize,
}

impl ModelFile {
    fn new() -> Self {
        ModelFile {
            current: Vec::new(),
            durable: Vec::new(),
            shortest_since_sync: 0,
        }
    }

    /// Is `survivor` an outcome of a crash the contract allows for this file?
    fn allows(&self, survivor: &[u8]) -> bool {
        let stable = self.shortest_since_sync.min(self.durable.len());
        let len = survivor.len();
        let is_cut_point =
            len == stable || len == self.current.len() || len.is_multiple_of(SECTOR_BYTES);
        survivor == self.durable.as_slice()
            || (len >= stable
                && len <= self.current.len()
                && is_cut_point
                && survivor == &self.current[..len])
    }
}

fn name(file: u8) -> String {
    format!("f{file}")
}

/// Applies `operation` to disk and model alike (the model follows what the disk accepted).
fn apply(disk: &mut SimDisk, model: &mut BTreeMap<String, ModelFile>, op: &Operation, step: u8) {
    match *op {
        Operation::Create(f) => {
            if disk.create(&name(f)).is_ok() {
                model.insert(name(f), ModelFile::new());
            }
        }
        Operation::Append(f, len) => {
            let data = pattern(step, len);
            if disk.append(&name(f), &data).is_ok() {
                model
                    .get_mut(&name(f))
                    .unwrap()
                    .current
                    .extend_from_slice(&data);
            }
        }
        Operation::Truncate(f, cut) => {
            let Some(file) = model.get_mut(&name(f)) else {
                return;
            };
            let len = usize::from(cut) % (file.current.len() + 1);
            disk.truncate(&name(f), len as u64).unwrap();
            file.current.truncate(len);
            file.shortest_since_sync = file.shortest_since_sync.min(len);
        }
        Operation::Sync(f) => {
            if disk.sync(&name(f)).is_ok() {
                let file = model.get_mut(&name(f)).unwrap();
                file.durable = file.current.clone();
                file.shortest_since_sync = file.current.len();
            }
        }
        Operation::Remove(f) => {
            if disk.remove(&name(f)).is_ok() {
                model.remove(&name(f));
            }
        }
        Operation::Rename(a, b) => {
            if disk.rename(&name(a), &name(b)).is_ok() {
                let file = model.remove(&name(a)).unwrap();
                model.insert(name(b), file);
            }
        }
        Operation::Crash => crash_and_check(disk, model),
    }
}

fn crash_and_check(disk: &mut SimDisk, model: &mut BTreeMap<String, ModelFile>) {
    disk.crash();
    let files = disk.files();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        model.keys().collect::<Vec<_>>()
    );
    for (name, survivor) in files {
        let file = &model[&name];
        assert!(
            file.allows(&survivor),
            "{name}: {} bytes survived {file:?}",
            survivor.len()
        );
        model.insert(
            name,
            ModelFile {
                durable: survivor.clone(),
                shortest_since_sync: survivor.len(),
                current: survivor,
            },
        );
    }
}

proptest! {
    #[test]
    fn sim_disk_matches_a_naive_model_across_crashes(
        seed in any::<u64>(),
        operations in proptest::collection::vec(operation(), 1..80),
    ) {
        let mut disk = SimDisk::new(seed);
        let mut model = BTreeMap::new();
        for (step, op) in operations.iter().enumerate() {
            apply(&mut disk, &mut model, op, step as u8);
            let current: BTreeMap<String, Vec<u8>> = model
                .iter()
                .map(|(name, file)| (name.clone(), file.current.clone()))
                .collect();
            prop_assert_eq!(disk.files(), current);
            let durable: BTreeMap<String, Vec<u8>> = model
                .iter()
                .map(|(name, file)| (name.clone(), file.durable.clone()))
                .collect();
            prop_assert_eq!(disk.durable_files(), durable);
        }
    }
}
