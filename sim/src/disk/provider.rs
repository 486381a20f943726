//! [`SimDiskProvider`]: every directory of a node on one [`SimDisk`], so that one
//! [`SimDisk::crash`] hits every partition log at the same instant, as a power loss would.
//!
//! A directory is a name prefix. File `file` of directory `dir` is stored as the flat name
//! `{len}_{dir}_{file}`, where `len` is the byte length of `dir` in decimal: the length makes
//! the encoding unambiguous even though `_` may appear in both names. A directory exists when
//! its marker file `{len}_{dir}` exists; the marker is created (durably, like every SimDisk
//! `create`) when the directory is first opened and removed last, after the directory's
//! files, so a directory listed after a crash is one that was created and not fully removed.
//!
//! Limit: the flat name must stay within [`is_valid_name`]'s 255 bytes, so very long topic
//! names fail with [`StorageError::InvalidName`] here (Kafka's own limit of 249 bytes exists
//! for the same reason on real file systems).

use odradek_core::storage::{is_valid_name, Storage, StorageError, StorageProvider};

use super::SimDisk;

/// Directories on one shared [`SimDisk`]. Cloning the disk handle first keeps access to it
/// for crashes and inspection.
#[derive(Debug, Clone)]
pub struct SimDiskProvider {
    disk: SimDisk,
}

impl SimDiskProvider {
    /// A provider over `disk` (a shared handle: crash the same disk through a clone).
    pub fn new(disk: SimDisk) -> SimDiskProvider {
        SimDiskProvider { disk }
    }

    /// The shared disk.
    pub fn disk(&self) -> &SimDisk {
        &self.disk
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

fn marker_name(dir: &str) -> String {
    format!("{}_{dir}", dir.len())
}

/// Splits a flat name into (directory, file); `file` is `None` for a directory marker.
fn parse_flat_name(flat: &str) -> Option<(&str, Option<&str>)> {
    let (len, rest) = flat.split_once('_')?;
    let len: usize = len.parse().ok()?;
    let dir = rest.get(..len)?;
    match rest.get(len..)? {
        "" => Some((dir, None)),
        tail => tail.strip_prefix('_').map(|file| (dir, Some(file))),
    }
}

impl StorageProvider for SimDiskProvider {
    type Storage = SimDirectory;

    fn open_directory(&mut self, name: &str) -> Result<SimDirectory, StorageError> {
        check_name(name)?;
        let marker = marker_name(name);
        match self.disk.create(&marker) {
            Ok(()) | Err(StorageError::AlreadyExists { .. }) => {}
            Err(error) => return Err(error),
        }
        Ok(SimDirectory {
            disk: self.disk.clone(),
            prefix: format!("{marker}_"),
            recent: Vec::new(),
        })
    }

    fn list_directories(&mut self) -> Result<Vec<String>, StorageError> {
        let mut dirs: Vec<String> = self
            .disk
            .list()?
            .iter()
            .filter_map(|flat| match parse_flat_name(flat) {
                Some((dir, None)) => Some(dir.to_owned()),
                _ => None,
            })
            .collect();
        dirs.sort_unstable();
        Ok(dirs)
    }

    fn remove_directory(&mut self, name: &str) -> Result<(), StorageError> {
        check_name(name)?;
        let marker = marker_name(name);
        let prefix = format!("{marker}_");
        for flat in self.disk.list()? {
            if flat.starts_with(&prefix) {
                self.disk.remove(&flat)?;
            }
        }
        self.disk.remove(&marker).map_err(|error| match error {
            StorageError::NotFound { .. } => StorageError::NotFound {
                name: name.to_owned(),
            },
            other => other,
        })
    }
}

/// One directory of a [`SimDiskProvider`]: a [`Storage`] whose names are prefixed on the
/// shared disk. Errors name the flat (prefixed) file.
#[derive(Debug, Clone)]
pub struct SimDirectory {
    disk: SimDisk,
    prefix: String,
    /// Recently flattened names (a log touches the same few files over and over; building
    /// and validating the flat name on every read showed up as a tenth of simulator time).
    recent: Vec<(String, String)>,
}

/// Flat names remembered per directory.
const RECENT_NAMES_MAX: usize = 8;

impl SimDirectory {
    fn flat(&mut self, name: &str) -> Result<String, StorageError> {
        if let Some((_, flat)) = self.recent.iter().find(|(n, _)| n == name) {
            return Ok(flat.clone());
        }
        check_name(name)?;
        let flat = format!("{}{name}", self.prefix);
        check_name(&flat)?;
        if self.recent.len() == RECENT_NAMES_MAX {
            self.recent.remove(0);
        }
        self.recent.push((name.to_owned(), flat.clone()));
        Ok(flat)
    }
}

impl Storage for SimDirectory {
    fn create(&mut self, name: &str) -> Result<(), StorageError> {
        let flat = self.flat(name)?;
        self.disk.create(&flat)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<u64, StorageError> {
        let flat = self.flat(name)?;
        self.disk.append(&flat, data)
    }

    fn read_at(&mut self, name: &str, position: u64, len: usize) -> Result<Vec<u8>, StorageError> {
        let flat = self.flat(name)?;
        self.disk.read_at(&flat, position, len)
    }

    fn len(&mut self, name: &str) -> Result<u64, StorageError> {
        let flat = self.flat(name)?;
        self.disk.len(&flat)
    }

    fn truncate(&mut self, name: &str, len: u64) -> Result<(), StorageError> {
        let flat = self.flat(name)?;
        self.disk.truncate(&flat, len)
    }

    fn sync(&mut self, name: &str) -> Result<(), StorageError> {
        let flat = self.flat(name)?;
        self.disk.sync(&flat)
    }

    fn list(&mut self) -> Result<Vec<String>, StorageError> {
        let prefix = &self.prefix;
        Ok(self
            .disk
            .list()?
            .iter()
            .filter_map(|flat| flat.strip_prefix(prefix.as_str()).map(str::to_owned))
            .collect())
    }

    fn remove(&mut self, name: &str) -> Result<(), StorageError> {
        let flat = self.flat(name)?;
        self.disk.remove(&flat)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), StorageError> {
        let (from, to) = (self.flat(from)?, self.flat(to)?);
        self.disk.rename(&from, &to)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_flat_name;

    #[test]
    fn flat_names_parse_back_even_when_names_contain_underscores() {
        assert_eq!(parse_flat_name("5_a_b-0"), Some(("a_b-0", None)));
        assert_eq!(parse_flat_name("3_a_b_c_d"), Some(("a_b", Some("c_d"))));
        assert_eq!(parse_flat_name("3_abcx"), None);
        assert_eq!(parse_flat_name("x_abc"), None);
    }
}
