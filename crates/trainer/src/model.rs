//! The Llama-architecture decoder: RMSNorm, rotary embeddings (with Llama 3.x scaling),
//! grouped-query attention through `scaled_dot_product_attention`, a SwiGLU MLP, and tied or
//! untied output embeddings. Weight names and layouts follow HF `transformers`; the GGUF loader
//! converts to them.

use tch::{Device, Kind, Tensor};

use crate::config::{Llama3RopeScaling, ModelConfig};
use crate::error::TrainerError;
use crate::lora::{BaseWeight, Linear, LoraAdapter, LoraSettings};
use crate::nf4::Nf4Tensor;

/// Where the frozen weights come from, in HF names and layouts, as f32 tensors, one at a time
/// (so a loader never holds more than one full-precision matrix).
pub trait WeightSource {
    /// The model's configuration.
    fn config(&self) -> &ModelConfig;
    /// Whether the source has `name` (used for the optional `lm_head.weight`).
    fn contains(&self, name: &str) -> bool;
    /// Reads `name` as an f32 CPU tensor in HF layout.
    fn load(&mut self, name: &str) -> Result<Tensor, TrainerError>;
    /// Per-frequency divisors from a Llama 3.x GGUF's `rope_freqs.weight`, when present.
    fn rope_freq_factors(&mut self) -> Result<Option<Tensor>, TrainerError> {
        Ok(None)
    }
}

/// How the frozen base is stored and which adapters are attached.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// NF4-quantize the projection weights (QLoRA); `false` keeps them dense (plain LoRA).
    pub quantize: bool,
    /// Quantize the NF4 absmax values again (int8).
    pub double_quant: bool,
    /// The adapters; `None` builds the base model only (parity tests, inference).
    pub lora: Option<LoraSettings>,
    /// Where the model lives.
    pub device: Device,
    /// The compute dtype (f32 on CPU, bf16 on CUDA).
    pub compute_kind: Kind,
}

/// One decoder block.
#[derive(Debug)]
pub struct Block {
    input_norm: Tensor,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    post_norm: Tensor,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

impl Block {
    fn projections(&self) -> [(&'static str, &'static str, &Linear); 7] {
        [
            ("self_attn", "q_proj", &self.q_proj),
            ("self_attn", "k_proj", &self.k_proj),
            ("self_attn", "v_proj", &self.v_proj),
            ("self_attn", "o_proj", &self.o_proj),
            ("mlp", "gate_proj", &self.gate_proj),
            ("mlp", "up_proj", &self.up_proj),
            ("mlp", "down_proj", &self.down_proj),
        ]
    }
}

/// A trainable adapter tensor with its PEFT-style name (without the `base_model.model.` prefix).
#[derive(Debug)]
pub struct NamedParam<'a> {
    /// For example `model.layers.0.self_attn.q_proj.lora_A.weight`.
    pub name: String,
    /// The tensor (requires grad).
    pub tensor: &'a Tensor,
}

/// The decoder.
#[derive(Debug)]
pub struct LlamaModel {
    config: ModelConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Option<Tensor>,
    inv_freq: Tensor,
    /// A Llama 3.x GGUF's `rope_freqs.weight`, kept so a merged GGUF export can write it back.
    freq_factors: Option<Tensor>,
    compute_kind: Kind,
    device: Device,
}

fn check_shape(name: &str, t: &Tensor, expected: &[i64]) -> Result<(), TrainerError> {
    if t.size() != expected {
        return Err(TrainerError::TensorShape {
            name: name.to_owned(),
            expected: expected.to_vec(),
            got: t.size(),
        });
    }
    Ok(())
}

impl LlamaModel {
    /// Builds the model from `source`, quantizing each projection as soon as it is read.
    pub fn build(
        source: &mut dyn WeightSource,
        options: &BuildOptions,
    ) -> Result<Self, TrainerError> {
        let c = source.config().clone();
        c.validate()?;
        let dense_kind = options.compute_kind;
        let dev = options.device;
        let mut read = |name: &str, shape: &[i64]| -> Result<Tensor, TrainerError> {
            let t = source.load(name)?;
            check_shape(name, &t, shape)?;
            Ok(t)
        };
        let embed = read("model.embed_tokens.weight", &[c.vocab_size, c.hidden_size])?
            .to_device(dev)
            .to_kind(dense_kind);
        let q_out = c.num_heads * c.head_dim;
        let kv_out = c.num_kv_heads * c.head_dim;
        let mut blocks = Vec::with_capacity(c.num_layers as usize);
        for i in 0..c.num_layers {
            let p = format!("model.layers.{i}");
            let mut linear =
                |group: &str, module: &str, out: i64, inp: i64| -> Result<Linear, TrainerError> {
                    let name = format!("{p}.{group}.{module}.weight");
                    let w = read(&name, &[out, inp])?.to_device(dev);
                    let base = if options.quantize {
                        BaseWeight::Nf4(Nf4Tensor::quantize(&w, options.double_quant))
                    } else {
                        BaseWeight::Dense(w.to_kind(dense_kind))
                    };
                    let lora = match &options.lora {
                        Some(s) if s.target_modules.iter().any(|t| t == module) => {
                            Some(LoraAdapter::new(inp, out, s, dev))
                        }
                        _ => None,
                    };
                    Ok(Linear { base, lora })
                };
            let h = c.hidden_size;
            let q_proj = linear("self_attn", "q_proj", q_out, h)?;
            let k_proj = linear("self_attn", "k_proj", kv_out, h)?;
            let v_proj = linear("self_attn", "v_proj", kv_out, h)?;
            let o_proj = linear("self_attn", "o_proj", h, q_out)?;
            let gate_proj = linear("mlp", "gate_proj", c.intermediate_size, h)?;
            let up_proj = linear("mlp", "up_proj", c.intermediate_size, h)?;
            let down_proj = linear("mlp", "down_proj", h, c.intermediate_size)?;
            let input_norm = read(&format!("{p}.input_layernorm.weight"), &[h])?.to_device(dev);
            let post_norm =
                read(&format!("{p}.post_attention_layernorm.weight"), &[h])?.to_device(dev);
            blocks.push(Block {
                input_norm,
                q_proj,
                k_proj,
                v_proj,
                o_proj,
                post_norm,
                gate_proj,
                up_proj,
                down_proj,
            });
        }
        let norm = read("model.norm.weight", &[c.hidden_size])?.to_device(dev);
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            Some(
                read("lm_head.weight", &[c.vocab_size, c.hidden_size])?
                    .to_device(dev)
                    .to_kind(dense_kind),
            )
        };
        let mut inv_freq = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling.as_ref());
        let freq_factors = source.rope_freq_factors()?;
        if let Some(factors) = &freq_factors {
            check_shape("rope_freqs.weight", factors, &[c.head_dim / 2])?;
            inv_freq = inv_freq / factors.to_kind(Kind::Double);
        }
        Ok(Self {
            config: c,
            embed,
            blocks,
            norm,
            lm_head,
            inv_freq: inv_freq.to_kind(Kind::Float).to_device(dev),
            freq_factors: freq_factors.map(|f| f.to_kind(Kind::Float)),
            compute_kind: dense_kind,
            device: dev,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Every adapter tensor, A then B per projection, in layer order.
    pub fn lora_parameters(&self) -> Vec<NamedParam<'_>> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            for (group, module, lin) in b.projections() {
                if let Some(l) = &lin.lora {
                    let p = format!("model.layers.{i}.{group}.{module}");
                    out.push(NamedParam {
                        name: format!("{p}.lora_A.weight"),
                        tensor: &l.a,
                    });
                    out.push(NamedParam {
                        name: format!("{p}.lora_B.weight"),
                        tensor: &l.b,
                    });
                }
            }
        }
        out
    }

    /// The frozen tensors that stay in full precision (embedding, norms, untied head), for the
    /// "base receives no gradient" check.
    pub fn frozen_dense_parameters(&self) -> Vec<&Tensor> {
        let mut out = vec![&self.embed, &self.norm];
        out.extend(self.lm_head.iter());
        for b in &self.blocks {
            out.push(&b.input_norm);
            out.push(&b.post_norm);
            for (_, _, lin) in b.projections() {
                if let BaseWeight::Dense(t) = &lin.base {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Bytes of the frozen projection weights as stored (NF4 or dense).
    pub fn base_projection_bytes(&self) -> i64 {
        self.blocks
            .iter()
            .flat_map(|b| {
                b.projections().map(|(_, _, l)| match &l.base {
                    BaseWeight::Nf4(q) => q.storage_bytes(),
                    BaseWeight::Dense(t) => t.numel() as i64 * t.kind().elt_size_in_bytes() as i64,
                })
            })
            .sum()
    }

    /// Final hidden states `[B, T, D]` for `ids` `[B, T]`. `positions` (`[B, T]`) defaults to
    /// `0..T`; `attn_mask` (`[B, 1, T, T]`, true = attend) replaces the causal mask when given
    /// (packing), and must itself be causal.
    pub fn hidden_states(
        &self,
        ids: &Tensor,
        positions: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let (mut x, rope) = self.embed_input(ids, positions);
        for block in &self.blocks {
            x = self.block_forward(block, &x, &rope, attn_mask, train);
        }
        rms_norm(&x, &self.norm, self.config.rms_norm_eps)
    }

    /// The embedded input `[B, T, D]` and the rotary `(cos, sin)` tables for its positions.
    fn embed_input(&self, ids: &Tensor, positions: Option<&Tensor>) -> (Tensor, (Tensor, Tensor)) {
        let (b, t) = ids.size2().expect("ids are [batch, seq]");
        let pos = match positions {
            Some(p) => p.shallow_clone(),
            None => Tensor::arange(t, (Kind::Int64, self.device))
                .unsqueeze(0)
                .expand([b, t], false),
        };
        let freqs = pos.to_kind(Kind::Float).unsqueeze(-1) * self.inv_freq.view([1, 1, -1]);
        let emb = Tensor::cat(&[&freqs, &freqs], -1).unsqueeze(1);
        let cos = emb.cos().to_kind(self.compute_kind);
        let sin = emb.sin().to_kind(self.compute_kind);
        let x =
            self.embed
                .index_select(0, &ids.flatten(0, -1))
                .view([b, t, self.config.hidden_size]);
        (x, (cos, sin))
    }

    /// One decoder block: `x + attn(norm(x))`, then `+ mlp(norm(·))`.
    fn block_forward(
        &self,
        block: &Block,
        x: &Tensor,
        (cos, sin): &(Tensor, Tensor),
        attn_mask: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let c = &self.config;
        let (b, t, _) = x.size3().expect("hidden states are [batch, seq, dim]");
        let h = rms_norm(x, &block.input_norm, c.rms_norm_eps);
        let q = block
            .q_proj
            .forward(&h, train)
            .view([b, t, c.num_heads, c.head_dim])
            .transpose(1, 2);
        let k = block
            .k_proj
            .forward(&h, train)
            .view([b, t, c.num_kv_heads, c.head_dim])
            .transpose(1, 2);
        let v = block
            .v_proj
            .forward(&h, train)
            .view([b, t, c.num_kv_heads, c.head_dim])
            .transpose(1, 2);
        let q = apply_rope(&q, cos, sin);
        let k = apply_rope(&k, cos, sin);
        let gqa = c.num_kv_heads != c.num_heads;
        let attn = match attn_mask {
            None => Tensor::scaled_dot_product_attention::<Tensor>(
                &q, &k, &v, None, 0.0, true, None, gqa,
            ),
            Some(m) => {
                Tensor::scaled_dot_product_attention(&q, &k, &v, Some(m), 0.0, false, None, gqa)
            }
        };
        let attn = attn
            .transpose(1, 2)
            .contiguous()
            .view([b, t, c.num_heads * c.head_dim]);
        let x = x + block.o_proj.forward(&attn, train);
        let h = rms_norm(&x, &block.post_norm, c.rms_norm_eps);
        let gate = block.gate_proj.forward(&h, train).silu();
        let up = block.up_proj.forward(&h, train);
        x + block.down_proj.forward(&(gate * up), train)
    }

    /// Logits for hidden states of any leading shape.
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        let head = self.lm_head.as_ref().unwrap_or(&self.embed);
        hidden.matmul(&head.tr())
    }

    /// Summed next-token cross-entropy over positions whose label is not -100, and how many
    /// such positions there are. The head runs only on those positions, which keeps the
    /// `[tokens, vocab]` logits small when most of a sequence is prompt.
    pub fn loss_sum(
        &self,
        ids: &Tensor,
        labels: &Tensor,
        positions: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, i64) {
        let hidden = self.hidden_states(ids, positions, attn_mask, train);
        self.loss_from_hidden(&hidden, labels)
    }

    fn loss_from_hidden(&self, hidden: &Tensor, labels: &Tensor) -> (Tensor, i64) {
        let d = self.config.hidden_size;
        let flat_labels = labels.flatten(0, -1);
        let keep = flat_labels.ne(-100).nonzero().squeeze_dim(1);
        let n = keep.size()[0];
        if n == 0 {
            return (Tensor::zeros([], (Kind::Float, self.device)), 0);
        }
        let h = hidden.view([-1, d]).index_select(0, &keep);
        let logits = self.logits(&h).to_kind(Kind::Float);
        let targets = flat_labels.index_select(0, &keep);
        let loss =
            logits.cross_entropy_loss::<Tensor>(&targets, None, tch::Reduction::Sum, -100, 0.0);
        (loss, n)
    }

    /// The gradient-checkpointed equivalent of `(loss_sum(..).0 * scale).backward()`: returns
    /// the summed loss and the number of target positions, and accumulates the gradients of
    /// `scale · loss` into the adapters.
    ///
    /// The forward pass runs without autograd and keeps only each block's input; the backward
    /// pass then walks the blocks in reverse, recomputes one block at a time with autograd from
    /// its detached input and back-propagates the upstream gradient through it with
    /// `(out · upstream).sum().backward()`, whose gradient with respect to the block's input is
    /// the next upstream. At most one block's activations are alive at a time, for one extra
    /// forward pass. libtorch is re-seeded per block from a seed drawn once per call, so the
    /// recomputation draws the same LoRA dropout masks as the first pass; with dropout the masks
    /// therefore differ from those of the plain path, without dropout the gradients are equal.
    pub fn backward_checkpointed(
        &self,
        ids: &Tensor,
        labels: &Tensor,
        positions: Option<&Tensor>,
        attn_mask: Option<&Tensor>,
        train: bool,
        scale: f64,
    ) -> (f64, i64) {
        let seed_base = if train {
            Tensor::randint(i64::from(i32::MAX), [1], (Kind::Int64, Device::Cpu)).int64_value(&[0])
        } else {
            0
        };
        let seed_block = |i: usize| {
            if train {
                tch::manual_seed(seed_base.wrapping_add(i as i64));
            }
        };
        let (inputs, last, rope) = tch::no_grad(|| {
            let (mut x, rope) = self.embed_input(ids, positions);
            let mut inputs = Vec::with_capacity(self.blocks.len());
            for (i, block) in self.blocks.iter().enumerate() {
                seed_block(i);
                let next = self.block_forward(block, &x, &rope, attn_mask, train);
                inputs.push(x);
                x = next;
            }
            (inputs, x, rope)
        });
        let last = last.detach().set_requires_grad(true);
        let hidden = rms_norm(&last, &self.norm, self.config.rms_norm_eps);
        let (loss, n) = self.loss_from_hidden(&hidden, labels);
        if n == 0 {
            return (0.0, 0);
        }
        let value = loss.double_value(&[]);
        (loss * scale).backward();
        let mut upstream = last.grad();
        for (i, block) in self.blocks.iter().enumerate().rev() {
            let input = inputs[i].detach().set_requires_grad(i > 0);
            seed_block(i);
            let out = self.block_forward(block, &input, &rope, attn_mask, train);
            (out.to_kind(Kind::Float) * upstream.detach().to_kind(Kind::Float))
                .sum(Kind::Float)
                .backward();
            if i > 0 {
                upstream = input.grad();
            }
        }
        (value, n)
    }

    /// Every frozen weight in HF names and layout as an f32 CPU tensor, with each adapter merged
    /// into its projection: `W' = W + (alpha / r) · B · A`, `W` being the dequantized base (NF4
    /// or dense) the adapter was trained against.
    pub fn merged_weights(&self) -> Vec<(String, Tensor)> {
        tch::no_grad(|| {
            let cpu = |t: &Tensor| t.to_kind(Kind::Float).to_device(Device::Cpu);
            let mut out = vec![("model.embed_tokens.weight".to_owned(), cpu(&self.embed))];
            for (i, b) in self.blocks.iter().enumerate() {
                let p = format!("model.layers.{i}");
                out.push((format!("{p}.input_layernorm.weight"), cpu(&b.input_norm)));
                for (group, module, lin) in b.projections() {
                    let mut w = lin.base.materialize(Kind::Float);
                    if let Some(l) = &lin.lora {
                        w = w + l.b.to_kind(Kind::Float).matmul(&l.a.to_kind(Kind::Float))
                            * l.scale;
                    }
                    out.push((format!("{p}.{group}.{module}.weight"), cpu(&w)));
                }
                out.push((
                    format!("{p}.post_attention_layernorm.weight"),
                    cpu(&b.post_norm),
                ));
            }
            out.push(("model.norm.weight".to_owned(), cpu(&self.norm)));
            if let Some(h) = &self.lm_head {
                out.push(("lm_head.weight".to_owned(), cpu(h)));
            }
            out
        })
    }

    /// The Llama 3.x `rope_freqs.weight` divisors the model was loaded with, if any.
    pub fn rope_freq_factors(&self) -> Option<&Tensor> {
        self.freq_factors.as_ref()
    }
}

/// RMSNorm computed in f32 (as HF Llama does), returned in the input dtype.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
    let kind = x.kind();
    let xf = x.to_kind(Kind::Float);
    let var = xf
        .pow_tensor_scalar(2)
        .mean_dim([-1i64].as_slice(), true, Kind::Float);
    let normed = xf * (var + eps).rsqrt();
    (normed * weight.to_kind(Kind::Float)).to_kind(kind)
}

/// HF's rotate-half rotary embedding (the first half of the head pairs with the second).
fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let half = x.size()[3] / 2;
    let x1 = x.narrow(3, 0, half);
    let x2 = x.narrow(3, half, half);
    let rotated = Tensor::cat(&[-x2, x1], 3);
    x * cos + rotated * sin
}

/// Rotary inverse frequencies, with the Llama 3.x wavelength-dependent scaling when configured.
pub fn rope_inv_freq(head_dim: i64, theta: f64, scaling: Option<&Llama3RopeScaling>) -> Tensor {
    let half = head_dim / 2;
    let freqs: Vec<f64> = (0..half)
        .map(|i| {
            let f = 1.0 / theta.powf((2 * i) as f64 / head_dim as f64);
            match scaling {
                None => f,
                Some(s) => llama3_scale(f, s),
            }
        })
        .collect();
    Tensor::from_slice(&freqs)
}

fn llama3_scale(freq: f64, s: &Llama3RopeScaling) -> f64 {
    let low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
    let high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
    let wavelen = 2.0 * std::f64::consts::PI / freq;
    if wavelen < high_wavelen {
        freq
    } else if wavelen > low_wavelen {
        freq / s.factor
    } else {
        let smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor)
            / (s.high_freq_factor - s.low_freq_factor);
        (1.0 - smooth) * freq / s.factor + smooth * freq
    }
}

/// A source of random weights in the given shape (normal, std 0.02, embeddings 0.3; norms at one), for the tiny
/// test model and the GPU speed check. Draws from libtorch's global generator.
#[derive(Debug)]
pub struct RandomWeights {
    config: ModelConfig,
}

impl RandomWeights {
    /// Random weights for `config`.
    pub fn new(config: ModelConfig) -> Self {
        Self { config }
    }
}

impl WeightSource for RandomWeights {
    fn config(&self) -> &ModelConfig {
        &self.config
    }
    fn contains(&self, name: &str) -> bool {
        name != "lm_head.weight" || !self.config.tie_word_embeddings
    }
    fn load(&mut self, name: &str) -> Result<Tensor, TrainerError> {
        let c = &self.config;
        let q_out = c.num_heads * c.head_dim;
        let kv_out = c.num_kv_heads * c.head_dim;
        let shape: Vec<i64> = if name.ends_with("norm.weight") {
            return Ok(Tensor::ones([c.hidden_size], (Kind::Float, Device::Cpu)));
        } else if name.ends_with("embed_tokens.weight") || name == "lm_head.weight" {
            vec![c.vocab_size, c.hidden_size]
        } else if name.ends_with("q_proj.weight") {
            vec![q_out, c.hidden_size]
        } else if name.ends_with("k_proj.weight") || name.ends_with("v_proj.weight") {
            vec![kv_out, c.hidden_size]
        } else if name.ends_with("o_proj.weight") {
            vec![c.hidden_size, q_out]
        } else if name.ends_with("gate_proj.weight") || name.ends_with("up_proj.weight") {
            vec![c.intermediate_size, c.hidden_size]
        } else if name.ends_with("down_proj.weight") {
            vec![c.hidden_size, c.intermediate_size]
        } else {
            return Err(TrainerError::MissingTensor {
                name: name.to_owned(),
                path: "<random>".into(),
            });
        };
        // Embeddings get a larger scale than projections: with a frozen, tied, RMS-normalised
        // head, std 0.02 rows would cap every logit near 1, and no adapter could lower the loss.
        let std = if name.ends_with("embed_tokens.weight") || name == "lm_head.weight" {
            0.3
        } else {
            0.02
        };
        Ok(Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu)) * std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_keeps_high_and_divides_low_frequencies() {
        let s = ModelConfig::llama32_3b()
            .rope_scaling
            .expect("3b has scaling");
        let plain = Vec::<f64>::try_from(rope_inv_freq(128, 500_000.0, None)).expect("f64");
        let scaled = Vec::<f64>::try_from(rope_inv_freq(128, 500_000.0, Some(&s))).expect("f64");
        assert_eq!(plain[0], scaled[0]);
        assert!((plain[63] / scaled[63] - 32.0).abs() < 1e-9);
        // Somewhere in between, the smooth interpolation gives a ratio strictly inside (1, 32).
        assert!(
            plain
                .iter()
                .zip(&scaled)
                .any(|(p, q)| p / q > 1.01 && p / q < 31.9)
        );
    }

    #[test]
    fn causal_attention_ignores_later_tokens() {
        tch::manual_seed(1);
        let mut src = RandomWeights::new(ModelConfig::tiny(50));
        let opts = BuildOptions {
            quantize: false,
            double_quant: false,
            lora: None,
            device: Device::Cpu,
            compute_kind: Kind::Float,
        };
        let m = LlamaModel::build(&mut src, &opts).expect("build");
        let a = Tensor::from_slice(&[1i64, 2, 3, 4]).view([1, 4]);
        let b = Tensor::from_slice(&[1i64, 2, 3, 9]).view([1, 4]);
        let ha = m.hidden_states(&a, None, None, false);
        let hb = m.hidden_states(&b, None, None, false);
        let diff = (ha.narrow(1, 0, 3) - hb.narrow(1, 0, 3))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6, "prefix changed by {diff}");
        let last = (ha.narrow(1, 3, 1) - hb.narrow(1, 3, 1))
            .abs()
            .max()
            .double_value(&[]);
        assert!(last > 1e-4);
    }
}
