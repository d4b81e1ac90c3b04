//! The shipped sets of `data/eval`: their sizes and category mix, their consistency with the
//! knowledge base and the calculator, and that the metrics separate right answers from wrong
//! ones on them.

mod common;

use std::collections::BTreeMap;

use common::{root, shipped_sets};
use evaluator::metrics::KeyPointMatcher;
use evaluator::{Category, ScoreSettings};

#[test]
fn curated_set_has_the_issue_mix_and_sizes() {
    let sets = shipped_sets();
    let mut counts: BTreeMap<Category, usize> = BTreeMap::new();
    for i in &sets.curated {
        *counts.entry(i.category).or_default() += 1;
    }
    assert_eq!(counts.get(&Category::Definition), Some(&20));
    assert_eq!(counts.get(&Category::Calculation), Some(&30));
    assert_eq!(counts.get(&Category::Methodology), Some(&30));
    assert_eq!(counts.get(&Category::BestPractice), Some(&20));
    assert!(sets.multihop.len() >= 30, "{}", sets.multihop.len());
    assert!(
        sets.multiple_choice.len() >= 40,
        "{}",
        sets.multiple_choice.len()
    );
    assert!(sets.calibration.len() >= 50, "{}", sets.calibration.len());
    let covered = sets.calibration.iter().filter(|p| p.covered).count();
    assert!(
        covered * 3 > sets.calibration.len() && covered * 3 < 2 * sets.calibration.len(),
        "the calibration labels must be balanced enough to choose a threshold: {covered} covered"
    );
    // Every calculation family the issue names is present.
    let kinds: std::collections::BTreeSet<&str> = sets
        .curated
        .iter()
        .filter_map(|i| i.calc.as_ref()?.get("kind")?.as_str())
        .collect();
    for k in [
        "sample_size_proportions",
        "sample_size_means",
        "power_proportions",
        "mde_proportions",
        "duration",
        "proportion_ci",
        "proportion_diff_ci",
        "two_proportion_z",
        "t_test",
        "chi_square",
        "adjust",
        "srm",
        "cuped_sample_size",
        "sequential_boundaries",
    ] {
        assert!(kinds.contains(k), "no calculation of kind {k}");
    }
}

#[test]
fn every_expected_number_equals_what_stats_computes() {
    let sets = shipped_sets();
    let problems = evaluator::sets::check_calculations(&sets, &root().join("data/eval"));
    assert!(problems.is_empty(), "{problems:#?}");
    let calcs = sets.curated.iter().filter(|i| i.calc.is_some()).count();
    assert_eq!(calcs, 30);
}

#[test]
fn concepts_exist_paths_follow_relations_and_no_question_is_copied() {
    let sets = shipped_sets();
    let kb = knowledge::load(root().join("data/knowledge"))
        .expect("knowledge loads")
        .into_result()
        .expect("knowledge is valid");
    let problems = evaluator::sets::check_against_knowledge(&sets, &root().join("data/eval"), &kb);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn reference_answers_score_correct_and_shuffled_ones_do_not() {
    let sets = shipped_sets();
    let matcher = KeyPointMatcher::keywords_only();
    let settings = ScoreSettings::default();
    let refs = evaluator::reference_records(&sets, "reference");
    let scored = evaluator::score_all(&sets, &refs, &matcher, &settings).expect("scores");
    let wrong: Vec<&str> = scored
        .scores
        .iter()
        .filter(|s| !s.correct)
        .map(|s| s.question_id.as_str())
        .collect();
    assert!(
        wrong.is_empty(),
        "reference answers judged wrong: {wrong:?}"
    );

    // Answer each question with the reference of the next question in the same category: the
    // topic is similar, the content is not, and the metrics must say so.
    let mut shuffled = Vec::new();
    let all: Vec<&evaluator::Item> = sets.curated.iter().chain(&sets.multihop).collect();
    for (i, item) in all.iter().enumerate() {
        let other = all[i + 1..]
            .iter()
            .chain(all[..i].iter())
            .find(|o| o.category == item.category)
            .expect("another item in the category");
        shuffled.push(common::record(&item.id, &other.reference_answer));
    }
    let scored = evaluator::score_all(&sets, &shuffled, &matcher, &settings).expect("scores");
    let correct = scored.scores.iter().filter(|s| s.correct).count();
    assert!(
        correct * 20 <= scored.scores.len(),
        "{correct} of {} mismatched answers judged correct; the keyword rules are too loose",
        scored.scores.len()
    );
}

#[test]
fn a_broken_line_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in [
        "curated.jsonl",
        "multihop.jsonl",
        "multiple_choice.jsonl",
        "keypoint_calibration.jsonl",
    ] {
        std::fs::copy(root().join("data/eval").join(f), dir.path().join(f)).expect("copy");
    }
    let path = dir.path().join("multiple_choice.jsonl");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("{\"id\": \"mc-bad\", \"category\": \"definition\"}\n");
    text.push_str(
        &text
            .lines()
            .next()
            .expect("a line")
            .replace("\"answer\": \"B\"", "\"answer\": \"Q\""),
    );
    text.push('\n');
    std::fs::write(&path, text).expect("write");
    let err = evaluator::sets::load(dir.path()).expect_err("broken lines must be refused");
    let evaluator::sets::SetError::Invalid { problems } = err else {
        panic!("expected Invalid, got {err:?}");
    };
    let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        rendered
            .iter()
            .any(|p| p.contains("multiple_choice.jsonl:41:") && p.contains("missing field")),
        "{rendered:#?}"
    );
    assert!(
        rendered
            .iter()
            .any(|p| p.contains("multiple_choice.jsonl:42:") && p.contains("duplicate id")),
        "{rendered:#?}"
    );
    assert!(
        rendered
            .iter()
            .any(|p| p.contains("multiple_choice.jsonl:42:") && p.contains("answer Q")),
        "{rendered:#?}"
    );
}
