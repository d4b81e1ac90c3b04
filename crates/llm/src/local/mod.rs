//! The local backend: a GGUF model run by llama.cpp (`llama-cpp-2`) on a thread of its own.
//!
//! Requests from any number of tasks go to one engine thread over a channel; it decodes all
//! active sequences together in one llama.cpp batch (`max_parallel` of them), so concurrent users
//! share forward passes. Text comes back over an unbounded channel per request, so a slow reader
//! never stalls the others; a dropped reader ends its sequence at the next token.

mod engine;
mod grammar;
mod text;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use futures::future::BoxFuture;
use serde::Serialize;

use crate::config::LocalDefaults;
use crate::model::{ChatStream, bounded, bounded_stream, collect_stream};
use crate::{CallOptions, ChatModel, ChatRequest, ChatResponse, Error};
use engine::{Command, Job};

/// A LoRA adapter to load with the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSpec {
    /// The name requests use to select it.
    pub name: String,
    /// The GGUF LoRA file.
    pub path: PathBuf,
}

/// How to run a local model.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// The GGUF file.
    pub model_path: PathBuf,
    /// The id used in cache keys (defaults to the file stem, lowercased).
    pub model_id: String,
    /// llama.cpp threads; 0 picks [`default_threads`].
    pub threads: u32,
    /// KV cache tokens per sequence (prompt plus output).
    pub context_per_sequence: u32,
    /// Sequences decoded together; 1 turns batching off, so requests queue.
    pub max_parallel: u32,
    /// Most tokens submitted to one decode call.
    pub batch_tokens: u32,
    /// The chat template used when the GGUF carries none: a llama.cpp template name (`chatml`,
    /// `llama3`, ...) or a template.
    pub chat_template_fallback: String,
    /// Reuse the KV entries of a prompt prefix shared with an earlier request.
    pub prefix_cache: bool,
    /// LoRA adapters to load at start.
    pub adapters: Vec<AdapterSpec>,
}

impl LocalConfig {
    /// The settings of `configs/llm.toml`'s `[local]` table for the model at `model_path`.
    pub fn from_defaults(model_path: impl Into<PathBuf>, defaults: &LocalDefaults) -> Self {
        let model_path = model_path.into();
        Self {
            model_id: default_model_id(&model_path),
            model_path,
            threads: defaults.threads,
            context_per_sequence: defaults.context_per_sequence,
            max_parallel: defaults.max_parallel,
            batch_tokens: defaults.batch_tokens,
            chat_template_fallback: defaults.chat_template_fallback.clone(),
            prefix_cache: defaults.prefix_cache,
            adapters: Vec::new(),
        }
    }

    /// Settings for small jobs and tests: 2 sequences of 1024 tokens, automatic threads.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        let model_path = model_path.into();
        Self {
            model_id: default_model_id(&model_path),
            model_path,
            threads: 0,
            context_per_sequence: 1024,
            max_parallel: 2,
            batch_tokens: 512,
            chat_template_fallback: "chatml".to_owned(),
            prefix_cache: true,
            adapters: Vec::new(),
        }
    }
}

fn default_model_id(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "local".to_owned())
}

/// The default llama.cpp thread count: 1 on machines with at most 2 logical cores (where 2
/// threads on cores busy with other work can collapse to a fortieth of the speed), else the
/// physical cores minus one.
pub fn default_threads() -> u32 {
    let logical = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if logical <= 2 {
        return 1;
    }
    let physical = physical_cores().unwrap_or(logical).min(logical);
    u32::try_from(physical.saturating_sub(1).max(1)).unwrap_or(1)
}

/// Distinct (physical id, core id) pairs in /proc/cpuinfo, where that file exists.
fn physical_cores() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mut cores = std::collections::BTreeSet::new();
    let mut physical = "";
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "physical id" => physical = value.trim(),
            "core id" => {
                cores.insert((physical.to_owned(), value.trim().to_owned()));
            }
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

/// Facts about the loaded model and engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalModelInfo {
    /// Threads llama.cpp uses.
    pub threads: u32,
    /// Whether the chat template came from the GGUF (else the configured fallback).
    pub template_from_gguf: bool,
    /// The context length the model was trained with.
    pub n_ctx_train: u32,
    /// Vocabulary size.
    pub n_vocab: i32,
    /// Sequences decoded together.
    pub max_parallel: u32,
    /// KV tokens per sequence.
    pub context_per_sequence: u32,
}

/// Counters of the engine since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    /// Requests that reached a slot.
    pub requests: u64,
    /// `llama_decode` calls.
    pub decode_calls: u64,
    /// The most sequences that shared one decode call.
    pub max_batch_sequences: u32,
    /// Prompt tokens decoded.
    pub prompt_tokens_computed: u64,
    /// Prompt tokens whose KV entries were reused from an earlier request.
    pub prompt_tokens_reused: u64,
    /// Tokens generated.
    pub generated_tokens: u64,
}

struct Shared {
    commands: Sender<Command>,
    info: LocalModelInfo,
    stats: Arc<Mutex<EngineStats>>,
    adapter_names: Arc<Mutex<Vec<String>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// A local GGUF model. Cheap to clone; all clones share one engine thread, which stops when the
/// last clone is dropped.
#[derive(Clone)]
pub struct LocalModel {
    shared: Arc<Shared>,
    adapter: Option<(String, f32)>,
    id: String,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("id", &self.id)
            .field("info", &self.shared.info)
            .finish()
    }
}

impl LocalModel {
    /// Loads the model and starts the engine thread. Blocks while the GGUF loads (about a
    /// second for SmolLM2-135M); call it from `spawn_blocking` in async code.
    pub fn load(config: LocalConfig) -> Result<Self, Error> {
        if config.max_parallel == 0 || config.context_per_sequence == 0 || config.batch_tokens == 0
        {
            return Err(Error::Config {
                detail: "max_parallel, context_per_sequence and batch_tokens must be positive"
                    .into(),
            });
        }
        let threads = if config.threads == 0 {
            default_threads()
        } else {
            config.threads
        };
        let (commands, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let stats = Arc::new(Mutex::new(EngineStats::default()));
        let adapter_names = Arc::new(Mutex::new(Vec::new()));
        let id = config.model_id.clone();
        let thread = {
            let stats = Arc::clone(&stats);
            let names = Arc::clone(&adapter_names);
            std::thread::Builder::new()
                .name("llm-local-engine".into())
                .spawn(move || engine::run(config, threads, receiver, ready_tx, stats, names))
                .map_err(|e| Error::Inference {
                    detail: format!("cannot start the engine thread: {e}"),
                })?
        };
        let info = match ready_rx.recv() {
            Ok(Ok(info)) => info,
            Ok(Err(error)) => {
                let _ = thread.join();
                return Err(error);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(Error::EngineStopped);
            }
        };
        Ok(Self {
            shared: Arc::new(Shared {
                commands,
                info,
                stats,
                adapter_names,
                thread: Mutex::new(Some(thread)),
            }),
            adapter: None,
            id,
        })
    }

    /// Facts about the model and engine.
    pub fn info(&self) -> &LocalModelInfo {
        &self.shared.info
    }

    /// The engine's counters.
    pub fn stats(&self) -> EngineStats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The names of the loaded LoRA adapters.
    pub fn adapters(&self) -> Vec<String> {
        self.shared
            .adapter_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads a GGUF LoRA adapter at run time under `name` (replacing one of that name). The engine
    /// finishes the sequences in flight first; queued requests wait.
    pub async fn load_adapter(&self, name: &str, path: impl Into<PathBuf>) -> Result<(), Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.shared
            .commands
            .send(Command::LoadAdapter {
                name: name.to_owned(),
                path: path.into(),
                reply,
            })
            .map_err(|_| Error::EngineStopped)?;
        tokio::task::spawn_blocking(move || answer.recv())
            .await
            .map_err(|_| Error::EngineStopped)?
            .map_err(|_| Error::EngineStopped)?
    }

    /// A handle whose requests run with the loaded adapter `name` at `scale` (the base model is
    /// not merged). Its model id names the adapter, so cache entries do not mix.
    pub fn with_adapter(&self, name: &str, scale: f32) -> Result<Self, Error> {
        if !self.adapters().iter().any(|a| a == name) {
            return Err(Error::InvalidRequest {
                detail: format!("no LoRA adapter named {name} is loaded; call load_adapter first"),
            });
        }
        let base = self.id.split('+').next().unwrap_or(&self.id).to_owned();
        Ok(Self {
            shared: Arc::clone(&self.shared),
            adapter: Some((name.to_owned(), scale)),
            id: format!("{base}+{name}@{scale}"),
        })
    }

    /// The same model without an adapter.
    pub fn without_adapter(&self) -> Self {
        let base = self.id.split('+').next().unwrap_or(&self.id).to_owned();
        Self {
            shared: Arc::clone(&self.shared),
            adapter: None,
            id: base,
        }
    }

    fn submit(&self, request: ChatRequest, options: &CallOptions) -> Result<ChatStream, Error> {
        let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
        let job = Job {
            messages: request.messages,
            params: request.params,
            adapter: self.adapter.clone(),
            events,
            cancel: options.cancel.clone(),
            deadline: std::time::Instant::now() + options.timeout,
            timeout: options.timeout,
        };
        self.shared
            .commands
            .send(Command::Generate(job))
            .map_err(|_| Error::EngineStopped)?;
        // Dropping this stream drops the receiver, which the engine notices at the next token.
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        Ok(Box::pin(stream))
    }
}

impl ChatModel for LocalModel {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let deadline = crate::model::deadline(&options);
            let stream = self.submit(request, &options)?;
            let stream = bounded_stream(stream, options.clone(), deadline);
            bounded(&options, deadline, collect_stream(stream)).await
        })
    }

    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let deadline = crate::model::deadline(&options);
            let stream = self.submit(request, &options)?;
            Ok(bounded_stream(stream, options, deadline))
        })
    }
}
