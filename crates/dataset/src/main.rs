//! The `dataset` binary: reads `configs/dataset.toml`, builds the three splits and the card from
//! whatever upstream artifacts exist, and prints what it read, removed and wrote.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dataset::{DatasetConfig, ModelFiles, RunOptions};

/// Combine, clean, deduplicate, split and format Q&A into training-ready Parquet.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The config file.
    #[arg(long, default_value = "configs/dataset.toml")]
    config: PathBuf,
    /// Overrides the config's artifacts root.
    #[arg(long)]
    output_root: Option<PathBuf>,
    /// Overrides the config's split seed.
    #[arg(long)]
    seed: Option<u64>,
    /// The model GGUF (default: the config's, else the asset cache's chat model).
    #[arg(long)]
    gguf: Option<PathBuf>,
    /// An HF tokenizer_config.json whose chat template replaces the GGUF's.
    #[arg(long)]
    tokenizer_config: Option<PathBuf>,
    /// Rebuild even when inputs and config are unchanged.
    #[arg(long)]
    force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Validate the configuration and exit without reading or writing any artifact.
    #[arg(long)]
    check: bool,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("dataset: {e:#}");
        std::process::exit(1);
    }
}

fn non_empty(path: PathBuf) -> Option<PathBuf> {
    (!path.as_os_str().is_empty()).then_some(path)
}

fn real_main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = DatasetConfig::load(&args.config)?;
    if args.check {
        println!("{}: valid", args.config.display());
        return Ok(());
    }
    if let Some(root) = args.output_root {
        config.output_root = root;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let gguf = match args.gguf.or_else(|| non_empty(config.format.gguf.clone())) {
        Some(path) => path,
        None => assets::AssetCache::from_env()
            .and_then(|cache| cache.chat_model_gguf())
            .context("finding the chat model GGUF in the asset cache (run `cargo xtask setup`, or set format.gguf / --gguf)")?,
    };
    let files = ModelFiles {
        gguf,
        tokenizer_config: args
            .tokenizer_config
            .or_else(|| non_empty(config.format.tokenizer_config.clone())),
        tokenizer_json: non_empty(config.format.tokenizer_json.clone()),
    };
    let summary = dataset::run::run(&config, &files, RunOptions { force: args.force })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}
