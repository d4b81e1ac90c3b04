//! Shared fixtures: one real assistant (the shipped knowledge base indexed into an embedded
//! SurrealDB store with the real MiniLM model, and the real SmolLM2-135M GGUF from the asset
//! cache), built once per test binary on one runtime that outlives every test, because the
//! store's background tasks live on the runtime that opened it; and a server on a loopback port.
//!
//! The store is on-disk SurrealKV under cargo's target tmp directory rather than `mem://`: a
//! debug build takes over a minute to index the knowledge base from scratch, and the incremental
//! indexer makes every later open a few-second no-op. Cargo runs this crate's test binaries one
//! at a time, so they never hold it together.

#![allow(dead_code)] // Each test binary uses a different part.

pub mod http;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use assistant::Assistant;
use assistant::runtime::{RuntimeSpec, open_options};
use inference_api::{AppState, ServerConfig, app};
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

/// The runtime every assistant-backed test runs on.
pub static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// Held by tests that generate text: one local model thread serves them all, and on a loaded
/// machine several generations at once can run past the assistant's generation timeout.
pub static GENERATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    let assistant_config = root.join("configs/assistant.toml");
    RuntimeSpec {
        knowledge_dir: root.join("data/knowledge"),
        raw_dir: None,
        assistant_config: assistant_config.is_file().then_some(assistant_config),
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
            "surrealkv://{}/inference-api-tests.db",
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

/// The assistant as shipped (`configs/assistant.toml`'s generation deadline), for the benchmark.
pub async fn shipped_assistant() -> Arc<Assistant> {
    let options = open_options(&spec()).expect("the configs parse");
    Arc::new(Assistant::open(options).await.expect("the assistant opens"))
}

/// The default config with long timeouts: the tests check what the limits refuse, not how fast
/// a shared 2-core machine answers while other builds run on it.
pub fn test_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.server.request_timeout_secs = 600;
    config.limits.queue_timeout_secs = 600;
    config
}

/// The app over the shared assistant with this config and no auth.
pub async fn app_with(config: ServerConfig) -> axum::Router {
    app(AppState::with_assistant(config, None, assistant().await))
}

/// A server on a free loopback port; dropping the handle's sender stops it.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<bool>>>,
}

impl Server {
    /// Starts `state`'s app.
    pub async fn start(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(inference_api::shutdown::serve(
            listener,
            app(state),
            async move {
                let _ = rx.await;
            },
            Duration::from_secs(30),
        ));
        Self {
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops it gracefully; returns whether in-flight requests finished.
    pub async fn stop(mut self) -> bool {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task").expect("served"),
            None => true,
        }
    }
}
