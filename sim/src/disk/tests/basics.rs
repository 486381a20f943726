//! Behaviour with faults off that the conformance suite cannot see: the handle, the views.

use odradek_core::storage::Storage;

use super::{content, create_with, pattern};
use crate::disk::SimDisk;

#[test]
fn clones_of_a_handle_share_one_disk() {
    let mut disk = SimDisk::new(1);
    let mut other = disk.clone();
    create_with(&mut disk, "a", b"hello");
    assert_eq!(other.read_at("a", 0, 5).unwrap(), b"hello");
    other.append("a", b"!").unwrap();
    assert_eq!(disk.len("a").unwrap(), 6);
}

#[test]
fn files_shows_pending_data_and_durable_files_only_synced_data() {
    let mut disk = SimDisk::new(1);
    create_with(&mut disk, "a", b"synced");
    disk.sync("a").unwrap();
    disk.append("a", b"+pending").unwrap();
    assert_eq!(content(&disk, "a"), b"synced+pending");
    assert_eq!(disk.durable_files()["a"], b"synced");
    assert!(disk.has_pending("a"));
    disk.sync("a").unwrap();
    assert!(!disk.has_pending("a"));
    assert_eq!(disk.durable_files()["a"], b"synced+pending");
}

#[test]
fn a_pending_truncate_keeps_the_cut_synced_bytes_in_the_durable_view() {
    let mut disk = SimDisk::new(1);
    let data = pattern(3, 2000);
    create_with(&mut disk, "a", &data);
    disk.sync("a").unwrap();
    disk.truncate("a", 100).unwrap();
    disk.append("a", b"new").unwrap();
    disk.truncate("a", 50).unwrap();
    assert_eq!(content(&disk, "a"), &data[..50]);
    assert_eq!(disk.durable_files()["a"], data);
}

#[test]
fn used_bytes_counts_current_lengths_of_all_files() {
    let mut disk = SimDisk::new(1);
    create_with(&mut disk, "a", &[1; 300]);
    create_with(&mut disk, "b", &[2; 200]);
    assert_eq!(disk.used_bytes(), 500);
    disk.truncate("a", 100).unwrap();
    assert_eq!(disk.used_bytes(), 300);
    disk.rename("b", "a").unwrap();
    assert_eq!(disk.used_bytes(), 200);
    disk.remove("a").unwrap();
    assert_eq!(disk.used_bytes(), 0);
}

#[test]
fn reads_past_the_end_are_empty_and_huge_lengths_do_not_allocate() {
    let mut disk = SimDisk::new(1);
    create_with(&mut disk, "a", b"abc");
    assert_eq!(disk.read_at("a", 1, usize::MAX).unwrap(), b"bc");
    assert!(disk.read_at("a", u64::MAX, 10).unwrap().is_empty());
}

#[test]
fn renaming_a_file_onto_itself_changes_nothing() {
    let mut disk = SimDisk::new(1);
    create_with(&mut disk, "a", b"abc");
    disk.rename("a", "a").unwrap();
    assert_eq!(disk.list().unwrap(), vec!["a".to_owned()]);
    assert_eq!(content(&disk, "a"), b"abc");
}
