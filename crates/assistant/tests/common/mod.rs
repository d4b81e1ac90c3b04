//! Shared fixture of the assistant's integration tests: one assistant over the real embedded
//! SurrealDB engine, indexed from the shipped knowledge base with the real MiniLM model, and the
//! real SmolLM2-135M GGUF from the asset cache, built once per test binary on one runtime that
//! outlives every test (the store's background tasks live on it).
//!
//! The store is an on-disk SurrealKV database under cargo's target tmp directory rather than
//! `mem://`: a debug build takes over a minute to index the knowledge base from scratch, and the
//! incremental indexer makes every later open (this binary's next run, the API's tests) a
//! two-second no-op. Cargo runs test binaries one at a time, so they never hold it together.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use assistant::Assistant;
use assistant::runtime::{RuntimeSpec, open_options};
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

/// The runtime every test runs on.
pub static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

static ASSISTANT: OnceCell<Arc<Assistant>> = OnceCell::const_new();

/// The generation deadline of the shared test assistant.
pub const TEST_GENERATION_TIMEOUT_SECONDS: f64 = 300.0;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// What the assistant is built from, with the model paths from the asset cache.
pub fn spec() -> RuntimeSpec {
    let cache = assets::AssetCache::from_env().expect("the asset cache (run `cargo xtask setup`)");
    let embedding = assistant::runtime::embedding_model_paths(&cache)
        .expect("the embedding model and ONNX Runtime are installed");
    let root = root();
    RuntimeSpec {
        knowledge_dir: root.join("data/knowledge"),
        raw_dir: None,
        assistant_config: Some(root.join("configs/assistant.toml")),
        graphrag_config: Some(root.join("configs/graphrag.toml")),
        llm_config: root.join("configs/llm.toml"),
        chat_model: cache
            .chat_model_gguf()
            .expect("the chat model is installed"),
        adapter: None,
        threads: 1,
        embedding,
        index: true,
        store_location: Some(format!(
            "surrealkv://{}/assistant-tests.db",
            env!("CARGO_TARGET_TMPDIR")
        )),
    }
}

/// The shared assistant.
pub async fn assistant() -> Arc<Assistant> {
    ASSISTANT
        .get_or_init(|| async {
            let mut options = open_options(&spec()).expect("the configs parse");
            // Tests run concurrently on one shared model and check behaviour, not speed: a
            // generous deadline keeps a busy machine from cutting their explanations short.
            options.config.generation.timeout_seconds = TEST_GENERATION_TIMEOUT_SECONDS;
            Arc::new(Assistant::open(options).await.expect("the assistant opens"))
        })
        .await
        .clone()
}
