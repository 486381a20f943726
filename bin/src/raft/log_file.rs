//! The raft log's file: an append-only sequence of CRC32C-checked frames, each one
//! [`LogFileRecord`] (an entry, a truncation, or a purge), replayed in order at start.
//!
//! # Format
//! A frame is `len: u32 BE`, `crc32c(payload): u32 BE`, then `len` bytes of payload: the
//! record as JSON (the same serde codec the network uses; metadata entries are small and rare,
//! so a self-describing, debuggable format costs nothing that matters).
//!
//! # Durability and recovery
//! [`LogFile::append`] writes whole frames and `fdatasync`s before returning, so a record is
//! durable once `append` returns. A crash can leave the last frame torn: short, zero-filled,
//! or with a checksum that does not match and nothing after it. [`recover`] cuts such a tail
//! off (and [`LogFile::open`] truncates the file there) — it was never acknowledged. A bad
//! checksum or an undecodable payload *followed by more data* cannot come from a crash: it is
//! reported as [`LogFileError::Corrupt`] with the byte offset, and nothing is guessed.
//!
//! Compaction ([`LogFile::rewrite`]) writes the live records to a temporary file, syncs it
//! and renames it over the log, so a crash leaves either the old or the new file.

use super::MetadataRaftTypes;
use openraft::{Entry, LogId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bytes of a frame header: length and checksum.
const FRAME_HEADER_LEN: usize = 8;
/// The largest frame accepted on read; a larger length field is corruption (or a torn tail).
const FRAME_LEN_MAX: usize = 64 * 1024 * 1024;

/// One record of the log file, replayed in file order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum LogFileRecord {
    /// An entry at its index; replaces every entry from that index on.
    Entry(Entry<MetadataRaftTypes>),
    /// Entries from this index on are deleted (a follower's conflicting suffix).
    TruncateFrom(u64),
    /// Entries up to this log id are deleted (they are in a snapshot).
    PurgedUpTo(LogId<u64>),
}

/// Why the log file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    /// The operating system refused an operation.
    #[error("raft log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A frame before the end of the file is damaged: not a torn write, so not repairable.
    #[error("raft log {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damaged frame starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// What [`recover`] read from a log file's bytes.
#[derive(Debug)]
pub(crate) struct RecoveredFrames {
    /// The records of the intact frames, in order.
    pub records: Vec<LogFileRecord>,
    /// Bytes of intact frames; anything after is a torn tail.
    pub valid_len: u64,
}

/// Parses `bytes` (a whole log file) into records, stopping at a torn tail.
pub(crate) fn recover(path: &Path, bytes: &[u8]) -> Result<RecoveredFrames, LogFileError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.iter().all(|b| *b == 0) || rest.len() < FRAME_HEADER_LEN {
            break; // a torn or zero-filled tail
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let corrupt = |reason: String| LogFileError::Corrupt {
            path: path.to_path_buf(),
            offset: at as u64,
            reason,
        };
        if len > FRAME_LEN_MAX {
            return Err(corrupt(format!("frame length {len} over {FRAME_LEN_MAX}")));
        }
        let frame_end = FRAME_HEADER_LEN + len;
        if frame_end > rest.len() {
            break; // the frame runs past the end of the file: torn
        }
        let payload = &rest[FRAME_HEADER_LEN..frame_end];
        let is_last = frame_end == rest.len();
        if crc32c::crc32c(payload) != crc {
            if is_last {
                break; // the last frame was being written when the node stopped
            }
            return Err(corrupt("checksum mismatch".to_string()));
        }
        let record = serde_json::from_slice(payload)
            .map_err(|error| corrupt(format!("undecodable record: {error}")))?;
        records.push(record);
        at += frame_end;
    }
    Ok(RecoveredFrames {
        records,
        valid_len: at as u64,
    })
}

/// Encodes `value` as one frame.
fn encode_frame<T: Serialize>(value: &T, out: &mut Vec<u8>) -> io::Result<()> {
    let payload = serde_json::to_vec(value).map_err(io::Error::other)?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| (*len as usize) <= FRAME_LEN_MAX)
        .ok_or_else(|| io::Error::other("raft log record too large"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

/// The open log file, positioned for appends.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
}

impl LogFile {
    /// Opens (creating if absent) the log at `path`, truncates a torn tail, and returns the
    /// file with its intact records.
    pub fn open(path: &Path) -> Result<(LogFile, Vec<LogFileRecord>), LogFileError> {
        let io_error = |source| LogFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(io_error(error)),
        };
        let recovered = recover(path, &bytes)?;
        let created = bytes.is_empty() && !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_error)?;
        if created {
            sync_parent_dir(path).map_err(io_error)?;
        }
        if recovered.valid_len < bytes.len() as u64 {
            tracing::warn!(
                path = %path.display(),
                torn_bytes = bytes.len() as u64 - recovered.valid_len,
                "truncating a torn tail of the raft log"
            );
            file.set_len(recovered.valid_len).map_err(io_error)?;
            file.sync_all().map_err(io_error)?;
        }
        let log = LogFile {
            path: path.to_path_buf(),
            file,
        };
        Ok((log, recovered.records))
    }

    /// Appends `records` as frames and syncs them: durable when this returns `Ok`.
    pub fn append(&mut self, records: &[LogFileRecord]) -> io::Result<()> {
        let mut frames = Vec::new();
        for record in records {
            encode_frame(record, &mut frames)?;
        }
        self.file.write_all(&frames)?;
        self.file.sync_data()
    }

    /// Replaces the file's contents with `records`, atomically (temp file, sync, rename).
    pub fn rewrite(&mut self, records: &[LogFileRecord]) -> io::Result<()> {
        let mut frames = Vec::new();
        for record in records {
            encode_frame(record, &mut frames)?;
        }
        write_atomically(&self.path, &frames)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the whole new one:
/// a temporary file is written and synced, renamed over `path`, and the directory synced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(".tmp");
    let temp = PathBuf::from(temp_name);
    let mut file = File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)?;
    sync_parent_dir(path)
}

/// Makes the directory entry of `path` durable (after a create or rename).
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Writes `value` as a one-frame file at `path`, atomically (see [`write_atomically`]).
pub(crate) fn write_frame_file<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut frame = Vec::new();
    encode_frame(value, &mut frame)?;
    write_atomically(path, &frame)
}

/// Reads a one-frame file written by [`write_frame_file`]; `None` if there is no file. The
/// file is replaced atomically, so any damage is corruption, never a torn write.
pub(crate) fn read_frame_file<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, LogFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LogFileError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let corrupt = |reason: &str| LogFileError::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        reason: reason.to_string(),
    };
    if bytes.len() < FRAME_HEADER_LEN {
        return Err(corrupt("shorter than a frame header"));
    }
    let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let payload = &bytes[FRAME_HEADER_LEN..];
    if payload.len() != len {
        return Err(corrupt("length field does not match the file size"));
    }
    if crc32c::crc32c(payload) != crc {
        return Err(corrupt("checksum mismatch"));
    }
    serde_json::from_slice(payload)
        .map(Some)
        .map_err(|error| corrupt(&format!("undecodable: {error}")))
}
