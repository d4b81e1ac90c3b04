//! Round trips, schema enforcement and crash safety of artifact files.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use artifacts::*;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;

fn ts(micros: i64) -> Timestamp {
    Timestamp(micros)
}

fn post(id: i64) -> CrossValidatedPost {
    CrossValidatedPost {
        question_id: id,
        title: "How large a sample for an A/B test? ünïcödé".into(),
        body_html: "<p>Baseline is 10% &amp; I want $\\alpha=0.05$</p>".into(),
        body_text: "Baseline is 10% & I want alpha=0.05".into(),
        tags: vec!["ab-test".into(), "sample-size".into()],
        score: 42,
        view_count: 1000,
        answer_count: 2,
        is_answered: true,
        accepted_answer_id: Some(7),
        created_at: Timestamp::from_unix_seconds(1_300_000_000),
        link: format!("https://stats.stackexchange.com/q/{id}"),
        author_name: None,
        author_id: Some(3),
        license: "CC BY-SA 3.0".into(),
        answers: vec![
            CrossValidatedAnswer {
                answer_id: 7,
                body_html: "<p>Use a power analysis.</p>".into(),
                body_text: "Use a power analysis.".into(),
                score: 10,
                is_accepted: true,
                created_at: ts(1),
                author_name: Some("whuber".into()),
                author_id: Some(919),
                link: "https://stats.stackexchange.com/a/7".into(),
            },
            CrossValidatedAnswer {
                answer_id: 8,
                body_html: String::new(),
                body_text: String::new(),
                score: -1,
                is_accepted: false,
                created_at: ts(2),
                author_name: None,
                author_id: None,
                link: "https://stats.stackexchange.com/a/8".into(),
            },
        ],
        fetched_at: ts(3),
    }
}

fn paper() -> ArxivPaper {
    ArxivPaper {
        arxiv_id: "1512.04922".into(),
        version: 2,
        title: "Always Valid Inference".into(),
        abstract_text: "A/B tests are typically analyzed via p-values.".into(),
        authors: vec!["Ramesh Johari".into(), "Leonid Pekelis".into()],
        categories: vec!["math.ST".into(), "stat.ME".into()],
        primary_category: "math.ST".into(),
        published_at: ts(10),
        updated_at: ts(20),
        doi: None,
        journal_ref: Some("Operations Research".into()),
        comment: None,
        abs_url: "http://arxiv.org/abs/1512.04922v2".into(),
        pdf_url: Some("http://arxiv.org/pdf/1512.04922v2".into()),
        fetched_at: ts(30),
    }
}

fn dataset_row(i: usize, split: &str) -> DatasetRow {
    DatasetRow {
        id: format!("row-{i}"),
        messages: vec![
            ChatMessage {
                role: "system".into(),
                content: "You are Lift.".into(),
            },
            ChatMessage {
                role: "user".into(),
                content: format!("question {i}"),
            },
            ChatMessage {
                role: "assistant".into(),
                content: "answer".into(),
            },
        ],
        text: "<|im_start|>system...".into(),
        prompt_len_tokens: 20,
        total_len_tokens: 25,
        qa_type: "definition".into(),
        source: "graph".into(),
        source_id: format!("concept-{i}"),
        split: split.into(),
        license: None,
        truncated: i % 2 == 0,
    }
}

fn roundtrip<T: Artifact + PartialEq + std::fmt::Debug>(rows: Vec<T>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/a.parquet");
    let written = write_artifact(&path, &rows).unwrap();
    assert_eq!(written.rows, rows.len() as u64);
    assert_eq!(
        written.sha256,
        sha256_file(&path).unwrap(),
        "streamed hash equals file hash"
    );
    assert_eq!(written.bytes, std::fs::metadata(&path).unwrap().len());
    let header = inspect_artifact(&path).unwrap();
    assert_eq!(header.name, T::KIND.name());
    assert_eq!(header.version, T::KIND.version());
    assert_eq!(header.rows, rows.len() as u64);
    let back: Vec<T> = read_artifact(&path).unwrap();
    assert_eq!(back, rows);
}

#[test]
fn every_artifact_round_trips() {
    roundtrip(vec![post(1), post(2)]);
    roundtrip(vec![paper()]);
    roundtrip(vec![LocalDocument {
        doc_id: "abc".into(),
        root: "data/knowledge/playbook".into(),
        path: "ramp-up.md".into(),
        title: "Ramp-up schedule".into(),
        format: "markdown".into(),
        text: "# Ramp-up\n\n1% → 5%".into(),
        content_sha256: "00".repeat(32),
        modified_at: ts(5),
        size_bytes: 17,
    }]);
    roundtrip(vec![QaPair {
        qa_id: "q1".into(),
        question: "What is CUPED?".into(),
        answer: "A variance reduction method.".into(),
        qa_type: "definition".into(),
        generator: "llm".into(),
        source_kind: "arxiv".into(),
        source_id: "1512.04922".into(),
        source_url: Some("http://arxiv.org/abs/1512.04922".into()),
        source_title: None,
        license: None,
        provider: Some("anthropic".into()),
        model: Some("claude".into()),
        prompt_version: Some("v1".into()),
        prompt_hash: Some("ff".into()),
        input_tokens: Some(100),
        output_tokens: Some(50),
        cost_usd: Some(0.0012),
        calculation_json: None,
        created_at: ts(6),
    }]);
    roundtrip(vec![QaReject {
        qa_id: "q2".into(),
        question: String::new(),
        answer: String::new(),
        generator: "llm".into(),
        source_id: "x".into(),
        reason: "refusal".into(),
        detail: "As an AI".into(),
        created_at: ts(7),
    }]);
    roundtrip((0..5).map(|i| dataset_row(i, "train")).collect());
    roundtrip(vec![EvalResult {
        run_id: "r".into(),
        configuration: "base".into(),
        question_id: "def-001".into(),
        category: "definition".into(),
        question: "q".into(),
        answer: "a".into(),
        correct: false,
        numbers_correct: None,
        key_point_coverage: Some(0.5),
        rouge_l: Some(0.3),
        bleu: None,
        citation_accuracy: Some(1.0),
        faithfulness: None,
        latency_ms: 12.5,
        prompt_tokens: 10,
        completion_tokens: 20,
        cost_usd: 0.0,
    }]);
    roundtrip(vec![RunMetric {
        run_id: "run".into(),
        stage: "trainer".into(),
        step: 3,
        name: "train_loss".into(),
        value: 2.5,
        recorded_at: ts(8),
    }]);
}

#[test]
fn empty_artifact_is_valid() {
    roundtrip(Vec::<ArxivPaper>::new());
}

#[test]
fn streaming_writer_appends_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.parquet");
    let mut writer = ArtifactWriter::<DatasetRow>::create(&path).unwrap();
    for chunk in 0..3 {
        let rows: Vec<_> = (0..10)
            .map(|i| dataset_row(chunk * 10 + i, "train"))
            .collect();
        writer.write(&rows).unwrap();
    }
    assert_eq!(writer.rows_written(), 30);
    assert!(!path.exists(), "nothing is visible before finish");
    writer.finish().unwrap();
    let rows: Vec<DatasetRow> = read_artifact(&path).unwrap();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows[29].id, "row-29");
}

/// Writes a Parquet file with arbitrary columns and metadata, as a foreign or older tool would.
fn write_raw(path: &std::path::Path, columns: Vec<(&str, ArrayRef)>, metadata: &[(&str, &str)]) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let kv = metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.to_string(), v.to_string()))
        .collect();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(kv))
        .build();
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn metric_columns() -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("run_id", Arc::new(StringArray::from(vec!["r"])) as ArrayRef),
        ("stage", Arc::new(StringArray::from(vec!["trainer"]))),
        ("step", Arc::new(Int64Array::from(vec![1]))),
        ("name", Arc::new(StringArray::from(vec!["loss"]))),
        (
            "value",
            Arc::new(arrow::array::Float64Array::from(vec![1.5])),
        ),
        (
            "recorded_at",
            Arc::new(arrow::array::TimestampMicrosecondArray::from(vec![5]).with_timezone("UTC")),
        ),
    ]
}

#[test]
fn wrong_artifact_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    write_artifact(&path, &[paper()]).unwrap();
    let err = read_artifact::<RunMetric>(&path).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::WrongArtifact { expected: "run.metrics", found, .. } if found == "raw.arxiv"),
        "{err}"
    );
}

#[test]
fn file_without_metadata_is_not_an_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    write_raw(&path, metric_columns(), &[]);
    let err = read_artifact::<RunMetric>(&path).unwrap_err();
    assert!(matches!(err, ArtifactError::NotAnArtifact { .. }), "{err}");
}

#[test]
fn newer_major_version_is_refused_newer_minor_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    write_raw(
        &path,
        metric_columns(),
        &[
            ("lift.artifact", "run.metrics"),
            ("lift.schema_version", "2.0"),
        ],
    );
    let err = read_artifact::<RunMetric>(&path).unwrap_err();
    match &err {
        ArtifactError::UnsupportedVersion { found, .. } => {
            assert_eq!(*found, SchemaVersion::new(2, 0));
            assert!(err.to_string().contains("newer build"), "{err}");
        }
        other => panic!("unexpected error {other}"),
    }

    // A newer minor version may add columns; the reader skips them.
    let mut columns = metric_columns();
    columns.push(("added_in_1_1", Arc::new(StringArray::from(vec!["extra"]))));
    write_raw(
        &path,
        columns,
        &[
            ("lift.artifact", "run.metrics"),
            ("lift.schema_version", "1.1"),
        ],
    );
    let rows: Vec<RunMetric> = read_artifact(&path).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].value, 1.5);
}

#[test]
fn schema_mismatch_names_missing_and_mistyped_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    let mut columns = metric_columns();
    columns.retain(|(name, _)| *name != "name");
    // `step` written as a string instead of int64.
    columns[2] = ("step", Arc::new(StringArray::from(vec!["1"])));
    write_raw(
        &path,
        columns,
        &[
            ("lift.artifact", "run.metrics"),
            ("lift.schema_version", "1.0"),
        ],
    );
    let err = read_artifact::<RunMetric>(&path).unwrap_err();
    match &err {
        ArtifactError::SchemaMismatch {
            missing, mistyped, ..
        } => {
            assert_eq!(missing, &vec!["name".to_string()]);
            assert_eq!(
                mistyped,
                &vec![ColumnMismatch {
                    column: "step".into(),
                    expected: "int64".into(),
                    found: "string".into()
                }]
            );
        }
        other => panic!("unexpected error {other}"),
    }
    let message = err.to_string();
    assert!(message.contains("missing columns [name]"), "{message}");
    assert!(
        message.contains("step (expected int64, found string)"),
        "{message}"
    );
}

#[test]
fn truncated_file_is_a_parquet_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    write_artifact(&path, &[post(1)]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_artifact::<CrossValidatedPost>(&path).unwrap_err();
    assert!(matches!(err, ArtifactError::Parquet { .. }), "{err}");
}

#[test]
fn crash_mid_write_leaves_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.parquet");
    let old: Vec<_> = (0..3).map(|i| dataset_row(i, "train")).collect();
    let old_written = write_artifact(&path, &old).unwrap();

    // A process killed mid-write never runs destructors: emulate it by forgetting the writer
    // after it has written a batch.
    let mut writer = ArtifactWriter::<DatasetRow>::create(&path).unwrap();
    writer
        .write(&(0..100).map(|i| dataset_row(i, "val")).collect::<Vec<_>>())
        .unwrap();
    std::mem::forget(writer);

    assert_eq!(sha256_file(&path).unwrap(), old_written.sha256);
    assert_eq!(read_artifact::<DatasetRow>(&path).unwrap(), old);

    // An error path (the writer dropped without finish) cleans up after itself.
    {
        let mut writer = ArtifactWriter::<DatasetRow>::create(&path).unwrap();
        writer.write(&old).unwrap();
    }
    assert_eq!(read_artifact::<DatasetRow>(&path).unwrap(), old);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn arbitrary_metrics_round_trip(
        values in proptest::collection::vec((any::<i64>(), "[a-z_]{1,12}", -1e12f64..1e12, ".{0,40}"), 0..50)
    ) {
        let rows: Vec<RunMetric> = values
            .into_iter()
            .map(|(step, name, value, run_id)| RunMetric {
                run_id,
                stage: "trainer".into(),
                step,
                name,
                value,
                recorded_at: Timestamp(step / 2),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.parquet");
        write_artifact(&path, &rows).unwrap();
        prop_assert_eq!(read_artifact::<RunMetric>(&path).unwrap(), rows);
    }
}
