//! Each validation rule with a case it accepts and a case it rejects.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

use synth::Candidate;
use synth::config::ValidationConfig;
use synth::validate::{
    NearDuplicateIndex, Validator, check_boilerplate, check_grounded, check_is_question,
    check_length, check_numbers_in_source, check_self_contained,
};

const Q: &str = "How many users per group do I need for a 5% baseline and a 10% relative lift?";
const A: &str = "You need 31,234 users per group to detect the lift with 80% power at alpha 0.05.";

#[test]
fn length_accepts_50_to_5000_and_rejects_outside() {
    assert_eq!(check_length(Q, A, 50, 5000), None);
    assert_eq!(
        check_length("What is CUPED?", A, 50, 5000).map(|r| r.reason),
        Some("too_short")
    );
    let long = "x".repeat(5001);
    assert_eq!(
        check_length(Q, &long, 50, 5000).map(|r| r.reason),
        Some("too_long")
    );
}

#[test]
fn question_rule_accepts_questions_and_requests_and_rejects_statements() {
    assert_eq!(check_is_question(Q), None);
    assert_eq!(
        check_is_question("calculate the sample size for baseline 5% and mde 10%"),
        None
    );
    assert_eq!(
        check_is_question("The sample size depends on the baseline and the lift.")
            .map(|r| r.reason),
        Some("not_a_question")
    );
}

#[test]
fn boilerplate_rule_rejects_refusals_and_assistant_phrases() {
    assert_eq!(check_boilerplate(Q, A), None);
    assert_eq!(
        check_boilerplate(Q, "As an AI language model, I cannot compute this.").map(|r| r.reason),
        Some("refusal_or_boilerplate")
    );
    assert_eq!(
        check_boilerplate(Q, "I’m sorry, but that is outside my scope.").map(|r| r.reason),
        Some("refusal_or_boilerplate")
    );
}

#[test]
fn grounding_accepts_overlapping_answers_and_rejects_unrelated_ones() {
    let source = "CUPED reduces the variance of a metric using pre-experiment data as a covariate.";
    assert_eq!(
        check_grounded(
            "CUPED uses pre-experiment data to reduce metric variance.",
            source,
            0.6
        ),
        None
    );
    assert_eq!(
        check_grounded(
            "Bayesian priors shrink posterior estimates toward the population mean.",
            source,
            0.6
        )
        .map(|r| r.reason),
        Some("ungrounded")
    );
}

#[test]
fn numbers_rule_flags_numbers_missing_from_the_source() {
    let source = "The study ran 12 experiments and found a 3.5% average lift on 40,000 users.";
    assert_eq!(
        check_numbers_in_source(
            "Across 12 experiments the lift averaged 3.5% on 40,000 users.",
            source
        ),
        None
    );
    let flagged = check_numbers_in_source("Across 14 experiments the lift averaged 3.5%.", source);
    assert_eq!(
        flagged.as_ref().map(|r| r.reason),
        Some("unsupported_number")
    );
    assert!(flagged.is_some_and(|r| r.detail.contains("14")));
}

#[test]
fn near_duplicate_index_finds_rephrasings_but_not_different_numbers() {
    let mut index = NearDuplicateIndex::default();
    index.insert(Q);
    assert!(
        index
            .find(
                "How many users per group do I need for a 5% baseline and a 10% relative lift",
                0.8
            )
            .is_some()
    );
    assert!(
        index
            .find(
                "How many users per group do I need for a 2% baseline and a 25% relative lift?",
                0.8
            )
            .is_none()
    );
    assert!(
        index
            .find(
                "What is the difference between CUPED and stratification in experiments?",
                0.8
            )
            .is_none()
    );
}

fn candidate(question: &str, generator: &str, source: Option<&str>) -> Candidate {
    Candidate {
        question: question.into(),
        answer: A.into(),
        qa_type: "calculation".into(),
        generator: generator.into(),
        source_kind: "calculator".into(),
        source_id: "x".into(),
        source_url: None,
        source_title: None,
        calculation_json: None,
        license: None,
        provenance: None,
        source_text: source.map(str::to_owned),
    }
}

fn config() -> ValidationConfig {
    ValidationConfig {
        min_chars: 50,
        max_chars: 5000,
        near_duplicate_jaccard: 0.8,
        min_grounding_overlap: 0.6,
    }
}

#[test]
fn validator_rejects_a_repeated_question_and_an_evaluation_question() {
    let eval = "How long should I run an A/B test with 20,000 daily visitors and a 3% baseline?";
    let mut v = Validator::new(config(), [eval]);
    assert_eq!(v.check(&candidate(Q, "calculation", None)), Ok(()));
    assert_eq!(
        v.check(&candidate(Q, "calculation", None))
            .map_err(|r| r.reason),
        Err("near_duplicate")
    );
    assert_eq!(
        v.check(&candidate(eval, "graph", None))
            .map_err(|r| r.reason),
        Err("evaluation_leak")
    );
}

#[test]
fn validator_checks_numbers_only_for_llm_pairs() {
    let source = "You need users per group to detect the lift with power at alpha.";
    let mut v = Validator::new(config(), []);
    assert_eq!(v.check(&candidate(Q, "graph", Some(source))), Ok(()));
    let other =
        "What sample size per arm do we need when the baseline conversion is 5% and lift 10%?";
    assert_eq!(
        v.check(&candidate(other, "llm", Some(source)))
            .map_err(|r| r.reason),
        Err("unsupported_number")
    );
}

#[test]
fn llm_pairs_must_be_self_contained_questions() {
    assert_eq!(check_self_contained(Q, A), None);
    // SmolLM2 echoing the prompt's instructions, as in the local-model run.
    let echoed = "What a concept from the source is. The best practices are based on research.";
    assert_eq!(
        check_self_contained(echoed, A).map(|r| r.reason),
        Some("not_a_question")
    );
    let cites = "According to the paper, CUPED subtracts a multiple of the pre-period metric.";
    assert_eq!(
        check_self_contained(Q, cites).map(|r| r.reason),
        Some("mentions_source")
    );
    // Graph pairs may be requests without a question mark; only LLM pairs get this rule.
    let request = "Explain how CUPED uses a pre-experiment covariate to reduce metric variance";
    let source = "CUPED uses a pre-experiment covariate to reduce metric variance of a test.";
    let mut v = Validator::new(config(), []);
    let mut c = candidate(request, "graph", Some(source));
    c.answer = source.to_owned();
    assert_eq!(v.check(&c), Ok(()));
    let mut c = candidate(request, "llm", Some(source));
    c.answer = source.to_owned();
    assert_eq!(v.check(&c).map_err(|r| r.reason), Err("not_a_question"));
}
