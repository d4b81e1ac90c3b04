//! Formatting: each pair becomes a system/user/assistant conversation, rendered with the model's
//! chat template and counted with the model's tokenizer, with the truncation policy applied to
//! conversations over the token limit.

use std::collections::BTreeMap;

use artifacts::{ChatMessage, DatasetRow};
use gguf::{ChatTemplate, GgufTokenizer, TemplateMessage};

use crate::DatasetError;
use crate::config::{FormatConfig, TruncationPolicy};
use crate::input::Pair;

/// The model side of formatting: template, tokenizer and settings.
pub struct Formatter<'a> {
    template: &'a ChatTemplate,
    tokenizer: &'a GgufTokenizer,
    config: &'a FormatConfig,
    extra: BTreeMap<String, serde_json::Value>,
}

/// What happened to one pair.
#[derive(Debug, Clone, PartialEq)]
pub enum Formatted {
    /// The row, truncated or not.
    Row(DatasetRow),
    /// Dropped by the rule named.
    Dropped(&'static str),
}

impl<'a> Formatter<'a> {
    /// A formatter over a loaded template and tokenizer.
    pub fn new(
        template: &'a ChatTemplate,
        tokenizer: &'a GgufTokenizer,
        config: &'a FormatConfig,
    ) -> Self {
        let mut extra = BTreeMap::new();
        extra.insert(
            "date_string".to_owned(),
            serde_json::Value::String(config.date_string.clone()),
        );
        Self {
            template,
            tokenizer,
            config,
            extra,
        }
    }

    /// The conversation of a pair: the configured system prompt (when not empty), the question
    /// and the answer.
    pub fn messages(&self, question: &str, answer: &str) -> Vec<TemplateMessage> {
        let mut messages = Vec::with_capacity(3);
        if !self.config.system_prompt.trim().is_empty() {
            messages.push(TemplateMessage::new(
                "system",
                self.config.system_prompt.trim(),
            ));
        }
        messages.push(TemplateMessage::new("user", question));
        messages.push(TemplateMessage::new("assistant", answer));
        messages
    }

    /// Renders the full conversation and the prompt (everything before the answer, ending with
    /// the generation prompt).
    pub fn render(&self, messages: &[TemplateMessage]) -> Result<(String, String), DatasetError> {
        let text = self.template.render_with(messages, false, &self.extra)?;
        let prompt =
            self.template
                .render_with(&messages[..messages.len() - 1], true, &self.extra)?;
        Ok((text, prompt))
    }

    /// Formats many pairs, tokenizing in parallel batches; `splits` gives each pair's split.
    pub fn format_all(
        &self,
        pairs: &[&Pair],
        splits: &[&str],
    ) -> Result<Vec<Formatted>, DatasetError> {
        let mut rendered = Vec::with_capacity(pairs.len());
        for pair in pairs {
            let messages = self.messages(&pair.question, &pair.answer);
            let (text, prompt) = self.render(&messages)?;
            if !text.starts_with(&prompt) {
                return Err(DatasetError::PromptNotPrefix {
                    id: pair.id.clone(),
                });
            }
            rendered.push((messages, text, prompt));
        }
        let texts: Vec<&str> = rendered.iter().map(|(_, t, _)| t.as_str()).collect();
        let prompts: Vec<&str> = rendered.iter().map(|(_, _, p)| p.as_str()).collect();
        let text_ids = self.tokenizer.encode_batch(&texts, false)?;
        let prompt_ids = self.tokenizer.encode_batch(&prompts, false)?;
        let mut out = Vec::with_capacity(pairs.len());
        for (i, pair) in pairs.iter().enumerate() {
            let (messages, text, _) = &rendered[i];
            let (total, prompt_len) = (text_ids[i].len(), prompt_ids[i].len());
            let max = self.config.max_total_tokens;
            if total <= max {
                out.push(Formatted::Row(row(
                    pair, splits[i], messages, text, prompt_len, total, false,
                )));
                continue;
            }
            if prompt_len + self.config.min_answer_tokens > max {
                out.push(Formatted::Dropped("prompt_too_long"));
                continue;
            }
            match self.config.truncation {
                TruncationPolicy::Drop => out.push(Formatted::Dropped("too_many_tokens")),
                TruncationPolicy::TruncateAnswer => {
                    out.push(self.truncate(pair, splits[i], prompt_len, total)?);
                }
            }
        }
        Ok(out)
    }

    /// Cuts the answer at a token boundary until the rendered conversation fits.
    fn truncate(
        &self,
        pair: &Pair,
        split: &str,
        prompt_len: usize,
        total: usize,
    ) -> Result<Formatted, DatasetError> {
        let max = self.config.max_total_tokens;
        let answer_tokens = self.tokenizer.encode_with_offsets(&pair.answer)?;
        // Tokens the template adds after the answer (end-of-turn markers).
        let overhead = total.saturating_sub(prompt_len + answer_tokens.len());
        let mut keep = max
            .saturating_sub(prompt_len + overhead)
            .min(answer_tokens.len());
        while keep >= self.config.min_answer_tokens && keep > 0 {
            let mut cut = answer_tokens[keep - 1].1.1.min(pair.answer.len());
            while !pair.answer.is_char_boundary(cut) {
                cut -= 1;
            }
            let answer = pair.answer[..cut].trim_end();
            let messages = self.messages(&pair.question, answer);
            let (text, prompt) = self.render(&messages)?;
            let total = self.tokenizer.count(&text)?;
            if total <= max {
                let prompt_len = self.tokenizer.count(&prompt)?;
                return Ok(Formatted::Row(row(
                    pair, split, &messages, &text, prompt_len, total, true,
                )));
            }
            // Re-tokenizing at the cut can merge differently; step back by the excess.
            keep = keep.saturating_sub((total - max).max(1));
        }
        Ok(Formatted::Dropped("prompt_too_long"))
    }
}

fn row(
    pair: &Pair,
    split: &str,
    messages: &[TemplateMessage],
    text: &str,
    prompt_len: usize,
    total: usize,
    truncated: bool,
) -> DatasetRow {
    DatasetRow {
        id: pair.id.clone(),
        messages: messages
            .iter()
            .map(|m| ChatMessage {
                role: m.role.clone(),
                content: m.content.clone(),
            })
            .collect(),
        text: text.to_owned(),
        prompt_len_tokens: i32::try_from(prompt_len).unwrap_or(i32::MAX),
        total_len_tokens: i32::try_from(total).unwrap_or(i32::MAX),
        qa_type: pair.qa_type.clone(),
        source: pair.source.clone(),
        source_id: pair.source_id.clone(),
        split: split.to_owned(),
        license: pair.license.clone(),
        truncated,
    }
}
