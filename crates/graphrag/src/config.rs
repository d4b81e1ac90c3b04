//! The engine's settings (`configs/graphrag.toml`). The library parses a given text or path; only
//! the binary decides which file to read.

use serde::Deserialize;

use crate::error::{Error, Result};

/// All settings, each section with defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the store is.
    pub store: StoreConfig,
    /// Indexing.
    pub index: IndexConfig,
    /// Entity extraction.
    pub extract: ExtractConfig,
    /// Retrieval.
    pub retrieve: RetrieveConfig,
}

/// Store location and names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `surrealkv://PATH` (default, relative paths from the working directory), `mem://` or
    /// `ws://HOST:PORT`.
    pub location: String,
    /// SurrealDB namespace.
    pub namespace: String,
    /// SurrealDB database.
    pub database: String,
    /// Root user to sign in as on a `ws://` server; no sign-in when absent.
    pub username: Option<String>,
    /// Its password. Leave it out of config files: when it is absent and `username` is set, the
    /// password comes from the `LIFT_STORE_PASSWORD` environment variable.
    pub password: Option<Secret>,
}

/// The environment variable a `ws://` store's password is read from when the config has none.
pub const STORE_PASSWORD_ENV: &str = "LIFT_STORE_PASSWORD";

/// A password that never shows in `Debug` output, logs or error messages.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The password itself, for the sign-in call only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            location: "surrealkv://artifacts/graphrag.db".into(),
            namespace: "lift".into(),
            database: "graphrag".into(),
            username: None,
            password: None,
        }
    }
}

/// Indexing settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Chunk size in bytes.
    pub chunk_target: usize,
    /// Overlap between consecutive chunks in bytes.
    pub chunk_overlap: usize,
    /// Texts per embedding batch.
    pub embed_batch: usize,
    /// Threads for embedding; 0 picks 1 on machines with at most 2 cores, else half the cores.
    pub threads: usize,
    /// Rows per insert statement.
    pub write_batch: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            chunk_target: 800,
            chunk_overlap: 160,
            embed_batch: 32,
            threads: 0,
            write_batch: 200,
        }
    }
}

impl IndexConfig {
    /// The thread count to use: the configured one, or the default for this machine.
    pub fn effective_threads(&self) -> usize {
        effective_threads(self.threads)
    }
}

/// `configured`, or 1 on machines with at most two cores and half the cores otherwise.
pub fn effective_threads(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores <= 2 { 1 } else { cores / 2 }
}

/// Entity-extraction settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractConfig {
    /// Whether the typo layer runs on questions.
    pub fuzzy: bool,
    /// Minimum cosine similarity for the embedding fallback.
    pub embedding_threshold: f32,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            fuzzy: true,
            embedding_threshold: 0.5,
        }
    }
}

/// Retrieval settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrieveConfig {
    /// Items returned.
    pub k: usize,
    /// Candidates each signal contributes before fusion.
    pub candidates: usize,
    /// The RRF constant (60 in Cormack et al.).
    pub rrf_k: f64,
    /// Weight of the BM25 list.
    pub weight_bm25: f64,
    /// Weight of the vector list.
    pub weight_vector: f64,
    /// Weight of the graph-neighbourhood list.
    pub weight_graph: f64,
    /// Weight of the path list.
    pub weight_paths: f64,
    /// HNSW search breadth.
    pub ef: usize,
    /// Restart probability of personalized PageRank.
    pub ppr_alpha: f64,
    /// Longest path considered, in hops.
    pub max_path_hops: usize,
    /// Longest question accepted, in bytes.
    pub max_question_bytes: usize,
}

impl Default for RetrieveConfig {
    fn default() -> Self {
        Self {
            k: 10,
            candidates: 20,
            rrf_k: 60.0,
            weight_bm25: 1.0,
            weight_vector: 1.0,
            weight_graph: 1.0,
            weight_paths: 1.0,
            ef: 64,
            ppr_alpha: 0.25,
            max_path_hops: 4,
            max_question_bytes: 4096,
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config {
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a file.
    pub fn from_path(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::from_toml(&text)
    }

    fn validate(&self) -> Result<()> {
        let bad = |message: &str| {
            Err(Error::Config {
                message: message.to_string(),
            })
        };
        if self.retrieve.k == 0 || self.retrieve.candidates == 0 {
            return bad("retrieve.k and retrieve.candidates must be at least 1");
        }
        if !(0.0..1.0).contains(&self.retrieve.ppr_alpha) || self.retrieve.ppr_alpha == 0.0 {
            return bad("retrieve.ppr_alpha must be in (0, 1)");
        }
        if self.index.embed_batch == 0 || self.index.write_batch == 0 {
            return bad("index.embed_batch and index.write_batch must be at least 1");
        }
        Ok(())
    }
}
