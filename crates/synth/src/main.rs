//! The `synth` binary: reads `configs/synth.toml`, writes the synthetic Q&A artifacts, or with
//! `--dry-run` prints what the LLM generator would cost without spending anything.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use synth::SynthConfig;

/// Synthetic Q&A from the knowledge graph and the calculator.
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
    /// Sources to estimate for (default: rows of raw/arxiv.parquet, else the config's seed scale).
    #[arg(long)]
    sources: Option<usize>,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("synth: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = SynthConfig::load(&args.config)?;
    if let Some(root) = args.output_root {
        config.output_root = root;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.dry_run {
        let arxiv = config.output_root.join("raw/arxiv.parquet");
        let (sources, from) = match args.sources {
            Some(n) => (n, "--sources".to_owned()),
            None if arxiv.exists() => {
                let header = artifacts::inspect_artifact(&arxiv)
                    .with_context(|| format!("reading {}", arxiv.display()))?;
                (header.rows as usize, arxiv.display().to_string())
            }
            None => (
                config.llm.default_sources,
                "config llm.default_sources (seed scale)".to_owned(),
            ),
        };
        let e = synth::run::estimate(&config, sources, from)?;
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
        return Ok(());
    }
    let summary = synth::run::run(&config)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
