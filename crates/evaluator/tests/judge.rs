//! The LLM judge against a local mock of the Anthropic Messages API (wiremock, the documented
//! request headers and response shape with usage): usable verdicts summarised beside the
//! automatic scores, a malformed reply repaired once, replies that stay unusable, a budget too
//! small for one call (nothing is sent and every answer says why), and a rerun served from the
//! reply cache without any HTTP call.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evaluator::config::JudgeConfig;
use evaluator::judge::{JudgeSettings, Outcome, Rubric, build_model, judge_all, summarize};
use evaluator::{AnswerRecord, Item, Scores};
use llm::{ApiKey, LlmConfig};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-ant-judge-test-0123";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rubric() -> Rubric {
    Rubric::load(&root().join("configs/prompts/judge.v1.toml")).unwrap()
}

fn llm_config() -> LlmConfig {
    LlmConfig::load(&root().join("configs/llm.toml")).unwrap()
}

fn item(id: &str, question: &str) -> Item {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "category": "definition",
        "question": question,
        "reference_answer": "Power is the probability of rejecting the null hypothesis when a true effect of the assumed size exists.",
        "key_points": [
            "Power is a probability of detecting a true effect.",
            "It depends on the effect size assumed."
        ],
        "expected_concepts": ["statistical-power"],
        "difficulty": "easy"
    }))
    .unwrap()
}

fn record(id: &str, answer: &str) -> AnswerRecord {
    serde_json::from_value(serde_json::json!({
        "question_id": id,
        "configuration": "base+graphrag+calculator",
        "answer_text": answer,
        "latency_ms": 10.0
    }))
    .unwrap()
}

fn scores(id: &str, correct: bool) -> Scores {
    serde_json::from_value(serde_json::json!({
        "question_id": id,
        "configuration": "base+graphrag+calculator",
        "category": "definition",
        "correct": correct,
        "numbers": [],
        "numbers_correct": null,
        "key_points": [],
        "key_point_coverage": null,
        "rouge_l": null,
        "bleu": null,
        "citation_accuracy": null,
        "faithfulness": null,
        "path_recall": null,
        "chosen": null,
        "latency_ms": 10.0,
        "retrieval_ms": null,
        "cost_usd": 0.0
    }))
    .unwrap()
}

/// The documented Messages response with `text` as its only content block.
fn message(text: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "msg_judge",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 420, "output_tokens": 40}
    })
}

fn config(server: &MockServer, cache: &Path, max_usd: f64) -> JudgeConfig {
    JudgeConfig {
        base_url: server.uri(),
        cache_dir: cache.to_path_buf(),
        max_usd,
        ..JudgeConfig::default()
    }
}

async fn reply_for(server: &MockServer, marker: &str, text: &str, priority: u8) {
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_string_contains(marker))
        .respond_with(ResponseTemplate::new(200).set_body_json(message(text)))
        .with_priority(priority)
        .mount(server)
        .await;
}

const GOOD: &str = r#"{"score": 5, "correct": true, "key_points_covered": [1, 2], "rationale": "States both key points."}"#;

#[tokio::test]
async fn verdicts_are_graded_repaired_summarised_and_cached() {
    let server = MockServer::start().await;
    let cache = tempfile::tempdir().unwrap();
    reply_for(&server, "answer-one", GOOD, 5).await;
    // The second answer's first reply is prose; the repair request (it quotes the error) gets
    // JSON.
    reply_for(&server, "answer-two", "It is a decent answer.", 5).await;
    reply_for(
        &server,
        "could not be used",
        r#"{"score": 2, "correct": false, "key_points_covered": [1], "rationale": "Misses the effect size."}"#,
        1,
    )
    .await;
    let (model, budget) = build_model(
        &config(&server, cache.path(), 1.0),
        &llm_config(),
        Some(ApiKey::new(KEY)),
    )
    .unwrap();
    let items = [
        item("q1", "What is power? (answer-one)"),
        item("q2", "What is power? (answer-two)"),
    ];
    let by_id: BTreeMap<String, &Item> = items.iter().map(|i| (i.id.clone(), i)).collect();
    let records = vec![
        record(
            "q1",
            "Power is the chance to detect a true effect of the assumed size.",
        ),
        record("q2", "Power is a probability."),
        record("mc-7", "B"),
    ];
    let settings = JudgeSettings::for_config(&JudgeConfig::default());
    let outcomes = judge_all(model.as_ref(), &rubric(), &by_id, &records, settings).await;
    assert_eq!(outcomes.len(), 3);
    let Outcome::Judged(first) = &outcomes[0] else {
        panic!("graded: {:?}", outcomes[0])
    };
    assert_eq!((first.score, first.correct), (5, true));
    assert_eq!(first.key_points_covered, vec![1, 2]);
    assert_eq!(first.rubric_version, "judge.v1");
    assert!(first.cost_usd > 0.0, "priced from the llm config");
    let Outcome::Judged(second) = &outcomes[1] else {
        panic!("repaired: {:?}", outcomes[1])
    };
    assert_eq!((second.score, second.correct), (2, false));
    assert!(
        matches!(&outcomes[2], Outcome::NotJudged { reason, .. } if reason.contains("multiple-choice")),
        "{:?}",
        outcomes[2]
    );
    let requests = server.received_requests().await.unwrap().len();
    assert_eq!(requests, 3, "one call, then one call plus its repair");
    assert!(budget.summary().spent_usd > 0.0);

    // The automatic metrics called q1 correct and q2 correct too: the judge agrees on one of two.
    let summary = summarize(&outcomes, &[scores("q1", true), scores("q2", true)]);
    assert_eq!(summary.len(), 1);
    let s = &summary[0];
    assert_eq!((s.judged, s.not_judged), (2, 1));
    assert_eq!(s.mean_score, Some(3.5));
    assert_eq!(s.judge_correct, Some(0.5));
    assert_eq!(s.agreement_with_automatic, Some(0.5));

    // A rerun of the same answers comes from the reply cache: no new request, no new cost.
    let (model, budget) = build_model(
        &config(&server, cache.path(), 1.0),
        &llm_config(),
        Some(ApiKey::new(KEY)),
    )
    .unwrap();
    let again = judge_all(model.as_ref(), &rubric(), &by_id, &records, settings).await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        requests,
        "served from the cache"
    );
    assert_eq!(budget.summary().spent_usd, 0.0);
    match (&again[0], &outcomes[0]) {
        (Outcome::Judged(a), Outcome::Judged(b)) => assert_eq!(a.score, b.score),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unusable_replies_and_an_empty_budget_are_reported_not_invented() {
    let server = MockServer::start().await;
    let cache = tempfile::tempdir().unwrap();
    reply_for(
        &server,
        "answer-three",
        r#"{"score": 9, "correct": true, "key_points_covered": [], "rationale": "Great."}"#,
        5,
    )
    .await;
    let items = [item("q3", "What is power? (answer-three)")];
    let by_id: BTreeMap<String, &Item> = items.iter().map(|i| (i.id.clone(), i)).collect();
    let records = vec![record("q3", "Power is big.")];
    let (model, _) = build_model(
        &config(&server, cache.path(), 1.0),
        &llm_config(),
        Some(ApiKey::new(KEY)),
    )
    .unwrap();
    let outcomes = judge_all(
        model.as_ref(),
        &rubric(),
        &by_id,
        &records,
        JudgeSettings::for_config(&JudgeConfig::default()),
    )
    .await;
    assert!(
        matches!(&outcomes[0], Outcome::NotJudged { reason, .. } if reason.contains("score must be an integer from 1 to 5")),
        "{:?}",
        outcomes[0]
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one repair only"
    );

    // A budget that cannot cover one call: nothing is sent, every answer says why.
    let empty = MockServer::start().await;
    let cache = tempfile::tempdir().unwrap();
    let (model, _) = build_model(
        &config(&empty, cache.path(), 1e-9),
        &llm_config(),
        Some(ApiKey::new(KEY)),
    )
    .unwrap();
    let two = vec![
        record("q3", "Power is big."),
        record("q3", "Power is small."),
    ];
    let outcomes = judge_all(
        model.as_ref(),
        &rubric(),
        &by_id,
        &two,
        JudgeSettings::for_config(&JudgeConfig::default()),
    )
    .await;
    assert!(
        outcomes.iter().all(
            |o| matches!(o, Outcome::NotJudged { reason, .. } if reason.starts_with("budget"))
        ),
        "{outcomes:?}"
    );
    assert!(empty.received_requests().await.unwrap().is_empty());

    // Anthropic without a key is a clear error, not a silent skip.
    let err = build_model(&config(&empty, cache.path(), 1.0), &llm_config(), None)
        .err()
        .expect("a key is required");
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
}
