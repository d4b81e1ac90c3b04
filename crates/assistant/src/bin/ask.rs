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
    /// Answer every `{"id", "question"}` line of these JSONL files (the evaluator's sets) and
    /// write one answer record per line to `--records`, instead of answering one question.
    #[arg(long, value_name = "JSONL")]
    batch: Vec<PathBuf>,
    /// Where batch answer records go (JSON lines, the evaluator's `AnswerRecord`).
    #[arg(long, requires = "batch")]
    records: Option<PathBuf>,
    /// The configuration name written into batch records.
    #[arg(long, default_value = "assistant")]
    configuration: String,
    /// Batch only: ask the language model alone, with no calculator, retrieval or structured
    /// answer (the "base model alone" baseline).
    #[arg(long)]
    model_only: bool,
}

fn spec(cli: &Cli) -> Result<RuntimeSpec> {
    let cache = assets::AssetCache::from_env().context("locating the asset cache")?;
    let embedding = assistant::runtime::embedding_model_paths(&cache)
        .context("the embedding model or ONNX Runtime is not installed; run `cargo xtask setup`")?;
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
        embedding,
        index: !cli.no_index,
        store_location: cli.store.clone(),
    })
}

/// The open options, with an index progress bar on stderr when the index is brought up to date.
fn options_with_progress(spec: &RuntimeSpec) -> Result<assistant::OpenOptions> {
    let mut options = open_options(spec)?;
    if spec.index {
        options.progress = Some(Box::new(graphrag::index::TerminalProgress::new()));
    }
    Ok(options)
}

async fn run(cli: Cli) -> Result<()> {
    if !cli.batch.is_empty() {
        return batch::run(&cli).await;
    }
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
    let assistant = Arc::new(Assistant::open(options_with_progress(&spec)?).await?);
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
        generation_timeout: None,
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

mod batch {
    //! Batch answering for the evaluator: one answer record (the evaluator's `AnswerRecord`
    //! JSON shape) per question, written atomically when the batch is done.

    use super::*;
    use llm::{CallOptions, ChatModel, ChatRequest, GenerationParams, Message};

    #[derive(serde::Deserialize)]
    struct Line {
        id: String,
        question: String,
    }

    fn read_questions(paths: &[PathBuf]) -> Result<Vec<Line>> {
        let mut out = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: Line = serde_json::from_str(line).with_context(|| {
                    format!(
                        "{}:{}: expected {{\"id\", \"question\"}}",
                        path.display(),
                        i + 1
                    )
                })?;
                out.push(parsed);
            }
        }
        Ok(out)
    }

    pub(super) async fn run(cli: &Cli) -> Result<()> {
        let Some(records) = &cli.records else {
            bail!("--batch needs --records FILE");
        };
        let questions = read_questions(&cli.batch)?;
        let mode: RetrievalMode = cli.mode.parse()?;
        let spec = spec(cli)?;
        let assistant = Arc::new(Assistant::open(options_with_progress(&spec)?).await?);
        let model = assistant.model().cloned();
        let mut lines = Vec::with_capacity(questions.len());
        let started = std::time::Instant::now();
        for (i, q) in questions.iter().enumerate() {
            let record = if cli.model_only {
                let model = model
                    .as_ref()
                    .context("--model-only needs a language model ([model] backend)")?;
                model_only(model.as_ref(), &cli.configuration, q, &assistant).await?
            } else {
                let answer = assistant
                    .answer(Query {
                        question: q.question.clone(),
                        conversation_id: None,
                        mode,
                        top_k: cli.top_k,
                        generate: !cli.no_generate,
                        generation_timeout: None,
                    })
                    .await
                    .with_context(|| format!("answering {}", q.id))?;
                record_of(&cli.configuration, &q.id, &answer)
            };
            lines.push(serde_json::to_string(&record)?);
            eprint!(
                "\r{}: {}/{} answered",
                cli.configuration,
                i + 1,
                questions.len()
            );
        }
        eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
        let mut body = lines.join("\n");
        body.push('\n');
        if let Some(dir) = records.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = records.with_extension("jsonl.tmp");
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, records)?;
        Ok(())
    }

    fn record_of(configuration: &str, id: &str, a: &assistant::Answer) -> serde_json::Value {
        let calculator_numbers: Vec<f64> = a
            .head
            .calculation
            .iter()
            .flat_map(|c| c.outputs.iter().map(|o| o.value))
            .collect();
        let numbers_reported: Vec<serde_json::Value> = a
            .head
            .calculation
            .iter()
            .flat_map(|c| {
                c.outputs
                    .iter()
                    .map(|o| serde_json::json!({"name": o.name, "value": o.value}))
            })
            .collect();
        serde_json::json!({
            "question_id": id,
            "configuration": configuration,
            "answer_text": a.answer,
            "numbers_reported": numbers_reported,
            "citations": a.head.citations.iter().map(|c| serde_json::json!({
                "id": c.item.split_once(':').map_or(c.item.as_str(), |(_, rest)| rest),
                "kind": c.kind,
                "title": c.title,
                "snippet": c.snippet,
            })).collect::<Vec<_>>(),
            "context_texts": a.head.citations.iter().map(|c| c.snippet.clone()).collect::<Vec<_>>(),
            "calculator_numbers": calculator_numbers,
            "latency_ms": a.timings_ms.total,
            "retrieval_ms": a.timings_ms.retrieval,
            "prompt_tokens": a.usage.prompt_tokens,
            "completion_tokens": a.usage.completion_tokens,
            "cost_usd": a.cost_usd,
        })
    }

    async fn model_only(
        model: &dyn ChatModel,
        configuration: &str,
        q: &Line,
        assistant: &Assistant,
    ) -> Result<serde_json::Value> {
        let g = &assistant.config().generation;
        let started = std::time::Instant::now();
        let mut params = GenerationParams::greedy(g.max_tokens * 2);
        params.seed = Some(u64::from(g.seed));
        let response = model
            .complete(
                ChatRequest::new(
                    vec![
                        Message::system(
                            "You are a helpful assistant for A/B testing and statistics.",
                        ),
                        Message::user(q.question.clone()),
                    ],
                    params,
                ),
                CallOptions::new(std::time::Duration::from_secs_f64(g.timeout_seconds)),
            )
            .await?;
        Ok(serde_json::json!({
            "question_id": q.id,
            "configuration": configuration,
            "answer_text": response.text,
            "latency_ms": started.elapsed().as_secs_f64() * 1e3,
            "prompt_tokens": response.usage.prompt_tokens,
            "completion_tokens": response.usage.completion_tokens,
            "cost_usd": response.cost_usd.unwrap_or(0.0),
        }))
    }
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
