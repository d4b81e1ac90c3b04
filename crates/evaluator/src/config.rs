//! `configs/evaluator.toml`: where the sets are, the calibrated key-point threshold, the share of
//! key points a correct answer covers, the targets the report compares against, and the human
//! evaluation settings. Parsed strictly (unknown keys are errors) and validated.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read evaluator config {path}: {source}; pass --config or create configs/evaluator.toml"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error(
        "evaluator config {path} is not valid: {message}; compare it with configs/evaluator.toml in the repository"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range.
    #[error("evaluator config field {field} is {got}, but it must be {expected}; correct it")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value found.
        got: String,
        /// What is allowed.
        expected: &'static str,
    },
}

/// Key-point coverage settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPointConfig {
    /// Cosine similarity at or above which an answer sentence covers a key point; chosen by
    /// `evaluator calibrate` on `keypoint_calibration.jsonl`.
    pub threshold: f32,
    /// Agreement of that threshold with the human labels, as calibration reported it.
    pub calibration_agreement: f64,
    /// Share of key points a correct answer covers.
    pub share: f64,
}

/// The targets the report is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Overall accuracy on the curated set.
    pub overall: f64,
    /// Definitions.
    pub definition: f64,
    /// Methodology.
    pub methodology: f64,
    /// Calculations.
    pub calculation: f64,
    /// Best practices.
    pub best_practice: f64,
    /// The multi-hop set.
    pub multi_hop: f64,
    /// Multiple choice.
    pub multiple_choice: f64,
    /// Share of relevant citations.
    pub citation_accuracy: f64,
    /// Retrieval latency, p95, milliseconds.
    pub retrieval_ms: f64,
    /// End-to-end latency, p95, milliseconds.
    pub end_to_end_ms: f64,
    /// Cost per query, US dollars.
    pub cost_per_query_usd: f64,
}

impl Targets {
    /// The accuracy target of a category, when there is one.
    pub fn for_category(&self, category: &str) -> Option<f64> {
        match category {
            "definition" => Some(self.definition),
            "methodology" => Some(self.methodology),
            "calculation" => Some(self.calculation),
            "best_practice" => Some(self.best_practice),
            "multi_hop" => Some(self.multi_hop),
            "multiple_choice" => Some(self.multiple_choice),
            _ => None,
        }
    }
}

/// Human evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HumanConfig {
    /// Lowest rating on the scale.
    pub rating_min: u8,
    /// Highest rating on the scale.
    pub rating_max: u8,
    /// Ratings at or above this count as acceptable.
    pub acceptable_from: u8,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// The sets directory, relative to the workspace root.
    pub sets_dir: PathBuf,
    /// The knowledge base, for checking concept ids.
    pub knowledge_dir: PathBuf,
    /// Where runs are written (`<output_root>/<run>/`).
    pub output_root: PathBuf,
    /// Key points.
    pub key_points: KeyPointConfig,
    /// Targets.
    pub targets: Targets,
    /// Human evaluation.
    pub human: HumanConfig,
    /// The optional LLM judge (`evaluator judge`).
    #[serde(default)]
    pub judge: JudgeConfig,
}

/// The optional LLM judge's settings. The model comes from the `llm` config's backends; the
/// key of a hosted one from its environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeConfig {
    /// `anthropic` or `openai_compatible`.
    pub provider: String,
    /// The model name the backend knows.
    pub model: String,
    /// The backend's base URL.
    pub base_url: String,
    /// The rubric file.
    pub rubric: PathBuf,
    /// Hard cap on what one `evaluator judge` run may spend, in USD.
    pub max_usd: f64,
    /// Tokens per reply.
    pub max_tokens: u32,
    /// Where replies are cached (a rerun of the same answers costs nothing).
    pub cache_dir: PathBuf,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            provider: "anthropic".into(),
            model: "claude-haiku-4-5".into(),
            base_url: "https://api.anthropic.com".into(),
            rubric: PathBuf::from("configs/prompts/judge.v1.toml"),
            max_usd: 0.50,
            max_tokens: 300,
            cache_dir: PathBuf::from("artifacts/cache/judge"),
        }
    }
}

fn unit(field: &'static str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field,
            got: v.to_string(),
            expected: "a share between 0 and 1",
        })
    }
}

fn positive(field: &'static str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field,
            got: v.to_string(),
            expected: "a positive number",
        })
    }
}

impl EvaluatorConfig {
    /// Parses TOML text (`path` is only for messages) and validates it.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let c: EvaluatorConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and validates the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let k = &self.key_points;
        if !(k.threshold.is_finite() && (-1.0..=1.0).contains(&k.threshold)) {
            return Err(ConfigError::Invalid {
                field: "key_points.threshold",
                got: k.threshold.to_string(),
                expected: "a cosine similarity between -1 and 1",
            });
        }
        unit("key_points.calibration_agreement", k.calibration_agreement)?;
        unit("key_points.share", k.share)?;
        if k.share == 0.0 {
            return Err(ConfigError::Invalid {
                field: "key_points.share",
                got: "0".into(),
                expected: "above 0 (a correct answer covers some key points)",
            });
        }
        let t = &self.targets;
        for (f, v) in [
            ("targets.overall", t.overall),
            ("targets.definition", t.definition),
            ("targets.methodology", t.methodology),
            ("targets.calculation", t.calculation),
            ("targets.best_practice", t.best_practice),
            ("targets.multi_hop", t.multi_hop),
            ("targets.multiple_choice", t.multiple_choice),
            ("targets.citation_accuracy", t.citation_accuracy),
        ] {
            unit(f, v)?;
        }
        positive("targets.retrieval_ms", t.retrieval_ms)?;
        positive("targets.end_to_end_ms", t.end_to_end_ms)?;
        positive("targets.cost_per_query_usd", t.cost_per_query_usd)?;
        let j = &self.judge;
        if !matches!(j.provider.as_str(), "anthropic" | "openai_compatible") {
            return Err(ConfigError::Invalid {
                field: "judge.provider",
                got: j.provider.clone(),
                expected: "\"anthropic\" or \"openai_compatible\"",
            });
        }
        if !(j.max_usd.is_finite() && j.max_usd >= 0.0) {
            return Err(ConfigError::Invalid {
                field: "judge.max_usd",
                got: j.max_usd.to_string(),
                expected: "a non-negative amount in USD",
            });
        }
        if j.max_tokens == 0 || j.model.trim().is_empty() || j.base_url.trim().is_empty() {
            return Err(ConfigError::Invalid {
                field: "judge",
                got: format!(
                    "model {:?}, base_url {:?}, max_tokens {}",
                    j.model, j.base_url, j.max_tokens
                ),
                expected: "a model name, a base URL and max_tokens above 0",
            });
        }
        let h = &self.human;
        if !(h.rating_min < h.rating_max
            && (h.rating_min..=h.rating_max).contains(&h.acceptable_from))
        {
            return Err(ConfigError::Invalid {
                field: "human",
                got: format!(
                    "min {} max {} acceptable_from {}",
                    h.rating_min, h.rating_max, h.acceptable_from
                ),
                expected: "rating_min < rating_max with acceptable_from between them",
            });
        }
        Ok(())
    }
}

/// `text` (the config file) with its `threshold` and `calibration_agreement` lines replaced,
/// comments and layout kept; None when either line is missing.
pub fn with_calibration(text: &str, threshold: f32, agreement: f64) -> Option<String> {
    let mut seen = (false, false);
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with("threshold =") || t.starts_with("threshold=") {
                seen.0 = true;
                format!("threshold = {threshold:.4}")
            } else if t.starts_with("calibration_agreement") {
                seen.1 = true;
                format!("calibration_agreement = {agreement:.4}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    (seen.0 && seen.1).then(|| lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/evaluator.toml"
        ))
        .expect("configs/evaluator.toml")
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let c = EvaluatorConfig::parse(&shipped(), Path::new("evaluator.toml")).expect("valid");
        assert_eq!(c.key_points.share, 0.8);
        assert_eq!(c.targets.overall, 0.8);
    }

    #[test]
    fn unknown_keys_and_out_of_range_values_are_refused() {
        let typo = shipped().replace("share = 0.8", "shares = 0.8");
        assert!(matches!(
            EvaluatorConfig::parse(&typo, Path::new("x.toml")),
            Err(ConfigError::Parse { .. })
        ));
        let bad = shipped().replace("share = 0.8", "share = 1.5");
        assert!(matches!(
            EvaluatorConfig::parse(&bad, Path::new("x.toml")),
            Err(ConfigError::Invalid {
                field: "key_points.share",
                ..
            })
        ));
        let bad = shipped().replace("acceptable_from = 4", "acceptable_from = 9");
        assert!(matches!(
            EvaluatorConfig::parse(&bad, Path::new("x.toml")),
            Err(ConfigError::Invalid { field: "human", .. })
        ));
    }

    #[test]
    fn calibration_rewrites_only_its_two_lines() {
        let text = shipped();
        let new = with_calibration(&text, 0.4321, 0.9).expect("lines present");
        let c = EvaluatorConfig::parse(&new, Path::new("x.toml")).expect("still valid");
        assert!((c.key_points.threshold - 0.4321).abs() < 1e-6);
        assert_eq!(c.key_points.calibration_agreement, 0.9);
        assert_eq!(new.lines().count(), text.lines().count());
        assert!(with_calibration("share = 0.8\n", 0.4, 0.9).is_none());
    }
}
