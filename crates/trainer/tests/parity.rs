//! Parity with llama.cpp: the `tch` decoder built from the SmolLM2 GGUF (Q4_1 projections and
//! Q8_0 embedding dequantized, Q/K rows un-permuted to HF's rotary layout) predicts the same
//! next token as llama.cpp itself on 24 prompts, with close logits. This is what proves the
//! dequantizers, the permutation, RoPE, GQA and the norms together.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

mod common;

use std::num::NonZeroU32;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel as CppModel;
use llama_cpp_2::model::params::LlamaModelParams;
use tch::{Device, Kind, Tensor};
use trainer::model::{BuildOptions, LlamaModel};
use trainer::weights::GgufWeights;

const PROMPTS: [&str; 24] = [
    "The capital of France is",
    "A p-value is the probability of",
    "In an A/B test, the control group",
    "<|im_start|>user\nWhat is statistical power?<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    if n <",
    "The quick brown fox jumps over the",
    "Confidence intervals are",
    "1, 2, 3, 4, 5,",
    "Water boils at a temperature of",
    "The sample size needed for a test depends on",
    "Once upon a time, there was a",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "The Bonferroni correction divides",
    "import numpy as np\nx = np.",
    "Monday, Tuesday, Wednesday,",
    "The opposite of hot is",
    "Sequential testing lets an analyst",
    "Paris, London, Berlin and",
    "A randomized controlled experiment",
    "The mitochondria is the",
    "Variance reduction with CUPED uses",
    "SELECT * FROM users WHERE",
    "The standard error of the mean is",
    "Shakespeare wrote",
];

#[test]
fn tch_model_from_gguf_matches_llama_cpp_next_token() {
    let path = common::smollm2();
    tch::set_num_threads(2);
    let mut source = GgufWeights::open(&path).unwrap();
    let opts = BuildOptions {
        quantize: false,
        double_quant: false,
        lora: None,
        device: Device::Cpu,
        compute_kind: Kind::Float,
    };
    let model = LlamaModel::build(&mut source, &opts).unwrap();
    let c = model.config().clone();
    assert_eq!(
        (
            c.num_layers,
            c.hidden_size,
            c.num_heads,
            c.num_kv_heads,
            c.vocab_size
        ),
        (30, 576, 9, 3, 49152)
    );
    assert!(c.tie_word_embeddings);

    let backend = LlamaBackend::init().unwrap();
    let cpp = CppModel::load_from_file(&backend, &path, &LlamaModelParams::default()).unwrap();
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(256))
        .with_n_threads(2)
        .with_n_threads_batch(2);
    let mut ctx = cpp.new_context(&backend, params).unwrap();

    let mut agree = 0;
    let mut worst_rel = 0f64;
    for prompt in PROMPTS {
        let tokens = cpp.vocab().tokenize(prompt.as_bytes(), false, true);
        assert!(tokens.len() >= 3, "{prompt:?}");
        ctx.clear_kv_cache();
        let mut batch = LlamaBatch::new(256, 1);
        for (i, t) in tokens.iter().enumerate() {
            batch
                .add(*t, i as i32, &[0], i + 1 == tokens.len())
                .unwrap();
        }
        ctx.decode(&mut batch).unwrap();
        let cpp_logits: Vec<f32> = ctx.get_logits_ith(tokens.len() as i32 - 1).to_vec();

        let ids: Vec<i64> = tokens.iter().map(|t| i64::from(t.0)).collect();
        let ids = Tensor::from_slice(&ids).view([1, -1]);
        let ours = tch::no_grad(|| {
            let h = model.hidden_states(&ids, None, None, false);
            model.logits(&h.select(1, -1)).squeeze_dim(0)
        });
        let ours: Vec<f32> = Vec::try_from(ours).unwrap();
        let argmax = |v: &[f32]| {
            v.iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
                .0
        };
        let (a, b) = (argmax(&ours), argmax(&cpp_logits));
        if a == b {
            agree += 1;
        }
        // Closeness relative to the logits' spread: llama.cpp quantizes activations to 8 bits in
        // its Q4_1 dot products, so the values differ slightly, never in shape.
        let spread = cpp_logits.iter().fold(f32::MIN, |m, &x| m.max(x))
            - cpp_logits.iter().fold(f32::MAX, |m, &x| m.min(x));
        let max_diff = ours
            .iter()
            .zip(&cpp_logits)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        let rel = f64::from(max_diff / spread);
        worst_rel = worst_rel.max(rel);
        eprintln!(
            "{prompt:?}: top-1 ours {a} llama.cpp {b}, max |Δlogit| {max_diff:.3} of spread {spread:.1}"
        );
    }
    assert!(
        agree >= 23,
        "top-1 agreed on {agree} of {} prompts",
        PROMPTS.len()
    );
    assert!(
        worst_rel < 0.05,
        "logits differ by up to {worst_rel:.3} of their spread"
    );
}
