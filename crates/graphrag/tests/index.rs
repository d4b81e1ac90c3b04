//! Incremental indexing on a small slice of the shipped knowledge base, with the real model and
//! the in-memory engine: a second run does nothing, one changed concept re-embeds only itself,
//! an alias change re-links only the chunks it affects, and removed items are deleted. The same
//! checks run on a real SurrealDB server over `ws://`.

mod common;

use graphrag::config::IndexConfig;
use graphrag::corpus::{Document, load_knowledge};
use graphrag::index::{NoProgress, index};
use graphrag::store::Store;
use knowledge::KnowledgeBase;

/// The first `n` concepts and the relations among them.
fn slice(n: usize) -> KnowledgeBase {
    let mut kb = load_knowledge(&common::knowledge_dir()).expect("shipped knowledge is valid");
    kb.concepts.truncate(n);
    let ids: Vec<String> = kb.concepts.iter().map(|c| c.id.clone()).collect();
    kb.relations
        .retain(|r| ids.contains(&r.from) && ids.contains(&r.to));
    kb.playbook.clear();
    kb.questions.clear();
    kb
}

fn docs(kb: &KnowledgeBase) -> Vec<Document> {
    let name = |i: usize| kb.concepts[i].name.clone();
    vec![
        Document {
            key: "local/a".into(),
            kind: "local".into(),
            title: "Notes A".into(),
            url: None,
            author: Some("Tester".into()),
            license: None,
            text: format!(
                "First paragraph about {}.\n\nSecond paragraph about {} and more.",
                name(0),
                name(1)
            ),
        },
        Document {
            key: "local/b".into(),
            kind: "local".into(),
            title: "Notes B".into(),
            url: Some("https://example.org/b".into()),
            author: None,
            license: Some("CC BY-SA 4.0".into()),
            text: format!("A zebra metric is unrelated to {}.", name(2)),
        },
    ]
}

async fn run(store: &Store, kb: &KnowledgeBase, docs: &[Document]) -> graphrag::index::IndexReport {
    let config = IndexConfig {
        chunk_target: 64,
        chunk_overlap: 0,
        ..IndexConfig::default()
    };
    index(
        store,
        common::embedder().as_ref(),
        kb,
        docs,
        &config,
        &NoProgress,
    )
    .await
    .expect("index runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_index_does_only_what_changed() {
    incremental_index_on(common::mem_store("incremental").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_index_does_only_what_changed_on_a_server() {
    let server = common::LoopbackServer::start("memory");
    incremental_index_on(server.store("incremental").await).await;
}

async fn incremental_index_on(store: Store) {
    let mut kb = slice(12);
    let mut documents = docs(&kb);

    let first = run(&store, &kb, &documents).await;
    assert_eq!(first.concepts.added, 12);
    assert!(first.relations.added > 0);
    assert_eq!(first.sources.added, 2);
    assert!(first.chunks.added >= 3, "{first:?}");
    assert!(first.mentions.added >= 3, "{first:?}");
    let counts = store.counts().await.expect("counts");

    let second = run(&store, &kb, &documents).await;
    assert_eq!(second.embedded, 0, "{second:?}");
    assert_eq!(second.writes, 0, "{second:?}");
    assert_eq!(store.counts().await.expect("counts"), counts);

    // One definition changes: one concept re-embedded, nothing re-linked.
    kb.concepts[0]
        .definition
        .push_str(" An added sentence for the test.");
    let third = run(&store, &kb, &documents).await;
    assert_eq!(
        (third.concepts.changed, third.embedded),
        (1, 1),
        "{third:?}"
    );
    assert_eq!(
        third.mentions.added + third.mentions.removed + third.mentions.changed,
        0,
        "{third:?}"
    );
    assert_eq!(third.writes, 1, "{third:?}");

    // A new alias changes the lexicon: every chunk is re-extracted, only the new link is written.
    kb.concepts[3].aliases.push("zebra metric".into());
    let fourth = run(&store, &kb, &documents).await;
    assert_eq!(fourth.concepts.changed, 1, "{fourth:?}");
    assert_eq!(fourth.mentions.added, 1, "{fourth:?}");
    assert_eq!(fourth.mentions.removed, 0, "{fourth:?}");
    assert_eq!(fourth.embedded, 1, "{fourth:?}");

    // Removing a concept (and its relations) and a document deletes them and their links.
    let gone = kb.concepts.remove(2);
    kb.relations
        .retain(|r| r.from != gone.id && r.to != gone.id);
    documents.remove(1);
    let fifth = run(&store, &kb, &documents).await;
    assert_eq!(fifth.concepts.removed, 1, "{fifth:?}");
    assert_eq!(fifth.sources.removed, 1, "{fifth:?}");
    assert!(fifth.mentions.removed >= 2, "{fifth:?}");
    assert_eq!(fifth.embedded, 0, "{fifth:?}");
    let after = store.counts().await.expect("counts");
    assert_eq!(after.concepts, 11);
    assert_eq!(after.sources, 1);
    assert_eq!(after.relations, kb.relations.len());
    let relinked = store.mention_keys().await.expect("mentions");
    assert!(relinked.values().all(|(_, concept, _)| *concept != gone.id));

    // And the run after that is quiet again.
    let sixth = run(&store, &kb, &documents).await;
    assert_eq!((sixth.embedded, sixth.writes), (0, 0), "{sixth:?}");
}
