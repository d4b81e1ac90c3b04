//! Weight sources for [`crate::model::LlamaModel::build`]: a GGUF file (dequantized tensor by
//! tensor, Q/K rows un-permuted back to HF's rotary layout) and HF safetensors (single file or
//! sharded with `model.safetensors.index.json`, read tensor by tensor with positioned reads, so
//! a shard is never loaded whole).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use gguf::GgufFile;
use tch::{Kind, Tensor};

use crate::config::{GgufLlamaMeta, HfLlamaConfig, ModelConfig};
use crate::error::TrainerError;
use crate::model::WeightSource;

/// The GGUF tensor name of an HF Llama weight name.
pub fn gguf_name(hf: &str) -> Option<String> {
    match hf {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, module) = rest.split_once('.')?;
    let g = match module {
        "input_layernorm.weight" => "attn_norm",
        "self_attn.q_proj.weight" => "attn_q",
        "self_attn.k_proj.weight" => "attn_k",
        "self_attn.v_proj.weight" => "attn_v",
        "self_attn.o_proj.weight" => "attn_output",
        "post_attention_layernorm.weight" => "ffn_norm",
        "mlp.gate_proj.weight" => "ffn_gate",
        "mlp.up_proj.weight" => "ffn_up",
        "mlp.down_proj.weight" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{g}.weight"))
}

/// The GGUF base name (without `.weight`) of an HF projection module, for adapter tensors.
pub fn gguf_projection(module: &str) -> Option<&'static str> {
    Some(match module {
        "q_proj" => "attn_q",
        "k_proj" => "attn_k",
        "v_proj" => "attn_v",
        "o_proj" => "attn_output",
        "gate_proj" => "ffn_gate",
        "up_proj" => "ffn_up",
        "down_proj" => "ffn_down",
        _ => return None,
    })
}

/// llama.cpp's conversion reorders each head's Q/K rows from HF's rotate-half layout to the
/// interleaved pairs its rope kernel uses. This applies that permutation (`[out, …]` rows).
pub fn permute_for_gguf(w: &Tensor, n_head: i64) -> Tensor {
    let size = w.size();
    let out = size[0];
    let mut shape = vec![n_head, 2, out / n_head / 2];
    shape.extend_from_slice(&size[1..]);
    w.reshape(shape.as_slice())
        .transpose(1, 2)
        .reshape(size.as_slice())
}

/// The inverse of [`permute_for_gguf`]: GGUF Q/K rows back to HF's layout.
pub fn unpermute_from_gguf(w: &Tensor, n_head: i64) -> Tensor {
    let size = w.size();
    let out = size[0];
    let mut shape = vec![n_head, out / n_head / 2, 2];
    shape.extend_from_slice(&size[1..]);
    w.reshape(shape.as_slice())
        .transpose(1, 2)
        .reshape(size.as_slice())
}

/// A Llama GGUF file as a weight source.
#[derive(Debug)]
pub struct GgufWeights {
    file: GgufFile,
    config: ModelConfig,
}

impl GgufWeights {
    /// Opens `path` and reads the model configuration from its metadata.
    pub fn open(path: &Path) -> Result<Self, TrainerError> {
        let file = GgufFile::open(path)?;
        let arch = file.get_str("general.architecture")?.to_owned();
        let int = |key: &str| file.get(&format!("{arch}.{key}")).and_then(|v| v.as_i64());
        let float = |key: &str| file.get(&format!("{arch}.{key}")).and_then(|v| v.as_f64());
        let vocab = int("vocab_size").or_else(|| {
            file.get("tokenizer.ggml.tokens")
                .and_then(|v| v.as_array())
                .map(|a| a.len() as i64)
        });
        let meta = GgufLlamaMeta {
            architecture: arch.clone(),
            vocab_size: vocab,
            embedding_length: int("embedding_length"),
            feed_forward_length: int("feed_forward_length"),
            block_count: int("block_count"),
            head_count: int("attention.head_count"),
            head_count_kv: int("attention.head_count_kv"),
            rope_dimension_count: int("rope.dimension_count"),
            key_length: int("attention.key_length"),
            rms_epsilon: float("attention.layer_norm_rms_epsilon"),
            rope_freq_base: float("rope.freq_base"),
            context_length: int("context_length"),
            has_output_tensor: file.tensor("output.weight").is_some(),
        };
        let config = meta.into_config()?;
        Ok(Self { file, config })
    }

    /// The open file (metadata for the tokenizer and template).
    pub fn file(&self) -> &GgufFile {
        &self.file
    }

    fn read(&self, gguf: &str) -> Result<Tensor, TrainerError> {
        let info = self
            .file
            .tensor(gguf)
            .ok_or_else(|| TrainerError::MissingTensor {
                name: gguf.to_owned(),
                path: self.file.path().to_path_buf(),
            })?;
        let bytes = self.file.tensor_bytes(info)?;
        let n = info.n_elements() as usize;
        let values = gguf::dequant::dequantize(info.ggml_type, &bytes, n).map_err(|source| {
            TrainerError::Dequant {
                name: gguf.to_owned(),
                source,
            }
        })?;
        // ggml lists the contiguous dimension first; row-major shape is the reverse.
        let shape: Vec<i64> = info.shape.iter().rev().map(|&d| d as i64).collect();
        Ok(Tensor::from_slice(&values).view(shape.as_slice()))
    }
}

impl WeightSource for GgufWeights {
    fn config(&self) -> &ModelConfig {
        &self.config
    }
    fn contains(&self, name: &str) -> bool {
        gguf_name(name).is_some_and(|g| self.file.tensor(&g).is_some())
    }
    fn load(&mut self, name: &str) -> Result<Tensor, TrainerError> {
        let g = gguf_name(name).ok_or_else(|| TrainerError::MissingTensor {
            name: name.to_owned(),
            path: self.file.path().to_path_buf(),
        })?;
        let t = self.read(&g)?;
        Ok(if name.ends_with("q_proj.weight") {
            unpermute_from_gguf(&t, self.config.num_heads)
        } else if name.ends_with("k_proj.weight") {
            unpermute_from_gguf(&t, self.config.num_kv_heads)
        } else {
            t
        })
    }
    fn rope_freq_factors(&mut self) -> Result<Option<Tensor>, TrainerError> {
        if self.file.tensor("rope_freqs.weight").is_some() {
            Ok(Some(self.read("rope_freqs.weight")?))
        } else {
            Ok(None)
        }
    }
}

#[derive(Debug, Clone)]
struct StEntry {
    file: usize,
    dtype: String,
    shape: Vec<i64>,
    start: u64,
    end: u64,
}

/// An HF model directory (`config.json` plus `model.safetensors` or sharded files with
/// `model.safetensors.index.json`) as a weight source.
#[derive(Debug)]
pub struct SafetensorsWeights {
    dir: PathBuf,
    files: Vec<(PathBuf, File)>,
    entries: BTreeMap<String, StEntry>,
    config: ModelConfig,
}

impl SafetensorsWeights {
    /// Opens the model directory and reads every shard's header (not its data).
    pub fn open(dir: &Path) -> Result<Self, TrainerError> {
        let config = HfLlamaConfig::from_file(&dir.join("config.json"))?.into_config()?;
        let index = dir.join("model.safetensors.index.json");
        let shard_names: Vec<String> = if index.exists() {
            let text = std::fs::read_to_string(&index).map_err(|source| TrainerError::Io {
                action: "read",
                path: index.clone(),
                source,
            })?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| TrainerError::Parse {
                    path: index.clone(),
                    detail: e.to_string(),
                })?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| TrainerError::Parse {
                    path: index.clone(),
                    detail: "no `weight_map` object".into(),
                })?;
            let mut names: Vec<String> = map
                .values()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            names.sort();
            names.dedup();
            names
        } else {
            vec!["model.safetensors".to_owned()]
        };
        let mut files = Vec::new();
        let mut entries = BTreeMap::new();
        for (i, name) in shard_names.iter().enumerate() {
            let path = dir.join(name);
            let file = File::open(&path).map_err(|source| TrainerError::Io {
                action: "open",
                path: path.clone(),
                source,
            })?;
            for (tensor, entry) in read_header(&path, &file, i)? {
                entries.insert(tensor, entry);
            }
            files.push((path, file));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
            entries,
            config,
        })
    }
}

fn read_header(
    path: &Path,
    file: &File,
    index: usize,
) -> Result<Vec<(String, StEntry)>, TrainerError> {
    let bad = |detail: String| TrainerError::Safetensors {
        path: path.to_path_buf(),
        detail,
    };
    let io = |source| TrainerError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut len = [0u8; 8];
    file.read_exact_at(&mut len, 0).map_err(io)?;
    let n = u64::from_le_bytes(len);
    if n > 100_000_000 {
        return Err(bad(format!("header of {n} bytes is implausible")));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact_at(&mut header, 8).map_err(io)?;
    let v: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header is not JSON: {e}")))?;
    let mut out = Vec::new();
    for (name, info) in v {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info
            .get("dtype")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_owned();
        let shape: Vec<i64> = info
            .get("shape")
            .and_then(|s| s.as_array())
            .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default();
        let offsets: Vec<u64> = info
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
            .unwrap_or_default();
        if offsets.len() != 2 {
            return Err(bad(format!("tensor {name} has no data_offsets pair")));
        }
        out.push((
            name,
            StEntry {
                file: index,
                dtype,
                shape,
                start: 8 + n + offsets[0],
                end: 8 + n + offsets[1],
            },
        ));
    }
    Ok(out)
}

impl WeightSource for SafetensorsWeights {
    fn config(&self) -> &ModelConfig {
        &self.config
    }
    fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
    fn load(&mut self, name: &str) -> Result<Tensor, TrainerError> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| TrainerError::MissingTensor {
                name: name.to_owned(),
                path: self.dir.clone(),
            })?;
        let (path, file) = &self.files[e.file];
        let mut bytes = vec![0u8; (e.end - e.start) as usize];
        file.read_exact_at(&mut bytes, e.start)
            .map_err(|source| TrainerError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
        let kind = match e.dtype.as_str() {
            "F32" => Kind::Float,
            "F16" => Kind::Half,
            "BF16" => Kind::BFloat16,
            other => {
                return Err(TrainerError::Safetensors {
                    path: path.clone(),
                    detail: format!(
                        "tensor {name} has dtype {other}; only F32, F16 and BF16 are read"
                    ),
                });
            }
        };
        Ok(Tensor::f_from_data_size(&bytes, &e.shape, kind)?.to_kind(Kind::Float))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_round_trips_and_interleaves() {
        let w = Tensor::arange(8 * 3, (Kind::Float, tch::Device::Cpu)).view([8, 3]);
        let p = permute_for_gguf(&w, 2);
        // Head 0 has HF rows 0..4 (halves 0,1 | 2,3); GGUF interleaves them as 0,2,1,3.
        let rows = Vec::<f32>::try_from(p.select(1, 0)).expect("f32");
        assert_eq!(rows, vec![0.0, 6.0, 3.0, 9.0, 12.0, 18.0, 15.0, 21.0]);
        let back = unpermute_from_gguf(&p, 2);
        assert_eq!(back.eq_tensor(&w).all().int64_value(&[]), 1);
    }

    #[test]
    fn hf_names_map_to_gguf() {
        assert_eq!(
            gguf_name("model.layers.3.self_attn.o_proj.weight").as_deref(),
            Some("blk.3.attn_output.weight")
        );
        assert_eq!(
            gguf_name("model.layers.0.post_attention_layernorm.weight").as_deref(),
            Some("blk.0.ffn_norm.weight")
        );
        assert_eq!(gguf_name("model.layers.0.mlp.bogus.weight"), None);
    }
}
