//! The LLM generator on the real local model: SmolLM2-135M-Instruct (GGUF from the asset cache)
//! through `llm::LocalModel`, with the reply's JSON schema compiled into a llama.cpp grammar, on
//! three arXiv-like fixture abstracts. It proves the wiring (prompt, constraint, parse, repair,
//! checkpoint, provenance, validation); the 135M model's output quality is not judged, so the
//! test asserts what every run must show and prints the accepted and rejected counts and reasons.
//!
//! Needs the model: `cargo xtask setup` installs it, and a missing model fails the test with a
//! message saying so rather than skipping it.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use artifacts::{QaPair, QaReject, read_artifact};
use synth::provider::ProviderChoice;
use synth::run::{PAIRS_PATH, REJECTS_PATH, RunOptions, run_with};

#[test]
fn smollm2_writes_schema_constrained_pairs_that_are_validated_and_checkpointed() {
    let model = assets::AssetCache::from_env()
        .and_then(|cache| cache.chat_model_gguf())
        .unwrap_or_else(|e| {
            panic!("this test needs the SmolLM2 GGUF from the asset cache ({e}); run `cargo xtask setup`")
        });
    let dir = tempfile::tempdir().unwrap();
    let papers = common::write_sources(dir.path(), 2);
    let mut config = common::config(dir.path(), "http://127.0.0.1:9");
    // Shorter bounds than for Claude: the grammar lets a small model fill every string up to its
    // maximum, and each token costs about 10 ms on one core.
    config.llm.max_question_chars = 160;
    config.llm.max_answer_chars = 320;
    config.llm.max_tokens = 1100;
    config.llm.temperature = 0.0;
    config.llm.local.threads = 1;
    config.llm.local.max_parallel = 1;
    config.llm.local.context_per_sequence = 4096;
    let options = || RunOptions {
        provider: Some(ProviderChoice::Local(model.clone())),
        graph: false,
        calculation: false,
        ..RunOptions::default()
    };
    let start = Instant::now();
    let summary = run_with(&config, options()).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let pairs: Vec<QaPair> = read_artifact(dir.path().join(PAIRS_PATH)).unwrap();
    let rejects: Vec<QaReject> = read_artifact(dir.path().join(REJECTS_PATH)).unwrap();
    eprintln!(
        "SmolLM2 on {} sources in {seconds:.1} s: {} calls ({} repairs), {} prompt + {} completion tokens; {} pairs accepted, {} rejected; reasons {:?}",
        papers.len(),
        summary.llm.calls,
        summary.llm.repair_calls,
        summary.llm.input_tokens,
        summary.llm.output_tokens,
        pairs.len(),
        rejects.len(),
        summary.reject_reasons,
    );
    for r in &rejects {
        eprintln!("  rejected {} {}: {}", r.source_id, r.reason, r.detail);
    }
    for p in &pairs {
        eprintln!("  accepted {} {}: {:?}", p.source_id, p.qa_type, p.question);
    }

    assert!(summary.llm.stopped.is_none(), "{summary:?}");
    assert_eq!(summary.llm.provider, "local");
    assert_eq!(summary.llm.sources_generated, 2);
    assert!(summary.llm.calls >= 2 && summary.llm.output_tokens > 0);
    assert_eq!(summary.llm.cost_usd, 0.0);
    // Every source ends as pairs (accepted or rejected with a reason) or one source-level reject;
    // nothing is lost silently.
    for p in &papers {
        let accepted = pairs.iter().filter(|q| q.source_id == p.arxiv_id).count();
        let rejected = rejects.iter().filter(|r| r.source_id == p.arxiv_id).count();
        assert!(
            accepted + rejected == 5 || (accepted == 0 && rejected == 1),
            "{}: {accepted} accepted, {rejected} rejected",
            p.arxiv_id
        );
    }
    assert!(
        rejects
            .iter()
            .all(|r| !r.reason.is_empty() && !r.detail.is_empty())
    );
    for p in &pairs {
        assert_eq!(p.provider.as_deref(), Some("local"));
        assert!(p.model.as_deref().is_some_and(|m| m.starts_with("smollm2")));
        assert!(p.output_tokens.is_some_and(|t| t > 0));
    }

    // A second run resumes every source from its checkpoint: no generation at all.
    let start = Instant::now();
    let again = run_with(&config, options()).unwrap();
    assert_eq!((again.llm.sources_resumed, again.llm.calls), (2, 0));
    let repeat: Vec<QaPair> = read_artifact(dir.path().join(PAIRS_PATH)).unwrap();
    let text = |ps: &[QaPair]| {
        ps.iter()
            .map(|p| (p.qa_id.clone(), p.answer.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(text(&pairs), text(&repeat));
    eprintln!("resumed run: {:.1} s", start.elapsed().as_secs_f64());
}
