//! Shared fixture of the assistant's integration tests: one assistant over the real embedded
//! SurrealDB engine (`mem://`), indexed from the shipped knowledge base with the real MiniLM
//! model, and the real SmolLM2-135M GGUF from the asset cache, built once per test binary on one
//! runtime that outlives every test (the store's background tasks live on it).

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use assistant::runtime::{RuntimeSpec, open_options};
use assistant::Assistant;
use graphrag::embed::ModelPaths;
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
    let files = cache.embedding_model().expect("the embedding model is installed");
    let onnxruntime = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.onnxruntime_library().expect("ONNX Runtime is installed"));
    let root = root();
    RuntimeSpec {
        knowledge_dir: root.join("data/knowledge"),
        raw_dir: None,
        assistant_config: Some(root.join("configs/assistant.toml")),
        graphrag_config: Some(root.join("configs/graphrag.toml")),
        llm_config: root.join("configs/llm.toml"),
        chat_model: cache.chat_model_gguf().expect("the chat model is installed"),
        adapter: None,
        threads: 1,
        embedding: ModelPaths {
            onnx: files.onnx,
            tokenizer: files.tokenizer,
            config: files.config,
            special_tokens_map: files.special_tokens_map,
            tokenizer_config: files.tokenizer_config,
            onnxruntime,
        },
        index: true,
        store_location: Some("mem://".into()),
    }
}

/// The shared assistant.
pub async fn assistant() -> Arc<Assistant> {
    ASSISTANT
        .get_or_init(|| async {
            let options = open_options(&spec()).expect("the configs parse");
            Arc::new(Assistant::open(options).await.expect("the assistant opens"))
        })
        .await
        .clone()
}
