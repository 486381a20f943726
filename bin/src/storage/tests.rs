//! FileStorage behaviour beyond the shared conformance suite (tests/tests/storage_conformance.rs):
//! the handle cache, the directory lock, foreign directory entries, error mapping.

use std::io::{Error, ErrorKind};

use odradek_core::storage::{Storage, StorageError};

use super::{error, FileStorage, OPEN_FILES_MAX};

fn temp_storage() -> (tempfile::TempDir, FileStorage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = FileStorage::open(dir.path().join("data")).unwrap();
    (dir, storage)
}

#[test]
fn open_creates_a_missing_directory_with_its_parents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b");
    let storage = FileStorage::open(&path).unwrap();
    assert!(path.is_dir());
    assert_eq!(storage.dir(), path);
}

#[test]
fn a_second_storage_on_the_same_directory_is_refused_until_the_first_is_dropped() {
    let (dir, storage) = temp_storage();
    let second = FileStorage::open(dir.path().join("data"));
    assert!(matches!(second, Err(StorageError::Io { .. })), "{second:?}");
    drop(storage);
    FileStorage::open(dir.path().join("data")).unwrap();
}

#[test]
fn more_files_than_the_handle_cache_holds_stay_correct() {
    let (_dir, mut storage) = temp_storage();
    let count = OPEN_FILES_MAX + 20;
    for i in 0..count {
        let name = format!("f{i:04}");
        storage.create(&name).unwrap();
        storage.append(&name, name.as_bytes()).unwrap();
    }
    assert_eq!(storage.open_handles(), OPEN_FILES_MAX);
    for i in 0..count {
        let name = format!("f{i:04}");
        assert_eq!(storage.append(&name, b"!").unwrap(), 5, "{name}");
        assert_eq!(
            storage.read_at(&name, 0, 100).unwrap(),
            format!("{name}!").as_bytes()
        );
    }
    assert_eq!(storage.open_handles(), OPEN_FILES_MAX);
}

#[test]
fn appends_after_a_rename_go_to_the_renamed_file() {
    let (_dir, mut storage) = temp_storage();
    storage.create("a.tmp").unwrap();
    storage.append("a.tmp", b"one").unwrap();
    storage.rename("a.tmp", "a").unwrap();
    assert_eq!(storage.append("a", b"two").unwrap(), 3);
    assert_eq!(std::fs::read(storage.dir().join("a")).unwrap(), b"onetwo");
    assert!(matches!(
        storage.len("a.tmp"),
        Err(StorageError::NotFound { .. })
    ));
}

#[test]
fn list_ignores_subdirectories_and_files_with_foreign_names() {
    let (_dir, mut storage) = temp_storage();
    storage.create("segment").unwrap();
    std::fs::create_dir(storage.dir().join("subdir")).unwrap();
    std::fs::write(storage.dir().join("with space"), b"x").unwrap();
    assert_eq!(storage.list().unwrap(), vec!["segment".to_owned()]);
}

#[test]
fn a_failed_sync_stays_failed_and_follows_the_file_across_a_rename() {
    let (_dir, mut storage) = temp_storage();
    storage.create("a").unwrap();
    storage.failed_syncs.insert("a".to_owned());
    assert!(matches!(
        storage.sync("a"),
        Err(StorageError::SyncFailed { .. })
    ));
    storage.rename("a", "b").unwrap();
    assert!(matches!(
        storage.sync("b"),
        Err(StorageError::SyncFailed { .. })
    ));
    storage.remove("b").unwrap();
    storage.create("b").unwrap();
    storage.sync("b").unwrap();
}

#[test]
fn io_errors_map_onto_the_contract() {
    let no_space = Error::from(ErrorKind::StorageFull);
    assert_eq!(
        error::from_io("a", &no_space),
        StorageError::NoSpace {
            name: "a".to_owned()
        }
    );
    let enospc = Error::from_raw_os_error(28);
    assert!(matches!(
        error::from_io("a", &enospc),
        StorageError::NoSpace { .. }
    ));
    let missing = Error::from(ErrorKind::NotFound);
    assert_eq!(
        error::from_io("a", &missing),
        StorageError::NotFound {
            name: "a".to_owned()
        }
    );
    let other = Error::from(ErrorKind::PermissionDenied);
    assert!(matches!(
        error::from_io("a", &other),
        StorageError::Io { .. }
    ));
}
