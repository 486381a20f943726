//! The raft log's file (`raft-log` in the [`RaftStorage`] directory): an append-only
//! sequence of checksummed frames, each one [`LogFileRecord`] (an entry, a truncation, or a
//! purge), replayed in order at start.
//!
//! # Format
//! A frame is `len: u32 BE`, `crc32c(payload): u32 BE`, `crc32c(the 8 bytes before): u32 BE`
//! (the header checksum), then `len` bytes of payload: the record as JSON (the same serde
//! codec the network uses; metadata entries are small and rare, so a self-describing,
//! debuggable format costs nothing that matters). The header checksum is what lets recovery
//! tell a torn tail from a damaged length field: without it, a flipped bit that makes a
//! frame's length run past the end would look torn, and recovery would cut durable frames.
//!
//! # Durability and recovery (the partition log's rules)
//! - [`LogFile::append`] appends whole frames and syncs the file before returning, so a
//!   record is durable once `append` returns `Ok`; nothing is acknowledged earlier. An
//!   append that fails part way is truncated back; a failed sync fences the file (the
//!   storage contract's fsyncgate: its unsynced pages may be gone), so every later write
//!   fails with [`LogFileError::Fenced`] until the node restarts and recovers from disk.
//! - A crash can leave the tail torn: a partial header, a frame that runs past the end of
//!   the file, a damaged last frame (nothing but zeros after it: file systems may expose
//!   unwritten blocks of an unsynced append as zeros), or zeros. [`recover`] cuts such a
//!   tail off and [`LogFile::open`] truncates the file there, durably (it was never
//!   acknowledged). Damage that a crash cannot explain — a header or payload checksum that
//!   fails with more than zeros after the frame, a length over [`FRAME_LEN_MAX`], an
//!   undecodable payload — is [`LogFileError::Corrupt`] with the byte offset, and nothing is
//!   cut or guessed.
//! - Limit (as the partition log's): a durable *last* frame whose payload rots on disk is
//!   indistinguishable from a torn write, and is cut.
//! - Compaction ([`LogFile::rewrite`]) writes the live records to `raft-log.tmp`, syncs it
//!   and renames it over the log, so a crash leaves either the old or the new file.
//!
//! [`RaftStorage`]: super::RaftStorage

use super::storage::{read_whole, replace_file, RaftStorage};
use super::MetadataRaftTypes;
use odradek_core::storage::StorageError;
use openraft::{Entry, LogId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The log file's name in the raft directory.
pub(crate) const LOG_FILE: &str = "raft-log";
/// Bytes of a frame header: length, payload checksum, header checksum.
pub(crate) const FRAME_HEADER_LEN: usize = 12;
/// The largest frame payload written or accepted on read.
pub(crate) const FRAME_LEN_MAX: usize = 64 * 1024 * 1024;

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

/// Why a raft file could not be read or written. Every variant names the file (its name in
/// the raft directory).
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    /// The storage refused an operation (it names the file).
    #[error("raft storage: {0}")]
    Storage(#[from] StorageError),
    /// A file is damaged in a way a crash cannot explain: not repairable.
    #[error("raft file {file} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: String,
        /// Where the damaged frame starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record cannot be written (it does not serialize, or is over [`FRAME_LEN_MAX`]).
    #[error("cannot write a record to raft file {file}: {reason}")]
    Encode {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// An earlier write failed in a way that leaves the file's durable content unknown;
    /// the node must restart (and recover from disk) before writing again.
    #[error("raft file {file} is fenced after a failed write ({cause}); restart to recover")]
    Fenced {
        /// The file.
        file: String,
        /// The failure that fenced it.
        cause: String,
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

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(word)
}

/// A frame header read from bytes, unchecked.
struct FrameHeader {
    len: usize,
    payload_crc: u32,
    intact: bool,
}

fn parse_header(bytes: &[u8]) -> FrameHeader {
    FrameHeader {
        len: be_u32(bytes, 0) as usize,
        payload_crc: be_u32(bytes, 4),
        intact: crc32c::crc32c(&bytes[..8]) == be_u32(bytes, 8),
    }
}

/// Parses `bytes` (a whole log file) into records, stopping at a torn tail (module docs).
pub(crate) fn recover(file: &str, bytes: &[u8]) -> Result<RecoveredFrames, LogFileError> {
    let mut records = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < FRAME_HEADER_LEN || rest.iter().all(|b| *b == 0) {
            break; // a torn header, or a zero-filled tail
        }
        let corrupt = |reason: String| LogFileError::Corrupt {
            file: file.to_string(),
            offset: at as u64,
            reason,
        };
        let header = parse_header(rest);
        if !header.intact {
            if rest[FRAME_HEADER_LEN..].iter().all(|b| *b == 0) {
                break; // the header's last sector was zero-filled by the crash
            }
            return Err(corrupt(
                "frame header checksum mismatch (damaged length field or checksum)".to_string(),
            ));
        }
        if header.len > FRAME_LEN_MAX {
            return Err(corrupt(format!(
                "frame length {} over {FRAME_LEN_MAX}",
                header.len
            )));
        }
        let frame_end = FRAME_HEADER_LEN + header.len;
        if frame_end > rest.len() {
            break; // an intact header whose frame runs past the end: a torn write
        }
        let payload = &rest[FRAME_HEADER_LEN..frame_end];
        if crc32c::crc32c(payload) != header.payload_crc {
            if rest[frame_end..].iter().all(|b| *b == 0) {
                break; // the last frame was being written when the node stopped
            }
            return Err(corrupt("payload checksum mismatch".to_string()));
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

/// Encodes `value` as one frame of `file` onto `out`.
pub(crate) fn encode_frame<T: Serialize>(
    file: &str,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), LogFileError> {
    let encode_error = |reason: String| LogFileError::Encode {
        file: file.to_string(),
        reason,
    };
    let payload = serde_json::to_vec(value).map_err(|error| encode_error(error.to_string()))?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| (*len as usize) <= FRAME_LEN_MAX)
        .ok_or_else(|| encode_error(format!("{} bytes over {FRAME_LEN_MAX}", payload.len())))?;
    let start = out.len();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    let header_crc = crc32c::crc32c(&out[start..start + 8]);
    out.extend_from_slice(&header_crc.to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

/// Decodes a file that must hold exactly one intact frame (see `storage::read_frame_file`).
pub(crate) fn decode_single_frame<T: DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<T, LogFileError> {
    let corrupt = |reason: &str| LogFileError::Corrupt {
        file: file.to_string(),
        offset: 0,
        reason: reason.to_string(),
    };
    if bytes.len() < FRAME_HEADER_LEN {
        return Err(corrupt("shorter than a frame header"));
    }
    let header = parse_header(bytes);
    if !header.intact {
        return Err(corrupt("frame header checksum mismatch"));
    }
    let payload = &bytes[FRAME_HEADER_LEN..];
    if payload.len() != header.len {
        return Err(corrupt("length field does not match the file size"));
    }
    if crc32c::crc32c(payload) != header.payload_crc {
        return Err(corrupt("payload checksum mismatch"));
    }
    serde_json::from_slice(payload).map_err(|error| corrupt(&format!("undecodable: {error}")))
}

/// Encodes `records` as consecutive frames.
fn encode_frames(records: &[LogFileRecord]) -> Result<Vec<u8>, LogFileError> {
    let mut frames = Vec::new();
    for record in records {
        encode_frame(LOG_FILE, record, &mut frames)?;
    }
    Ok(frames)
}

/// The open log file: its storage, its length, and whether a failed write fenced it.
#[derive(Debug)]
pub(crate) struct LogFile {
    storage: RaftStorage,
    len: u64,
    fenced: Option<String>,
}

impl LogFile {
    /// Opens (creating if absent) the log in `storage`, cuts a torn tail durably, syncs what
    /// it recovered (so nothing it acts on can vanish later), and returns the intact records.
    pub fn open(storage: RaftStorage) -> Result<(LogFile, Vec<LogFileRecord>), LogFileError> {
        let (len, records) = {
            let mut disk = storage.lock();
            let bytes = match read_whole(disk.as_mut(), LOG_FILE)? {
                Some(bytes) => bytes,
                None => {
                    disk.create(LOG_FILE)?;
                    Vec::new()
                }
            };
            let recovered = recover(LOG_FILE, &bytes)?;
            if recovered.valid_len < bytes.len() as u64 {
                tracing::warn!(
                    file = LOG_FILE,
                    torn_bytes = bytes.len() as u64 - recovered.valid_len,
                    "truncating a torn tail of the raft log"
                );
                disk.truncate(LOG_FILE, recovered.valid_len)?;
            }
            disk.sync(LOG_FILE)?;
            (recovered.valid_len, recovered.records)
        };
        let log = LogFile {
            storage,
            len,
            fenced: None,
        };
        Ok((log, records))
    }

    fn check_not_fenced(&self) -> Result<(), LogFileError> {
        match &self.fenced {
            Some(cause) => Err(LogFileError::Fenced {
                file: LOG_FILE.to_string(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Appends `records` as frames and syncs them: durable when this returns `Ok`.
    pub fn append(&mut self, records: &[LogFileRecord]) -> Result<(), LogFileError> {
        self.check_not_fenced()?;
        let frames = encode_frames(records)?;
        let storage = self.storage.clone();
        let mut disk = storage.lock();
        if let Err(error) = disk.append(LOG_FILE, &frames) {
            // A failed append may have written a prefix: cut it so the next append starts on
            // a frame boundary. If even that fails, the file's end is unknown.
            if let Err(cut) = disk.truncate(LOG_FILE, self.len) {
                self.fenced = Some(cut.to_string());
            }
            return Err(error.into());
        }
        if let Err(error) = disk.sync(LOG_FILE) {
            self.fenced = Some(error.to_string());
            return Err(error.into());
        }
        self.len += frames.len() as u64;
        Ok(())
    }

    /// Replaces the file's contents with `records`, atomically (temp file, sync, rename).
    pub fn rewrite(&mut self, records: &[LogFileRecord]) -> Result<(), LogFileError> {
        self.check_not_fenced()?;
        let frames = encode_frames(records)?;
        let storage = self.storage.clone();
        let mut disk = storage.lock();
        replace_file(disk.as_mut(), LOG_FILE, &frames)?;
        self.len = frames.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three frames (truncation records, which are tiny) and where each one ends.
    fn three_frames() -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for index in [7u64, 1_000, 123_456_789] {
            encode_frame(LOG_FILE, &LogFileRecord::TruncateFrom(index), &mut bytes).unwrap();
            ends.push(bytes.len());
        }
        (bytes, ends)
    }

    fn indexes(records: &[LogFileRecord]) -> Vec<u64> {
        (records.iter())
            .map(|record| match record {
                LogFileRecord::TruncateFrom(index) => *index,
                other => panic!("unexpected record {other:?}"),
            })
            .collect()
    }

    fn corrupt_offset(result: Result<RecoveredFrames, LogFileError>) -> u64 {
        match result {
            Err(LogFileError::Corrupt { offset, .. }) => offset,
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn a_file_cut_at_any_byte_recovers_exactly_the_whole_frames_before_the_cut() {
        let (bytes, ends) = three_frames();
        let all = [7, 1_000, 123_456_789];
        for cut in 0..=bytes.len() {
            let recovered = recover(LOG_FILE, &bytes[..cut]).expect("a cut is never corruption");
            let whole = ends.iter().filter(|end| **end <= cut).count();
            assert_eq!(indexes(&recovered.records), all[..whole], "cut at {cut}");
            let valid_len = if whole == 0 { 0 } else { ends[whole - 1] };
            assert_eq!(recovered.valid_len, valid_len as u64, "cut at {cut}");
        }
    }

    #[test]
    fn zeros_after_the_last_frame_or_over_its_damaged_end_are_a_torn_tail() {
        let (mut bytes, ends) = three_frames();
        bytes.extend_from_slice(&[0; 1000]);
        let recovered = recover(LOG_FILE, &bytes).unwrap();
        assert_eq!(recovered.valid_len, ends[2] as u64);
        // The last frame's payload partly zero-filled, and zeros after it.
        bytes[ends[2] - 2] = 0;
        let recovered = recover(LOG_FILE, &bytes).unwrap();
        assert_eq!(recovered.valid_len, ends[1] as u64);
    }

    #[test]
    fn a_damaged_payload_or_header_before_the_last_frame_is_corruption_at_its_offset() {
        let (bytes, ends) = three_frames();
        let mut payload = bytes.clone();
        payload[ends[0] + FRAME_HEADER_LEN + 2] ^= 0x01;
        assert_eq!(corrupt_offset(recover(LOG_FILE, &payload)), ends[0] as u64);
        let mut length = bytes.clone();
        length[ends[0]] ^= 0x80; // the second frame's length now runs past the end
        assert_eq!(corrupt_offset(recover(LOG_FILE, &length)), ends[0] as u64);
    }

    #[test]
    fn a_damaged_last_header_with_bytes_after_it_is_corruption_not_a_torn_tail() {
        let (mut bytes, ends) = three_frames();
        bytes[ends[1] + 1] ^= 0x04;
        assert_eq!(corrupt_offset(recover(LOG_FILE, &bytes)), ends[1] as u64);
    }

    #[test]
    fn a_length_over_the_limit_with_an_intact_header_is_corruption() {
        let mut bytes = vec![0u8; FRAME_HEADER_LEN];
        bytes[..4].copy_from_slice(&(FRAME_LEN_MAX as u32 + 1).to_be_bytes());
        let header_crc = crc32c::crc32c(&bytes[..8]);
        bytes[8..12].copy_from_slice(&header_crc.to_be_bytes());
        bytes.extend_from_slice(b"{}");
        assert_eq!(corrupt_offset(recover(LOG_FILE, &bytes)), 0);
    }

    #[test]
    fn a_single_frame_file_must_be_exactly_one_intact_frame() {
        let mut frame = Vec::new();
        encode_frame("raft-vote", &42u64, &mut frame).unwrap();
        assert_eq!(decode_single_frame::<u64>("raft-vote", &frame).unwrap(), 42);
        let mut longer = frame.clone();
        longer.push(0);
        assert!(decode_single_frame::<u64>("raft-vote", &longer).is_err());
        assert!(decode_single_frame::<u64>("raft-vote", &frame[..frame.len() - 1]).is_err());
        assert!(decode_single_frame::<u64>("raft-vote", &frame[..5]).is_err());
    }
}
