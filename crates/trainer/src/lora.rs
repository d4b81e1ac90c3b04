//! Linear layers with a frozen base weight (dense or NF4) and an optional LoRA adapter.
//!
//! The adapter follows PEFT exactly, so its tensors load into PEFT unchanged: `A` (r × in) is
//! Kaiming-uniform with a = √5 (PyTorch's `nn.Linear` default, which PEFT reuses), `B` (out × r)
//! starts at zero so the adapted model equals the base at step 0, and the update is scaled by
//! `alpha / r`. Dropout applies to the adapter's input only.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::nf4::Nf4Tensor;

/// The projections LoRA can target, named as in HF Llama (and PEFT's `target_modules`).
pub const ALL_TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// LoRA hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraSettings {
    /// Rank.
    #[serde(default = "default_r")]
    pub r: i64,
    /// Scaling numerator (`scale = alpha / r`).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Dropout on the adapter input during training.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Which projections get an adapter.
    #[serde(default = "default_targets")]
    pub target_modules: Vec<String>,
}

fn default_r() -> i64 {
    16
}
fn default_alpha() -> f64 {
    32.0
}
fn default_dropout() -> f64 {
    0.05
}
fn default_targets() -> Vec<String> {
    ALL_TARGETS.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for LoraSettings {
    fn default() -> Self {
        Self {
            r: default_r(),
            alpha: default_alpha(),
            dropout: default_dropout(),
            target_modules: default_targets(),
        }
    }
}

impl LoraSettings {
    /// `alpha / r`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.r as f64
    }
}

/// A frozen base weight, `[out, in]`.
#[derive(Debug)]
pub enum BaseWeight {
    /// Full precision (plain LoRA, `--no-quant`).
    Dense(Tensor),
    /// NF4 (QLoRA), dequantized on every forward pass.
    Nf4(Nf4Tensor),
}

impl BaseWeight {
    /// The weight in `kind`, without gradient.
    pub fn materialize(&self, kind: Kind) -> Tensor {
        match self {
            BaseWeight::Dense(t) => {
                if t.kind() == kind {
                    t.shallow_clone()
                } else {
                    t.to_kind(kind)
                }
            }
            BaseWeight::Nf4(q) => q.dequantize(kind),
        }
    }

    /// `[out, in]`.
    pub fn shape(&self) -> Vec<i64> {
        match self {
            BaseWeight::Dense(t) => t.size(),
            BaseWeight::Nf4(q) => q.shape().to_vec(),
        }
    }
}

/// The trainable pair of one adapted projection.
#[derive(Debug)]
pub struct LoraAdapter {
    /// `r × in`, Kaiming-uniform.
    pub a: Tensor,
    /// `out × r`, zeros.
    pub b: Tensor,
    /// `alpha / r`.
    pub scale: f64,
    /// Input dropout probability.
    pub dropout: f64,
}

impl LoraAdapter {
    /// PEFT's initialisation. Draws from libtorch's global generator, so seed it first.
    pub fn new(
        in_features: i64,
        out_features: i64,
        settings: &LoraSettings,
        device: tch::Device,
    ) -> Self {
        // kaiming_uniform_(a=√5): gain = √(2/(1+5)), bound = gain·√(3/fan_in) = 1/√fan_in.
        let bound = 1.0 / (in_features as f64).sqrt();
        let a = Tensor::empty([settings.r, in_features], (Kind::Float, device))
            .uniform_(-bound, bound)
            .set_requires_grad(true);
        let b = Tensor::zeros([out_features, settings.r], (Kind::Float, device))
            .set_requires_grad(true);
        Self {
            a,
            b,
            scale: settings.scale(),
            dropout: settings.dropout,
        }
    }
}

/// A projection: frozen base plus an optional adapter.
#[derive(Debug)]
pub struct Linear {
    /// The frozen weight.
    pub base: BaseWeight,
    /// The adapter, when this projection is a target.
    pub lora: Option<LoraAdapter>,
}

impl Linear {
    /// `x Wᵀ + scale · dropout(x) Aᵀ Bᵀ`, in `x`'s dtype. Adapter weights are kept in f32 and
    /// cast to the compute dtype here, so the optimizer always updates f32 masters.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let kind = x.kind();
        let w = self.base.materialize(kind);
        let y = x.matmul(&w.tr());
        match &self.lora {
            None => y,
            Some(l) => {
                let h = if train && l.dropout > 0.0 {
                    x.dropout(l.dropout, true)
                } else {
                    x.shallow_clone()
                };
                let a = l.a.to_kind(kind);
                let b = l.b.to_kind(kind);
                y + h.matmul(&a.tr()).matmul(&b.tr()) * l.scale
            }
        }
    }
}
