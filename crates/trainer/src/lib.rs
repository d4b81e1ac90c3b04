//! Pipeline stage 4: QLoRA fine-tuning of Llama-family decoders on libtorch through `tch`.
//!
//! Input: a base model (a llama.cpp GGUF, dequantized tensor by tensor, or an HF safetensors
//! directory) and `dataset.rows` Parquet files; output: `runs/<id>/` with the adapter in PEFT
//! layout (`adapter_model.safetensors`, `adapter_config.json`) and as a llama.cpp GGUF LoRA
//! (`adapter.gguf`), `metrics.parquet` (`run.metrics`), `loss.png`, `hyperparams.json`,
//! `report.md`, a resumable `checkpoint.safetensors` and, with `export.merged`, the merged model
//! (`merged/` HF safetensors and `merged.gguf`). The frozen base is NF4 (4-bit, block
//! 64, optional double quantization) and is dequantized per forward pass; only the LoRA matrices
//! take gradients.
//!
//! Must not depend on another pipeline stage, on HTTP or on SurrealDB; it resolves no assets
//! (the binary does) and needs no GPU: CUDA is the `cuda` feature, and every test runs on CPU.
//!
//! Design choice: AdamW, the schedule and the data sampler are written here over plain tensors
//! instead of using `tch::nn::Optimizer`, because the whole training state must be checkpointed
//! and restored exactly (libtorch's optimizer state is not reachable through `tch`), and because
//! the only RNG state that matters is then derivable from `(seed, step)` and `(seed, epoch)`, so
//! resuming after a kill replays the identical run.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod export;
pub mod lora;
pub mod model;
pub mod nf4;
pub mod optim;
pub mod report;
pub mod settings;
pub mod train;
pub mod weights;

pub use config::{HfLlamaConfig, ModelConfig};
pub use error::TrainerError;
pub use model::{BuildOptions, LlamaModel, WeightSource};
pub use settings::TrainSettings;
pub use train::{RunOptions, RunSummary, run};
