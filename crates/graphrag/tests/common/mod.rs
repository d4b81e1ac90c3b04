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

/// The root password the loopback test servers run with.
pub const SERVER_PASSWORD: &str = "graphrag-test-password";

/// A real SurrealDB server (the workspace's `graphrag-server` binary) on a free loopback port,
/// killed when dropped.
pub struct LoopbackServer {
    child: std::process::Child,
    port: u16,
}

impl LoopbackServer {
    /// Starts the server on `storage` (`memory` or `surrealkv://PATH`) and waits for `/health`.
    pub fn start(storage: &str) -> Self {
        let binary = server_binary();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = std::process::Command::new(&binary)
            .args(["start", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--user", "root", "--pass", SERVER_PASSWORD, "--log", "warn"])
            .arg(storage)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let mut server = Self { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait().expect("poll the server") {
                panic!("the server exited before it was healthy: {status}");
            }
            if health_ok(port) {
                return server;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not become healthy within 120 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// A store config that signs in as root with the right password.
    pub fn store_config(&self, database: &str) -> StoreConfig {
        StoreConfig {
            username: Some("root".into()),
            password: Some(graphrag::config::Secret::new(SERVER_PASSWORD)),
            ..store_config(&self.url(), database)
        }
    }

    /// A fresh store on this server.
    pub async fn store(&self, database: &str) -> Store {
        Store::open(&self.store_config(database))
            .await
            .expect("the server store opens")
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/graphrag-server`, next to the `deps/` directory of this test executable;
/// `cargo test --workspace` builds it before any test runs.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("test executables live in target/<profile>/deps")
        .join("graphrag-server");
    assert!(
        path.is_file(),
        "{} is not built; run the tests with `cargo test --workspace` (or `cargo xtask test`), which builds every workspace binary first",
        path.display()
    );
    path
}

fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}
