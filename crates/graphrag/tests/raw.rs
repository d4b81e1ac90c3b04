//! The collector's raw artifacts as the indexer reads them: real Parquet files of the three raw
//! schemas become documents (a Cross Validated post with its accepted answer first and the two
//! best other answers, an arXiv abstract, a local document) with their URLs, authors and
//! licences; once indexed, retrieval finds their passages with those citations. Missing files
//! are skipped and a broken one is a typed error naming it.

mod common;

use artifacts::{
    ArxivPaper, CrossValidatedAnswer, CrossValidatedPost, LocalDocument, Timestamp, write_artifact,
};
use graphrag::Error;
use graphrag::config::{Config, IndexConfig};
use graphrag::corpus::{load_knowledge, raw_documents};
use graphrag::index::{NoProgress, index};
use graphrag::retrieve::{Engine, ItemKind, Mode, RetrieveOptions};

fn answer(id: i64, score: i64, accepted: bool, text: &str) -> CrossValidatedAnswer {
    CrossValidatedAnswer {
        answer_id: id,
        body_html: format!("<p>{text}</p>"),
        body_text: text.into(),
        score,
        is_accepted: accepted,
        created_at: Timestamp(1_700_000_000_000_000),
        author_name: Some(format!("author{id}")),
        author_id: Some(id),
        link: format!("https://stats.stackexchange.com/a/{id}"),
    }
}

fn write_raw(dir: &std::path::Path) {
    let post = CrossValidatedPost {
        question_id: 4242,
        title: "Is a quokka uplift test valid with unequal groups?".into(),
        body_html: "<p>We split traffic 90/10.</p>".into(),
        body_text: "We split traffic 90/10 for the quokka banner.".into(),
        tags: vec!["ab-test".into()],
        score: 12,
        view_count: 900,
        answer_count: 4,
        is_answered: true,
        accepted_answer_id: Some(2),
        created_at: Timestamp(1_700_000_000_000_000),
        link: "https://stats.stackexchange.com/q/4242".into(),
        author_name: Some("asker".into()),
        author_id: Some(1),
        license: "CC BY-SA 4.0".into(),
        answers: vec![
            answer(
                1,
                50,
                false,
                "High-voted answer: unequal groups only cost power.",
            ),
            answer(
                2,
                3,
                true,
                "Accepted answer: the test stays valid; compute power for 90/10.",
            ),
            answer(3, 20, false, "Second answer: check the sample ratio first."),
            answer(
                4,
                -2,
                false,
                "Downvoted answer that must not be indexed: zorblax.",
            ),
        ],
        fetched_at: Timestamp(1_700_000_000_000_000),
    };
    write_artifact(dir.join("cross_validated.parquet"), &[post]).expect("write cv");
    let paper = ArxivPaper {
        arxiv_id: "2401.00001".into(),
        version: 2,
        title: "Variance reduction with wombat covariates".into(),
        abstract_text: "We show that wombat covariates measured before the experiment reduce the variance of the treatment effect estimate by forty percent in online tests.".into(),
        authors: vec!["A. Author".into(), "B. Author".into()],
        categories: vec!["stat.ME".into()],
        primary_category: "stat.ME".into(),
        published_at: Timestamp(1_700_000_000_000_000),
        updated_at: Timestamp(1_700_000_000_000_000),
        doi: None,
        journal_ref: None,
        comment: None,
        abs_url: "https://arxiv.org/abs/2401.00001v2".into(),
        pdf_url: None,
        fetched_at: Timestamp(1_700_000_000_000_000),
    };
    write_artifact(dir.join("arxiv.parquet"), &[paper]).expect("write arxiv");
    let local = LocalDocument {
        doc_id: "guide".into(),
        root: "/docs".into(),
        path: "guide.md".into(),
        title: "Team guide".into(),
        format: "markdown".into(),
        text: "Our team ends every platypus experiment after exactly two full weeks.".into(),
        content_sha256: "0".repeat(64),
        modified_at: Timestamp(1_700_000_000_000_000),
        size_bytes: 70,
    };
    write_artifact(dir.join("local_docs.parquet"), &[local]).expect("write local");
}

#[test]
fn raw_artifacts_become_documents_with_their_provenance() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(raw_documents(dir.path()).expect("empty is fine").is_empty());
    write_raw(dir.path());
    let docs = raw_documents(dir.path()).expect("reads");
    let keys: Vec<&str> = docs.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["cv/4242", "arxiv/2401.00001", "local/guide"]);

    let cv = &docs[0];
    assert_eq!(
        cv.url.as_deref(),
        Some("https://stats.stackexchange.com/q/4242")
    );
    assert_eq!(cv.license.as_deref(), Some("CC BY-SA 4.0"));
    let accepted = cv
        .text
        .find("Accepted answer: the test")
        .expect("accepted answer kept");
    let high = cv.text.find("High-voted").expect("best other answer kept");
    let second = cv.text.find("Second answer").expect("second best kept");
    assert!(
        accepted < high && high < second,
        "accepted first, then by score"
    );
    assert!(
        !cv.text.contains("zorblax"),
        "only the two best other answers"
    );
    assert!(
        cv.author
            .as_deref()
            .is_some_and(|a| a.contains("asker") && a.contains("author2"))
    );

    let paper = &docs[1];
    assert_eq!(
        paper.url.as_deref(),
        Some("https://arxiv.org/abs/2401.00001v2")
    );
    assert_eq!(paper.author.as_deref(), Some("A. Author, B. Author"));
    assert!(
        paper
            .text
            .starts_with("Variance reduction with wombat covariates")
    );

    // A broken file is an error that names it, not a silent skip.
    std::fs::write(dir.path().join("arxiv.parquet"), b"not parquet").expect("overwrite");
    match raw_documents(dir.path()) {
        Err(Error::Artifact { path, .. }) => assert!(path.ends_with("arxiv.parquet")),
        other => panic!("expected an artifact error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexed_raw_passages_are_retrieved_with_their_citations() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_raw(dir.path());
    let mut kb = load_knowledge(&common::knowledge_dir()).expect("shipped knowledge is valid");
    kb.concepts.truncate(6);
    let ids: Vec<String> = kb.concepts.iter().map(|c| c.id.clone()).collect();
    kb.relations
        .retain(|r| ids.contains(&r.from) && ids.contains(&r.to));
    kb.playbook.clear();
    kb.questions.clear();
    let docs = raw_documents(dir.path()).expect("reads");
    let store = common::mem_store("raw").await;
    let report = index(
        &store,
        common::embedder().as_ref(),
        &kb,
        &docs,
        &IndexConfig::default(),
        &NoProgress,
    )
    .await
    .expect("index");
    assert_eq!(report.sources.added, 3, "{report:?}");
    let engine = Engine::open(store, common::embedder(), Config::default())
        .await
        .expect("engine");
    for (question, document, url) in [
        (
            "do wombat covariates reduce the variance of the treatment effect",
            "arxiv/2401.00001",
            Some("https://arxiv.org/abs/2401.00001v2"),
        ),
        (
            "is the quokka uplift test valid with 90/10 unequal groups",
            "cv/4242",
            Some("https://stats.stackexchange.com/q/4242"),
        ),
        ("when do platypus experiments end", "local/guide", None),
    ] {
        let ctx = engine
            .retrieve(
                question,
                RetrieveOptions {
                    mode: Mode::Hybrid,
                    k: Some(5),
                    log: false,
                },
            )
            .await
            .expect("retrieve");
        let hit = ctx
            .items
            .iter()
            .find(|i| i.kind == ItemKind::Chunk && i.citation.document.as_deref() == Some(document))
            .unwrap_or_else(|| panic!("{question}: no chunk of {document} in {:?}", ctx.items));
        assert_eq!(hit.citation.url.as_deref(), url, "{question}");
        let (start, end) = hit.citation.offsets.expect("chunks carry offsets");
        let source = docs
            .iter()
            .find(|d| d.key == document)
            .expect("the document");
        assert_eq!(
            &source.text[start..end],
            hit.text,
            "offsets point at the passage"
        );
    }
}
