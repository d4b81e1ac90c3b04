//! Training-step speed: seconds per optimizer step, tokens per second and peak memory for LoRA
//! or QLoRA on a GGUF model (the CPU benchmark) or a randomly initialised Llama-3.2-3B-shaped
//! model (the GPU check), on fixed-length random token batches with loss on every position.
//!
//! ```text
//! eval "$(cargo xtask env)"
//! cargo run -p trainer --example speed -- --gguf ~/.cache/lift/.../SmolLM2-135M-Instruct.Q4_1.gguf \
//!     --seq 256 --batch 1 --steps 5 --threads 1 [--no-quant] [--checkpointing]
//! cargo run --release -p trainer --features cuda --example speed -- --random llama-3.2-3b \
//!     --seq 1024 --batch 4 --steps 50
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tch::{Kind, Tensor};
use trainer::ModelConfig;
use trainer::lora::LoraSettings;
use trainer::model::{BuildOptions, LlamaModel, RandomWeights, WeightSource};
use trainer::optim::{AdamW, AdamWSettings, clip_grad_norm};
use trainer::weights::GgufWeights;

fn main() -> anyhow::Result<()> {
    let mut gguf: Option<PathBuf> = None;
    let mut random: Option<String> = None;
    let (mut seq, mut batch, mut steps, mut threads, mut quant, mut warmup) =
        (256i64, 1i64, 5usize, 0i32, true, 1usize);
    let mut checkpointing = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--gguf" => gguf = Some(PathBuf::from(val()?)),
            "--random" => random = Some(val()?),
            "--seq" => seq = val()?.parse()?,
            "--batch" => batch = val()?.parse()?,
            "--steps" => steps = val()?.parse()?,
            "--warmup" => warmup = val()?.parse()?,
            "--threads" => threads = val()?.parse()?,
            "--no-quant" => quant = false,
            "--checkpointing" => checkpointing = true,
            other => anyhow::bail!("unknown argument {other}; see the file's doc comment"),
        }
    }
    if threads > 0 {
        tch::set_num_threads(threads);
    }
    let device = trainer::train::pick_device(true);
    let kind = if device.is_cuda() {
        Kind::BFloat16
    } else {
        Kind::Float
    };
    tch::manual_seed(0);
    let mut source: Box<dyn WeightSource> = match (&gguf, random.as_deref()) {
        (Some(p), _) => Box::new(GgufWeights::open(p)?),
        (None, Some("llama-3.2-3b")) => Box::new(RandomWeights::new(ModelConfig::llama32_3b())),
        (None, Some("tiny")) => Box::new(RandomWeights::new(ModelConfig::tiny(49152))),
        _ => anyhow::bail!("pass --gguf PATH or --random llama-3.2-3b|tiny"),
    };
    let lora = LoraSettings {
        r: 16,
        alpha: 32.0,
        dropout: 0.05,
        ..LoraSettings::default()
    };
    let load = Instant::now();
    let model = LlamaModel::build(
        source.as_mut(),
        &BuildOptions {
            quantize: quant,
            double_quant: true,
            lora: Some(lora),
            device,
            compute_kind: kind,
        },
    )?;
    drop(source);
    let load_s = load.elapsed().as_secs_f64();
    let params = model.lora_parameters();
    let named: Vec<(String, &Tensor)> = params.iter().map(|p| (p.name.clone(), p.tensor)).collect();
    let tensors: Vec<&Tensor> = params.iter().map(|p| p.tensor).collect();
    let mut opt = AdamW::new(
        AdamWSettings {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
        &named,
    );
    let vocab = model.config().vocab_size;
    let load_peak_mb = trainer::report::peak_rss_bytes().map_or(0.0, |b| b as f64 / 1e6);
    // Linux resets the peak-RSS mark (VmHWM) on "5" written to clear_refs, so the peak read
    // after the loop is the training steps' own, not the loader's.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let mut times = Vec::new();
    for step in 0..(warmup + steps) {
        let ids = Tensor::randint(vocab, [batch, seq + 1], (Kind::Int64, device));
        let input = ids.narrow(1, 0, seq);
        let labels = ids.narrow(1, 1, seq);
        let t0 = Instant::now();
        if checkpointing {
            let scale = 1.0 / labels.numel() as f64;
            model.backward_checkpointed(&input, &labels, None, None, true, scale);
        } else {
            let (loss, n) = model.loss_sum(&input, &labels, None, None, true);
            (loss / n as f64).backward();
        }
        clip_grad_norm(&tensors, 1.0);
        opt.step(&tensors, 1e-4);
        for p in &tensors {
            let mut p = p.shallow_clone();
            p.zero_grad();
        }
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        if step >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let tokens = (batch * seq) as f64;
    let rss = trainer::report::peak_rss_bytes().map_or(0.0, |b| b as f64 / 1e6);
    println!(
        "{{\"device\":\"{device:?}\",\"quant\":{quant},\"checkpointing\":{checkpointing},\"threads\":{},\"seq\":{seq},\"batch\":{batch},\"steps\":{},\"load_seconds\":{load_s:.2},\"seconds_per_step\":{mean:.4},\"tokens_per_second\":{:.1},\"peak_rss_mb\":{rss:.0},\"load_peak_rss_mb\":{load_peak_mb:.0},\"peak_is_training_only\":{hwm_reset},\"base_projection_mb\":{:.1}}}",
        tch::get_num_threads(),
        times.len(),
        tokens / mean,
        model.base_projection_bytes() as f64 / 1e6
    );
    Ok(())
}
