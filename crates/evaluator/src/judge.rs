//! The optional LLM judge: a language model grades each answer against the question's reference
//! answer and key points with a versioned rubric (`configs/prompts/judge.*.toml`), and its
//! grades are reported beside the automatic metrics, never instead of them.
//!
//! The judge goes through the `llm` crate, so the caller decides the backend (Anthropic or an
//! OpenAI-compatible server), wraps it in [`llm::Cached`] so that a rerun costs nothing, and
//! gives it an [`llm::Budget`]: a call the budget cannot cover is refused before it is sent, and
//! the judge then stops and marks every remaining answer as not judged. Replies must be one JSON
//! object; a reply that does not parse or breaks a rule gets one repair request, then the answer
//! is marked not judged with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use llm::{
    Anthropic, AnthropicConfig, ApiKey, Budget, Cached, CallOptions, ChatModel, ChatRequest,
    Constraint, GenerationParams, HttpPolicy, LlmConfig, Message, OpenAiCompatible, OpenAiConfig,
    RateLimits, ResponseCache,
};
use serde::{Deserialize, Serialize};

use crate::config::JudgeConfig;
use crate::metrics::Scores;
use crate::record::AnswerRecord;
use crate::sets::Item;

/// What can go wrong with the rubric file.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The rubric file could not be read.
    #[error("cannot read the judge rubric {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The rubric file is not valid.
    #[error("invalid judge rubric {}: {message}", path.display())]
    Rubric {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The placeholders a rubric may use.
const PLACEHOLDERS: &[&str] = &[
    "question",
    "reference",
    "key_points",
    "expected_numbers",
    "answer",
    "error",
];

/// A versioned grading prompt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// Recorded with every verdict; a change to the text needs a new version.
    pub version: String,
    /// The system message.
    pub system: String,
    /// The user message, with `{{placeholder}}`s.
    pub user: String,
    /// The repair message sent after an unusable reply (may use `{{error}}`).
    pub repair: String,
}

impl Rubric {
    /// Reads and checks a rubric file: every placeholder is known, the user message names the
    /// question and the answer.
    pub fn load(path: &Path) -> Result<Self, JudgeError> {
        let text = std::fs::read_to_string(path).map_err(|source| JudgeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses rubric TOML (`path` is for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, JudgeError> {
        let bad = |message: String| JudgeError::Rubric {
            path: path.to_path_buf(),
            message,
        };
        let rubric: Rubric = toml::from_str(text).map_err(|e| bad(e.message().to_owned()))?;
        if rubric.version.trim().is_empty() {
            return Err(bad("`version` is empty".into()));
        }
        for (field, body) in [
            ("system", &rubric.system),
            ("user", &rubric.user),
            ("repair", &rubric.repair),
        ] {
            for name in placeholders(body) {
                if !PLACEHOLDERS.contains(&name) {
                    return Err(bad(format!(
                        "`{field}` uses the unknown placeholder {{{{{name}}}}}; known: {}",
                        PLACEHOLDERS.join(", ")
                    )));
                }
            }
        }
        for needed in ["question", "answer"] {
            if !placeholders(&rubric.user).contains(&needed) {
                return Err(bad(format!("`user` must contain {{{{{needed}}}}}")));
            }
        }
        Ok(rubric)
    }

    /// The user message for one answer.
    pub fn render(&self, item: &Item, answer: &str) -> String {
        let mut points = String::new();
        for (i, p) in item.key_points.iter().enumerate() {
            let _ = writeln!(points, "{}. {}", i + 1, p.text);
        }
        let numbers = if item.expected_numbers.is_empty() {
            "none".to_owned()
        } else {
            item.expected_numbers
                .iter()
                .map(|n| format!("{} = {}", n.name, n.value))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let values = BTreeMap::from([
            ("question", item.question.trim().to_owned()),
            ("reference", item.reference_answer.trim().to_owned()),
            ("key_points", points.trim_end().to_owned()),
            ("expected_numbers", numbers),
            ("answer", answer.trim().to_owned()),
        ]);
        fill(&self.user, &values)
    }

    fn render_repair(&self, error: &str) -> String {
        fill(&self.repair, &BTreeMap::from([("error", error.to_owned())]))
    }
}

/// The `{{name}}`s in a template, in order.
fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

fn fill(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        out.push_str(values.get(name).map_or("", String::as_str));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The judge's grade of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The question.
    pub question_id: String,
    /// The configuration that answered.
    pub configuration: String,
    /// 1 (wrong or useless) to 5 (correct and complete).
    pub score: u8,
    /// Whether the judge finds the answer correct.
    pub correct: bool,
    /// The key points (1-based, as numbered in the prompt) the judge finds stated.
    pub key_points_covered: Vec<usize>,
    /// The judge's reason, one or two sentences.
    pub rationale: String,
    /// The judge model.
    pub judge_model: String,
    /// The rubric version.
    pub rubric_version: String,
    /// What the call cost (0 for a cache hit or a local model).
    pub cost_usd: f64,
}

/// One answer's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Graded.
    Judged(Verdict),
    /// Not graded, with the reason (budget spent, the model failed, unusable replies).
    NotJudged {
        /// The question.
        question_id: String,
        /// The configuration.
        configuration: String,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The configuration the outcome belongs to.
    pub fn configuration(&self) -> &str {
        match self {
            Self::Judged(v) => &v.configuration,
            Self::NotJudged { configuration, .. } => configuration,
        }
    }
}

/// How the judge calls its model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeSettings {
    /// Tokens a reply may use.
    pub max_tokens: u32,
    /// Per call.
    pub timeout: Duration,
    /// Whether to send the reply schema as a constraint (OpenAI-compatible servers enforce it;
    /// the Anthropic API refuses one, so its replies are only validated).
    pub constrain: bool,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        Self {
            max_tokens: 300,
            timeout: Duration::from_secs(120),
            constrain: false,
        }
    }
}

impl JudgeSettings {
    /// The settings `config` implies.
    pub fn for_config(config: &JudgeConfig) -> Self {
        Self {
            max_tokens: config.max_tokens,
            constrain: config.provider == "openai_compatible",
            ..Self::default()
        }
    }
}

/// The JSON shape replies must have; backends that enforce schemas get it as a constraint.
pub fn reply_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "correct": {"type": "boolean"},
            "key_points_covered": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "rationale": {"type": "string"}
        },
        "required": ["score", "correct", "key_points_covered", "rationale"],
        "additionalProperties": false
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    score: i64,
    correct: bool,
    key_points_covered: Vec<i64>,
    rationale: String,
}

/// What a usable reply says.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// 1 to 5.
    pub score: u8,
    /// Correct or not.
    pub correct: bool,
    /// 1-based key point numbers, sorted, without repeats.
    pub key_points_covered: Vec<usize>,
    /// Why.
    pub rationale: String,
}

/// Reads a reply: one JSON object (a code fence around it is tolerated), with a score from 1 to
/// 5, key point numbers that exist, and a non-empty rationale of at most 1,000 characters.
pub fn parse_reply(text: &str, key_points: usize) -> Result<Grade, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    let reply: Reply =
        serde_json::from_str(body).map_err(|e| format!("the reply is not the JSON object: {e}"))?;
    let score = u8::try_from(reply.score)
        .ok()
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| format!("score must be an integer from 1 to 5, got {}", reply.score))?;
    let mut covered = Vec::new();
    for n in reply.key_points_covered {
        let index = usize::try_from(n)
            .ok()
            .filter(|&i| (1..=key_points).contains(&i))
            .ok_or_else(|| {
                format!("key_points_covered holds {n}, but the key points are numbered 1 to {key_points}")
            })?;
        covered.push(index);
    }
    covered.sort_unstable();
    covered.dedup();
    let rationale = reply.rationale.trim().to_owned();
    if rationale.is_empty() || rationale.chars().count() > 1000 {
        return Err("rationale must be one or two sentences (1 to 1,000 characters)".into());
    }
    Ok(Grade {
        score,
        correct: reply.correct,
        key_points_covered: covered,
        rationale,
    })
}

/// Grades answers one at a time, in order. An answer whose item is missing from `items` is not
/// judged. When the budget refuses a call, that answer and every later one are not judged and
/// no further call is made; other failures affect only their own answer.
pub async fn judge_all(
    model: &dyn ChatModel,
    rubric: &Rubric,
    items: &BTreeMap<String, &Item>,
    records: &[AnswerRecord],
    settings: JudgeSettings,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(records.len());
    let mut stopped: Option<String> = None;
    for record in records {
        let not_judged = |reason: String| Outcome::NotJudged {
            question_id: record.question_id.clone(),
            configuration: record.configuration.clone(),
            reason,
        };
        if let Some(reason) = &stopped {
            outcomes.push(not_judged(reason.clone()));
            continue;
        }
        let Some(item) = items.get(&record.question_id) else {
            outcomes.push(not_judged(format!(
                "no curated or multi-hop item {} (multiple-choice answers are scored exactly)",
                record.question_id
            )));
            continue;
        };
        match judge_one(model, rubric, item, record, settings).await {
            Ok(verdict) => outcomes.push(Outcome::Judged(verdict)),
            Err(Failure::Budget(message)) => {
                let reason = format!("budget: {message}");
                outcomes.push(not_judged(reason.clone()));
                stopped = Some(reason);
            }
            Err(Failure::Other(message)) => outcomes.push(not_judged(message)),
        }
    }
    outcomes
}

enum Failure {
    Budget(String),
    Other(String),
}

async fn judge_one(
    model: &dyn ChatModel,
    rubric: &Rubric,
    item: &Item,
    record: &AnswerRecord,
    settings: JudgeSettings,
) -> Result<Verdict, Failure> {
    let mut params = GenerationParams::greedy(settings.max_tokens);
    params.seed = Some(0);
    if settings.constrain {
        params.constraint = Some(Constraint::JsonSchema(reply_schema()));
    }
    let mut messages = vec![
        Message::system(rubric.system.trim()),
        Message::user(rubric.render(item, &record.answer_text)),
    ];
    let mut cost = 0.0;
    let mut last_error = String::new();
    // The first reply, then one repair.
    for attempt in 0..2 {
        let request = ChatRequest::new(messages.clone(), params.clone());
        let response = model
            .complete(request, CallOptions::new(settings.timeout))
            .await
            .map_err(|e| match e {
                llm::Error::BudgetExceeded { .. } => Failure::Budget(e.to_string()),
                other => Failure::Other(format!("the judge model failed: {other}")),
            })?;
        cost += response.cost_usd.unwrap_or(0.0);
        match parse_reply(&response.text, item.key_points.len()) {
            Ok(grade) => {
                return Ok(Verdict {
                    question_id: record.question_id.clone(),
                    configuration: record.configuration.clone(),
                    score: grade.score,
                    correct: grade.correct,
                    key_points_covered: grade.key_points_covered,
                    rationale: grade.rationale,
                    judge_model: model.model_id().to_owned(),
                    rubric_version: rubric.version.clone(),
                    cost_usd: cost,
                });
            }
            Err(error) => {
                last_error = error;
                if attempt == 0 {
                    messages.push(Message::assistant(response.text));
                    messages.push(Message::user(rubric.render_repair(&last_error)));
                }
            }
        }
    }
    Err(Failure::Other(format!(
        "unusable judge replies after one repair: {last_error}"
    )))
}

/// The judge's model as `config` describes it: the HTTP backend with the `llm` config's retries
/// and rate limits, a hard budget of `config.max_usd` priced from the `llm` config's table, and
/// the reply cache of `config.cache_dir`. `key` is the API key the binary read from the
/// environment (`None` for a keyless OpenAI-compatible server).
pub fn build_model(
    config: &JudgeConfig,
    llm_config: &LlmConfig,
    key: Option<ApiKey>,
) -> Result<(Arc<dyn ChatModel>, Arc<Budget>), llm::Error> {
    let budget = Budget::with_limit(llm_config.prices.clone(), config.max_usd);
    let policy = HttpPolicy {
        retry: llm_config.retry,
        limits: Some(Arc::new(RateLimits::new(
            llm_config.rate_limit(&config.provider),
        ))),
        budget: Some(Arc::clone(&budget)),
    };
    let cache = ResponseCache::open(&config.cache_dir)?;
    let model: Arc<dyn ChatModel> = match config.provider.as_str() {
        "anthropic" => {
            let key = key.ok_or_else(|| llm::Error::MissingApiKey {
                var: llm::ANTHROPIC_API_KEY_ENV.to_owned(),
            })?;
            let mut c = AnthropicConfig::new(config.base_url.clone(), config.model.clone(), key);
            c.connect_timeout = llm_config.timeouts.connect();
            Arc::new(Cached::new(Anthropic::new(c, policy)?, cache))
        }
        _ => {
            let mut c = OpenAiConfig::new(config.base_url.clone(), config.model.clone());
            c.api_key = key;
            c.connect_timeout = llm_config.timeouts.connect();
            Arc::new(Cached::new(OpenAiCompatible::new(c, policy)?, cache))
        }
    };
    Ok((model, budget))
}

/// The judge's figures for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeSummary {
    /// The configuration.
    pub configuration: String,
    /// Answers graded.
    pub judged: usize,
    /// Answers not graded (budget, failures).
    pub not_judged: usize,
    /// Mean score of the graded answers.
    pub mean_score: Option<f64>,
    /// Share the judge finds correct.
    pub judge_correct: Option<f64>,
    /// Share of graded answers where the judge and the automatic metrics agree on correctness.
    pub agreement_with_automatic: Option<f64>,
    /// What judging this configuration cost.
    pub cost_usd: f64,
}

/// Summarises outcomes per configuration, comparing with the automatic `scores`.
pub fn summarize(outcomes: &[Outcome], scores: &[Scores]) -> Vec<JudgeSummary> {
    let automatic: BTreeMap<(&str, &str), bool> = scores
        .iter()
        .map(|s| {
            (
                (s.configuration.as_str(), s.question_id.as_str()),
                s.correct,
            )
        })
        .collect();
    let mut by_config: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        by_config.entry(o.configuration()).or_default().push(o);
    }
    by_config
        .into_iter()
        .map(|(configuration, outcomes)| {
            let verdicts: Vec<&Verdict> = outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Judged(v) => Some(v),
                    Outcome::NotJudged { .. } => None,
                })
                .collect();
            let n = verdicts.len();
            let share = |count: usize, of: usize| (of > 0).then(|| count as f64 / of as f64);
            let compared: Vec<bool> = verdicts
                .iter()
                .filter_map(|v| {
                    automatic
                        .get(&(configuration, v.question_id.as_str()))
                        .map(|&auto| auto == v.correct)
                })
                .collect();
            JudgeSummary {
                configuration: configuration.to_owned(),
                judged: n,
                not_judged: outcomes.len() - n,
                mean_score: share(
                    verdicts.iter().map(|v| usize::from(v.score)).sum::<usize>(),
                    n,
                ),
                judge_correct: share(verdicts.iter().filter(|v| v.correct).count(), n),
                agreement_with_automatic: share(
                    compared.iter().filter(|&&same| same).count(),
                    compared.len(),
                ),
                cost_usd: verdicts.iter().map(|v| v.cost_usd).sum(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_strictly() {
        let ok = parse_reply(
            "```json\n{\"score\": 4, \"correct\": true, \"key_points_covered\": [2, 1, 2], \"rationale\": \"States both points.\"}\n```",
            3,
        )
        .expect("a usable reply");
        assert_eq!(ok.score, 4);
        assert_eq!(ok.key_points_covered, vec![1, 2]);
        for (reply, needle) in [
            (
                r#"{"score": 6, "correct": true, "key_points_covered": [], "rationale": "x"}"#,
                "score must be",
            ),
            (
                r#"{"score": 3, "correct": true, "key_points_covered": [4], "rationale": "x"}"#,
                "numbered 1 to 3",
            ),
            (
                r#"{"score": 3, "correct": true, "key_points_covered": [], "rationale": " "}"#,
                "rationale",
            ),
            (
                r#"{"score": 3, "correct": "yes", "key_points_covered": [], "rationale": "x"}"#,
                "not the JSON object",
            ),
            ("The answer is good.", "not the JSON object"),
        ] {
            let err = parse_reply(reply, 3).expect_err(reply);
            assert!(err.contains(needle), "{reply}: {err}");
        }
    }

    #[test]
    fn rubrics_with_unknown_placeholders_are_refused() {
        let path = Path::new("judge.toml");
        let text = "version = \"v\"\nsystem = \"s\"\nuser = \"{{question}} {{answer}} {{answr}}\"\nrepair = \"{{error}}\"\n";
        let err = Rubric::parse(text, path).expect_err("unknown placeholder");
        assert!(err.to_string().contains("answr"), "{err}");
        let text = "version = \"v\"\nsystem = \"s\"\nuser = \"{{question}}\"\nrepair = \"r\"\n";
        let err = Rubric::parse(text, path).expect_err("no answer");
        assert!(err.to_string().contains("{{answer}}"), "{err}");
    }

    #[test]
    fn templates_fill_every_placeholder() {
        let values = BTreeMap::from([("question", "Q?".to_owned()), ("answer", "A.".to_owned())]);
        assert_eq!(
            fill("q: {{question}} a: {{ answer }}.", &values),
            "q: Q? a: A.."
        );
        assert_eq!(
            placeholders("{{a}} and {{ b }} {{c"),
            vec!["a", "b"],
            "an unclosed brace is text"
        );
    }
}
