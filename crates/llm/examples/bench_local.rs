//! Throughput of the local backend on the default GGUF (SmolLM2-135M-Instruct Q4_1): prompt and
//! generation tokens per second and time to first token at 1 and 2 threads, then total
//! generation throughput at 1, 2, 4 and 8 concurrent requests with batching on and off.
//!
//! Run: `cargo run -p llm --example bench_local` (prints Markdown tables for
//! `docs/benchmarks.md`). `LLM_BENCH_MODEL=path.gguf` benchmarks another GGUF.

// A benchmark binary reports failures by panicking with the error.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llm::{
    CallOptions, ChatModel, ChatRequest, GenerationParams, LocalConfig, LocalModel, Message,
    StreamEvent,
};

const PARAGRAPH: &str = "An A/B test randomly assigns users to a control and a treatment group, \
measures a metric in both, and asks whether the difference is larger than chance would explain. \
The sample size follows from the minimum detectable effect, the variance of the metric, the \
significance level and the desired power. ";

fn model_path() -> PathBuf {
    if let Some(path) = std::env::var_os("LLM_BENCH_MODEL") {
        return PathBuf::from(path);
    }
    assets::AssetCache::from_env()
        .and_then(|cache| cache.chat_model_gguf())
        .unwrap()
}

fn load(threads: u32, max_parallel: u32) -> LocalModel {
    let mut config = LocalConfig::new(model_path());
    config.threads = threads;
    config.max_parallel = max_parallel;
    config.context_per_sequence = 1024;
    config.prefix_cache = false;
    LocalModel::load(config).unwrap()
}

struct Run {
    prompt_tokens: u32,
    completion_tokens: u32,
    ttft: Duration,
    total: Duration,
}

async fn timed(model: &LocalModel, request: ChatRequest) -> Run {
    let start = Instant::now();
    let mut stream = model
        .stream(request, CallOptions::new(Duration::from_secs(600)))
        .await
        .unwrap();
    let mut ttft = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta(_) => {
                ttft.get_or_insert_with(|| start.elapsed());
            }
            StreamEvent::Done { usage, .. } => {
                let total = start.elapsed();
                return Run {
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    ttft: ttft.unwrap_or(total),
                    total,
                };
            }
        }
    }
    panic!("stream ended without Done");
}

fn question(i: usize) -> ChatRequest {
    let topics = [
        "statistical power",
        "a p-value",
        "a confidence interval",
        "sample ratio mismatch",
        "CUPED",
        "sequential testing",
        "the Bonferroni correction",
        "a minimum detectable effect",
    ];
    ChatRequest::new(
        vec![
            Message::system("You are a helpful assistant."),
            Message::user(format!("Explain {} in detail.", topics[i % topics.len()])),
        ],
        GenerationParams::greedy(32),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("model: {}", model_path().display());
    println!();
    println!(
        "| threads | prompt tokens | prompt tok/s | time to first token | generated | generation tok/s |"
    );
    println!("|---|---|---|---|---|---|");
    for threads in [1, 2] {
        let model = load(threads, 1);
        // Warm-up: the first decode pays for page faults of the mmapped weights.
        timed(&model, question(0)).await;
        let long = ChatRequest::new(
            vec![Message::user(format!(
                "{}Summarise the text above.",
                PARAGRAPH.repeat(6)
            ))],
            GenerationParams::greedy(1),
        );
        let mut prompt_runs = Vec::new();
        for _ in 0..3 {
            prompt_runs.push(timed(&model, long.clone()).await);
        }
        let prompt = prompt_runs.iter().min_by_key(|r| r.ttft).unwrap();
        let mut generation = GenerationParams::greedy(96);
        generation.stop.clear();
        let gen_request = ChatRequest::new(
            vec![Message::user(
                "Write a long, detailed explanation of hypothesis testing.",
            )],
            generation,
        );
        let mut gen_runs = Vec::new();
        for _ in 0..3 {
            gen_runs.push(timed(&model, gen_request.clone()).await);
        }
        let gen_rate = |r: &Run| {
            f64::from(r.completion_tokens.saturating_sub(1)) / (r.total - r.ttft).as_secs_f64()
        };
        let best = gen_runs
            .iter()
            .max_by(|a, b| gen_rate(a).total_cmp(&gen_rate(b)))
            .unwrap();
        println!(
            "| {threads} | {} | {:.0} | {:.0} ms | {} | {:.1} |",
            prompt.prompt_tokens,
            f64::from(prompt.prompt_tokens) / prompt.ttft.as_secs_f64(),
            prompt.ttft.as_secs_f64() * 1e3,
            best.completion_tokens,
            gen_rate(best),
        );
    }

    println!();
    println!(
        "| concurrent requests | batching | wall time | generated tokens | total tok/s | decode calls |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, max_parallel) in [("off (queue)", 1), ("on", 8)] {
        let model = load(1, max_parallel);
        timed(&model, question(0)).await;
        for n in [1usize, 2, 4, 8] {
            let before = model.stats();
            let start = Instant::now();
            let runs = futures::future::join_all((0..n).map(|i| timed(&model, question(i)))).await;
            let wall = start.elapsed();
            let tokens: u32 = runs.iter().map(|r| r.completion_tokens).sum();
            let after = model.stats();
            println!(
                "| {n} | {label} | {:.2} s | {tokens} | {:.1} | {} |",
                wall.as_secs_f64(),
                f64::from(tokens) / wall.as_secs_f64(),
                after.decode_calls - before.decode_calls,
            );
        }
    }
}
