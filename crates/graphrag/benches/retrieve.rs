//! Latency of `retrieve` per mode (embedding of the question timed separately), on the shipped
//! knowledge base with the real MiniLM model, and on a generated large graph (10k concepts, 50k
//! relations, 50k chunks at `GRAPHRAG_BENCH_SCALE=1`, the default; 0 skips it) with
//! deterministic pseudo-random vectors. Also prints indexing throughput, incremental re-index
//! time after one changed concept, and SurrealQL two-hop traversal against the in-memory
//! snapshot.
//!
//! The store is the default embedded on-disk engine (SurrealKV, in a temporary directory), as
//! users run it; `GRAPHRAG_BENCH_STORE=mem` measures the in-memory engine instead.
//!
//! Run: `eval "$(cargo xtask env)"`, then `cargo bench -p graphrag --bench retrieve`.

#![allow(missing_docs)] // criterion_group! generates undocumented public functions.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use graphrag::config::{Config, IndexConfig, StoreConfig};
use graphrag::corpus::{Document, load_knowledge, playbook_documents};
use graphrag::embed::{Embed, MiniLm, ModelPaths, unit};
use graphrag::graph::EdgeFilter;
use graphrag::index::{NoProgress, index};
use graphrag::retrieve::{Engine, Mode, RetrieveOptions};
use graphrag::store::Store;
use knowledge::{Category, Concept, KnowledgeBase, Location, Relation, RelationKind, Source};

fn model() -> Arc<MiniLm> {
    let cache = assets::AssetCache::from_env().expect("asset cache");
    let f = cache
        .embedding_model()
        .expect("MiniLM installed (cargo xtask setup)");
    let ort = cache
        .onnxruntime_library()
        .expect("ONNX Runtime installed (cargo xtask setup)");
    let paths = ModelPaths {
        onnx: f.onnx,
        tokenizer: f.tokenizer,
        config: f.config,
        special_tokens_map: f.special_tokens_map,
        tokenizer_config: f.tokenizer_config,
        onnxruntime: ort,
    };
    Arc::new(MiniLm::load(&paths, graphrag::config::effective_threads(0), 32).expect("model loads"))
}

/// Deterministic unit vectors from a text hash: the store's work does not depend on what the
/// vectors mean, and embedding 50k chunks for real would take longer than the benchmark.
struct HashEmbed;
impl Embed for HashEmbed {
    fn embed(&self, texts: &[&str]) -> graphrag::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| hash_vector(t)).collect())
    }
    fn dimension(&self) -> usize {
        384
    }
    fn fingerprint(&self) -> &str {
        "hash-embed"
    }
}

fn hash_vector(t: &str) -> Vec<f32> {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in t.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let v = (0..384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect();
    unit(v)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "{label}: n={} p50={:.2} ms p95={:.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.95)
    );
}

/// The store under test: SurrealKV in `dir` (the default) or `mem://` with
/// `GRAPHRAG_BENCH_STORE=mem`.
fn bench_store(dir: &tempfile::TempDir, db: &str) -> StoreConfig {
    let location = match std::env::var("GRAPHRAG_BENCH_STORE").as_deref() {
        Ok("mem") => "mem://".to_string(),
        Ok("surrealkv") | Err(_) => format!("surrealkv://{}", dir.path().join(db).display()),
        Ok(other) => panic!("GRAPHRAG_BENCH_STORE must be `surrealkv` or `mem`, not `{other}`"),
    };
    eprintln!("{db} store: {location}");
    StoreConfig {
        location,
        database: db.into(),
        ..StoreConfig::default()
    }
}

fn knowledge_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/knowledge")
}

fn shipped(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut kb = load_knowledge(&knowledge_dir()).expect("knowledge");
    let docs = playbook_documents(&kb);
    let embedder = model();
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = rt
        .block_on(Store::open(&bench_store(&dir, "shipped")))
        .expect("store");
    let t = Instant::now();
    let first = rt
        .block_on(index(
            &store,
            embedder.as_ref(),
            &kb,
            &docs,
            &IndexConfig::default(),
            &NoProgress,
        ))
        .expect("index");
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "shipped index: {:.1}s, {} texts embedded ({:.0}/s overall), {} writes",
        secs,
        first.embedded,
        first.embedded as f64 / secs,
        first.writes
    );
    let t = Instant::now();
    let again = rt
        .block_on(index(
            &store,
            embedder.as_ref(),
            &kb,
            &docs,
            &IndexConfig::default(),
            &NoProgress,
        ))
        .expect("index");
    eprintln!(
        "no-change re-index: {:.2}s, {} embedded, {} writes",
        t.elapsed().as_secs_f64(),
        again.embedded,
        again.writes
    );
    kb.concepts[0]
        .definition
        .push_str(" Changed for the benchmark.");
    let t = Instant::now();
    let one = rt
        .block_on(index(
            &store,
            embedder.as_ref(),
            &kb,
            &docs,
            &IndexConfig::default(),
            &NoProgress,
        ))
        .expect("index");
    eprintln!(
        "one-concept re-index: {:.2}s, {} embedded, {} writes",
        t.elapsed().as_secs_f64(),
        one.embedded,
        one.writes
    );

    let engine = rt
        .block_on(Engine::open(
            store.clone(),
            embedder.clone(),
            Config::default(),
        ))
        .expect("engine");
    let questions: Vec<String> = kb.questions.iter().map(|q| q.text.clone()).collect();
    let mut embed_ms = Vec::new();
    let vectors: Vec<Vec<f32>> = questions
        .iter()
        .map(|q| {
            let t = Instant::now();
            let v = engine.embed_question(q).expect("embed");
            embed_ms.push(t.elapsed().as_secs_f64() * 1e3);
            v
        })
        .collect();
    report("shipped embed question", embed_ms);
    for mode in Mode::ALL {
        let mut ms = Vec::new();
        for (q, v) in questions.iter().zip(&vectors) {
            let t = Instant::now();
            rt.block_on(engine.retrieve_embedded(
                q,
                Some(v),
                RetrieveOptions {
                    mode,
                    k: Some(10),
                    log: false,
                },
            ))
            .expect("retrieve");
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        report(&format!("shipped retrieve {}", mode.as_str()), ms);
    }
    // SurrealQL two-hop traversal against the snapshot's BFS, same concepts.
    let ids: Vec<String> = kb.concepts.iter().take(50).map(|c| c.id.clone()).collect();
    let mut sql = Vec::new();
    let mut mem_ms = Vec::new();
    for id in &ids {
        let t = Instant::now();
        rt.block_on(store.two_hop_neighbours(id)).expect("two hop");
        sql.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        std::hint::black_box(engine.graph().bfs(id, 2, &EdgeFilter::default()));
        mem_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("two-hop SurrealQL", sql);
    report("two-hop snapshot BFS", mem_ms);
    let mut ppr = Vec::new();
    for id in &ids {
        let t = Instant::now();
        std::hint::black_box(
            engine
                .graph()
                .personalized_pagerank(&[(id.clone(), 1.0)], 0.25, 30),
        );
        ppr.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("snapshot PPR (30 iterations)", ppr);

    let q = questions.first().cloned().unwrap_or_default();
    let v = vectors.first().cloned().unwrap_or_default();
    let mut group = c.benchmark_group("shipped");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(30);
    group.bench_function("embed_question", |b| {
        b.iter(|| engine.embed_question(&q).expect("embed"))
    });
    for mode in Mode::ALL {
        group.bench_function(format!("retrieve_{}", mode.as_str()), |b| {
            b.iter(|| {
                rt.block_on(engine.retrieve_embedded(
                    &q,
                    Some(&v),
                    RetrieveOptions {
                        mode,
                        k: Some(10),
                        log: false,
                    },
                ))
                .expect("retrieve")
            })
        });
    }
    group.finish();
}

fn concept(i: usize) -> Concept {
    Concept {
        id: format!("c{i}"),
        name: format!("Concept {i} metric{} design{}", i % 97, i % 89),
        aliases: vec![format!("alias{i}")],
        category: Category::Methodology,
        definition: format!(
            "Concept {i} relates treatment effect{} to variance{} and power{} in experiments with users{}.",
            i % 101,
            i % 103,
            i % 107,
            i % 109
        ),
        when_to_use: String::new(),
        common_mistakes: Vec::new(),
        example: String::new(),
        formula: None,
        sources: vec![Source {
            title: "Generated".into(),
            authors: None,
            year: None,
            locator: None,
            url: None,
        }],
        check: None,
        area: "generated".into(),
        location: Location {
            file: PathBuf::from("generated.toml"),
            line: i + 1,
        },
    }
}

fn large(c: &mut Criterion) {
    let scale: f64 = std::env::var("GRAPHRAG_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    if scale <= 0.0 {
        eprintln!("large graph skipped (GRAPHRAG_BENCH_SCALE={scale})");
        return;
    }
    let (nc, nr, nd) = (
        (10_000.0 * scale) as usize,
        (50_000.0 * scale) as usize,
        (50_000.0 * scale) as usize,
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let concepts: Vec<Concept> = (0..nc).map(concept).collect();
    let mut relations = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut x: u64 = 7;
    while relations.len() < nr {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let a = (x >> 33) as usize % nc;
        let b = (x >> 13) as usize % nc;
        let kind = RelationKind::ALL[(x >> 5) as usize % RelationKind::ALL.len()];
        if a == b || !seen.insert((a.min(b), a.max(b))) {
            continue;
        }
        relations.push(Relation {
            from: format!("c{a}"),
            to: format!("c{b}"),
            kind,
            explanation: format!("c{a} {kind} c{b}"),
            weight: 0.1 + ((x >> 40) % 90) as f64 / 100.0,
            sign: None,
            location: Location {
                file: PathBuf::from("generated.toml"),
                line: relations.len() + 1,
            },
        });
    }
    let kb = KnowledgeBase {
        concepts,
        relations,
        playbook: Vec::new(),
        questions: Vec::new(),
    };
    // One chunk per document: 50k chunks.
    let docs: Vec<Document> = (0..nd)
        .map(|i| Document {
            key: format!("local/{i}"),
            kind: "local".into(),
            title: format!("Doc {i}"),
            url: None,
            author: None,
            license: None,
            text: format!(
                "Document {i} discusses Concept {} and the variance{} of metric{} for users{}.",
                i % nc.max(1),
                i % 103,
                i % 97,
                i % 109
            ),
        })
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = rt
        .block_on(Store::open(&bench_store(&dir, "large")))
        .expect("store");
    let embedder = Arc::new(HashEmbed);
    let config = IndexConfig {
        write_batch: 500,
        ..IndexConfig::default()
    };
    let t = Instant::now();
    let r = rt
        .block_on(index(
            &store,
            embedder.as_ref(),
            &kb,
            &docs,
            &config,
            &NoProgress,
        ))
        .expect("index");
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "large index ({nc} concepts, {nr} relations, {nd} chunks): {secs:.1}s, {:.0} rows/s",
        r.writes as f64 / secs
    );
    let engine = rt
        .block_on(Engine::open(store, embedder.clone(), Config::default()))
        .expect("engine");
    let questions: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "how does concept {} affect variance{} and power{}",
                i * 37 % nc.max(1),
                i,
                i * 3
            )
        })
        .collect();
    for mode in Mode::ALL {
        let mut ms = Vec::new();
        for q in &questions {
            let v = hash_vector(q);
            let t = Instant::now();
            rt.block_on(engine.retrieve_embedded(
                q,
                Some(&v),
                RetrieveOptions {
                    mode,
                    k: Some(10),
                    log: false,
                },
            ))
            .expect("retrieve");
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        report(&format!("large retrieve {}", mode.as_str()), ms);
    }
    let q = questions[0].clone();
    let v = hash_vector(&q);
    let mut group = c.benchmark_group("large");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    group.bench_function("retrieve_hybrid", |b| {
        b.iter(|| {
            rt.block_on(engine.retrieve_embedded(
                &q,
                Some(&v),
                RetrieveOptions {
                    mode: Mode::Hybrid,
                    k: Some(10),
                    log: false,
                },
            ))
            .expect("retrieve")
        })
    });
    group.finish();
}

criterion_group!(benches, shipped, large);
criterion_main!(benches);
