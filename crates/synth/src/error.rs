//! Typed errors of the synth library.

use std::path::PathBuf;

/// What can go wrong while synthesising pairs.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The config file could not be read or parsed.
    #[error("cannot read synth config {path}: {detail}; fix the file or pass --config")]
    Config {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The knowledge base did not load or validate.
    #[error(
        "knowledge base at {dir} is not valid ({count} findings, first: {first}); run `cargo xtask validate-knowledge`"
    )]
    Knowledge {
        /// The directory.
        dir: PathBuf,
        /// How many findings.
        count: usize,
        /// The first finding or load error.
        first: String,
    },
    /// The calculator refused inputs the generator drew.
    #[error("calculator rejected {calculation} inputs {inputs}: {source}")]
    Calculator {
        /// The calculation.
        calculation: &'static str,
        /// The inputs, as JSON.
        inputs: String,
        /// The calculator's error.
        source: stats::StatsError,
    },
    /// Writing an artifact or the manifest failed.
    #[error(transparent)]
    Artifact(#[from] artifacts::ArtifactError),
    /// A prompt template could not be read or is invalid.
    #[error("prompt template {path}: {detail}; fix the file or point llm.prompt at another")]
    Prompt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A language-model backend could not be set up (prices, client, model file).
    #[error("language model: {0}")]
    Llm(#[from] llm::Error),
    /// The async runtime for the LLM generator could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
