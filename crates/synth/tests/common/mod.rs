//! Helpers shared by the LLM generator's tests: the arXiv-like fixture abstracts in
//! `tests/test_data`, a config pointed at a temporary artifacts root, grounded replies built from
//! an abstract's own sentences, and Anthropic Messages responses in the documented shape.

// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use artifacts::{ArxivPaper, Timestamp, write_artifact};
use synth::SynthConfig;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture papers, as the collector would have written them.
pub fn papers() -> Vec<ArxivPaper> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/test_data/arxiv_abstracts.json"),
    )
    .expect("fixture file");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("fixture JSON");
    rows.iter()
        .map(|r| ArxivPaper {
            arxiv_id: r["arxiv_id"].as_str().expect("id").to_owned(),
            version: 1,
            title: r["title"].as_str().expect("title").to_owned(),
            abstract_text: r["abstract"].as_str().expect("abstract").to_owned(),
            authors: vec!["A. Author".into()],
            categories: vec!["stat.ME".into()],
            primary_category: "stat.ME".into(),
            published_at: Timestamp(1_700_000_000_000_000),
            updated_at: Timestamp(1_700_000_000_000_000),
            doi: None,
            journal_ref: None,
            comment: None,
            abs_url: r["abs_url"].as_str().expect("url").to_owned(),
            pdf_url: None,
            fetched_at: Timestamp(1_700_000_000_000_000),
        })
        .collect()
}

/// Writes the first `n` fixture papers as `raw/arxiv.parquet` under `dir`.
pub fn write_sources(dir: &Path, n: usize) -> Vec<ArxivPaper> {
    let papers: Vec<ArxivPaper> = papers().into_iter().take(n).collect();
    write_artifact(dir.join("raw/arxiv.parquet"), &papers).expect("write raw/arxiv.parquet");
    papers
}

/// The shipped config with absolute paths, writing under `dir`, calling `base_url`, one source
/// at a time.
pub fn config(dir: &Path, base_url: &str) -> SynthConfig {
    let mut config =
        SynthConfig::load(&root().join("configs/synth.toml")).expect("the shipped config");
    config.knowledge_dir = root().join(&config.knowledge_dir);
    config.llm_config = root().join(&config.llm_config);
    config.llm.prompt = root().join(&config.llm.prompt);
    config.output_root = dir.to_path_buf();
    config.llm.anthropic.base_url = base_url.to_owned();
    config.llm.concurrency = 1;
    config
}

fn sentences(text: &str) -> Vec<String> {
    text.split(". ")
        .map(|s| s.trim().trim_end_matches('.').to_owned() + ".")
        .filter(|s| s.len() > 20)
        .collect()
}

/// A reply a good model would give: five pairs of the required types, each answer made of two
/// of the abstract's own sentences (so grounded, and every number is in the source).
pub fn grounded_reply(paper: &ArxivPaper) -> String {
    let s = sentences(&paper.abstract_text);
    let t = &paper.title;
    let questions = [
        format!("What is the central concept of the work titled \"{t}\"?"),
        format!("How is the method described in \"{t}\" applied in practice?"),
        format!("How do the approaches compared in \"{t}\" differ from each other?"),
        format!("What should a practitioner do according to \"{t}\"?"),
        format!("Which further point does \"{t}\" make about experiments?"),
    ];
    let types = [
        "definition",
        "methodology",
        "comparison",
        "best_practice",
        "free",
    ];
    let pairs: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            serde_json::json!({
                "type": types[i],
                "question": questions[i],
                "answer": format!("{} {}", s[i % s.len()], s[(i + 1) % s.len()]),
            })
        })
        .collect();
    serde_json::json!({ "pairs": pairs }).to_string()
}

/// Prompt and completion tokens every mock response reports.
pub const USAGE: (u32, u32) = (1200, 900);

/// A Messages API response body in the documented shape.
pub fn message(text: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": USAGE.0, "output_tokens": USAGE.1}
    })
}

/// The documented error body.
pub fn error_body(kind: &str, text: &str) -> serde_json::Value {
    serde_json::json!({"type": "error", "error": {"type": kind, "message": text}})
}
