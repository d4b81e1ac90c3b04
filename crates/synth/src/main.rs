//! The `synth` binary: reads `configs/synth.toml`, writes the synthetic Q&A artifacts, or with
//! `--dry-run` prints what the LLM generator would cost without spending anything. A real run
//! prints the same estimate first, then generates under the hard `--max-cost-usd` cap.
//!
//! The binary, not the library, decides the LLM provider: it reads `ANTHROPIC_API_KEY` and
//! resolves the local model through the asset cache.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use synth::SynthConfig;
use synth::provider::{ProviderChoice, resolve_provider};
use synth::run::RunOptions;

/// Synthetic Q&A from the knowledge graph, the calculator and (with a model) papers and posts.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The config file.
    #[arg(long, default_value = "configs/synth.toml")]
    config: PathBuf,
    /// Overrides the config's artifacts root.
    #[arg(long)]
    output_root: Option<PathBuf>,
    /// Overrides the config's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Estimates calls, tokens and USD of the LLM generator and writes nothing.
    #[arg(long)]
    dry_run: bool,
    /// Sources to estimate for (default: the sources under the artifacts root, else the config's
    /// seed scale).
    #[arg(long)]
    sources: Option<usize>,
    /// Hard cap in USD for this run's LLM calls (overrides llm.max_cost_usd); a call whose worst
    /// case no longer fits is never sent.
    #[arg(long)]
    max_cost_usd: Option<f64>,
    /// Overrides llm.provider: auto, anthropic, openai or local.
    #[arg(long)]
    provider: Option<String>,
    /// Generators to run, comma-separated: graph, calculation, llm.
    #[arg(long, value_delimiter = ',', default_value = "graph,calculation,llm")]
    generators: Vec<String>,
}

fn main() {
    match real_main() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("synth: {e:#}");
            std::process::exit(1);
        }
    }
}

fn source_count(config: &SynthConfig) -> anyhow::Result<Option<usize>> {
    let (sources, _) = synth::llm_qa::load_sources(&config.output_root, &config.llm)
        .context("reading the LLM generator's sources")?;
    Ok((!sources.is_empty()).then_some(sources.len()))
}

fn print_estimate(
    config: &SynthConfig,
    sources: usize,
    from: String,
    model: &str,
) -> anyhow::Result<()> {
    let e = synth::run::estimate_for(config, sources, from, model)?;
    println!(
        "dry run: LLM generator, {} sources ({}) x {} pairs with {}: {} calls, {} input + {} output tokens, ${:.2} at prices of {}; graph and calculation generators cost $0",
        e.sources,
        e.sources_from,
        config.llm.pairs_per_source,
        e.model,
        e.calls,
        e.input_tokens,
        e.output_tokens,
        e.usd,
        e.prices_as_of
    );
    Ok(())
}

fn real_main() -> anyhow::Result<i32> {
    let args = Args::parse();
    let mut config = SynthConfig::load(&args.config)?;
    if let Some(root) = args.output_root {
        config.output_root = root;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(provider) = args.provider {
        config.llm.provider = provider;
        config
            .llm
            .validate()
            .map_err(|detail| anyhow::anyhow!("--provider: {detail}"))?;
    }
    if let Some(cap) = args.max_cost_usd
        && !(cap.is_finite() && cap >= 0.0)
    {
        anyhow::bail!("--max-cost-usd must be a non-negative number of dollars, got {cap}");
    }
    for g in &args.generators {
        if !["graph", "calculation", "llm"].contains(&g.as_str()) {
            anyhow::bail!("--generators takes graph, calculation and llm, got {g:?}");
        }
    }
    let on = |name: &str| args.generators.iter().any(|g| g == name);
    let key = llm::ApiKey::from_env(llm::ANTHROPIC_API_KEY_ENV).ok();
    let provider = resolve_provider(&config.llm, key.is_some()).map(str::to_owned);
    let priced_model = match provider.as_deref() {
        Some("openai") => config.llm.openai.model.clone(),
        Some("local") => "smollm2-135m-instruct".to_owned(),
        _ => config.llm.anthropic.model.clone(),
    };
    let found = source_count(&config)?;

    if args.dry_run {
        let (sources, from) = match (args.sources, found) {
            (Some(n), _) => (n, "--sources".to_owned()),
            (None, Some(n)) => (n, format!("under {}", config.output_root.display())),
            (None, None) => (
                config.llm.default_sources,
                "config llm.default_sources (seed scale)".to_owned(),
            ),
        };
        print_estimate(&config, sources, from, &priced_model)?;
        return Ok(0);
    }

    let mut options = RunOptions {
        max_cost_usd: args.max_cost_usd,
        graph: on("graph"),
        calculation: on("calculation"),
        ..RunOptions::default()
    };
    if !on("llm") {
        options.skip_reason = Some("--generators leaves out llm".into());
    } else if !config.llm.enabled {
        options.skip_reason = Some("llm.enabled is false".into());
    } else if let Some(n) = found {
        let choice = match provider.as_deref() {
            None => {
                options.skip_reason = Some(format!(
                    "{} is not set and llm.fallback is none; set the key, or set llm.fallback to openai or local",
                    llm::ANTHROPIC_API_KEY_ENV
                ));
                None
            }
            Some("anthropic") => Some(ProviderChoice::Anthropic(key.with_context(|| {
                format!(
                    "llm.provider is anthropic but {} is not set",
                    llm::ANTHROPIC_API_KEY_ENV
                )
            })?)),
            Some("openai") => Some(ProviderChoice::OpenAi(None)),
            Some(_) => {
                let path = if config.llm.local.model_path.as_os_str().is_empty() {
                    assets::AssetCache::from_env()
                        .and_then(|cache| cache.chat_model_gguf())
                        .context("finding the local chat model; run `cargo xtask setup` or set llm.local.model_path")?
                } else {
                    config.llm.local.model_path.clone()
                };
                Some(ProviderChoice::Local(path))
            }
        };
        if choice.is_some() {
            // The estimate comes first, so the operator sees the price before anything is spent.
            print_estimate(
                &config,
                n,
                format!("under {}", config.output_root.display()),
                &priced_model,
            )?;
            println!(
                "hard cap: ${:.2} (--max-cost-usd or llm.max_cost_usd)",
                args.max_cost_usd.unwrap_or(config.llm.max_cost_usd)
            );
        }
        options.provider = choice;
    } else {
        options.skip_reason = Some(format!(
            "no sources under {}; run the collector first",
            config.output_root.display()
        ));
    }
    let summary = synth::run::run_with(&config, options)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if let Some(why) = &summary.llm.stopped {
        eprintln!(
            "synth: the LLM generator stopped early: {why}; the artifacts hold what finished"
        );
        return Ok(2);
    }
    Ok(0)
}
