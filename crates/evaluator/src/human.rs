//! Human evaluation: export the critical questions with their answers to a CSV sheet (and a
//! read-only HTML view), import the filled-in ratings, and summarise them beside the automatic
//! metrics (mean rating, share acceptable, agreement with the automatic verdict).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::HumanConfig;
use crate::metrics::Scores;
use crate::report::html_escape;

/// Why a sheet could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HumanError {
    /// Writing failed.
    #[error(
        "writing the rating sheet failed: {source}; check that the output directory is writable"
    )]
    Write {
        /// The cause.
        #[from]
        source: artifacts::ArtifactError,
    },
    /// The CSV could not be produced or parsed.
    #[error(
        "rating sheet {path}: {message}; keep the exported header and fill in the rating column only"
    )]
    Csv {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A row holds a bad rating or an unknown question.
    #[error("rating sheet {path} line {line}: {message}")]
    Row {
        /// The file.
        path: PathBuf,
        /// The 1-based line, header included.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
}

/// One row of the sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetRow {
    /// The question.
    pub question_id: String,
    /// The configuration that answered.
    pub configuration: String,
    /// Its category.
    pub category: String,
    /// The question text.
    pub question: String,
    /// The reference answer.
    pub reference_answer: String,
    /// The answer to rate.
    pub answer: String,
    /// The rating (empty in an exported sheet).
    #[serde(default)]
    pub rating: String,
    /// The rater's comment.
    #[serde(default)]
    pub comment: String,
}

/// Writes the sheet as CSV (for raters) and HTML (to read), atomically.
pub fn export(rows: &[SheetRow], csv_path: &Path, html_path: &Path) -> Result<(), HumanError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| HumanError::Csv {
            path: csv_path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| HumanError::Csv {
        path: csv_path.to_path_buf(),
        message: e.to_string(),
    })?;
    artifacts::write_atomic(csv_path, &bytes)?;
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Answers to rate</title><style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}table{border-collapse:collapse}</style></head><body>\n<h1>Answers to rate</h1><p>Rate each answer in the CSV sheet's <code>rating</code> column.</p><table><tr><th>question</th><th>configuration</th><th>question text</th><th>reference</th><th>answer</th></tr>\n",
    );
    for r in rows {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&r.question_id),
            html_escape(&r.configuration),
            html_escape(&r.question),
            html_escape(&r.reference_answer),
            html_escape(&r.answer)
        ));
    }
    html.push_str("</table></body></html>\n");
    artifacts::write_atomic(html_path, html.as_bytes())?;
    Ok(())
}

/// One imported rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The question.
    pub question_id: String,
    /// The configuration.
    pub configuration: String,
    /// The rating.
    pub rating: u8,
    /// The comment.
    pub comment: String,
}

/// Reads a filled-in sheet. Rows with an empty rating are skipped (not rated yet); a rating
/// outside the scale or a question id not in `known` is an error naming the line.
pub fn import(
    path: &Path,
    config: &HumanConfig,
    known: &BTreeSet<(String, String)>,
) -> Result<Vec<Rating>, HumanError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| HumanError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<SheetRow>().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| HumanError::Row {
            path: path.to_path_buf(),
            line,
            message: format!("{e}; keep the exported columns"),
        })?;
        let text = row.rating.trim();
        if text.is_empty() {
            continue;
        }
        let rating: u8 = text.parse().map_err(|_| HumanError::Row {
            path: path.to_path_buf(),
            line,
            message: format!(
                "rating {text:?} is not a whole number; write one from {} to {}",
                config.rating_min, config.rating_max
            ),
        })?;
        if !(config.rating_min..=config.rating_max).contains(&rating) {
            return Err(HumanError::Row {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "rating {rating} is outside {}–{}; use the scale of configs/evaluator.toml",
                    config.rating_min, config.rating_max
                ),
            });
        }
        let key = (row.configuration.clone(), row.question_id.clone());
        if !known.contains(&key) {
            return Err(HumanError::Row {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "question {} under configuration {} is not in this run; rate the sheet exported from this run",
                    row.question_id, row.configuration
                ),
            });
        }
        out.push(Rating {
            question_id: row.question_id,
            configuration: row.configuration,
            rating,
            comment: row.comment,
        });
    }
    Ok(out)
}

/// Human ratings of one configuration beside its automatic verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumanSummary {
    /// The configuration.
    pub configuration: String,
    /// Answers rated.
    pub rated: usize,
    /// Mean rating.
    pub mean_rating: Option<f64>,
    /// Share rated acceptable.
    pub acceptable_share: Option<f64>,
    /// Share the automatic metrics call correct, among the rated answers.
    pub automatic_correct_share: Option<f64>,
    /// Share where "acceptable" equals the automatic "correct".
    pub agreement_with_automatic: Option<f64>,
}

/// Summarises ratings per configuration against the automatic scores.
pub fn summarize(ratings: &[Rating], scores: &[Scores], config: &HumanConfig) -> Vec<HumanSummary> {
    let auto: BTreeMap<(&str, &str), bool> = scores
        .iter()
        .map(|s| {
            (
                (s.configuration.as_str(), s.question_id.as_str()),
                s.correct,
            )
        })
        .collect();
    let mut by_config: BTreeMap<&str, Vec<&Rating>> = BTreeMap::new();
    for r in ratings {
        by_config.entry(&r.configuration).or_default().push(r);
    }
    by_config
        .into_iter()
        .map(|(configuration, rs)| {
            let n = rs.len() as f64;
            let acceptable = |r: &Rating| r.rating >= config.acceptable_from;
            let with_auto: Vec<(bool, bool)> = rs
                .iter()
                .filter_map(|r| {
                    auto.get(&(r.configuration.as_str(), r.question_id.as_str()))
                        .map(|a| (acceptable(r), *a))
                })
                .collect();
            let m = with_auto.len() as f64;
            HumanSummary {
                configuration: configuration.to_owned(),
                rated: rs.len(),
                mean_rating: (n > 0.0)
                    .then(|| rs.iter().map(|r| f64::from(r.rating)).sum::<f64>() / n),
                acceptable_share: (n > 0.0)
                    .then(|| rs.iter().filter(|r| acceptable(r)).count() as f64 / n),
                automatic_correct_share: (m > 0.0)
                    .then(|| with_auto.iter().filter(|(_, a)| *a).count() as f64 / m),
                agreement_with_automatic: (m > 0.0)
                    .then(|| with_auto.iter().filter(|(h, a)| h == a).count() as f64 / m),
            }
        })
        .collect()
}
