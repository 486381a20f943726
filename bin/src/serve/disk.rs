//! The disk worker: performs the node's [`NodeOutput::Sync`](odradek_core::node::NodeOutput)
//! requests on a dedicated OS thread, with group commit, and reports each as
//! [`NodeInput::Synced`].
//!
//! # Contract
//! - Jobs are taken in batches: the worker blocks for one job, then drains every job already
//!   queued. Each distinct file of the batch is `fdatasync`ed **once**, after every job of the
//!   batch was emitted by the node (so after the writes they cover); then every job is
//!   reported. Many produce requests thus share one fsync.
//! - A job succeeds only if every file it names synced; one failed fsync fails every job of the
//!   batch that named the file. A failure is sticky per file: later syncs of the same file
//!   (same inode, while its handle stays cached) keep failing, because after a failed fsync Linux may have dropped the dirty
//!   pages and marked them clean, and a later "successful" fsync would vouch for lost data.
//! - The thread ends when every [`DiskWorker`] sender is dropped and the queue is empty.
//!
//! # File handles and fsyncgate
//! The node writes through `FileStorage`'s own handles; this worker fsyncs through handles of
//! its own, kept open in a cache (opened the first time a file is seen, reused afterwards).
//! Since Linux 4.13 the writeback error state is per file (`errseq_t`): a descriptor sees
//! every error that happens *after* it was opened, and (since 4.16) a descriptor opened later
//! still sees an error nobody has observed yet. Keeping descriptors open therefore means a
//! writeback error between two syncs is reported to our next fsync. Residual risks: an error
//! already consumed by another descriptor before our first open of the file (nothing else
//! fsyncs partition files while serving, so only at the very first sync of a file), and a
//! handle evicted from the bounded cache (reopening loses errors that occurred while no
//! descriptor of ours was open, unless still unseen). Every cached handle is checked against
//! the path's current inode before use, so a file deleted and re-created (topic deleted and
//! re-created, segment removed) is never synced through a stale handle, and handles of
//! deleted files are dropped (whenever a new file is opened, and after 10 s idle) so their
//! disk space is freed.
//!
//! Why a thread: fsync blocks for milliseconds; the node task must keep serving meanwhile.

use odradek_core::log::SyncRequest;
use odradek_core::node::{NodeInput, TopicPartition};
use odradek_core::storage::StorageError;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::mpsc::UnboundedSender;

/// Most file handles the worker keeps open.
pub const SYNC_HANDLES_MAX: usize = 1024;

/// How long the worker waits idle before closing handles of deleted files.
const IDLE_SWEEP: std::time::Duration = std::time::Duration::from_secs(10);

/// One sync the node asked for, with the partition directory it names files in.
#[derive(Debug, Clone)]
pub struct SyncJob {
    /// The partition whose log asked.
    pub partition: TopicPartition,
    /// The directory of that partition's log.
    pub directory: PathBuf,
    /// What to sync (file names relative to `directory`).
    pub request: SyncRequest,
}

/// A running disk worker: send jobs, completions arrive on the channel given to `spawn`.
#[derive(Debug)]
pub struct DiskWorker {
    jobs: mpsc::Sender<SyncJob>,
    thread: JoinHandle<()>,
}

impl DiskWorker {
    /// Starts the worker thread; completions are sent to `completions`.
    pub fn spawn(completions: UnboundedSender<NodeInput>) -> std::io::Result<DiskWorker> {
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("odradek-disk".to_owned())
            .spawn(move || run(&queue, &completions))?;
        Ok(DiskWorker { jobs, thread })
    }

    /// Queues a job. Fails only if the worker thread is gone.
    pub fn submit(&self, job: SyncJob) -> Result<(), SyncJob> {
        self.jobs.send(job).map_err(|e| e.0)
    }

    /// Stops taking jobs, lets the worker finish the queued ones, and waits for it.
    pub fn finish(self) {
        drop(self.jobs);
        if self.thread.join().is_err() {
            tracing::error!("the disk worker thread panicked");
        }
    }
}

fn run(queue: &mpsc::Receiver<SyncJob>, completions: &UnboundedSender<NodeInput>) {
    let mut files = SyncFiles::default();
    loop {
        let first = match queue.recv_timeout(IDLE_SWEEP) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                files.drop_deleted();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let (jobs, fsyncs_before) = (batch.len(), files.fsyncs());
        let done = files.sync_batch(batch);
        let fsyncs = files.fsyncs() - fsyncs_before;
        tracing::debug!(jobs, fsyncs, "group commit");
        for completion in done {
            // The node task is gone (shutting down): nothing is waiting for the answer.
            let _ = completions.send(completion);
        }
    }
}

/// A cached descriptor of a file, with the inode it refers to.
#[derive(Debug)]
struct CachedFile {
    file: File,
    device: u64,
    inode: u64,
    failed: Option<String>,
    last_used: u64,
}

/// The worker's open descriptors and the group-commit step. See the module docs.
#[derive(Debug, Default)]
pub struct SyncFiles {
    open: BTreeMap<PathBuf, CachedFile>,
    clock: u64,
    fsyncs: u64,
}

impl SyncFiles {
    /// How many fsyncs have been issued so far.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs
    }

    /// Syncs every distinct file of `batch` once and returns one completion per job, in order.
    pub fn sync_batch(&mut self, batch: Vec<SyncJob>) -> Vec<NodeInput> {
        let mut results: BTreeMap<PathBuf, Result<(), StorageError>> = BTreeMap::new();
        for job in &batch {
            for name in &job.request.files {
                let path = job.directory.join(name);
                if let Entry::Vacant(vacant) = results.entry(path) {
                    let result = self.sync_file(vacant.key(), name);
                    vacant.insert(result);
                }
            }
        }
        batch
            .into_iter()
            .map(|job| {
                let result = job
                    .request
                    .files
                    .iter()
                    .map(|name| &results[&job.directory.join(name)])
                    .find(|result| result.is_err())
                    .cloned()
                    .unwrap_or(Ok(()));
                NodeInput::Synced {
                    partition: job.partition,
                    id: job.request.id,
                    result,
                }
            })
            .collect()
    }

    fn sync_file(&mut self, path: &Path, name: &str) -> Result<(), StorageError> {
        let failed = |detail: String| StorageError::SyncFailed {
            name: name.to_owned(),
            detail,
        };
        let cached = self.handle(path).map_err(|e| failed(e.to_string()))?;
        if let Some(earlier) = &cached.failed {
            return Err(failed(format!(
                "an earlier fsync failed (sticky): {earlier}"
            )));
        }
        let result = cached.file.sync_data();
        self.fsyncs += 1;
        result.map_err(|e| {
            if let Some(cached) = self.open.get_mut(path) {
                cached.failed = Some(e.to_string());
            }
            tracing::error!(file = %path.display(), error = %e, "fsync failed");
            failed(e.to_string())
        })
    }

    /// The cached descriptor of `path` if it still names the same inode, else a fresh one.
    fn handle(&mut self, path: &Path) -> std::io::Result<&mut CachedFile> {
        self.clock += 1;
        let current = std::fs::metadata(path)?;
        let same = self
            .open
            .get(path)
            .is_some_and(|c| c.device == current.dev() && c.inode == current.ino());
        if !same {
            self.open.remove(path);
            self.drop_deleted_and_excess();
            let file = File::open(path)?;
            let opened = file.metadata()?;
            let cached = CachedFile {
                file,
                device: opened.dev(),
                inode: opened.ino(),
                failed: None,
                last_used: 0,
            };
            self.open.insert(path.to_path_buf(), cached);
        }
        let clock = self.clock;
        let cached = self
            .open
            .get_mut(path)
            .ok_or_else(|| std::io::Error::other("handle vanished from the cache"))?;
        cached.last_used = clock;
        Ok(cached)
    }

    /// Closes the handles of files that were deleted, so their disk space is freed.
    pub fn drop_deleted(&mut self) {
        self.open
            .retain(|_, c| c.file.metadata().is_ok_and(|m| m.nlink() > 0));
    }

    /// How many handles are open.
    pub fn open_handles(&self) -> usize {
        self.open.len()
    }

    /// Makes room for one more handle: drops handles of deleted files, then the least
    /// recently used while full.
    fn drop_deleted_and_excess(&mut self) {
        self.drop_deleted();
        while self.open.len() >= SYNC_HANDLES_MAX {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(path, _)| path.clone());
            match oldest {
                Some(path) => self.open.remove(&path),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests;
