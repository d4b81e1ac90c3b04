//! Helpers shared by the trainer's integration tests: the fixture paths, the asset-cache GGUF,
//! and settings for a run in a temporary directory.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use trainer::TrainSettings;
use trainer::lora::LoraSettings;
use trainer::settings::{
    DataSettings, ExportSettings, LoopSettings, ModelSettings, QuantSettings, ReportSettings,
};

/// The SmolLM2 GGUF from the asset cache (`cargo xtask setup` installs it).
pub fn smollm2() -> PathBuf {
    assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .unwrap_or_else(|e| panic!("these tests need the SmolLM2 GGUF from the asset cache ({e}); run `cargo xtask setup`"))
}

/// `tests/data/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A run of the tiny random model (2 layers, d=64) on the fixture, in `runs_dir`.
pub fn tiny_settings(runs_dir: &Path, run_id: &str, steps: u64) -> TrainSettings {
    TrainSettings {
        run_id: run_id.to_owned(),
        runs_dir: runs_dir.to_path_buf(),
        model: ModelSettings {
            gguf: None,
            hf_dir: None,
            random: Some("tiny".into()),
            tokenizer_gguf: Some(smollm2()),
            base_model_name: None,
        },
        data: DataSettings {
            train: fixture("train.parquet"),
            val: Some(fixture("val.parquet")),
            max_seq_len: 192,
            packing: false,
        },
        lora: LoraSettings {
            r: 8,
            alpha: 16.0,
            dropout: 0.05,
            ..LoraSettings::default()
        },
        quant: QuantSettings {
            enabled: true,
            double_quant: true,
        },
        train: LoopSettings {
            steps,
            batch_size: 4,
            grad_accum: 1,
            lr: 1e-2,
            warmup_steps: steps / 10,
            min_lr_ratio: 0.1,
            weight_decay: 0.0,
            betas: (0.9, 0.999),
            eps: 1e-8,
            clip_norm: 1.0,
            eval_every: 50,
            eval_batches: 4,
            checkpoint_every: 0,
            seed: 7,
            threads: 1,
            use_cuda: false,
            gradient_checkpointing: false,
        },
        report: ReportSettings::default(),
        export: ExportSettings::default(),
    }
}

/// libtorch's random generator is global to the process, and the test harness runs tests on
/// parallel threads: tests that seed it and train hold this lock, so their runs stay
/// reproducible.
pub fn torch_rng_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
