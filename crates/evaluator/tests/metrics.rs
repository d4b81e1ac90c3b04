//! Every metric on hand-made cases chosen so that a wrong implementation fails: tolerance edges,
//! percentages, keyword versus embedding coverage, the accuracy share, choice extraction,
//! citation relevance, faithfulness with rounding, percentiles, and a snapshot of the full
//! scores of fixed answers.

mod common;

use common::{WordHash, citation, record};
use evaluator::metrics::{
    CoveredBy, KeyPointMatcher, check_numbers, citation_accuracy, coverage, extract_choice,
    faithfulness, is_correct, percentile,
};
use evaluator::sets::{ExpectedNumber, KeyPoint, Tolerance};
use evaluator::{ScoreSettings, score, score_choice};

fn expected(name: &str, value: f64, abs: Option<f64>, rel: Option<f64>) -> ExpectedNumber {
    ExpectedNumber {
        name: name.into(),
        value,
        tolerance: Tolerance { abs, rel },
    }
}

fn point(text: &str, keywords: &[&[&str]]) -> KeyPoint {
    KeyPoint {
        text: text.into(),
        keywords: keywords
            .iter()
            .map(|g| g.iter().map(|s| (*s).to_owned()).collect())
            .collect(),
    }
}

#[test]
fn numbers_are_right_only_within_tolerance() {
    let e = [expected("n_per_group", 3841.0, None, Some(0.005))];
    // 0.5% of 3841 is 19.2: 3,860 is inside, 3,861 outside.
    assert!(check_numbers("You need 3,860 users.", &e)[0].correct);
    assert!(!check_numbers("You need 3,861 users.", &e)[0].correct);
    assert!(check_numbers("About 3.84k per group.", &e)[0].correct);
    assert!(
        !check_numbers("About 3.8k per group.", &e)[0].correct,
        "3,800 is 1.1% off"
    );
    let none = check_numbers("You need a lot of users.", &e);
    assert!(!none[0].correct && none[0].closest.is_none());
    // A proportion stated as a percentage, and the larger of abs and rel.
    let p = [expected("power", 0.8, Some(0.01), None)];
    assert!(check_numbers("Power is 80.9%.", &p)[0].correct);
    assert!(!check_numbers("Power is 81.2%.", &p)[0].correct);
    let both = [expected("p_value", 0.0355, Some(0.0005), Some(0.02))];
    assert!(
        check_numbers("p = 0.0359", &both)[0].correct,
        "0.0004 is within abs"
    );
    assert!(
        !check_numbers("p = 0.0363", &both)[0].correct,
        "0.0008 exceeds both (rel allows 0.00071)"
    );
    // Scientific notation.
    let tiny = [expected("p_value", 0.000503, Some(0.0001), Some(0.05))];
    assert!(check_numbers("p = 5.03e-4", &tiny)[0].correct);
}

#[test]
fn key_points_are_covered_by_keywords_or_by_similar_sentences() {
    let points = [
        point(
            "A type I error is a false positive.",
            &[&["false positive"]],
        ),
        point("Peeking inflates the type I error rate.", &[]),
        point(
            "Power depends on the sample size.",
            &[&["sample size"], &["power"]],
        ),
    ];
    let answer = "It is a false positive. Peeking at results inflates the type I error rate.";
    let model = WordHash;
    let m = KeyPointMatcher::new(&model, 0.7);
    let checks = m.check(answer, &points).expect("checks");
    assert_eq!(checks[0].by, CoveredBy::Keyword);
    assert_eq!(checks[1].by, CoveredBy::Embedding, "{:?}", checks[1]);
    assert!(checks[1].best_similarity.expect("embedded") >= 0.7);
    assert!(
        !checks[2].covered,
        "both keyword groups are needed and no sentence is similar"
    );
    assert_eq!(coverage(&checks), Some(2.0 / 3.0));
    // Above the best similarity nothing is covered by embedding.
    let strict = KeyPointMatcher::new(&model, 0.999);
    assert!(!strict.check(answer, &points).expect("checks")[1].covered);
    // Without a model only keyword rules count.
    let kw = KeyPointMatcher::keywords_only()
        .check(answer, &points)
        .expect("checks");
    assert_eq!(
        kw.iter().map(|c| c.covered).collect::<Vec<_>>(),
        vec![true, false, false]
    );
    // Keyword groups are stems at word starts, not arbitrary substrings.
    let stem = point("Peeking inflates errors.", &[&["inflat"]]);
    assert!(
        KeyPointMatcher::keywords_only()
            .check("This inflation is bad.", std::slice::from_ref(&stem))
            .expect("checks")[0]
            .covered
    );
    assert!(
        !KeyPointMatcher::keywords_only()
            .check("Deflation is bad.", &[stem])
            .expect("checks")[0]
            .covered
    );
}

#[test]
fn accuracy_needs_all_numbers_and_the_key_point_share() {
    let right = check_numbers("n = 100", &[expected("n", 100.0, Some(0.5), None)]);
    let wrong = check_numbers("n = 102", &[expected("n", 100.0, Some(0.5), None)]);
    assert!(is_correct(&right, Some(0.8), 0.8));
    assert!(
        !is_correct(&right, Some(0.75), 0.8),
        "3 of 4 key points is below 80%"
    );
    assert!(!is_correct(&wrong, Some(1.0), 0.8));
    assert!(
        is_correct(&[], Some(4.0 / 5.0), 0.8),
        "4 of 5 is exactly the share"
    );
}

#[test]
fn multiple_choice_reads_letters_and_option_text() {
    let options: Vec<String> = ["0.05", "0.025", "0.01", "0.0025"]
        .iter()
        .map(|s| (*s).into())
        .collect();
    assert_eq!(extract_choice("C", &options), Some(2));
    assert_eq!(
        extract_choice("(B) because alpha is halved", &options),
        Some(1)
    );
    assert_eq!(extract_choice("The answer is D.", &options), Some(3));
    assert_eq!(extract_choice("Answer: a", &options), Some(0));
    assert_eq!(
        extract_choice("Each test runs at 0.0025 here.", &options),
        Some(3)
    );
    assert_eq!(extract_choice("I am not sure.", &options), None);
    assert_eq!(
        extract_choice("E", &options),
        None,
        "there is no fifth option"
    );
    let sets = common::shipped_sets();
    let item = &sets.multiple_choice[0];
    assert!(score_choice(item, &record(&item.id, "B")).correct);
    assert!(!score_choice(item, &record(&item.id, "A")).correct);
}

#[test]
fn citations_count_when_expected_or_covering_a_key_point() {
    let points = [point(
        "CUPED uses a pre-experiment covariate.",
        &[&["pre-experiment", "pre-period"]],
    )];
    let expected = vec!["cuped".to_owned()];
    let m = KeyPointMatcher::keywords_only();
    let cites = [
        citation("cuped", "concept", ""),
        citation("chunk-17", "chunk", "CUPED adjusts with pre-period data."),
        citation("chunk-99", "chunk", "Pizza dough needs time."),
        citation("calc", "calculator", ""),
    ];
    assert_eq!(
        citation_accuracy(&cites, &expected, &points, false, &m).expect("ok"),
        Some(0.5)
    );
    assert_eq!(
        citation_accuracy(&cites, &expected, &points, true, &m).expect("ok"),
        Some(0.75)
    );
    assert_eq!(
        citation_accuracy(&[], &expected, &points, true, &m).expect("ok"),
        None
    );
}

#[test]
fn faithfulness_counts_supported_numbers_with_their_rounding() {
    let calc = [3840.847, 0.0354885];
    let ctx = vec!["The baseline was 10% over 14 days.".to_owned()];
    let q = "How many users for 80% power?";
    // 3.8k and 3.5% are roundings of calculator values; 10% and 14 come from the context; 80%
    // from the question; 12 is unsupported. List markers are not claims.
    let a = "1. You need 3.8k users.\n2. p is 3.5%, baseline 10%, 14 days, 80% power, 12 variants.";
    let f = faithfulness(a, q, &calc, &ctx).expect("numbers stated");
    assert!((f - 5.0 / 6.0).abs() < 1e-12, "{f}");
    assert_eq!(faithfulness("No numbers here.", q, &calc, &ctx), None);
    assert_eq!(
        faithfulness("p = 0.036", q, &calc, &ctx),
        Some(0.0),
        "0.036 is not 0.0355 rounded"
    );
}

#[test]
fn percentiles_interpolate_like_numpy() {
    let v = [10.0, 20.0, 30.0, 40.0, 100.0];
    assert_eq!(percentile(&v, 50.0), Some(30.0));
    // numpy.percentile([10,20,30,40,100], 95) = 88.0
    assert!((percentile(&v, 95.0).expect("non-empty") - 88.0).abs() < 1e-12);
    assert_eq!(percentile(&[], 50.0), None);
}

#[test]
fn scores_of_fixed_answers_snapshot() {
    let sets = common::shipped_sets();
    let item = sets
        .curated
        .iter()
        .find(|i| i.id == "calc-r01")
        .expect("calc-r01");
    let model = WordHash;
    let m = KeyPointMatcher::new(&model, 0.5);
    let mut good = record(
        &item.id,
        "The chi-square goodness-of-fit test gives chi-square = 12.10 and p = 0.000503, below the 0.001 threshold: there is a sample ratio mismatch, so investigate before trusting the results.",
    );
    good.citations = vec![
        citation("sample-ratio-mismatch", "concept", ""),
        citation("x", "chunk", "Unrelated."),
    ];
    good.calculator_numbers = vec![12.1, 0.000503];
    good.cost_usd = 0.0004;
    let mut bad = record(
        &item.id,
        "The split looks fine, p = 0.27, no action needed.",
    );
    bad.configuration = "base".into();
    let settings = ScoreSettings::default();
    let scores = vec![
        score(item, &good, &m, &settings).expect("scores"),
        score(item, &bad, &m, &settings).expect("scores"),
    ];
    assert!(scores[0].correct && !scores[1].correct);
    // Floats are rounded to 6 digits so the snapshot does not depend on the last bits.
    let mut value = serde_json::to_value(&scores).expect("json");
    round_floats(&mut value);
    insta::assert_json_snapshot!(value);
}

fn round_floats(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().expect("f64");
            *v = serde_json::json!((x * 1e6).round() / 1e6);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round_floats),
        serde_json::Value::Object(o) => o.values_mut().for_each(round_floats),
        _ => {}
    }
}
