//! [`FileLogStore`]: openraft's log storage for one controller node, in the files of its
//! [`RaftStorage`] directory (a real directory, or a `SimDisk` one in simulation).
//!
//! # Contract (openraft's `RaftLogStorage`, made durable)
//! - `raft-log`: entries, truncations and purges as checksummed frames (`log_file.rs`).
//!   `append` returns, and reports the entries flushed, only after the file is synced; a
//!   truncation is a frame too, synced before `truncate` returns. A purge rewrites the file
//!   atomically with only the live entries (purges are rare: once per snapshot batch).
//! - `raft-vote` and `raft-committed`: one frame each, replaced atomically (temp file, sync,
//!   rename) before `save_vote` / `save_committed` return.
//! - On open, the log file is replayed (a torn tail is cut off, damage elsewhere is a
//!   [`LogFileError`]) into an in-memory index of live entries, which serves all reads.
//! - The in-memory state changes only after the write it mirrors succeeded, so a failed
//!   write leaves the store as it was (and a failed sync fences the log file: see
//!   `log_file.rs`).
//!
//! The same operations are available synchronously ([`FileLogStore::append_entries`] and
//! friends) for tests that drive the store over a crashing `SimDisk` without openraft.
//! All writes go through one mutex, so they are serialized as openraft requires. Storage
//! calls are synchronous inside the async methods: metadata writes are small and rare, and it
//! keeps the store free of `tokio::fs`, which a madsim build must not use.

use super::log_file::{LogFile, LogFileError, LogFileRecord};
use super::storage::{read_frame_file, write_frame_file, RaftStorage};
use super::MetadataRaftTypes;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, ErrorSubject, ErrorVerb, LogId, LogState, RaftLogReader, StorageError,
    StorageIOError, Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The vote file's name in the raft directory.
const VOTE_FILE: &str = "raft-vote";
/// The committed-id file's name in the raft directory.
const COMMITTED_FILE: &str = "raft-committed";

/// The durable raft log, vote and committed id of one node. Clones share the store.
#[derive(Clone, Debug)]
pub struct FileLogStore {
    inner: Arc<Mutex<LogStoreState>>,
}

#[derive(Debug)]
struct LogStoreState {
    storage: RaftStorage,
    file: LogFile,
    entries: BTreeMap<u64, Entry<MetadataRaftTypes>>,
    last_purged: Option<LogId<u64>>,
    vote: Option<Vote<u64>>,
    committed: Option<LogId<u64>>,
}

impl FileLogStore {
    /// Opens the store in `storage`, recovering what its files hold.
    pub fn open(storage: RaftStorage) -> Result<FileLogStore, LogFileError> {
        let (vote, committed) = {
            let mut disk = storage.lock();
            let vote: Option<Vote<u64>> = read_frame_file(disk.as_mut(), VOTE_FILE)?;
            let committed: Option<Option<LogId<u64>>> =
                read_frame_file(disk.as_mut(), COMMITTED_FILE)?;
            (vote, committed.flatten())
        };
        let (file, records) = LogFile::open(storage.clone())?;
        let mut state = LogStoreState {
            storage,
            file,
            entries: BTreeMap::new(),
            last_purged: None,
            vote,
            committed,
        };
        for record in records {
            state.replay(record);
        }
        Ok(FileLogStore {
            inner: Arc::new(Mutex::new(state)),
        })
    }

    /// Opens the store in the real directory `dir` (created if absent). The directory is
    /// locked while open, so a node that also keeps its snapshot there shares one
    /// [`RaftStorage`] instead (see [`FileLogStore::open`]).
    pub fn open_dir(dir: &Path) -> Result<FileLogStore, LogFileError> {
        FileLogStore::open(RaftStorage::open_dir(dir)?)
    }

    /// The index of the last entry in the log, if any.
    pub fn last_log_index(&self) -> Option<u64> {
        self.lock().entries.keys().next_back().copied()
    }

    /// Every live entry, in index order.
    pub fn entries(&self) -> Vec<Entry<MetadataRaftTypes>> {
        self.lock().entries.values().cloned().collect()
    }

    /// The last purged log id, if any entries were purged.
    pub fn last_purged(&self) -> Option<LogId<u64>> {
        self.lock().last_purged
    }

    /// The saved vote.
    pub fn vote(&self) -> Option<Vote<u64>> {
        self.lock().vote
    }

    /// The saved committed log id.
    pub fn committed(&self) -> Option<LogId<u64>> {
        self.lock().committed
    }

    /// Appends `entries` (each replacing every entry from its index on), durably.
    pub fn append_entries(
        &self,
        entries: Vec<Entry<MetadataRaftTypes>>,
    ) -> Result<(), LogFileError> {
        let records: Vec<_> = entries.into_iter().map(LogFileRecord::Entry).collect();
        self.lock().write(records)
    }

    /// Deletes the entries from `index` on, durably.
    pub fn truncate_from(&self, index: u64) -> Result<(), LogFileError> {
        self.lock().write(vec![LogFileRecord::TruncateFrom(index)])
    }

    /// Deletes the entries up to `log_id` (inclusive), durably, rewriting the file.
    pub fn purge_up_to(&self, log_id: LogId<u64>) -> Result<(), LogFileError> {
        let mut state = self.lock();
        let mut live = vec![LogFileRecord::PurgedUpTo(log_id)];
        live.extend(
            (state.entries.range(log_id.index + 1..))
                .map(|(_, entry)| LogFileRecord::Entry(entry.clone())),
        );
        state.file.rewrite(&live)?;
        state.replay(LogFileRecord::PurgedUpTo(log_id));
        Ok(())
    }

    /// Saves `vote`, durably.
    pub fn write_vote(&self, vote: Vote<u64>) -> Result<(), LogFileError> {
        let mut state = self.lock();
        write_frame_file(state.storage.lock().as_mut(), VOTE_FILE, &vote)?;
        state.vote = Some(vote);
        Ok(())
    }

    /// Saves the committed log id, durably.
    pub fn write_committed(&self, committed: Option<LogId<u64>>) -> Result<(), LogFileError> {
        let mut state = self.lock();
        write_frame_file(state.storage.lock().as_mut(), COMMITTED_FILE, &committed)?;
        state.committed = committed;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, LogStoreState> {
        // A poisoned lock means a panic elsewhere; the state itself is only changed after
        // the file write succeeded, so it is still consistent with the file.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LogStoreState {
    /// Applies one record of the log file to the in-memory index.
    fn replay(&mut self, record: LogFileRecord) {
        match record {
            LogFileRecord::Entry(entry) => {
                let index = entry.log_id.index;
                self.entries.split_off(&index);
                self.entries.insert(index, entry);
            }
            LogFileRecord::TruncateFrom(index) => {
                self.entries.split_off(&index);
            }
            LogFileRecord::PurgedUpTo(log_id) => {
                self.entries = self.entries.split_off(&(log_id.index + 1));
                self.last_purged = Some(log_id);
            }
        }
    }

    fn write(&mut self, records: Vec<LogFileRecord>) -> Result<(), LogFileError> {
        self.file.append(&records)?;
        for record in records {
            self.replay(record);
        }
        Ok(())
    }
}

/// openraft's error for a failed operation on `subject`.
fn raft_error(
    subject: ErrorSubject<u64>,
    verb: ErrorVerb,
    error: &LogFileError,
) -> StorageError<u64> {
    StorageIOError::new(subject, verb, AnyError::new(error)).into()
}

impl RaftLogReader<MetadataRaftTypes> for FileLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<MetadataRaftTypes>>> {
        let state = self.lock();
        Ok(state.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<MetadataRaftTypes> for FileLogStore {
    type LogReader = FileLogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<MetadataRaftTypes>> {
        let state = self.lock();
        let last_log_id = (state.entries.values().next_back())
            .map(|entry| entry.log_id)
            .or(state.last_purged);
        Ok(LogState {
            last_purged_log_id: state.last_purged,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        (self.write_vote(*vote)).map_err(|e| raft_error(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        Ok(self.vote())
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        (self.write_committed(committed))
            .map_err(|e| raft_error(ErrorSubject::Store, ErrorVerb::Write, &e))
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self.committed())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<MetadataRaftTypes>,
    ) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<MetadataRaftTypes>> + Send,
        I::IntoIter: Send,
    {
        match self.append_entries(entries.into_iter().collect()) {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(error) => {
                callback.log_io_completed(Err(io::Error::other(error.to_string())));
                Err(raft_error(ErrorSubject::Logs, ErrorVerb::Write, &error))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        (self.truncate_from(log_id.index))
            .map_err(|e| raft_error(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        (self.purge_up_to(log_id))
            .map_err(|e| raft_error(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }
}
