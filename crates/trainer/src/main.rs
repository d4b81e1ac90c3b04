//! The `trainer` binary: `trainer --config configs/train-smollm2-cpu.toml [--resume]`; `--check`
//! validates the configuration and exits.

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
    /// Overrides `runs_dir`.
    #[arg(long)]
    runs_dir: Option<PathBuf>,
    /// Overrides `data.train` (a `dataset.rows` Parquet file).
    #[arg(long)]
    train_data: Option<PathBuf>,
    /// Overrides `data.val`.
    #[arg(long)]
    val_data: Option<PathBuf>,
    /// Validate the configuration (with the overrides) and exit without training.
    #[arg(long)]
    check: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also write the merged model, `merged/` and `merged.gguf` (sets `export.merged`).
    #[arg(long)]
    merged: bool,
    /// Recompute decoder blocks in the backward pass (sets `train.gradient_checkpointing`).
    #[arg(long)]
    gradient_checkpointing: bool,
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
    // Parsed here and validated once below, after the overrides and the asset cache have filled
    // in what the file may leave out (`TrainSettings::from_file` validates the file alone, which
    // refuses a random model without `model.tokenizer_gguf` before the binary can supply it).
    let text = std::fs::read_to_string(&cli.config)
        .with_context(|| format!("reading the training config {}", cli.config.display()))?;
    let mut settings: TrainSettings = toml::from_str(&text)
        .with_context(|| format!("parsing the training config {}", cli.config.display()))?;
    if cli.no_quant {
        settings.quant.enabled = false;
    }
    if cli.merged {
        settings.export.merged = true;
    }
    if cli.gradient_checkpointing {
        settings.train.gradient_checkpointing = true;
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
    if let Some(dir) = cli.runs_dir {
        settings.runs_dir = dir;
    }
    if let Some(path) = cli.train_data {
        settings.data.train = path;
    }
    if let Some(path) = cli.val_data {
        settings.data.val = Some(path);
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
    if cli.check {
        println!(
            "{}: valid (run {} in {})",
            cli.config.display(),
            settings.run_id,
            settings.runs_dir.display()
        );
        return Ok(());
    }
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
