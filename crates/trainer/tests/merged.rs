//! The merged model export (`export.merged`): `W' = W + (alpha/r)·B·A` written as an HF
//! directory and as an f32 GGUF. The HF directory and the GGUF load back through this crate's own
//! loaders to the logits of the adapted model; llama.cpp serving the merged SmolLM2 GGUF gives
//! the same next tokens as llama.cpp serving the Q4_1 base with the GGUF LoRA adapter at scale 1;
//! and a training run with `export.merged = true` writes a directory the trainer can train from.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

mod common;

use std::num::NonZeroU32;
use std::path::Path;

use gguf::{ChatTemplate, GgufFile, GgufTokenizer};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel as CppModel;
use llama_cpp_2::model::params::LlamaModelParams;
use tch::{Device, Kind, Tensor};
use trainer::config::Llama3RopeScaling;
use trainer::export;
use trainer::lora::LoraSettings;
use trainer::model::{BuildOptions, LlamaModel, RandomWeights};
use trainer::weights::{GgufWeights, SafetensorsWeights};
use trainer::{ModelConfig, RunOptions};

fn build(source: &mut dyn trainer::WeightSource, lora: Option<LoraSettings>) -> LlamaModel {
    LlamaModel::build(
        source,
        &BuildOptions {
            quantize: false,
            double_quant: false,
            lora,
            device: Device::Cpu,
            compute_kind: Kind::Float,
        },
    )
    .unwrap()
}

/// Gives every `lora_B` random values (it starts at zero), so the adapters change the model.
fn randomize_adapters(model: &LlamaModel, std: f64) {
    tch::no_grad(|| {
        for p in model.lora_parameters() {
            if p.name.contains("lora_B") {
                let mut t = p.tensor.shallow_clone();
                t.copy_(&(Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * std));
            }
        }
    });
}

fn lora(r: i64) -> LoraSettings {
    LoraSettings {
        r,
        alpha: 2.0 * r as f64,
        dropout: 0.0,
        ..LoraSettings::default()
    }
}

fn logits(model: &LlamaModel, ids: &Tensor) -> Tensor {
    tch::no_grad(|| model.logits(&model.hidden_states(ids, None, None, false)))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn tokenization(gguf: &Path) -> (GgufTokenizer, ChatTemplate) {
    let file = GgufFile::open(gguf).unwrap();
    (
        GgufTokenizer::from_gguf(&file).unwrap(),
        ChatTemplate::from_gguf(&file).unwrap(),
    )
}

#[test]
fn merged_tiny_model_loads_back_from_safetensors_and_gguf_with_the_adapted_logits() {
    let _rng = common::torch_rng_lock();
    tch::manual_seed(21);
    // Llama 3 rope scaling exercises the `rope_freqs.weight` the GGUF side writes; GQA (4/2)
    // exercises the separate Q and K row permutations.
    let config = ModelConfig {
        rope_scaling: Some(Llama3RopeScaling {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 64.0,
        }),
        rope_theta: 500_000.0,
        ..ModelConfig::tiny(49152)
    };
    let adapted = build(&mut RandomWeights::new(config.clone()), Some(lora(4)));
    randomize_adapters(&adapted, 0.2);
    let ids = Tensor::randint(49152, [2, 24], (Kind::Int64, Device::Cpu));
    let want = logits(&adapted, &ids);

    let dir = tempfile::tempdir().unwrap();
    let smollm2 = common::smollm2();
    let (tokenizer, template) = tokenization(&smollm2);
    let paths = export::write_merged(
        dir.path(),
        &adapted,
        &tokenizer,
        &template,
        Some(&smollm2),
        "tiny-merged",
    )
    .unwrap();
    assert_eq!(paths.hf_dir, dir.path().join("merged"));
    let gguf_path = paths.gguf.unwrap();

    let mut hf = SafetensorsWeights::open(&paths.hf_dir).unwrap();
    assert_eq!(trainer::WeightSource::config(&hf), &config);
    let from_hf = build(&mut hf, None);
    let d = max_abs_diff(&logits(&from_hf, &ids), &want);
    assert!(d < 1e-4, "HF merged logits differ by {d}");

    let mut gg = GgufWeights::open(&gguf_path).unwrap();
    let file = gg.file();
    assert_eq!(file.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(
        file.get_str("tokenizer.chat_template").unwrap(),
        template.source()
    );
    assert_eq!(
        file.get_string_array("tokenizer.ggml.tokens")
            .unwrap()
            .len(),
        49152
    );
    assert!(file.tensor("rope_freqs.weight").is_some());
    let from_gguf = build(&mut gg, None);
    let d = max_abs_diff(&logits(&from_gguf, &ids), &want);
    assert!(d < 1e-4, "GGUF merged logits differ by {d}");

    // The merge is not the identity: the base alone gives other logits.
    tch::manual_seed(21);
    let base = build(&mut RandomWeights::new(config), None);
    let d = max_abs_diff(&logits(&base, &ids), &want);
    assert!(d > 0.05, "the adapters barely change the logits ({d})");
}

#[test]
fn training_with_export_merged_writes_a_trainable_hf_directory_and_a_gguf() {
    let _rng = common::torch_rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::tiny_settings(dir.path(), "merged", 2);
    settings.export.merged = true;
    settings.train.eval_every = 0;
    let summary = trainer::run(&settings, &RunOptions::default()).unwrap();
    assert!(summary.complete);
    let run = dir.path().join("merged");
    for f in [
        "merged/model.safetensors",
        "merged/config.json",
        "merged/tokenizer.json",
        "merged/tokenizer_config.json",
        "merged.gguf",
    ] {
        assert!(run.join(f).metadata().unwrap().len() > 0, "{f} is missing");
    }
    // Everything `model.hf_dir` needs is there and parses.
    let hf = run.join("merged");
    let tokenizer = GgufTokenizer::from_tokenizer_json(hf.join("tokenizer.json")).unwrap();
    assert_eq!(tokenizer.tokenizer().get_vocab_size(true), 49152);
    let template = ChatTemplate::from_tokenizer_config(hf.join("tokenizer_config.json")).unwrap();
    let (_, original) = tokenization(&common::smollm2());
    assert_eq!(template.source(), original.source());
    assert_eq!(template.bos_token(), original.bos_token());
    assert_eq!(template.eos_token(), original.eos_token());
    assert!(!template.eos_token().is_empty());
    let from_hf = build(&mut SafetensorsWeights::open(&hf).unwrap(), None);
    let from_gguf = build(
        &mut GgufWeights::open(&run.join("merged.gguf")).unwrap(),
        None,
    );
    let ids = Tensor::from_slice(&[1i64, 200, 3000, 45, 9, 17, 2048, 5]).view([1, 8]);
    let d = max_abs_diff(&logits(&from_hf, &ids), &logits(&from_gguf, &ids));
    assert!(d < 1e-4, "the two merged files disagree by {d}");
}

const PROMPTS: [&str; 8] = [
    "The capital of France is",
    "A p-value is the probability of",
    "<|im_start|>user\nWhat is statistical power?<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    if n <",
    "Monday, Tuesday, Wednesday,",
    "The sample size needed for a test depends on",
    "SELECT * FROM users WHERE",
    "Variance reduction with CUPED uses",
];

/// llama.cpp's logits at every position of `tokens`, one row per position.
fn cpp_logits(
    ctx: &mut LlamaContext<'_>,
    tokens: &[llama_cpp_2::token::LlamaToken],
) -> Vec<Vec<f32>> {
    ctx.clear_kv_cache();
    let mut batch = LlamaBatch::new(256, 1);
    for (i, t) in tokens.iter().enumerate() {
        batch.add(*t, i as i32, &[0], true).unwrap();
    }
    ctx.decode(&mut batch).unwrap();
    (0..tokens.len())
        .map(|i| ctx.get_logits_ith(i as i32).to_vec())
        .collect()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
        .0
}

/// Largest |a - b| relative to the spread of `b`.
fn relative_diff(a: &[f32], b: &[f32]) -> f32 {
    let spread =
        b.iter().fold(f32::MIN, |m, &x| m.max(x)) - b.iter().fold(f32::MAX, |m, &x| m.min(x));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
        / spread
}

#[test]
fn merged_smollm2_gguf_in_llama_cpp_predicts_like_the_base_with_the_adapter() {
    let _rng = common::torch_rng_lock();
    tch::set_num_threads(2);
    tch::manual_seed(5);
    let base_path = common::smollm2();
    let settings = lora(8);
    let mut source = GgufWeights::open(&base_path).unwrap();
    let model = build(&mut source, Some(settings.clone()));
    drop(source);
    randomize_adapters(&model, 0.05);

    let dir = tempfile::tempdir().unwrap();
    let adapter_path = dir.path().join("adapter.gguf");
    std::fs::write(
        &adapter_path,
        export::gguf_adapter_bytes(&model, &settings, "llama", "random-adapter").unwrap(),
    )
    .unwrap();
    let (tokenizer, template) = tokenization(&base_path);
    let merged_path = export::write_merged(
        dir.path(),
        &model,
        &tokenizer,
        &template,
        Some(&base_path),
        "smollm2-merged",
    )
    .unwrap()
    .gguf
    .unwrap();

    let backend = LlamaBackend::init().unwrap();
    let params = || {
        LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(256))
            .with_n_batch(256)
            .with_n_threads(2)
            .with_n_threads_batch(2)
    };
    let mut base =
        CppModel::load_from_file(&backend, &base_path, &LlamaModelParams::default()).unwrap();
    let mut adapter = base.lora_adapter_init(&adapter_path).unwrap();
    let merged =
        CppModel::load_from_file(&backend, &merged_path, &LlamaModelParams::default()).unwrap();
    let mut plain_ctx = base.new_context(&backend, params()).unwrap();
    let mut adapted_ctx = base.new_context(&backend, params()).unwrap();
    adapted_ctx.lora_adapter_set(&mut adapter, 1.0).unwrap();
    let mut merged_ctx = merged.new_context(&backend, params()).unwrap();

    let (mut positions, mut agree, mut agree_tch, mut changed_by_adapter) = (0, 0, 0, 0);
    let (mut worst_merged, mut worst_tch, mut effect) = (0f32, 0f32, 0f32);
    for prompt in PROMPTS {
        let tokens = base.vocab().tokenize(prompt.as_bytes(), false, true);
        assert_eq!(
            tokens,
            merged.vocab().tokenize(prompt.as_bytes(), false, true),
            "the merged GGUF tokenizes differently"
        );
        let plain = cpp_logits(&mut plain_ctx, &tokens);
        let adapted = cpp_logits(&mut adapted_ctx, &tokens);
        let merged_rows = cpp_logits(&mut merged_ctx, &tokens);
        let ids: Vec<i64> = tokens.iter().map(|t| i64::from(t.0)).collect();
        let ours = logits(&model, &Tensor::from_slice(&ids).view([1, -1])).squeeze_dim(0);
        for i in 0..tokens.len() {
            positions += 1;
            let (a, m) = (argmax(&adapted[i]), argmax(&merged_rows[i]));
            let row: Vec<f32> = Vec::try_from(ours.get(i as i64)).unwrap();
            agree += usize::from(a == m);
            agree_tch += usize::from(argmax(&row) == m);
            changed_by_adapter += usize::from(argmax(&plain[i]) != a);
            effect = effect.max(relative_diff(&adapted[i], &plain[i]));
            worst_merged = worst_merged.max(relative_diff(&merged_rows[i], &adapted[i]));
            worst_tch = worst_tch.max(relative_diff(&row, &merged_rows[i]));
        }
        // The next token after the whole prompt, as a served completion would start.
        let last = tokens.len() - 1;
        assert_eq!(
            argmax(&adapted[last]),
            argmax(&merged_rows[last]),
            "{prompt:?}: merged and base + adapter disagree on the next token"
        );
    }
    eprintln!(
        "top-1 agreement with base + adapter {agree}/{positions}, with tch {agree_tch}/{positions}; \
         adapter changed {changed_by_adapter} top-1 tokens and logits by up to {effect:.3}; worst |Δ| merged vs base + adapter {worst_merged:.4}, \
         merged vs tch {worst_tch:.4} of the spread"
    );
    // The merged f32 weights in llama.cpp reproduce the exact f32 math of base + adapter (the
    // tch model) closely: only summation order differs.
    assert!(
        worst_tch < 0.005,
        "llama.cpp's merged logits differ from the tch model's by {worst_tch} of their spread"
    );
    assert!(
        agree_tch * 100 >= positions * 98,
        "merged and tch top-1 agreed at {agree_tch} of {positions} positions"
    );
    // Served base + adapter runs the Q4_1 base through llama.cpp's Q4_1 x Q8_1 kernel, which
    // quantizes activations to 8 bits (the noise the parity test bounds at 5% of the spread for
    // the base alone), so near-tied positions may flip; the next token after each prompt may not.
    assert!(
        agree * 100 >= positions * 90,
        "top-1 agreed at {agree} of {positions} positions"
    );
    assert!(
        worst_merged < 0.08,
        "merged logits differ from base + adapter by {worst_merged} of their spread"
    );
    // The comparisons have teeth: the adapter moves the logits by far more than the tolerances
    // and changes the top-1 token at many positions.
    assert!(
        effect > 0.1,
        "the random adapter moved the logits by only {effect} of their spread"
    );
    assert!(
        changed_by_adapter * 10 >= positions,
        "the random adapter changed only {changed_by_adapter} of {positions} top-1 tokens"
    );
}
