//! Where a source keeps its progress between runs: `<root>/raw/.collector/<source>/` holds
//! `checkpoint.json` (written atomically after every completed page) and `staging/`, one small
//! Parquet file of finished rows per completed page (also written atomically).
//!
//! A page is "completed" only once its staged file and the checkpoint naming it are both on disk,
//! so a run killed at any instant resumes from the last completed page: a page fetched but not
//! yet recorded is fetched again, and its staged file (if the kill fell between the two writes)
//! is simply overwritten. The artifact itself is replaced only when every page is done.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CollectorError;

/// The progress folder of one source.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The progress folder of `source` under the artifacts root `root`.
    pub fn new(root: &Path, source: &str) -> Self {
        Self {
            dir: root.join("raw").join(".collector").join(source),
        }
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }

    /// A staged page file.
    pub fn staged(&self, file: &str) -> PathBuf {
        self.dir.join("staging").join(file)
    }

    /// Loads the checkpoint, or `None` when there is none.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, CollectorError> {
        let path = self.checkpoint_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| CollectorError::Checkpoint {
                        path,
                        message: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CollectorError::io("read", path, e)),
        }
    }

    /// Writes the checkpoint atomically.
    pub fn save<T: Serialize>(&self, checkpoint: &T) -> Result<(), CollectorError> {
        let path = self.checkpoint_path();
        self.ensure(&self.dir)?;
        let mut text =
            serde_json::to_string_pretty(checkpoint).map_err(|e| CollectorError::Checkpoint {
                path: path.clone(),
                message: e.to_string(),
            })?;
        text.push('\n');
        artifacts::write_atomic(&path, text.as_bytes())?;
        Ok(())
    }

    /// Creates the staging folder.
    pub fn ensure_staging(&self) -> Result<(), CollectorError> {
        self.ensure(&self.dir.join("staging"))
    }

    /// Removes staged files no longer needed (missing files are fine).
    pub fn remove_staged(&self, files: &[String]) {
        for file in files {
            let _ = std::fs::remove_file(self.staged(file));
        }
    }

    fn ensure(&self, dir: &Path) -> Result<(), CollectorError> {
        std::fs::create_dir_all(dir).map_err(|e| CollectorError::io("create folder", dir, e))
    }
}

/// A file-name-safe form of a tag or query name.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
