//! The contract between pipeline stages: every on-disk artifact's Arrow schema, its name and
//! version, atomic Parquet reads and writes, and the run manifest.
//!
//! Stages (`collector`, `synth`, `dataset`, `trainer`, `evaluator`) talk to each other only
//! through the files this crate writes. Each artifact is a typed row struct implementing
//! [`Artifact`]; stage code writes `Vec<Row>` with [`write_artifact`] or an [`ArtifactWriter`] and
//! reads it back with [`read_artifact`], never building Arrow arrays by hand.
//!
//! What this crate must not do: know about any stage's logic, touch the network, or depend on any
//! other crate of the workspace. It is the narrow waist the stages depend on.
//!
//! Design choice: the schema of each artifact is written out by hand as an Arrow schema in
//! [`schema`], not derived from the Rust structs. The file format is a public contract (Python's
//! `datasets` and pandas read these files, and `docs/artifacts.md` documents them), so a change to
//! a struct must never silently change the files; the round-trip tests fail instead. The row
//! structs are converted with `serde_arrow` against that fixed schema, and every file carries its
//! artifact name and [`SchemaVersion`] in the Parquet key-value metadata so a reader can refuse a
//! file it does not understand with an error naming the columns that differ.

mod atomic;
mod error;
mod io;
mod manifest;
pub mod rows;
pub mod schema;
mod version;

pub use atomic::{AtomicFile, write_atomic};
pub use error::{ArtifactError, ColumnMismatch};
pub use io::{
    ArtifactHeader, ArtifactWriter, WrittenArtifact, inspect_artifact, read_artifact,
    write_artifact,
};
pub use manifest::{
    Freshness, MANIFEST_FILE_NAME, Manifest, ManifestEntry, StageFingerprint, StaleReason,
    config_hash, sha256_file,
};
pub use rows::*;
pub use schema::{Artifact, ArtifactKind};
pub use version::SchemaVersion;

/// Parquet key-value metadata key holding the artifact name (for example `raw.arxiv`).
pub const METADATA_KEY_ARTIFACT: &str = "lift.artifact";
/// Parquet key-value metadata key holding the schema version (for example `1.0`).
pub const METADATA_KEY_SCHEMA_VERSION: &str = "lift.schema_version";
/// Parquet key-value metadata key naming the library version that wrote the file.
pub const METADATA_KEY_WRITER: &str = "lift.writer";
