//! Atomic file replacement: write to a temporary file in the target's directory, fsync it, rename
//! it over the target, then fsync the directory.
//!
//! A process killed at any point leaves either the previous file or the new one, never a mix.
//! Temporary files are named `.<target name>.<pid>.<n>.tmp`; an abandoned one (the process died
//! before [`AtomicFile::commit`]) is harmless, and the next writer of the same target removes it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ArtifactError;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written that replaces `target` only when committed.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp_path: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Starts writing a replacement for `target`, creating its directory if needed.
    ///
    /// Only one writer per target may run at a time; leftover temporary files of earlier,
    /// crashed writers of the same target are removed here.
    pub fn create(target: impl AsRef<Path>) -> Result<Self, ArtifactError> {
        let target = target.as_ref().to_path_buf();
        let dir = parent_dir(&target);
        fs::create_dir_all(&dir).map_err(|e| ArtifactError::io("create directory", &dir, e))?;
        let name = file_name(&target);
        remove_stale_temp_files(&dir, &name);
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp_path = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| ArtifactError::io("create", &temp_path, e))?;
        Ok(Self {
            target,
            temp_path,
            file: Some(file),
        })
    }

    /// The path the file will have once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes and fsyncs the data, renames it over the target and fsyncs the directory.
    pub fn commit(mut self) -> Result<PathBuf, ArtifactError> {
        let file = self
            .file
            .take()
            .expect("file is present until commit or drop");
        file.sync_all()
            .map_err(|e| ArtifactError::io("fsync", &self.temp_path, e))?;
        drop(file);
        fs::rename(&self.temp_path, &self.target)
            .map_err(|e| ArtifactError::io("rename into place", &self.target, e))?;
        sync_dir(&parent_dir(&self.target));
        Ok(self.target.clone())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file
            .as_mut()
            .expect("file is present until commit")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file
            .as_mut()
            .expect("file is present until commit")
            .flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed: an error or a panic unwound through the writer. The target is untouched;
        // only the partial temporary file needs to go.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

/// Replaces `target` with `bytes` atomically.
pub fn write_atomic(target: impl AsRef<Path>, bytes: &[u8]) -> Result<(), ArtifactError> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(bytes)
        .map_err(|e| ArtifactError::io("write", file.temp_path.clone(), e))?;
    file.commit()?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn remove_stale_temp_files(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.starts_with(&prefix) && entry_name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn sync_dir(dir: &Path) {
    // Persisting the rename needs the directory entry on disk too. Some filesystems refuse to
    // fsync a directory; the rename itself has still happened, so that is not an error.
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write_atomic(&target, b"one").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"two, never committed").unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"one");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left behind"
        );
        write_atomic(&target, b"three").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"three");
    }

    #[test]
    fn abandoned_temp_file_is_swept_by_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        let mut crashed = AtomicFile::create(&target).unwrap();
        crashed.write_all(b"partial").unwrap();
        // A killed process runs no destructor.
        std::mem::forget(crashed);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&target, b"whole").unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }
}
