//! What a process serving the assistant builds at start, from the config files and paths it is
//! given: the language model (the local GGUF, optionally with the newest fine-tuned LoRA adapter,
//! or an OpenAI-compatible server), then [`OpenOptions`]. Binaries (`ask`, `inference-api`)
//! resolve the paths; this module only reads what it is pointed at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use graphrag::embed::ModelPaths;
use llm::{ChatModel, LlmConfig, LocalConfig, LocalModel, OpenAiCompatible, OpenAiConfig};
use serde::Deserialize;

use crate::config::AssistantConfig;
use crate::{AssistantError, OpenOptions};

/// Which model phrases the answers (`[model]` in `configs/assistant.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelChoice {
    /// The local GGUF through llama.cpp (the default: the asset cache's SmolLM2).
    #[default]
    Local,
    /// An OpenAI-compatible server (vLLM, Ollama, a llama.cpp server).
    OpenaiCompatible {
        /// Base URL up to `/v1`.
        base_url: String,
        /// The model name the server knows.
        model: String,
        /// Environment variable holding a bearer key, if the server wants one.
        api_key_env: Option<String>,
    },
    /// No model: structured answers only.
    None,
}

/// The files and choices a serving process starts from.
#[derive(Debug, Clone)]
pub struct RuntimeSpec {
    /// `data/knowledge`.
    pub knowledge_dir: PathBuf,
    /// `artifacts/raw`, indexed when present.
    pub raw_dir: Option<PathBuf>,
    /// `configs/assistant.toml` (its `[model]` table is read here, the rest by
    /// [`AssistantConfig`]).
    pub assistant_config: Option<PathBuf>,
    /// `configs/graphrag.toml`.
    pub graphrag_config: Option<PathBuf>,
    /// `configs/llm.toml`.
    pub llm_config: PathBuf,
    /// The local GGUF.
    pub chat_model: PathBuf,
    /// A GGUF LoRA adapter to serve on top of it.
    pub adapter: Option<PathBuf>,
    /// llama.cpp threads (0: the llm crate's default for this machine).
    pub threads: u32,
    /// The embedding model's files.
    pub embedding: ModelPaths,
    /// Whether to bring the index up to date at start.
    pub index: bool,
    /// Overrides the store location of the graphrag config (`mem://` in tests).
    pub store_location: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct ModelSection {
    #[serde(default)]
    model: ModelChoice,
}

fn read(path: &Path) -> Result<String, AssistantError> {
    std::fs::read_to_string(path).map_err(|e| AssistantError::Config {
        reason: format!("cannot read {}: {e}", path.display()),
    })
}

/// Splits `configs/assistant.toml` into the pipeline settings and the model choice.
pub fn load_assistant_config(
    path: Option<&Path>,
) -> Result<(AssistantConfig, ModelChoice), AssistantError> {
    let Some(path) = path else {
        return Ok((AssistantConfig::default(), ModelChoice::default()));
    };
    let text = read(path)?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| AssistantError::Config {
        reason: format!("{}: {e}", path.display()),
    })?;
    let model_table = table.remove("model");
    let config =
        AssistantConfig::from_toml(&toml::to_string(&table).unwrap_or_default()).map_err(|e| {
            AssistantError::Config {
                reason: format!("{}: {e}", path.display()),
            }
        })?;
    let choice = match model_table {
        None => ModelChoice::default(),
        Some(value) => {
            let mut wrapper = toml::Table::new();
            wrapper.insert("model".into(), value);
            let section: ModelSection =
                toml::Value::Table(wrapper)
                    .try_into()
                    .map_err(|e: toml::de::Error| AssistantError::Config {
                        reason: format!("{} [model]: {e}", path.display()),
                    })?;
            section.model
        }
    };
    Ok((config, choice))
}

/// Builds the language model the spec asks for.
pub fn build_model(
    spec: &RuntimeSpec,
    choice: &ModelChoice,
) -> Result<Option<Arc<dyn ChatModel>>, AssistantError> {
    let llm_config = LlmConfig::load(&spec.llm_config).map_err(|e| AssistantError::Config {
        reason: format!("{}: {e}", spec.llm_config.display()),
    })?;
    match choice {
        ModelChoice::None => Ok(None),
        ModelChoice::Local => {
            let mut local = LocalConfig::from_defaults(&spec.chat_model, &llm_config.local);
            if spec.threads > 0 {
                local.threads = spec.threads;
            }
            if let Some(adapter) = &spec.adapter {
                local.adapters.push(llm::AdapterSpec {
                    name: "finetuned".into(),
                    path: adapter.clone(),
                });
            }
            let model = LocalModel::load(local).map_err(|e| AssistantError::Open {
                what: format!("loading the chat model {}", spec.chat_model.display()),
                source: Box::new(e),
            })?;
            let model = if spec.adapter.is_some() {
                model
                    .with_adapter("finetuned", 1.0)
                    .map_err(AssistantError::Generation)?
            } else {
                model
            };
            Ok(Some(Arc::new(model)))
        }
        ModelChoice::OpenaiCompatible {
            base_url,
            model,
            api_key_env,
        } => {
            let mut config = OpenAiConfig::new(base_url.clone(), model.clone());
            if let Some(var) = api_key_env {
                let key = std::env::var(var).map_err(|_| AssistantError::Config {
                    reason: format!("[model] api_key_env names {var}, which is not set"),
                })?;
                config.api_key = Some(llm::ApiKey::new(key));
            }
            config.connect_timeout = llm_config.timeouts.connect();
            let policy = llm::HttpPolicy {
                retry: llm_config.retry,
                limits: Some(Arc::new(llm::RateLimits::new(
                    llm_config.rate_limit("openai_compatible"),
                ))),
                budget: None,
            };
            let client =
                OpenAiCompatible::new(config, policy).map_err(AssistantError::Generation)?;
            Ok(Some(Arc::new(client)))
        }
    }
}

/// Reads the configs and builds [`OpenOptions`].
pub fn open_options(spec: &RuntimeSpec) -> Result<OpenOptions, AssistantError> {
    let (config, choice) = load_assistant_config(spec.assistant_config.as_deref())?;
    let mut graphrag_config = match &spec.graphrag_config {
        Some(p) => graphrag::Config::from_path(p).map_err(|e| AssistantError::Config {
            reason: format!("{}: {e}", p.display()),
        })?,
        None => graphrag::Config::default(),
    };
    if let Some(location) = &spec.store_location {
        graphrag_config.store.location = location.clone();
    }
    let model = build_model(spec, &choice)?;
    Ok(OpenOptions {
        knowledge_dir: spec.knowledge_dir.clone(),
        raw_dir: spec.raw_dir.clone(),
        graphrag: graphrag_config,
        embedding: spec.embedding.clone(),
        model,
        config,
        index: spec.index,
        progress: None,
    })
}

/// The embedding model's files from the asset cache, with ONNX Runtime from `ORT_DYLIB_PATH`
/// when set (the `ort` crate's own override) and from the cache otherwise.
pub fn embedding_model_paths(cache: &assets::AssetCache) -> Result<ModelPaths, assets::AssetError> {
    let files = cache.embedding_model()?;
    let onnxruntime = match std::env::var_os("ORT_DYLIB_PATH") {
        Some(path) => PathBuf::from(path),
        None => cache.onnxruntime_library()?,
    };
    Ok(ModelPaths {
        onnx: files.onnx,
        tokenizer: files.tokenizer,
        config: files.config,
        special_tokens_map: files.special_tokens_map,
        tokenizer_config: files.tokenizer_config,
        onnxruntime,
    })
}

/// The newest `runs/<id>/adapter.gguf` under `runs_dir`, by modification time.
pub fn newest_adapter(runs_dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(runs_dir).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path().join("adapter.gguf"))
        .filter(|p| p.is_file())
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_table_is_split_from_the_pipeline_settings() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("assistant.toml");
        std::fs::write(
            &path,
            "top_k = 5\n[model]\nbackend = \"openai_compatible\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
        )
        .expect("write");
        let (config, choice) = load_assistant_config(Some(&path)).expect("parses");
        assert_eq!(config.top_k, 5);
        assert_eq!(
            choice,
            ModelChoice::OpenaiCompatible {
                base_url: "http://127.0.0.1:9/v1".into(),
                model: "m".into(),
                api_key_env: None
            }
        );
    }

    #[test]
    fn unknown_keys_and_backends_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("assistant.toml");
        std::fs::write(&path, "top_kk = 5\n").expect("write");
        let err = load_assistant_config(Some(&path)).expect_err("unknown key");
        assert!(err.to_string().contains("top_kk"), "{err}");
        std::fs::write(&path, "[model]\nbackend = \"gpt\"\n").expect("write");
        let err = load_assistant_config(Some(&path)).expect_err("unknown backend");
        assert!(err.to_string().contains("assistant.toml"), "{err}");
    }

    #[test]
    fn newest_adapter_picks_the_latest_run_with_an_adapter() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(newest_adapter(dir.path()), None);
        for run in ["a", "b"] {
            std::fs::create_dir_all(dir.path().join(run)).expect("mkdir");
            std::fs::write(dir.path().join(run).join("adapter.gguf"), b"x").expect("write");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::create_dir_all(dir.path().join("c")).expect("mkdir");
        assert_eq!(
            newest_adapter(dir.path()),
            Some(dir.path().join("b").join("adapter.gguf"))
        );
    }
}
