//! Adapter exports: PEFT (`adapter_model.safetensors` + `adapter_config.json`, loadable with
//! `PeftModel.from_pretrained` onto the HF base) and a llama.cpp GGUF LoRA (`adapter.gguf`,
//! loadable with `llama_adapter_lora_init`, which the `llm` crate wraps).
//!
//! The GGUF side differs from PEFT in three ways, all handled here: tensor names follow llama.cpp
//! (`blk.{i}.attn_q.weight.lora_a`), shapes are listed in ggml order (the bytes are the same
//! row-major data), and the Q/K `lora_b` rows are permuted exactly as llama.cpp's converter
//! permutes the base Q/K weights, so that `B·A` lines up with the permuted base rows.
//!
//! The optional merged model (`export.merged`) folds every adapter into the dequantized base,
//! `W' = W + (alpha / r)·B·A`, and writes it twice in f32: `merged/` as an HF directory
//! (`model.safetensors`, `config.json`, `tokenizer.json`, `tokenizer_config.json`; loadable by
//! this crate's safetensors path, `transformers` and PEFT-free tools) and `merged.gguf` for
//! llama.cpp (llama.cpp names, Q/K rows permuted, the tokenizer and chat template copied from the
//! base GGUF). Both are built in memory and written atomically.

use std::path::Path;

use gguf::write::GgufWriter;
use gguf::{ChatTemplate, GgufFile, GgufTokenizer, GgufValue};
use serde::Serialize;
use tch::Tensor;

use crate::checkpoint::safetensors_bytes;
use crate::config::ModelConfig;
use crate::error::TrainerError;
use crate::lora::LoraSettings;
use crate::model::{LlamaModel, rope_inv_freq};
use crate::weights::{gguf_name, gguf_projection, permute_for_gguf};

/// The merged HF directory inside the run directory.
pub const MERGED_DIR: &str = "merged";
/// The merged llama.cpp model inside the run directory.
pub const MERGED_GGUF: &str = "merged.gguf";

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

/// Refuses a merged export the HF `config.json` cannot describe: a base whose Llama 3.x rope
/// scaling came as a GGUF `rope_freqs.weight` tensor (not as `rope_scaling` parameters). Checked
/// right after the model is built, so a run fails before training rather than after.
pub fn check_mergeable(model: &LlamaModel) -> Result<(), TrainerError> {
    if model.rope_freq_factors().is_some() && model.config().rope_scaling.is_none() {
        return Err(TrainerError::InvalidSetting {
            field: "export.merged",
            detail: "the base GGUF carries its rope scaling as `rope_freqs.weight`, which an HF \
                     config.json cannot express; train from the HF directory (`model.hf_dir`) \
                     for a merged export, or set `export.merged = false`"
                .into(),
        });
    }
    Ok(())
}

/// The HF `config.json` of a merged model with configuration `c` (f32 weights).
pub fn hf_config_json(c: &ModelConfig) -> Vec<u8> {
    let rope_scaling = c.rope_scaling.map(|s| {
        serde_json::json!({
            "rope_type": "llama3",
            "factor": s.factor,
            "low_freq_factor": s.low_freq_factor,
            "high_freq_factor": s.high_freq_factor,
            "original_max_position_embeddings": s.original_max_position_embeddings,
        })
    });
    let v = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_layers,
        "num_attention_heads": c.num_heads,
        "num_key_value_heads": c.num_kv_heads,
        "head_dim": c.head_dim,
        "rms_norm_eps": c.rms_norm_eps,
        "rope_theta": c.rope_theta,
        "rope_scaling": rope_scaling,
        "tie_word_embeddings": c.tie_word_embeddings,
        "max_position_embeddings": c.max_position_embeddings,
        "hidden_act": "silu",
        "attention_bias": false,
        "mlp_bias": false,
        "torch_dtype": "float32",
    });
    serde_json::to_vec_pretty(&v).expect("the config serializes")
}

/// `model.safetensors` of the merged model (f32, HF names and rotary layout).
pub fn merged_safetensors_bytes(merged: &[(String, Tensor)]) -> Result<Vec<u8>, TrainerError> {
    let named: Vec<(String, &Tensor)> = merged.iter().map(|(n, t)| (n.clone(), t)).collect();
    safetensors_bytes(
        &named,
        Some([("format".to_owned(), "pt".to_owned())].into()),
    )
}

/// Metadata keys of the base GGUF that describe the file or the architecture rather than the
/// vocabulary; the merged file sets its own.
fn is_own_key(key: &str) -> bool {
    key.starts_with("llama.")
        || matches!(
            key,
            "general.architecture"
                | "general.type"
                | "general.name"
                | "general.file_type"
                | "general.alignment"
                | "general.quantization_version"
        )
}

/// `merged.gguf`: the merged f32 weights in llama.cpp's names, with Q/K rows permuted to its
/// rotary layout, the `llama.*` hyperparameters from the model's config, and every other
/// metadata key (tokenizer, chat template, provenance) copied from `base`.
pub fn merged_gguf_bytes(
    model: &LlamaModel,
    merged: &[(String, Tensor)],
    base: &GgufFile,
    name: &str,
) -> Result<Vec<u8>, TrainerError> {
    let c = model.config();
    let mut w = GgufWriter::new();
    let u32v = |v: i64| GgufValue::U32(v as u32);
    w.metadata("general.architecture", GgufValue::String("llama".into()))?;
    w.metadata("general.type", GgufValue::String("model".into()))?;
    w.metadata("general.name", GgufValue::String(name.to_owned()))?;
    // llama.cpp's LLAMA_FTYPE_ALL_F32.
    w.metadata("general.file_type", GgufValue::U32(0))?;
    w.metadata("llama.vocab_size", u32v(c.vocab_size))?;
    w.metadata("llama.context_length", u32v(c.max_position_embeddings))?;
    w.metadata("llama.embedding_length", u32v(c.hidden_size))?;
    w.metadata("llama.feed_forward_length", u32v(c.intermediate_size))?;
    w.metadata("llama.block_count", u32v(c.num_layers))?;
    w.metadata("llama.attention.head_count", u32v(c.num_heads))?;
    w.metadata("llama.attention.head_count_kv", u32v(c.num_kv_heads))?;
    w.metadata("llama.attention.key_length", u32v(c.head_dim))?;
    w.metadata("llama.attention.value_length", u32v(c.head_dim))?;
    w.metadata("llama.rope.dimension_count", u32v(c.head_dim))?;
    w.metadata("llama.rope.freq_base", GgufValue::F32(c.rope_theta as f32))?;
    w.metadata(
        "llama.attention.layer_norm_rms_epsilon",
        GgufValue::F32(c.rms_norm_eps as f32),
    )?;
    for (key, value) in base.metadata() {
        if !is_own_key(key) {
            w.metadata(key, value.clone())?;
        }
    }
    for (hf, t) in merged {
        let gname = gguf_name(hf).ok_or_else(|| TrainerError::MissingTensor {
            name: hf.clone(),
            path: MERGED_GGUF.into(),
        })?;
        let t = if hf.ends_with("q_proj.weight") {
            permute_for_gguf(t, c.num_heads)
        } else if hf.ends_with("k_proj.weight") {
            permute_for_gguf(t, c.num_kv_heads)
        } else {
            t.shallow_clone()
        };
        push_f32(&mut w, &gname, &t)?;
    }
    // Llama 3.x scaling reaches llama.cpp as per-frequency divisors, as its converter writes it.
    let factors = match (model.rope_freq_factors(), &c.rope_scaling) {
        (Some(f), _) => Some(f.shallow_clone()),
        (None, Some(s)) => Some(
            rope_inv_freq(c.head_dim, c.rope_theta, None)
                / rope_inv_freq(c.head_dim, c.rope_theta, Some(s)),
        ),
        (None, None) => None,
    };
    if let Some(f) = factors {
        push_f32(&mut w, "rope_freqs.weight", &f.to_kind(tch::Kind::Float))?;
    }
    Ok(w.to_bytes())
}

fn push_f32(w: &mut GgufWriter, name: &str, t: &Tensor) -> Result<(), TrainerError> {
    let shape: Vec<u64> = t.size().iter().rev().map(|&d| d as u64).collect();
    let data = Vec::<f32>::try_from(t.contiguous().flatten(0, -1))?;
    w.tensor_f32(name, &shape, data)?;
    Ok(())
}

/// `tokenizer_config.json` for the merged directory: the chat template with its BOS and EOS.
pub fn tokenizer_config_json(template: &ChatTemplate) -> Vec<u8> {
    let v = serde_json::json!({
        "chat_template": template.source(),
        "bos_token": template.bos_token(),
        "eos_token": template.eos_token(),
    });
    serde_json::to_vec_pretty(&v).expect("the tokenizer config serializes")
}

/// What [`write_merged`] wrote.
#[derive(Debug, Clone)]
pub struct MergedPaths {
    /// The HF directory.
    pub hf_dir: std::path::PathBuf,
    /// The llama.cpp file, when a base GGUF supplied the tokenizer metadata.
    pub gguf: Option<std::path::PathBuf>,
}

/// Writes the merged model into `run_dir`: `merged/` always, `merged.gguf` when `base_gguf`
/// (the GGUF the tokenizer came from) is given, since llama.cpp needs its vocabulary metadata.
pub fn write_merged(
    run_dir: &Path,
    model: &LlamaModel,
    tokenizer: &GgufTokenizer,
    template: &ChatTemplate,
    base_gguf: Option<&Path>,
    name: &str,
) -> Result<MergedPaths, TrainerError> {
    check_mergeable(model)?;
    let merged = model.merged_weights();
    let hf_dir = run_dir.join(MERGED_DIR);
    std::fs::create_dir_all(&hf_dir).map_err(|source| TrainerError::Io {
        action: "create",
        path: hf_dir.clone(),
        source,
    })?;
    artifacts::write_atomic(
        hf_dir.join("model.safetensors"),
        &merged_safetensors_bytes(&merged)?,
    )?;
    artifacts::write_atomic(hf_dir.join("config.json"), &hf_config_json(model.config()))?;
    artifacts::write_atomic(
        hf_dir.join("tokenizer.json"),
        tokenizer.to_json().as_bytes(),
    )?;
    artifacts::write_atomic(
        hf_dir.join("tokenizer_config.json"),
        &tokenizer_config_json(template),
    )?;
    let gguf = match base_gguf {
        Some(p) => {
            let base = GgufFile::open(p)?;
            let bytes = merged_gguf_bytes(model, &merged, &base, name)?;
            let out = run_dir.join(MERGED_GGUF);
            artifacts::write_atomic(&out, &bytes)?;
            Some(out)
        }
        None => None,
    };
    Ok(MergedPaths { hf_dir, gguf })
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
