//! The run manifest: `manifest.json` in the artifacts root records, for every artifact written,
//! its content hash, row count, schema version, producing stage, that stage's config hash and
//! the hashes of the inputs it read. A stage compares its current fingerprint against the record
//! to decide whether its work can be skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::hex;
use crate::{ArtifactError, WrittenArtifact, write_atomic};

/// File name of the manifest inside the artifacts root.
pub const MANIFEST_FILE_NAME: &str = "manifest.json";

const MANIFEST_FORMAT: u32 = 1;

/// Every artifact recorded under one artifacts root, keyed by path relative to the root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this JSON layout.
    pub format: u32,
    /// Entries keyed by relative path with `/` separators (for example `raw/arxiv.parquet`).
    pub artifacts: BTreeMap<String, ManifestEntry>,
}

/// What the manifest knows about one artifact file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The artifact name (for example `raw.arxiv`).
    pub artifact: String,
    /// Schema version of the file.
    pub schema_version: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// Rows in the file.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// The stage that produced it.
    pub stage: String,
    /// Hash of the stage's configuration ([`config_hash`]).
    pub config_hash: String,
    /// Inputs the stage read: relative path → hex SHA-256 at the time.
    pub inputs: BTreeMap<String, String>,
    /// When it was written (RFC 3339, UTC).
    pub created_at: String,
}

/// What a stage would record for an output it is about to produce: compared against the manifest
/// to decide whether the output is up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageFingerprint {
    /// The stage's name.
    pub stage: String,
    /// Hash of the stage's configuration.
    pub config_hash: String,
    /// Inputs: relative path → current hex SHA-256.
    pub inputs: BTreeMap<String, String>,
}

/// Whether a recorded output still matches its stage's current inputs and config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing changed: the stage may skip its work.
    UpToDate,
    /// Something changed; the reasons say what.
    Stale(Vec<StaleReason>),
}

impl Freshness {
    /// Whether the work can be skipped.
    pub fn is_up_to_date(&self) -> bool {
        matches!(self, Self::UpToDate)
    }
}

/// Why an output must be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// The manifest has no record of the output.
    NotRecorded,
    /// The output file is gone.
    OutputMissing,
    /// The output file's bytes differ from the record (edited or corrupted).
    OutputModified,
    /// A different stage produced the recorded output.
    StageChanged {
        /// The stage recorded.
        recorded: String,
    },
    /// The stage's configuration changed.
    ConfigChanged,
    /// An input's content changed.
    InputChanged {
        /// The input's relative path.
        path: String,
    },
    /// A new input appeared.
    InputAdded {
        /// The input's relative path.
        path: String,
    },
    /// An input recorded last time is no longer read.
    InputRemoved {
        /// The input's relative path.
        path: String,
    },
}

impl Manifest {
    /// Loads `<root>/manifest.json`, or an empty manifest when there is none yet.
    pub fn load(root: impl AsRef<Path>) -> Result<Self, ArtifactError> {
        let path = root.as_ref().join(MANIFEST_FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    format: MANIFEST_FORMAT,
                    artifacts: BTreeMap::new(),
                });
            }
            Err(e) => return Err(ArtifactError::io("read", &path, e)),
        };
        let manifest: Self =
            serde_json::from_str(&text).map_err(|e| ArtifactError::InvalidManifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ArtifactError::InvalidManifest {
                path,
                message: format!(
                    "format {} is not the supported format {MANIFEST_FORMAT}",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest to `<root>/manifest.json` atomically.
    pub fn save(&self, root: impl AsRef<Path>) -> Result<(), ArtifactError> {
        let path = root.as_ref().join(MANIFEST_FILE_NAME);
        let mut text =
            serde_json::to_string_pretty(self).map_err(|e| ArtifactError::InvalidManifest {
                path: path.clone(),
                message: e.to_string(),
            })?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())
    }

    /// Records an artifact just written under `root` by `fingerprint.stage`.
    pub fn record(
        &mut self,
        root: impl AsRef<Path>,
        written: &WrittenArtifact,
        fingerprint: &StageFingerprint,
    ) {
        let key = relative_key(root.as_ref(), &written.path);
        self.artifacts.insert(
            key,
            ManifestEntry {
                artifact: written.kind.name().to_owned(),
                schema_version: written.kind.version().to_string(),
                sha256: written.sha256.clone(),
                rows: written.rows,
                bytes: written.bytes,
                stage: fingerprint.stage.clone(),
                config_hash: fingerprint.config_hash.clone(),
                inputs: fingerprint.inputs.clone(),
                created_at: jiff::Timestamp::now().to_string(),
            },
        );
    }

    /// The entry for a relative path, if recorded.
    pub fn entry(&self, relative_path: &str) -> Option<&ManifestEntry> {
        self.artifacts.get(relative_path)
    }

    /// Whether the output at `relative_path` under `root` is still what `fingerprint` would
    /// produce: recorded, unmodified on disk, same stage, same config and same inputs.
    pub fn freshness(
        &self,
        root: impl AsRef<Path>,
        relative_path: &str,
        fingerprint: &StageFingerprint,
    ) -> Result<Freshness, ArtifactError> {
        let Some(entry) = self.artifacts.get(relative_path) else {
            return Ok(Freshness::Stale(vec![StaleReason::NotRecorded]));
        };
        let path = root.as_ref().join(relative_path);
        let mut reasons = Vec::new();
        if !path.exists() {
            reasons.push(StaleReason::OutputMissing);
        } else if sha256_file(&path)? != entry.sha256 {
            reasons.push(StaleReason::OutputModified);
        }
        if entry.stage != fingerprint.stage {
            reasons.push(StaleReason::StageChanged {
                recorded: entry.stage.clone(),
            });
        }
        if entry.config_hash != fingerprint.config_hash {
            reasons.push(StaleReason::ConfigChanged);
        }
        for (input, hash) in &fingerprint.inputs {
            match entry.inputs.get(input) {
                None => reasons.push(StaleReason::InputAdded {
                    path: input.clone(),
                }),
                Some(recorded) if recorded != hash => {
                    reasons.push(StaleReason::InputChanged {
                        path: input.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        for input in entry.inputs.keys() {
            if !fingerprint.inputs.contains_key(input) {
                reasons.push(StaleReason::InputRemoved {
                    path: input.clone(),
                });
            }
        }
        Ok(if reasons.is_empty() {
            Freshness::UpToDate
        } else {
            Freshness::Stale(reasons)
        })
    }
}

impl StageFingerprint {
    /// A fingerprint of `stage` with `config` hashed and the files at `inputs` (relative to
    /// `root`) hashed as they are now.
    pub fn new(
        root: impl AsRef<Path>,
        stage: &str,
        config: &impl Serialize,
        inputs: &[&str],
    ) -> Result<Self, ArtifactError> {
        let root = root.as_ref();
        let mut hashes = BTreeMap::new();
        for input in inputs {
            hashes.insert((*input).to_owned(), sha256_file(root.join(input))?);
        }
        Ok(Self {
            stage: stage.to_owned(),
            config_hash: config_hash(config),
            inputs: hashes,
        })
    }
}

/// Hex SHA-256 of a configuration's canonical JSON (object keys sorted), so that formatting and
/// field order do not count as changes.
pub fn config_hash(config: &impl Serialize) -> String {
    // `serde_json::Value` keeps object keys in a BTreeMap, which sorts them.
    let canonical = serde_json::to_value(config)
        .map(|value| value.to_string())
        .unwrap_or_else(|e| format!("unserializable config: {e}"));
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// Hex SHA-256 of a file's bytes, streamed.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, ArtifactError> {
    let path = path.as_ref();
    let mut file = File::open(path).map_err(|e| ArtifactError::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| ArtifactError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn relative_key(root: &Path, path: &Path) -> String {
    let relative: PathBuf = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
