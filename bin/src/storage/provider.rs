//! [`FileStorageProvider`]: partition directories as real subdirectories of a data directory.
//!
//! Each directory is opened as a [`FileStorage`] (which locks it exclusively, so a directory
//! is open at most once). Creating and removing a subdirectory fsyncs the root directory
//! before returning, so both are durable as the [`StorageProvider`] contract promises.
//! Removal deletes the subdirectory's files first and the subdirectory last; a crash part way
//! leaves a directory the node will find again at startup (and remove, if its topic is gone).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use odradek_core::storage::{is_valid_name, StorageError, StorageProvider};

use super::{error, FileStorage};

/// The data directory of a node: one subdirectory per partition log.
#[derive(Debug)]
pub struct FileStorageProvider {
    root: PathBuf,
    root_handle: File,
}

impl FileStorageProvider {
    /// Opens (creating if needed, with its parents) the data directory `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<FileStorageProvider, StorageError> {
        let root = root.as_ref().to_path_buf();
        let root_name = root.display().to_string();
        fs::create_dir_all(&root).map_err(|e| error::from_io(&root_name, &e))?;
        let root_handle = File::open(&root).map_err(|e| error::from_io(&root_name, &e))?;
        Ok(FileStorageProvider { root, root_handle })
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sync_root(&self, name: &str) -> Result<(), StorageError> {
        self.root_handle
            .sync_all()
            .map_err(|e| error::sync_failed(name, format!("fsync of the data directory: {e}")))
    }
}

fn check_name(name: &str) -> Result<(), StorageError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(StorageError::InvalidName {
            name: name.to_owned(),
        })
    }
}

impl StorageProvider for FileStorageProvider {
    type Storage = FileStorage;

    fn open_directory(&mut self, name: &str) -> Result<FileStorage, StorageError> {
        check_name(name)?;
        let path = self.root.join(name);
        let existed = path.is_dir();
        let storage = FileStorage::open(&path)?;
        if !existed {
            self.sync_root(name)?;
        }
        Ok(storage)
    }

    fn list_directories(&mut self) -> Result<Vec<String>, StorageError> {
        super::list_valid_names(&self.root, |kind| kind.is_dir())
    }

    fn remove_directory(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        let path = self.root.join(name);
        if !path.is_dir() {
            return Err(StorageError::NotFound {
                name: name.to_owned(),
            });
        }
        fs::remove_dir_all(&path).map_err(|e| error::from_io(name, &e))?;
        self.sync_root(name)
    }
}
