//! The training run: load the base and the data, train the adapters, checkpoint, resume, and
//! write every output of `runs/<id>/`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use artifacts::{RunMetric, read_artifact, sha256_file, write_artifact};
use gguf::{ChatTemplate, GgufTokenizer};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, CheckpointState};
use crate::config::ModelConfig;
use crate::data::{self, Batch, DataPosition, Example, TokenizeStats};
use crate::error::TrainerError;
use crate::export;
use crate::model::{BuildOptions, LlamaModel, RandomWeights, WeightSource};
use crate::optim::{AdamW, AdamWSettings, clip_grad_norm, cosine_lr};
use crate::report::{self, metric, series};
use crate::settings::TrainSettings;
use crate::weights::{GgufWeights, SafetensorsWeights};

/// Checkpoint file name inside the run directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// How to run (not part of the reproducible settings).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from the run directory's checkpoint.
    pub resume: bool,
    /// Show the indicatif progress bar.
    pub progress: bool,
    /// Stop right after this optimizer step's checkpoint, writing no final outputs: the state a
    /// process killed at that moment leaves behind (used by the resume test).
    pub stop_after: Option<u64>,
}

/// What a finished (or stopped) run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Optimizer steps completed.
    pub steps: u64,
    /// Mean training loss of the first logged step.
    pub first_loss: f64,
    /// Mean training loss of the last step.
    pub last_loss: f64,
    /// The last validation loss, when there is a validation set.
    pub val_loss: Option<f64>,
    /// Training tokens per second (non-pad tokens, whole run).
    pub tokens_per_second: f64,
    /// Seconds per optimizer step (whole run).
    pub seconds_per_step: f64,
    /// Peak resident memory.
    pub peak_rss_bytes: Option<u64>,
    /// Whether every output was written (false when stopped early).
    pub complete: bool,
}

/// The tokenizer, template and architecture name that go with the base model.
struct Tokenization {
    tokenizer: GgufTokenizer,
    template: ChatTemplate,
}

fn tokenization_from_gguf(path: &Path) -> Result<Tokenization, TrainerError> {
    let file = gguf::GgufFile::open(path)?;
    Ok(Tokenization {
        tokenizer: GgufTokenizer::from_gguf(&file)?,
        template: ChatTemplate::from_gguf(&file)?,
    })
}

/// Resolves the device the run uses: CUDA only when compiled with the `cuda` feature, allowed
/// by the settings, and visible.
pub fn pick_device(use_cuda: bool) -> Device {
    if cfg!(feature = "cuda") && use_cuda && tch::Cuda::is_available() {
        Device::Cuda(0)
    } else {
        Device::Cpu
    }
}

/// The base model source opened from the settings.
pub fn open_source(
    settings: &TrainSettings,
) -> Result<(Box<dyn WeightSource>, String, String), TrainerError> {
    let m = &settings.model;
    if let Some(path) = &m.gguf {
        let w = GgufWeights::open(path)?;
        let arch = w.file().get_str("general.architecture")?.to_owned();
        return Ok((Box::new(w), arch, sha256_file(path)?));
    }
    if let Some(dir) = &m.hf_dir {
        let w = SafetensorsWeights::open(dir)?;
        let mut hashes = String::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| TrainerError::Io {
                action: "list",
                path: dir.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "safetensors" || x == "json")
            })
            .collect();
        entries.sort();
        for p in entries {
            hashes.push_str(&sha256_file(&p)?);
        }
        return Ok((
            Box::new(w),
            "llama".to_owned(),
            artifacts::config_hash(&hashes),
        ));
    }
    let shape = m.random.as_deref().unwrap_or("tiny");
    let tok = m
        .tokenizer_gguf
        .as_ref()
        .ok_or(TrainerError::InvalidSetting {
            field: "model.tokenizer_gguf",
            detail: "a random model needs a GGUF to take its tokenizer from".into(),
        })?;
    let vocab = GgufTokenizer::from_gguf_path(tok)?
        .tokenizer()
        .get_vocab_size(true) as i64;
    let config = match shape {
        "llama-3.2-3b" => ModelConfig {
            vocab_size: vocab.max(ModelConfig::llama32_3b().vocab_size),
            ..ModelConfig::llama32_3b()
        },
        _ => ModelConfig::tiny(vocab),
    };
    Ok((
        Box::new(RandomWeights::new(config)),
        "llama".to_owned(),
        format!("random:{shape}:seed{}", settings.train.seed),
    ))
}

/// The settings that must be identical for a resume to continue the same run.
fn resume_fingerprint(settings: &TrainSettings, base_hash: &str, data_hash: &str) -> String {
    artifacts::config_hash(&(
        &settings.model,
        &settings.data,
        &settings.lora,
        &settings.quant,
        &settings.train.steps,
        &settings.train.batch_size,
        &settings.train.grad_accum,
        &settings.train.lr,
        &settings.train.warmup_steps,
        &settings.train.seed,
        &settings.train.gradient_checkpointing,
        base_hash,
        data_hash,
    ))
}

/// The whole set of hyperparameters and provenance written to `hyperparams.json`.
#[derive(Debug, Serialize)]
struct Hyperparams<'a> {
    settings: &'a TrainSettings,
    model_config: &'a ModelConfig,
    base_model_sha256: &'a str,
    train_data_sha256: String,
    val_data_sha256: Option<String>,
    code_version: String,
    tch_version: &'static str,
    device: String,
    compute_dtype: String,
    trainable_parameters: i64,
    base_parameters: i64,
    base_projection_bytes: i64,
    train_rows: TokenizeStatsJson,
    val_rows: Option<TokenizeStatsJson>,
}

#[derive(Debug, Serialize)]
struct TokenizeStatsJson {
    rows: usize,
    kept: usize,
    truncated: usize,
    dropped: usize,
}

impl From<&TokenizeStats> for TokenizeStatsJson {
    fn from(s: &TokenizeStats) -> Self {
        Self {
            rows: s.rows,
            kept: s.kept,
            truncated: s.truncated,
            dropped: s.dropped,
        }
    }
}

/// The code version: the crate version plus the git commit when the build saw one.
pub fn code_version() -> String {
    match option_env!("TRAINER_GIT_COMMIT") {
        Some(c) if !c.is_empty() => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The sampler: epoch order from the seed, advanced batch by batch.
struct Sampler {
    lengths: Vec<usize>,
    batch_size: usize,
    packing: bool,
    max_len: usize,
    seed: u64,
    position: DataPosition,
    current: Vec<Vec<usize>>,
}

impl Sampler {
    fn new(
        examples: &[Example],
        batch_size: usize,
        packing: bool,
        max_len: usize,
        seed: u64,
        position: DataPosition,
    ) -> Self {
        let lengths = examples.iter().map(|e| e.ids.len()).collect();
        let mut s = Self {
            lengths,
            batch_size,
            packing,
            max_len,
            seed,
            position,
            current: Vec::new(),
        };
        s.current = s.epoch(position.epoch);
        s
    }

    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let order = data::epoch_batches(&self.lengths, self.batch_size, self.seed, epoch);
        if self.packing {
            data::pack_groups(&order, &self.lengths, self.max_len)
        } else {
            order
        }
    }

    fn next(&mut self) -> Vec<usize> {
        if self.position.batch as usize >= self.current.len() {
            self.position = DataPosition {
                epoch: self.position.epoch + 1,
                batch: 0,
            };
            self.current = self.epoch(self.position.epoch);
        }
        let b = self.current[self.position.batch as usize].clone();
        self.position.batch += 1;
        b
    }
}

fn make_batch(examples: &[Example], idx: &[usize], packing: bool, device: Device) -> Batch {
    let refs: Vec<&Example> = idx.iter().map(|&i| &examples[i]).collect();
    if packing {
        data::pack(&refs, device)
    } else {
        data::collate(&refs, device)
    }
}

/// Mean loss over the validation set (or its first `max_batches` length-sorted batches).
pub fn evaluate(
    model: &LlamaModel,
    examples: &[Example],
    batch_size: usize,
    max_batches: usize,
) -> f64 {
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| (examples[i].ids.len(), i));
    let mut sum = 0.0;
    let mut n = 0i64;
    tch::no_grad(|| {
        for (b, chunk) in order.chunks(batch_size).enumerate() {
            if max_batches > 0 && b >= max_batches {
                break;
            }
            let batch = make_batch(examples, chunk, false, model.device());
            let (loss, k) = model.loss_sum(&batch.ids, &batch.labels, None, None, false);
            sum += loss.double_value(&[]);
            n += k;
        }
    });
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Trains according to `settings` and writes the run directory.
pub fn run(settings: &TrainSettings, options: &RunOptions) -> Result<RunSummary, TrainerError> {
    settings.validate()?;
    let t = &settings.train;
    if t.threads > 0 {
        tch::set_num_threads(t.threads);
    }
    let device = pick_device(t.use_cuda);
    let compute_kind = if device.is_cuda() {
        Kind::BFloat16
    } else {
        Kind::Float
    };
    let run_dir = settings.run_dir();
    let ckpt_path = run_dir.join(CHECKPOINT);
    if ckpt_path.exists() && !options.resume {
        return Err(TrainerError::InvalidSetting {
            field: "run_id",
            detail: format!(
                "{} already holds a checkpoint; pass --resume to continue it or choose a new run_id",
                run_dir.display()
            ),
        });
    }
    std::fs::create_dir_all(&run_dir).map_err(|source| TrainerError::Io {
        action: "create",
        path: run_dir.clone(),
        source,
    })?;

    // Tokenizer and template come with the base model.
    let tokenization = match (
        &settings.model.gguf,
        &settings.model.hf_dir,
        &settings.model.tokenizer_gguf,
    ) {
        (Some(p), _, _) => tokenization_from_gguf(p)?,
        (None, Some(dir), _) => Tokenization {
            tokenizer: GgufTokenizer::from_tokenizer_json(dir.join("tokenizer.json"))?,
            template: ChatTemplate::from_tokenizer_config(dir.join("tokenizer_config.json"))?,
        },
        (None, None, Some(p)) => tokenization_from_gguf(p)?,
        (None, None, None) => {
            return Err(TrainerError::InvalidSetting {
                field: "model",
                detail: "set `gguf`, `hf_dir` or `random` + `tokenizer_gguf`".into(),
            });
        }
    };
    let max_len = settings.data.max_seq_len;
    let (train_ex, train_stats) = data::load_examples(
        &settings.data.train,
        &tokenization.tokenizer,
        &tokenization.template,
        max_len,
    )?;
    let val = match &settings.data.val {
        Some(p) => Some(data::load_examples(
            p,
            &tokenization.tokenizer,
            &tokenization.template,
            max_len,
        )?),
        None => None,
    };
    let train_hash = sha256_file(&settings.data.train)?;
    let val_hash = settings.data.val.as_ref().map(sha256_file).transpose()?;

    // The model: the seed fixes the LoRA initialisation (and random bases).
    tch::manual_seed(t.seed as i64);
    let (mut source, architecture, base_hash) = open_source(settings)?;
    let options_build = BuildOptions {
        quantize: settings.quant.enabled,
        double_quant: settings.quant.double_quant,
        lora: Some(settings.lora.clone()),
        device,
        compute_kind,
    };
    let model = LlamaModel::build(source.as_mut(), &options_build)?;
    drop(source);
    if settings.export.merged {
        export::check_mergeable(&model)?;
    }
    let params = model.lora_parameters();
    let named: Vec<(String, &Tensor)> = params.iter().map(|p| (p.name.clone(), p.tensor)).collect();
    let tensors: Vec<&Tensor> = params.iter().map(|p| p.tensor).collect();
    let adam = AdamWSettings {
        lr: t.lr,
        beta1: t.betas.0,
        beta2: t.betas.1,
        eps: t.eps,
        weight_decay: t.weight_decay,
    };
    let mut opt = AdamW::new(adam, &named);
    let fingerprint =
        resume_fingerprint(settings, &base_hash, &format!("{train_hash}{val_hash:?}"));

    let mut state = CheckpointState {
        step: 0,
        position: DataPosition { epoch: 0, batch: 0 },
        seed: t.seed,
        settings_hash: fingerprint.clone(),
        tokens_seen: 0,
        train_seconds: 0.0,
    };
    let metrics_path = run_dir.join("metrics.parquet");
    let mut metrics: Vec<RunMetric> = Vec::new();
    if options.resume && ckpt_path.exists() {
        let loaded = checkpoint::load(&ckpt_path)?;
        if loaded.state.settings_hash != fingerprint {
            return Err(TrainerError::CheckpointMismatch {
                path: ckpt_path,
                detail: "the model, data or training settings changed since it was written".into(),
            });
        }
        tch::no_grad(|| -> Result<(), TrainerError> {
            for (i, (name, p)) in named.iter().enumerate() {
                let get = |prefix: &str| {
                    loaded
                        .tensors
                        .get(&format!("{prefix}.{name}"))
                        .ok_or_else(|| TrainerError::CheckpointMismatch {
                            path: ckpt_path.clone(),
                            detail: format!("tensor {prefix}.{name} is missing"),
                        })
                };
                let mut p = p.shallow_clone();
                p.copy_(&get("param")?.to_device(device));
                opt.m[i].copy_(&get("adam_m")?.to_device(device));
                opt.v[i].copy_(&get("adam_v")?.to_device(device));
            }
            Ok(())
        })?;
        opt.step = loaded.state.step;
        state = loaded.state;
        if metrics_path.exists() {
            metrics = read_artifact::<RunMetric>(&metrics_path)?;
            metrics.retain(|m| m.step <= state.step as i64);
        }
    }

    let mut sampler = Sampler::new(
        &train_ex,
        t.batch_size,
        settings.data.packing,
        max_len,
        t.seed,
        state.position,
    );
    let bar = if options.progress {
        ProgressBar::new(t.steps)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("the progress template is valid"),
    );
    bar.set_position(state.step);
    let run_start = Instant::now();
    let seconds_before = state.train_seconds;
    while state.step < t.steps {
        let step = state.step;
        let step_start = Instant::now();
        // Dropout draws from libtorch's generator; seeding it per step makes a resumed run draw
        // the same masks as an uninterrupted one.
        tch::manual_seed(
            (t.seed as i64)
                .wrapping_mul(1_000_003)
                .wrapping_add(step as i64),
        );
        let micro: Vec<Batch> = (0..t.grad_accum)
            .map(|_| make_batch(&train_ex, &sampler.next(), settings.data.packing, device))
            .collect();
        let targets: i64 = micro.iter().map(|b| b.targets).sum();
        let tokens: i64 = micro.iter().map(|b| b.tokens).sum();
        let mut loss_total = 0.0;
        let scale = 1.0 / targets.max(1) as f64;
        for b in &micro {
            if t.gradient_checkpointing {
                let (sum, _) = model.backward_checkpointed(
                    &b.ids,
                    &b.labels,
                    b.positions.as_ref(),
                    b.attn_mask.as_ref(),
                    true,
                    scale,
                );
                loss_total += sum * scale;
            } else {
                let (loss, _) = model.loss_sum(
                    &b.ids,
                    &b.labels,
                    b.positions.as_ref(),
                    b.attn_mask.as_ref(),
                    true,
                );
                let scaled = loss * scale;
                scaled.backward();
                loss_total += scaled.double_value(&[]);
            }
        }
        if !loss_total.is_finite() {
            return Err(TrainerError::NonFiniteLoss { step });
        }
        let grad_norm = clip_grad_norm(&tensors, t.clip_norm);
        let lr = cosine_lr(t.lr, step, t.warmup_steps, t.steps, t.min_lr_ratio);
        opt.step(&tensors, lr);
        for p in &tensors {
            let mut p = p.shallow_clone();
            p.zero_grad();
        }
        let secs = step_start.elapsed().as_secs_f64();
        state.step += 1;
        state.position = sampler.position;
        state.tokens_seen += tokens as u64;
        state.train_seconds = seconds_before + run_start.elapsed().as_secs_f64();
        let tps = tokens as f64 / secs.max(1e-9);
        for (name, value) in [
            ("train_loss", loss_total),
            ("learning_rate", lr),
            ("grad_norm", grad_norm),
            ("tokens_per_second", tps),
            ("seconds_per_step", secs),
            ("tokens", tokens as f64),
        ] {
            metrics.push(metric(&settings.run_id, state.step, name, value));
        }
        let last_step = state.step == t.steps;
        if val.is_some() && ((t.eval_every > 0 && state.step % t.eval_every == 0) || last_step) {
            if let Some((val_ex, _)) = &val {
                let v = evaluate(&model, val_ex, t.batch_size, t.eval_batches);
                metrics.push(metric(&settings.run_id, state.step, "val_loss", v));
            }
        }
        bar.set_message(format!("loss {loss_total:.4} lr {lr:.2e} tok/s {tps:.0}"));
        bar.inc(1);
        let stopping = options.stop_after == Some(state.step);
        if (t.checkpoint_every > 0 && state.step % t.checkpoint_every == 0) || last_step || stopping
        {
            checkpoint::save(&ckpt_path, &state, &named, &opt.m, &opt.v)?;
            write_artifact(&metrics_path, &metrics)?;
        }
        if stopping && !last_step {
            bar.abandon();
            return Ok(summary(&run_dir, &state, &metrics, false));
        }
    }
    bar.finish();

    // Outputs.
    let base_name = settings
        .model
        .base_model_name
        .clone()
        .or_else(|| {
            settings
                .model
                .gguf
                .as_ref()
                .or(settings.model.hf_dir.as_ref())
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| {
            format!(
                "random:{}",
                settings.model.random.as_deref().unwrap_or("tiny")
            )
        });
    export::write_peft(&run_dir, &model, &settings.lora, &base_name)?;
    let gguf_bytes =
        export::gguf_adapter_bytes(&model, &settings.lora, &architecture, &settings.run_id)?;
    artifacts::write_atomic(run_dir.join("adapter.gguf"), &gguf_bytes)?;
    if settings.export.merged {
        // A random base takes its vocabulary from `tokenizer_gguf`; an HF base has no GGUF to
        // copy llama.cpp's tokenizer metadata from, so it gets the HF directory only.
        let tokenizer_gguf = match (&settings.model.gguf, &settings.model.hf_dir) {
            (Some(p), _) => Some(p.as_path()),
            (None, None) => settings.model.tokenizer_gguf.as_deref(),
            (None, Some(_)) => None,
        };
        export::write_merged(
            &run_dir,
            &model,
            &tokenization.tokenizer,
            &tokenization.template,
            tokenizer_gguf,
            &settings.run_id,
        )?;
    }
    write_artifact(&metrics_path, &metrics)?;
    report::plot_loss(&run_dir.join("loss.png"), &metrics)?;
    let summary = summary(&run_dir, &state, &metrics, true);
    let trainable: i64 = tensors.iter().map(|p| p.numel() as i64).sum();
    let hyper = Hyperparams {
        settings,
        model_config: model.config(),
        base_model_sha256: &base_hash,
        train_data_sha256: train_hash,
        val_data_sha256: val_hash,
        code_version: code_version(),
        tch_version: "0.24.0 (libtorch 2.11)",
        device: format!("{device:?}"),
        compute_dtype: format!("{compute_kind:?}"),
        trainable_parameters: trainable,
        base_parameters: model.config().parameter_count(),
        base_projection_bytes: model.base_projection_bytes(),
        train_rows: (&train_stats).into(),
        val_rows: val.as_ref().map(|(_, s)| s.into()),
    };
    let json = serde_json::to_vec_pretty(&hyper).expect("hyperparameters serialize");
    artifacts::write_atomic(run_dir.join("hyperparams.json"), &json)?;
    let md = report_markdown(settings, &summary, &hyper, &metrics, device);
    artifacts::write_atomic(run_dir.join("report.md"), md.as_bytes())?;
    Ok(summary)
}

fn summary(
    run_dir: &Path,
    state: &CheckpointState,
    metrics: &[RunMetric],
    complete: bool,
) -> RunSummary {
    let train = series(metrics, "train_loss");
    RunSummary {
        run_dir: run_dir.to_path_buf(),
        steps: state.step,
        first_loss: train.first().map_or(f64::NAN, |p| p.1),
        last_loss: train.last().map_or(f64::NAN, |p| p.1),
        val_loss: series(metrics, "val_loss").last().map(|p| p.1),
        tokens_per_second: state.tokens_seen as f64 / state.train_seconds.max(1e-9),
        seconds_per_step: state.train_seconds / state.step.max(1) as f64,
        peak_rss_bytes: report::peak_rss_bytes(),
        complete,
    }
}

fn report_markdown(
    settings: &TrainSettings,
    s: &RunSummary,
    h: &Hyperparams<'_>,
    metrics: &[RunMetric],
    device: Device,
) -> String {
    let hours = s.seconds_per_step * s.steps as f64 / 3600.0;
    let mut md = format!(
        "# Training run `{id}`\n\n\
         Base model: `{base}` (sha256 `{bh}`), {quant}, LoRA r={r} alpha={alpha} dropout={dropout} on {targets}.\n\
         Device: {device:?}, compute dtype {dtype}. Code version {code}.\n\n\
         | figure | value |\n|---|---|\n\
         | optimizer steps | {steps} |\n\
         | first / last training loss | {first:.4} / {last:.4} |\n\
         | last validation loss | {val} |\n\
         | tokens per second (non-pad, whole run) | {tps:.1} |\n\
         | seconds per step | {sps:.3} |\n\
         | peak resident memory | {rss} |\n\
         | trainable parameters | {trainable} |\n\
         | frozen projection storage | {base_mb:.1} MB |\n\
         | wall time | {mins:.2} min |\n\
         | estimated cost at ${price}/GPU-hour | ${cost:.4} |\n\n\
         ![loss curve](loss.png)\n\n\
         `loss.png`: x is the optimizer step (0 to {steps}), y the loss (range of the values below); \
         blue is the training loss per step, red dots the validation loss.\n\n\
         | step | train loss | val loss | lr |\n|---|---|---|---|\n",
        id = settings.run_id,
        base = h
            .settings
            .model
            .gguf
            .as_ref()
            .or(h.settings.model.hf_dir.as_ref())
            .map_or_else(|| "random".to_owned(), |p| p.display().to_string()),
        bh = h.base_model_sha256,
        quant = if settings.quant.enabled {
            if settings.quant.double_quant {
                "NF4 base with double quantization (QLoRA)"
            } else {
                "NF4 base (QLoRA)"
            }
        } else {
            "dense base (plain LoRA)"
        },
        r = settings.lora.r,
        alpha = settings.lora.alpha,
        dropout = settings.lora.dropout,
        targets = settings.lora.target_modules.join(", "),
        dtype = h.compute_dtype,
        code = h.code_version,
        steps = s.steps,
        first = s.first_loss,
        last = s.last_loss,
        val = s
            .val_loss
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.4}")),
        tps = s.tokens_per_second,
        sps = s.seconds_per_step,
        rss = s.peak_rss_bytes.map_or_else(
            || "unknown".to_owned(),
            |b| format!("{:.0} MB", b as f64 / 1e6)
        ),
        trainable = h.trainable_parameters,
        base_mb = h.base_projection_bytes as f64 / 1e6,
        mins = hours * 60.0,
        price = settings.report.usd_per_gpu_hour,
        cost = hours * settings.report.usd_per_gpu_hour,
    );
    let train = series(metrics, "train_loss");
    let val = series(metrics, "val_loss");
    let lr = series(metrics, "learning_rate");
    let every = (train.len() / 20).max(1);
    for (i, (step, loss)) in train.iter().enumerate() {
        let v = val.iter().find(|p| p.0 == *step).map(|p| p.1);
        if i % every == 0 || v.is_some() || i + 1 == train.len() {
            let l = lr.iter().find(|p| p.0 == *step).map_or(f64::NAN, |p| p.1);
            md.push_str(&format!(
                "| {step} | {loss:.4} | {} | {l:.2e} |\n",
                v.map_or_else(|| "".to_owned(), |v| format!("{v:.4}"))
            ));
        }
    }
    md
}
