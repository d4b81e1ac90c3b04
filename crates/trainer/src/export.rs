//! Adapter exports: PEFT (`adapter_model.safetensors` + `adapter_config.json`, loadable with
//! `PeftModel.from_pretrained` onto the HF base) and a llama.cpp GGUF LoRA (`adapter.gguf`,
//! loadable with `llama_adapter_lora_init`, which the `llm` crate wraps).
//!
//! The GGUF side differs from PEFT in three ways, all handled here: tensor names follow llama.cpp
//! (`blk.{i}.attn_q.weight.lora_a`), shapes are listed in ggml order (the bytes are the same
//! row-major data), and the Q/K `lora_b` rows are permuted exactly as llama.cpp's converter
//! permutes the base Q/K weights, so that `B·A` lines up with the permuted base rows.

use std::path::Path;

use gguf::GgufValue;
use gguf::write::GgufWriter;
use serde::Serialize;
use tch::Tensor;

use crate::checkpoint::safetensors_bytes;
use crate::error::TrainerError;
use crate::lora::LoraSettings;
use crate::model::LlamaModel;
use crate::weights::{gguf_projection, permute_for_gguf};

/// PEFT's `adapter_config.json`.
#[derive(Debug, Clone, Serialize)]
pub struct PeftAdapterConfig {
    /// Always `LORA`.
    pub peft_type: &'static str,
    /// Always `CAUSAL_LM`.
    pub task_type: &'static str,
    /// Rank.
    pub r: i64,
    /// Scaling numerator.
    pub lora_alpha: f64,
    /// Dropout used in training.
    pub lora_dropout: f64,
    /// Adapted modules.
    pub target_modules: Vec<String>,
    /// The base model's name or path.
    pub base_model_name_or_path: String,
    /// Always `none`: no bias is trained.
    pub bias: &'static str,
    /// PEFT's flag for `alpha / √r` scaling; off (plain `alpha / r`).
    pub use_rslora: bool,
    /// Whether `lora_B` was transposed (GPT-2 Conv1D); never for Llama.
    pub fan_in_fan_out: bool,
    /// Inference mode when loaded.
    pub inference_mode: bool,
    /// Initialisation used (`true` is PEFT's Kaiming-A, zero-B).
    pub init_lora_weights: bool,
}

/// The PEFT tensor name of an internal adapter name.
pub fn peft_name(internal: &str) -> String {
    format!("base_model.model.{internal}")
}

/// Writes `adapter_model.safetensors` and `adapter_config.json` into `dir`.
pub fn write_peft(
    dir: &Path,
    model: &LlamaModel,
    lora: &LoraSettings,
    base_model: &str,
) -> Result<(), TrainerError> {
    let params: Vec<(String, &Tensor)> = model
        .lora_parameters()
        .into_iter()
        .map(|p| (peft_name(&p.name), p.tensor))
        .collect();
    let bytes = safetensors_bytes(
        &params,
        Some([("format".to_owned(), "pt".to_owned())].into()),
    )?;
    artifacts::write_atomic(dir.join("adapter_model.safetensors"), &bytes)?;
    let config = PeftAdapterConfig {
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        r: lora.r,
        lora_alpha: lora.alpha,
        lora_dropout: lora.dropout,
        target_modules: lora.target_modules.clone(),
        base_model_name_or_path: base_model.to_owned(),
        bias: "none",
        use_rslora: false,
        fan_in_fan_out: false,
        inference_mode: true,
        init_lora_weights: true,
    };
    let json = serde_json::to_vec_pretty(&config).expect("adapter config serializes");
    artifacts::write_atomic(dir.join("adapter_config.json"), &json)?;
    Ok(())
}

/// The llama.cpp tensor name for an internal adapter name, for example
/// `model.layers.0.self_attn.q_proj.lora_A.weight` → `blk.0.attn_q.weight.lora_a`.
pub fn gguf_adapter_name(internal: &str) -> Option<String> {
    let rest = internal.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let mut parts = rest.split('.');
    let _group = parts.next()?;
    let module = parts.next()?;
    let which = match parts.next()? {
        "lora_A" => "lora_a",
        "lora_B" => "lora_b",
        _ => return None,
    };
    Some(format!(
        "blk.{layer}.{}.weight.{which}",
        gguf_projection(module)?
    ))
}

/// Builds `adapter.gguf` for a base whose `general.architecture` is `architecture`.
pub fn gguf_adapter_bytes(
    model: &LlamaModel,
    lora: &LoraSettings,
    architecture: &str,
    name: &str,
) -> Result<Vec<u8>, TrainerError> {
    let c = model.config();
    let mut w = GgufWriter::new();
    w.metadata(
        "general.architecture",
        GgufValue::String(architecture.to_owned()),
    )?;
    w.metadata("general.type", GgufValue::String("adapter".into()))?;
    w.metadata("general.name", GgufValue::String(name.to_owned()))?;
    w.metadata("adapter.type", GgufValue::String("lora".into()))?;
    w.metadata("adapter.lora.alpha", GgufValue::F32(lora.alpha as f32))?;
    for p in model.lora_parameters() {
        let Some(gname) = gguf_adapter_name(&p.name) else {
            continue;
        };
        let t = tch::no_grad(|| {
            let t = p
                .tensor
                .to_kind(tch::Kind::Float)
                .to_device(tch::Device::Cpu);
            if p.name.contains("q_proj.lora_B") {
                permute_for_gguf(&t, c.num_heads)
            } else if p.name.contains("k_proj.lora_B") {
                permute_for_gguf(&t, c.num_kv_heads)
            } else {
                t
            }
        });
        let size = t.size();
        let shape: Vec<u64> = size.iter().rev().map(|&d| d as u64).collect();
        let data = Vec::<f32>::try_from(t.contiguous().flatten(0, -1))?;
        w.tensor_f32(&gname, &shape, data)?;
    }
    Ok(w.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapter_names_follow_llama_cpp() {
        assert_eq!(
            gguf_adapter_name("model.layers.12.mlp.down_proj.lora_B.weight").as_deref(),
            Some("blk.12.ffn_down.weight.lora_b")
        );
        assert_eq!(
            gguf_adapter_name("model.layers.0.self_attn.q_proj.lora_A.weight").as_deref(),
            Some("blk.0.attn_q.weight.lora_a")
        );
        assert_eq!(
            peft_name("model.layers.0.self_attn.q_proj.lora_A.weight"),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
        );
    }
}
