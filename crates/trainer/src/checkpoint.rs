//! Checkpoints: the adapter tensors, both AdamW moments, and a JSON record of everything else
//! that determines the rest of the run (optimizer step, data position, seed, settings hash),
//! written as one safetensors file through a temp file and rename, so a kill at any moment leaves
//! either the previous checkpoint or the new one, whole.
//!
//! There is no RNG state to save beyond the seed: libtorch's generator (LoRA dropout) is
//! re-seeded from `(seed, step)` before every optimizer step, and the data order is a pure
//! function of `(seed, epoch)`, so `(step, position)` restores both exactly.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::data::DataPosition;
use crate::error::TrainerError;

/// The non-tensor part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps completed.
    pub step: u64,
    /// The sampler's position after the last completed step.
    pub position: DataPosition,
    /// The run's seed.
    pub seed: u64,
    /// Hash of the settings that must not change across a resume.
    pub settings_hash: String,
    /// Training tokens seen so far.
    pub tokens_seen: u64,
    /// Training wall time so far, seconds.
    pub train_seconds: f64,
}

fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    let t = t
        .to_kind(Kind::Float)
        .contiguous()
        .to_device(tch::Device::Cpu);
    let v = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32 tensor converts to Vec<f32>");
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Serializes named f32 tensors (and string metadata) as safetensors bytes.
pub fn safetensors_bytes(
    tensors: &[(String, &Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>, TrainerError> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.size().iter().map(|&d| d as usize).collect(),
                tensor_bytes(t),
            )
        })
        .collect();
    let views = data
        .iter()
        .map(|(n, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| TrainerError::Safetensors {
                    path: n.into(),
                    detail: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, metadata).map_err(|e| TrainerError::Safetensors {
        path: "<memory>".into(),
        detail: e.to_string(),
    })
}

/// Writes the checkpoint atomically.
pub fn save(
    path: &Path,
    state: &CheckpointState,
    params: &[(String, &Tensor)],
    m: &[Tensor],
    v: &[Tensor],
) -> Result<(), TrainerError> {
    let mut all: Vec<(String, &Tensor)> = Vec::with_capacity(params.len() * 3);
    for (i, (name, p)) in params.iter().enumerate() {
        all.push((format!("param.{name}"), *p));
        all.push((format!("adam_m.{name}"), &m[i]));
        all.push((format!("adam_v.{name}"), &v[i]));
    }
    let state_json = serde_json::to_string(state).expect("checkpoint state serializes");
    let bytes = safetensors_bytes(
        &all,
        Some(HashMap::from([("state".to_owned(), state_json)])),
    )?;
    artifacts::write_atomic(path, &bytes)?;
    Ok(())
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Loaded {
    /// The state record.
    pub state: CheckpointState,
    /// Tensors by name (`param.*`, `adam_m.*`, `adam_v.*`).
    pub tensors: HashMap<String, Tensor>,
}

/// Reads a checkpoint written by [`save`].
pub fn load(path: &Path) -> Result<Loaded, TrainerError> {
    let bytes = std::fs::read(path).map_err(|source| TrainerError::Io {
        action: "read the checkpoint",
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |detail: String| TrainerError::Safetensors {
        path: path.to_path_buf(),
        detail,
    };
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let state_json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("state"))
        .ok_or_else(|| bad("no `state` metadata; this is not a trainer checkpoint".into()))?;
    let state: CheckpointState =
        serde_json::from_str(state_json).map_err(|e| bad(e.to_string()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor {name} is {:?}, expected F32",
                view.dtype()
            )));
        }
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        tensors.insert(
            name,
            Tensor::f_from_data_size(view.data(), &shape, Kind::Float)?,
        );
    }
    Ok(Loaded { state, tensors })
}
