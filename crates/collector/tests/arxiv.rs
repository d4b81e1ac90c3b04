//! arXiv against a local fake of the query API: Atom parsing, the error feed, malformed feeds,
//! the 3-second spacing (under paused time) and resume.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use artifacts::{ArxivPaper, Timestamp, read_artifact};
use collector::arxiv::{ArxivClient, FeedError, parse_feed};
use collector::{ARXIV_PATH, CollectorError, Outcome, RunOptions, StopReason, collect_arxiv};
use common::{arxiv_config, arxiv_entry, arxiv_feed, standard_arxiv};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FETCHED_AT: Timestamp = Timestamp(1_700_000_000_000_000);

async fn serve(responder: common::ArxivResponder) -> (MockServer, Arc<common::ArxivResponder>) {
    let server = MockServer::start().await;
    let responder = Arc::new(responder);
    Mock::given(method("GET"))
        .and(path("/api/query"))
        .respond_with(Shared(responder.clone()))
        .mount(&server)
        .await;
    (server, responder)
}

/// Lets the test keep a handle on the fake while wiremock owns the responder.
struct Shared(Arc<common::ArxivResponder>);

impl wiremock::Respond for Shared {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

fn options(root: &Path) -> RunOptions {
    RunOptions {
        root: root.to_path_buf(),
        fetched_at: Some(FETCHED_AT),
        ..RunOptions::default()
    }
}

fn rows(root: &Path) -> Vec<ArxivPaper> {
    read_artifact(root.join(ARXIV_PATH)).unwrap()
}

#[test]
fn atom_entries_keep_every_field() {
    let xml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/arxiv/feed.xml"),
    )
    .unwrap();
    let feed = parse_feed(&xml, FETCHED_AT).unwrap();
    assert_eq!(
        (feed.total_results, feed.start_index, feed.items_per_page),
        (1423, 0, 2)
    );
    assert_eq!(feed.papers.len(), 2);
    let first = &feed.papers[0];
    assert_eq!(first.arxiv_id, "1512.04922");
    assert_eq!(first.version, 3);
    assert_eq!(
        first.title,
        "Improving the Sensitivity of Online Controlled Experiments: Case Studies at Netflix & Co"
    );
    assert!(
        first
            .abstract_text
            .starts_with("Controlled experiments are widely")
    );
    assert!(
        !first.abstract_text.contains('\n'),
        "whitespace is normalised"
    );
    assert_eq!(
        first.authors,
        vec!["Huizhi Xie", "Juliette Aurisset", "Zoë Ångström"]
    );
    assert_eq!(first.categories, vec!["stat.ME", "stat.AP", "cs.LG"]);
    assert_eq!(first.primary_category, "stat.ME");
    assert_eq!(first.published_at.to_string(), "2015-12-15T18:20:44Z");
    assert_eq!(first.updated_at.to_string(), "2016-08-02T09:01:00Z");
    assert_eq!(first.doi.as_deref(), Some("10.1145/2939672.2939733"));
    assert_eq!(first.journal_ref.as_deref(), Some("KDD '16, pages 645-654"));
    assert_eq!(first.comment.as_deref(), Some("10 pages, 4 figures"));
    assert_eq!(first.abs_url, "http://arxiv.org/abs/1512.04922v3");
    assert_eq!(
        first.pdf_url.as_deref(),
        Some("http://arxiv.org/pdf/1512.04922v3")
    );
    assert_eq!(first.fetched_at, FETCHED_AT);
    let second = &feed.papers[1];
    assert_eq!(
        (second.arxiv_id.as_str(), second.version),
        ("math/0501001", 1)
    );
    assert_eq!(
        (
            second.doi.clone(),
            second.journal_ref.clone(),
            second.comment.clone()
        ),
        (None, None, None)
    );
    assert_eq!(second.primary_category, "math.ST");
}

#[test]
fn the_error_feed_is_an_error() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.12345</title>
  <id>http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
    <updated>2023-06-01T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345" rel="alternate" type="text/html"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"#;
    assert_eq!(
        parse_feed(xml, FETCHED_AT),
        Err(FeedError::ApiError(
            "incorrect id format for 1234.12345".into()
        ))
    );
}

#[test]
fn truncated_and_malformed_feeds_are_errors() {
    let whole = arxiv_feed(1, 0, 1, &[arxiv_entry("2301.00001", 1, "T")]);
    let truncated = &whole[..whole.len() / 2];
    assert!(
        matches!(parse_feed(truncated, FETCHED_AT), Err(FeedError::Malformed(m)) if m.contains("truncated") || m.contains("byte"))
    );
    let mismatched = whole.replace("</summary>", "</title>");
    assert!(matches!(
        parse_feed(&mismatched, FETCHED_AT),
        Err(FeedError::Malformed(_))
    ));
    assert!(matches!(
        parse_feed("{\"not\": \"xml\"}", FETCHED_AT),
        Err(FeedError::Malformed(_))
    ));
    let no_id = whole.replace("<id>http://arxiv.org/abs/2301.00001v1</id>", "");
    assert!(
        matches!(parse_feed(&no_id, FETCHED_AT), Err(FeedError::Malformed(m)) if m.contains("no <id>"))
    );
}

#[tokio::test(start_paused = true)]
async fn requests_are_spaced_three_seconds_apart() {
    let (server, _) = serve(standard_arxiv()).await;
    let config = arxiv_config(&server.uri());
    let client = ArxivClient::new(&config.arxiv, &config.http).unwrap();
    for start in [0, 2, 4, 0] {
        client
            .query("abs:CUPED", start, 2, FETCHED_AT)
            .await
            .unwrap();
    }
    let sent = client.stats().sent;
    assert_eq!(sent.len(), 4);
    for pair in sent.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(gap >= Duration::from_secs(3), "gap {gap:?} is under 3 s");
        assert!(
            gap < Duration::from_millis(3100),
            "gap {gap:?} is far over 3 s"
        );
    }

    // The same holds across a whole run: n requests take at least (n - 1) × 3 s.
    let dir = tempfile::tempdir().unwrap();
    let started = tokio::time::Instant::now();
    let summary = collect_arxiv(&config, &options(dir.path())).await.unwrap();
    let elapsed = started.elapsed();
    assert!(summary.requests >= 4);
    assert!(
        elapsed >= Duration::from_secs(3 * (summary.requests - 1)),
        "{} requests in {elapsed:?}",
        summary.requests
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_pages_dedupes_and_writes_the_artifact() {
    let (server, responder) = serve(standard_arxiv()).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = collect_arxiv(&arxiv_config(&server.uri()), &options(dir.path()))
        .await
        .unwrap();
    let ids: Vec<String> = rows(dir.path()).into_iter().map(|p| p.arxiv_id).collect();
    assert_eq!(
        ids,
        [
            "2301.00001",
            "2301.00002",
            "2301.00003",
            "2301.00004",
            "2301.00005",
            "2302.00010",
            "math/0501001"
        ]
    );
    // cuped: 5 results at 2 a page = 3 pages; sequential: 3 results = 2 pages.
    assert_eq!(responder.calls.load(std::sync::atomic::Ordering::SeqCst), 5);
    assert_eq!((summary.fetched, summary.new, summary.skipped), (8, 7, 1));
    assert!(matches!(summary.outcome, Outcome::Complete { rows: 7, .. }));
}

#[tokio::test(start_paused = true)]
async fn an_error_feed_or_truncated_feed_fails_without_writing() {
    for body in [
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>http://arxiv.org/api/errors#x</id><title>Error</title><summary>bad query</summary></entry></feed>".to_string(),
        arxiv_feed(3, 0, 2, &[arxiv_entry("2301.00001", 1, "T")])[..400].to_string(),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let error = collect_arxiv(&arxiv_config(&server.uri()), &options(dir.path())).await.unwrap_err();
        assert!(
            matches!(error, CollectorError::ArxivFeedError { .. } | CollectorError::Atom { .. }),
            "{error:?}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "not retried");
        assert!(!dir.path().join(ARXIV_PATH).exists());
    }
}

#[tokio::test(start_paused = true)]
async fn resume_after_stopping_at_any_page_matches_an_uninterrupted_run() {
    let (server, _) = serve(standard_arxiv()).await;
    let config = arxiv_config(&server.uri());
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = collect_arxiv(&config, &options(reference_dir.path()))
        .await
        .unwrap();
    let expected = rows(reference_dir.path());
    for k in 1..reference.pages as usize {
        let dir = tempfile::tempdir().unwrap();
        let first = collect_arxiv(
            &config,
            &RunOptions {
                max_pages: Some(k),
                ..options(dir.path())
            },
        )
        .await
        .unwrap();
        assert_eq!(
            first.outcome,
            Outcome::Stopped(StopReason::PageLimit { pages: k })
        );
        assert!(!dir.path().join(ARXIV_PATH).exists());
        let second = collect_arxiv(&config, &options(dir.path())).await.unwrap();
        assert_eq!(rows(dir.path()), expected, "interrupted after page {k}");
        assert_eq!(
            first.requests + second.requests,
            reference.requests,
            "no page fetched twice (k = {k})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_rerun_stops_each_query_at_the_first_page_with_nothing_new() {
    let (server, responder) = serve(standard_arxiv()).await;
    let config = arxiv_config(&server.uri());
    let dir = tempfile::tempdir().unwrap();
    collect_arxiv(&config, &options(dir.path())).await.unwrap();
    let before = rows(dir.path());
    // A new paper at the top of the cuped results (newest first).
    responder
        .queries
        .lock()
        .unwrap()
        .get_mut("abs:CUPED")
        .unwrap()
        .insert(0, ("2310.99999".into(), 1));
    let summary = collect_arxiv(&config, &options(dir.path())).await.unwrap();
    // cuped page 1 has the new paper, page 2 has nothing new; sequential page 1 nothing new.
    assert_eq!(summary.requests, 3);
    assert_eq!(summary.new, 1);
    assert_eq!(rows(dir.path()).len(), before.len() + 1);
}
