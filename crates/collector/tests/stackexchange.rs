//! Cross Validated against a local fake of the StackExchange API: pagination, politeness
//! (backoff, quota reserve, retries), typed errors, resume and incremental re-runs.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use artifacts::{CrossValidatedPost, Timestamp, read_artifact, write_artifact};
use collector::stackexchange::{QuestionFilter, StackExchangeClient};
use collector::{
    CROSS_VALIDATED_PATH, CollectorError, Outcome, RunOptions, StopReason, collect_cross_validated,
};
use common::{FakeStackExchange, SeResponder, se_config};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FETCHED_AT: Timestamp = Timestamp(1_700_000_000_000_000);

async fn serve(fake: &std::sync::Arc<FakeStackExchange>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/2\.3/questions"))
        .respond_with(SeResponder(fake.clone()))
        .mount(&server)
        .await;
    server
}

fn options(root: &Path) -> RunOptions {
    RunOptions {
        root: root.to_path_buf(),
        fetched_at: Some(FETCHED_AT),
        ..RunOptions::default()
    }
}

fn rows(root: &Path) -> Vec<CrossValidatedPost> {
    read_artifact(root.join(CROSS_VALIDATED_PATH)).unwrap()
}

#[tokio::test(start_paused = true)]
async fn pagination_follows_has_more_and_the_tag_union_is_deduplicated() {
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    let summary = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap();

    let rows = rows(dir.path());
    let ids: Vec<i64> = rows.iter().map(|p| p.question_id).collect();
    assert_eq!(
        ids,
        vec![101, 102, 103, 104, 105, 201, 202],
        "union by id, sorted, no duplicate"
    );
    // ab-test: 5 questions at 2 a page = 3 pages; p-value: 3 questions = 2 pages.
    assert_eq!(fake.question_calls.load(Ordering::SeqCst), 5);
    assert_eq!(summary.pages, 5);
    assert_eq!(summary.fetched, 8);
    assert_eq!(summary.new, 7);
    assert_eq!(summary.skipped, 1, "question 103 is in both tags");
    assert!(matches!(summary.outcome, Outcome::Complete { rows: 7, .. }));
    // Answers are requested once per question that has any, never for 102 (no answers).
    let mut asked = fake.answer_ids_requested.lock().unwrap().clone();
    asked.sort();
    assert_eq!(asked, vec![101, 103, 104, 105, 201, 202]);

    let q103 = rows.iter().find(|p| p.question_id == 103).unwrap();
    assert_eq!(q103.answers.len(), 3);
    assert!(
        q103.answers[0].is_accepted,
        "the accepted answer comes first"
    );
    assert_eq!(
        q103.answers[0].link,
        "https://stats.stackexchange.com/a/1030"
    );
    assert_eq!(q103.answers[2].author_name.as_deref(), Some("user12345"));
    assert_eq!(
        q103.answers[2].author_id, None,
        "deleted users keep their name only"
    );
    assert_eq!(
        q103.title,
        "Is my A/B test's lift of 1.5% significant? (#103 & more)"
    );
    assert_eq!(q103.author_name.as_deref(), Some("Jörg Müller"));
    assert_eq!(q103.license, "CC BY-SA 3.0");
    assert_eq!(
        rows[0].license, "CC BY-SA 2.5",
        "question 101 predates 2011-04-08"
    );
    assert_eq!(
        rows.iter().find(|p| p.question_id == 105).unwrap().license,
        "CC BY-SA 4.0"
    );
    assert_eq!(
        q103.link,
        "https://stats.stackexchange.com/questions/103/slug"
    );
    assert_eq!(q103.fetched_at, FETCHED_AT);
    assert!(
        rows.iter()
            .all(|p| !p.body_text.contains("<p>") && !p.body_text.is_empty())
    );

    // The manifest records the artifact, and the staging area is gone.
    let manifest = artifacts::Manifest::load(dir.path()).unwrap();
    let entry = manifest.entry(CROSS_VALIDATED_PATH).unwrap();
    assert_eq!((entry.rows, entry.stage.as_str()), (7, "collector"));
    assert!(
        !dir.path()
            .join("raw/.collector/cross_validated/staging/ab-test-00001.parquet")
            .exists()
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_the_next_call_of_the_same_method_only() {
    let fake = FakeStackExchange::standard();
    *fake.backoff.lock().unwrap() = Some(("ab-test".into(), 1, 10));
    let server = serve(&fake).await;
    let config = se_config(&server.uri());
    let client = StackExchangeClient::new(&config.cross_validated, &config.http, None).unwrap();

    let first = client
        .questions("ab-test", 1, QuestionFilter::default())
        .await
        .unwrap();
    assert_eq!(first.backoff, Some(10));
    client.answers(&[101]).await.unwrap();
    client
        .questions("ab-test", 2, QuestionFilter::default())
        .await
        .unwrap();

    let sent = client.stats().sent;
    let methods: Vec<&str> = sent.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["questions", "answers", "questions"]);
    let answers_gap = sent[1].1 - sent[0].1;
    let questions_gap = sent[2].1 - sent[0].1;
    assert!(
        answers_gap < Duration::from_secs(1),
        "answers is another method: waited {answers_gap:?}"
    );
    assert!(
        questions_gap >= Duration::from_secs(10),
        "questions waited only {questions_gap:?}"
    );
    assert!(
        questions_gap < Duration::from_secs(11),
        "questions waited {questions_gap:?}, more than asked"
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_requests() {
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let mut config = se_config(&server.uri());
    config.cross_validated.requests_per_second = 4;
    let client = StackExchangeClient::new(&config.cross_validated, &config.http, None).unwrap();
    for page in 1..=4 {
        client
            .questions("ab-test", page, QuestionFilter::default())
            .await
            .unwrap();
    }
    let sent = client.stats().sent;
    for pair in sent.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(250),
            "gap {gap:?} breaks 4 requests a second"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn quota_reserve_stops_cleanly_and_the_next_run_finishes_the_same_rows() {
    let reference_dir = tempfile::tempdir().unwrap();
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let config = se_config(&server.uri());
    collect_cross_validated(&config, None, &options(reference_dir.path()))
        .await
        .unwrap();

    // Reserve 5: with 9 requests left, 4 go out, then the client stops before the fifth.
    let fake = FakeStackExchange::standard();
    fake.quota_remaining.store(9, Ordering::SeqCst);
    let server = serve(&fake).await;
    let config = se_config(&server.uri());
    let dir = tempfile::tempdir().unwrap();
    let summary = collect_cross_validated(&config, None, &options(dir.path()))
        .await
        .unwrap();
    assert_eq!(
        summary.outcome,
        Outcome::Stopped(StopReason::QuotaReserve {
            remaining: 5,
            reserve: 5
        })
    );
    assert_eq!(
        summary.requests, 4,
        "no request is sent once the reserve is reached"
    );
    assert_eq!(summary.quota_remaining, Some(5));
    assert!(
        !dir.path().join(CROSS_VALIDATED_PATH).exists(),
        "the artifact is written only at the end"
    );
    assert!(
        dir.path()
            .join("raw/.collector/cross_validated/checkpoint.json")
            .exists()
    );

    // A new day: quota restored; the run resumes and ends with the uninterrupted rows.
    fake.quota_remaining.store(9_000, Ordering::SeqCst);
    let summary = collect_cross_validated(&config, None, &options(dir.path()))
        .await
        .unwrap();
    assert!(matches!(summary.outcome, Outcome::Complete { .. }));
    assert_eq!(rows(dir.path()), rows(reference_dir.path()));
}

#[tokio::test(start_paused = true)]
async fn a_503_is_retried_then_succeeds() {
    let fake = FakeStackExchange::standard();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.3/questions"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/2\.3/questions"))
        .respond_with(SeResponder(fake.clone()))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let summary = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap();
    assert_eq!(summary.retries, 2);
    assert_eq!(rows(dir.path()).len(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_persistent_503_gives_a_typed_error_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let error = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CollectorError::Server { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "1 attempt + 3 retries"
    );
}

#[tokio::test(start_paused = true)]
async fn a_400_with_error_id_gives_a_typed_error_and_no_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error_id": 400,
            "error_name": "bad_parameter",
            "error_message": "tagged is not a valid tag &quot;ab test&quot;"
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let error = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap_err();
    match &error {
        CollectorError::Api {
            status,
            error_id,
            error_name,
            message,
            ..
        } => {
            assert_eq!(
                (*status, *error_id, error_name.as_str()),
                (400, 400, "bad_parameter")
            );
            assert_eq!(message, "tagged is not a valid tag \"ab test\"");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a 400 is never retried"
    );
    assert!(!dir.path().join("raw").exists(), "nothing is written");
}

#[tokio::test(start_paused = true)]
async fn a_throttle_violation_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_json(serde_json::json!({
            "error_id": 502,
            "error_name": "throttle_violation",
            "error_message": "too many requests from this IP, more requests available in 82617 seconds"
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let error = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CollectorError::ThrottleViolation { .. }),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn malformed_json_is_a_typed_error_and_the_old_artifact_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let old = vec![];
    let artifact = dir.path().join(CROSS_VALIDATED_PATH);
    std::fs::create_dir_all(artifact.parent().unwrap()).unwrap();
    write_artifact::<CrossValidatedPost>(&artifact, &old).unwrap();
    let before = std::fs::read(&artifact).unwrap();

    let fake = FakeStackExchange::standard();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2.3/questions"))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"items": [{"question_id": 1, "title": "trunc"#),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/2\.3/questions"))
        .respond_with(SeResponder(fake.clone()))
        .mount(&server)
        .await;
    let error = collect_cross_validated(&se_config(&server.uri()), None, &options(dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(error, CollectorError::Json { .. }), "{error:?}");
    assert_eq!(
        std::fs::read(&artifact).unwrap(),
        before,
        "the artifact is untouched"
    );
    let leftovers: Vec<_> = std::fs::read_dir(artifact.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no partial artifact: {leftovers:?}");
}

/// The kill-and-resume equivalence: for every page k, a run stopped after k pages and then
/// resumed produces exactly the rows of an uninterrupted run, with no page fetched twice.
#[tokio::test(start_paused = true)]
async fn resume_after_stopping_at_any_page_matches_an_uninterrupted_run() {
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let config = se_config(&server.uri());
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = collect_cross_validated(&config, None, &options(reference_dir.path()))
        .await
        .unwrap();
    let expected = rows(reference_dir.path());

    for k in 1..reference.pages as usize {
        let dir = tempfile::tempdir().unwrap();
        let first = collect_cross_validated(
            &config,
            None,
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
        assert_eq!(first.pages as usize, k);
        assert!(!dir.path().join(CROSS_VALIDATED_PATH).exists());

        let second = collect_cross_validated(&config, None, &options(dir.path()))
            .await
            .unwrap();
        assert!(matches!(second.outcome, Outcome::Complete { .. }));
        assert_eq!(rows(dir.path()), expected, "interrupted after page {k}");
        assert_eq!(
            first.pages + second.pages,
            reference.pages,
            "no page fetched twice (k = {k})"
        );
        assert_eq!(
            first.requests + second.requests,
            reference.requests,
            "k = {k}"
        );
        assert_eq!(first.new + second.new, reference.new, "k = {k}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_finished_run_rerun_fetches_only_newer_questions() {
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let config = se_config(&server.uri());
    let dir = tempfile::tempdir().unwrap();
    collect_cross_validated(&config, None, &options(dir.path()))
        .await
        .unwrap();
    let before = rows(dir.path());

    fake.tags
        .lock()
        .unwrap()
        .get_mut("ab-test")
        .unwrap()
        .push(common::FakeQuestion {
            id: 106,
            score: 15,
            created: 1_800_000_000,
            answers: 1,
        });
    fake.fromdates.lock().unwrap().clear();
    fake.answer_ids_requested.lock().unwrap().clear();
    let summary = collect_cross_validated(&config, None, &options(dir.path()))
        .await
        .unwrap();

    // The cursor is the newest creation date seen per tag, plus one second.
    assert_eq!(
        *fake.fromdates.lock().unwrap(),
        vec![Some(1_700_000_001), Some(1_650_000_001)]
    );
    assert_eq!(*fake.answer_ids_requested.lock().unwrap(), vec![106]);
    assert_eq!((summary.fetched, summary.new), (1, 1));
    let after = rows(dir.path());
    assert_eq!(after.len(), before.len() + 1);
    let kept: Vec<CrossValidatedPost> = after
        .iter()
        .filter(|p| p.question_id != 106)
        .cloned()
        .collect();
    assert!(kept == before, "earlier rows are kept as they were");
    assert!(
        after
            .iter()
            .any(|p| p.question_id == 106 && p.answers.len() == 1)
    );
}

#[tokio::test]
async fn offline_fails_at_once_and_leaves_artifacts_untouched() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let artifact = dir.path().join(CROSS_VALIDATED_PATH);
    std::fs::create_dir_all(artifact.parent().unwrap()).unwrap();
    write_artifact::<CrossValidatedPost>(&artifact, &[]).unwrap();
    let before = std::fs::read(&artifact).unwrap();
    let modified = std::fs::metadata(&artifact).unwrap().modified().unwrap();

    let config = se_config(&format!("http://127.0.0.1:{port}"));
    let error = collect_cross_validated(&config, Some("k3y".into()), &options(dir.path()))
        .await
        .unwrap_err();
    assert!(error.is_offline(), "{error:?}");
    let message = error.to_string();
    assert!(
        !message.contains('\n') && message.contains("network unreachable"),
        "{message}"
    );
    assert!(!message.contains("k3y"), "the key never appears: {message}");
    assert_eq!(std::fs::read(&artifact).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&artifact).unwrap().modified().unwrap(),
        modified
    );
    assert!(
        !dir.path().join("raw/.collector").exists(),
        "no checkpoint is created offline"
    );
}

#[tokio::test(start_paused = true)]
async fn the_key_is_sent_but_not_reported() {
    let fake = FakeStackExchange::standard();
    let server = serve(&fake).await;
    let dir = tempfile::tempdir().unwrap();
    collect_cross_validated(
        &se_config(&server.uri()),
        Some("s3cret".into()),
        &options(dir.path()),
    )
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| {
        r.url
            .query_pairs()
            .any(|(k, v)| k == "key" && v == "s3cret")
    }));
    let user_agent = requests[0]
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(user_agent.starts_with("lift-collector/"), "{user_agent}");
    let checkpoint = std::fs::read_to_string(
        dir.path()
            .join("raw/.collector/cross_validated/checkpoint.json"),
    )
    .unwrap();
    assert!(!checkpoint.contains("s3cret"));
}
