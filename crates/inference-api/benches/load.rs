//! The API benchmark behind `docs/benchmarks.md`: a loopback load generator against a real
//! server over the real assistant (embedded store, MiniLM, SmolLM2-135M).
//!
//! 1. Latency per question kind (calculation, definition, multi-hop; the labelled questions of
//!    `data/knowledge/questions`), one user, streamed `POST /query`: time to first token and
//!    total as the client sees them, and the stage breakdown the `done` event reports; also the
//!    structured part alone (`generate: false`).
//! 2. Throughput and error rate at 1 and 16 concurrent users over a fixed time, mixed questions,
//!    response cache off so that every request does the full work.
//!
//! Run: `cargo bench -p inference-api --bench load` (release; with the env of `cargo xtask env`).
//! `LIFT_BENCH_SECONDS` sets each load phase's length (default 30), `LIFT_BENCH_QUESTIONS` the
//! questions per kind (default 10). Results print as Markdown tables.

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http;
use inference_api::{AppState, ServerConfig};
use serde_json::{Value, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The first `n` question texts of a labelled set.
fn questions(set: &str, n: usize) -> Vec<String> {
    let path = common::root().join(format!("data/knowledge/questions/{set}.toml"));
    let text = std::fs::read_to_string(&path).expect("the labelled questions");
    let doc: toml::Table = toml::from_str(&text).expect("valid TOML");
    doc["question"]
        .as_array()
        .expect("[[question]]")
        .iter()
        .filter_map(|q| q.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .take(n)
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (percentile(&values, 50.0), percentile(&values, 95.0))
}

#[derive(Default)]
struct Stages {
    first_token: Vec<f64>,
    total_client: Vec<f64>,
    understanding: Vec<f64>,
    retrieval: Vec<f64>,
    calculation: Vec<f64>,
    generation: Vec<f64>,
    structured: Vec<f64>,
}

async fn latency(addr: SocketAddr, kind: &str, questions: &[String]) -> Stages {
    let mut s = Stages::default();
    for q in questions {
        // The structured part alone, as a client sees it.
        let started = Instant::now();
        let r = http::post_json(
            addr,
            "/query",
            &json!({"question": q, "generate": false}),
            &[],
        )
        .await
        .expect("a response");
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
        s.structured.push(started.elapsed().as_secs_f64() * 1e3);

        let t = http::timed_stream(addr, &json!({"question": q, "stream": true}))
            .await
            .expect("a stream");
        assert_eq!(t.status, 200, "{kind}: {}", t.body);
        let events = http::sse_events(&t.body);
        let done: Value = events
            .iter()
            .rev()
            .find(|e| e.event == "done")
            .map(|e| serde_json::from_str(&e.data).expect("done JSON"))
            .unwrap_or_else(|| panic!("{kind}: no done event for {q:?}: {}", t.body));
        let ms = |k: &str| done["timings_ms"][k].as_f64().unwrap_or(0.0);
        if let Some(first) = t.first_token {
            s.first_token.push(first.as_secs_f64() * 1e3);
        }
        s.total_client.push(t.total.as_secs_f64() * 1e3);
        s.understanding.push(ms("understanding"));
        s.retrieval.push(ms("retrieval"));
        s.calculation.push(ms("calculation"));
        s.generation.push(ms("generation"));
    }
    s
}

struct Load {
    users: usize,
    requests: usize,
    errors: usize,
    /// Answers whose explanation stopped at the generation deadline (`timed_out`).
    cut: usize,
    seconds: f64,
    latencies: Vec<f64>,
}

async fn load(addr: SocketAddr, users: usize, seconds: u64, pool: Arc<Vec<String>>) -> Load {
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..users)
        .map(|user| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                let mut cut = 0usize;
                let mut i = user;
                while Instant::now() < until {
                    let q = &pool[i % pool.len()];
                    i += users;
                    let t0 = Instant::now();
                    match http::post_json(addr, "/query", &json!({"question": q}), &[]).await {
                        Ok(r) if r.status == 200 => {
                            latencies.push(t0.elapsed().as_secs_f64() * 1e3);
                            let body: Value = serde_json::from_str(&r.text()).unwrap_or_default();
                            if body["timed_out"] == Value::Bool(true) {
                                cut += 1;
                            }
                        }
                        Ok(r) => {
                            eprintln!("status {}: {}", r.status, r.text());
                            errors += 1;
                        }
                        Err(e) => {
                            eprintln!("transport error: {e}");
                            errors += 1;
                        }
                    }
                }
                (latencies, errors, cut)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut cut = 0;
    for task in tasks {
        let (l, e, c) = task.await.expect("a user task");
        latencies.extend(l);
        errors += e;
        cut += c;
    }
    Load {
        users,
        requests: latencies.len() + errors,
        errors,
        cut,
        seconds: started.elapsed().as_secs_f64(),
        latencies,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument (a filter from `cargo test --benches`)
    // means a listing or a quick check, which this benchmark does not offer.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds = env_number("LIFT_BENCH_SECONDS", 30);
    let per_kind = env_number("LIFT_BENCH_QUESTIONS", 10) as usize;
    common::RUNTIME.block_on(async {
        let loaded = Instant::now();
        let assistant = common::shipped_assistant().await;
        eprintln!("assistant loaded in {:.1} s", loaded.elapsed().as_secs_f64());
        let mut config = ServerConfig::default();
        // Every request does the full work: the cache would turn repeats into lookups.
        config.cache.enabled = false;
        let server = common::Server::start(AppState::with_assistant(config, None, assistant)).await;
        let addr = server.addr;

        let kinds = [
            ("calculation", questions("calculations", per_kind)),
            ("definition", questions("definitions", per_kind)),
            ("multi-hop", questions("multi-hop", per_kind)),
        ];
        // Warm the model's prompt cache and the store's pages once.
        let _ = http::timed_stream(addr, &json!({"question": kinds[1].1[0], "stream": true})).await;

        println!("\n### Latency, one user, streamed `POST /query` (ms)\n");
        println!("| kind | n | structured only p50 / p95 | first token p50 / p95 | full answer p50 / p95 | understanding p50 | retrieval p50 / p95 | calculation p50 | generation p50 |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for (kind, qs) in &kinds {
            let s = latency(addr, kind, qs).await;
            let (sp50, sp95) = summary(s.structured.clone());
            let (fp50, fp95) = summary(s.first_token.clone());
            let (tp50, tp95) = summary(s.total_client.clone());
            let (up50, _) = summary(s.understanding.clone());
            let (rp50, rp95) = summary(s.retrieval.clone());
            let (cp50, _) = summary(s.calculation.clone());
            let (gp50, _) = summary(s.generation.clone());
            println!(
                "| {kind} | {} | {sp50:.1} / {sp95:.1} | {fp50:.0} / {fp95:.0} | {tp50:.0} / {tp95:.0} | {up50:.2} | {rp50:.1} / {rp95:.1} | {cp50:.2} | {gp50:.0} |",
                qs.len()
            );
        }

        let pool: Arc<Vec<String>> = Arc::new(kinds.iter().flat_map(|(_, q)| q.clone()).collect());
        println!("\n### Throughput, mixed questions, full answers, cache off ({seconds} s per row)\n");
        println!("| users | requests | errors | error rate | explanation cut at its deadline | answers/s | latency p50 / p95 (ms) |");
        println!("|---|---|---|---|---|---|---|");
        for users in [1, 16] {
            let l = load(addr, users, seconds, pool.clone()).await;
            let (p50, p95) = summary(l.latencies.clone());
            println!(
                "| {} | {} | {} | {:.2}% | {} | {:.2} | {p50:.0} / {p95:.0} |",
                l.users,
                l.requests,
                l.errors,
                100.0 * l.errors as f64 / l.requests.max(1) as f64,
                l.cut,
                l.latencies.len() as f64 / l.seconds,
            );
        }
        let metrics = http::get(addr, "/metrics").await.expect("metrics").text();
        let unsupported = metrics
            .lines()
            .find(|l| l.starts_with("lift_unsupported_numbers_total "))
            .unwrap_or("lift_unsupported_numbers_total 0");
        println!("\n`{unsupported}` over the whole run.");
        server.stop().await;
    });
}
