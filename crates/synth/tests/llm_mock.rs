//! The LLM generator against a local mock of the Anthropic Messages API (wiremock) serving the
//! documented response shape with usage tokens: good JSON, malformed JSON repaired (and not),
//! a refusal, a 429 with `retry-after`, the hard budget cap, a cache hit that makes no HTTP call,
//! and a resumed run that pays only for the sources an interrupted run did not finish.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use artifacts::{QaPair, QaReject, read_artifact};
use futures::future::BoxFuture;
use llm::{
    Anthropic, AnthropicConfig, ApiKey, CallOptions, ChatModel, ChatRequest, ChatResponse,
    ChatStream, HttpPolicy,
};
use synth::SynthConfig;
use synth::prompt::{PromptTemplate, ReplyLimits};
use synth::provider::ProviderChoice;
use synth::run::{PAIRS_PATH, REJECTS_PATH, RunOptions, Summary, run_with};
use tokio::runtime::Runtime;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{USAGE, config, error_body, grounded_reply, message, write_sources};

const KEY: &str = "sk-ant-test-0123456789";

struct MockApi {
    rt: Runtime,
    server: MockServer,
}

impl MockApi {
    fn start() -> Self {
        let rt = Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        Self { rt, server }
    }

    /// Answers requests for `id` with `text`; `expect` pins how many such requests arrive.
    fn reply(&self, id: &str, text: &str, expect: std::ops::RangeInclusive<u64>) {
        self.rt.block_on(
            Mock::given(method("POST"))
                .and(path("/v1/messages"))
                .and(header("x-api-key", KEY))
                .and(header("anthropic-version", "2023-06-01"))
                .and(body_string_contains(id))
                .respond_with(ResponseTemplate::new(200).set_body_json(message(text)))
                .expect(expect)
                .named(format!("reply for {id}"))
                .mount(&self.server),
        );
    }

    /// Answers repair requests (they carry the repair message) for `id` with `text`.
    fn repair(&self, id: &str, text: &str, expect: std::ops::RangeInclusive<u64>) {
        self.rt.block_on(
            Mock::given(method("POST"))
                .and(path("/v1/messages"))
                .and(body_string_contains(id))
                .and(body_string_contains("could not be used"))
                .respond_with(ResponseTemplate::new(200).set_body_json(message(text)))
                .with_priority(1)
                .expect(expect)
                .named(format!("repair for {id}"))
                .mount(&self.server),
        );
    }

    fn requests(&self) -> Vec<String> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    }

    fn verify(&self) {
        self.rt.block_on(self.server.verify());
    }
}

fn run_llm(config: &SynthConfig, cap: Option<f64>) -> Summary {
    run_with(
        config,
        RunOptions {
            provider: Some(ProviderChoice::Anthropic(ApiKey::new(KEY))),
            max_cost_usd: cap,
            graph: false,
            calculation: false,
            ..RunOptions::default()
        },
    )
    .unwrap()
}

fn price() -> llm::ModelPrice {
    let llm_config = llm::LlmConfig::load(&common::root().join("configs/llm.toml")).unwrap();
    llm_config.prices.price("claude-sonnet-4-5").unwrap()
}

fn call_cost() -> f64 {
    price().cost(USAGE.0.into(), USAGE.1.into())
}

fn outputs(config: &SynthConfig) -> (Vec<QaPair>, Vec<QaReject>) {
    (
        read_artifact(config.output_root.join(PAIRS_PATH)).unwrap(),
        read_artifact(config.output_root.join(REJECTS_PATH)).unwrap(),
    )
}

/// The pairs without their timestamps, which differ between runs.
fn comparable(pairs: &[QaPair]) -> Vec<QaPair> {
    pairs
        .iter()
        .cloned()
        .map(|mut p| {
            p.created_at = artifacts::Timestamp(0);
            p
        })
        .collect()
}

#[test]
fn good_json_becomes_validated_pairs_with_full_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 3);
    for p in &papers {
        mock.reply(&p.arxiv_id, &grounded_reply(p), 1..=1);
    }
    let config = config(dir.path(), &mock.server.uri());
    let summary = run_llm(&config, None);
    mock.verify();
    let (pairs, rejects) = outputs(&config);
    assert_eq!(pairs.len(), 15, "{rejects:?}");
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(summary.llm.provider, "anthropic");
    assert_eq!(summary.llm.calls, 3);
    assert_eq!(summary.llm.repair_calls, 0);
    assert_eq!(summary.llm.input_tokens, 3 * u64::from(USAGE.0));
    assert_eq!(summary.llm.output_tokens, 3 * u64::from(USAGE.1));
    assert!(
        (summary.llm.cost_usd - 3.0 * call_cost()).abs() < 1e-9,
        "{summary:?}"
    );
    let types: BTreeSet<&str> = pairs.iter().map(|p| p.qa_type.as_str()).collect();
    assert_eq!(
        types,
        BTreeSet::from([
            "best_practice",
            "comparison",
            "definition",
            "free",
            "methodology"
        ])
    );
    for p in &pairs {
        assert_eq!(p.generator, "llm");
        assert_eq!(p.source_kind, "arxiv");
        assert_eq!(p.provider.as_deref(), Some("anthropic"));
        assert_eq!(p.model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(p.prompt_version.as_deref(), Some("qa_from_source.v1"));
        let hash = p.prompt_hash.as_deref().unwrap();
        assert!(hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            p.source_url.as_deref(),
            Some(format!("https://arxiv.org/abs/{}", p.source_id).as_str())
        );
    }
    // Each call's tokens and cost are split across its five pairs without loss.
    for paper in &papers {
        let of: Vec<&QaPair> = pairs
            .iter()
            .filter(|p| p.source_id == paper.arxiv_id)
            .collect();
        assert_eq!(of.len(), 5);
        let input: i64 = of.iter().map(|p| p.input_tokens.unwrap()).sum();
        let output: i64 = of.iter().map(|p| p.output_tokens.unwrap()).sum();
        let cost: f64 = of.iter().map(|p| p.cost_usd.unwrap()).sum();
        assert_eq!((input, output), (i64::from(USAGE.0), i64::from(USAGE.1)));
        assert!((cost - call_cost()).abs() < 1e-9);
        assert_eq!(
            of.iter()
                .map(|p| &p.prompt_hash)
                .collect::<BTreeSet<_>>()
                .len(),
            1
        );
    }
    // The request carried the template, the source and the schema, and no secret in the body.
    let bodies = mock.requests();
    assert!(
        bodies
            .iter()
            .all(|b| b.contains("prefixItems") && !b.contains(KEY))
    );
    let manifest = artifacts::Manifest::load(dir.path()).unwrap();
    assert!(
        manifest
            .entry(PAIRS_PATH)
            .is_some_and(|e| e.inputs.contains_key("raw/arxiv.parquet"))
    );
}

#[test]
fn malformed_json_is_repaired_once_and_rejected_when_the_repair_fails_too() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 2);
    let good = grounded_reply(&papers[0]);
    // Cut mid-object, inside a code fence: not valid JSON.
    let broken = format!("```json\n{}\n```", &good[..good.len() / 2]);
    mock.reply(&papers[0].arxiv_id, &broken, 1..=1);
    mock.repair(&papers[0].arxiv_id, &good, 1..=1);
    // Valid JSON of the wrong shape, twice: four pairs and an unknown field.
    let wrong =
        r#"{"pairs": [{"type": "definition", "question": "What?", "answer": "Yes."}], "note": 1}"#;
    mock.reply(&papers[1].arxiv_id, wrong, 1..=1);
    mock.repair(&papers[1].arxiv_id, wrong, 1..=1);
    let config = config(dir.path(), &mock.server.uri());
    let summary = run_llm(&config, None);
    mock.verify();
    assert_eq!(summary.llm.calls, 4);
    assert_eq!(summary.llm.repair_calls, 2);
    let (pairs, rejects) = outputs(&config);
    assert_eq!(pairs.len(), 5);
    assert!(pairs.iter().all(|p| p.source_id == papers[0].arxiv_id));
    // The repaired source's pairs carry both calls' tokens.
    let input: i64 = pairs.iter().map(|p| p.input_tokens.unwrap()).sum();
    assert_eq!(input, 2 * i64::from(USAGE.0));
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let r = &rejects[0];
    assert_eq!(
        (r.reason.as_str(), r.source_id.as_str()),
        ("malformed_output", papers[1].arxiv_id.as_str())
    );
    assert!(r.detail.contains("after one repair"), "{}", r.detail);
    // The repair request showed the model its own reply and what was wrong with it.
    let repair = mock
        .requests()
        .into_iter()
        .find(|b| b.contains(&papers[0].arxiv_id) && b.contains("could not be used"))
        .unwrap();
    assert!(repair.contains("\"role\":\"assistant\"") && repair.contains("not valid JSON"));
}

#[test]
fn a_refusal_is_rejected_with_its_reason_without_a_repair_call() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 1);
    mock.reply(
        &papers[0].arxiv_id,
        "I'm sorry, but I can't help with creating training data from this text.",
        1..=1,
    );
    let config = config(dir.path(), &mock.server.uri());
    let summary = run_llm(&config, None);
    mock.verify();
    assert_eq!((summary.llm.calls, summary.llm.sources_rejected), (1, 1));
    let (pairs, rejects) = outputs(&config);
    assert!(pairs.is_empty());
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].reason, "refusal");
    assert!(
        rejects[0].detail.contains("I'm sorry"),
        "{}",
        rejects[0].detail
    );
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_the_call_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 1);
    mock.rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .insert_header("anthropic-ratelimit-requests-remaining", "0")
                    .set_body_json(error_body(
                        "rate_limit_error",
                        "Number of requests has exceeded your rate limit",
                    )),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&mock.server),
    );
    mock.reply(&papers[0].arxiv_id, &grounded_reply(&papers[0]), 1..=1);
    let config = config(dir.path(), &mock.server.uri());
    let start = Instant::now();
    let summary = run_llm(&config, None);
    let elapsed = start.elapsed();
    mock.verify();
    assert!(
        elapsed >= Duration::from_secs(1),
        "did not wait for retry-after: {elapsed:?}"
    );
    assert_eq!(mock.requests().len(), 2);
    // The rejected attempt is not billed: one call's tokens and cost.
    assert_eq!(summary.llm.calls, 1);
    assert!((summary.llm.cost_usd - call_cost()).abs() < 1e-9);
    assert_eq!(outputs(&config).0.len(), 5);
}

/// The budget reservation of the first call for `paper`, as `llm` computes it before sending.
fn reservation(config: &SynthConfig, paper: &artifacts::ArxivPaper) -> f64 {
    let template = PromptTemplate::load(&config.llm.prompt).unwrap();
    let source = synth::llm_qa::arxiv_source(paper, config.llm.max_source_chars);
    let limits = ReplyLimits {
        pairs: config.llm.pairs_per_source,
        min_chars: config.validation.min_chars,
        max_question_chars: config.llm.max_question_chars,
        max_answer_chars: config.llm.max_answer_chars,
    };
    let (system, user) = template.render(&source, &limits);
    let estimate =
        llm::estimate_prompt_tokens(&[llm::Message::system(system), llm::Message::user(user)]);
    price().cost(estimate.into(), config.llm.max_tokens.into())
}

#[test]
fn the_budget_cap_stops_the_run_before_the_call_that_could_exceed_it_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 4);
    for p in &papers {
        mock.reply(&p.arxiv_id, &grounded_reply(p), 1..=1);
    }
    let config = config(dir.path(), &mock.server.uri());
    // Two calls fit; after them, less is left than the third call's worst case.
    let cap = 2.0 * call_cost() + reservation(&config, &papers[2]) - 1e-6;
    assert!(cap >= reservation(&config, &papers[0]));
    let summary = run_llm(&config, Some(cap));
    assert_eq!(mock.requests().len(), 2, "the third call must not be sent");
    let stopped = summary.llm.stopped.clone().unwrap();
    assert!(
        stopped.contains("budget") && stopped.contains("--max-cost-usd"),
        "{stopped}"
    );
    assert!(
        summary.llm.cost_usd <= cap,
        "{} > {cap}",
        summary.llm.cost_usd
    );
    assert_eq!(
        (
            summary.llm.sources_generated,
            summary.llm.sources_unfinished
        ),
        (2, 2)
    );
    // The partial artifact is valid and holds the two finished sources.
    let (pairs, _) = outputs(&config);
    assert_eq!(pairs.len(), 10);
    let done: BTreeSet<&str> = pairs.iter().map(|p| p.source_id.as_str()).collect();
    assert_eq!(
        done,
        BTreeSet::from([papers[0].arxiv_id.as_str(), papers[1].arxiv_id.as_str()])
    );

    // With room in the budget the rerun pays only for the two unfinished sources.
    let summary = run_llm(&config, Some(1.0));
    mock.verify();
    assert_eq!(mock.requests().len(), 4);
    assert_eq!(
        (summary.llm.sources_resumed, summary.llm.sources_generated),
        (2, 2)
    );
    assert!(summary.llm.stopped.is_none());
    assert_eq!(outputs(&config).0.len(), 20);
}

#[test]
fn a_second_run_is_served_from_the_response_cache_with_zero_http_calls() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 2);
    for p in &papers {
        mock.reply(&p.arxiv_id, &grounded_reply(p), 1..=1);
    }
    let mut config = config(dir.path(), &mock.server.uri());
    run_llm(&config, None);
    mock.verify();
    let (first, _) = outputs(&config);
    // Without the checkpoints, only the cache can spare the calls; a fresh server sees none.
    std::fs::remove_dir_all(dir.path().join(&config.llm.checkpoint_dir)).unwrap();
    let empty = MockApi::start();
    config.llm.anthropic.base_url = empty.server.uri();
    let summary = run_llm(&config, None);
    assert_eq!(empty.requests().len(), 0);
    assert_eq!(summary.llm.cost_usd, 0.0);
    assert_eq!(summary.llm.sources_generated, 2);
    let (second, _) = outputs(&config);
    let text = |ps: &[QaPair]| {
        ps.iter()
            .map(|p| (p.qa_id.clone(), p.answer.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(text(&first), text(&second));
    assert!(second.iter().all(|p| p.cost_usd == Some(0.0)));
}

/// A backend that fails with `Cancelled` from its `after`-th call on, as an interrupted run's
/// calls do.
struct Interrupting {
    inner: Anthropic,
    after: usize,
    calls: AtomicUsize,
}

impl ChatModel for Interrupting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, llm::Error>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.after {
            return Box::pin(async { Err(llm::Error::Cancelled) });
        }
        self.inner.complete(request, options)
    }

    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, llm::Error>> {
        self.inner.stream(request, options)
    }
}

#[test]
fn an_interrupted_run_resumes_paying_only_for_unfinished_sources_and_equals_an_uninterrupted_run() {
    let papers = common::papers();
    assert_eq!(papers.len(), 5);
    let mount_all = |mock: &MockApi, expect: std::ops::RangeInclusive<u64>| {
        for p in &papers {
            mock.reply(&p.arxiv_id, &grounded_reply(p), expect.clone());
        }
    };

    // Uninterrupted reference run.
    let reference_dir = tempfile::tempdir().unwrap();
    write_sources(reference_dir.path(), 5);
    let reference_mock = MockApi::start();
    mount_all(&reference_mock, 1..=1);
    let reference_config = config(reference_dir.path(), &reference_mock.server.uri());
    run_llm(&reference_config, None);
    let (reference, _) = outputs(&reference_config);
    assert_eq!(reference.len(), 25);

    // The interrupted run: two sources finish, the third call is cut off.
    let dir = tempfile::tempdir().unwrap();
    write_sources(dir.path(), 5);
    let first_mock = MockApi::start();
    mount_all(&first_mock, 0..=1);
    let mut config = config(dir.path(), &first_mock.server.uri());
    // Separate caches, so that only the checkpoints can carry work over.
    config.llm.cache_dir = "cache/first".into();
    let inner = Anthropic::new(
        AnthropicConfig::new(
            first_mock.server.uri(),
            config.llm.anthropic.model.clone(),
            ApiKey::new(KEY),
        ),
        HttpPolicy {
            budget: Some(llm::Budget::unlimited(
                llm::LlmConfig::load(&config.llm_config).unwrap().prices,
            )),
            ..HttpPolicy::default()
        },
    )
    .unwrap();
    let interrupted = Arc::new(Interrupting {
        inner,
        after: 2,
        calls: AtomicUsize::new(0),
    });
    let summary = run_with(
        &config,
        RunOptions {
            provider: Some(ProviderChoice::Custom {
                model: interrupted,
                provider: "anthropic".into(),
                constrain: false,
            }),
            graph: false,
            calculation: false,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert!(
        summary
            .llm
            .stopped
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    assert_eq!(first_mock.requests().len(), 2);
    assert_eq!(outputs(&config).0.len(), 10);

    // The resumed run: a fresh server sees exactly the three unfinished sources.
    let second_mock = MockApi::start();
    mount_all(&second_mock, 0..=1);
    config.llm.anthropic.base_url = second_mock.server.uri();
    config.llm.cache_dir = "cache/second".into();
    let summary = run_llm(&config, None);
    let bodies = second_mock.requests();
    assert_eq!(bodies.len(), 3);
    for (i, p) in papers.iter().enumerate() {
        let asked = bodies.iter().any(|b| b.contains(&p.arxiv_id));
        assert_eq!(asked, i >= 2, "source {} asked: {asked}", p.arxiv_id);
    }
    assert_eq!(
        (summary.llm.sources_resumed, summary.llm.sources_generated),
        (2, 3)
    );
    let (resumed, _) = outputs(&config);
    assert_eq!(comparable(&resumed), comparable(&reference));
}

#[test]
fn an_openai_compatible_server_gets_the_reply_schema_as_response_format() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockApi::start();
    let papers = write_sources(dir.path(), 1);
    let body = serde_json::json!({
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "smollm2-135m-instruct",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": grounded_reply(&papers[0])},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 1100, "completion_tokens": 700, "total_tokens": 1800}
    });
    mock.rt.block_on(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_string_contains("\"response_format\""))
            .and(body_string_contains("\"json_schema\""))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&mock.server),
    );
    let mut config = config(dir.path(), "http://127.0.0.1:9");
    config.llm.openai.base_url = format!("{}/v1", mock.server.uri());
    let summary = run_with(
        &config,
        RunOptions {
            provider: Some(ProviderChoice::OpenAi(None)),
            graph: false,
            calculation: false,
            ..RunOptions::default()
        },
    )
    .unwrap();
    mock.verify();
    let (pairs, _) = outputs(&config);
    assert_eq!(pairs.len(), 5);
    assert!(
        pairs
            .iter()
            .all(|p| p.provider.as_deref() == Some("openai-compatible")
                && p.model.as_deref() == Some("smollm2-135m-instruct")
                && p.cost_usd == Some(0.0))
    );
    assert_eq!(
        (summary.llm.input_tokens, summary.llm.output_tokens),
        (1100, 700)
    );
}
