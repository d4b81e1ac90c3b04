//! The Arrow schema, name and version of every artifact.
//!
//! These schemas are the on-disk contract. Changing one means bumping its version here and in
//! `docs/artifacts.md` (a tidy test compares the two), and a major bump for anything an old reader
//! could not handle.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SchemaVersion;

/// A row type stored as one artifact.
pub trait Artifact: Serialize + DeserializeOwned {
    /// Which artifact the rows belong to.
    const KIND: ArtifactKind;
}

/// Every artifact the pipeline exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArtifactKind {
    /// Cross Validated questions with nested answers.
    CrossValidatedPosts,
    /// arXiv metadata and abstracts.
    ArxivPapers,
    /// Documents from local folders.
    LocalDocuments,
    /// Generated question-answer pairs.
    QaPairs,
    /// Generated pairs that failed validation.
    QaRejects,
    /// Training-ready chat rows.
    DatasetRows,
    /// Per-question evaluation results.
    EvalResults,
    /// Per-step run metrics.
    RunMetrics,
}

impl ArtifactKind {
    /// All artifacts, in pipeline order.
    pub const ALL: [ArtifactKind; 8] = [
        Self::CrossValidatedPosts,
        Self::ArxivPapers,
        Self::LocalDocuments,
        Self::QaPairs,
        Self::QaRejects,
        Self::DatasetRows,
        Self::EvalResults,
        Self::RunMetrics,
    ];

    /// The name written into each file's metadata.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CrossValidatedPosts => "raw.cross_validated",
            Self::ArxivPapers => "raw.arxiv",
            Self::LocalDocuments => "raw.local_docs",
            Self::QaPairs => "qa.pairs",
            Self::QaRejects => "qa.rejects",
            Self::DatasetRows => "dataset.rows",
            Self::EvalResults => "eval.results",
            Self::RunMetrics => "run.metrics",
        }
    }

    /// The schema version this build writes and reads.
    pub const fn version(self) -> SchemaVersion {
        match self {
            Self::CrossValidatedPosts
            | Self::ArxivPapers
            | Self::LocalDocuments
            | Self::QaPairs
            | Self::QaRejects
            | Self::DatasetRows
            | Self::EvalResults
            | Self::RunMetrics => SchemaVersion::new(1, 0),
        }
    }

    /// Where the artifact conventionally lives, relative to the artifacts root.
    pub const fn conventional_paths(self) -> &'static [&'static str] {
        match self {
            Self::CrossValidatedPosts => &["raw/cross_validated.parquet"],
            Self::ArxivPapers => &["raw/arxiv.parquet"],
            Self::LocalDocuments => &["raw/local_docs.parquet"],
            Self::QaPairs => &["qa/synthetic.parquet"],
            Self::QaRejects => &["qa/rejects.parquet"],
            Self::DatasetRows => &[
                "dataset/train.parquet",
                "dataset/val.parquet",
                "dataset/test.parquet",
            ],
            Self::EvalResults => &["eval/<run>/results.parquet"],
            Self::RunMetrics => &["runs/<id>/metrics.parquet"],
        }
    }

    /// The artifact's columns.
    pub fn fields(self) -> Vec<FieldRef> {
        let fields = match self {
            Self::CrossValidatedPosts => vec![
                req("question_id", DataType::Int64),
                req("title", DataType::Utf8),
                req("body_html", DataType::Utf8),
                req("body_text", DataType::Utf8),
                req("tags", list_of(DataType::Utf8)),
                req("score", DataType::Int64),
                req("view_count", DataType::Int64),
                req("answer_count", DataType::Int64),
                req("is_answered", DataType::Boolean),
                opt("accepted_answer_id", DataType::Int64),
                req("created_at", timestamp()),
                req("link", DataType::Utf8),
                opt("author_name", DataType::Utf8),
                opt("author_id", DataType::Int64),
                req("license", DataType::Utf8),
                req(
                    "answers",
                    list_of(DataType::Struct(Fields::from(vec![
                        req("answer_id", DataType::Int64),
                        req("body_html", DataType::Utf8),
                        req("body_text", DataType::Utf8),
                        req("score", DataType::Int64),
                        req("is_accepted", DataType::Boolean),
                        req("created_at", timestamp()),
                        opt("author_name", DataType::Utf8),
                        opt("author_id", DataType::Int64),
                        req("link", DataType::Utf8),
                    ]))),
                ),
                req("fetched_at", timestamp()),
            ],
            Self::ArxivPapers => vec![
                req("arxiv_id", DataType::Utf8),
                req("version", DataType::Int32),
                req("title", DataType::Utf8),
                req("abstract_text", DataType::Utf8),
                req("authors", list_of(DataType::Utf8)),
                req("categories", list_of(DataType::Utf8)),
                req("primary_category", DataType::Utf8),
                req("published_at", timestamp()),
                req("updated_at", timestamp()),
                opt("doi", DataType::Utf8),
                opt("journal_ref", DataType::Utf8),
                opt("comment", DataType::Utf8),
                req("abs_url", DataType::Utf8),
                opt("pdf_url", DataType::Utf8),
                req("fetched_at", timestamp()),
            ],
            Self::LocalDocuments => vec![
                req("doc_id", DataType::Utf8),
                req("root", DataType::Utf8),
                req("path", DataType::Utf8),
                req("title", DataType::Utf8),
                req("format", DataType::Utf8),
                req("text", DataType::Utf8),
                req("content_sha256", DataType::Utf8),
                req("modified_at", timestamp()),
                req("size_bytes", DataType::Int64),
            ],
            Self::QaPairs => vec![
                req("qa_id", DataType::Utf8),
                req("question", DataType::Utf8),
                req("answer", DataType::Utf8),
                req("qa_type", DataType::Utf8),
                req("generator", DataType::Utf8),
                req("source_kind", DataType::Utf8),
                req("source_id", DataType::Utf8),
                opt("source_url", DataType::Utf8),
                opt("source_title", DataType::Utf8),
                opt("license", DataType::Utf8),
                opt("provider", DataType::Utf8),
                opt("model", DataType::Utf8),
                opt("prompt_version", DataType::Utf8),
                opt("prompt_hash", DataType::Utf8),
                opt("input_tokens", DataType::Int64),
                opt("output_tokens", DataType::Int64),
                opt("cost_usd", DataType::Float64),
                opt("calculation_json", DataType::Utf8),
                req("created_at", timestamp()),
            ],
            Self::QaRejects => vec![
                req("qa_id", DataType::Utf8),
                req("question", DataType::Utf8),
                req("answer", DataType::Utf8),
                req("generator", DataType::Utf8),
                req("source_id", DataType::Utf8),
                req("reason", DataType::Utf8),
                req("detail", DataType::Utf8),
                req("created_at", timestamp()),
            ],
            Self::DatasetRows => vec![
                req("id", DataType::Utf8),
                req(
                    "messages",
                    list_of(DataType::Struct(Fields::from(vec![
                        req("role", DataType::Utf8),
                        req("content", DataType::Utf8),
                    ]))),
                ),
                req("text", DataType::Utf8),
                req("prompt_len_tokens", DataType::Int32),
                req("total_len_tokens", DataType::Int32),
                req("type", DataType::Utf8),
                req("source", DataType::Utf8),
                req("source_id", DataType::Utf8),
                req("split", DataType::Utf8),
                opt("license", DataType::Utf8),
                req("truncated", DataType::Boolean),
            ],
            Self::EvalResults => vec![
                req("run_id", DataType::Utf8),
                req("configuration", DataType::Utf8),
                req("question_id", DataType::Utf8),
                req("category", DataType::Utf8),
                req("question", DataType::Utf8),
                req("answer", DataType::Utf8),
                req("correct", DataType::Boolean),
                opt("numbers_correct", DataType::Boolean),
                opt("key_point_coverage", DataType::Float64),
                opt("rouge_l", DataType::Float64),
                opt("bleu", DataType::Float64),
                opt("citation_accuracy", DataType::Float64),
                opt("faithfulness", DataType::Float64),
                req("latency_ms", DataType::Float64),
                req("prompt_tokens", DataType::Int64),
                req("completion_tokens", DataType::Int64),
                req("cost_usd", DataType::Float64),
            ],
            Self::RunMetrics => vec![
                req("run_id", DataType::Utf8),
                req("stage", DataType::Utf8),
                req("step", DataType::Int64),
                req("name", DataType::Utf8),
                req("value", DataType::Float64),
                req("recorded_at", timestamp()),
            ],
        };
        fields.into_iter().map(Arc::new).collect()
    }

    /// The Markdown table of the artifact's columns, as `docs/artifacts.md` shows it.
    pub fn describe_markdown(self) -> String {
        let mut out = format!(
            "### `{}` (schema version {})\n\nPaths: {}\n\n| column | type | nullable |\n|---|---|---|\n",
            self.name(),
            self.version(),
            self.conventional_paths()
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for field in self.fields() {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                field.name(),
                display_type(field.data_type()),
                if field.is_nullable() { "yes" } else { "no" }
            ));
        }
        out
    }
}

/// A compact, stable rendering of an Arrow type, used in docs and error messages.
pub fn display_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, {tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        DataType::List(item) | DataType::LargeList(item) => {
            format!("list<{}>", display_type(item.data_type()))
        }
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), display_type(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn req(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, false)
}

fn opt(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, true)
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, false)))
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}
