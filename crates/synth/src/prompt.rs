//! The LLM generator's prompt and its reply contract: versioned templates loaded from
//! `configs/prompts/*.toml`, the JSON schema of the reply (sent to the model, compiled into a
//! grammar for the local backend, and checked here against what came back), and the parser that
//! turns a reply into typed pairs or says precisely what is wrong with it.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::SynthError;

/// The question types a source's pairs cycle through, in order.
pub const PAIR_TYPES: &[&str] = &[
    "definition",
    "methodology",
    "comparison",
    "best_practice",
    "free",
];

/// The placeholders a template may use.
const PLACEHOLDERS: &[&str] = &[
    "source_kind",
    "title",
    "url",
    "text",
    "n",
    "types",
    "schema",
    "min_chars",
    "max_question_chars",
    "max_answer_chars",
    "error",
];

/// A prompt template file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptTemplate {
    /// The version every pair records, for example `qa_from_source.v1`.
    pub version: String,
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
    /// The follow-up message that asks for a corrected reply.
    pub repair: String,
}

/// One source to write pairs from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// `arxiv` or `cross_validated`.
    pub kind: String,
    /// The arXiv id or the question id.
    pub id: String,
    /// The public URL.
    pub url: String,
    /// The title.
    pub title: String,
    /// The text the pairs must be grounded in.
    pub text: String,
    /// The licence, when the source has one.
    pub license: Option<String>,
}

/// The values a template is rendered with, besides the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplyLimits {
    /// Pairs per source.
    pub pairs: usize,
    /// Shortest question or answer, in characters.
    pub min_chars: usize,
    /// Longest question.
    pub max_question_chars: usize,
    /// Longest answer.
    pub max_answer_chars: usize,
}

impl ReplyLimits {
    /// The required type of each pair, in order.
    pub fn types(&self) -> Vec<&'static str> {
        (0..self.pairs)
            .map(|i| PAIR_TYPES[i % PAIR_TYPES.len()])
            .collect()
    }
}

fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push(after[..end].trim());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

impl PromptTemplate {
    /// Parses a template, rejecting unknown placeholders and an empty version.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SynthError> {
        let bad = |detail: String| SynthError::Prompt {
            path: path.to_path_buf(),
            detail,
        };
        let template: Self = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if template.version.trim().is_empty() {
            return Err(bad("version is empty".into()));
        }
        for (field, body) in [
            ("system", &template.system),
            ("user", &template.user),
            ("repair", &template.repair),
        ] {
            if let Some(unknown) = placeholders(body)
                .into_iter()
                .find(|p| !PLACEHOLDERS.contains(p))
            {
                return Err(bad(format!(
                    "{field} uses the unknown placeholder {{{{{unknown}}}}}; known: {}",
                    PLACEHOLDERS.join(", ")
                )));
            }
        }
        if !placeholders(&template.user).contains(&"text") {
            return Err(bad("user never includes the source text ({{text}})".into()));
        }
        Ok(template)
    }

    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self, SynthError> {
        let text = std::fs::read_to_string(path).map_err(|e| SynthError::Prompt {
            path: path.to_path_buf(),
            detail: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text, path)
    }

    fn fill(body: &str, values: &[(&str, String)]) -> String {
        let mut out = body.trim().to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{{{name}}}}}"), value);
        }
        out
    }

    fn values(source: &Source, limits: &ReplyLimits) -> Vec<(&'static str, String)> {
        let schema =
            serde_json::to_string(&reply_schema(limits)).unwrap_or_else(|_| "{}".to_owned());
        vec![
            ("source_kind", source.kind.clone()),
            ("title", source.title.clone()),
            ("url", source.url.clone()),
            ("text", source.text.clone()),
            ("n", limits.pairs.to_string()),
            ("types", limits.types().join(", ")),
            ("schema", schema),
            ("min_chars", limits.min_chars.to_string()),
            ("max_question_chars", limits.max_question_chars.to_string()),
            ("max_answer_chars", limits.max_answer_chars.to_string()),
        ]
    }

    /// The system and user messages for `source`.
    pub fn render(&self, source: &Source, limits: &ReplyLimits) -> (String, String) {
        let values = Self::values(source, limits);
        (
            Self::fill(&self.system, &values),
            Self::fill(&self.user, &values),
        )
    }

    /// The repair message after a reply that failed with `error`.
    pub fn render_repair(&self, source: &Source, limits: &ReplyLimits, error: &str) -> String {
        let mut values = Self::values(source, limits);
        values.push(("error", error.to_owned()));
        Self::fill(&self.repair, &values)
    }
}

/// Hex SHA-256 of the rendered system and user messages.
pub fn prompt_hash(system: &str, user: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(system.as_bytes());
    hasher.update([0u8]);
    hasher.update(user.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JSON schema of a reply: `{"pairs": [...]}` with one object per pair, each with its
/// required type as a constant, so that a grammar-constrained model cannot skip a type.
pub fn reply_schema(limits: &ReplyLimits) -> Value {
    let items: Vec<Value> = limits
        .types()
        .into_iter()
        .map(|t| {
            json!({
                "type": "object",
                "properties": {
                    "type": {"const": t},
                    "question": {"type": "string", "minLength": limits.min_chars, "maxLength": limits.max_question_chars},
                    "answer": {"type": "string", "minLength": limits.min_chars, "maxLength": limits.max_answer_chars},
                },
                "required": ["type", "question", "answer"],
                "additionalProperties": false,
            })
        })
        .collect();
    json!({
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array",
                "prefixItems": items,
                "minItems": limits.pairs,
                "maxItems": limits.pairs,
            }
        },
        "required": ["pairs"],
        "additionalProperties": false,
    })
}

/// Checks `value` against the subset of JSON Schema that [`reply_schema`] uses (`type`,
/// `properties`, `required`, `additionalProperties: false`, `prefixItems`, `minItems`,
/// `maxItems`, `const`, `minLength`, `maxLength`), returning the first violation with its path.
pub fn check_schema(value: &Value, schema: &Value, path: &str) -> Result<(), String> {
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        return Err(format!("{path} must be {expected}, got {value}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return Err(format!("{path} must be an object"));
            };
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(name) {
                    return Err(format!("{path} lacks the field {name:?}"));
                }
            }
            for (name, child) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(child_schema) => {
                        check_schema(child, child_schema, &format!("{path}.{name}"))?
                    }
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{path} has the unexpected field {name:?}"));
                    }
                    None => {}
                }
            }
        }
        Some("array") => {
            let Some(array) = value.as_array() else {
                return Err(format!("{path} must be an array"));
            };
            let count = |key: &str| schema.get(key).and_then(Value::as_u64);
            if let Some(min) = count("minItems")
                && (array.len() as u64) < min
            {
                return Err(format!(
                    "{path} has {} items, fewer than {min}",
                    array.len()
                ));
            }
            if let Some(max) = count("maxItems")
                && (array.len() as u64) > max
            {
                return Err(format!("{path} has {} items, more than {max}", array.len()));
            }
            let prefix = schema.get("prefixItems").and_then(Value::as_array);
            for (i, item) in array.iter().enumerate() {
                let item_schema = prefix
                    .and_then(|p| p.get(i))
                    .or_else(|| schema.get("items"));
                if let Some(item_schema) = item_schema {
                    check_schema(item, item_schema, &format!("{path}[{i}]"))?;
                }
            }
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return Err(format!("{path} must be a string"));
            };
            let n = text.trim().chars().count() as u64;
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && n < min
            {
                return Err(format!("{path} has {n} characters, fewer than {min}"));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && n > max
            {
                return Err(format!("{path} has {n} characters, more than {max}"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// One pair of a valid reply.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct ReplyPair {
    /// Its type.
    #[serde(rename = "type")]
    pub qa_type: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// Why a reply is unusable.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The model declined (the reply is prose that reads as a refusal).
    Refusal(String),
    /// The reply is not JSON, or not valid against the schema.
    Malformed(String),
}

const REFUSALS: &[&str] = &[
    "i can't",
    "i cannot",
    "i'm sorry",
    "i am sorry",
    "i'm unable",
    "i am unable",
    "i won't",
    "as an ai",
    "i'm not able",
];

/// The JSON object in a reply: the whole text, else the span from the first `{` to the last
/// `}` (models wrap JSON in code fences or a sentence despite being told not to).
fn json_span(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

/// Parses a reply into pairs valid against `schema`.
pub fn parse_reply(text: &str, schema: &Value) -> Result<Vec<ReplyPair>, ReplyError> {
    let Some(span) = json_span(text) else {
        let lower = text.to_lowercase().replace('’', "'");
        if let Some(phrase) = REFUSALS.iter().find(|p| lower.contains(*p)) {
            let head: String = text.trim().chars().take(160).collect();
            return Err(ReplyError::Refusal(format!(
                "the model declined ({phrase:?}): {head:?}"
            )));
        }
        let head: String = text.trim().chars().take(80).collect();
        return Err(ReplyError::Malformed(format!(
            "the reply holds no JSON object (it starts {head:?})"
        )));
    };
    let value: Value = serde_json::from_str(span)
        .map_err(|e| ReplyError::Malformed(format!("the reply is not valid JSON ({e})")))?;
    check_schema(&value, schema, "$").map_err(ReplyError::Malformed)?;
    #[derive(Deserialize)]
    struct Reply {
        pairs: Vec<ReplyPair>,
    }
    let reply: Reply = serde_json::from_value(value)
        .map_err(|e| ReplyError::Malformed(format!("the reply does not fit the schema ({e})")))?;
    Ok(reply
        .pairs
        .into_iter()
        .map(|p| ReplyPair {
            qa_type: p.qa_type,
            question: p.question.trim().to_owned(),
            answer: p.answer.trim().to_owned(),
        })
        .collect())
}
