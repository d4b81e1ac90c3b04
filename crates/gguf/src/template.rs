//! Chat templates: the Jinja text a model ships (`tokenizer.chat_template` in GGUF metadata, or
//! `chat_template` in an HF `tokenizer_config.json`), rendered with minijinja the way HF
//! `transformers` renders it (`trim_blocks` and `lstrip_blocks` on, `raise_exception`, Python
//! string methods through minijinja-contrib's pycompat, `bos_token`/`eos_token` in the context).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, Value};
use serde::{Deserialize, Serialize};

use crate::{GgufError, GgufFile};

const TEMPLATE_NAME: &str = "chat_template";

/// One chat turn as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The turn's text.
    pub content: String,
}

impl TemplateMessage {
    /// A turn with `role` and `content`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template with the special tokens it refers to.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    /// Compiles `source`, with the texts `bos_token` and `eos_token` put in the render context.
    pub fn new(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<Self, GgufError> {
        let source = source.into();
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| template_error("compile", &e))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<Value, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(TEMPLATE_NAME, source.clone())
            .map_err(|e| template_error("compile", &e))?;
        Ok(Self {
            env,
            source,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The template embedded in a GGUF file, with BOS and EOS taken from its vocabulary.
    pub fn from_gguf(file: &GgufFile) -> Result<Self, GgufError> {
        let source = file.get_str("tokenizer.chat_template")?;
        let tokens = file.get_string_array("tokenizer.ggml.tokens")?;
        let token = |key: &str| -> String {
            file.get(key)
                .and_then(|v| v.as_u64())
                .and_then(|id| tokens.get(id as usize))
                .map(|t| (*t).to_owned())
                .unwrap_or_default()
        };
        Self::new(
            source,
            token("tokenizer.ggml.bos_token_id"),
            token("tokenizer.ggml.eos_token_id"),
        )
    }

    /// The template of an HF `tokenizer_config.json`: `chat_template` as a string, or the entry
    /// named `default` of a list of named templates; `bos_token` and `eos_token` as strings or
    /// as added-token objects with a `content` field.
    pub fn from_tokenizer_config(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let bad = |detail: String| GgufError::TokenizerConfig {
            path: path.clone(),
            detail,
        };
        let text = std::fs::read_to_string(&path).map_err(|source| GgufError::Io {
            path: path.clone(),
            source,
        })?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not valid JSON ({e}); pass an HF tokenizer_config.json"
            ))
        })?;
        let source = match config.get("chat_template") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template"))
                .and_then(|t| t.as_str())
                .map(str::to_owned)
                .ok_or_else(|| bad("chat_template is a list without a \"default\" entry".into()))?,
            _ => {
                return Err(bad(
                    "has no chat_template; use the instruct model's tokenizer_config.json".into(),
                ));
            }
        };
        let special = |key: &str| -> String {
            match config.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(obj) => obj
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                None => String::new(),
            }
        };
        Self::new(source, special("bos_token"), special("eos_token"))
    }

    /// The template's Jinja text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The BOS text the template sees.
    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    /// The EOS text the template sees.
    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's
    /// answer would start.
    pub fn render(
        &self,
        messages: &[TemplateMessage],
        add_generation_prompt: bool,
    ) -> Result<String, GgufError> {
        self.render_with(messages, add_generation_prompt, &BTreeMap::new())
    }

    /// Renders with extra context variables (for example Llama 3's `date_string`, fixed so that
    /// training text is reproducible).
    pub fn render_with(
        &self,
        messages: &[TemplateMessage],
        add_generation_prompt: bool,
        extra: &BTreeMap<String, serde_json::Value>,
    ) -> Result<String, GgufError> {
        let mut context = serde_json::Map::new();
        for (key, value) in extra {
            context.insert(key.clone(), value.clone());
        }
        context.insert(
            "messages".into(),
            serde_json::to_value(messages).unwrap_or_default(),
        );
        context.insert(
            "add_generation_prompt".into(),
            serde_json::Value::Bool(add_generation_prompt),
        );
        context.insert("bos_token".into(), self.bos_token.clone().into());
        context.insert("eos_token".into(), self.eos_token.clone().into());
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| template_error("render", &e))?;
        template
            .render(Value::from(Serde(serde_json::Value::Object(context))))
            .map_err(|e| template_error("render", &e))
    }
}

fn template_error(operation: &'static str, error: &Error) -> GgufError {
    let mut detail = error.to_string();
    if let Some(line) = error.line() {
        detail.push_str(&format!(" (template line {line})"));
    }
    GgufError::Template { operation, detail }
}
