//! The `graphrag` command line: index the knowledge base into the store, search it, walk the
//! graph, and show what the store holds. Every command takes `--json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use graphrag::config::{Config, effective_threads};
use graphrag::corpus::{load_knowledge, playbook_documents, raw_documents};
use graphrag::embed::{MiniLm, ModelPaths};
use graphrag::graph::Direction;
use graphrag::index::{TerminalProgress, index};
use graphrag::retrieve::{Engine, Mode, RetrieveOptions};
use graphrag::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "graphrag",
    about = "Knowledge graph and document retrieval for Lift"
)]
struct Cli {
    /// Settings file; defaults to configs/graphrag.toml when it exists.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Store location (surrealkv://PATH, mem://, ws://HOST:PORT); overrides the config.
    #[arg(long, global = true)]
    store: Option<String>,
    /// Threads for embedding; 0 picks 1 on machines with at most 2 cores.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Index the knowledge base, the playbook and the raw artifacts that exist (incremental).
    Index {
        /// The knowledge base directory.
        #[arg(long, default_value = "data/knowledge")]
        knowledge: PathBuf,
        /// The raw artifacts directory.
        #[arg(long, default_value = "artifacts/raw")]
        raw: PathBuf,
    },
    /// Retrieve context for a question.
    Search {
        /// The question.
        question: String,
        /// bm25, vector, graph or hybrid.
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Items to return.
        #[arg(long)]
        k: Option<usize>,
        /// Record the query in the store's query log.
        #[arg(long)]
        log: bool,
    },
    /// The strongest path between two concepts, with each relation's explanation.
    Path {
        /// From concept id.
        from: String,
        /// To concept id.
        to: String,
        /// Relation kinds allowed (comma-separated); all when absent.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
    },
    /// Concepts around a concept, breadth-first.
    Neighbors {
        /// Concept id.
        concept: String,
        /// Hops.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        /// Relation kinds allowed (comma-separated); all when absent.
        #[arg(long, value_delimiter = ',')]
        kinds: Vec<String>,
        /// out, in or both.
        #[arg(long, default_value = "both")]
        direction: String,
    },
    /// Concepts mentioned in a text.
    Entities {
        /// The text.
        text: String,
    },
    /// Counts, index status and store location.
    Info,
}

fn load_config(cli: &Cli) -> Result<Config> {
    let default = Path::new("configs/graphrag.toml");
    let mut config = match &cli.config {
        Some(p) => Config::from_path(p)?,
        None if default.is_file() => Config::from_path(default)?,
        None => Config::default(),
    };
    if let Some(s) = &cli.store {
        config.store.location = s.clone();
    }
    if let Some(t) = cli.threads {
        config.index.threads = t;
    }
    Ok(config)
}

/// Resolves the model from the asset cache; `ORT_DYLIB_PATH` overrides the runtime library.
fn load_model(config: &Config) -> Result<Arc<MiniLm>> {
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
    let paths = ModelPaths {
        onnx: files.onnx,
        tokenizer: files.tokenizer,
        config: files.config,
        special_tokens_map: files.special_tokens_map,
        tokenizer_config: files.tokenizer_config,
        onnxruntime,
    };
    let threads = effective_threads(config.index.threads);
    Ok(Arc::new(MiniLm::load(
        &paths,
        threads,
        config.index.embed_batch,
    )?))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn direction(s: &str) -> Result<Direction> {
    Ok(match s {
        "out" => Direction::Out,
        "in" => Direction::In,
        "both" => Direction::Both,
        other => bail!("unknown direction {other:?}; expected out, in or both"),
    })
}

async fn engine(config: &Config) -> Result<Engine> {
    let store = Store::open_existing(&config.store).await?;
    let model = load_model(config)?;
    Ok(Engine::open(store, model, config.clone()).await?)
}

async fn run(cli: Cli) -> Result<()> {
    let config = load_config(&cli)?;
    match &cli.command {
        Command::Index { knowledge, raw } => {
            let started = std::time::Instant::now();
            let kb = load_knowledge(knowledge)?;
            let mut docs = playbook_documents(&kb);
            docs.extend(raw_documents(raw)?);
            let model = load_model(&config)?;
            let store = Store::open(&config.store).await?;
            let bar = if cli.json {
                TerminalProgress::hidden()
            } else {
                TerminalProgress::new()
            };
            let report = index(&store, model.as_ref(), &kb, &docs, &config.index, &bar).await?;
            bar.finish();
            if cli.json {
                print_json(&report)?;
            } else {
                let d = |name: &str, x: &graphrag::index::Delta| {
                    println!(
                        "{name:10} +{} ~{} -{} ={}",
                        x.added, x.changed, x.removed, x.unchanged
                    )
                };
                d("concepts", &report.concepts);
                d("relations", &report.relations);
                d("documents", &report.sources);
                d("chunks", &report.chunks);
                d("mentions", &report.mentions);
                println!(
                    "embedded {} texts, {} writes, {:.1}s ({})",
                    report.embedded,
                    report.writes,
                    started.elapsed().as_secs_f64(),
                    store.location()
                );
            }
        }
        Command::Search {
            question,
            mode,
            k,
            log,
        } => {
            let mode: Mode = mode.parse()?;
            let engine = engine(&config).await?;
            let ctx = engine
                .retrieve(
                    question,
                    RetrieveOptions {
                        mode,
                        k: *k,
                        log: *log,
                    },
                )
                .await?;
            if cli.json {
                print_json(&ctx)?;
            } else {
                let ents: Vec<String> = ctx
                    .entities
                    .iter()
                    .map(|e| format!("{} ({}, {:.2})", e.concept, e.method.as_str(), e.confidence))
                    .collect();
                println!(
                    "entities: {}",
                    if ents.is_empty() {
                        "none".into()
                    } else {
                        ents.join(", ")
                    }
                );
                for (i, item) in ctx.items.iter().enumerate() {
                    let c = item.contributions;
                    println!(
                        "{:2}. [{:?}] {} score {:.4} (bm25 {:.4} vector {:.4} graph {:.4} paths {:.4})",
                        i + 1,
                        item.kind,
                        item.title,
                        item.score,
                        c.bm25,
                        c.vector,
                        c.graph,
                        c.paths
                    );
                    let cite = &item.citation;
                    let mut parts: Vec<String> = Vec::new();
                    if !cite.concepts.is_empty() {
                        parts.push(format!("concepts {}", cite.concepts.join(" > ")));
                    }
                    parts.extend(cite.title.iter().map(|t| format!("source \"{t}\"")));
                    parts.extend(cite.author.iter().map(|a| format!("by {a}")));
                    parts.extend(cite.license.iter().cloned());
                    parts.extend(cite.url.iter().cloned());
                    println!("    cite: {}", parts.join("; "));
                    let preview: String = item.text.chars().take(160).collect();
                    println!("    {}", preview.replace('\n', " | "));
                }
                println!(
                    "embed {:.1} ms, retrieve {:.1} ms",
                    ctx.timings.embed_ms, ctx.timings.retrieve_ms
                );
            }
        }
        Command::Path { from, to, kinds } => {
            let engine = engine(&config).await?;
            let filter = Engine::edge_filter(kinds, Direction::Both)?;
            let path = engine.path(from, to, &filter)?;
            match (path, cli.json) {
                (Some(p), true) => print_json(&p)?,
                (Some(p), false) => {
                    println!("{} (cost {:.2})", p.nodes.join(" > "), p.cost);
                    for line in p.explain() {
                        println!("  {line}");
                    }
                }
                (None, _) => bail!("no path between {from} and {to} within the hop limit"),
            }
        }
        Command::Neighbors {
            concept,
            depth,
            kinds,
            direction: dir,
        } => {
            let engine = engine(&config).await?;
            let filter = Engine::edge_filter(kinds, direction(dir)?)?;
            let visits = engine.neighbors(concept, *depth, &filter)?;
            if cli.json {
                let rows: Vec<serde_json::Value> = visits
                    .iter()
                    .map(|v| {
                        let edge = v.via.and_then(|e| engine.graph().edge(e));
                        serde_json::json!({
                            "concept": v.concept,
                            "depth": v.depth,
                            "via": edge.map(|e| serde_json::json!({"from": e.from, "kind": e.kind, "to": e.to, "explanation": e.explanation})),
                        })
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                for v in &visits {
                    let via = v
                        .via
                        .and_then(|e| engine.graph().edge(e))
                        .map(|e| format!("  via {} --{}--> {}", e.from, e.kind, e.to))
                        .unwrap_or_default();
                    println!("{}{}{}", "  ".repeat(v.depth), v.concept, via);
                }
            }
        }
        Command::Entities { text } => {
            let engine = engine(&config).await?;
            let found = engine.entities(text)?;
            if cli.json {
                print_json(&found)?;
            } else if found.is_empty() {
                println!("no concepts found");
            } else {
                for e in &found {
                    println!(
                        "{:>4}..{:<4} {:30} {:10} {:.2}  \"{}\"",
                        e.start,
                        e.end,
                        e.concept,
                        e.method.as_str(),
                        e.confidence,
                        e.surface
                    );
                }
            }
        }
        Command::Info => {
            let store = Store::open_existing(&config.store).await?;
            let counts = store.counts().await?;
            let meta = store.meta().await?;
            if cli.json {
                print_json(&serde_json::json!({
                    "location": store.location(),
                    "indexed": meta.is_some(),
                    "schema_version": meta.as_ref().map(|m| m.schema_version),
                    "model": meta.as_ref().and_then(|m| m.model.clone()),
                    "lexicon": meta.as_ref().and_then(|m| m.lexicon.clone()),
                    "counts": counts,
                }))?;
            } else {
                println!("store      {}", store.location());
                match &meta {
                    Some(m) => println!(
                        "indexed    yes (schema {}, model {}, lexicon {})",
                        m.schema_version,
                        m.model.as_deref().unwrap_or("?"),
                        m.lexicon.as_deref().unwrap_or("?")
                    ),
                    None => println!("indexed    no; run `graphrag index`"),
                }
                println!(
                    "concepts {}  relations {}  documents {}  chunks {}  mentions {}  logged queries {}",
                    counts.concepts,
                    counts.relations,
                    counts.sources,
                    counts.chunks,
                    counts.mentions,
                    counts.queries
                );
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
            std::process::exit(2);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
