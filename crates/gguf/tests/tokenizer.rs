//! The tokenizer rebuilt from GGUF metadata: SmolLM2's specifics on the real file, and the
//! pre-tokenizer variants (SmolLM single digits, GPT-2, Llama 3 digit triples with whole-word
//! lookups) on small hand-built vocabularies. The id-for-id comparison with llama.cpp lives in
//! the dataset crate's tests.

mod common;

use common::{encode, i32s, strings};
use gguf::{GgufError, GgufTokenizer, GgufValue, PreTokenizerKind};

fn smollm2() -> GgufTokenizer {
    let path = assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .expect("the chat model is installed (cargo xtask setup)");
    GgufTokenizer::from_gguf_path(path).expect("tokenizer")
}

#[test]
fn smollm2_splits_digits_and_recognises_its_chat_tokens() {
    let t = smollm2();
    assert_eq!(t.pre_tokenizer(), Some(PreTokenizerKind::SmolLm));
    assert_eq!(t.eos_token(), Some("<|im_end|>"));
    let digits = t.encode("12345", false).expect("encode");
    assert_eq!(digits.len(), 5, "one token per digit");
    let ids = t
        .encode("<|im_start|>user\nhi<|im_end|>", false)
        .expect("encode");
    let start = t
        .tokenizer()
        .token_to_id("<|im_start|>")
        .expect("im_start in vocab");
    let end = t
        .tokenizer()
        .token_to_id("<|im_end|>")
        .expect("im_end in vocab");
    assert_eq!(ids.first(), Some(&start));
    assert_eq!(ids.last(), Some(&end));
    let text = "Variance σ² = E[(X − μ)²]; p < 0.05 isn't \"proof\".\n\n  indented";
    let round = t
        .decode(&t.encode(text, false).expect("encode"))
        .expect("decode");
    assert_eq!(round, text);
}

/// A byte-level vocabulary of digits with merges for "123" and "45" and a merge-less "999".
fn digits_gguf(pre: &str) -> Vec<u8> {
    let mut tokens: Vec<&str> = vec!["<s>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    tokens.extend(["12", "123", "45", "999"]);
    let mut types = vec![1i32; tokens.len()];
    types[0] = 3;
    encode(
        &[
            ("tokenizer.ggml.model", GgufValue::String("gpt2".into())),
            ("tokenizer.ggml.pre", GgufValue::String(pre.into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            ("tokenizer.ggml.token_type", i32s(&types)),
            ("tokenizer.ggml.merges", strings(&["1 2", "12 3", "4 5"])),
            ("tokenizer.ggml.bos_token_id", GgufValue::U32(0)),
        ],
        &[],
        32,
    )
}

fn tokens_of(pre: &str, text: &str, add_special: bool) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.gguf");
    std::fs::write(&path, digits_gguf(pre)).expect("write");
    let t = GgufTokenizer::from_gguf_path(&path).expect("tokenizer");
    t.encode(text, add_special)
        .expect("encode")
        .into_iter()
        .map(|id| t.tokenizer().id_to_token(id).expect("known id"))
        .collect()
}

#[test]
fn pre_tokenizers_split_digits_the_way_each_model_family_does() {
    // SmolLM2: every digit alone, so no merge applies.
    assert_eq!(
        tokens_of("smollm", "12345", false),
        ["1", "2", "3", "4", "5"]
    );
    // GPT-2: the digit run stays whole and the merges apply.
    assert_eq!(tokens_of("gpt-2", "12345", false), ["123", "45"]);
    assert_eq!(tokens_of("gpt-2", "999", false), ["9", "9", "9"]);
    // Llama 3: digits in triples, and a triple found whole in the vocabulary skips the merges.
    assert_eq!(
        tokens_of("llama-bpe", "1234599", false),
        ["123", "45", "9", "9"]
    );
    assert_eq!(tokens_of("llama-bpe", "999", false), ["999"]);
    // Llama 3 adds BOS by default.
    assert_eq!(tokens_of("llama-bpe", "45", true), ["<s>", "45"]);
    assert_eq!(tokens_of("smollm", "45", true), ["4", "5"]);
}

#[test]
fn unsupported_tokenizers_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spm.gguf");
    let bytes = encode(
        &[
            ("tokenizer.ggml.model", GgufValue::String("llama".into())),
            ("tokenizer.ggml.tokens", strings(&["a"])),
        ],
        &[],
        32,
    );
    std::fs::write(&path, bytes).expect("write");
    let err = GgufTokenizer::from_gguf_path(&path).expect_err("SentencePiece is refused");
    assert!(
        matches!(&err, GgufError::UnsupportedTokenizer { detail, .. } if detail.contains("\"llama\"")),
        "{err}"
    );
    std::fs::write(&path, digits_gguf("qwen2")).expect("write");
    let err = GgufTokenizer::from_gguf_path(&path).expect_err("unknown pre-tokenizer");
    assert!(err.to_string().contains("qwen2"), "{err}");
}
