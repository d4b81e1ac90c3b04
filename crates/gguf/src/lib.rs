//! GGUF files, the model format of llama.cpp: [`reader`] parses the header, every metadata
//! key-value and the tensor directory, and hands out each tensor's raw bytes; [`tokenizer`]
//! rebuilds the model's tokenizer from the `tokenizer.ggml.*` metadata as a
//! `tokenizers::Tokenizer`; [`template`] renders the model's chat template
//! (`tokenizer.chat_template`, or an HF `tokenizer_config.json`) with minijinja.
//!
//! Inputs are paths to GGUF (or `tokenizer_config.json`) files; nothing here downloads, resolves
//! assets or reads global configuration, and the crate depends on no other workspace crate, so
//! both the `dataset` stage (token counts, templates) and the `trainer` (tensors) can use it
//! without depending on each other.
//!
//! Design choice: the tokenizer is rebuilt from the GGUF itself rather than from a separate
//! `tokenizer.json`, because the GGUF is what llama.cpp serves: counting training tokens with the
//! exact vocabulary, merges, pre-tokenizer and special tokens the serving model uses makes "fits
//! in the context" mean the same thing at training and at inference time (a test compares the ids
//! with llama.cpp's own tokenizer).

use std::path::PathBuf;

pub mod dequant;
pub mod reader;
pub mod template;
pub mod tokenizer;
pub mod write;

pub use reader::{GgmlType, GgufFile, GgufValue, GgufValueType, TensorInfo};
pub use template::{ChatTemplate, TemplateMessage};
pub use tokenizer::{GgufTokenizer, PreTokenizerKind};

/// What can go wrong reading GGUF files, tokenizers and chat templates.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}; check that the file exists and is readable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not start with the GGUF magic.
    #[error("{path} is not a GGUF file (magic bytes {found:?}); pass a .gguf model file")]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// The first four bytes.
        found: [u8; 4],
    },
    /// The GGUF version is one this reader does not know.
    #[error("{path} is GGUF version {version}; only versions 2 and 3 are supported")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// The bytes do not follow the format.
    #[error("{path} is corrupt at byte {offset}: {detail}; re-download or regenerate the file")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the problem was found.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// A tensor uses a ggml type this reader does not know.
    #[error(
        "{path}: tensor {tensor:?} has unknown ggml type {type_id}; convert the model with a llama.cpp of the same era"
    )]
    UnknownTensorType {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The numeric type id.
        type_id: u32,
    },
    /// A required metadata key is absent.
    #[error("{path} has no metadata key {key:?}; it is needed here, use a model that carries it")]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A metadata key has an unexpected type.
    #[error("{path}: metadata key {key:?} is {found:?}, expected {expected}")]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// The type found.
        found: GgufValueType,
    },
    /// The tokenizer metadata describes a tokenizer this crate cannot rebuild.
    #[error("{path}: {detail}")]
    UnsupportedTokenizer {
        /// The file.
        path: PathBuf,
        /// What is unsupported and what to do.
        detail: String,
    },
    /// The `tokenizers` library rejected the rebuilt tokenizer or failed to encode.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// A `tokenizer_config.json` could not be read as JSON or has no chat template.
    #[error("{path}: {detail}")]
    TokenizerConfig {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The chat template did not compile or failed while rendering.
    #[error("chat template {operation} failed: {detail}; check the template text or the messages")]
    Template {
        /// `compile` or `render`.
        operation: &'static str,
        /// minijinja's message, with the template line where it has one.
        detail: String,
    },
}
