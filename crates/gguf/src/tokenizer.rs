//! The model's tokenizer, rebuilt from GGUF metadata (`tokenizer.ggml.*`) as a
//! `tokenizers::Tokenizer`, so that Rust code counts and produces exactly the ids llama.cpp uses.
//!
//! Supported: byte-level BPE (`tokenizer.ggml.model = "gpt2"`) with the pre-tokenizers llama.cpp
//! calls `smollm` (SmolLM2: single digits, then the GPT-2 regex), `gpt-2` (the GPT-2 regex) and
//! `llama-bpe` (Llama 3: the Llama 3 regex, whole-word vocabulary hits before merges). Control,
//! user-defined and unknown tokens become added tokens, matched before pre-tokenization as
//! llama.cpp does with `parse_special`. SentencePiece (`llama`) vocabularies are refused with a
//! typed error rather than approximated.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Value, json};
use tokenizers::Tokenizer;

use crate::{GgufError, GgufFile};

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const TOKEN_TYPE_UNKNOWN: i64 = 2;
const TOKEN_TYPE_CONTROL: i64 = 3;
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// The Llama 3 split regex as llama.cpp adapted it (case-insensitive contractions spelled out).
pub const LLAMA3_REGEX: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A token id with its byte span `(start, end)` in the encoded text.
pub type TokenSpan = (u32, (usize, usize));

/// Which pre-tokenizer a byte-level BPE model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizerKind {
    /// The GPT-2 regex (`gpt-2`, `phi-2`).
    Gpt2,
    /// Every digit on its own, then the GPT-2 regex (`smollm` and its relatives).
    SmolLm,
    /// The Llama 3 regex (`llama-bpe`, `llama3`, …), with merges skipped for whole-vocabulary words.
    Llama3,
}

impl PreTokenizerKind {
    /// The kind for a `tokenizer.ggml.pre` value, as llama.cpp groups them.
    pub fn from_ggml_pre(pre: &str) -> Option<Self> {
        Some(match pre {
            "gpt-2" | "phi-2" => Self::Gpt2,
            "smollm" | "codeshell" | "exaone" | "minerva" => Self::SmolLm,
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" => Self::Llama3,
            _ => return None,
        })
    }

    fn to_json(self) -> Value {
        let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
        match self {
            Self::Gpt2 => byte_level(true),
            Self::SmolLm => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                byte_level(true),
            ]}),
            Self::Llama3 => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": false},
                byte_level(false),
            ]}),
        }
    }
}

/// A tokenizer equal to the one llama.cpp builds from the same GGUF.
#[derive(Debug, Clone)]
pub struct GgufTokenizer {
    tokenizer: Tokenizer,
    pre: Option<PreTokenizerKind>,
    bos_token: Option<String>,
    eos_token: Option<String>,
    add_bos: bool,
    json: String,
}

impl GgufTokenizer {
    /// Rebuilds the tokenizer of an open GGUF file.
    pub fn from_gguf(file: &GgufFile) -> Result<Self, GgufError> {
        let path = file.path().to_path_buf();
        let unsupported = |detail: String| GgufError::UnsupportedTokenizer {
            path: path.clone(),
            detail,
        };
        let model = file.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(unsupported(format!(
                "tokenizer.ggml.model is {model:?}; only byte-level BPE (\"gpt2\") is supported, use a model with a BPE vocabulary"
            )));
        }
        let pre_name = match file.get("tokenizer.ggml.pre") {
            Some(v) => v
                .as_str()
                .ok_or_else(|| unsupported("tokenizer.ggml.pre is not a string".into()))?,
            None => "default",
        };
        let pre = PreTokenizerKind::from_ggml_pre(pre_name).ok_or_else(|| {
            unsupported(format!(
                "pre-tokenizer {pre_name:?} is not supported (known: smollm, gpt-2, llama-bpe)"
            ))
        })?;
        let tokens = file.get_string_array("tokenizer.ggml.tokens")?;
        let merges = file.get_string_array("tokenizer.ggml.merges")?;
        let types: Vec<i64> = match file.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .as_array()
                .ok_or_else(|| unsupported("tokenizer.ggml.token_type is not an array".into()))?
                .iter()
                .map(|t| t.as_i64().unwrap_or(1))
                .collect(),
            None => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(unsupported(format!(
                "{} token types for {} tokens",
                types.len(),
                tokens.len()
            )));
        }
        let token_at = |key: &str| -> Result<Option<(u32, String)>, GgufError> {
            match file.get(key) {
                None => Ok(None),
                Some(v) => {
                    let id = v
                        .as_u64()
                        .and_then(|id| u32::try_from(id).ok())
                        .filter(|&id| (id as usize) < tokens.len())
                        .ok_or_else(|| unsupported(format!("{key} is not a token id")))?;
                    Ok(Some((id, tokens[id as usize].to_owned())))
                }
            }
        };
        let bos = token_at("tokenizer.ggml.bos_token_id")?;
        let eos = token_at("tokenizer.ggml.eos_token_id")?;
        let add_bos = match file.get("tokenizer.ggml.add_bos_token") {
            Some(v) => v.as_bool().unwrap_or(false),
            // llama.cpp turns BOS on for the Llama 3 pre-tokenizer when the file does not say.
            None => pre == PreTokenizerKind::Llama3,
        };

        let mut vocab = serde_json::Map::with_capacity(tokens.len());
        let mut added = Vec::new();
        for (id, (token, kind)) in tokens.iter().zip(&types).enumerate() {
            vocab.insert((*token).to_owned(), json!(id));
            if matches!(
                *kind,
                TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED | TOKEN_TYPE_UNKNOWN
            ) {
                added.push(json!({
                    "id": id,
                    "content": token,
                    "single_word": false,
                    "lstrip": false,
                    "rstrip": false,
                    "normalized": false,
                    "special": *kind != TOKEN_TYPE_USER_DEFINED,
                }));
            }
        }
        let post_processor = match (&bos, add_bos) {
            (Some((id, token)), true) => json!({
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [
                    {"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": token, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}
                ],
                "special_tokens": {token.as_str(): {"id": token, "ids": [id], "tokens": [token]}},
            }),
            _ => {
                json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})
            }
        };
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": pre.to_json(),
            "post_processor": post_processor,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": null,
                "end_of_word_suffix": null,
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": pre == PreTokenizerKind::Llama3,
                "vocab": vocab,
                "merges": merges,
            },
        });
        let json = spec.to_string();
        let tokenizer = Tokenizer::from_str(&json).map_err(|e| {
            unsupported(format!(
                "the tokenizer rebuilt from metadata was rejected: {e}"
            ))
        })?;
        Ok(Self {
            tokenizer,
            pre: Some(pre),
            bos_token: bos.map(|(_, t)| t),
            eos_token: eos.map(|(_, t)| t),
            add_bos,
            json,
        })
    }

    /// Opens a GGUF file and rebuilds its tokenizer.
    pub fn from_gguf_path(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        Self::from_gguf(&GgufFile::open(path)?)
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The pre-tokenizer rebuilt from GGUF metadata (`None` for a loaded `tokenizer.json`).
    pub fn pre_tokenizer(&self) -> Option<PreTokenizerKind> {
        self.pre
    }

    /// The BOS token's text, when the model has one.
    pub fn bos_token(&self) -> Option<&str> {
        self.bos_token.as_deref()
    }

    /// The EOS token's text, when the model has one.
    pub fn eos_token(&self) -> Option<&str> {
        self.eos_token.as_deref()
    }

    /// Whether `encode(text, true)` prepends BOS (`tokenizer.ggml.add_bos_token`).
    pub fn adds_bos(&self) -> bool {
        self.add_bos
    }

    /// The tokenizer as HF `tokenizer.json` text, for saving next to a trained model and for
    /// fingerprinting.
    pub fn to_json(&self) -> &str {
        &self.json
    }

    /// Token ids of `text`; special tokens in the text are always recognised (llama.cpp's
    /// `parse_special = true`), and `add_special` adds BOS when the model asks for it.
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, GgufError> {
        self.tokenizer
            .encode_fast(text, add_special)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| GgufError::Tokenizer(e.to_string()))
    }

    /// Token ids of many texts, encoded in parallel.
    pub fn encode_batch(
        &self,
        texts: &[&str],
        add_special: bool,
    ) -> Result<Vec<Vec<u32>>, GgufError> {
        self.tokenizer
            .encode_batch_fast(texts.to_vec(), add_special)
            .map(|all| all.into_iter().map(|e| e.get_ids().to_vec()).collect())
            .map_err(|e| GgufError::Tokenizer(e.to_string()))
    }

    /// Token ids of `text` with each token's byte span in `text`.
    pub fn encode_with_offsets(&self, text: &str) -> Result<Vec<TokenSpan>, GgufError> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| GgufError::Tokenizer(e.to_string()))?;
        Ok(encoding
            .get_ids()
            .iter()
            .copied()
            .zip(encoding.get_offsets().iter().copied())
            .collect())
    }

    /// Number of tokens of `text` without BOS.
    pub fn count(&self, text: &str) -> Result<usize, GgufError> {
        Ok(self.encode(text, false)?.len())
    }

    /// The text of `ids` (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> Result<String, GgufError> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| GgufError::Tokenizer(e.to_string()))
    }

    /// Loads an HF `tokenizer.json` instead (a base model given as safetensors). BOS and EOS are
    /// not known from that file alone, so the template takes them from `tokenizer_config.json`.
    pub fn from_tokenizer_json(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let json = std::fs::read_to_string(&path).map_err(|source| GgufError::Io {
            path: path.clone(),
            source,
        })?;
        let tokenizer =
            Tokenizer::from_str(&json).map_err(|e| GgufError::UnsupportedTokenizer {
                path: path.clone(),
                detail: format!("not a tokenizer.json the tokenizers library reads: {e}"),
            })?;
        Ok(Self {
            tokenizer,
            pre: None,
            bos_token: None,
            eos_token: None,
            add_bos: false,
            json,
        })
    }
}
