//! Reading and writing artifacts as Parquet.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{FieldRef, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::schema::display_type;
use crate::{
    Artifact, ArtifactError, ArtifactKind, AtomicFile, ColumnMismatch, METADATA_KEY_ARTIFACT,
    METADATA_KEY_SCHEMA_VERSION, METADATA_KEY_WRITER, SchemaVersion,
};

/// What a finished write produced; the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenArtifact {
    /// The file written.
    pub path: PathBuf,
    /// The artifact written.
    pub kind: ArtifactKind,
    /// Rows written.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The identifying metadata of an artifact file, read without decoding its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactHeader {
    /// The artifact name in the file.
    pub name: String,
    /// The schema version in the file.
    pub version: SchemaVersion,
    /// Number of rows.
    pub rows: u64,
}

/// Streams rows of one artifact into a Parquet file that replaces the target only on
/// [`ArtifactWriter::finish`]. Dropping the writer without finishing leaves the old file as it was.
pub struct ArtifactWriter<T: Artifact> {
    writer: ArrowWriter<HashingWriter>,
    fields: Vec<FieldRef>,
    rows: u64,
    _rows: PhantomData<fn(T)>,
}

impl<T: Artifact> ArtifactWriter<T> {
    /// Starts writing `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, ArtifactError> {
        let path = path.as_ref();
        let kind = T::KIND;
        let fields = kind.fields();
        let schema = Arc::new(Schema::new(fields.clone()));
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_key_value_metadata(Some(vec![
                KeyValue::new(METADATA_KEY_ARTIFACT.to_owned(), kind.name().to_owned()),
                KeyValue::new(
                    METADATA_KEY_SCHEMA_VERSION.to_owned(),
                    kind.version().to_string(),
                ),
                KeyValue::new(
                    METADATA_KEY_WRITER.to_owned(),
                    format!("artifacts {}", env!("CARGO_PKG_VERSION")),
                ),
            ]))
            .build();
        let sink = HashingWriter {
            file: AtomicFile::create(path)?,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = ArrowWriter::try_new(sink, schema, Some(properties)).map_err(|source| {
            ArtifactError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Self {
            writer,
            fields,
            rows: 0,
            _rows: PhantomData,
        })
    }

    /// Appends rows. Each call becomes at least one record batch.
    pub fn write(&mut self, rows: &[T]) -> Result<(), ArtifactError> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = serde_arrow::to_record_batch(&self.fields, &rows).map_err(|e| {
            ArtifactError::Conversion {
                artifact: T::KIND.name(),
                message: e.to_string(),
            }
        })?;
        let path = self.writer.inner().file.target().to_path_buf();
        self.writer
            .write(&batch)
            .map_err(|source| ArtifactError::Parquet { path, source })?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Writes the footer and atomically moves the file into place.
    pub fn finish(self) -> Result<WrittenArtifact, ArtifactError> {
        let path = self.writer.inner().file.target().to_path_buf();
        let sink = self
            .writer
            .into_inner()
            .map_err(|source| ArtifactError::Parquet {
                path: path.clone(),
                source,
            })?;
        let HashingWriter {
            mut file,
            hasher,
            bytes,
        } = sink;
        file.flush()
            .map_err(|e| ArtifactError::io("flush", &path, e))?;
        file.commit()?;
        Ok(WrittenArtifact {
            path,
            kind: T::KIND,
            rows: self.rows,
            bytes,
            sha256: hex(&hasher.finalize()),
        })
    }
}

/// Writes all `rows` to `path` atomically (an empty slice writes a valid empty artifact).
pub fn write_artifact<T: Artifact>(
    path: impl AsRef<Path>,
    rows: &[T],
) -> Result<WrittenArtifact, ArtifactError> {
    let mut writer = ArtifactWriter::<T>::create(path)?;
    writer.write(rows)?;
    writer.finish()
}

/// Reads every row of the artifact at `path`, after checking its name, version and columns.
pub fn read_artifact<T: Artifact>(path: impl AsRef<Path>) -> Result<Vec<T>, ArtifactError> {
    let path = path.as_ref();
    let kind = T::KIND;
    let parquet_err = |source| ArtifactError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| ArtifactError::io("open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)?;

    let metadata = key_value_metadata(builder.metadata().file_metadata().key_value_metadata());
    check_identity(path, kind, &metadata)?;
    let roots = check_columns(path, kind, builder.schema())?;

    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).build().map_err(parquet_err)?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| ArtifactError::Parquet {
            path: path.to_path_buf(),
            source: parquet::errors::ParquetError::ArrowError(e.to_string()),
        })?;
        let mut decoded: Vec<T> =
            serde_arrow::from_record_batch(&batch).map_err(|e| ArtifactError::Conversion {
                artifact: kind.name(),
                message: e.to_string(),
            })?;
        rows.append(&mut decoded);
    }
    Ok(rows)
}

/// Reads an artifact file's name, version and row count without decoding rows.
pub fn inspect_artifact(path: impl AsRef<Path>) -> Result<ArtifactHeader, ArtifactError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| ArtifactError::io("open", path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| {
        ArtifactError::Parquet {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let file_metadata = builder.metadata().file_metadata();
    let metadata = key_value_metadata(file_metadata.key_value_metadata());
    let name = metadata
        .get(METADATA_KEY_ARTIFACT)
        .ok_or_else(|| ArtifactError::NotAnArtifact {
            path: path.to_path_buf(),
            expected: "any",
        })?;
    let version = metadata
        .get(METADATA_KEY_SCHEMA_VERSION)
        .map(|v| v.parse())
        .transpose()?
        .ok_or_else(|| ArtifactError::InvalidVersion {
            text: String::new(),
        })?;
    Ok(ArtifactHeader {
        name: name.clone(),
        version,
        rows: u64::try_from(file_metadata.num_rows()).unwrap_or(0),
    })
}

fn key_value_metadata(kv: Option<&Vec<KeyValue>>) -> HashMap<String, String> {
    kv.into_iter()
        .flatten()
        .filter_map(|kv| kv.value.clone().map(|v| (kv.key.clone(), v)))
        .collect()
}

fn check_identity(
    path: &Path,
    kind: ArtifactKind,
    metadata: &HashMap<String, String>,
) -> Result<(), ArtifactError> {
    let name = metadata
        .get(METADATA_KEY_ARTIFACT)
        .ok_or_else(|| ArtifactError::NotAnArtifact {
            path: path.to_path_buf(),
            expected: kind.name(),
        })?;
    if name != kind.name() {
        return Err(ArtifactError::WrongArtifact {
            path: path.to_path_buf(),
            expected: kind.name(),
            found: name.clone(),
        });
    }
    let version: SchemaVersion = metadata
        .get(METADATA_KEY_SCHEMA_VERSION)
        .ok_or_else(|| ArtifactError::InvalidVersion {
            text: String::new(),
        })?
        .parse()?;
    let supported = kind.version();
    if !supported.can_read(version) {
        let hint = if version > supported {
            "it was written by a newer build: upgrade this one or re-run the producing stage"
        } else {
            "it was written by an older build: re-run the producing stage to regenerate it"
        };
        return Err(ArtifactError::UnsupportedVersion {
            path: path.to_path_buf(),
            artifact: kind.name(),
            found: version,
            supported,
            supported_major: supported.major,
            hint,
        });
    }
    Ok(())
}

/// Checks that every expected column is present with a compatible type and returns the root
/// column indices to read. Extra columns (added by a newer minor version) are skipped.
fn check_columns(
    path: &Path,
    kind: ArtifactKind,
    found: &Schema,
) -> Result<Vec<usize>, ArtifactError> {
    let mut missing = Vec::new();
    let mut mistyped = Vec::new();
    let mut roots = Vec::new();
    for field in kind.fields() {
        match found.index_of(field.name()) {
            Err(_) => missing.push(field.name().clone()),
            Ok(index) => {
                let expected_type = display_type(field.data_type());
                let found_type = display_type(found.field(index).data_type());
                // Nested field names (`item` vs `element`) and nullability differ between writers
                // such as pyarrow and arrow-rs without changing the data, so only the shape counts.
                if expected_type == found_type {
                    roots.push(index);
                } else {
                    mistyped.push(ColumnMismatch {
                        column: field.name().clone(),
                        expected: expected_type,
                        found: found_type,
                    });
                }
            }
        }
    }
    if missing.is_empty() && mistyped.is_empty() {
        Ok(roots)
    } else {
        Err(ArtifactError::SchemaMismatch {
            path: path.to_path_buf(),
            artifact: kind.name(),
            missing,
            mistyped,
        })
    }
}

/// Passes bytes to the atomic file while hashing them, so the content hash costs no second read.
struct HashingWriter {
    file: AtomicFile,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
