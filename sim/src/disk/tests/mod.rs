//! Unit tests of `SimDisk`: one file per concern.

mod basics;
mod crash;
mod determinism;
mod faults;
mod model;

use odradek_core::storage::Storage;

use super::SimDisk;

/// `len` bytes that differ from position to position, so a misplaced byte shows.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Creates `name` and appends `data` to it, panicking on error (tests only).
fn create_with(disk: &mut SimDisk, name: &str, data: &[u8]) {
    disk.create(name).unwrap();
    disk.append(name, data).unwrap();
}

/// What reads of `name` return now.
fn content(disk: &SimDisk, name: &str) -> Vec<u8> {
    disk.files().remove(name).unwrap()
}
