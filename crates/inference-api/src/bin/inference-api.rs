//! `inference-api [--config configs/server.toml] [--host H] [--port N]`: serves the assistant over
//! HTTP. It binds first and answers `/health` at once, `/ready` (and the answering routes) once
//! the model and the store have loaded, and finishes in-flight requests on SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use inference_api::{AppState, ServerConfig, app, auth, shutdown};

#[derive(Parser, Debug)]
#[command(name = "inference-api", about = "The Lift assistant's HTTP API")]
struct Cli {
    /// Settings file; configs/server.toml when it exists, else the built-in defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// IP address to bind (overrides server.host); anything but loopback requires the token.
    #[arg(long)]
    host: Option<String>,
    /// Port to bind (overrides server.port); 0 picks a free one.
    #[arg(long)]
    port: Option<u16>,
    /// Store location (surrealkv://PATH, mem://, ws://HOST:PORT); overrides the graphrag config.
    #[arg(long)]
    store: Option<String>,
}

fn load_config(cli: &Cli) -> Result<ServerConfig> {
    let default = Path::new("configs/server.toml");
    let mut config = match &cli.config {
        Some(path) => ServerConfig::load(path)?,
        None if default.is_file() => ServerConfig::load(default)?,
        None => ServerConfig::default(),
    };
    if let Some(host) = &cli.host {
        config.server.host = host.clone();
    }
    if let Some(port) = cli.port {
        config.server.port = port;
    }
    config.validate()?;
    Ok(config)
}

fn init_logging(config: &ServerConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        // The embedded store logs every memtable flush at info; keep its warnings only.
        .unwrap_or_else(|_| EnvFilter::new(format!("{},surrealkv=warn", config.log.level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Resolves the models from the asset cache and builds the assistant's open options.
fn runtime_spec(
    config: &ServerConfig,
    store: Option<String>,
) -> Result<assistant::runtime::RuntimeSpec> {
    let paths = &config.assistant;
    let cache = assets::AssetCache::from_env().context("locating the asset cache")?;
    let chat_model = cache
        .chat_model_gguf()
        .context("the chat model is not installed; run `cargo xtask setup`")?;
    let embedding = assistant::runtime::embedding_model_paths(&cache)
        .context("the embedding model or ONNX Runtime is not installed; run `cargo xtask setup`")?;
    let adapter = if paths.use_newest_adapter {
        let found = assistant::runtime::newest_adapter(&paths.runs_dir);
        if found.is_none() {
            bail!(
                "assistant.use_newest_adapter is set but {} holds no <run>/adapter.gguf; train one or unset it",
                paths.runs_dir.display()
            );
        }
        found
    } else {
        None
    };
    Ok(assistant::runtime::RuntimeSpec {
        knowledge_dir: paths.knowledge.clone(),
        raw_dir: Some(paths.raw.clone()),
        assistant_config: paths.config.is_file().then(|| paths.config.clone()),
        graphrag_config: paths
            .graphrag_config
            .is_file()
            .then(|| paths.graphrag_config.clone()),
        llm_config: paths.llm_config.clone(),
        chat_model,
        adapter,
        threads: paths.threads,
        embedding,
        index: paths.index_on_start,
        store_location: store,
    })
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    init_logging(&config);
    let addr = config.bind_addr()?;
    let token = auth::resolve(
        &config.auth,
        addr,
        std::env::var(&config.auth.token_env).ok(),
    )?;
    let spec = runtime_spec(&config, cli.store.clone())?;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let auth_on = token.is_some();
    let state = AppState::new(config, token);
    let router = app(state.clone());
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("binding {addr}; is another server on that port? pick one with --port")
    })?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%local, auth = auth_on, "listening; loading the assistant");
    println!("inference-api listening on http://{local} (docs at http://{local}/docs)");

    // Serve at once, so that /health answers during the load and /ready tells the truth.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(shutdown::serve(
        listener,
        router,
        async move {
            tokio::select! {
                () = shutdown::signal() => {}
                _ = stop_rx => {}
            }
        },
        grace,
    ));
    let started = std::time::Instant::now();
    let load = async {
        let mut options = assistant::runtime::open_options(&spec)?;
        if spec.index {
            options.progress = Some(Box::new(graphrag::index::TerminalProgress::new()));
        }
        assistant::Assistant::open(options).await
    };
    tokio::select! {
        loaded = load => match loaded {
            Ok(assistant) => {
                tracing::info!(
                    model = assistant.model_id(),
                    secs = started.elapsed().as_secs_f64(),
                    "assistant ready"
                );
                state.set_assistant(Arc::new(assistant));
            }
            Err(error) => {
                let _ = stop_tx.send(());
                let _ = server.await;
                return Err(anyhow::Error::new(error).context("loading the assistant"));
            }
        },
        served = &mut server => {
            // A signal arrived while loading.
            served.context("the server task failed")?.context("serving")?;
            tracing::info!("stopped before the assistant had loaded");
            return Ok(());
        }
    }
    let drained = server
        .await
        .context("the server task failed")?
        .context("serving")?;
    if !drained {
        bail!(
            "in-flight requests did not finish within {} s (server.shutdown_grace_secs)",
            grace.as_secs()
        );
    }
    tracing::info!("stopped");
    Ok(())
}
