//! The collector, stage 1 of the training pipeline: it gathers the raw material the later stages
//! and the retrieval index cite. Three sources, each written through the `artifacts` crate with
//! its typed rows and recorded in the run manifest:
//!
//! - Cross Validated questions for configured tags, with their answers nested
//!   (`raw/cross_validated.parquet`, `raw.cross_validated`), through the StackExchange API 2.3;
//! - arXiv metadata and abstracts for configured searches (`raw/arxiv.parquet`, `raw.arxiv`);
//! - Markdown, text and HTML files of local folders, such as the shipped playbook
//!   (`raw/local_docs.parquet`, `raw.local_docs`), which needs no network.
//!
//! It must not depend on any other stage crate (`synth`, `dataset`, `trainer`, `evaluator`):
//! stages meet only through artifacts. It is one of the two crates allowed to make outbound HTTP
//! calls, and it serves none.
//!
//! Design choice: the unit of progress is a *page*, and a finished page is staged as its own
//! small Parquet file of finished rows (a question page is staged only once its answers are
//! fetched) before the checkpoint names it. Resuming is then "skip the pages the checkpoint
//! names", with no partial records to reconcile, and the real artifact is written once, atomically,
//! from the staged pages when every page is done. A killed or throttled run therefore never leaves
//! a half-written or half-updated artifact, and the resumed run yields exactly the rows of an
//! uninterrupted one. The rate limiters run on tokio's clock ([`limiter`]), so politeness is
//! tested under paused time rather than trusted.

pub mod arxiv;
pub mod checkpoint;
pub mod config;
mod entities;
mod error;
pub mod html;
mod http;
pub mod limiter;
pub mod local;
pub mod math;
pub mod plan;
pub mod run;
pub mod stackexchange;

pub use config::CollectorConfig;
pub use error::CollectorError;
pub use run::{
    ARXIV_PATH, CROSS_VALIDATED_PATH, LOCAL_DOCS_PATH, Outcome, RunOptions, SourceSummary,
    StopReason, collect_arxiv, collect_cross_validated, collect_local,
};
