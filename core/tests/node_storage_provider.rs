//! The StorageProvider contract, one behaviour suite run against both implementations: the
//! simulator's `SimDiskProvider` (one SimDisk for every directory) and the binary's
//! `FileStorageProvider` (real subdirectories).

use odradek::storage::FileStorageProvider;
use odradek_core::storage::{Storage, StorageError, StorageProvider};
use odradek_sim::disk::{SimDisk, SimDiskProvider};

fn directories_are_created_listed_isolated_and_removed<P: StorageProvider>(provider: &mut P) {
    assert_eq!(provider.list_directories().unwrap(), Vec::<String>::new());
    let mut a = provider.open_directory("orders-0").unwrap();
    let mut b = provider.open_directory("orders_1-0").unwrap();
    a.create("x.log").unwrap();
    a.append("x.log", b"alpha").unwrap();
    b.create("x.log").unwrap();
    b.append("x.log", b"beta!!").unwrap();
    assert_eq!(a.read_at("x.log", 0, 100).unwrap(), b"alpha");
    assert_eq!(b.read_at("x.log", 0, 100).unwrap(), b"beta!!");
    assert_eq!(a.list().unwrap(), vec!["x.log".to_owned()]);
    assert_eq!(
        provider.list_directories().unwrap(),
        vec!["orders-0".to_owned(), "orders_1-0".to_owned()]
    );
    drop(a);
    provider.remove_directory("orders-0").unwrap();
    assert_eq!(
        provider.list_directories().unwrap(),
        vec!["orders_1-0".to_owned()]
    );
    let mut again = provider.open_directory("orders-0").unwrap();
    assert_eq!(again.list().unwrap(), Vec::<String>::new());
    assert_eq!(b.read_at("x.log", 0, 100).unwrap(), b"beta!!");
}

fn bad_names_and_missing_directories_are_typed_errors<P: StorageProvider>(provider: &mut P) {
    assert!(matches!(
        provider.open_directory("../escape"),
        Err(StorageError::InvalidName { .. })
    ));
    assert!(matches!(
        provider.remove_directory("never-0"),
        Err(StorageError::NotFound { .. })
    ));
}

#[test]
fn sim_disk_provider_keeps_directories_apart_on_one_disk() {
    let mut provider = SimDiskProvider::new(SimDisk::new(7));
    directories_are_created_listed_isolated_and_removed(&mut provider);
    bad_names_and_missing_directories_are_typed_errors(&mut provider);
}

#[test]
fn file_storage_provider_keeps_directories_apart_as_subdirectories() {
    let root = tempfile::tempdir().unwrap();
    let mut provider = FileStorageProvider::open(root.path().join("data")).unwrap();
    directories_are_created_listed_isolated_and_removed(&mut provider);
    bad_names_and_missing_directories_are_typed_errors(&mut provider);
}

#[test]
fn one_sim_disk_crash_hits_every_directory_and_keeps_directories() {
    let disk = SimDisk::new(3);
    let mut provider = SimDiskProvider::new(disk.clone());
    let mut a = provider.open_directory("t-0").unwrap();
    let mut b = provider.open_directory("t-1").unwrap();
    for dir in [&mut a, &mut b] {
        dir.create("f").unwrap();
        dir.append("f", b"synced").unwrap();
        dir.sync("f").unwrap();
        dir.append("f", &[9; 4096]).unwrap();
    }
    disk.crash();
    for dir in [&mut a, &mut b] {
        let len = dir.len("f").unwrap();
        assert!((6..=6 + 4096).contains(&len), "{len}");
        assert_eq!(dir.read_at("f", 0, 6).unwrap(), b"synced");
    }
    assert_eq!(
        provider.list_directories().unwrap(),
        vec!["t-0".to_owned(), "t-1".to_owned()]
    );
}

#[test]
fn a_removed_sim_directory_stays_removed_after_a_crash() {
    let disk = SimDisk::new(5);
    let mut provider = SimDiskProvider::new(disk.clone());
    let mut doomed = provider.open_directory("gone-0").unwrap();
    doomed.create("00.log").unwrap();
    doomed.append("00.log", b"data").unwrap();
    doomed.sync("00.log").unwrap();
    drop(doomed);
    provider.open_directory("kept-0").unwrap();
    provider.remove_directory("gone-0").unwrap();
    disk.crash();
    assert_eq!(
        provider.list_directories().unwrap(),
        vec!["kept-0".to_owned()]
    );
    let mut reopened = provider.open_directory("gone-0").unwrap();
    assert_eq!(reopened.list().unwrap(), Vec::<String>::new());
}
