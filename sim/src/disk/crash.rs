//! What a crash leaves of a file's pending changes (the contract's torn/lost writes).
//!
//! For each file with pending changes the crash picks, from the crash RNG stream, one of:
//! * **lost** (probability 1/3): no pending change reached the disk; the file is its durable
//!   content again (pending truncates undone, pending appends gone);
//! * **kept** (1/3): every pending change reached the disk;
//! * **cut** (1/3): pending truncates happened and the pending appends survived up to a cut
//!   point drawn uniformly from the stable length and every 512-byte boundary of the file
//!   strictly between it and the current length. A cut at a boundary is a *torn* write.
//!
//! A file whose sync failed always loses its pending changes (fsyncgate). Nothing that was
//! never written can appear: every outcome is a prefix of what was written or the durable
//! content, and the crash clears the sticky sync failure (the restart reopens the file).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::faults::FaultKind;
use super::file::SimFile;

/// The granularity at which a pending write can tear.
pub const SECTOR_BYTES: usize = 512;

/// Applies a crash to one file. Returns the fault to log, if any pending change was dropped.
pub(super) fn crash_file(file: &mut SimFile, rng: &mut ChaCha8Rng) -> Option<FaultKind> {
    let sync_failed = file.sync_failed;
    file.sync_failed = false;
    if !file.has_pending() {
        return None;
    }
    let len_before = file.len();
    let (len_after, torn) = if sync_failed {
        file.revert_to_durable();
        (file.len(), false)
    } else {
        match rng.random_range(0..3u8) {
            0 => {
                file.revert_to_durable();
                (file.len(), false)
            }
            1 => {
                file.mark_synced();
                return None;
            }
            _ => {
                let (cut, torn) = draw_cut(file.stable_len, file.data.len(), rng);
                file.keep_pending_prefix(cut);
                (cut as u64, torn)
            }
        }
    };
    Some(FaultKind::CrashDroppedPending {
        len_before,
        len_after,
        torn,
    })
}

/// Draws a cut point in `stable_len..len`: `stable_len` itself or a sector boundary strictly
/// between the two. Returns the cut and whether it is a boundary (a torn write).
fn draw_cut(stable_len: usize, len: usize, rng: &mut ChaCha8Rng) -> (usize, bool) {
    debug_assert!(stable_len <= len);
    let boundaries = if len == 0 {
        0
    } else {
        ((len - 1) / SECTOR_BYTES).saturating_sub(stable_len / SECTOR_BYTES)
    };
    let choice = rng.random_range(0..=boundaries);
    if choice == 0 {
        (stable_len, false)
    } else {
        ((stable_len / SECTOR_BYTES + choice) * SECTOR_BYTES, true)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn cut_points_are_the_stable_length_or_sector_boundaries_inside_the_pending_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let (cut, torn) = draw_cut(100, 1600, &mut rng);
            assert_eq!(torn, cut != 100);
            seen.insert(cut);
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            vec![100, 512, 1024, 1536]
        );
    }

    #[test]
    fn a_boundary_equal_to_the_length_is_not_a_cut_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(draw_cut(512, 1024, &mut rng), (512, false));
            assert_eq!(draw_cut(0, 0, &mut rng), (0, false));
        }
    }
}
