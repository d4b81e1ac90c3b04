//! The on-disk response cache, shared by all backends and opt-in per caller: wrap a model in
//! [`Cached`] to use it.
//!
//! A request is keyed by the sha256 of a canonical JSON of the model id, the messages and every
//! generation parameter, so any change to any of them is a miss. Entries are small JSON files
//! written atomically (temporary file in the same directory, fsync, rename), so a killed job
//! leaves either the old entry or the new one. Nothing secret is in a request, so nothing secret
//! reaches the cache: keys travel in headers, never in [`ChatRequest`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{ChatStream, response_as_stream};
use crate::{
    CallOptions, ChatModel, ChatRequest, ChatResponse, Error, FinishReason, GenerationParams,
    Message, StreamEvent, Usage,
};

/// The format name written into every entry.
const FORMAT: &str = "lift.llm.response-cache";
/// Bump when the entry layout or the key material changes; old entries then miss.
const VERSION: u32 = 1;

/// A directory of cached responses.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
}

impl ResponseCache {
    /// A cache in `dir`, created if absent.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| Error::Cache {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a request to a model: lowercase hex sha256.
    pub fn key(model_id: &str, request: &ChatRequest) -> String {
        #[derive(Serialize)]
        struct KeyMaterial<'a> {
            version: u32,
            model: &'a str,
            messages: &'a [Message],
            params: &'a GenerationParams,
        }
        let material = KeyMaterial {
            version: VERSION,
            model: model_id,
            messages: &request.messages,
            params: &request.params,
        };
        // Serialising these plain structs cannot fail; an empty key would only mean a miss.
        let bytes = serde_json::to_vec(&material).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The cached response for `key`, if any. An unreadable or foreign entry counts as a miss.
    pub fn get(&self, key: &str) -> Result<Option<ChatResponse>, Error> {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Cache { path, source }),
        };
        let Ok(entry) = serde_json::from_slice::<WireEntry>(&bytes) else {
            return Ok(None);
        };
        if entry.format != FORMAT || entry.version != VERSION || entry.key != key {
            return Ok(None);
        }
        Ok(Some(ChatResponse {
            text: entry.text,
            finish_reason: entry.finish_reason.into(),
            usage: Usage {
                prompt_tokens: entry.prompt_tokens,
                completion_tokens: entry.completion_tokens,
                cached_prompt_tokens: 0,
            },
            cost_usd: Some(0.0),
        }))
    }

    /// Stores a response under `key`, atomically.
    pub fn put(&self, key: &str, model_id: &str, response: &ChatResponse) -> Result<(), Error> {
        let entry = WireEntry {
            format: FORMAT.to_owned(),
            version: VERSION,
            key: key.to_owned(),
            model: model_id.to_owned(),
            text: response.text.clone(),
            finish_reason: (&response.finish_reason).into(),
            prompt_tokens: response.usage.prompt_tokens,
            completion_tokens: response.usage.completion_tokens,
        };
        let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| Error::Cache {
            path: self.path(key),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&self.path(key), &bytes)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let io = |source| Error::Cache {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// A model whose answers are cached on disk. Hits cost nothing and report `cost_usd: Some(0.0)`;
/// only finished answers are stored, never errors or dropped streams.
#[derive(Debug)]
pub struct Cached<M> {
    inner: M,
    cache: ResponseCache,
}

impl<M: ChatModel> Cached<M> {
    /// Wraps `inner` with `cache`.
    pub fn new(inner: M, cache: ResponseCache) -> Self {
        Self { inner, cache }
    }

    /// The wrapped model.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

impl<M: ChatModel> ChatModel for Cached<M> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let key = ResponseCache::key(self.model_id(), &request);
            if let Some(hit) = self.cache.get(&key)? {
                return Ok(hit);
            }
            let response = self.inner.complete(request, options).await?;
            self.cache.put(&key, self.model_id(), &response)?;
            Ok(response)
        })
    }

    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let key = ResponseCache::key(self.model_id(), &request);
            if let Some(hit) = self.cache.get(&key)? {
                return Ok(response_as_stream(hit));
            }
            let inner = self.inner.stream(request, options).await?;
            let cache = self.cache.clone();
            let model = self.model_id().to_owned();
            let mut text = String::new();
            // Tee the stream: pass every item on, and store the whole answer at `Done`.
            let stream = inner.map(move |item| {
                match &item {
                    Ok(StreamEvent::Delta(piece)) => text.push_str(piece),
                    Ok(StreamEvent::Done {
                        finish_reason,
                        usage,
                        cost_usd,
                    }) => {
                        let response = ChatResponse {
                            text: std::mem::take(&mut text),
                            finish_reason: finish_reason.clone(),
                            usage: *usage,
                            cost_usd: *cost_usd,
                        };
                        cache.put(&key, &model, &response)?;
                    }
                    Err(_) => {}
                }
                item
            });
            Ok(Box::pin(stream) as ChatStream)
        })
    }
}

#[derive(Serialize, Deserialize)]
struct WireEntry {
    format: String,
    version: u32,
    key: String,
    model: String,
    text: String,
    finish_reason: WireFinish,
    prompt_tokens: u32,
    completion_tokens: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireFinish {
    Stop,
    StopSequence,
    Length,
    Other(String),
}

impl From<&FinishReason> for WireFinish {
    fn from(reason: &FinishReason) -> Self {
        match reason {
            FinishReason::Stop => Self::Stop,
            FinishReason::StopSequence => Self::StopSequence,
            FinishReason::Length => Self::Length,
            FinishReason::Other(other) => Self::Other(other.clone()),
        }
    }
}

impl From<WireFinish> for FinishReason {
    fn from(reason: WireFinish) -> Self {
        match reason {
            WireFinish::Stop => Self::Stop,
            WireFinish::StopSequence => Self::StopSequence,
            WireFinish::Length => Self::Length,
            WireFinish::Other(other) => Self::Other(other),
        }
    }
}
