//! Builds the test fixture `tests/data/{train,val}.parquet` (`dataset.rows`) from a `qa.pairs`
//! file written by `synth`, rendering each pair with the SmolLM2 chat template.
//!
//! ```text
//! target/debug/synth --output-root /tmp/trainer-synth
//! cargo run -p trainer --example make_fixture -- /tmp/trainer-synth/qa/synthetic.parquet \
//!     crates/trainer/tests/data
//! ```
//!
//! Rows are chosen deterministically: pairs sorted by id, answers of at most 360 characters
//! (so sequences stay short for CPU tests), every type represented, 200 for training and 40
//! for validation, split by source id so no source appears in both.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use artifacts::{ChatMessage, DatasetRow, QaPair, read_artifact, write_artifact};
use gguf::{ChatTemplate, GgufFile, GgufTokenizer, TemplateMessage};
use sha2::Digest;

const SYSTEM: &str = "You are Lift, an assistant for experimentation and A/B testing questions.";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let qa_path = PathBuf::from(
        args.next()
            .context("usage: make_fixture QA_PARQUET OUT_DIR")?,
    );
    let out = PathBuf::from(
        args.next()
            .context("usage: make_fixture QA_PARQUET OUT_DIR")?,
    );
    let gguf_path = assets::AssetCache::from_env()?.chat_model_gguf()?;
    let file = GgufFile::open(&gguf_path)?;
    let tokenizer = GgufTokenizer::from_gguf(&file)?;
    let template = ChatTemplate::from_gguf(&file)?;
    let mut pairs: Vec<QaPair> = read_artifact(&qa_path)?;
    pairs.sort_by(|a, b| a.qa_id.cmp(&b.qa_id));
    pairs.retain(|p| p.answer.chars().count() <= 360);
    // Round-robin over question types so every type appears.
    let mut by_type: BTreeMap<String, Vec<QaPair>> = BTreeMap::new();
    for p in pairs {
        by_type.entry(p.qa_type.clone()).or_default().push(p);
    }
    let mut chosen = Vec::new();
    let mut round = 0;
    while chosen.len() < 400 && by_type.values().any(|v| v.len() > round) {
        for v in by_type.values() {
            if let Some(p) = v.get(round) {
                if chosen.len() < 400 {
                    chosen.push(p.clone());
                }
            }
        }
        round += 1;
    }
    let mut train = Vec::new();
    let mut val = Vec::new();
    for p in chosen {
        let h = sha2::Sha256::digest(p.source_id.as_bytes());
        let is_val = h[0] % 6 == 0;
        let messages = vec![
            ChatMessage {
                role: "system".into(),
                content: SYSTEM.into(),
            },
            ChatMessage {
                role: "user".into(),
                content: p.question.clone(),
            },
            ChatMessage {
                role: "assistant".into(),
                content: p.answer.clone(),
            },
        ];
        let tm: Vec<TemplateMessage> = messages
            .iter()
            .map(|m| TemplateMessage::new(&m.role, &m.content))
            .collect();
        let text = template.render(&tm, false)?;
        let prompt = template.render(&tm[..2], true)?;
        let row = DatasetRow {
            id: p.qa_id.clone(),
            messages,
            prompt_len_tokens: tokenizer.count(&prompt)? as i32,
            total_len_tokens: tokenizer.count(&text)? as i32,
            text,
            qa_type: p.qa_type.clone(),
            source: p.generator.clone(),
            source_id: p.source_id.clone(),
            split: if is_val { "val" } else { "train" }.into(),
            license: p.license.clone(),
            truncated: false,
        };
        // A full validation split drops further validation sources rather than moving them to
        // training, so no source is ever in both.
        if is_val {
            if val.len() < 40 {
                val.push(row);
            }
        } else if train.len() < 200 {
            train.push(row);
        }
    }
    std::fs::create_dir_all(&out)?;
    let t = write_artifact(out.join("train.parquet"), &train)?;
    let v = write_artifact(out.join("val.parquet"), &val)?;
    println!(
        "train: {} rows {} bytes; val: {} rows {} bytes",
        t.rows, t.bytes, v.rows, v.bytes
    );
    Ok(())
}
