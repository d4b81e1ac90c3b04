//! `ask`: answers one question from the command line with the full pipeline (understanding,
//! calculator, graph retrieval, local model), printing the Markdown answer as it streams, then the
//! timings. `--json` prints the whole structured answer instead. Brings the index up to date
//! first (a no-op when nothing changed). `cargo xtask ask "<question>"` runs this after setup.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use assistant::runtime::{RuntimeSpec, newest_adapter, open_options};
use assistant::{AnswerEvent, Assistant, Query, RetrievalMode};
use clap::Parser;
use futures::StreamExt;
use graphrag::embed::ModelPaths;

/// Answer a question about experimentation.
#[derive(Debug, Parser)]
#[command(name = "ask", version)]
struct Cli {
    /// The question.
    question: Vec<String>,
    /// Retrieval: hybrid, graph, vector, bm25 or none.
    #[arg(long, default_value = "hybrid")]
    mode: String,
    /// Retrieved items to keep.
    #[arg(long)]
    top_k: Option<usize>,
    /// Skip the language model: print the structured answer only.
    #[arg(long)]
    no_generate: bool,
    /// Print the whole answer as JSON.
    #[arg(long)]
    json: bool,
    /// The knowledge base.
    #[arg(long, default_value = "data/knowledge")]
    knowledge: PathBuf,
    /// Collector artifacts to index with it, when present.
    #[arg(long, default_value = "artifacts/raw")]
    raw: PathBuf,
    /// Pipeline settings.
    #[arg(long, default_value = "configs/assistant.toml")]
    config: PathBuf,
    /// GraphRAG settings.
    #[arg(long, default_value = "configs/graphrag.toml")]
    graphrag_config: PathBuf,
    /// Language-model settings.
    #[arg(long, default_value = "configs/llm.toml")]
    llm_config: PathBuf,
    /// Trainer runs; the newest `runs/<id>/adapter.gguf` is served on the base model.
    #[arg(long, default_value = "runs")]
    runs: PathBuf,
    /// Serve the base model even when a fine-tuned adapter exists.
    #[arg(long)]
    base: bool,
    /// llama.cpp threads (0: the default for this machine).
    #[arg(long, default_value_t = 0)]
    threads: u32,
    /// Override the store location (`surrealkv://PATH`, `ws://HOST:PORT`, `mem://`).
    #[arg(long)]
    store: Option<String>,
    /// Do not bring the index up to date first (it must exist).
    #[arg(long)]
    no_index: bool,
}

fn spec(cli: &Cli) -> Result<RuntimeSpec> {
    let cache = assets::AssetCache::from_env().context("locating the asset cache")?;
    let files = cache
        .embedding_model()
        .context("the embedding model is not installed; run `cargo xtask setup`")?;
    let onnxruntime = match std::env::var_os("ORT_DYLIB_PATH") {
        Some(p) => PathBuf::from(p),
        None => cache
            .onnxruntime_library()
            .context("ONNX Runtime is not installed; run `cargo xtask setup`")?,
    };
    let chat_model = cache
        .chat_model_gguf()
        .context("the chat model is not installed; run `cargo xtask setup`")?;
    let optional = |p: &PathBuf| p.is_file().then(|| p.clone());
    Ok(RuntimeSpec {
        knowledge_dir: cli.knowledge.clone(),
        raw_dir: cli.raw.is_dir().then(|| cli.raw.clone()),
        assistant_config: optional(&cli.config),
        graphrag_config: optional(&cli.graphrag_config),
        llm_config: cli.llm_config.clone(),
        chat_model,
        adapter: if cli.base {
            None
        } else {
            newest_adapter(&cli.runs)
        },
        threads: cli.threads,
        embedding: ModelPaths {
            onnx: files.onnx,
            tokenizer: files.tokenizer,
            config: files.config,
            special_tokens_map: files.special_tokens_map,
            tokenizer_config: files.tokenizer_config,
            onnxruntime,
        },
        index: !cli.no_index,
        store_location: cli.store.clone(),
    })
}

async fn run(cli: Cli) -> Result<()> {
    let question = cli.question.join(" ");
    if question.trim().is_empty() {
        bail!("give a question, for example: ask \"What is statistical power?\"");
    }
    let mode: RetrievalMode = cli.mode.parse()?;
    let spec = spec(&cli)?;
    if let Some(adapter) = &spec.adapter {
        eprintln!("serving the fine-tuned adapter {}", adapter.display());
    }
    let started = std::time::Instant::now();
    let assistant = Arc::new(Assistant::open(open_options(&spec)?).await?);
    eprintln!(
        "ready in {:.1} s (model {})",
        started.elapsed().as_secs_f64(),
        assistant.model_id()
    );
    let query = Query {
        question,
        conversation_id: None,
        mode,
        top_k: cli.top_k,
        generate: !cli.no_generate,
    };
    let mut stream = assistant.answer_stream(query).await?;
    let mut out = std::io::stdout().lock();
    while let Some(event) = stream.next().await {
        match event? {
            AnswerEvent::Head(head) => {
                if !cli.json {
                    writeln!(out, "{}\n", head.structured)?;
                    if assistant.has_model()
                        && cli.no_generate.eq(&false)
                        && head.missing.is_empty()
                    {
                        write!(out, "Explanation ({}, streaming): ", head.model)?;
                    }
                    out.flush()?;
                }
            }
            AnswerEvent::Token { text } => {
                if !cli.json {
                    write!(out, "{text}")?;
                    out.flush()?;
                }
            }
            AnswerEvent::Done(answer) => {
                if cli.json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
                } else {
                    writeln!(out)?;
                    if !answer.unsupported_numbers.is_empty() {
                        writeln!(
                            out,
                            "\n(removed from the explanation: sentences with numbers no source supports: {})",
                            answer.unsupported_numbers.join(", ")
                        )?;
                    }
                    let t = answer.timings_ms;
                    writeln!(
                        out,
                        "\n— {} · understanding {:.1} ms · retrieval {:.1} ms · calculation {:.1} ms · generation {:.0} ms · total {:.0} ms · {} + {} tokens",
                        answer.head.intent.as_str(),
                        t.understanding,
                        t.retrieval,
                        t.calculation,
                        t.generation,
                        t.total,
                        answer.usage.prompt_tokens,
                        answer.usage.completion_tokens
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
