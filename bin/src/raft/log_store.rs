//! [`FileLogStore`]: openraft's log storage for one controller node, in files under its
//! data directory.
//!
//! # Contract (openraft's `RaftLogStorage`, made durable)
//! - `raft-log`: entries, truncations and purges as CRC32C frames (`log_file.rs`).
//!   `append` returns, and reports the entries flushed, only after `fdatasync`; a truncation
//!   is a frame too, synced before `truncate` returns. A purge rewrites the file atomically
//!   with only the live entries (purges are rare: once per snapshot).
//! - `raft-vote` and `raft-committed`: one frame each, replaced atomically (temp file, sync,
//!   rename, directory sync) before `save_vote` / `save_committed` return.
//! - On open, the log file is replayed (a torn tail is cut off, damage elsewhere is a
//!   [`LogFileError`]) into an in-memory index of live entries, which serves all reads.
//!
//! All writes go through one mutex, so they are serialized as openraft requires. File I/O
//! is synchronous (`std::fs`) inside the async methods: metadata writes are small and rare,
//! and it keeps the store free of `tokio::fs`, which a madsim build must not use.

use super::log_file::{read_frame_file, write_frame_file, LogFile, LogFileError, LogFileRecord};
use super::MetadataRaftTypes;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    Entry, ErrorSubject, ErrorVerb, LogId, LogState, RaftLogReader, StorageError, Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The file-backed raft log, vote and committed id of one node. Clones share the store.
#[derive(Clone, Debug)]
pub struct FileLogStore {
    inner: Arc<Mutex<LogStoreState>>,
}

#[derive(Debug)]
struct LogStoreState {
    dir: PathBuf,
    file: LogFile,
    entries: BTreeMap<u64, Entry<MetadataRaftTypes>>,
    last_purged: Option<LogId<u64>>,
    vote: Option<Vote<u64>>,
    committed: Option<LogId<u64>>,
}

impl FileLogStore {
    /// Opens the store in `dir` (created if absent), recovering what the files hold.
    pub fn open(dir: &Path) -> Result<FileLogStore, LogFileError> {
        std::fs::create_dir_all(dir).map_err(|source| LogFileError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (file, records) = LogFile::open(&dir.join("raft-log"))?;
        let mut state = LogStoreState {
            dir: dir.to_path_buf(),
            file,
            entries: BTreeMap::new(),
            last_purged: None,
            vote: read_frame_file(&dir.join("raft-vote"))?,
            committed: read_frame_file(&dir.join("raft-committed"))?,
        };
        for record in records {
            state.replay(record);
        }
        Ok(FileLogStore {
            inner: Arc::new(Mutex::new(state)),
        })
    }

    /// The index of the last entry in the log, if any (for inspection and tests).
    pub fn last_log_index(&self) -> Option<u64> {
        self.lock().entries.keys().next_back().copied()
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

    fn write(&mut self, records: Vec<LogFileRecord>) -> io::Result<()> {
        self.file.append(&records)?;
        for record in records {
            self.replay(record);
        }
        Ok(())
    }
}

fn logs_error(verb: ErrorVerb, error: io::Error) -> StorageError<u64> {
    StorageError::from_io_error(ErrorSubject::Logs, verb, error)
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
        let last_log_id = state
            .entries
            .values()
            .next_back()
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
        let mut state = self.lock();
        write_frame_file(&state.dir.join("raft-vote"), vote)
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        state.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        let mut state = self.lock();
        write_frame_file(&state.dir.join("raft-committed"), &committed)
            .map_err(|e| StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, e))?;
        state.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self.lock().committed)
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
        let records: Vec<_> = entries.into_iter().map(LogFileRecord::Entry).collect();
        let result = self.lock().write(records);
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(error) => {
                callback.log_io_completed(Err(io::Error::new(error.kind(), error.to_string())));
                Err(logs_error(ErrorVerb::Write, error))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        self.lock()
            .write(vec![LogFileRecord::TruncateFrom(log_id.index)])
            .map_err(|e| logs_error(ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        let mut state = self.lock();
        let mut live = vec![LogFileRecord::PurgedUpTo(log_id)];
        live.extend(
            state
                .entries
                .range(log_id.index + 1..)
                .map(|(_, entry)| LogFileRecord::Entry(entry.clone())),
        );
        state
            .file
            .rewrite(&live)
            .map_err(|e| logs_error(ErrorVerb::Delete, e))?;
        state.replay(LogFileRecord::PurgedUpTo(log_id));
        Ok(())
    }
}
