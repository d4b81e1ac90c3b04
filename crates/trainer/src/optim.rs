//! AdamW (decoupled weight decay, Loshchilov & Hutter) with a linear-warmup cosine schedule and
//! global-norm gradient clipping, written over plain tensors so that its whole state (moments
//! and step count) can be checkpointed and restored bit for bit, which libtorch's C++ optimizers
//! do not expose through `tch`.

use tch::Tensor;

/// Optimizer hyperparameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWSettings {
    /// Peak learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay (not applied to norms and biases).
    pub weight_decay: f64,
}

/// Whether a parameter is exempt from weight decay: norms and biases, by name, as in the usual
/// HF recipe. LoRA matrices decay.
pub fn decays(name: &str) -> bool {
    !(name.contains("norm") || name.ends_with(".bias"))
}

/// Learning rate at optimizer step `step` (0-based): linear warmup to `lr` over `warmup`
/// steps, then cosine decay to `min_ratio · lr` at `total`.
pub fn cosine_lr(lr: f64, step: u64, warmup: u64, total: u64, min_ratio: f64) -> f64 {
    if step < warmup {
        return lr * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    lr * (min_ratio + (1.0 - min_ratio) * cosine)
}

/// AdamW state for a fixed list of parameters.
#[derive(Debug)]
pub struct AdamW {
    /// The hyperparameters.
    pub settings: AdamWSettings,
    /// First moments, one per parameter.
    pub m: Vec<Tensor>,
    /// Second moments.
    pub v: Vec<Tensor>,
    /// Updates applied so far.
    pub step: u64,
    decay: Vec<bool>,
}

impl AdamW {
    /// Zeroed state for `params` (name, tensor).
    pub fn new(settings: AdamWSettings, params: &[(String, &Tensor)]) -> Self {
        Self {
            settings,
            m: params.iter().map(|(_, p)| p.zeros_like()).collect(),
            v: params.iter().map(|(_, p)| p.zeros_like()).collect(),
            step: 0,
            decay: params.iter().map(|(n, _)| decays(n)).collect(),
        }
    }

    /// One update with learning rate `lr` from the gradients currently on `params`.
    pub fn step(&mut self, params: &[&Tensor], lr: f64) {
        self.step += 1;
        let s = &self.settings;
        let bc1 = 1.0 - s.beta1.powi(self.step as i32);
        let bc2 = 1.0 - s.beta2.powi(self.step as i32);
        tch::no_grad(|| {
            for (i, p) in params.iter().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let mut p = p.shallow_clone();
                if self.decay[i] && s.weight_decay > 0.0 {
                    let _ = p.g_mul_scalar_(1.0 - lr * s.weight_decay);
                }
                let _ = self.m[i]
                    .g_mul_scalar_(s.beta1)
                    .g_add_(&(&g * (1.0 - s.beta1)));
                let _ = self.v[i]
                    .g_mul_scalar_(s.beta2)
                    .g_add_(&(&g * &g * (1.0 - s.beta2)));
                let denom = (&self.v[i] / bc2).sqrt() + s.eps;
                let update = (&self.m[i] / bc1) / denom * lr;
                let _ = p.g_sub_(&update);
            }
        });
    }
}

/// Scales the gradients of `params` so their global L2 norm is at most `max_norm`; returns the
/// norm before clipping.
pub fn clip_grad_norm(params: &[&Tensor], max_norm: f64) -> f64 {
    tch::no_grad(|| {
        let mut total = 0.0;
        for p in params {
            let g = p.grad();
            if g.defined() {
                total += g
                    .pow_tensor_scalar(2)
                    .sum(tch::Kind::Double)
                    .double_value(&[]);
            }
        }
        let norm = total.sqrt();
        if max_norm > 0.0 && norm > max_norm {
            let scale = max_norm / (norm + 1e-6);
            for p in params {
                let mut g = p.grad();
                if g.defined() {
                    let _ = g.g_mul_scalar_(scale);
                }
            }
        }
        norm
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_floor() {
        assert!((cosine_lr(1.0, 0, 10, 100, 0.1) - 0.1).abs() < 1e-12);
        assert!((cosine_lr(1.0, 9, 10, 100, 0.1) - 1.0).abs() < 1e-12);
        assert!((cosine_lr(1.0, 10, 10, 100, 0.1) - 1.0).abs() < 1e-12);
        assert!((cosine_lr(1.0, 100, 10, 100, 0.1) - 0.1).abs() < 1e-12);
        assert!(cosine_lr(1.0, 55, 10, 100, 0.0) > 0.49 && cosine_lr(1.0, 55, 10, 100, 0.0) < 0.51);
    }

    #[test]
    fn adamw_first_step_moves_by_lr_against_the_gradient_sign() {
        let p = tch::Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let loss = (&p * tch::Tensor::from_slice(&[3.0f32, -0.5])).sum(tch::Kind::Float);
        loss.backward();
        let settings = AdamWSettings {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        let mut opt = AdamW::new(settings, &[("w".into(), &p)]);
        opt.step(&[&p], 0.1);
        let v = Vec::<f32>::try_from(&p).expect("f32");
        assert!(
            (v[0] - 0.9).abs() < 1e-5 && (v[1] - (-1.9)).abs() < 1e-5,
            "{v:?}"
        );
        assert!(!decays("model.norm.weight") && decays("x.lora_A.weight"));
    }
}
