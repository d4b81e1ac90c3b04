//! Combining the inputs into one list of [`Pair`]s: Cross Validated posts (title and body with the
//! accepted answer, or else the best answer at or above a score), synth pairs, and the Q&A files a
//! user drops into a folder (JSONL or Parquet with `question` and `answer`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::DatasetError;

/// Who wrote a piece of content and where it lives: kept for the dataset card's attribution list
/// (CC BY-SA content must credit its authors and link to it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attribution {
    /// The source's title.
    pub title: Option<String>,
    /// The source's URL.
    pub url: Option<String>,
    /// Authors, in order (asker, then answerer for Cross Validated).
    pub authors: Vec<String>,
}

/// One question-answer pair on its way through the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Stable id (see [`pair_id`]).
    pub id: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// Question type.
    pub qa_type: String,
    /// `cross_validated`, a synth generator (`graph`, `calculation`, `llm`) or `user`.
    pub source: String,
    /// The source document; splits group on it.
    pub source_id: String,
    /// Licence of the content, when known.
    pub license: Option<String>,
    /// Attribution, when the source has one.
    pub attribution: Option<Attribution>,
}

/// A stable id: the first 16 hex digits of SHA-256 over source, source id and question.
pub fn pair_id(source: &str, source_id: &str, question: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [source, source_id, question] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Guesses the question type of a pair that does not carry one (Cross Validated, user files),
/// with the vocabulary synth uses, so that stratification sees the same strata everywhere.
pub fn classify_question(question: &str) -> &'static str {
    let q = question.to_lowercase();
    let first_line = q.lines().next().unwrap_or("");
    let has = |needles: &[&str]| needles.iter().any(|n| q.contains(n));
    let starts = |needles: &[&str]| {
        needles
            .iter()
            .any(|n| first_line.trim_start().starts_with(n))
    };
    if has(&[
        "sample size",
        "how many users",
        "how many samples",
        "how many participants",
        "calculate",
        "compute the",
        "power analysis",
        "how long should",
        "minimum detectable",
    ]) {
        "calculation"
    } else if has(&[
        " vs ",
        " vs. ",
        " versus ",
        "difference between",
        "compare ",
        "comparison of",
    ]) {
        "comparison"
    } else if starts(&[
        "what is",
        "what are",
        "what does",
        "what's",
        "define",
        "meaning of",
    ]) || has(&["intuition behind", "definition of"])
    {
        "definition"
    } else if starts(&[
        "should i",
        "is it ok",
        "is it okay",
        "is it valid",
        "best practice",
    ]) {
        "best_practice"
    } else if has(&[
        "how to",
        "how do i",
        "how should",
        "which test",
        "what test",
        "when to use",
    ]) {
        "methodology"
    } else {
        "free"
    }
}

/// Pairs from Cross Validated posts, with how many posts had no usable answer.
pub fn from_cross_validated(
    posts: &[artifacts::CrossValidatedPost],
    min_answer_score: i64,
) -> (Vec<Pair>, usize) {
    let mut pairs = Vec::new();
    let mut unanswered = 0;
    for post in posts {
        let accepted = post
            .answers
            .iter()
            .find(|a| a.is_accepted || post.accepted_answer_id == Some(a.answer_id));
        let answer = accepted.or_else(|| {
            post.answers
                .iter()
                .filter(|a| a.score >= min_answer_score)
                .max_by_key(|a| (a.score, std::cmp::Reverse(a.answer_id)))
        });
        let Some(answer) = answer else {
            unanswered += 1;
            continue;
        };
        let question = format!("{}\n\n{}", post.title.trim(), post.body_text.trim());
        let source_id = format!("cross_validated:{}", post.question_id);
        let authors = [post.author_name.clone(), answer.author_name.clone()]
            .into_iter()
            .flatten()
            .collect();
        pairs.push(Pair {
            id: pair_id("cross_validated", &source_id, &question),
            qa_type: classify_question(&post.title).to_owned(),
            question,
            answer: answer.body_text.clone(),
            source: "cross_validated".into(),
            source_id,
            license: Some(post.license.clone()),
            attribution: Some(Attribution {
                title: Some(post.title.clone()),
                url: Some(post.link.clone()),
                authors,
            }),
        });
    }
    (pairs, unanswered)
}

/// Pairs from synth's `qa.pairs`. Their source id is prefixed with the source kind, so that a
/// concept and a playbook page that happen to share an id are still different documents, and an
/// LLM pair made from a Cross Validated post groups with that post's own pair.
pub fn from_synth(rows: &[artifacts::QaPair]) -> Vec<Pair> {
    rows.iter()
        .map(|p| {
            let source_id = format!("{}:{}", p.source_kind, p.source_id);
            let attribution =
                (p.source_url.is_some() || p.source_title.is_some()).then(|| Attribution {
                    title: p.source_title.clone(),
                    url: p.source_url.clone(),
                    authors: Vec::new(),
                });
            Pair {
                id: p.qa_id.clone(),
                question: p.question.clone(),
                answer: p.answer.clone(),
                qa_type: p.qa_type.clone(),
                source: p.generator.clone(),
                source_id,
                license: p.license.clone(),
                attribution,
            }
        })
        .collect()
}

/// One record of a user's extra file, before it becomes a [`Pair`].
#[derive(Debug, Clone, serde::Deserialize)]
struct ExtraRecord {
    question: String,
    answer: String,
    #[serde(default, alias = "qa_type")]
    r#type: Option<String>,
    #[serde(default)]
    source_id: Option<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default, alias = "source_url")]
    url: Option<String>,
}

/// The `*.jsonl` and `*.parquet` files directly in `dir`, sorted; an absent folder has none.
pub fn extra_files(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| DatasetError::Io {
        operation: "list",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("jsonl") | Some("parquet")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Pairs from one extra file. Records without their own `source_id` are each their own group.
pub fn from_extra_file(path: &Path) -> Result<Vec<Pair>, DatasetError> {
    let records = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => read_extra_parquet(path)?,
        _ => read_extra_jsonl(path)?,
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let source_id = match r.source_id {
                Some(id) if !id.trim().is_empty() => format!("user:{stem}:{}", id.trim()),
                _ => format!("user:{stem}:{i}"),
            };
            let qa_type = r
                .r#type
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| classify_question(&r.question).to_owned());
            Pair {
                id: pair_id("user", &source_id, &r.question),
                attribution: r.url.clone().map(|url| Attribution {
                    title: None,
                    url: Some(url),
                    authors: Vec::new(),
                }),
                question: r.question,
                answer: r.answer,
                qa_type,
                source: "user".into(),
                source_id,
                license: r.license,
            }
        })
        .collect())
}

fn read_extra_jsonl(path: &Path) -> Result<Vec<ExtraRecord>, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        operation: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let mut records = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: ExtraRecord =
            serde_json::from_str(line).map_err(|e| DatasetError::ExtraFile {
                path: path.to_path_buf(),
                detail: format!("line {}: {e}", n + 1),
            })?;
        records.push(record);
    }
    Ok(records)
}

fn read_extra_parquet(path: &Path) -> Result<Vec<ExtraRecord>, DatasetError> {
    let bad = |detail: String| DatasetError::ExtraFile {
        path: path.to_path_buf(),
        detail,
    };
    let file = File::open(path).map_err(|source| DatasetError::Io {
        operation: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let question = string_column(&batch, "question")
            .map_err(&bad)?
            .ok_or_else(|| bad("no `question` column".into()))?;
        let answer = string_column(&batch, "answer")
            .map_err(&bad)?
            .ok_or_else(|| bad("no `answer` column".into()))?;
        let mut optional = BTreeMap::new();
        for name in [
            "type",
            "qa_type",
            "source_id",
            "license",
            "url",
            "source_url",
        ] {
            if let Some(col) = string_column(&batch, name).map_err(&bad)? {
                optional.insert(name, col);
            }
        }
        let pick = |names: &[&str], row: usize| -> Option<String> {
            names
                .iter()
                .find_map(|n| optional.get(n).and_then(|c| c[row].clone()))
        };
        for row in 0..batch.num_rows() {
            let (Some(q), Some(a)) = (question[row].clone(), answer[row].clone()) else {
                return Err(bad(format!("row {row}: `question` or `answer` is null")));
            };
            records.push(ExtraRecord {
                question: q,
                answer: a,
                r#type: pick(&["type", "qa_type"], row),
                source_id: pick(&["source_id"], row),
                license: pick(&["license"], row),
                url: pick(&["url", "source_url"], row),
            });
        }
    }
    Ok(records)
}

/// A string column by name as owned values, `None` when absent; any string layout is accepted.
fn string_column(batch: &RecordBatch, name: &str) -> Result<Option<Vec<Option<String>>>, String> {
    let Some(column) = batch.column_by_name(name) else {
        return Ok(None);
    };
    let values: Vec<Option<String>> = match column.data_type() {
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::Utf8View => column
            .as_string_view()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        other => {
            return Err(format!(
                "column `{name}` is {other}, expected a string column"
            ));
        }
    };
    debug_assert_eq!(values.len(), column.len());
    Ok(Some(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_types_follow_the_wording() {
        assert_eq!(classify_question("What is a p-value?"), "definition");
        assert_eq!(
            classify_question("t-test vs Mann-Whitney for skewed revenue"),
            "comparison"
        );
        assert_eq!(
            classify_question("What sample size do I need for 2% MDE?"),
            "calculation"
        );
        assert_eq!(
            classify_question("How do I analyse a switchback experiment?"),
            "methodology"
        );
        assert_eq!(
            classify_question("Should I stop my test early?"),
            "best_practice"
        );
        assert_eq!(classify_question("My results look weird"), "free");
    }
}
