//! The typed error every artifact operation returns.

use std::fmt;
use std::path::PathBuf;

use crate::SchemaVersion;

/// One column whose type in the file differs from the schema the reader expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMismatch {
    /// Column name.
    pub column: String,
    /// The Arrow type the reader expects.
    pub expected: String,
    /// The Arrow type found in the file.
    pub found: String,
}

impl fmt::Display for ColumnMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (expected {}, found {})",
            self.column, self.expected, self.found
        )
    }
}

/// Everything that can go wrong reading or writing an artifact or the manifest.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("create", "rename", …).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder or decoder failed (a truncated or corrupt file, for example).
    #[error("parquet error in {path}: {source}")]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Converting between row structs and Arrow arrays failed.
    #[error("cannot convert rows of {artifact} to or from Arrow: {message}")]
    Conversion {
        /// The artifact name.
        artifact: &'static str,
        /// What serde_arrow reported.
        message: String,
    },
    /// The file carries no artifact name, so it was not written by this crate.
    #[error(
        "{path} has no `lift.artifact` metadata; it was not written by the artifacts crate (expected artifact {expected})"
    )]
    NotAnArtifact {
        /// The file concerned.
        path: PathBuf,
        /// The artifact the reader expected.
        expected: &'static str,
    },
    /// The file holds a different artifact than the one asked for.
    #[error("{path} holds artifact {found}, expected {expected}")]
    WrongArtifact {
        /// The file concerned.
        path: PathBuf,
        /// The artifact the reader expected.
        expected: &'static str,
        /// The artifact named in the file.
        found: String,
    },
    /// The file's schema major version differs from the reader's.
    #[error(
        "{path} has {artifact} schema version {found}, this build reads major version {supported_major} (version {supported}); {hint}"
    )]
    UnsupportedVersion {
        /// The file concerned.
        path: PathBuf,
        /// The artifact name.
        artifact: &'static str,
        /// The version in the file.
        found: SchemaVersion,
        /// The version this build writes.
        supported: SchemaVersion,
        /// `supported.major`, repeated for the message.
        supported_major: u16,
        /// What to do about it.
        hint: &'static str,
    },
    /// A version string could not be parsed.
    #[error("invalid schema version {text:?}; expected MAJOR.MINOR such as 1.0")]
    InvalidVersion {
        /// The text found.
        text: String,
    },
    /// Columns are missing or have the wrong type.
    #[error(
        "{path} does not match the {artifact} schema: {}",
        describe_mismatch(missing, mistyped)
    )]
    SchemaMismatch {
        /// The file concerned.
        path: PathBuf,
        /// The artifact name.
        artifact: &'static str,
        /// Columns the reader needs that the file lacks.
        missing: Vec<String>,
        /// Columns present with another type.
        mistyped: Vec<ColumnMismatch>,
    },
    /// The manifest file exists but cannot be parsed.
    #[error("manifest {path} is not valid: {message}; delete it to rebuild every stage")]
    InvalidManifest {
        /// The manifest file.
        path: PathBuf,
        /// What the JSON parser reported.
        message: String,
    },
}

fn describe_mismatch(missing: &[String], mistyped: &[ColumnMismatch]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing columns [{}]", missing.join(", ")));
    }
    if !mistyped.is_empty() {
        let list: Vec<String> = mistyped.iter().map(ToString::to_string).collect();
        parts.push(format!("mistyped columns [{}]", list.join(", ")));
    }
    parts.join("; ")
}

impl ArtifactError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
