//! The tiny random model (2 layers, d=64, the SmolLM2 vocabulary) trained with QLoRA on the
//! real fixture dataset: the loss falls, only the adapters learn, the outputs are complete and
//! in PEFT layout, and a killed-and-resumed run equals an uninterrupted one.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

mod common;

use artifacts::{RunMetric, read_artifact};
use tch::{Device, Kind, Tensor};
use trainer::model::{BuildOptions, LlamaModel, RandomWeights};
use trainer::nf4::{Nf4Tensor, max_relative_error};
use trainer::{ModelConfig, RunOptions};

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn tiny_qlora_run_lowers_the_loss_and_writes_every_output() {
    let _rng = common::torch_rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let settings = common::tiny_settings(dir.path(), "tiny", 200);
    let summary = trainer::run(&settings, &RunOptions::default()).unwrap();
    assert!(summary.complete);
    let run = dir.path().join("tiny");
    let metrics: Vec<RunMetric> = read_artifact(run.join("metrics.parquet")).unwrap();
    let train: Vec<f64> = trainer::report::series(&metrics, "train_loss")
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(train.len(), 200);
    let start = mean(&train[..10]);
    let end = mean(&train[190..]);
    // A random base starts at or above ln(49152) = 10.8; the adapters alone must take it well
    // below its start.
    assert!(start > 9.5, "start {start}");
    assert!(end < start - 2.5, "loss went from {start} to {end}");
    let val = trainer::report::series(&metrics, "val_loss");
    assert_eq!(
        val.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![50, 100, 150, 200]
    );
    assert!(
        val[3].1 < val[0].1 + 0.5 && val[3].1 < start - 1.5,
        "{val:?}"
    );

    for f in [
        "adapter_model.safetensors",
        "adapter_config.json",
        "adapter.gguf",
        "hyperparams.json",
        "report.md",
        "loss.png",
        "checkpoint.safetensors",
    ] {
        assert!(
            run.join(f).metadata().unwrap().len() > 0,
            "{f} is missing or empty"
        );
    }
    let png = std::fs::read(run.join("loss.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let hyper: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("hyperparams.json")).unwrap()).unwrap();
    assert_eq!(hyper["train_data_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(hyper["settings"]["lora"]["r"], 8);
    assert!(
        hyper["code_version"]
            .as_str()
            .unwrap()
            .starts_with(env!("CARGO_PKG_VERSION"))
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("tokens per second")
            && report.contains("peak resident memory")
            && report.contains("GPU-hour")
    );

    // PEFT layout: every layer and target module, A is r × in and B is out × r.
    let bytes = std::fs::read(run.join("adapter_model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let c = ModelConfig::tiny(49152);
    let shapes = [
        ("self_attn.q_proj", c.hidden_size, c.num_heads * c.head_dim),
        (
            "self_attn.k_proj",
            c.hidden_size,
            c.num_kv_heads * c.head_dim,
        ),
        (
            "self_attn.v_proj",
            c.hidden_size,
            c.num_kv_heads * c.head_dim,
        ),
        ("self_attn.o_proj", c.num_heads * c.head_dim, c.hidden_size),
        ("mlp.gate_proj", c.hidden_size, c.intermediate_size),
        ("mlp.up_proj", c.hidden_size, c.intermediate_size),
        ("mlp.down_proj", c.intermediate_size, c.hidden_size),
    ];
    assert_eq!(st.len(), 2 * 7 * 2);
    for layer in 0..2 {
        for (m, inp, out) in shapes {
            let a = st
                .tensor(&format!(
                    "base_model.model.model.layers.{layer}.{m}.lora_A.weight"
                ))
                .unwrap();
            let b = st
                .tensor(&format!(
                    "base_model.model.model.layers.{layer}.{m}.lora_B.weight"
                ))
                .unwrap();
            assert_eq!(a.shape(), [8, inp as usize]);
            assert_eq!(b.shape(), [out as usize, 8]);
        }
    }
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["task_type"], "CAUSAL_LM");
    assert_eq!(cfg["lora_alpha"], 16.0);
    assert_eq!(cfg["target_modules"].as_array().unwrap().len(), 7);

    // The GGUF adapter carries llama.cpp's keys and tensor layout.
    let g = gguf::GgufFile::open(run.join("adapter.gguf")).unwrap();
    assert_eq!(g.get_str("general.type").unwrap(), "adapter");
    assert_eq!(g.get_str("adapter.type").unwrap(), "lora");
    assert_eq!(g.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(g.get_f64("adapter.lora.alpha").unwrap(), 16.0);
    assert_eq!(
        g.tensor("blk.1.ffn_down.weight.lora_a").unwrap().shape,
        vec![128, 8]
    );
    assert_eq!(
        g.tensor("blk.1.ffn_down.weight.lora_b").unwrap().shape,
        vec![8, 64]
    );

    // A second run with the same id refuses to overwrite the checkpoint.
    let err = trainer::run(&settings, &RunOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
}

#[test]
fn killed_and_resumed_run_matches_an_uninterrupted_one() {
    let _rng = common::torch_rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let mut whole = common::tiny_settings(dir.path(), "whole", 10);
    whole.train.checkpoint_every = 5;
    whole.train.eval_every = 0;
    trainer::run(&whole, &RunOptions::default()).unwrap();

    let mut split = whole.clone();
    split.run_id = "split".into();
    let first = trainer::run(
        &split,
        &RunOptions {
            stop_after: Some(5),
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert!(!first.complete && first.steps == 5);
    assert!(!dir.path().join("split/adapter_model.safetensors").exists());
    let second = trainer::run(
        &split,
        &RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert!(second.complete && second.steps == 10);

    let a = std::fs::read(dir.path().join("whole/adapter_model.safetensors")).unwrap();
    let b = std::fs::read(dir.path().join("split/adapter_model.safetensors")).unwrap();
    let (a, b) = (
        safetensors::SafeTensors::deserialize(&a).unwrap(),
        safetensors::SafeTensors::deserialize(&b).unwrap(),
    );
    let mut worst = 0f32;
    for (name, ta) in a.tensors() {
        let tb = b.tensor(&name).unwrap();
        let fa: Vec<f32> = ta
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let fb: Vec<f32> = tb
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        worst = fa
            .iter()
            .zip(&fb)
            .map(|(x, y)| (x - y).abs())
            .fold(worst, f32::max);
    }
    assert!(worst < 1e-5, "adapters differ by up to {worst}");
    // The trained B matrices moved away from zero, so the comparison is not between two inits.
    let b0 = a
        .tensor("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")
        .unwrap();
    assert!(
        b0.data()
            .chunks_exact(4)
            .any(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).abs() > 1e-4)
    );
    // The resumed run's metrics continue the first half's: 10 steps, no duplicates.
    let m: Vec<RunMetric> = read_artifact(dir.path().join("split/metrics.parquet")).unwrap();
    let steps: Vec<i64> = trainer::report::series(&m, "train_loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(steps, (1..=10).collect::<Vec<_>>());

    // Resuming with changed settings is refused.
    let mut changed = split.clone();
    changed.train.lr = 5e-3;
    let err = trainer::run(
        &changed,
        &RunOptions {
            resume: true,
            ..RunOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn nf4_error_is_within_the_block_bound() {
    let _rng = common::torch_rng_lock();
    tch::manual_seed(11);
    let w = Tensor::randn([576, 1536], (Kind::Float, Device::Cpu)) * 0.05;
    for double in [false, true] {
        let q = Nf4Tensor::quantize(&w, double);
        let d = q.dequantize(Kind::Float);
        // Per block, no value may move by more than half the widest level gap times its absmax.
        let blocks = w.view([-1, 64]);
        let absmax = blocks.abs().amax([1], true);
        let err = (d.view([-1, 64]) - &blocks).abs();
        // Double quantization adds the int8 rounding of the absmax itself: at most half a step of
        // (largest deviation from the mean absmax) / 127, times the largest level (1.0).
        let absmax_err = if double {
            (&absmax - absmax.mean(Kind::Float))
                .abs()
                .max()
                .double_value(&[])
                / 254.0
        } else {
            0.0
        };
        let excess = (err - absmax * f64::from(max_relative_error()) - absmax_err)
            .max()
            .double_value(&[]);
        assert!(
            excess <= 1e-7,
            "double_quant={double}: bound exceeded by {excess}"
        );
        // And on average NF4 on normal data is far better than the worst case.
        let rel = ((d - &w).pow_tensor_scalar(2).mean(Kind::Float)
            / w.pow_tensor_scalar(2).mean(Kind::Float))
        .double_value(&[]);
        assert!(rel < 0.015, "relative MSE {rel}");
        // 4 bits per value plus absmax storage: under 4.6 bits (plain) or 4.2 bits (double).
        let bits = q.storage_bytes() as f64 * 8.0 / w.numel() as f64;
        assert!(
            bits < if double { 4.2 } else { 4.6 },
            "{bits} bits per value"
        );
    }
}

#[test]
fn only_adapters_receive_gradients() {
    let _rng = common::torch_rng_lock();
    tch::manual_seed(5);
    let mut src = RandomWeights::new(ModelConfig::tiny(100));
    for quantize in [true, false] {
        let opts = BuildOptions {
            quantize,
            double_quant: false,
            lora: Some(trainer::lora::LoraSettings {
                r: 4,
                ..Default::default()
            }),
            device: Device::Cpu,
            compute_kind: Kind::Float,
        };
        let model = LlamaModel::build(&mut src, &opts).unwrap();
        let ids = Tensor::from_slice(&[1i64, 5, 9, 13, 2, 7]).view([1, 6]);
        let labels = Tensor::from_slice(&[5i64, 9, 13, 2, 7, -100]).view([1, 6]);
        let (loss, n) = model.loss_sum(&ids, &labels, None, None, true);
        assert_eq!(n, 5);
        loss.backward();
        let params = model.lora_parameters();
        assert_eq!(params.len(), 2 * 7 * 2);
        for p in &params {
            let g = p.tensor.grad();
            assert!(g.defined(), "{} has no gradient", p.name);
            // B starts at zero, so A's first gradient is zero and B's is not.
            if p.name.contains("lora_B") {
                assert!(
                    g.abs().sum(Kind::Float).double_value(&[]) > 0.0,
                    "{} gradient is zero",
                    p.name
                );
            }
        }
        for t in model.frozen_dense_parameters() {
            assert!(!t.requires_grad() && !t.grad().defined());
        }
    }
}
