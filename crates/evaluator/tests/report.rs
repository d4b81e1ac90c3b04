//! The run report: summaries per configuration, targets met and missed, the Markdown and HTML
//! pages with their SVG plots, and `results.parquet` read back as the `eval.results` artifact.

mod common;

use artifacts::{EvalResult, read_artifact};
use common::record;
use evaluator::metrics::KeyPointMatcher;
use evaluator::report::{ReportInput, check_targets, result_rows, summarize, write_run};
use evaluator::{EvaluatorConfig, ScoreSettings};

#[test]
fn a_run_writes_report_plots_and_one_row_per_answer() {
    let sets = common::shipped_sets();
    let config =
        EvaluatorConfig::load(common::root().join("configs/evaluator.toml")).expect("config");
    // Two configurations: one answers with the references (fast), one with nothing useful (slow).
    let mut records = evaluator::reference_records(&sets, "reference");
    for r in &mut records {
        r.latency_ms = 900.0;
        r.retrieval_ms = Some(50.0);
    }
    for i in &sets.curated {
        let mut r = record(&i.id, "I do not know.");
        r.configuration = "base".into();
        r.latency_ms = 3000.0;
        r.cost_usd = 0.002;
        records.push(r);
    }
    let matcher = KeyPointMatcher::keywords_only();
    let scored =
        evaluator::score_all(&sets, &records, &matcher, &ScoreSettings::default()).expect("scores");
    let summaries = summarize(&scored.scores);
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].configuration, "reference");
    assert_eq!(summaries[0].overall.share(), Some(1.0));
    assert_eq!(summaries[1].overall.correct, 0);
    assert_eq!(
        summaries[1].per_category.get("multi_hop"),
        None,
        "base answered no multi-hop question"
    );
    let base_targets = check_targets(&summaries[1], &config.targets);
    let missed: Vec<&str> = base_targets
        .iter()
        .filter(|t| t.met == Some(false))
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        missed.contains(&"overall accuracy (curated)")
            && missed.contains(&"end-to-end latency p95")
            && missed.contains(&"cost per query"),
        "{missed:?}"
    );
    assert!(
        base_targets
            .iter()
            .any(|t| t.name == "multi-hop" && t.met.is_none())
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let notes = vec!["test run".to_owned()];
    let input = ReportInput {
        run_id: "test-run",
        scores: &scored.scores,
        targets: &config.targets,
        threshold: config.key_points.threshold,
        calibration_agreement: config.key_points.calibration_agreement,
        human: &[],
        judge: &[],
        notes: &notes,
    };
    let rows = result_rows("test-run", &scored.scores, &scored.texts, &scored.tokens);
    let files = write_run(dir.path(), &input, &rows).expect("writes");
    let back: Vec<EvalResult> =
        read_artifact(&files.results).expect("results.parquet reads as eval.results");
    assert_eq!(back.len(), records.len());
    assert_eq!(back, rows);
    let calc = back
        .iter()
        .find(|r| r.configuration == "base" && r.question_id == "calc-s01")
        .expect("row");
    assert_eq!(calc.numbers_correct, Some(false));
    assert_eq!(calc.answer, "I do not know.");
    assert!(calc.question.starts_with("Our checkout converts at 5%"));

    let md = std::fs::read_to_string(&files.markdown).expect("md");
    assert!(md.contains("| reference | 100.0% |"), "{md}");
    assert!(md.contains("**missed**"));
    assert!(
        md.contains("key points not covered"),
        "failures explain why"
    );
    let html = std::fs::read_to_string(&files.html).expect("html");
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "accuracy bars and latency histogram"
    );
    assert!(html.contains("Accuracy per category") && html.contains("End-to-end latency"));
    assert!(html.contains("<td class=\"missed\">missed</td>"));
}
