//! The trainer library's typed errors.

use std::path::PathBuf;

/// Everything the trainer library can fail with. Messages name what was expected and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's content is not what was expected.
    #[error("cannot parse {}: {detail}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A model configuration value is missing, out of range or unsupported.
    #[error("model config field `{field}` is invalid: {detail}")]
    InvalidModelConfig {
        /// The field (HF or GGUF name).
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A training setting is out of range.
    #[error("setting `{field}` is invalid: {detail}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// What is wrong and what is accepted.
        detail: String,
    },
    /// A weight the model needs is absent from the checkpoint.
    #[error("tensor `{name}` is missing from {}; is this a Llama-architecture model?", path.display())]
    MissingTensor {
        /// The tensor name in the file's convention.
        name: String,
        /// The weights file.
        path: PathBuf,
    },
    /// A weight has the wrong shape for the configuration.
    #[error("tensor `{name}` has shape {got:?}, the config implies {expected:?}")]
    TensorShape {
        /// The tensor.
        name: String,
        /// The shape the config implies.
        expected: Vec<i64>,
        /// The shape found.
        got: Vec<i64>,
    },
    /// The GGUF reader, writer or dequantizer failed.
    #[error("GGUF error: {0}")]
    Gguf(#[from] gguf::GgufError),
    /// A GGUF tensor could not be dequantized.
    #[error("cannot dequantize tensor `{name}`: {source}")]
    Dequant {
        /// The GGUF tensor name.
        name: String,
        /// The cause.
        source: gguf::dequant::DequantError,
    },
    /// The GGUF adapter could not be built.
    #[error("cannot build the GGUF adapter: {0}")]
    GgufWrite(#[from] gguf::write::WriteError),
    /// libtorch reported an error.
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    /// A safetensors file could not be parsed.
    #[error("safetensors error in {}: {detail}", path.display())]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The cause.
        detail: String,
    },
    /// The tokenizer failed.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// An artifact could not be read or written.
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    /// The dataset gave no usable training example.
    #[error("dataset {} has no usable rows: {detail}", path.display())]
    EmptyDataset {
        /// The dataset file.
        path: PathBuf,
        /// Why the rows were dropped.
        detail: String,
    },
    /// A checkpoint does not match the run being resumed.
    #[error("checkpoint {} does not match this run: {detail}; start a new run id or drop --resume", path.display())]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The loss became NaN or infinite.
    #[error("loss is not finite at step {step}; lower the learning rate")]
    NonFiniteLoss {
        /// The optimizer step.
        step: u64,
    },
}
