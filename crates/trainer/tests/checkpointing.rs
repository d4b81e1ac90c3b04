//! Gradient checkpointing: on the tiny random model (dense and NF4 base, padded and packed
//! batches), `backward_checkpointed` gives the same loss and the same LoRA gradients as the plain
//! `loss_sum(..).backward()`, and with dropout two checkpointed passes from the same seed agree.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

mod common;

use tch::{Device, Kind, Tensor};
use trainer::ModelConfig;
use trainer::lora::LoraSettings;
use trainer::model::{BuildOptions, LlamaModel, RandomWeights};

fn model(quantize: bool, dropout: f64) -> LlamaModel {
    tch::manual_seed(3);
    let m = LlamaModel::build(
        &mut RandomWeights::new(ModelConfig::tiny(300)),
        &BuildOptions {
            quantize,
            double_quant: true,
            lora: Some(LoraSettings {
                r: 4,
                alpha: 8.0,
                dropout,
                ..LoraSettings::default()
            }),
            device: Device::Cpu,
            compute_kind: Kind::Float,
        },
    )
    .unwrap();
    // B starts at zero, which would make every A gradient zero; random B makes both non-trivial.
    tch::no_grad(|| {
        for p in m.lora_parameters() {
            if p.name.contains("lora_B") {
                let mut t = p.tensor.shallow_clone();
                t.copy_(&(Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.1));
            }
        }
    });
    m
}

fn take_grads(m: &LlamaModel) -> Vec<Tensor> {
    m.lora_parameters()
        .iter()
        .map(|p| {
            let g = p.tensor.grad().copy();
            let mut t = p.tensor.shallow_clone();
            t.zero_grad();
            g
        })
        .collect()
}

struct Batch {
    ids: Tensor,
    labels: Tensor,
    positions: Option<Tensor>,
    mask: Option<Tensor>,
}

fn padded_batch() -> Batch {
    let ids = Tensor::randint(300, [2, 12], (Kind::Int64, Device::Cpu));
    let labels = ids.roll([-1], [1]);
    // The first prompt positions and the padded tail of row 1 carry no loss.
    let _ = labels.narrow(1, 0, 3).fill_(-100);
    let _ = labels.get(1).narrow(0, 8, 4).fill_(-100);
    Batch {
        ids,
        labels,
        positions: None,
        mask: None,
    }
}

/// Two sequences of 5 and 7 tokens packed into one row: block-diagonal causal mask and
/// per-sequence positions.
fn packed_batch() -> Batch {
    let ids = Tensor::randint(300, [1, 12], (Kind::Int64, Device::Cpu));
    let labels = ids.roll([-1], [1]);
    let pos: Vec<i64> = (0..5).chain(0..7).collect();
    let seg: Vec<i64> = [0i64; 5].into_iter().chain([1i64; 7]).collect();
    let seg = Tensor::from_slice(&seg);
    let same = seg.unsqueeze(0).eq_tensor(&seg.unsqueeze(1));
    let causal = Tensor::ones([12, 12], (Kind::Bool, Device::Cpu)).tril(0);
    Batch {
        ids,
        labels,
        positions: Some(Tensor::from_slice(&pos).view([1, 12])),
        mask: Some(same.logical_and(&causal).view([1, 1, 12, 12])),
    }
}

fn plain(m: &LlamaModel, b: &Batch, scale: f64) -> (f64, Vec<Tensor>) {
    let (loss, _) = m.loss_sum(
        &b.ids,
        &b.labels,
        b.positions.as_ref(),
        b.mask.as_ref(),
        true,
    );
    let value = loss.double_value(&[]);
    (loss * scale).backward();
    (value, take_grads(m))
}

fn checkpointed(m: &LlamaModel, b: &Batch, scale: f64) -> (f64, Vec<Tensor>) {
    let (value, n) = m.backward_checkpointed(
        &b.ids,
        &b.labels,
        b.positions.as_ref(),
        b.mask.as_ref(),
        true,
        scale,
    );
    assert!(n > 0);
    (value, take_grads(m))
}

fn assert_close(a: &[Tensor], b: &[Tensor], what: &str) {
    assert_eq!(a.len(), b.len());
    let mut nonzero = 0;
    for (x, y) in a.iter().zip(b) {
        let diff = (x - y).abs().max().double_value(&[]);
        let size = y.abs().max().double_value(&[]);
        assert!(
            diff <= 1e-5 * size.max(1.0),
            "{what}: a gradient differs by {diff} (max |g| {size})"
        );
        nonzero += usize::from(size > 0.0);
    }
    assert_eq!(nonzero, a.len(), "{what}: some adapter got no gradient");
}

#[test]
fn checkpointed_gradients_equal_the_plain_ones() {
    let _rng = common::torch_rng_lock();
    for quantize in [false, true] {
        let m = model(quantize, 0.0);
        tch::manual_seed(9);
        for (name, batch) in [("padded", padded_batch()), ("packed", packed_batch())] {
            let scale = 1.0 / 17.0;
            let (l1, g1) = plain(&m, &batch, scale);
            let (l2, g2) = checkpointed(&m, &batch, scale);
            assert!(
                (l1 - l2).abs() <= 1e-6 * l1.abs(),
                "{name}: loss {l1} vs {l2}"
            );
            assert_close(&g1, &g2, &format!("{name}, quantize={quantize}"));
        }
    }
}

#[test]
fn checkpointed_dropout_is_reproducible_from_the_seed() {
    let _rng = common::torch_rng_lock();
    let m = model(true, 0.3);
    tch::manual_seed(4);
    let batch = padded_batch();
    tch::manual_seed(100);
    let (l1, g1) = checkpointed(&m, &batch, 1.0);
    tch::manual_seed(100);
    let (l2, g2) = checkpointed(&m, &batch, 1.0);
    assert_eq!(l1, l2);
    assert_close(&g1, &g2, "same seed");
    // The masks are really drawn: another seed gives another loss.
    tch::manual_seed(101);
    let (l3, _) = checkpointed(&m, &batch, 1.0);
    assert!(
        (l1 - l3).abs() > 1e-6,
        "dropout had no effect: {l1} vs {l3}"
    );
}

/// Moves every adapter tensor by `step · direction`.
fn shift(m: &LlamaModel, direction: &[Tensor], step: f64) {
    tch::no_grad(|| {
        for (p, d) in m.lora_parameters().iter().zip(direction) {
            let mut t = p.tensor.shallow_clone();
            let _ = t.g_add_(&(d * step));
        }
    });
}

#[test]
fn checkpointed_dropout_gradient_is_the_gradient_of_the_first_pass_loss() {
    let _rng = common::torch_rng_lock();
    // If the recomputation drew other dropout masks than the forward pass, the gradient would
    // belong to another function than the returned loss; a central difference along the gradient
    // of the loss under the same seed checks that it does not.
    let m = model(false, 0.3);
    tch::manual_seed(6);
    let batch = padded_batch();
    let n = batch.labels.ne(-100).sum(Kind::Int64).int64_value(&[]) as f64;
    let loss_at = |m: &LlamaModel| {
        tch::manual_seed(200);
        let (l, g) = checkpointed(m, &batch, 1.0 / n);
        (l / n, g)
    };
    let (_, g) = loss_at(&m);
    let norm = g
        .iter()
        .map(|t| t.pow_tensor_scalar(2).sum(Kind::Float).double_value(&[]))
        .sum::<f64>()
        .sqrt();
    assert!(norm > 1e-3, "gradient norm {norm}");
    let direction: Vec<Tensor> = g.iter().map(|t| t / norm).collect();
    let eps = 1e-2;
    shift(&m, &direction, eps);
    let (up, _) = loss_at(&m);
    shift(&m, &direction, -2.0 * eps);
    let (down, _) = loss_at(&m);
    shift(&m, &direction, eps);
    let numeric = (up - down) / (2.0 * eps);
    assert!(
        (numeric - norm).abs() <= 0.05 * norm,
        "directional derivative {numeric} vs gradient norm {norm}"
    );
}
