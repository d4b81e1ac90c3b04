//! The library's typed errors.

use std::path::PathBuf;

/// Everything that can go wrong in the GraphRAG engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store location is not one of the supported schemes.
    #[error(
        "unsupported store location {location:?}; expected mem://, surrealkv://PATH or ws://HOST:PORT"
    )]
    BadLocation {
        /// What was given.
        location: String,
    },
    /// The on-disk store does not exist and the command only reads.
    #[error("no store at {path}; run `graphrag index` first")]
    StoreMissing {
        /// Where it was expected.
        path: PathBuf,
    },
    /// Another process holds the on-disk store.
    #[error(
        "the store at {location} is locked by another process; stop that process or use another store path ({message})"
    )]
    Locked {
        /// The store.
        location: String,
        /// The engine's message.
        message: String,
    },
    /// A `ws://` store names a user but no password is configured or in the environment.
    #[error(
        "the store at {location} signs in as {username:?} but has no password; set {variable} (or `store.password`)"
    )]
    MissingPassword {
        /// The store.
        location: String,
        /// The configured user.
        username: String,
        /// The environment variable that was empty.
        variable: &'static str,
    },
    /// The server refused the sign-in.
    #[error("the server at {location} refused sign-in as {username:?}: {source}")]
    SignIn {
        /// The store.
        location: String,
        /// The configured user.
        username: String,
        /// The engine's error.
        #[source]
        source: surrealdb::Error,
    },
    /// Connecting to or opening the store failed.
    #[error("cannot open the store at {location}: {source}")]
    Open {
        /// The store.
        location: String,
        /// The engine's error.
        #[source]
        source: surrealdb::Error,
    },
    /// A query failed.
    #[error("store query `{what}` failed: {source}")]
    Query {
        /// Which query.
        what: &'static str,
        /// The engine's error.
        #[source]
        source: surrealdb::Error,
    },
    /// The store holds no indexed knowledge yet.
    #[error("the store at {location} has not been indexed; run `graphrag index`")]
    NotIndexed {
        /// The store.
        location: String,
    },
    /// The store was built with a different schema version.
    #[error(
        "the store has schema version {found}, this build expects {expected}; re-create it with `graphrag index --rebuild`"
    )]
    SchemaVersion {
        /// What the store says.
        found: i64,
        /// What this build writes.
        expected: i64,
    },
    /// The store's embeddings came from another model.
    #[error(
        "the store was embedded with model {stored}, but the loaded model is {loaded}; run `graphrag index` to re-embed"
    )]
    ModelMismatch {
        /// The fingerprint in the store.
        stored: String,
        /// The loaded model's fingerprint.
        loaded: String,
    },
    /// The ONNX Runtime library is missing.
    #[error(
        "ONNX Runtime library not found at {path}; run `cargo xtask setup` or point ORT_DYLIB_PATH at libonnxruntime.so"
    )]
    OrtMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The ONNX Runtime library could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    OrtLoad {
        /// The library.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A model file is missing or unreadable.
    #[error("embedding model file {path} cannot be read: {source}; run `cargo xtask setup`")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The model files do not form a working model.
    #[error("the embedding model is corrupt or not a sentence-embedding model: {message}")]
    ModelInvalid {
        /// What failed.
        message: String,
    },
    /// The model produces vectors of the wrong size.
    #[error(
        "the embedding model produces {got}-dimensional vectors; the store's indexes expect {expected}"
    )]
    Dimension {
        /// The index dimension.
        expected: usize,
        /// What the model produced.
        got: usize,
    },
    /// The question is empty after removing control characters and whitespace.
    #[error("the question is empty; ask something like \"what is statistical power\"")]
    EmptyInput,
    /// The input is longer than allowed.
    #[error("the input is {len} bytes; the limit is {max} bytes")]
    InputTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A concept id is not in the graph.
    #[error("unknown concept {id:?}{}", suggestion.as_ref().map(|s| format!("; did you mean {s:?}?")).unwrap_or_default())]
    UnknownConcept {
        /// The id given.
        id: String,
        /// The closest known id.
        suggestion: Option<String>,
    },
    /// An unknown relation kind in a filter.
    #[error("unknown relation kind {kind:?}; expected one of {expected}")]
    UnknownKind {
        /// What was given.
        kind: String,
        /// The valid kinds.
        expected: String,
    },
    /// An unknown retrieval mode.
    #[error("unknown mode {mode:?}; expected bm25, vector, graph or hybrid")]
    UnknownMode {
        /// What was given.
        mode: String,
    },
    /// The knowledge base could not be read.
    #[error("cannot read the knowledge base: {0}")]
    Knowledge(#[from] knowledge::LoadError),
    /// The knowledge base has validation findings.
    #[error(
        "the knowledge base has {count} problems, first {first}; run `cargo xtask validate-knowledge`"
    )]
    InvalidKnowledge {
        /// How many.
        count: usize,
        /// The first one.
        first: String,
    },
    /// A raw artifact could not be read.
    #[error("cannot read raw artifact {path}: {source}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: artifacts::ArtifactError,
    },
    /// The configuration is invalid.
    #[error("invalid graphrag configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn query(what: &'static str) -> impl FnOnce(surrealdb::Error) -> Self {
        move |source| Self::Query { what, source }
    }
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;
