//! Driving the raft log store over a crashing `SimDisk`, without openraft: a [`Storage`]
//! wrapper that loses power after a budget of operations (so a crash can land between any
//! two storage calls of a store operation), the store operations as data, and a model of
//! what an acknowledged sequence of them must leave behind.

use odradek::raft::{
    FileLogStore, LogFileError, MetadataProposal, MetadataRaftTypes, RaftStorage, RAFT_DIRECTORY,
};
use odradek_core::storage::{Storage, StorageError, StorageProvider};
use odradek_sim::disk::{SimDisk, SimDiskProvider};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Vote};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How many more storage calls succeed before the power goes (`None`: no limit).
#[derive(Clone, Debug, Default)]
pub struct PowerBudget(Arc<Mutex<Option<u64>>>);

impl PowerBudget {
    /// Lets `calls` more storage calls through, then fails every later one.
    pub fn cut_after(&self, calls: u64) {
        *self.0.lock().unwrap() = Some(calls);
    }

    /// Spends one call; `false` once the power is gone.
    fn spend(&self) -> bool {
        let mut budget = self.0.lock().unwrap();
        match budget.as_mut() {
            None => true,
            Some(0) => false,
            Some(left) => {
                *left -= 1;
                true
            }
        }
    }
}

/// A [`Storage`] that forwards to `inner` until its [`PowerBudget`] runs out; after that
/// every call fails without touching the disk (the machine is off; the test then crashes
/// the disk, dropping or tearing whatever was not synced).
pub struct CuttableStorage<S> {
    inner: S,
    budget: PowerBudget,
}

impl<S> CuttableStorage<S> {
    fn check(&self, name: &str) -> Result<(), StorageError> {
        if self.budget.spend() {
            Ok(())
        } else {
            Err(StorageError::Io {
                name: name.to_string(),
                detail: "power lost (test)".to_string(),
            })
        }
    }
}

impl<S: Storage> Storage for CuttableStorage<S> {
    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        self.check(name)?;
        self.inner.create(name)
    }
    fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError> {
        self.check(name)?;
        self.inner.append(name, data)
    }
    fn read_at(&mut self, name: &str, position: u64, len: usize) -> Result<Vec<u8>, StorageError> {
        self.check(name)?;
        self.inner.read_at(name, position, len)
    }
    fn len(&mut self, name: &str) -> Result<u64, StorageError> {
        self.check(name)?;
        self.inner.len(name)
    }
    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        self.check(name)?;
        self.inner.truncate(name, len)
    }
    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        self.check(name)?;
        self.inner.sync(name)
    }
    fn list(&mut self) -> Result<Vec<String>, StorageError> {
        self.check("(list)")?;
        self.inner.list()
    }
    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        self.check(name)?;
        self.inner.remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        self.check(from)?;
        self.inner.rename(from, to)
    }
}

/// The raft directory on `disk`, as a node would open it.
pub fn raft_storage(disk: &SimDisk) -> RaftStorage {
    let mut provider = SimDiskProvider::new(disk.clone());
    RaftStorage::from_provider(&mut provider, RAFT_DIRECTORY).expect("raft directory opens")
}

/// The raft directory on `disk` behind a power budget (unlimited until cut).
pub fn cuttable_raft_storage(disk: &SimDisk) -> Result<(RaftStorage, PowerBudget), LogFileError> {
    let directory = SimDiskProvider::new(disk.clone())
        .open_directory(RAFT_DIRECTORY)
        .map_err(LogFileError::Storage)?;
    let budget = PowerBudget::default();
    let storage = RaftStorage::new(CuttableStorage {
        inner: directory,
        budget: budget.clone(),
    })?;
    Ok((storage, budget))
}

/// Opens the log store on `disk`, behind a power budget (unlimited until cut).
pub fn open_store(disk: &SimDisk) -> Result<(FileLogStore, PowerBudget), LogFileError> {
    let (storage, budget) = cuttable_raft_storage(disk)?;
    Ok((FileLogStore::open(storage)?, budget))
}

/// The name the raft log file has on the flat `SimDisk` (the provider prefixes it).
pub fn flat_name(file: &str) -> String {
    format!("{}_{RAFT_DIRECTORY}_{file}", RAFT_DIRECTORY.len())
}

pub fn log_id(term: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// An entry whose payload is `size` bytes (JSON makes it 2–4 times that on disk), so a
/// few entries span several 512-byte sectors and crashes can tear them.
pub fn entry(term: u64, index: u64, size: usize) -> Entry<MetadataRaftTypes> {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(MetadataProposal {
            term,
            first_offset: index,
            records: vec![vec![(index % 251) as u8; size]],
        }),
    }
}

/// One write to the store.
#[derive(Clone, Debug)]
pub enum StoreOp {
    Append(Vec<Entry<MetadataRaftTypes>>),
    TruncateFrom(u64),
    PurgeUpTo(LogId<u64>),
    Vote(Vote<u64>),
    Committed(Option<LogId<u64>>),
}

impl StoreOp {
    /// Performs the operation on `store`.
    pub fn perform(&self, store: &FileLogStore) -> Result<(), LogFileError> {
        match self {
            StoreOp::Append(entries) => store.append_entries(entries.clone()),
            StoreOp::TruncateFrom(index) => store.truncate_from(*index),
            StoreOp::PurgeUpTo(log_id) => store.purge_up_to(*log_id),
            StoreOp::Vote(vote) => store.write_vote(*vote),
            StoreOp::Committed(committed) => store.write_committed(*committed),
        }
    }
}

/// What the store holds: live entries, last purged id, vote and committed id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreModel {
    pub entries: BTreeMap<u64, Entry<MetadataRaftTypes>>,
    pub last_purged: Option<LogId<u64>>,
    pub vote: Option<Vote<u64>>,
    pub committed: Option<LogId<u64>>,
}

impl StoreModel {
    /// What `store` holds now.
    pub fn of(store: &FileLogStore) -> StoreModel {
        StoreModel {
            entries: (store.entries().into_iter())
                .map(|entry| (entry.log_id.index, entry))
                .collect(),
            last_purged: store.last_purged(),
            vote: store.vote(),
            committed: store.committed(),
        }
    }

    /// The model after `op` succeeded (raft's log semantics: an entry replaces its suffix).
    pub fn after(&self, op: &StoreOp) -> StoreModel {
        let mut next = self.clone();
        match op {
            StoreOp::Append(entries) => {
                for entry in entries {
                    next.entries.split_off(&entry.log_id.index);
                    next.entries.insert(entry.log_id.index, entry.clone());
                }
            }
            StoreOp::TruncateFrom(index) => {
                next.entries.split_off(index);
            }
            StoreOp::PurgeUpTo(log_id) => {
                next.entries = next.entries.split_off(&(log_id.index + 1));
                next.last_purged = Some(*log_id);
            }
            StoreOp::Vote(vote) => next.vote = Some(*vote),
            StoreOp::Committed(committed) => next.committed = *committed,
        }
        next
    }

    /// Every state a crash during `op` (not acknowledged) may leave: the state before it,
    /// after it, or — for an append, whose frames reach the disk in order — after any prefix
    /// of its entries.
    pub fn crash_outcomes(&self, op: &StoreOp) -> Vec<StoreModel> {
        match op {
            StoreOp::Append(entries) => (0..=entries.len())
                .map(|kept| self.after(&StoreOp::Append(entries[..kept].to_vec())))
                .collect(),
            _ => vec![self.clone(), self.after(op)],
        }
    }

    /// The index the next appended entry takes.
    pub fn next_index(&self) -> u64 {
        let last_entry = self.entries.keys().next_back().copied();
        let last = last_entry.or(self.last_purged.map(|id| id.index));
        last.map_or(1, |index| index + 1)
    }
}
