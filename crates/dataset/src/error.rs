//! Typed errors of the dataset library.

use std::path::PathBuf;

/// What can go wrong while building the dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The config file could not be read, parsed or validated.
    #[error("dataset config {path}: {detail}; fix the file or pass --config")]
    Config {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A user-supplied Q&A file could not be read.
    #[error(
        "extra Q&A file {path}: {detail}; each record needs string fields `question` and `answer`"
    )]
    ExtraFile {
        /// The file.
        path: PathBuf,
        /// What was wrong (with the line or row).
        detail: String,
    },
    /// The evaluation sets used for decontamination could not be read.
    #[error("evaluation set {path}: {detail}; fix the file or remove it from the config")]
    EvalSet {
        /// The file or directory.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Reading or writing a file failed.
    #[error("cannot {operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The model's tokenizer or chat template could not be loaded or used.
    #[error(transparent)]
    Model(#[from] gguf::GgufError),
    /// The rendered template does not start with the rendered prompt, so prompt tokens cannot be
    /// counted as a prefix.
    #[error(
        "the chat template renders the prompt of row {id} as something that is not a prefix of the full conversation; use a template whose generation prompt is a prefix"
    )]
    PromptNotPrefix {
        /// The row.
        id: String,
    },
    /// Reading an artifact, writing one or the manifest failed.
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
}
