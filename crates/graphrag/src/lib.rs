//! The retrieval half of Lift: a knowledge graph of experimentation concepts and typed relations,
//! plus document chunks, stored in SurrealDB with HNSW vector and BM25 full-text indexes; an
//! entity extractor; graph traversal; and hybrid retrieval that fuses BM25, vector, graph
//! neighbourhood and path signals with reciprocal rank fusion, every item carrying a citation.
//!
//! Inputs: the knowledge base (`knowledge::load`, concepts, relations, playbook), the raw
//! artifacts of the collector when present (`raw/cross_validated.parquet`, `raw/arxiv.parquet`,
//! `raw/local_docs.parquet`, read through `artifacts`), and the local MiniLM ONNX model, given as
//! paths. Output: the store (`surrealkv://`, `mem://` or `ws://`) and [`retrieve::RetrievedContext`]
//! values.
//!
//! What this crate must not depend on: any stage crate, HTTP serving or HTTP client crates, or the
//! asset cache (only the `graphrag` binary resolves model paths with `assets`).
//!
//! Design choice: SurrealDB holds the data and does what it indexes well (BM25, HNSW, graph
//! queries), but graph algorithms run on an in-memory adjacency snapshot loaded once per engine.
//! Personalized PageRank touches every edge dozens of times and Dijkstra runs once per entity
//! pair; as SurrealQL each step would be a parsed and planned query, in memory the whole
//! traversal costs microseconds on the shipped graph (figures in `docs/retrieval.md`).

pub mod chunk;
pub mod config;
pub mod corpus;
pub mod embed;
pub mod error;
pub mod eval;
pub mod extract;
pub mod graph;
pub mod index;
pub mod retrieve;
pub mod store;
pub mod text;

pub use config::Config;
pub use error::{Error, Result};
