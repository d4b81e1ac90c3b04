//! The engine on a small indexed slice: traversal, retrieval with citations in every mode, the
//! query log, hostile input that must stay data, and each bad input's clear error. The first two
//! run twice: on the in-memory engine and on a real SurrealDB server over `ws://` (the
//! workspace's `graphrag-server` binary on loopback), the same code path through `engine::any`.

mod common;

use std::sync::Arc;

use graphrag::Error;
use graphrag::config::{Config, IndexConfig};
use graphrag::corpus::{Document, load_knowledge};
use graphrag::embed::{Embed, MiniLm, ModelPaths};
use graphrag::graph::{Direction, EdgeFilter};
use graphrag::index::{NoProgress, index};
use graphrag::retrieve::{Engine, ItemKind, Mode, RetrieveOptions};
use graphrag::store::Store;
use knowledge::KnowledgeBase;

fn slice() -> KnowledgeBase {
    let mut kb = load_knowledge(&common::knowledge_dir()).expect("shipped knowledge is valid");
    let keep = [
        "p-value",
        "null-hypothesis",
        "significance-level",
        "type-i-error",
        "statistical-power",
        "sample-size",
        "minimum-detectable-effect",
        "type-ii-error",
        "effect-size",
        "test-duration",
        "metric-variance",
        "cuped",
    ];
    kb.concepts.retain(|c| keep.contains(&c.id.as_str()));
    kb.relations
        .retain(|r| keep.contains(&r.from.as_str()) && keep.contains(&r.to.as_str()));
    kb.playbook.retain(|p| p.id == "cuped-usage");
    kb.questions.clear();
    kb
}

async fn engine(store: Store) -> (Engine, KnowledgeBase) {
    let kb = slice();
    let mut docs = graphrag::corpus::playbook_documents(&kb);
    docs.push(Document {
        key: "cv/1".into(),
        kind: "cross_validated".into(),
        title: "How do I choose alpha?".into(),
        url: Some("https://stats.stackexchange.com/q/1".into()),
        author: Some("asker, answerer".into()),
        license: Some("CC BY-SA 4.0".into()),
        text: "How do I choose the significance level?\n\nAccepted answer: pick alpha before the test; a p-value below it is significant.".into(),
    });
    index(
        &store,
        common::embedder().as_ref(),
        &kb,
        &docs,
        &IndexConfig::default(),
        &NoProgress,
    )
    .await
    .expect("index");
    (
        Engine::open(store, common::embedder(), Config::default())
            .await
            .expect("engine"),
        kb,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_retrieval_and_citations() {
    traversal_retrieval_and_citations_on(common::mem_store("engine").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_retrieval_and_citations_on_a_server() {
    let server = common::LoopbackServer::start("memory");
    traversal_retrieval_and_citations_on(server.store("engine").await).await;
}

async fn traversal_retrieval_and_citations_on(store: Store) {
    let (engine, kb) = engine(store).await;
    assert_eq!(engine.graph().len(), kb.concepts.len());

    let path = engine
        .path("cuped", "test-duration", &EdgeFilter::default())
        .expect("known ids")
        .expect("a path");
    assert_eq!(path.nodes.first().map(String::as_str), Some("cuped"));
    assert_eq!(path.nodes.last().map(String::as_str), Some("test-duration"));
    assert_eq!(path.explain().len(), path.nodes.len() - 1);
    assert!(path.steps.iter().all(|s| !s.edge.explanation.is_empty()));

    let near = engine
        .neighbors("sample-size", 1, &EdgeFilter::default())
        .expect("known id");
    assert!(near.len() > 2 && near.iter().all(|v| v.depth <= 1));
    let affects = Engine::edge_filter(&["affects".into()], Direction::Both).expect("valid kind");
    let only = engine
        .neighbors("sample-size", 2, &affects)
        .expect("known id");
    assert!(only.iter().skip(1).all(|v| {
        v.via
            .and_then(|e| engine.graph().edge(e))
            .is_some_and(|e| e.kind == "AFFECTS")
    }));
    assert!(matches!(
        Engine::edge_filter(&["LIKES".into()], Direction::Both),
        Err(Error::UnknownKind { .. })
    ));

    for mode in Mode::ALL {
        let ctx = engine
            .retrieve(
                "how does cuped shorten my test",
                RetrieveOptions {
                    mode,
                    k: Some(8),
                    log: true,
                },
            )
            .await
            .expect("retrieve");
        assert!(!ctx.items.is_empty(), "{mode:?}");
        assert!(ctx.items.len() <= 8);
        for w in ctx.items.windows(2) {
            assert!(w[0].score >= w[1].score);
        }
        for item in &ctx.items {
            let c = item.contributions;
            assert!((c.bm25 + c.vector + c.graph + c.paths - item.score).abs() < 1e-9);
            match item.kind {
                ItemKind::Concept | ItemKind::Path => assert!(!item.citation.concepts.is_empty()),
                ItemKind::Chunk => {
                    assert!(item.citation.title.is_some() && item.citation.offsets.is_some());
                    if item.citation.document.as_deref() == Some("cv/1") {
                        assert_eq!(item.citation.license.as_deref(), Some("CC BY-SA 4.0"));
                        assert!(item.citation.url.is_some() && item.citation.author.is_some());
                    }
                }
            }
        }
        if mode == Mode::Hybrid {
            assert!(
                ctx.ranked_concepts().iter().take(5).any(|c| c == "cuped"),
                "{:?}",
                ctx.ranked_concepts()
            );
        }
    }
    let cv = engine
        .retrieve(
            "choose the significance level alpha",
            RetrieveOptions {
                mode: Mode::Bm25,
                k: Some(10),
                log: false,
            },
        )
        .await
        .expect("retrieve");
    assert!(
        cv.items
            .iter()
            .any(|i| i.citation.document.as_deref() == Some("cv/1")),
        "{:?}",
        cv.items
    );
    assert_eq!(engine.store().counts().await.expect("counts").queries, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_stays_data() {
    hostile_input_stays_data_on(common::mem_store("hostile").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_stays_data_on_a_server() {
    let server = common::LoopbackServer::start("memory");
    hostile_input_stays_data_on(server.store("hostile").await).await;
}

async fn hostile_input_stays_data_on(store: Store) {
    let (engine, kb) = engine(store).await;
    let before = engine.store().counts().await.expect("counts");
    let hostile = [
        "'; REMOVE TABLE concept; --",
        "\"; DELETE concept; SELECT * FROM concept WHERE \"1\"=\"1",
        "$q ⟨concept:p-value⟩ `relates` @1@ <|3,4|> p-value",
        "} ; DEFINE TABLE evil; {",
        "p-value\u{0}\u{7}\u{1b}[31m red",
    ];
    for q in hostile {
        for mode in Mode::ALL {
            engine
                .retrieve(
                    q,
                    RetrieveOptions {
                        mode,
                        k: None,
                        log: true,
                    },
                )
                .await
                .expect("hostile text is just text");
        }
        engine.entities(q).expect("entities");
        assert!(matches!(
            engine.path(q, "p-value", &EdgeFilter::default()),
            Err(Error::UnknownConcept { .. })
        ));
    }
    let after = engine.store().counts().await.expect("counts");
    assert_eq!(
        (after.concepts, after.relations, after.chunks),
        (before.concepts, before.relations, before.chunks)
    );
    assert_eq!(after.concepts, kb.concepts.len());
    assert_eq!(after.queries, before.queries + hostile.len() * 4);
    // Control characters never reach the results.
    let ctx = engine
        .retrieve("p-value\u{0}\u{1b}", RetrieveOptions::default())
        .await
        .expect("retrieve");
    assert_eq!(ctx.question, "p-value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    let (engine, _) = engine(common::mem_store("bad").await).await;
    let opts = RetrieveOptions::default();
    assert!(matches!(
        engine.retrieve("", opts).await,
        Err(Error::EmptyInput)
    ));
    assert!(matches!(
        engine.retrieve(" \u{0}\u{7}\n ", opts).await,
        Err(Error::EmptyInput)
    ));
    let huge = "power ".repeat(100_000 / 6 + 1);
    assert!(matches!(
        engine.retrieve(&huge, opts).await,
        Err(Error::InputTooLong { max: 4096, .. })
    ));
    match engine.path("pvalue", "sample-size", &EdgeFilter::default()) {
        Err(e @ Error::UnknownConcept { .. }) => {
            assert!(e.to_string().contains("did you mean \"p-value\""), "{e}")
        }
        other => panic!("expected UnknownConcept, got {other:?}"),
    }
    assert!(matches!(
        engine.neighbors("nope", 1, &EdgeFilter::default()),
        Err(Error::UnknownConcept { .. })
    ));
    assert!(matches!(
        "fuzzy".parse::<Mode>(),
        Err(Error::UnknownMode { .. })
    ));

    // Stores that are missing, misnamed or locked.
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = format!("surrealkv://{}", dir.path().join("nothing-here").display());
    assert!(matches!(
        Store::open_existing(&common::store_config(&missing, "x")).await,
        Err(Error::StoreMissing { .. })
    ));
    assert!(matches!(
        Store::open(&common::store_config("postgres://x", "x")).await,
        Err(Error::BadLocation { .. })
    ));
    let empty = common::mem_store("never-indexed").await;
    assert!(matches!(
        Engine::open(empty, common::embedder(), Config::default()).await,
        Err(Error::NotIndexed { .. })
    ));

    // A model that is missing, corrupt, or not the one the store was built with.
    let good = common::model_paths();
    let no_ort = ModelPaths {
        onnxruntime: dir.path().join("libonnxruntime.so"),
        ..good.clone()
    };
    assert!(matches!(
        MiniLm::load(&no_ort, 1, 8),
        Err(Error::OrtMissing { .. })
    ));
    let garbage = dir.path().join("model.onnx");
    std::fs::write(&garbage, b"this is not an onnx model").expect("write");
    assert!(matches!(
        MiniLm::load(
            &ModelPaths {
                onnx: garbage,
                ..good.clone()
            },
            1,
            8
        ),
        Err(Error::ModelInvalid { .. })
    ));
    let gone = ModelPaths {
        tokenizer: dir.path().join("tokenizer.json"),
        ..good
    };
    assert!(matches!(
        MiniLm::load(&gone, 1, 8),
        Err(Error::ModelFile { .. })
    ));
    struct Other;
    impl Embed for Other {
        fn embed(&self, texts: &[&str]) -> graphrag::Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|_| vec![0.0; 384]).collect())
        }
        fn dimension(&self) -> usize {
            384
        }
        fn fingerprint(&self) -> &str {
            "another-model"
        }
    }
    assert!(matches!(
        Engine::open(engine.store().clone(), Arc::new(Other), Config::default()).await,
        Err(Error::ModelMismatch { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_store_persists_and_refuses_bad_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = format!("surrealkv://{}", dir.path().join("server-store").display());
    let counts = {
        let server = common::LoopbackServer::start(&storage);
        let (engine, kb) = engine(server.store("persist").await).await;
        let counts = engine.store().counts().await.expect("counts");
        assert_eq!(counts.concepts, kb.concepts.len());
        counts
    };

    // After a restart the indexed store is still there, and re-indexing it does nothing.
    let server = common::LoopbackServer::start(&storage);
    let store = Store::open_existing(&server.store_config("persist"))
        .await
        .expect("the store reopens");
    assert_eq!(store.counts().await.expect("counts"), counts);
    let kb = slice();
    let report = index(
        &store,
        common::embedder().as_ref(),
        &kb,
        &graphrag::corpus::playbook_documents(&kb),
        &IndexConfig::default(),
        &NoProgress,
    )
    .await
    .expect("index");
    assert_eq!(report.embedded, 0, "{report:?}");
    let engine = Engine::open(store, common::embedder(), Config::default())
        .await
        .expect("engine");
    let ctx = engine
        .retrieve("what is cuped", RetrieveOptions::default())
        .await
        .expect("retrieve");
    assert!(ctx.ranked_concepts().iter().any(|c| c == "cuped"));

    // A wrong password is refused with an error that names the server and not the password.
    let mut wrong = server.store_config("persist");
    wrong.password = Some(graphrag::config::Secret::new("not-the-password"));
    match Store::open(&wrong).await {
        Err(e @ Error::SignIn { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&server.url()), "{text}");
            assert!(!text.contains("not-the-password"), "{text}");
        }
        other => panic!("expected SignIn, got {:?}", other.map(|_| ())),
    }
    assert!(!format!("{wrong:?}").contains("not-the-password"));

    // No password in the config: it comes from the environment, and its absence is named.
    let mut unset = server.store_config("persist");
    unset.password = None;
    let opened = Store::open(&unset).await;
    match std::env::var(graphrag::config::STORE_PASSWORD_ENV) {
        Err(_) => assert!(
            matches!(opened, Err(Error::MissingPassword { .. })),
            "{:?}",
            opened.map(|_| ())
        ),
        Ok(p) if p == common::SERVER_PASSWORD => assert!(opened.is_ok()),
        Ok(_) => assert!(matches!(opened, Err(Error::SignIn { .. }))),
    }

    // Nothing listening: a clear error, not a hang.
    let port = server_port_free();
    let nowhere = common::store_config(&format!("ws://127.0.0.1:{port}"), "x");
    let started = std::time::Instant::now();
    assert!(matches!(
        Store::open(&nowhere).await,
        Err(Error::Open { .. })
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

fn server_port_free() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
