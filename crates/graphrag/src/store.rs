//! The SurrealDB store: one code path (`engine::any`) over the embedded on-disk engine
//! (`surrealkv://`), the in-memory engine (`mem://`, for tests) and a server (`ws://`).
//!
//! Every statement here is a constant string; values travel as bound parameters. The only
//! numbers formatted into a statement are the typed `usize` limits of the KNN operator, whose
//! grammar accepts literals only.

use std::collections::HashMap;
use std::path::PathBuf;

use surrealdb::Surreal;
use surrealdb::engine::any::Any;
use surrealdb::types::{RecordId, RecordIdKey, SurrealValue, Variables};

use crate::config::{STORE_PASSWORD_ENV, StoreConfig};
use crate::embed::DIMENSION;
use crate::error::{Error, Result};

/// The schema version this build writes; a store with another one is refused.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
DEFINE ANALYZER IF NOT EXISTS lift_en TOKENIZERS blank, class, punct FILTERS lowercase, ascii, snowball(english);

DEFINE TABLE IF NOT EXISTS meta SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS schema_version ON meta TYPE int;
DEFINE FIELD IF NOT EXISTS model ON meta TYPE option<string>;
DEFINE FIELD IF NOT EXISTS lexicon ON meta TYPE option<string>;

DEFINE TABLE IF NOT EXISTS concept SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS name ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS aliases ON concept TYPE array<string>;
DEFINE FIELD IF NOT EXISTS category ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS area ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS definition ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS body ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS search_text ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS citations ON concept TYPE array<string>;
DEFINE FIELD IF NOT EXISTS source_title ON concept TYPE option<string>;
DEFINE FIELD IF NOT EXISTS source_url ON concept TYPE option<string>;
DEFINE FIELD IF NOT EXISTS source_authors ON concept TYPE option<string>;
DEFINE FIELD IF NOT EXISTS hash ON concept TYPE string;
DEFINE FIELD IF NOT EXISTS embedding ON concept TYPE array<float>;
DEFINE INDEX IF NOT EXISTS concept_vec ON concept FIELDS embedding HNSW DIMENSION 384 DIST COSINE;
DEFINE INDEX IF NOT EXISTS concept_fts ON concept FIELDS search_text FULLTEXT ANALYZER lift_en BM25;

DEFINE TABLE IF NOT EXISTS source SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS kind ON source TYPE string;
DEFINE FIELD IF NOT EXISTS title ON source TYPE string;
DEFINE FIELD IF NOT EXISTS url ON source TYPE option<string>;
DEFINE FIELD IF NOT EXISTS author ON source TYPE option<string>;
DEFINE FIELD IF NOT EXISTS license ON source TYPE option<string>;
DEFINE FIELD IF NOT EXISTS hash ON source TYPE string;

DEFINE TABLE IF NOT EXISTS chunk SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS source ON chunk TYPE record<source>;
DEFINE FIELD IF NOT EXISTS ordinal ON chunk TYPE int;
DEFINE FIELD IF NOT EXISTS start ON chunk TYPE int;
DEFINE FIELD IF NOT EXISTS end ON chunk TYPE int;
DEFINE FIELD IF NOT EXISTS text ON chunk TYPE string;
DEFINE FIELD IF NOT EXISTS embedding ON chunk TYPE array<float>;
DEFINE INDEX IF NOT EXISTS chunk_source ON chunk FIELDS source;
DEFINE INDEX IF NOT EXISTS chunk_vec ON chunk FIELDS embedding HNSW DIMENSION 384 DIST COSINE;
DEFINE INDEX IF NOT EXISTS chunk_fts ON chunk FIELDS text FULLTEXT ANALYZER lift_en BM25;

DEFINE TABLE IF NOT EXISTS relates TYPE RELATION IN concept OUT concept SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS kind ON relates TYPE string;
DEFINE FIELD IF NOT EXISTS explanation ON relates TYPE string;
DEFINE FIELD IF NOT EXISTS weight ON relates TYPE float;
DEFINE FIELD IF NOT EXISTS sign ON relates TYPE option<string>;
DEFINE FIELD IF NOT EXISTS hash ON relates TYPE string;
DEFINE INDEX IF NOT EXISTS relates_kind ON relates FIELDS kind;

DEFINE TABLE IF NOT EXISTS mentions TYPE RELATION IN chunk OUT concept SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS method ON mentions TYPE string;
DEFINE FIELD IF NOT EXISTS confidence ON mentions TYPE float;
DEFINE FIELD IF NOT EXISTS start ON mentions TYPE int;
DEFINE FIELD IF NOT EXISTS end ON mentions TYPE int;

DEFINE TABLE IF NOT EXISTS query_log SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS question ON query_log TYPE string;
DEFINE FIELD IF NOT EXISTS mode ON query_log TYPE string;
DEFINE FIELD IF NOT EXISTS items ON query_log TYPE array<string>;
DEFINE FIELD IF NOT EXISTS latency_ms ON query_log TYPE float;
DEFINE FIELD IF NOT EXISTS created_at ON query_log TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS rating ON query_log TYPE option<int>;
DEFINE FIELD IF NOT EXISTS feedback ON query_log TYPE option<string>;
"#;

/// The string key of a record id (all keys this crate writes are strings).
pub fn key_of(id: &RecordId) -> String {
    match &id.key {
        RecordIdKey::String(s) => s.clone(),
        RecordIdKey::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// A concept as stored.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct ConceptRow {
    /// `concept:<slug>`.
    pub id: RecordId,
    /// Display name.
    pub name: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Category.
    pub category: String,
    /// Area file.
    pub area: String,
    /// Definition.
    pub definition: String,
    /// When to use it, common mistakes and the example, for display.
    pub body: String,
    /// Name, aliases and definition: what BM25 ranks.
    pub search_text: String,
    /// Formatted citations.
    pub citations: Vec<String>,
    /// First source's title.
    pub source_title: Option<String>,
    /// First source's URL.
    pub source_url: Option<String>,
    /// First source's authors.
    pub source_authors: Option<String>,
    /// Content hash (text and model).
    pub hash: String,
    /// Unit vector.
    pub embedding: Vec<f32>,
}

/// A typed edge as stored.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct RelationRow {
    /// `relates:<from|KIND|to>`.
    pub id: RecordId,
    /// From concept.
    #[surreal(rename = "in")]
    pub from: RecordId,
    /// To concept.
    #[surreal(rename = "out")]
    pub to: RecordId,
    /// Relation kind.
    pub kind: String,
    /// Why.
    pub explanation: String,
    /// Strength.
    pub weight: f64,
    /// AFFECTS direction.
    pub sign: Option<String>,
    /// Content hash.
    pub hash: String,
}

/// A document as stored.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct SourceRow {
    /// `source:<kind/key>`.
    pub id: RecordId,
    /// `playbook`, `cross_validated`, `arxiv` or `local`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Public URL.
    pub url: Option<String>,
    /// Author(s).
    pub author: Option<String>,
    /// Licence.
    pub license: Option<String>,
    /// Content hash of the whole document and the chunking settings.
    pub hash: String,
}

/// A chunk as stored.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct ChunkRow {
    /// `chunk:<source key#text hash>`.
    pub id: RecordId,
    /// Its document.
    pub source: RecordId,
    /// Position in the document.
    pub ordinal: i64,
    /// Byte offset of the start in the document.
    pub start: i64,
    /// Byte offset past the end.
    pub end: i64,
    /// The text.
    pub text: String,
    /// Unit vector.
    pub embedding: Vec<f32>,
}

/// A chunk → concept link as stored.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct MentionRow {
    /// `mentions:<chunk key@concept>`.
    pub id: RecordId,
    /// The chunk.
    #[surreal(rename = "in")]
    pub chunk: RecordId,
    /// The concept.
    #[surreal(rename = "out")]
    pub concept: RecordId,
    /// Extraction method.
    pub method: String,
    /// Confidence.
    pub confidence: f64,
    /// First mention's start in the chunk.
    pub start: i64,
    /// First mention's end.
    pub end: i64,
}

/// The store's bookkeeping record.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct Meta {
    /// [`SCHEMA_VERSION`] at write time.
    pub schema_version: i64,
    /// Embedding model fingerprint.
    pub model: Option<String>,
    /// Fingerprint of the extractor's lexicon used to link chunks.
    pub lexicon: Option<String>,
}

#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct IdHash {
    id: RecordId,
    hash: String,
}

#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct ChunkKey {
    id: RecordId,
    source: RecordId,
}

#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Scored {
    id: RecordId,
    score: f64,
}

#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct Count {
    n: i64,
}

#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct FeedbackRow {
    rating: Option<i64>,
    feedback: Option<String>,
}

/// A chunk found by a search, with what a citation needs.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct ChunkHit {
    /// The chunk.
    pub id: RecordId,
    /// Its text.
    pub text: String,
    /// Start offset in the document.
    pub start: i64,
    /// End offset.
    pub end: i64,
    /// The document.
    pub source: RecordId,
    /// Document title.
    pub title: String,
    /// Document kind.
    pub kind: String,
    /// URL.
    pub url: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// Licence.
    pub license: Option<String>,
    /// Concepts it mentions.
    pub concepts: Vec<RecordId>,
    /// BM25 score or cosine similarity.
    pub score: f64,
}

/// Row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    /// Concepts.
    pub concepts: usize,
    /// Typed relations.
    pub relations: usize,
    /// Documents.
    pub sources: usize,
    /// Chunks.
    pub chunks: usize,
    /// Chunk → concept links.
    pub mentions: usize,
    /// Logged queries.
    pub queries: usize,
}

/// A handle on the store.
#[derive(Debug, Clone)]
pub struct Store {
    db: Surreal<Any>,
    location: String,
}

fn on_disk_path(location: &str) -> Option<PathBuf> {
    location.strip_prefix("surrealkv://").map(PathBuf::from)
}

impl Store {
    /// Opens (creating when absent) the store and defines the schema.
    pub async fn open(config: &StoreConfig) -> Result<Self> {
        Self::connect(config, true).await
    }

    /// Opens an existing store for reading; a missing on-disk store is an error, not a new empty
    /// one.
    pub async fn open_existing(config: &StoreConfig) -> Result<Self> {
        Self::connect(config, false).await
    }

    async fn connect(config: &StoreConfig, create: bool) -> Result<Self> {
        let location = config.location.clone();
        let known = ["mem://", "surrealkv://", "ws://", "wss://"];
        if !known.iter().any(|p| location.starts_with(p)) || location.contains('\0') {
            return Err(Error::BadLocation { location });
        }
        if let Some(path) = on_disk_path(&location) {
            if path.as_os_str().is_empty() {
                return Err(Error::BadLocation { location });
            }
            if !create && !path.exists() {
                return Err(Error::StoreMissing { path });
            }
        }
        let db = surrealdb::engine::any::connect(location.as_str())
            .await
            .map_err(|source| {
                let message = source.to_string();
                if message.to_lowercase().contains("lock") {
                    Error::Locked {
                        location: location.clone(),
                        message,
                    }
                } else {
                    Error::Open {
                        location: location.clone(),
                        source,
                    }
                }
            })?;
        if let Some(username) = &config.username {
            let password = match &config.password {
                Some(secret) => secret.expose().to_owned(),
                None => std::env::var(STORE_PASSWORD_ENV)
                    .ok()
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| Error::MissingPassword {
                        location: location.clone(),
                        username: username.clone(),
                        variable: STORE_PASSWORD_ENV,
                    })?,
            };
            db.signin(surrealdb::opt::auth::Root {
                username: username.clone(),
                password,
            })
            .await
            .map_err(|source| Error::SignIn {
                location: location.clone(),
                username: username.clone(),
                source,
            })?;
        }
        db.use_ns(config.namespace.clone())
            .use_db(config.database.clone())
            .await
            .map_err(|source| Error::Open {
                location: location.clone(),
                source,
            })?;
        let store = Self { db, location };
        store.define_schema().await?;
        Ok(store)
    }

    /// Where the store is.
    pub fn location(&self) -> &str {
        &self.location
    }

    async fn run(
        &self,
        what: &'static str,
        sql: &str,
        vars: Variables,
    ) -> Result<surrealdb::IndexedResults> {
        // SurrealKV reports a write-write conflict between concurrent transactions as a
        // retryable error; retry a few times with a short pause before giving up.
        const ATTEMPTS: u32 = 5;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = match self.db.query(sql).bind(vars.clone()).await {
                Ok(response) => response.check(),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(results) => return Ok(results),
                Err(e) if attempt < ATTEMPTS && is_transaction_conflict(&e) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)))
                        .await;
                }
                Err(e) => return Err(Error::query(what)(e)),
            }
        }
    }

    async fn rows<T: SurrealValue>(
        &self,
        what: &'static str,
        sql: &str,
        vars: Variables,
    ) -> Result<Vec<T>> {
        let mut response = self.run(what, sql, vars).await?;
        response.take::<Vec<T>>(0).map_err(Error::query(what))
    }

    async fn define_schema(&self) -> Result<()> {
        debug_assert!(SCHEMA.contains(&format!("DIMENSION {DIMENSION}")));
        self.run("define schema", SCHEMA, Variables::new()).await?;
        Ok(())
    }

    /// The bookkeeping record, absent before the first index run.
    pub async fn meta(&self) -> Result<Option<Meta>> {
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("meta", "state"));
        let rows: Vec<Meta> = self
            .rows(
                "read meta",
                "SELECT schema_version, model, lexicon FROM $id",
                vars,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Writes the bookkeeping record.
    pub async fn set_meta(&self, meta: &Meta) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("meta", "state"));
        vars.insert("meta", meta.clone());
        self.run("write meta", "UPSERT $id CONTENT $meta", vars)
            .await?;
        Ok(())
    }

    /// Fails unless the store was indexed by this schema version (and, when given, this model).
    pub async fn check_ready(&self, model: Option<&str>) -> Result<Meta> {
        let meta = self.meta().await?.ok_or_else(|| Error::NotIndexed {
            location: self.location.clone(),
        })?;
        if meta.schema_version != SCHEMA_VERSION {
            return Err(Error::SchemaVersion {
                found: meta.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        if let (Some(loaded), Some(stored)) = (model, meta.model.as_deref())
            && loaded != stored
        {
            return Err(Error::ModelMismatch {
                stored: stored.into(),
                loaded: loaded.into(),
            });
        }
        Ok(meta)
    }

    async fn hashes(&self, what: &'static str, sql: &str) -> Result<HashMap<String, String>> {
        let rows: Vec<IdHash> = self.rows(what, sql, Variables::new()).await?;
        Ok(rows.into_iter().map(|r| (key_of(&r.id), r.hash)).collect())
    }

    /// Concept key → content hash.
    pub async fn concept_hashes(&self) -> Result<HashMap<String, String>> {
        self.hashes("concept hashes", "SELECT id, hash FROM concept")
            .await
    }

    /// Relation key → content hash.
    pub async fn relation_hashes(&self) -> Result<HashMap<String, String>> {
        self.hashes("relation hashes", "SELECT id, hash FROM relates")
            .await
    }

    /// Source key → content hash.
    pub async fn source_hashes(&self) -> Result<HashMap<String, String>> {
        self.hashes("source hashes", "SELECT id, hash FROM source")
            .await
    }

    /// Chunk key → source key.
    pub async fn chunk_sources(&self) -> Result<HashMap<String, String>> {
        let rows: Vec<ChunkKey> = self
            .rows(
                "chunk keys",
                "SELECT id, source FROM chunk",
                Variables::new(),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (key_of(&r.id), key_of(&r.source)))
            .collect())
    }

    /// Writes concepts (insert or replace).
    pub async fn upsert_concepts(&self, rows: Vec<ConceptRow>) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run(
            "upsert concepts",
            "FOR $r IN $rows { UPSERT $r.id CONTENT $r; };",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Writes documents (insert or replace).
    pub async fn upsert_sources(&self, rows: Vec<SourceRow>) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run(
            "upsert sources",
            "FOR $r IN $rows { UPSERT $r.id CONTENT $r; };",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Inserts new chunks.
    pub async fn insert_chunks(&self, rows: Vec<ChunkRow>) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run("insert chunks", "INSERT INTO chunk $rows", vars)
            .await?;
        Ok(())
    }

    /// Moves kept chunks of a changed document to their new positions (text and embedding stay).
    pub async fn update_chunk_positions(&self, rows: Vec<ChunkRow>) -> Result<()> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Position {
            id: RecordId,
            ordinal: i64,
            start: i64,
            end: i64,
        }
        let rows: Vec<Position> = rows
            .into_iter()
            .map(|r| Position {
                id: r.id,
                ordinal: r.ordinal,
                start: r.start,
                end: r.end,
            })
            .collect();
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run(
            "move chunks",
            "FOR $r IN $rows { UPDATE $r.id SET ordinal = $r.ordinal, start = $r.start, end = $r.end; };",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Inserts or replaces typed edges.
    pub async fn upsert_relations(&self, rows: Vec<RelationRow>) -> Result<()> {
        let ids: Vec<RecordId> = rows.iter().map(|r| r.id.clone()).collect();
        self.delete_ids(ids).await?;
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run(
            "insert relations",
            "INSERT RELATION INTO relates $rows",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Inserts or replaces chunk → concept links.
    pub async fn upsert_mentions(&self, rows: Vec<MentionRow>) -> Result<()> {
        let ids: Vec<RecordId> = rows.iter().map(|r| r.id.clone()).collect();
        self.delete_ids(ids).await?;
        let mut vars = Variables::new();
        vars.insert("rows", rows);
        self.run(
            "insert mentions",
            "INSERT RELATION INTO mentions $rows",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Deletes records by id.
    pub async fn delete_ids(&self, ids: Vec<RecordId>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut vars = Variables::new();
        vars.insert("ids", ids);
        self.run("delete records", "FOR $id IN $ids { DELETE $id; };", vars)
            .await?;
        Ok(())
    }

    /// Every chunk → concept link, as (mention key, chunk key, concept key, method).
    pub async fn mention_keys(&self) -> Result<HashMap<String, (String, String, String)>> {
        let rows: Vec<MentionRow> = self
            .rows("read mentions", "SELECT * FROM mentions", Variables::new())
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                (
                    key_of(&m.id),
                    (key_of(&m.chunk), key_of(&m.concept), m.method),
                )
            })
            .collect())
    }

    /// Every chunk's key and text, for re-linking.
    pub async fn chunk_texts(&self) -> Result<Vec<(String, String)>> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            id: RecordId,
            text: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "chunk texts",
                "SELECT id, text FROM chunk",
                Variables::new(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| (key_of(&r.id), r.text)).collect())
    }

    /// Every concept with its embedding.
    pub async fn concepts(&self) -> Result<Vec<ConceptRow>> {
        self.rows("read concepts", "SELECT * FROM concept", Variables::new())
            .await
    }

    /// Every typed edge.
    pub async fn relations(&self) -> Result<Vec<RelationRow>> {
        self.rows("read relations", "SELECT * FROM relates", Variables::new())
            .await
    }

    /// BM25 over concept name, aliases and definition; any term may match.
    pub async fn bm25_concepts(&self, query: &str, k: usize) -> Result<Vec<(String, f64)>> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut vars = Variables::new();
        vars.insert("q", query.to_string());
        vars.insert("k", k as i64);
        let rows: Vec<Scored> = self
            .rows(
                "bm25 concepts",
                "SELECT id, search::score(1) AS score FROM concept WHERE search_text @1,OR@ $q \
                 ORDER BY score DESC LIMIT $k",
                vars,
            )
            .await?;
        Ok(rows.into_iter().map(|r| (key_of(&r.id), r.score)).collect())
    }

    /// BM25 over chunk text; any term may match.
    pub async fn bm25_chunks(&self, query: &str, k: usize) -> Result<Vec<ChunkHit>> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut vars = Variables::new();
        vars.insert("q", query.to_string());
        vars.insert("k", k as i64);
        self.rows(
            "bm25 chunks",
            "SELECT id, text, start, end, source, source.title AS title, source.kind AS kind, \
             source.url AS url, source.author AS author, source.license AS license, \
             ->mentions->concept AS concepts, search::score(1) AS score \
             FROM chunk WHERE text @1,OR@ $q ORDER BY score DESC LIMIT $k",
            vars,
        )
        .await
    }

    /// Nearest concepts by cosine similarity (HNSW).
    pub async fn knn_concepts(
        &self,
        vector: &[f32],
        k: usize,
        ef: usize,
    ) -> Result<Vec<(String, f64)>> {
        let sql = format!(
            "SELECT id, 1 - vector::distance::knn() AS score FROM concept \
             WHERE embedding <|{k},{ef}|> $v ORDER BY score DESC",
            k = k.max(1),
            ef = ef.max(k).max(1)
        );
        let mut vars = Variables::new();
        vars.insert("v", vector.to_vec());
        let mut response = self
            .db
            .query(sql)
            .bind(vars)
            .await
            .map_err(Error::query("knn concepts"))?
            .check()
            .map_err(Error::query("knn concepts"))?;
        let rows: Vec<Scored> = response.take(0).map_err(Error::query("knn concepts"))?;
        Ok(rows.into_iter().map(|r| (key_of(&r.id), r.score)).collect())
    }

    /// Nearest chunks by cosine similarity (HNSW).
    pub async fn knn_chunks(&self, vector: &[f32], k: usize, ef: usize) -> Result<Vec<ChunkHit>> {
        let sql = format!(
            "SELECT id, text, start, end, source, source.title AS title, source.kind AS kind, \
             source.url AS url, source.author AS author, source.license AS license, \
             ->mentions->concept AS concepts, 1 - vector::distance::knn() AS score \
             FROM chunk WHERE embedding <|{k},{ef}|> $v ORDER BY score DESC",
            k = k.max(1),
            ef = ef.max(k).max(1)
        );
        let mut vars = Variables::new();
        vars.insert("v", vector.to_vec());
        let mut response = self
            .db
            .query(sql)
            .bind(vars)
            .await
            .map_err(Error::query("knn chunks"))?
            .check()
            .map_err(Error::query("knn chunks"))?;
        response.take(0).map_err(Error::query("knn chunks"))
    }

    /// Neighbours within two hops of a concept, computed by SurrealQL graph traversal; kept to
    /// compare against the in-memory snapshot (see `docs/retrieval.md`).
    pub async fn two_hop_neighbours(&self, concept: &str) -> Result<Vec<String>> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            hop1: Vec<RecordId>,
            hop2: Vec<RecordId>,
        }
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("concept", concept));
        let rows: Vec<Row> = self
            .rows(
                "two-hop traversal",
                "SELECT <->relates<->concept AS hop1, <->relates<->concept<->relates<->concept AS hop2 FROM $id",
                vars,
            )
            .await?;
        let mut out: Vec<String> = rows
            .into_iter()
            .flat_map(|r| r.hop1.into_iter().chain(r.hop2))
            .map(|id| key_of(&id))
            .filter(|k| k != concept)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Records a question and what was returned, ready for feedback.
    pub async fn log_query(
        &self,
        question: &str,
        mode: &str,
        items: Vec<String>,
        latency_ms: f64,
    ) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("question", question.to_string());
        vars.insert("mode", mode.to_string());
        vars.insert("items", items);
        vars.insert("latency", latency_ms);
        self.run(
            "log query",
            "CREATE query_log SET question = $question, mode = $mode, items = $items, latency_ms = $latency",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Records an answered question under the caller's `query_id`, so that feedback can find it.
    pub async fn log_answer(
        &self,
        query_id: &str,
        question: &str,
        mode: &str,
        items: Vec<String>,
        latency_ms: f64,
    ) -> Result<()> {
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("query_log", query_id));
        vars.insert("question", question.to_string());
        vars.insert("mode", mode.to_string());
        vars.insert("items", items);
        vars.insert("latency", latency_ms);
        self.run(
            "log answer",
            "CREATE $id SET question = $question, mode = $mode, items = $items, latency_ms = $latency",
            vars,
        )
        .await?;
        Ok(())
    }

    /// Stores a rating and comment on a logged answer; `false` when no answer has that id.
    pub async fn record_feedback(
        &self,
        query_id: &str,
        rating: i64,
        comment: Option<&str>,
    ) -> Result<bool> {
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("query_log", query_id));
        vars.insert("rating", rating);
        vars.insert("comment", comment.map(str::to_string));
        let mut response = self
            .run(
                "record feedback",
                "UPDATE $id SET rating = $rating, feedback = $comment RETURN rating, feedback",
                vars,
            )
            .await?;
        let rows: Vec<FeedbackRow> = response.take(0).map_err(Error::query("record feedback"))?;
        Ok(!rows.is_empty())
    }

    /// The rating and comment stored for a logged answer, if any.
    pub async fn feedback_of(&self, query_id: &str) -> Result<Option<(i64, Option<String>)>> {
        let mut vars = Variables::new();
        vars.insert("id", RecordId::new("query_log", query_id));
        let mut response = self
            .run(
                "read feedback",
                "SELECT rating, feedback FROM $id WHERE rating != NONE",
                vars,
            )
            .await?;
        let rows: Vec<FeedbackRow> = response.take(0).map_err(Error::query("read feedback"))?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.rating.map(|rating| (rating, r.feedback))))
    }

    /// Row counts of every table.
    pub async fn counts(&self) -> Result<Counts> {
        let mut response = self
            .run(
                "counts",
                "SELECT count() AS n FROM concept GROUP ALL; \
                 SELECT count() AS n FROM relates GROUP ALL; \
                 SELECT count() AS n FROM source GROUP ALL; \
                 SELECT count() AS n FROM chunk GROUP ALL; \
                 SELECT count() AS n FROM mentions GROUP ALL; \
                 SELECT count() AS n FROM query_log GROUP ALL;",
                Variables::new(),
            )
            .await?;
        let mut n = [0usize; 6];
        for (i, slot) in n.iter_mut().enumerate() {
            let rows: Vec<Count> = response.take(i).map_err(Error::query("counts"))?;
            *slot = rows
                .first()
                .map_or(0, |c| usize::try_from(c.n).unwrap_or(0));
        }
        Ok(Counts {
            concepts: n[0],
            relations: n[1],
            sources: n[2],
            chunks: n[3],
            mentions: n[4],
            queries: n[5],
        })
    }
}

/// Whether a store error is a retryable write conflict between transactions.
fn is_transaction_conflict(error: &surrealdb::Error) -> bool {
    let text = error.to_string();
    text.contains("Transaction conflict") || text.contains("TransactionConflict")
}
