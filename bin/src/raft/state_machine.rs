//! [`MetadataStateMachine`]: openraft's state machine for the metadata quorum. Applying a
//! committed entry appends its records to the shared [`AppliedRecords`], which the
//! [`RaftMetadataLog`](super::RaftMetadataLog) facade reads.
//!
//! # Contract
//! - **Offsets.** A `Normal` entry's [`MetadataProposal`] is applied whole, its records at
//!   `first_offset, first_offset + 1, …`, only if the entry was appended in the term the
//!   proposal names and `first_offset >= next_offset`; otherwise the entry is skipped whole.
//!   The rule is core's [`judge_proposal`]. Blank and membership entries carry no records.
//! - **Undecodable records are fatal.** A committed record that does not decode is a
//!   corrupt log or a codec mismatch; `apply` returns a storage error (openraft stops the
//!   node) rather than skip metadata other nodes may have applied.
//! - **Durability.** Applied state lives in memory and is rebuilt at start from the
//!   snapshot file plus openraft's replay of the log up to the saved committed id. A
//!   snapshot is every applied record (offset and encoded bytes) with `next_offset`, written
//!   to `raft-snapshot` in the node's [`RaftStorage`] when built or installed, replaced
//!   atomically (temp file, sync, rename) before either returns, so openraft may purge the
//!   log behind it. A damaged snapshot file is [`LogFileError::Corrupt`] at open.

use super::log_file::LogFileError;
use super::storage::{read_frame_file, write_frame_file, RaftStorage};
use super::{MetadataProposal, MetadataRaftTypes};
use odradek_core::controller::{
    judge_proposal, CommittedRecord, MetadataOffset, ProposalHeader, ProposalVerdict,
};
use odradek_core::node::metadata_store::{decode_record, encode_record};
use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder, Snapshot,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The records the state machine has applied, in offset order, shared with the facade.
#[derive(Clone, Debug, Default)]
pub struct AppliedRecords {
    records: Vec<CommittedRecord>,
    next_offset: u64,
    last_applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, BasicNode>,
}

impl AppliedRecords {
    /// Every committed record applied so far, in offset order.
    pub fn records(&self) -> &[CommittedRecord] {
        &self.records
    }

    /// One past the offset of the last applied record (0 when none).
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// The raft log id of the last applied entry.
    pub fn last_applied(&self) -> Option<LogId<u64>> {
        self.last_applied
    }

    /// Applies one committed entry; an error leaves the records unchanged.
    fn apply_entry(&mut self, entry: &Entry<MetadataRaftTypes>) -> Result<(), String> {
        match &entry.payload {
            EntryPayload::Blank => {}
            EntryPayload::Membership(membership) => {
                self.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
            }
            EntryPayload::Normal(proposal) => self.apply_proposal(entry.log_id, proposal)?,
        }
        self.last_applied = Some(entry.log_id);
        Ok(())
    }

    fn apply_proposal(
        &mut self,
        log_id: LogId<u64>,
        proposal: &MetadataProposal,
    ) -> Result<(), String> {
        let header = ProposalHeader {
            term: proposal.term,
            first_offset: proposal.first_offset,
            record_count: proposal.records.len() as u64,
        };
        let (offsets, next_offset) =
            match judge_proposal(self.next_offset, log_id.leader_id.term, header) {
                ProposalVerdict::Apply {
                    offsets,
                    next_offset,
                } => (offsets, next_offset),
                ProposalVerdict::Skip(reason) => {
                    tracing::info!(%log_id, ?reason, "skipping a committed metadata proposal");
                    return Ok(());
                }
            };
        let mut decoded = Vec::with_capacity(proposal.records.len());
        for (offset, bytes) in offsets.zip(&proposal.records) {
            let record = decode_record(bytes).ok_or_else(|| {
                format!("record at offset {offset} of entry {log_id} does not decode")
            })?;
            decoded.push(CommittedRecord {
                offset: MetadataOffset(offset),
                record,
            });
        }
        self.next_offset = next_offset;
        self.records.extend(decoded);
        Ok(())
    }
}

/// A snapshot as stored in `raft-snapshot`: openraft's metadata and the encoded body.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<u64, BasicNode>,
    body: Vec<u8>,
}

/// The body of a snapshot: every applied record, encoded.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotBody {
    next_offset: u64,
    records: Vec<(u64, Vec<u8>)>,
}

/// openraft's state machine for one node; clones share state (one is the snapshot builder).
#[derive(Clone, Debug)]
pub struct MetadataStateMachine {
    applied: Arc<Mutex<AppliedRecords>>,
    snapshot: Arc<Mutex<Option<StoredSnapshot>>>,
    storage: RaftStorage,
    applied_watch: Arc<watch::Sender<Option<LogId<u64>>>>,
}

impl MetadataStateMachine {
    /// The state machine whose snapshot lives in the real directory `dir` (created if
    /// absent and locked while open: a node that keeps its log there too shares one
    /// [`RaftStorage`] through [`MetadataStateMachine::open_in`]).
    pub fn open(dir: &Path) -> Result<MetadataStateMachine, LogFileError> {
        MetadataStateMachine::open_in(RaftStorage::open_dir(dir)?)
    }

    /// The state machine whose snapshot lives in `storage`, restored from it if there is
    /// one.
    pub fn open_in(storage: RaftStorage) -> Result<MetadataStateMachine, LogFileError> {
        let stored: Option<StoredSnapshot> =
            read_frame_file(storage.lock().as_mut(), SNAPSHOT_FILE)?;
        let applied = match &stored {
            Some(stored) => {
                restore(&stored.meta, &stored.body).map_err(|reason| LogFileError::Corrupt {
                    file: SNAPSHOT_FILE.to_string(),
                    offset: 0,
                    reason,
                })?
            }
            None => AppliedRecords::default(),
        };
        let (applied_watch, _) = watch::channel(applied.last_applied);
        Ok(MetadataStateMachine {
            applied: Arc::new(Mutex::new(applied)),
            snapshot: Arc::new(Mutex::new(stored)),
            storage,
            applied_watch: Arc::new(applied_watch),
        })
    }

    /// The applied records, shared with whoever reads them.
    pub fn applied(&self) -> Arc<Mutex<AppliedRecords>> {
        Arc::clone(&self.applied)
    }

    /// Changes whenever an entry is applied or a snapshot installed (to wait on commits).
    pub fn subscribe_applied(&self) -> watch::Receiver<Option<LogId<u64>>> {
        self.applied_watch.subscribe()
    }

    fn lock_applied(&self) -> MutexGuard<'_, AppliedRecords> {
        lock(&self.applied)
    }

    /// Persists `stored` as the current snapshot, then makes it current in memory.
    fn store_snapshot(&self, stored: StoredSnapshot) -> Result<(), LogFileError> {
        let mut current = lock(&self.snapshot);
        write_frame_file(self.storage.lock().as_mut(), SNAPSHOT_FILE, &stored)?;
        *current = Some(stored);
        Ok(())
    }
}

/// The snapshot file's name in the raft directory.
const SNAPSHOT_FILE: &str = "raft-snapshot";

fn snapshot_write_error(
    meta: &SnapshotMeta<u64, BasicNode>,
    error: LogFileError,
) -> StorageError<u64> {
    let subject = ErrorSubject::Snapshot(Some(meta.signature()));
    StorageIOError::new(subject, ErrorVerb::Write, openraft::AnyError::new(&error)).into()
}

/// Locks `mutex`, recovering from poisoning: every writer changes state only after its
/// checks passed, so the data is consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Rebuilds applied state from a snapshot.
fn restore(meta: &SnapshotMeta<u64, BasicNode>, body: &[u8]) -> Result<AppliedRecords, String> {
    let body: SnapshotBody =
        serde_json::from_slice(body).map_err(|e| format!("undecodable snapshot: {e}"))?;
    let mut records = Vec::with_capacity(body.records.len());
    for (offset, bytes) in &body.records {
        let record =
            decode_record(bytes).ok_or_else(|| format!("snapshot record {offset} is corrupt"))?;
        records.push(CommittedRecord {
            offset: MetadataOffset(*offset),
            record,
        });
    }
    Ok(AppliedRecords {
        records,
        next_offset: body.next_offset,
        last_applied: meta.last_log_id,
        membership: meta.last_membership.clone(),
    })
}

impl RaftSnapshotBuilder<MetadataRaftTypes> for MetadataStateMachine {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<MetadataRaftTypes>> {
        let (meta, body) = {
            let applied = self.lock_applied();
            let body = SnapshotBody {
                next_offset: applied.next_offset,
                records: (applied.records.iter())
                    .map(|r| (r.offset.0, encode_record(&r.record)))
                    .collect(),
            };
            let snapshot_id = match applied.last_applied {
                Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, body.next_offset),
                None => "empty".to_string(),
            };
            let meta = SnapshotMeta {
                last_log_id: applied.last_applied,
                last_membership: applied.membership.clone(),
                snapshot_id,
            };
            (meta, body)
        };
        let body = serde_json::to_vec(&body)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        self.store_snapshot(StoredSnapshot {
            meta: meta.clone(),
            body: body.clone(),
        })
        .map_err(|e| snapshot_write_error(&meta, e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(body)),
        })
    }
}

impl RaftStateMachine<MetadataRaftTypes> for MetadataStateMachine {
    type SnapshotBuilder = MetadataStateMachine;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, BasicNode>)> {
        let applied = self.lock_applied();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<()>>
    where
        I: IntoIterator<Item = Entry<MetadataRaftTypes>> + Send,
        I::IntoIter: Send,
    {
        let mut responses = Vec::new();
        {
            let mut applied = self.lock_applied();
            for entry in entries {
                applied.apply_entry(&entry).map_err(|reason| {
                    StorageIOError::apply(entry.log_id, openraft::AnyError::error(reason))
                })?;
                responses.push(());
            }
            self.applied_watch.send_replace(applied.last_applied);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let body = snapshot.into_inner();
        let restored = restore(meta, &body).map_err(|reason| {
            StorageIOError::read_snapshot(Some(meta.signature()), openraft::AnyError::error(reason))
        })?;
        self.store_snapshot(StoredSnapshot {
            meta: meta.clone(),
            body,
        })
        .map_err(|e| snapshot_write_error(meta, e))?;
        let mut applied = self.lock_applied();
        *applied = restored;
        self.applied_watch.send_replace(applied.last_applied);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<MetadataRaftTypes>>> {
        let stored = lock(&self.snapshot).clone();
        Ok(stored.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.body)),
        }))
    }
}
