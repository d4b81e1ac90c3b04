//! Helpers shared by the integration tests: the real MiniLM model from the asset cache (loaded
//! once per test binary) and fresh in-memory stores.

#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use graphrag::config::StoreConfig;
use graphrag::embed::{MiniLm, ModelPaths};
use graphrag::store::Store;

/// The model files from the asset cache; panics with the fix when they are missing, because
/// these tests must not pass without the real model.
pub fn model_paths() -> ModelPaths {
    let cache = assets::AssetCache::from_env().expect("asset cache location");
    let files = cache.embedding_model().unwrap_or_else(|e| {
        panic!("MiniLM embedding model missing ({e}); run `cargo xtask setup`")
    });
    let ort = cache
        .onnxruntime_library()
        .unwrap_or_else(|e| panic!("ONNX Runtime missing ({e}); run `cargo xtask setup`"));
    ModelPaths {
        onnx: files.onnx,
        tokenizer: files.tokenizer,
        config: files.config,
        special_tokens_map: files.special_tokens_map,
        tokenizer_config: files.tokenizer_config,
        onnxruntime: ort,
    }
}

/// The real model, loaded once.
pub fn embedder() -> Arc<MiniLm> {
    static MODEL: OnceLock<Arc<MiniLm>> = OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(MiniLm::load(&model_paths(), 1, 32).expect("MiniLM loads")))
        .clone()
}

/// The shipped knowledge base directory.
pub fn knowledge_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/knowledge")
}

/// A store config for `location` with a fresh database name.
pub fn store_config(location: &str, database: &str) -> StoreConfig {
    StoreConfig {
        location: location.into(),
        database: database.into(),
        ..StoreConfig::default()
    }
}

/// A fresh in-memory store.
pub async fn mem_store(database: &str) -> Store {
    Store::open(&store_config("mem://", database))
        .await
        .expect("mem store opens")
}
