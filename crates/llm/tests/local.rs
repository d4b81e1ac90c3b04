//! The local llama.cpp backend on the real SmolLM2-135M-Instruct Q4_1 GGUF from the asset cache.
//!
//! These tests need the model: `cargo xtask setup` installs it (CI runs setup first), and a
//! missing model fails them with a message saying so rather than skipping them. Generation
//! lengths stay small: SmolLM2 makes about 90 tokens a second on one thread.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llm::{
    CallOptions, ChatModel, ChatRequest, Constraint, Error, FinishReason, GenerationParams,
    LocalConfig, LocalModel, Message, StreamEvent, collect_stream,
};

fn model_path() -> PathBuf {
    assets::AssetCache::from_env()
        .and_then(|cache| cache.chat_model_gguf())
        .unwrap_or_else(|e| {
            panic!("these tests need the SmolLM2 GGUF from the asset cache ({e}); run `cargo xtask setup`")
        })
}

fn load(max_parallel: u32, prefix_cache: bool) -> LocalModel {
    let mut config = LocalConfig::new(model_path());
    // One thread: the test binaries run two tests at once on two cores.
    config.threads = 1;
    config.context_per_sequence = 512;
    config.max_parallel = max_parallel;
    config.prefix_cache = prefix_cache;
    LocalModel::load(config).unwrap()
}

const SYSTEM: &str = "You are a concise assistant for experimentation and statistics. Answer in one or two sentences.";

fn ask(question: &str, params: GenerationParams) -> ChatRequest {
    ChatRequest::new(
        vec![Message::system(SYSTEM), Message::user(question)],
        params,
    )
}

fn opts() -> CallOptions {
    CallOptions::new(Duration::from_secs(60))
}

#[tokio::test]
async fn generation_stops_at_max_tokens_and_at_stop_strings() {
    let model = load(1, false);
    assert!(
        model.info().template_from_gguf,
        "SmolLM2's GGUF carries its ChatML template"
    );
    let question = "What is a p-value?";
    let long = model
        .complete(ask(question, GenerationParams::greedy(12)), opts())
        .await
        .unwrap();
    assert_eq!(long.finish_reason, FinishReason::Length);
    assert_eq!(long.usage.completion_tokens, 12);
    assert!(long.usage.prompt_tokens > 20, "{:?}", long.usage);
    assert!(!long.text.trim().is_empty());

    // Stop at a word from the middle of the greedy answer: the text must end just before it.
    let words: Vec<&str> = long.text.split_whitespace().collect();
    assert!(words.len() >= 4, "{:?}", long.text);
    let stop = format!(" {}", words[words.len() / 2]);
    let cut = long.text.find(&stop).unwrap();
    let mut params = GenerationParams::greedy(12);
    params.stop = vec![stop.clone(), "never appears ###".into()];
    let stopped = model.complete(ask(question, params), opts()).await.unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::StopSequence);
    assert_eq!(stopped.text, long.text[..cut], "stop {stop:?}");
}

#[tokio::test]
async fn a_fixed_seed_repeats_and_streaming_matches_complete() {
    let model = load(1, true);
    let params = GenerationParams {
        max_tokens: 16,
        temperature: 0.9,
        seed: Some(42),
        ..GenerationParams::default()
    };
    let request = ask("Name one way to reduce variance in an A/B test.", params);
    let first = model.complete(request.clone(), opts()).await.unwrap();
    let second = model.complete(request.clone(), opts()).await.unwrap();
    assert_eq!(first.text, second.text);
    assert!(!first.text.is_empty());

    let mut stream = model.stream(request, opts()).await.unwrap();
    let mut pieces = Vec::new();
    let mut finish = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta(piece) => pieces.push(piece),
            StreamEvent::Done {
                finish_reason,
                usage,
                ..
            } => finish = Some((finish_reason, usage)),
        }
    }
    assert!(
        pieces.len() > 1,
        "a token stream, not one block: {pieces:?}"
    );
    assert_eq!(pieces.concat(), first.text);
    let (reason, usage) = finish.unwrap();
    assert_eq!(reason, first.finish_reason);
    assert_eq!(usage.completion_tokens, first.usage.completion_tokens);
}

#[tokio::test]
async fn constrained_decoding_returns_valid_json_and_follows_grammars() {
    let model = load(1, false);
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "significant": {"type": "boolean"},
            "test": {"enum": ["t-test", "z-test", "chi-squared"]}
        },
        "required": ["significant", "test"],
        "additionalProperties": false
    });
    let params = GenerationParams {
        constraint: Some(Constraint::JsonSchema(schema)),
        ..GenerationParams::greedy(48)
    };
    let response = model
        .complete(
            ask("p = 0.01 comparing two means. Answer in JSON.", params),
            opts(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.finish_reason,
        FinishReason::Stop,
        "{:?}",
        response.text
    );
    let value: serde_json::Value = serde_json::from_str(&response.text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", response.text));
    assert!(value["significant"].is_boolean(), "{value}");
    assert!(
        ["t-test", "z-test", "chi-squared"].contains(&value["test"].as_str().unwrap_or("")),
        "{value}"
    );

    let params = GenerationParams {
        constraint: Some(Constraint::Grammar(r#"root ::= "yes" | "no""#.into())),
        ..GenerationParams::greedy(8)
    };
    let response = model
        .complete(ask("Is 0.01 below 0.05?", params), opts())
        .await
        .unwrap();
    assert!(
        ["yes", "no"].contains(&response.text.as_str()),
        "{:?}",
        response.text
    );

    let params = GenerationParams {
        constraint: Some(Constraint::Grammar("root ::= (".into())),
        ..GenerationParams::greedy(8)
    };
    let error = model.complete(ask("x", params), opts()).await.unwrap_err();
    assert!(matches!(error, Error::Grammar { .. }), "{error:?}");
}

#[tokio::test]
async fn two_concurrent_requests_complete_in_one_batch() {
    let model = load(2, false);
    let a = model.complete(
        ask("What is statistical power?", GenerationParams::greedy(16)),
        opts(),
    );
    let b = model.complete(
        ask(
            "What is a confidence interval?",
            GenerationParams::greedy(16),
        ),
        opts(),
    );
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.usage.completion_tokens, 16);
    assert_eq!(b.usage.completion_tokens, 16);
    assert_ne!(a.text, b.text);
    let stats = model.stats();
    assert_eq!(stats.max_batch_sequences, 2, "{stats:?}");
    // Shared forward passes: fewer decode calls than the two sequences' tokens.
    assert!(stats.decode_calls < 32, "{stats:?}");

    // Each answer is about its own question: the sequences share forward passes, not context.
    // (Batched and solo greedy output need not match token for token: llama.cpp's CPU kernels
    // accumulate in a different order for other batch sizes, which can flip a near tie.)
    eprintln!("a: {:?}\nb: {:?}", a.text, b.text);
    assert!(a.text.to_lowercase().contains("power"), "{:?}", a.text);
    assert!(b.text.to_lowercase().contains("confidence"), "{:?}", b.text);
}

#[tokio::test]
async fn dropping_a_stream_or_cancelling_stops_generation() {
    let model = load(1, false);
    let mut stream = model
        .stream(
            ask(
                "Explain the t-test in detail.",
                GenerationParams::greedy(400),
            ),
            opts(),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            stream.next().await,
            Some(Ok(StreamEvent::Delta(_)))
        ));
    }
    drop(stream);
    // The next request runs on the single slot only once the dropped one has stopped.
    let start = Instant::now();
    let next = model
        .complete(ask("Define alpha.", GenerationParams::greedy(4)), opts())
        .await
        .unwrap();
    assert_eq!(next.usage.completion_tokens, 4);
    assert!(model.stats().generated_tokens < 40, "{:?}", model.stats());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    let options = opts();
    let cancel = options.cancel.clone();
    let call = model.complete(
        ask("Explain ANOVA.", GenerationParams::greedy(400)),
        options,
    );
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(call, canceller);
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");

    let result = model
        .complete(
            ask("Explain ANOVA.", GenerationParams::greedy(400)),
            CallOptions::new(Duration::from_millis(300)),
        )
        .await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(model.stats().generated_tokens < 200, "{:?}", model.stats());
}

#[tokio::test]
async fn the_kv_cache_of_a_shared_system_prompt_is_reused() {
    let with_reuse = load(1, true);
    let without = load(1, false);
    let first = ask("What is a p-value?", GenerationParams::greedy(8));
    let second = ask("What is statistical power?", GenerationParams::greedy(8));
    with_reuse.complete(first, opts()).await.unwrap();
    let reused = with_reuse.complete(second.clone(), opts()).await.unwrap();
    // The system turn of the ChatML prompt is more than 20 tokens.
    assert!(reused.usage.cached_prompt_tokens > 20, "{:?}", reused.usage);
    assert!(reused.usage.cached_prompt_tokens < reused.usage.prompt_tokens);
    assert!(with_reuse.stats().prompt_tokens_reused > 20);
    let fresh = without.complete(second, opts()).await.unwrap();
    assert_eq!(fresh.usage.cached_prompt_tokens, 0);
    assert_eq!(reused.text, fresh.text);
}

#[tokio::test]
async fn missing_files_and_oversized_prompts_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = LocalModel::load(LocalConfig::new(dir.path().join("absent.gguf"))).unwrap_err();
    assert!(
        matches!(missing, Error::Load { what: "model", .. }),
        "{missing:?}"
    );
    let not_gguf = dir.path().join("junk.gguf");
    std::fs::write(&not_gguf, b"not a model").unwrap();
    let junk = LocalModel::load(LocalConfig::new(&not_gguf)).unwrap_err();
    assert!(
        matches!(junk, Error::Load { what: "model", .. }),
        "{junk:?}"
    );

    let model = load(1, false);
    let error = model
        .load_adapter("x", dir.path().join("absent.gguf"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Load {
                what: "LoRA adapter",
                ..
            }
        ),
        "{error:?}"
    );
    let error = model.load_adapter("x", &not_gguf).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Load {
                what: "LoRA adapter",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(model.with_adapter("x", 1.0).is_err());

    let long = "word ".repeat(600);
    let error = model
        .complete(ask(&long, GenerationParams::greedy(8)), opts())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ContextOverflow { context: 512, .. }),
        "{error:?}"
    );
    // The engine still serves after the errors.
    let ok = model
        .complete(ask("Define beta.", GenerationParams::greedy(2)), opts())
        .await
        .unwrap();
    assert_eq!(ok.usage.completion_tokens, 2);
    let collected = collect_stream(
        model
            .stream(ask("Define beta.", GenerationParams::greedy(2)), opts())
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(collected.text, ok.text);
}

/// Writes a GGUF LoRA adapter for SmolLM2 (Llama architecture, d = 576) in the layout of
/// llama.cpp's adapter loader: rank-1 `lora_a` (ne [576, 1]) and `lora_b` (ne [1, 576]) for the
/// attention output projection of every layer, all weights `value`.
fn write_lora_gguf(path: &std::path::Path, layers: usize, value: f32) {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    const STRING: u32 = 8;
    const FLOAT32: u32 = 6;
    const F32: u32 = 0;
    const D: u64 = 576;
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&((layers * 2) as u64).to_le_bytes());
    out.extend_from_slice(&4u64.to_le_bytes());
    for (key, value) in [
        ("general.type", "adapter"),
        ("general.architecture", "llama"),
        ("adapter.type", "lora"),
    ] {
        string(&mut out, key);
        out.extend_from_slice(&STRING.to_le_bytes());
        string(&mut out, value);
    }
    string(&mut out, "adapter.lora.alpha");
    out.extend_from_slice(&FLOAT32.to_le_bytes());
    out.extend_from_slice(&1.0f32.to_le_bytes());
    let tensor_bytes = D * 4;
    let mut offset = 0u64;
    for layer in 0..layers {
        for (suffix, ne) in [("lora_a", [D, 1]), ("lora_b", [1, D])] {
            string(
                &mut out,
                &format!("blk.{layer}.attn_output.weight.{suffix}"),
            );
            out.extend_from_slice(&2u32.to_le_bytes());
            for n in ne {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.extend_from_slice(&F32.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offset += tensor_bytes;
        }
    }
    while out.len() % 32 != 0 {
        out.push(0);
    }
    for _ in 0..layers * 2 * D as usize {
        out.extend_from_slice(&value.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

#[tokio::test]
async fn a_lora_adapter_loads_at_run_time_and_changes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = dir.path().join("tiny-lora.gguf");
    write_lora_gguf(&adapter, 30, 1.0);
    let base = load(1, true);
    let request = ask("What is a p-value?", GenerationParams::greedy(12));
    let before = base.complete(request.clone(), opts()).await.unwrap();

    base.load_adapter("tiny", &adapter).await.unwrap();
    assert_eq!(base.adapters(), ["tiny"]);
    let tuned = base.with_adapter("tiny", 1.0).unwrap();
    assert_ne!(tuned.model_id(), base.model_id());
    let with = tuned.complete(request.clone(), opts()).await.unwrap();
    assert_ne!(
        with.text, before.text,
        "the adapter left the output unchanged"
    );
    // Switching back removes the adapter (and the KV entries computed with it).
    let after = base.complete(request.clone(), opts()).await.unwrap();
    assert_eq!(after.text, before.text);
    // Scale 0 leaves the base model's output.
    let zero = base.with_adapter("tiny", 0.0).unwrap();
    assert_eq!(
        zero.complete(request, opts()).await.unwrap().text,
        before.text
    );
}
