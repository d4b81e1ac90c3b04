//! Building an [`Assistant`] from paths: the knowledge base, the store, the embedding model and
//! an already constructed language model. Optionally brings the index up to date first (the
//! incremental indexer does no work when nothing changed).

use std::path::PathBuf;
use std::sync::Arc;

use graphrag::embed::{MiniLm, ModelPaths};
use graphrag::index::{NoProgress, Progress, index};
use graphrag::retrieve::Engine;
use graphrag::store::Store;
use llm::ChatModel;

use crate::config::AssistantConfig;
use crate::{Assistant, AssistantError};

/// Everything [`Assistant::open`] needs.
pub struct OpenOptions {
    /// `data/knowledge`.
    pub knowledge_dir: PathBuf,
    /// Raw collector artifacts to index with the knowledge base (`artifacts/raw`), when present.
    pub raw_dir: Option<PathBuf>,
    /// The graphrag settings (store location, retrieval weights).
    pub graphrag: graphrag::Config,
    /// The embedding model's files.
    pub embedding: ModelPaths,
    /// The language model; `None` answers with the structured part alone.
    pub model: Option<Arc<dyn ChatModel>>,
    /// The pipeline settings.
    pub config: AssistantConfig,
    /// Whether to bring the index up to date before opening.
    pub index: bool,
    /// Where indexing progress goes.
    pub progress: Option<Box<dyn Progress>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("knowledge_dir", &self.knowledge_dir)
            .field("store", &self.graphrag.store.location)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn open_error<E: std::error::Error + Send + Sync + 'static>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> AssistantError {
    let what = what.into();
    move |e| AssistantError::Open {
        what,
        source: Box::new(e),
    }
}

impl Assistant {
    /// Loads the knowledge base and the embedding model, opens the store (indexing first when
    /// asked), and builds the assistant.
    pub async fn open(options: OpenOptions) -> Result<Self, AssistantError> {
        let OpenOptions {
            knowledge_dir,
            raw_dir,
            graphrag: graphrag_config,
            embedding,
            model,
            config,
            index: build_index,
            progress,
        } = options;
        config.validate()?;
        let kb = graphrag::corpus::load_knowledge(&knowledge_dir).map_err(open_error(format!(
            "loading the knowledge base from {}",
            knowledge_dir.display()
        )))?;
        let threads = graphrag::config::effective_threads(graphrag_config.index.threads);
        let embedder = Arc::new(
            MiniLm::load(&embedding, threads, graphrag_config.index.embed_batch)
                .map_err(open_error("loading the embedding model"))?,
        );
        let store = if build_index {
            let store = Store::open(&graphrag_config.store)
                .await
                .map_err(open_error(format!(
                    "opening the store at {}",
                    graphrag_config.store.location
                )))?;
            let mut docs = graphrag::corpus::playbook_documents(&kb);
            if let Some(raw) = raw_dir.as_deref().filter(|d| d.is_dir()) {
                docs.extend(
                    graphrag::corpus::raw_documents(raw)
                        .map_err(open_error(format!("reading {}", raw.display())))?,
                );
            }
            let progress: Box<dyn Progress> = progress.unwrap_or_else(|| Box::new(NoProgress));
            index(
                &store,
                embedder.as_ref(),
                &kb,
                &docs,
                &graphrag_config.index,
                progress.as_ref(),
            )
            .await
            .map_err(open_error("indexing the knowledge base"))?;
            store
        } else {
            Store::open_existing(&graphrag_config.store)
                .await
                .map_err(open_error(format!(
                    "opening the store at {} (build it with `cargo run -p graphrag -- index`)",
                    graphrag_config.store.location
                )))?
        };
        let engine = Engine::open(store, embedder, graphrag_config)
            .await
            .map_err(open_error("opening the retrieval engine"))?;
        Self::new(engine, kb, model, config)
    }
}

/// A server opens the assistant inside a spawned task, so the opening future must be `Send`; this
/// fails to compile when it stops being so.
#[allow(dead_code)]
fn opening_is_send(
    options: OpenOptions,
) -> impl std::future::Future<Output = Result<Assistant, AssistantError>> + Send {
    Assistant::open(options)
}
