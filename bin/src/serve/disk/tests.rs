//! Group commit and handle hygiene of the disk worker, on real files in a temp directory.

use super::*;
use odradek_core::log::SyncId;
use odradek_core::record::Offset;
use std::io::Write;

fn job(dir: &Path, partition: i32, id: u64, files: &[&str]) -> SyncJob {
    SyncJob {
        partition: TopicPartition::new("t", partition),
        directory: dir.to_path_buf(),
        request: SyncRequest {
            id: SyncId(id),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            through: Offset(0),
        },
    }
}

fn write_file(path: &Path, data: &[u8]) {
    let mut file = File::create(path).unwrap();
    file.write_all(data).unwrap();
}

fn ok_ids(completions: &[NodeInput]) -> Vec<(u64, bool)> {
    completions
        .iter()
        .map(|c| match c {
            NodeInput::Synced { id, result, .. } => (id.0, result.is_ok()),
            other => panic!("not a completion: {other:?}"),
        })
        .collect()
}

#[test]
fn jobs_of_one_batch_naming_the_same_file_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("a.log"), b"x");
    write_file(&dir.path().join("b.log"), b"y");
    let mut files = SyncFiles::default();
    let batch = vec![
        job(dir.path(), 0, 1, &["a.log"]),
        job(dir.path(), 0, 2, &["a.log"]),
        job(dir.path(), 0, 3, &["a.log", "b.log"]),
    ];
    let completions = files.sync_batch(batch);
    assert_eq!(ok_ids(&completions), vec![(1, true), (2, true), (3, true)]);
    assert_eq!(files.fsyncs(), 2);
}

#[test]
fn a_missing_file_fails_only_the_jobs_that_name_it() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("a.log"), b"x");
    let mut files = SyncFiles::default();
    let batch = vec![
        job(dir.path(), 0, 1, &["a.log"]),
        job(dir.path(), 0, 2, &["gone.log"]),
        job(dir.path(), 0, 3, &["a.log", "gone.log"]),
    ];
    let completions = files.sync_batch(batch);
    assert_eq!(
        ok_ids(&completions),
        vec![(1, true), (2, false), (3, false)]
    );
}

#[test]
fn a_recreated_file_is_synced_through_a_fresh_handle_and_deleted_ones_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    write_file(&path, b"x");
    let mut files = SyncFiles::default();
    files.sync_batch(vec![job(dir.path(), 0, 1, &["a.log"])]);
    let first_inode = files.open[&path].inode;
    std::fs::remove_file(&path).unwrap();
    write_file(&dir.path().join("other.log"), b"keep the inode number busy");
    write_file(&path, b"new");
    let completions = files.sync_batch(vec![job(dir.path(), 0, 2, &["a.log"])]);
    assert_eq!(ok_ids(&completions), vec![(2, true)]);
    let cached = &files.open[&path];
    assert_eq!(cached.inode, std::fs::metadata(&path).unwrap().ino());
    assert_ne!(cached.inode, first_inode);
    std::fs::remove_file(&path).unwrap();
    files.drop_deleted();
    assert_eq!(files.open_handles(), 0);
}

#[test]
fn the_worker_thread_reports_every_job_and_ends_when_finished() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("a.log"), b"x");
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let worker = DiskWorker::spawn(sender).unwrap();
    for id in 0..50 {
        worker.submit(job(dir.path(), 0, id, &["a.log"])).unwrap();
    }
    worker.finish();
    let mut ids = Vec::new();
    while let Ok(completion) = receiver.try_recv() {
        ids.extend(ok_ids(&[completion]));
    }
    assert_eq!(ids, (0..50).map(|id| (id, true)).collect::<Vec<_>>());
}
