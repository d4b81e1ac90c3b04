//! Human rating sheets: export, import of filled-in ratings with line-numbered errors, and the
//! summary beside the automatic verdicts.

use std::collections::BTreeSet;

use evaluator::config::HumanConfig;
use evaluator::human::{SheetRow, export, import, summarize};

fn row(id: &str, config: &str, answer: &str) -> SheetRow {
    SheetRow {
        question_id: id.into(),
        configuration: config.into(),
        category: "definition".into(),
        question: "What is \"power\", really?".into(),
        reference_answer: "The probability, given a true effect, of rejecting H0.".into(),
        answer: answer.into(),
        rating: String::new(),
        comment: String::new(),
    }
}

const SCALE: HumanConfig = HumanConfig {
    rating_min: 1,
    rating_max: 5,
    acceptable_from: 4,
};

#[test]
fn exported_sheets_round_trip_and_ratings_are_summarised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = vec![
        row("def-002", "a", "Power, with a comma, and\na newline."),
        row("def-003", "a", "x"),
        row("def-002", "b", "y"),
    ];
    let csv = dir.path().join("rate.csv");
    export(&rows, &csv, &dir.path().join("rate.html")).expect("exports");
    let html = std::fs::read_to_string(dir.path().join("rate.html")).expect("html");
    assert!(html.contains("&quot;power&quot;"), "HTML is escaped");
    // A rater fills in two of three rows.
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut filled: Vec<SheetRow> = reader.deserialize().map(|r| r.expect("row")).collect();
    assert_eq!(filled[0].answer, "Power, with a comma, and\na newline.");
    filled[0].rating = "5".into();
    filled[2].rating = "2".into();
    let mut w = csv::Writer::from_path(&csv).expect("writer");
    for r in &filled {
        w.serialize(r).expect("row");
    }
    w.flush().expect("flush");
    let known: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.configuration.clone(), r.question_id.clone()))
        .collect();
    let ratings = import(&csv, &SCALE, &known).expect("imports");
    assert_eq!(ratings.len(), 2);
    let scores = vec![
        score("def-002", "a", true),
        score("def-003", "a", false),
        score("def-002", "b", true),
    ];
    let s = summarize(&ratings, &scores, &SCALE);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].rated, s[0].mean_rating, s[0].agreement_with_automatic),
        (1, Some(5.0), Some(1.0))
    );
    assert_eq!(
        (s[1].acceptable_share, s[1].agreement_with_automatic),
        (Some(0.0), Some(0.0)),
        "rated 2 but automatically correct"
    );
}

#[test]
fn bad_ratings_and_unknown_questions_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("rate.csv");
    let mut bad = row("def-002", "a", "x");
    bad.rating = "7".into();
    let mut w = csv::Writer::from_path(&csv).expect("writer");
    w.serialize(row("def-003", "a", "x")).expect("row");
    w.serialize(&bad).expect("row");
    w.flush().expect("flush");
    let known: BTreeSet<(String, String)> = [
        ("a".to_owned(), "def-002".to_owned()),
        ("a".to_owned(), "def-003".to_owned()),
    ]
    .into();
    let err = import(&csv, &SCALE, &known)
        .expect_err("7 is off the scale")
        .to_string();
    assert!(
        err.contains("line 3") && err.contains("outside 1–5"),
        "{err}"
    );
    let mut unknown = row("zzz", "a", "x");
    unknown.rating = "3".into();
    let mut w = csv::Writer::from_path(&csv).expect("writer");
    w.serialize(&unknown).expect("row");
    w.flush().expect("flush");
    let err = import(&csv, &SCALE, &known)
        .expect_err("unknown question")
        .to_string();
    assert!(err.contains("line 2") && err.contains("zzz"), "{err}");
}

fn score(id: &str, config: &str, correct: bool) -> evaluator::Scores {
    evaluator::Scores {
        question_id: id.into(),
        configuration: config.into(),
        category: "definition".into(),
        correct,
        numbers: Vec::new(),
        numbers_correct: None,
        key_points: Vec::new(),
        key_point_coverage: None,
        rouge_l: None,
        bleu: None,
        citation_accuracy: None,
        faithfulness: None,
        path_recall: None,
        chosen: None,
        latency_ms: 1.0,
        retrieval_ms: None,
        cost_usd: 0.0,
    }
}
