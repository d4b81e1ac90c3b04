//! The `trainer` binary: `trainer --config configs/train-smollm2-cpu.toml [--resume]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use trainer::{RunOptions, TrainSettings};

/// Fine-tunes a Llama-family model with (Q)LoRA and writes runs/<id>/.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The run configuration (TOML).
    #[arg(long, default_value = "configs/train-smollm2-cpu.toml")]
    config: PathBuf,
    /// Continue the run from its checkpoint.
    #[arg(long)]
    resume: bool,
    /// Plain LoRA on a dense base instead of NF4 (overrides `quant.enabled`).
    #[arg(long)]
    no_quant: bool,
    /// Overrides `train.steps`.
    #[arg(long)]
    steps: Option<u64>,
    /// Overrides `train.threads`.
    #[arg(long)]
    threads: Option<i32>,
    /// Overrides `run_id`.
    #[arg(long)]
    run_id: Option<String>,
    /// Overrides `data.max_seq_len`.
    #[arg(long)]
    max_seq_len: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = TrainSettings::from_file(&cli.config)?;
    if cli.no_quant {
        settings.quant.enabled = false;
    }
    if let Some(s) = cli.steps {
        settings.train.steps = s;
        settings.train.warmup_steps = settings.train.warmup_steps.min(s);
    }
    if let Some(t) = cli.threads {
        settings.train.threads = t;
    }
    if let Some(id) = cli.run_id {
        settings.run_id = id;
    }
    if let Some(n) = cli.max_seq_len {
        settings.data.max_seq_len = n;
    }
    // Only the binary resolves assets: a config without any model source trains the cached
    // SmolLM2 GGUF.
    let m = &mut settings.model;
    if m.gguf.is_none() && m.hf_dir.is_none() && m.random.is_none() {
        m.gguf = Some(assets::AssetCache::from_env()?.chat_model_gguf()?);
    }
    if m.random.is_some() && m.tokenizer_gguf.is_none() {
        m.tokenizer_gguf = Some(assets::AssetCache::from_env()?.chat_model_gguf()?);
    }
    settings.validate()?;
    let summary = trainer::run(
        &settings,
        &RunOptions {
            resume: cli.resume,
            progress: !cli.quiet,
            stop_after: None,
        },
    )
    .with_context(|| format!("training run {} failed", settings.run_id))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
