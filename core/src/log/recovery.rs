//! Opening a log: find the segments, validate the active (tail) segment batch by batch and
//! cut a torn tail, keep-but-quarantine corruption that has valid data after it, and validate
//! or rebuild the indexes of sealed segments.
//!
//! Two planted bugs live here (see [`crate::bugs`]): `RecoverWithoutTruncatingTornTail` keeps
//! the torn tail and appends after it; `OffsetReusedAfterCrash` sets the next offset of a
//! non-empty active segment one below its true end.
//!
//! Why only the tail is scanned: sealed segments were synced (with their indexes) when they
//! were rolled, so a crash cannot tear them; only the disk itself can corrupt them, and the
//! read path CRC-checks every batch it serves. A sealed segment whose index files are missing
//! or inconsistent is scanned in full, and any corruption found is reported.

use super::index::{self, IndexBuilder};
use super::read::read_header;
use super::segment::{self, CorruptRange, Segment, SegmentFile};
use super::{write_whole_file, LogConfig, LogError, PartitionLog, RETENTION_CHECK_INTERVAL_MS};
use crate::bugs::PlantedBug;
use crate::record::{validate_batch, BatchHeader, Offset};
use crate::storage::Storage;
use crate::time::Now;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments in the log after recovery.
    pub segments: usize,
    /// Where the active segment's torn or corrupt tail was cut: (file, position, bytes cut).
    pub truncated: Option<(String, u64, u64)>,
    /// Corrupt regions kept but never served.
    pub corrupt: Vec<CorruptRange>,
    /// Sealed segments whose indexes were rebuilt.
    pub rebuilt_indexes: Vec<Offset>,
    /// Index files without a log file, removed.
    pub removed_orphans: Vec<String>,
}

/// The outcome of scanning a segment file from the start.
struct Scan {
    index: IndexBuilder,
    valid_end: u64,
    next_offset: Offset,
    corrupt: Vec<CorruptRange>,
    torn: Option<String>,
}

impl<S: Storage> PartitionLog<S> {
    /// Opens (or creates) the log stored in `storage`, recovering from any crash.
    pub fn open(
        mut storage: S,
        config: LogConfig,
        now: Now,
    ) -> Result<(PartitionLog<S>, RecoveryReport), LogError> {
        let mut report = RecoveryReport::default();
        let (bases, index_files) = list_segment_files(&mut storage)?;
        for orphan in index_files.iter().filter(|(base, _)| !bases.contains(base)) {
            storage.remove(&orphan.1)?;
            report.removed_orphans.push(orphan.1.clone());
        }
        let mut segments = Vec::new();
        let bases: Vec<Offset> = bases.into_iter().collect();
        for (i, &base) in bases.iter().enumerate() {
            let segment = match bases.get(i + 1) {
                Some(&next) => open_sealed(&mut storage, &config, base, next, now, &mut report)?,
                None => open_active(&mut storage, &config, base, now, &mut report)?,
            };
            segments.push(segment);
        }
        if segments.is_empty() {
            storage.create(&segment::log_file_name(Offset(0)))?;
            segments.push(Segment::new(Offset(0), now.mono));
        }
        report.segments = segments.len();
        let durable_offset = segments.last().map_or(Offset(0), |s| s.base_offset);
        let mut log = PartitionLog {
            storage,
            config,
            segments,
            durable_offset,
            outputs: VecDeque::new(),
            next_sync_id: 0,
            in_flight_syncs: BTreeMap::new(),
            unsynced_since: None,
            next_retention_check: now.mono.plus_millis(RETENTION_CHECK_INTERVAL_MS),
            fenced: None,
            last_now: now.mono,
        };
        log.request_sync();
        log.check_invariants();
        Ok((log, report))
    }
}

type SegmentFiles = (BTreeSet<Offset>, Vec<(Offset, String)>);

fn list_segment_files<S: Storage>(storage: &mut S) -> Result<SegmentFiles, LogError> {
    let mut bases = BTreeSet::new();
    let mut index_files = Vec::new();
    for name in storage.list()? {
        match segment::parse_file_name(&name) {
            Some(SegmentFile::Log(base)) => {
                bases.insert(base);
            }
            Some(SegmentFile::OffsetIndex(base) | SegmentFile::TimeIndex(base)) => {
                index_files.push((base, name));
            }
            None => {}
        }
    }
    Ok((bases, index_files))
}

/// The active segment: scanned in full; a torn tail is cut (durably).
fn open_active<S: Storage>(
    storage: &mut S,
    config: &LogConfig,
    base: Offset,
    now: Now,
    report: &mut RecoveryReport,
) -> Result<Segment, LogError> {
    let mut segment = Segment::new(base, now.mono);
    let file = segment.log_file().to_owned();
    let file_len = storage.len(&file)?;
    let scan = scan_segment(storage, base, file_len, config.index_interval_bytes)?;
    let bugs = config.planted_bugs;
    segment.size = scan.valid_end;
    if scan.torn.is_some() && bugs.has(PlantedBug::RecoverWithoutTruncatingTornTail) {
        // Planted bug: the garbage stays and appends go after it; offsets continue from the
        // last valid batch, so a read that scans from before the garbage hits it.
        segment.size = file_len;
    } else if scan.torn.is_some() {
        storage.truncate(&file, scan.valid_end)?;
        storage.sync(&file)?;
        report.truncated = Some((file.clone(), scan.valid_end, file_len - scan.valid_end));
    }
    report.corrupt.extend(scan.corrupt.iter().cloned());
    segment.next_offset = scan.next_offset;
    if bugs.has(PlantedBug::OffsetReusedAfterCrash) && scan.next_offset > base {
        // Planted bug: the next offset is one below the log end, so it is assigned again.
        segment.next_offset = Offset(scan.next_offset.0 - 1);
    }
    segment.index = scan.index;
    segment.corrupt = scan.corrupt;
    Ok(segment)
}

/// A sealed segment: trusted indexes are loaded, otherwise it is scanned and re-indexed.
fn open_sealed<S: Storage>(
    storage: &mut S,
    config: &LogConfig,
    base: Offset,
    next_base: Offset,
    now: Now,
    report: &mut RecoveryReport,
) -> Result<Segment, LogError> {
    let mut segment = Segment::new(base, now.mono);
    segment.next_offset = next_base;
    segment.size = storage.len(segment.log_file())?;
    if let Some(index) = load_indexes(storage, &segment)? {
        segment.index = index;
        return Ok(segment);
    }
    let scan = scan_segment(storage, base, segment.size, config.index_interval_bytes)?;
    let mut corrupt = scan.corrupt;
    if let Some(detail) = scan.torn {
        corrupt.push(CorruptRange {
            segment: segment.log_file().to_owned(),
            position: scan.valid_end,
            len: segment.size - scan.valid_end,
            detail,
        });
    } else if scan.next_offset != next_base {
        corrupt.push(CorruptRange {
            segment: segment.log_file().to_owned(),
            position: scan.valid_end,
            len: 0,
            detail: format!(
                "segment ends at offset {} but the next starts at {next_base}",
                scan.next_offset
            ),
        });
    }
    let mut index = scan.index;
    index.maybe_add_time_entry();
    write_whole_file(
        storage,
        &segment::offset_index_file_name(base),
        &index::encode_offset_index(&index.offsets),
    )?;
    write_whole_file(
        storage,
        &segment::time_index_file_name(base),
        &index::encode_time_index(&index.times),
    )?;
    report.rebuilt_indexes.push(base);
    report.corrupt.extend(corrupt.iter().cloned());
    segment.index = index;
    segment.corrupt = corrupt;
    Ok(segment)
}

/// Loads a sealed segment's index files if they are present and consistent with its data.
fn load_indexes<S: Storage>(
    storage: &mut S,
    segment: &Segment,
) -> Result<Option<IndexBuilder>, LogError> {
    let base = segment.base_offset;
    let Some(offsets_bytes) = read_optional(storage, &segment::offset_index_file_name(base))?
    else {
        return Ok(None);
    };
    let Some(times_bytes) = read_optional(storage, &segment::time_index_file_name(base))? else {
        return Ok(None);
    };
    let (Some(offsets), Some(times)) = (
        index::decode_offset_index(&offsets_bytes),
        index::decode_time_index(&times_bytes),
    ) else {
        return Ok(None);
    };
    let span = segment.next_offset.0 - base.0;
    let in_bounds = offsets
        .iter()
        .all(|e| u64::from(e.position) < segment.size && u64::from(e.relative_offset) < span)
        && times.iter().all(|e| u64::from(e.relative_offset) < span);
    let Some(last) = offsets.last().filter(|_| in_bounds) else {
        return Ok(None);
    };
    let header_matches = match read_header(storage, segment, u64::from(last.position)) {
        Ok(header) => header.last_offset() == base.0 + u64::from(last.relative_offset),
        Err(_) => false,
    };
    if !header_matches {
        return Ok(None);
    }
    let mut index = IndexBuilder::new();
    if let Some(newest) = times.last() {
        index.max_timestamp = newest.timestamp;
        index.max_timestamp_relative_offset = newest.relative_offset;
    }
    index.offsets = offsets;
    index.times = times;
    Ok(Some(index))
}

fn read_optional<S: Storage>(storage: &mut S, name: &str) -> Result<Option<Vec<u8>>, LogError> {
    let len = match storage.len(name) {
        Ok(len) => len,
        Err(crate::storage::StorageError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    Ok(Some(storage.read_at(name, 0, len as usize)?))
}

/// Scans a segment from the start, validating every batch (length, magic, CRC, offsets).
fn scan_segment<S: Storage>(
    storage: &mut S,
    base: Offset,
    file_len: u64,
    interval: u64,
) -> Result<Scan, LogError> {
    let file = segment::log_file_name(base);
    let mut scan = Scan {
        index: IndexBuilder::new(),
        valid_end: 0,
        next_offset: base,
        corrupt: Vec::new(),
        torn: None,
    };
    let mut position = 0u64;
    while position < file_len {
        // A transient read error must not make recovery cut durable data: on failure the
        // batch is read a second time before it is judged.
        let first = check_batch_at(storage, &file, position, file_len, scan.next_offset)?;
        let checked = match first {
            Ok(header) => Ok(header),
            Err(_) => check_batch_at(storage, &file, position, file_len, scan.next_offset)?,
        };
        match checked {
            Ok(header) => {
                let total = header.total_len().unwrap_or(0) as u64;
                let relative_last = (header.last_offset() - base.0) as u32;
                scan.index.on_batch(
                    position as u32,
                    total,
                    relative_last,
                    header.max_timestamp,
                    interval,
                );
                position += total;
                scan.next_offset = Offset(header.next_offset());
            }
            Err(detail) => {
                match next_valid_after(storage, &file, position, file_len, scan.next_offset)? {
                    Some((skip, next_base)) => {
                        scan.corrupt.push(CorruptRange {
                            segment: file.clone(),
                            position,
                            len: skip,
                            detail,
                        });
                        position += skip;
                        scan.next_offset = next_base;
                    }
                    None => {
                        scan.torn = Some(detail);
                        break;
                    }
                }
            }
        }
        scan.valid_end = position;
    }
    Ok(scan)
}

/// Validates the batch at `position`; the inner error says why it is not acceptable.
fn check_batch_at<S: Storage>(
    storage: &mut S,
    file: &str,
    position: u64,
    file_len: u64,
    expected_base: Offset,
) -> Result<Result<BatchHeader, String>, LogError> {
    let head = storage.read_at(file, position, crate::record::BATCH_HEADER_LEN)?;
    let Some(header) = BatchHeader::parse(&head) else {
        return Ok(Err(format!("torn batch header ({} bytes)", head.len())));
    };
    let Some(total) = header
        .total_len()
        .filter(|&t| position + t as u64 <= file_len)
    else {
        return Ok(Err(format!(
            "batch length {} runs past the file",
            header.batch_length
        )));
    };
    let bytes = storage.read_at(file, position, total)?;
    Ok(match validate_batch(&bytes) {
        Err(error) => Err(error.to_string()),
        Ok(h) if h.base_offset != expected_base.0 => Err(format!(
            "batch has offset {} where {expected_base} was expected",
            h.base_offset
        )),
        Ok(h) => Ok(h),
    })
}

/// If the bad batch at `position` still has an intact-looking header (the expected base
/// offset and a sane length) and the batch after it is valid and starts exactly where the bad
/// one's header says it ends, the damage is inside durable data, not a torn tail: returns the
/// bad batch's length and the next batch's base offset. Anything less certain is treated as a
/// torn tail, so a flipped bit in an offset field can never open a gap in the offsets.
fn next_valid_after<S: Storage>(
    storage: &mut S,
    file: &str,
    position: u64,
    file_len: u64,
    expected_base: Offset,
) -> Result<Option<(u64, Offset)>, LogError> {
    let head = storage.read_at(file, position, crate::record::BATCH_HEADER_LEN)?;
    let Some(bad) = BatchHeader::parse(&head).filter(|h| h.base_offset == expected_base.0) else {
        return Ok(None);
    };
    let Some(skip) = bad.total_len().map(|t| t as u64) else {
        return Ok(None);
    };
    let next = position + skip;
    if next >= file_len || bad.last_offset_delta < 0 {
        return Ok(None);
    }
    let next_base = Offset(bad.next_offset());
    let checked = check_batch_at(storage, file, next, file_len, next_base)?;
    Ok(checked.ok().map(|_| (skip, next_base)))
}

/// Rebuilds a segment's index from its batch headers up to byte `end` (after truncation).
pub(super) fn scan_index_until<S: Storage>(
    storage: &mut S,
    segment: &Segment,
    end: u64,
    interval: u64,
) -> Result<IndexBuilder, LogError> {
    let mut index = IndexBuilder::new();
    let mut position = 0u64;
    while position < end {
        let header = read_header(storage, segment, position)?;
        let total = header.total_len().unwrap_or(0) as u64;
        let relative_last = (header.last_offset() - segment.base_offset.0) as u32;
        index.on_batch(
            position as u32,
            total,
            relative_last,
            header.max_timestamp,
            interval,
        );
        position += total;
    }
    Ok(index)
}
