//! Storage conformance: one suite of behaviour checks of the `Storage` contract
//! (`odradek_core::storage`), run against both implementations so that what the partition log
//! learns under `SimDisk` holds on real files.
//!
//! Each check takes `open`, a function that opens a handle onto one fresh backend: the first
//! call sees an empty directory, later calls "reopen" the same data. For `FileStorage` that is
//! a new `FileStorage` on the same temporary directory; for `SimDisk` it is a crash and restart
//! of the same disk (faults off), so "reopen sees synced data" is also a crash check there.

use odradek::storage::FileStorage;
use odradek_core::storage::{Storage, StorageError};
use odradek_sim::disk::SimDisk;

/// A fresh `SimDisk`; each reopen crashes it first.
fn fresh_sim_disk() -> impl FnMut() -> SimDisk {
    let disk = SimDisk::new(0x5EED);
    move || {
        disk.crash();
        disk.clone()
    }
}

/// A fresh `FileStorage` in its own temporary directory, removed when the opener is dropped.
fn fresh_file_storage() -> impl FnMut() -> FileStorage {
    let dir = tempfile::tempdir().expect("a temporary directory");
    move || FileStorage::open(dir.path()).expect("FileStorage::open of a temporary directory")
}

/// Generates one `#[test]` per check for a backend, so a failure names backend and check.
macro_rules! conformance_tests {
    ($backend:ident, $fresh:path) => {
        conformance_tests!(@checks $backend, $fresh, [
            a_new_storage_is_empty,
            create_makes_an_empty_file_and_refuses_an_existing_name,
            append_returns_the_position_it_wrote_at,
            read_at_returns_fewer_bytes_only_at_end_of_file,
            len_counts_unsynced_data,
            truncate_cuts_the_file_and_appends_continue_at_the_new_end,
            truncate_past_the_end_fails_and_changes_nothing,
            list_is_sorted_bytewise,
            remove_deletes_the_file_and_the_name_can_be_reused,
            rename_moves_the_content,
            rename_replaces_an_existing_target,
            rename_onto_itself_changes_nothing,
            invalid_names_are_rejected_by_every_operation,
            operations_on_a_missing_file_fail_with_not_found,
            reopening_sees_synced_data_and_directory_operations,
            many_appends_read_back_in_order,
            sync_succeeds_on_empty_and_unchanged_files,
        ]);
    };
    (@checks $backend:ident, $fresh:path, [$($check:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[test]
                fn $check() {
                    super::$check($fresh());
                }
            )*
        }
    };
}

conformance_tests!(sim_disk, super::fresh_sim_disk);
conformance_tests!(file_storage, super::fresh_file_storage);

/// `len` bytes that differ from position to position, so a misplaced byte shows.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

fn not_found(name: &str) -> StorageError {
    StorageError::NotFound {
        name: name.to_owned(),
    }
}

fn a_new_storage_is_empty<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    assert_eq!(storage.list().unwrap(), Vec::<String>::new());
}

fn create_makes_an_empty_file_and_refuses_an_existing_name<S: Storage>(
    mut open: impl FnMut() -> S,
) {
    let mut storage = open();
    storage.create("segment.log").unwrap();
    assert_eq!(storage.len("segment.log").unwrap(), 0);
    storage.append("segment.log", b"data").unwrap();
    assert_eq!(
        storage.create("segment.log"),
        Err(StorageError::AlreadyExists {
            name: "segment.log".to_owned()
        })
    );
    assert_eq!(storage.read_at("segment.log", 0, 10).unwrap(), b"data");
}

fn append_returns_the_position_it_wrote_at<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    assert_eq!(storage.append("a", b"abc").unwrap(), 0);
    assert_eq!(storage.append("a", b"").unwrap(), 3);
    assert_eq!(storage.append("a", b"defg").unwrap(), 3);
    assert_eq!(storage.append("a", b"h").unwrap(), 7);
    assert_eq!(storage.read_at("a", 0, 8).unwrap(), b"abcdefgh");
}

fn read_at_returns_fewer_bytes_only_at_end_of_file<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.append("a", b"0123456789").unwrap();
    assert_eq!(storage.read_at("a", 2, 3).unwrap(), b"234");
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"0123456789");
    assert_eq!(storage.read_at("a", 7, 100).unwrap(), b"789");
    assert_eq!(storage.read_at("a", 4, 0).unwrap(), b"");
    assert_eq!(storage.read_at("a", 10, 5).unwrap(), b"");
    assert_eq!(storage.read_at("a", 1_000_000, 5).unwrap(), b"");
}

fn len_counts_unsynced_data<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.append("a", &[7; 1000]).unwrap();
    storage.sync("a").unwrap();
    storage.append("a", &[8; 24]).unwrap();
    assert_eq!(storage.len("a").unwrap(), 1024);
}

fn truncate_cuts_the_file_and_appends_continue_at_the_new_end<S: Storage>(
    mut open: impl FnMut() -> S,
) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.append("a", b"0123456789").unwrap();
    storage.truncate("a", 10).unwrap();
    assert_eq!(storage.len("a").unwrap(), 10);
    storage.truncate("a", 4).unwrap();
    assert_eq!(storage.len("a").unwrap(), 4);
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"0123");
    assert_eq!(storage.append("a", b"xy").unwrap(), 4);
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"0123xy");
    storage.truncate("a", 0).unwrap();
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"");
}

fn truncate_past_the_end_fails_and_changes_nothing<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.append("a", b"abc").unwrap();
    assert_eq!(
        storage.truncate("a", 4),
        Err(StorageError::TruncatePastEnd {
            name: "a".to_owned(),
            len: 4,
            file_len: 3
        })
    );
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"abc");
}

fn list_is_sorted_bytewise<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    let names = [
        "b.log",
        "a.index",
        "B",
        "00000000000000000010.log",
        "_x",
        "a-1",
        "a.log",
    ];
    for name in names {
        storage.create(name).unwrap();
    }
    let mut expected: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    expected.sort();
    assert_eq!(storage.list().unwrap(), expected);
}

fn remove_deletes_the_file_and_the_name_can_be_reused<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.create("b").unwrap();
    storage.append("a", b"old").unwrap();
    storage.remove("a").unwrap();
    assert_eq!(storage.list().unwrap(), vec!["b".to_owned()]);
    assert_eq!(storage.len("a"), Err(not_found("a")));
    assert_eq!(storage.remove("a"), Err(not_found("a")));
    storage.create("a").unwrap();
    assert_eq!(storage.len("a").unwrap(), 0);
}

fn rename_moves_the_content<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a.tmp").unwrap();
    storage.append("a.tmp", b"content").unwrap();
    storage.rename("a.tmp", "a").unwrap();
    assert_eq!(storage.list().unwrap(), vec!["a".to_owned()]);
    assert_eq!(storage.read_at("a", 0, 100).unwrap(), b"content");
    assert_eq!(storage.append("a", b"+").unwrap(), 7);
    assert_eq!(storage.read_at("a.tmp", 0, 1), Err(not_found("a.tmp")));
}

fn rename_replaces_an_existing_target<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("new").unwrap();
    storage.append("new", b"new content").unwrap();
    storage.create("current").unwrap();
    storage.append("current", b"old").unwrap();
    storage.rename("new", "current").unwrap();
    assert_eq!(storage.list().unwrap(), vec!["current".to_owned()]);
    assert_eq!(storage.read_at("current", 0, 100).unwrap(), b"new content");
    assert_eq!(storage.len("current").unwrap(), 11);
}

fn rename_onto_itself_changes_nothing<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.append("a", b"abc").unwrap();
    storage.rename("a", "a").unwrap();
    assert_eq!(storage.list().unwrap(), vec!["a".to_owned()]);
    assert_eq!(storage.read_at("a", 0, 10).unwrap(), b"abc");
    assert_eq!(storage.append("a", b"d").unwrap(), 3);
}

fn invalid_names_are_rejected_by_every_operation<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("valid").unwrap();
    let too_long = "x".repeat(256);
    let names = [
        "",
        ".",
        "..",
        "a/b",
        "../escape",
        "/abs",
        "a b",
        "ü",
        "a\0b",
        &too_long,
    ];
    for name in names {
        let invalid = Err(StorageError::InvalidName {
            name: name.to_owned(),
        });
        assert_eq!(storage.create(name), invalid, "{name:?}");
        assert_eq!(storage.append(name, b"x").map(drop), invalid, "{name:?}");
        assert_eq!(storage.read_at(name, 0, 1).map(drop), invalid, "{name:?}");
        assert_eq!(storage.len(name).map(drop), invalid, "{name:?}");
        assert_eq!(storage.truncate(name, 0), invalid, "{name:?}");
        assert_eq!(storage.sync(name), invalid, "{name:?}");
        assert_eq!(storage.remove(name), invalid, "{name:?}");
        assert_eq!(storage.rename("valid", name), invalid, "{name:?}");
        assert_eq!(storage.rename(name, "valid"), invalid, "{name:?}");
    }
    assert_eq!(storage.list().unwrap(), vec!["valid".to_owned()]);
}

fn operations_on_a_missing_file_fail_with_not_found<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("present").unwrap();
    storage.append("present", b"keep").unwrap();
    let missing = Err(not_found("missing"));
    assert_eq!(storage.append("missing", b"x").map(drop), missing);
    assert_eq!(storage.read_at("missing", 0, 1).map(drop), missing);
    assert_eq!(storage.len("missing").map(drop), missing);
    assert_eq!(storage.truncate("missing", 0), missing);
    assert_eq!(storage.sync("missing"), missing);
    assert_eq!(storage.remove("missing"), missing);
    assert_eq!(storage.rename("missing", "present"), missing);
    assert_eq!(storage.read_at("present", 0, 10).unwrap(), b"keep");
    assert_eq!(storage.list().unwrap(), vec!["present".to_owned()]);
}

fn reopening_sees_synced_data_and_directory_operations<S: Storage>(mut open: impl FnMut() -> S) {
    let segment = pattern(1, 5000);
    {
        let mut storage = open();
        storage.create("segment.tmp").unwrap();
        storage.append("segment.tmp", &segment).unwrap();
        storage.sync("segment.tmp").unwrap();
        storage.rename("segment.tmp", "segment").unwrap();
        storage.create("empty").unwrap();
        storage.create("removed").unwrap();
        storage.remove("removed").unwrap();
    }
    let mut storage = open();
    assert_eq!(
        storage.list().unwrap(),
        vec!["empty".to_owned(), "segment".to_owned()]
    );
    assert_eq!(storage.len("empty").unwrap(), 0);
    assert_eq!(storage.len("segment").unwrap(), 5000);
    assert_eq!(storage.read_at("segment", 0, 5000).unwrap(), segment);
    assert_eq!(storage.append("segment", b"more").unwrap(), 5000);
}

fn many_appends_read_back_in_order<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("log").unwrap();
    let mut expected = Vec::new();
    for batch in 0..64u8 {
        let len = if batch % 8 == 0 {
            16 * 1024
        } else {
            batch as usize * 37
        };
        let data = pattern(batch, len);
        assert_eq!(storage.append("log", &data).unwrap(), expected.len() as u64);
        expected.extend_from_slice(&data);
        if batch % 5 == 0 {
            storage.sync("log").unwrap();
        }
    }
    assert_eq!(storage.len("log").unwrap(), expected.len() as u64);
    let all = storage.read_at("log", 0, expected.len()).unwrap();
    assert_eq!(all, expected);
    let middle = storage.read_at("log", 12_345, 20_000).unwrap();
    assert_eq!(middle, expected[12_345..32_345]);
}

fn sync_succeeds_on_empty_and_unchanged_files<S: Storage>(mut open: impl FnMut() -> S) {
    let mut storage = open();
    storage.create("a").unwrap();
    storage.sync("a").unwrap();
    storage.append("a", b"x").unwrap();
    storage.sync("a").unwrap();
    storage.sync("a").unwrap();
    assert_eq!(storage.read_at("a", 0, 1).unwrap(), b"x");
}
