//! Model configuration: the HF `config.json` wire struct, the GGUF metadata reading, and the
//! internal [`ModelConfig`] the model is built from.
//!
//! The wire struct mirrors the file (optional fields, HF names) and is converted once, with every
//! value validated, into the internal struct, so the model code never sees an unchecked or
//! missing value (the shape candle's `LlamaConfig::into_config` has).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainerError;

/// Llama 3.x rope scaling (`rope_scaling` with `rope_type = "llama3"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Llama3RopeScaling {
    /// How much the context was extended (8 for Llama 3.1 / 3.2, 32 for 3.2 1B/3B).
    pub factor: f64,
    /// Wavelengths longer than `original / low_freq_factor` are divided by `factor`.
    pub low_freq_factor: f64,
    /// Wavelengths shorter than `original / high_freq_factor` are kept.
    pub high_freq_factor: f64,
    /// The pre-training context length.
    pub original_max_position_embeddings: f64,
}

/// The internal, validated configuration of a Llama-architecture decoder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: i64,
    /// Model width.
    pub hidden_size: i64,
    /// MLP width.
    pub intermediate_size: i64,
    /// Decoder blocks.
    pub num_layers: i64,
    /// Query heads.
    pub num_heads: i64,
    /// Key/value heads (grouped-query attention when below `num_heads`).
    pub num_kv_heads: i64,
    /// Per-head width.
    pub head_dim: i64,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Llama 3.x frequency scaling, when the model uses it.
    pub rope_scaling: Option<Llama3RopeScaling>,
    /// Whether the output projection reuses the embedding matrix.
    pub tie_word_embeddings: bool,
    /// The longest context the model was trained for.
    pub max_position_embeddings: i64,
}

impl ModelConfig {
    /// A small random-initialisation shape for tests (2 layers, d=64, GQA 4/2 heads).
    pub fn tiny(vocab_size: i64) -> Self {
        Self {
            vocab_size,
            hidden_size: 64,
            intermediate_size: 128,
            num_layers: 2,
            num_heads: 4,
            num_kv_heads: 2,
            head_dim: 16,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            tie_word_embeddings: true,
            max_position_embeddings: 2048,
        }
    }

    /// The Llama 3.2 3B shape (for the GPU speed check on a random initialisation).
    pub fn llama32_3b() -> Self {
        Self {
            vocab_size: 128_256,
            hidden_size: 3072,
            intermediate_size: 8192,
            num_layers: 28,
            num_heads: 24,
            num_kv_heads: 8,
            head_dim: 128,
            rms_norm_eps: 1e-5,
            rope_theta: 500_000.0,
            rope_scaling: Some(Llama3RopeScaling {
                factor: 32.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192.0,
            }),
            tie_word_embeddings: true,
            max_position_embeddings: 131_072,
        }
    }

    /// Checks the shape relations the model relies on.
    pub fn validate(&self) -> Result<(), TrainerError> {
        let bad = |field: &'static str, detail: String| {
            Err(TrainerError::InvalidModelConfig { field, detail })
        };
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_layers),
            ("num_attention_heads", self.num_heads),
            ("num_key_value_heads", self.num_kv_heads),
            ("head_dim", self.head_dim),
        ] {
            if v <= 0 {
                return bad(field, format!("must be positive, got {v}"));
            }
        }
        if self.num_heads % self.num_kv_heads != 0 {
            return bad(
                "num_key_value_heads",
                format!(
                    "{} query heads are not a multiple of {} key/value heads",
                    self.num_heads, self.num_kv_heads
                ),
            );
        }
        if self.head_dim % 2 != 0 {
            return bad(
                "head_dim",
                format!(
                    "rotary embeddings need an even head_dim, got {}",
                    self.head_dim
                ),
            );
        }
        if !(self.rms_norm_eps > 0.0) {
            return bad(
                "rms_norm_eps",
                format!("must be positive, got {}", self.rms_norm_eps),
            );
        }
        if !(self.rope_theta > 0.0) {
            return bad(
                "rope_theta",
                format!("must be positive, got {}", self.rope_theta),
            );
        }
        Ok(())
    }

    /// Approximate parameter count (embedding counted once when tied).
    pub fn parameter_count(&self) -> i64 {
        let attn = self.hidden_size * self.head_dim * (2 * self.num_heads + 2 * self.num_kv_heads);
        let mlp = 3 * self.hidden_size * self.intermediate_size;
        let layer = attn + mlp + 2 * self.hidden_size;
        let emb = self.vocab_size * self.hidden_size;
        emb * if self.tie_word_embeddings { 1 } else { 2 }
            + self.num_layers * layer
            + self.hidden_size
    }
}

/// The HF `config.json` of a Llama-family model, as written on disk.
#[derive(Debug, Clone, Deserialize)]
pub struct HfLlamaConfig {
    /// Architectures (`["LlamaForCausalLM"]`).
    #[serde(default)]
    pub architectures: Vec<String>,
    /// `llama` for this family.
    #[serde(default)]
    pub model_type: Option<String>,
    /// Vocabulary size.
    pub vocab_size: i64,
    /// Model width.
    pub hidden_size: i64,
    /// MLP width.
    pub intermediate_size: i64,
    /// Decoder blocks.
    pub num_hidden_layers: i64,
    /// Query heads.
    pub num_attention_heads: i64,
    /// Key/value heads; absent means multi-head attention.
    #[serde(default)]
    pub num_key_value_heads: Option<i64>,
    /// Per-head width; absent means `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<i64>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Rope scaling block (`rope_type`/`type` plus its parameters).
    #[serde(default)]
    pub rope_scaling: Option<BTreeMap<String, serde_json::Value>>,
    /// Whether the output projection is the embedding.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Context length.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: i64,
    /// Must be `silu` for this decoder.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> i64 {
    2048
}
fn default_act() -> String {
    "silu".to_owned()
}

impl HfLlamaConfig {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, TrainerError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainerError::Io {
            action: "read the model config",
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| TrainerError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
    }

    /// Converts to the internal config, rejecting what this decoder does not implement.
    pub fn into_config(self) -> Result<ModelConfig, TrainerError> {
        if let Some(t) = &self.model_type {
            if t != "llama" {
                return Err(TrainerError::InvalidModelConfig {
                    field: "model_type",
                    detail: format!("only `llama` models are supported, got `{t}`"),
                });
            }
        }
        if self.hidden_act != "silu" {
            return Err(TrainerError::InvalidModelConfig {
                field: "hidden_act",
                detail: format!("the SwiGLU MLP needs `silu`, got `{}`", self.hidden_act),
            });
        }
        let rope_scaling = match &self.rope_scaling {
            None => None,
            Some(map) => parse_rope_scaling(map)?,
        };
        let head_dim = self.head_dim.unwrap_or(if self.num_attention_heads > 0 {
            self.hidden_size / self.num_attention_heads
        } else {
            0
        });
        let config = ModelConfig {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_layers: self.num_hidden_layers,
            num_heads: self.num_attention_heads,
            num_kv_heads: self.num_key_value_heads.unwrap_or(self.num_attention_heads),
            head_dim,
            rms_norm_eps: self.rms_norm_eps,
            rope_theta: self.rope_theta,
            rope_scaling,
            tie_word_embeddings: self.tie_word_embeddings,
            max_position_embeddings: self.max_position_embeddings,
        };
        config.validate()?;
        Ok(config)
    }
}

fn parse_rope_scaling(
    map: &BTreeMap<String, serde_json::Value>,
) -> Result<Option<Llama3RopeScaling>, TrainerError> {
    let kind = map
        .get("rope_type")
        .or_else(|| map.get("type"))
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    let num = |key: &'static str| {
        map.get(key)
            .and_then(serde_json::Value::as_f64)
            .ok_or(TrainerError::InvalidModelConfig {
                field: "rope_scaling",
                detail: format!("llama3 rope scaling needs a numeric `{key}`"),
            })
    };
    match kind {
        "default" => Ok(None),
        "llama3" => Ok(Some(Llama3RopeScaling {
            factor: num("factor")?,
            low_freq_factor: num("low_freq_factor")?,
            high_freq_factor: num("high_freq_factor")?,
            original_max_position_embeddings: num("original_max_position_embeddings")?,
        })),
        other => Err(TrainerError::InvalidModelConfig {
            field: "rope_scaling",
            detail: format!(
                "rope_type `{other}` is not implemented; use a model with llama3 or no scaling"
            ),
        }),
    }
}

/// The GGUF metadata values a Llama model's configuration is read from, gathered by the weight
/// loader from the file's key-value section.
#[derive(Debug, Clone, Default)]
pub struct GgufLlamaMeta {
    /// `general.architecture`.
    pub architecture: String,
    /// `llama.vocab_size`, else the length of `tokenizer.ggml.tokens`.
    pub vocab_size: Option<i64>,
    /// `llama.embedding_length`.
    pub embedding_length: Option<i64>,
    /// `llama.feed_forward_length`.
    pub feed_forward_length: Option<i64>,
    /// `llama.block_count`.
    pub block_count: Option<i64>,
    /// `llama.attention.head_count`.
    pub head_count: Option<i64>,
    /// `llama.attention.head_count_kv`.
    pub head_count_kv: Option<i64>,
    /// `llama.rope.dimension_count` (the rotary width, equal to head_dim for Llama).
    pub rope_dimension_count: Option<i64>,
    /// `llama.attention.key_length`.
    pub key_length: Option<i64>,
    /// `llama.attention.layer_norm_rms_epsilon`.
    pub rms_epsilon: Option<f64>,
    /// `llama.rope.freq_base`.
    pub rope_freq_base: Option<f64>,
    /// `llama.context_length`.
    pub context_length: Option<i64>,
    /// Whether an `output.weight` tensor exists (absent means tied embeddings).
    pub has_output_tensor: bool,
}

impl GgufLlamaMeta {
    /// Converts to the internal config. Llama 3.x GGUFs carry rope scaling as a `rope_freqs`
    /// tensor, not metadata; the loader applies it to the frequencies directly.
    pub fn into_config(self) -> Result<ModelConfig, TrainerError> {
        if self.architecture != "llama" {
            return Err(TrainerError::InvalidModelConfig {
                field: "general.architecture",
                detail: format!(
                    "only `llama` GGUF models are supported, got `{}`",
                    self.architecture
                ),
            });
        }
        let need = |v: Option<i64>, key: &'static str| {
            v.ok_or(TrainerError::InvalidModelConfig {
                field: key,
                detail: "missing from the GGUF metadata".to_owned(),
            })
        };
        let hidden = need(self.embedding_length, "llama.embedding_length")?;
        let heads = need(self.head_count, "llama.attention.head_count")?;
        let head_dim = self
            .key_length
            .or(self.rope_dimension_count)
            .unwrap_or(if heads > 0 { hidden / heads } else { 0 });
        let config = ModelConfig {
            vocab_size: need(self.vocab_size, "llama.vocab_size")?,
            hidden_size: hidden,
            intermediate_size: need(self.feed_forward_length, "llama.feed_forward_length")?,
            num_layers: need(self.block_count, "llama.block_count")?,
            num_heads: heads,
            num_kv_heads: self.head_count_kv.unwrap_or(heads),
            head_dim,
            rms_norm_eps: self.rms_epsilon.unwrap_or(1e-5),
            rope_theta: self.rope_freq_base.unwrap_or(10_000.0),
            rope_scaling: None,
            tie_word_embeddings: !self.has_output_tensor,
            max_position_embeddings: self.context_length.unwrap_or(2048),
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_config_with_llama3_scaling_converts() {
        let json = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":128256,
            "hidden_size":3072,"intermediate_size":8192,"num_hidden_layers":28,"num_attention_heads":24,
            "num_key_value_heads":8,"head_dim":128,"rms_norm_eps":1e-5,"rope_theta":500000.0,
            "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
            "original_max_position_embeddings":8192,"rope_type":"llama3"},"tie_word_embeddings":true,
            "max_position_embeddings":131072,"hidden_act":"silu"}"#;
        let hf: HfLlamaConfig = serde_json::from_str(json).expect("valid json");
        let c = hf.into_config().expect("valid config");
        assert_eq!(c, ModelConfig::llama32_3b());
    }

    #[test]
    fn hf_config_rejects_uneven_gqa() {
        let json = r#"{"vocab_size":10,"hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,
            "num_attention_heads":4,"num_key_value_heads":3}"#;
        let hf: HfLlamaConfig = serde_json::from_str(json).expect("valid json");
        let err = hf.into_config().expect_err("4 heads over 3 kv heads");
        assert!(err.to_string().contains("num_key_value_heads"), "{err}");
    }
}
