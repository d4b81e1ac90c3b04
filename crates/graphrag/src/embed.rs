//! Sentence embeddings: the [`Embed`] trait the engine uses, and [`MiniLm`], the local
//! all-MiniLM-L6-v2 ONNX model run by fastembed on ONNX Runtime.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The dimension of the store's vector indexes.
pub const DIMENSION: usize = 384;

/// Turns texts into unit-length vectors.
pub trait Embed: Send + Sync {
    /// One vector per text, each of length [`Embed::dimension`] and unit norm.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// The vector length.
    fn dimension(&self) -> usize;
    /// Identifies the model, so that vectors from different models are never mixed in a store.
    fn fingerprint(&self) -> &str;
}

/// Where the model's files are (the binary resolves them from the asset cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// `model.onnx`.
    pub onnx: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `special_tokens_map.json`.
    pub special_tokens_map: PathBuf,
    /// `tokenizer_config.json`.
    pub tokenizer_config: PathBuf,
    /// `libonnxruntime.so`.
    pub onnxruntime: PathBuf,
}

/// all-MiniLM-L6-v2 (mean pooling, 384-d) on ONNX Runtime.
pub struct MiniLm {
    model: Mutex<fastembed::TextEmbedding>,
    fingerprint: String,
    batch: usize,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::ModelFile {
        path: path.to_path_buf(),
        source,
    })
}

impl MiniLm {
    /// Loads the model with `threads` intra-op threads and `batch` texts per inference call.
    ///
    /// The ONNX Runtime library is checked before ort sees it: ort panics on a missing library,
    /// and a library must never panic on a user's misconfiguration.
    pub fn load(paths: &ModelPaths, threads: usize, batch: usize) -> Result<Self> {
        if !paths.onnxruntime.is_file() {
            return Err(Error::OrtMissing {
                path: paths.onnxruntime.clone(),
            });
        }
        // Read every file first, so a missing one is reported by name.
        let onnx = read(&paths.onnx)?;
        let tokenizer_files = fastembed::TokenizerFiles {
            tokenizer_file: read(&paths.tokenizer)?,
            config_file: read(&paths.config)?,
            special_tokens_map_file: read(&paths.special_tokens_map)?,
            tokenizer_config_file: read(&paths.tokenizer_config)?,
        };
        let _ = ort::init_from(&paths.onnxruntime).map_err(|e| Error::OrtLoad {
            path: paths.onnxruntime.clone(),
            message: e.to_string(),
        })?;
        let fingerprint = format!(
            "minilm-l6-v2:{}",
            &crate::text::content_hash_bytes(&onnx)[..16]
        );
        let model = fastembed::UserDefinedEmbeddingModel::new(onnx, tokenizer_files)
            .with_pooling(fastembed::Pooling::Mean);
        let options = fastembed::InitOptionsUserDefined::new()
            .with_max_length(256)
            .with_intra_threads(threads.max(1));
        let model =
            fastembed::TextEmbedding::try_new_from_user_defined(model, options).map_err(|e| {
                Error::ModelInvalid {
                    message: e.to_string(),
                }
            })?;
        let this = Self {
            model: Mutex::new(model),
            fingerprint,
            batch: batch.max(1),
        };
        // A model with another output size would silently break the HNSW indexes: probe once.
        let probe = this.embed(&["statistical power"])?;
        let got = probe.first().map_or(0, Vec::len);
        if got != DIMENSION {
            return Err(Error::Dimension {
                expected: DIMENSION,
                got,
            });
        }
        Ok(this)
    }
}

impl Embed for MiniLm {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut model = self.model.lock().map_err(|_| Error::ModelInvalid {
            message: "a previous embedding call panicked".into(),
        })?;
        let vectors = model
            .embed(texts, Some(self.batch))
            .map_err(|e| Error::ModelInvalid {
                message: e.to_string(),
            })?;
        Ok(vectors.into_iter().map(unit).collect())
    }

    fn dimension(&self) -> usize {
        DIMENSION
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Scales `v` to unit length (zero vectors stay zero).
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

/// Cosine similarity of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
