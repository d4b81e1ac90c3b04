//! The HTTP backends against a local mock server (wiremock) serving the documented shapes of the
//! Anthropic Messages API and of OpenAI-compatible chat completions.
//!
//! Waits that matter here run on the real clock with short delays (1 s): with paused tokio time a
//! pending socket read lets the runtime jump straight to the call's timeout, so a test of a real
//! HTTP exchange cannot pause time. The pure waiting logic (retry delays, limiter spacing) is tested
//! with paused time in the crate's unit tests.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llm::{
    Anthropic, AnthropicConfig, ApiKey, Budget, Cached, CallOptions, ChatModel, ChatRequest, Error,
    FinishReason, GenerationParams, HttpPolicy, Message, ModelPrice, OpenAiCompatible,
    OpenAiConfig, Pricing, RateLimitConfig, RateLimits, ResponseCache, RetryConfig, StreamEvent,
    collect_stream,
};
use serde_json::json;
use wiremock::matchers::{bearer_token, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-ant-test-0123456789-secret";
const MODEL: &str = "claude-test-1";

fn pricing() -> Pricing {
    let mut models = BTreeMap::new();
    models.insert(
        MODEL.to_owned(),
        ModelPrice {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
        },
    );
    Pricing {
        as_of: "2025-11-24".into(),
        models,
    }
}

fn fast_retries() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        min_delay_ms: 10,
        max_delay_ms: 50,
    }
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        retry: fast_retries(),
        limits: None,
        budget: None,
    }
}

fn anthropic(server: &MockServer, policy: HttpPolicy) -> Anthropic {
    Anthropic::new(
        AnthropicConfig::new(server.uri(), MODEL, ApiKey::new(KEY)),
        policy,
    )
    .unwrap()
}

fn openai(server: &MockServer, policy: HttpPolicy) -> OpenAiCompatible {
    let mut config = OpenAiConfig::new(format!("{}/v1", server.uri()), "smollm2");
    config.api_key = Some(ApiKey::new(KEY));
    OpenAiCompatible::new(config, policy).unwrap()
}

fn request(max_tokens: u32) -> ChatRequest {
    let mut params = GenerationParams::greedy(max_tokens);
    params.stop = vec!["\n\n".into()];
    ChatRequest::new(
        vec![
            Message::system("You explain statistics."),
            Message::user("What is a p-value?"),
        ],
        params,
    )
}

fn message_body(text: &str) -> serde_json::Value {
    json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 10}
    })
}

fn error_body(kind: &str, message: &str) -> serde_json::Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

fn opts() -> CallOptions {
    CallOptions::new(Duration::from_secs(20))
}

#[tokio::test]
async fn anthropic_success_sends_the_documented_request_and_records_cost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(json!({
            "model": MODEL, "max_tokens": 64, "system": "You explain statistics.",
            "messages": [{"role": "user", "content": "What is a p-value?"}],
            "stop_sequences": ["\n\n"], "stream": false, "temperature": 0.0
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("A probability.")))
        .expect(1)
        .mount(&server)
        .await;
    let budget = Budget::with_limit(pricing(), 1.0);
    let model = anthropic(
        &server,
        HttpPolicy {
            budget: Some(budget.clone()),
            ..policy()
        },
    );
    let response = model.complete(request(64), opts()).await.unwrap();
    assert_eq!(response.text, "A probability.");
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.usage.prompt_tokens, 20);
    assert_eq!(response.usage.completion_tokens, 10);
    // 20 × 3 + 10 × 15 per million.
    let expected = 210.0 / 1e6;
    assert!((response.cost_usd.unwrap() - expected).abs() < 1e-12);
    let summary = budget.summary();
    assert!((summary.spent_usd - expected).abs() < 1e-12);
    assert_eq!(summary.reserved_usd, 0.0);
    assert_eq!(summary.by_model[MODEL].calls, 1);
    assert_eq!(summary.prices_as_of, "2025-11-24");
}

#[tokio::test]
async fn anthropic_streaming_yields_text_deltas_then_usage() {
    let server = MockServer::start().await;
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": MODEL, "content": [], "stop_reason": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "The chance "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "of data this extreme."}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null}, "usage": {"output_tokens": 7}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let body: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let model = anthropic(&server, policy());
    let mut stream = model.stream(request(7), opts()).await.unwrap();
    let mut deltas = Vec::new();
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta(text) => deltas.push(text),
            StreamEvent::Done {
                finish_reason,
                usage,
                ..
            } => done = Some((finish_reason, usage)),
        }
    }
    assert_eq!(deltas, ["The chance ", "of data this extreme."]);
    let (finish, usage) = done.unwrap();
    assert_eq!(finish, FinishReason::Length);
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (25, 7));
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_no_sooner_than_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body("rate_limit_error", "slow down")),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("ok")))
        .expect(1)
        .mount(&server)
        .await;
    let model = anthropic(&server, policy());
    let start = Instant::now();
    let response = model.complete(request(16), opts()).await.unwrap();
    assert_eq!(response.text, "ok");
    // The backoff alone would be 10-50 ms; the server asked for a second.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_529_overloaded_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded")),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("ok")))
        .expect(1)
        .mount(&server)
        .await;
    let response = anthropic(&server, policy())
        .complete(request(16), opts())
        .await
        .unwrap();
    assert_eq!(response.text, "ok");
}

#[tokio::test]
async fn persistent_overload_gives_a_typed_error_after_the_last_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded")),
        )
        .expect(4)
        .mount(&server)
        .await;
    let error = anthropic(&server, policy())
        .complete(request(16), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Overloaded { attempts: 4, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_400_and_a_401_are_not_retried() {
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(error_body(kind, "no")))
            .expect(1)
            .mount(&server)
            .await;
        let error = anthropic(&server, policy())
            .complete(request(16), opts())
            .await
            .unwrap_err();
        match (status, &error) {
            (
                400,
                Error::BadRequest {
                    status: 400,
                    message,
                    ..
                },
            )
            | (
                401,
                Error::Unauthorized {
                    status: 401,
                    message,
                    ..
                },
            ) => {
                assert!(message.contains(kind), "{message}");
            }
            _ => panic!("status {status} gave {error:?}"),
        }
    }
}

#[tokio::test]
async fn malformed_json_is_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"type\": \"message\", \"content\": [", "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("not json", "application/json"))
        .mount(&server)
        .await;
    let error = anthropic(&server, policy())
        .complete(request(16), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MalformedResponse {
                provider: "anthropic",
                ..
            }
        ),
        "{error:?}"
    );
    let error = openai(&server, policy())
        .complete(request(16), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::MalformedResponse {
                provider: "openai-compatible",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_budget_refuses_a_call_before_it_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("ok")))
        .expect(1)
        .mount(&server)
        .await;
    // 1000 output tokens at $15 per million could cost $0.015, more than the cap.
    let budget = Budget::with_limit(pricing(), 0.01);
    let model = anthropic(
        &server,
        HttpPolicy {
            budget: Some(budget.clone()),
            ..policy()
        },
    );
    let error = model.complete(request(1000), opts()).await.unwrap_err();
    match error {
        Error::BudgetExceeded {
            limit_usd,
            estimate_usd,
            ..
        } => {
            assert_eq!(limit_usd, 0.01);
            assert!(estimate_usd > 0.015);
        }
        other => panic!("{other:?}"),
    }
    // A smaller call fits, is sent (the mock expects exactly one request) and is charged.
    model.complete(request(100), opts()).await.unwrap();
    assert!(budget.summary().spent_usd > 0.0);
    // A model without a price cannot run under a cap.
    let unpriced = Anthropic::new(
        AnthropicConfig::new(server.uri(), "claude-unknown", ApiKey::new(KEY)),
        HttpPolicy {
            budget: Some(budget),
            ..policy()
        },
    )
    .unwrap();
    assert!(matches!(
        unpriced.complete(request(10), opts()).await,
        Err(Error::NoPrice { .. })
    ));
}

#[tokio::test]
async fn the_rate_limiter_spaces_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("ok")))
        .expect(3)
        .mount(&server)
        .await;
    let limits = Arc::new(RateLimits::new(RateLimitConfig {
        requests_per_minute: 120,
        tokens_per_minute: 0,
    }));
    let model = anthropic(
        &server,
        HttpPolicy {
            limits: Some(limits),
            ..policy()
        },
    );
    let start = Instant::now();
    for _ in 0..3 {
        model.complete(request(16), opts()).await.unwrap();
    }
    // 120 per minute is one every 0.5 s: the second and third calls wait.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(990), "{elapsed:?}");
}

#[tokio::test]
async fn api_keys_never_appear_in_errors_debug_output_or_the_cache() {
    let server = MockServer::start().await;
    // A server that echoes the key back in its error body.
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "authentication_error",
            &format!("invalid x-api-key: {KEY}"),
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(bearer_token(KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "smollm2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        })))
        .mount(&server)
        .await;
    let model = anthropic(&server, policy());
    let error = model.complete(request(16), opts()).await.unwrap_err();
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{model:?}"),
        format!("{:?}", ApiKey::new(KEY)),
        format!(
            "{:?}",
            AnthropicConfig::new(server.uri(), MODEL, ApiKey::new(KEY))
        ),
    ] {
        assert!(!text.contains(KEY), "key leaked: {text}");
    }
    assert!(error.to_string().contains("<redacted>"), "{error}");

    let cache_dir = tempfile::tempdir().unwrap();
    let cached = Cached::new(
        openai(&server, policy()),
        ResponseCache::open(cache_dir.path()).unwrap(),
    );
    assert!(!format!("{cached:?}").contains(KEY));
    cached.complete(request(16), opts()).await.unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(cache_dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(KEY), "key in the cache: {text}");
        files += 1;
    }
    assert_eq!(files, 1);
}

#[tokio::test]
async fn openai_compatible_success_and_sse_stream() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(bearer_token(KEY))
        .and(body_partial_json(json!({
            "model": "smollm2", "stream": false, "max_tokens": 32, "stop": ["\n\n"],
            "messages": [
                {"role": "system", "content": "You explain statistics."},
                {"role": "user", "content": "What is a p-value?"}
            ]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "smollm2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "A probability."}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 32, "total_tokens": 44}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let chunk = |content: &str, finish: Option<&str>| {
        json!({"id": "c2", "object": "chat.completion.chunk", "created": 1, "model": "smollm2",
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    };
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"id": "c2", "object": "chat.completion.chunk", "created": 1, "model": "smollm2",
               "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}),
        chunk("A prob", None),
        chunk("ability.", Some("stop")),
        json!({"id": "c2", "object": "chat.completion.chunk", "created": 1, "model": "smollm2",
               "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}),
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let model = openai(&server, policy());
    let mut req = request(32);
    let response = model.complete(req.clone(), opts()).await.unwrap();
    assert_eq!(response.text, "A probability.");
    assert_eq!(response.finish_reason, FinishReason::Length);
    assert_eq!(response.usage.completion_tokens, 32);

    req.params.stop.clear();
    req.params.stop.push("\n\n".into());
    let streamed = collect_stream(model.stream(req, opts()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(streamed.text, "A probability.");
    assert_eq!(streamed.finish_reason, FinishReason::Stop);
    assert_eq!(streamed.usage.prompt_tokens, 12);
    assert_eq!(streamed.usage.completion_tokens, 3);
}

#[tokio::test]
async fn openai_compatible_retries_server_errors_and_connect_failures() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1", "object": "chat.completion", "created": 1, "model": "smollm2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let response = openai(&server, policy())
        .complete(request(8), opts())
        .await
        .unwrap();
    assert_eq!(response.text, "ok");

    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let model = OpenAiCompatible::new(
        OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"), "m"),
        policy(),
    )
    .unwrap();
    let error = model.complete(request(8), opts()).await.unwrap_err();
    assert!(
        matches!(error, Error::Connect { attempts: 4, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn timeouts_and_cancellation_end_a_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(message_body("late"))
                .set_delay(Duration::from_secs(10)),
        )
        .mount(&server)
        .await;
    let model = anthropic(&server, policy());
    let start = Instant::now();
    let error = model
        .complete(request(8), CallOptions::new(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(start.elapsed() < Duration::from_secs(5));

    let options = opts();
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let error = model.complete(request(8), options).await.unwrap_err();
    assert!(matches!(error, Error::Cancelled), "{error:?}");
}

#[tokio::test]
async fn the_response_cache_answers_repeats_from_disk() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(message_body("cached answer")))
        // The repeat must not reach the server; the changed request must.
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let model = Cached::new(
        anthropic(&server, policy()),
        ResponseCache::open(dir.path()).unwrap(),
    );
    let first = model.complete(request(16), opts()).await.unwrap();
    let again = model.complete(request(16), opts()).await.unwrap();
    assert_eq!(first.text, again.text);
    assert_eq!(again.cost_usd, Some(0.0));
    let streamed = collect_stream(model.stream(request(16), opts()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(streamed.text, "cached answer");
    let mut changed = request(16);
    changed.params.temperature = 0.5;
    model.complete(changed, opts()).await.unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
