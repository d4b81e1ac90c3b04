//! Incremental indexing. Content hashes (which include the embedding model's fingerprint) decide
//! what changed: only new or changed concepts and chunks are embedded, only differing rows are
//! written, removed items are deleted, and a run with no changes writes nothing.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use knowledge::KnowledgeBase;
use serde::Serialize;
use surrealdb::types::RecordId;

use crate::chunk::{ChunkParams, chunk_text};
use crate::config::IndexConfig;
use crate::corpus::Document;
use crate::embed::Embed;
use crate::error::Result;
use crate::extract::{Lexicon, LexiconEntry};
use crate::store::{
    ChunkRow, ConceptRow, MentionRow, Meta, RelationRow, SCHEMA_VERSION, SourceRow, Store,
};
use crate::text::content_hash;

/// Receives progress; the binary draws a bar, tests ignore it. `Send + Sync` so that an indexing
/// future holding it can move between threads (a server opens the assistant on its runtime).
pub trait Progress: Send + Sync {
    /// A stage begins with `total` units of work.
    fn stage(&self, name: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
}

/// Progress drawn as an indicatif bar on stderr (hidden when stderr is not a terminal): the
/// stage's name, a bar, the count and the time taken. The bar is cleared when dropped.
#[derive(Debug)]
pub struct TerminalProgress(indicatif::ProgressBar);

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl TerminalProgress {
    /// A bar on stderr.
    pub fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:20} [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Self(bar)
    }

    /// A bar that draws nothing (for `--json` output).
    pub fn hidden() -> Self {
        Self(indicatif::ProgressBar::hidden())
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for TerminalProgress {
    fn stage(&self, name: &str, total: u64) {
        self.0.reset();
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(name.to_string());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// Added, changed, removed and unchanged counts of one kind of item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// New items.
    pub added: usize,
    /// Items whose content changed.
    pub changed: usize,
    /// Items deleted.
    pub removed: usize,
    /// Items left as they were.
    pub unchanged: usize,
}

/// What an index run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexReport {
    /// Concepts.
    pub concepts: Delta,
    /// Typed relations.
    pub relations: Delta,
    /// Documents.
    pub sources: Delta,
    /// Chunks (`changed` counts chunks whose position moved).
    pub chunks: Delta,
    /// Chunk → concept links.
    pub mentions: Delta,
    /// Texts embedded.
    pub embedded: usize,
    /// Rows written or deleted.
    pub writes: usize,
    /// Wall time.
    pub seconds: f64,
}

/// The text a concept is embedded from.
pub fn concept_embedding_text(c: &knowledge::Concept) -> String {
    if c.aliases.is_empty() {
        format!("{}: {}", c.name, c.definition.trim())
    } else {
        format!(
            "{} ({}): {}",
            c.name,
            c.aliases.join(", "),
            c.definition.trim()
        )
    }
}

fn concept_row(c: &knowledge::Concept, model: &str) -> ConceptRow {
    let mut body = String::new();
    if !c.when_to_use.is_empty() {
        body.push_str(&format!("When to use: {}\n", c.when_to_use.trim()));
    }
    for m in &c.common_mistakes {
        body.push_str(&format!("Common mistake: {}\n", m.trim()));
    }
    if !c.example.is_empty() {
        body.push_str(&format!("Example: {}\n", c.example.trim()));
    }
    if let Some(f) = &c.formula {
        body.push_str(&format!("Formula: {}\n", f.text.trim()));
    }
    let citations: Vec<String> = c
        .sources
        .iter()
        .map(|s| {
            let mut out = s.title.clone();
            if let Some(a) = &s.authors {
                out.push_str(&format!(", {a}"));
            }
            if let Some(y) = s.year {
                out.push_str(&format!(" ({y})"));
            }
            if let Some(l) = &s.locator {
                out.push_str(&format!(", {l}"));
            }
            if let Some(u) = &s.url {
                out.push_str(&format!(", {u}"));
            }
            out
        })
        .collect();
    let search_text = format!(
        "{}\n{}\n{}",
        c.name,
        c.aliases.join("\n"),
        c.definition.trim()
    );
    let embed_text = concept_embedding_text(c);
    let mut parts: Vec<&str> = vec![
        model,
        &c.name,
        &c.category.as_str(),
        &c.area,
        &search_text,
        &body,
        &embed_text,
    ];
    parts.extend(citations.iter().map(String::as_str));
    let hash = content_hash(&parts);
    let first = c.sources.first();
    ConceptRow {
        id: RecordId::new("concept", c.id.as_str()),
        name: c.name.clone(),
        aliases: c.aliases.clone(),
        category: c.category.as_str().to_string(),
        area: c.area.clone(),
        definition: c.definition.trim().to_string(),
        body,
        search_text,
        citations,
        source_title: first.map(|s| s.title.clone()),
        source_url: first.and_then(|s| s.url.clone()),
        source_authors: first.and_then(|s| s.authors.clone()),
        hash,
        embedding: Vec::new(),
    }
}

/// The key of a typed edge.
pub fn relation_key(r: &knowledge::Relation) -> String {
    format!("{}|{}|{}", r.from, r.kind, r.to)
}

fn relation_row(r: &knowledge::Relation) -> RelationRow {
    let sign = r.sign.map(|s| s.as_str().to_string());
    let weight = format!("{:.6}", r.weight);
    let hash = content_hash(&[
        r.kind.as_str(),
        &r.explanation,
        &weight,
        sign.as_deref().unwrap_or(""),
    ]);
    RelationRow {
        id: RecordId::new("relates", relation_key(r)),
        from: RecordId::new("concept", r.from.as_str()),
        to: RecordId::new("concept", r.to.as_str()),
        kind: r.kind.as_str().to_string(),
        explanation: r.explanation.trim().to_string(),
        weight: r.weight,
        sign,
        hash,
    }
}

/// Builds the extractor's lexicon from the knowledge base (without embeddings).
pub fn lexicon_of(kb: &KnowledgeBase) -> Lexicon {
    Lexicon::new(
        kb.concepts
            .iter()
            .map(|c| LexiconEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                aliases: c.aliases.clone(),
                embedding: None,
            })
            .collect(),
    )
}

fn mention_rows(lexicon: &Lexicon, chunk_key: &str, text: &str) -> Vec<MentionRow> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // Chunks are edited prose: typos are rare, and the fuzzy layer's cost is not worth paying on
    // every chunk.
    for e in lexicon.extract_lexical(text, false) {
        if !seen.insert(e.concept.clone()) {
            continue;
        }
        out.push(MentionRow {
            id: RecordId::new("mentions", format!("{chunk_key}@{}", e.concept)),
            chunk: RecordId::new("chunk", chunk_key),
            concept: RecordId::new("concept", e.concept.as_str()),
            method: e.method.as_str().to_string(),
            confidence: f64::from(e.confidence),
            start: e.start as i64,
            end: e.end as i64,
        });
    }
    out
}

fn embed_batched(
    embedder: &dyn Embed,
    texts: &[String],
    batch: usize,
    progress: &dyn Progress,
    stage: &str,
) -> Result<Vec<Vec<f32>>> {
    progress.stage(stage, texts.len() as u64);
    let mut out = Vec::with_capacity(texts.len());
    for group in texts.chunks(batch.max(1)) {
        let refs: Vec<&str> = group.iter().map(String::as_str).collect();
        out.extend(embedder.embed(&refs)?);
        progress.advance(group.len() as u64);
    }
    Ok(out)
}

async fn write_batched<T: Clone, F, Fut>(rows: Vec<T>, batch: usize, mut write: F) -> Result<usize>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let n = rows.len();
    for group in rows.chunks(batch.max(1)) {
        write(group.to_vec()).await?;
    }
    Ok(n)
}

/// Brings the store in line with `kb` and `documents`.
pub async fn index(
    store: &Store,
    embedder: &dyn Embed,
    kb: &KnowledgeBase,
    documents: &[Document],
    config: &IndexConfig,
    progress: &dyn Progress,
) -> Result<IndexReport> {
    let started = Instant::now();
    let model = embedder.fingerprint().to_string();
    let mut report = IndexReport::default();
    let batch = config.write_batch;

    // Concepts.
    let stored = store.concept_hashes().await?;
    let mut pending: Vec<(ConceptRow, String)> = Vec::new();
    let mut wanted: HashSet<String> = HashSet::new();
    for c in &kb.concepts {
        wanted.insert(c.id.clone());
        let row = concept_row(c, &model);
        match stored.get(&c.id) {
            Some(h) if *h == row.hash => report.concepts.unchanged += 1,
            Some(_) => {
                report.concepts.changed += 1;
                pending.push((row, concept_embedding_text(c)));
            }
            None => {
                report.concepts.added += 1;
                pending.push((row, concept_embedding_text(c)));
            }
        }
    }
    let texts: Vec<String> = pending.iter().map(|(_, t)| t.clone()).collect();
    let vectors = embed_batched(
        embedder,
        &texts,
        config.embed_batch,
        progress,
        "embedding concepts",
    )?;
    report.embedded += vectors.len();
    let rows: Vec<ConceptRow> = pending
        .into_iter()
        .zip(vectors)
        .map(|((mut row, _), v)| {
            row.embedding = v;
            row
        })
        .collect();
    report.writes += write_batched(rows, batch, |g| store.upsert_concepts(g)).await?;

    // Relations (after concepts: their ends must exist).
    let stored = store.relation_hashes().await?;
    let mut rows = Vec::new();
    let mut wanted_rel = HashSet::new();
    for r in &kb.relations {
        let row = relation_row(r);
        let key = relation_key(r);
        match stored.get(&key) {
            Some(h) if *h == row.hash => report.relations.unchanged += 1,
            Some(_) => {
                report.relations.changed += 1;
                rows.push(row);
            }
            None => {
                report.relations.added += 1;
                rows.push(row);
            }
        }
        wanted_rel.insert(key);
    }
    report.writes += write_batched(rows, batch, |g| store.upsert_relations(g)).await?;
    let stale: Vec<RecordId> = stored
        .keys()
        .filter(|k| !wanted_rel.contains(*k))
        .map(|k| RecordId::new("relates", k.as_str()))
        .collect();
    report.relations.removed = stale.len();
    report.writes += stale.len();
    store.delete_ids(stale).await?;

    // Documents and their chunks.
    let params = ChunkParams {
        target: config.chunk_target,
        overlap: config.chunk_overlap,
    };
    let lexicon = lexicon_of(kb);
    let stored_sources = store.source_hashes().await?;
    let chunk_sources = store.chunk_sources().await?;
    let mut chunks_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (chunk, source) in &chunk_sources {
        chunks_of
            .entry(source.as_str())
            .or_default()
            .insert(chunk.as_str());
    }
    let settings = format!("{}:{}:{model}", params.target, params.overlap);
    let mut source_rows = Vec::new();
    let mut new_chunks: Vec<(ChunkRow, String)> = Vec::new();
    let mut moved: Vec<ChunkRow> = Vec::new();
    let mut stale_chunks: Vec<String> = Vec::new();
    let mut wanted_docs = HashSet::new();
    for d in documents {
        wanted_docs.insert(d.key.clone());
        let hash = content_hash(&[
            &d.kind,
            &d.title,
            d.url.as_deref().unwrap_or(""),
            d.author.as_deref().unwrap_or(""),
            d.license.as_deref().unwrap_or(""),
            &d.text,
            &settings,
        ]);
        match stored_sources.get(&d.key) {
            Some(h) if *h == hash => {
                report.sources.unchanged += 1;
                continue;
            }
            Some(_) => report.sources.changed += 1,
            None => report.sources.added += 1,
        }
        source_rows.push(SourceRow {
            id: RecordId::new("source", d.key.as_str()),
            kind: d.kind.clone(),
            title: d.title.clone(),
            url: d.url.clone(),
            author: d.author.clone(),
            license: d.license.clone(),
            hash,
        });
        let existing = chunks_of.get(d.key.as_str()).cloned().unwrap_or_default();
        let mut keep = HashSet::new();
        for c in chunk_text(&d.text, params) {
            let key = format!("{}#{}", d.key, &content_hash(&[&c.text, &model])[..16]);
            if !keep.insert(key.clone()) {
                continue;
            }
            let row = ChunkRow {
                id: RecordId::new("chunk", key.as_str()),
                source: RecordId::new("source", d.key.as_str()),
                ordinal: c.ordinal as i64,
                start: c.start as i64,
                end: c.end as i64,
                text: c.text.clone(),
                embedding: Vec::new(),
            };
            if existing.contains(key.as_str()) {
                moved.push(row);
            } else {
                new_chunks.push((row, c.text));
            }
        }
        stale_chunks.extend(
            existing
                .iter()
                .filter(|k| !keep.contains(**k))
                .map(|k| k.to_string()),
        );
    }
    let removed_docs: Vec<String> = stored_sources
        .keys()
        .filter(|k| !wanted_docs.contains(*k))
        .cloned()
        .collect();
    for doc in &removed_docs {
        stale_chunks.extend(
            chunks_of
                .get(doc.as_str())
                .into_iter()
                .flatten()
                .map(|k| k.to_string()),
        );
    }
    report.sources.removed = removed_docs.len();

    report.writes += write_batched(source_rows, batch, |g| store.upsert_sources(g)).await?;
    let texts: Vec<String> = new_chunks.iter().map(|(_, t)| t.clone()).collect();
    let vectors = embed_batched(
        embedder,
        &texts,
        config.embed_batch,
        progress,
        "embedding chunks",
    )?;
    report.embedded += vectors.len();
    let rows: Vec<ChunkRow> = new_chunks
        .into_iter()
        .zip(vectors)
        .map(|((mut row, _), v)| {
            row.embedding = v;
            row
        })
        .collect();
    report.chunks.added = rows.len();
    let added_keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (crate::store::key_of(&r.id), r.text.clone()))
        .collect();
    report.writes += write_batched(rows, batch, |g| store.insert_chunks(g)).await?;
    report.chunks.changed = moved.len();
    report.writes += write_batched(moved, batch, |g| store.update_chunk_positions(g)).await?;
    report.chunks.removed = stale_chunks.len();

    // Links. When the lexicon changed every chunk is re-extracted, but only differences are
    // written; otherwise only new chunks are linked.
    let meta = store.meta().await?;
    let lexicon_changed =
        meta.as_ref().and_then(|m| m.lexicon.as_deref()) != Some(lexicon.fingerprint());
    let existing_mentions = store.mention_keys().await?;
    let stale_set: HashSet<&str> = stale_chunks.iter().map(String::as_str).collect();
    let mut stale_mentions: Vec<RecordId> = existing_mentions
        .iter()
        .filter(|(_, (chunk, _, _))| stale_set.contains(chunk.as_str()))
        .map(|(k, _)| RecordId::new("mentions", k.as_str()))
        .collect();
    let to_link: Vec<(String, String)> = if lexicon_changed {
        store
            .chunk_texts()
            .await?
            .into_iter()
            .filter(|(k, _)| !stale_set.contains(k.as_str()))
            .chain(added_keys.iter().cloned())
            .collect::<HashMap<_, _>>()
            .into_iter()
            .collect()
    } else {
        added_keys
    };
    progress.stage("linking chunks", to_link.len() as u64);
    let mut new_mentions = Vec::new();
    let mut desired: HashSet<String> = HashSet::new();
    let linked: HashSet<&str> = to_link.iter().map(|(k, _)| k.as_str()).collect();
    for (key, text) in &to_link {
        for m in mention_rows(&lexicon, key, text) {
            let mk = crate::store::key_of(&m.id);
            desired.insert(mk.clone());
            match existing_mentions.get(&mk) {
                Some((_, _, method)) if *method == m.method => report.mentions.unchanged += 1,
                Some(_) => {
                    report.mentions.changed += 1;
                    new_mentions.push(m);
                }
                None => {
                    report.mentions.added += 1;
                    new_mentions.push(m);
                }
            }
        }
        progress.advance(1);
    }
    for (k, (chunk, _, _)) in &existing_mentions {
        if linked.contains(chunk.as_str()) && !desired.contains(k) {
            stale_mentions.push(RecordId::new("mentions", k.as_str()));
        }
    }
    // Concepts that are gone take their links with them.
    for (k, (_, concept, _)) in &existing_mentions {
        if !wanted.contains(concept) {
            stale_mentions.push(RecordId::new("mentions", k.as_str()));
        }
    }
    stale_mentions.sort_by_key(crate::store::key_of);
    stale_mentions.dedup();
    report.mentions.removed = stale_mentions.len();
    report.writes += stale_mentions.len();
    store.delete_ids(stale_mentions).await?;
    report.writes += write_batched(new_mentions, batch, |g| store.upsert_mentions(g)).await?;

    // Deletions last: chunks, documents, then concepts.
    let ids: Vec<RecordId> = stale_chunks
        .iter()
        .map(|k| RecordId::new("chunk", k.as_str()))
        .collect();
    report.writes += ids.len();
    store.delete_ids(ids).await?;
    let ids: Vec<RecordId> = removed_docs
        .iter()
        .map(|k| RecordId::new("source", k.as_str()))
        .collect();
    report.writes += ids.len();
    store.delete_ids(ids).await?;
    let stored_concepts = store.concept_hashes().await?;
    let gone: Vec<RecordId> = stored_concepts
        .keys()
        .filter(|k| !wanted.contains(*k))
        .map(|k| RecordId::new("concept", k.as_str()))
        .collect();
    report.concepts.removed = gone.len();
    report.writes += gone.len();
    store.delete_ids(gone).await?;

    let new_meta = Meta {
        schema_version: SCHEMA_VERSION,
        model: Some(model),
        lexicon: Some(lexicon.fingerprint().to_string()),
    };
    if meta.as_ref() != Some(&new_meta) {
        store.set_meta(&new_meta).await?;
        report.writes += 1;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
