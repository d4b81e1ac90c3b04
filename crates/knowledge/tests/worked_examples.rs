//! Every `[concept.check]` in the knowledge base is recomputed by the `stats` crate: a worked
//! example whose numbers the calculator does not reproduce is a wrong answer waiting to happen.

use std::collections::BTreeMap;
use std::path::PathBuf;

use knowledge::{Concept, WorkedExample};
use stats::hypothesis::{Alternative, two_proportion_z};
use stats::intervals::{ProportionCi, proportion};
use stats::multiple::{Correction, adjust};
use stats::power::{Design, Family, Lift, MeanTest, ProportionMethod, Sides};

/// Relative tolerance for the stated values, which the knowledge base rounds to 5–9 digits.
const RELATIVE_TOLERANCE: f64 = 1e-4;

fn concepts() -> Vec<Concept> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/knowledge");
    knowledge::load(dir).unwrap().knowledge.concepts
}

fn num(map: &BTreeMap<String, toml::Value>, key: &str) -> f64 {
    match map.get(key) {
        Some(toml::Value::Float(f)) => *f,
        Some(toml::Value::Integer(i)) => *i as f64,
        other => panic!("expected a number at {key:?}, found {other:?}"),
    }
}

fn text<'a>(map: &'a BTreeMap<String, toml::Value>, key: &str, default: &'a str) -> &'a str {
    map.get(key).and_then(|v| v.as_str()).unwrap_or(default)
}

fn numbers(map: &BTreeMap<String, toml::Value>, key: &str) -> Vec<f64> {
    map.get(key)
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("expected an array at {key:?}"))
        .iter()
        .map(|v| {
            v.as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .unwrap()
        })
        .collect()
}

fn sides(params: &BTreeMap<String, toml::Value>) -> Sides {
    match text(params, "sided", "two") {
        "two" => Sides::TwoSided,
        "one" => Sides::OneSided,
        other => panic!("unknown sided {other:?}"),
    }
}

fn proportion_design(params: &BTreeMap<String, toml::Value>) -> (Design, f64) {
    let baseline = num(params, "baseline");
    let method = match text(params, "method", "pooled") {
        "pooled" => ProportionMethod::Pooled,
        "unpooled" => ProportionMethod::Unpooled,
        "arcsine" => ProportionMethod::Arcsine,
        other => panic!("unknown method {other:?}"),
    };
    let lift = if params.contains_key("mde_relative") {
        Lift::Relative(num(params, "mde_relative"))
    } else {
        Lift::Absolute(num(params, "mde_absolute"))
    };
    let design = Design {
        family: Family::Proportions { baseline, method },
        alpha: params
            .get("alpha")
            .map(|_| num(params, "alpha"))
            .unwrap_or(0.05),
        sides: sides(params),
        ratio: params
            .get("ratio")
            .map(|_| num(params, "ratio"))
            .unwrap_or(1.0),
        strict: None,
    };
    (design, lift.treatment_rate(baseline).unwrap())
}

/// Computes what `check` describes with the calculator: (name, value) pairs.
fn compute(check: &WorkedExample) -> Vec<(String, Vec<f64>)> {
    let p = &check.params;
    let one = |name: &str, value: f64| vec![(name.to_owned(), vec![value])];
    match check.calculation.as_str() {
        "sample_size_two_proportions" => {
            let (design, treatment) = proportion_design(p);
            let n = design.sample_size(treatment, num(p, "power")).unwrap();
            one("n_per_group", n.n_per_group as f64)
        }
        "power_two_proportions" => {
            let (design, treatment) = proportion_design(p);
            one(
                "power",
                design.power(treatment, num(p, "n_per_group")).unwrap(),
            )
        }
        "sample_size_two_means" => {
            let test = match text(p, "test", "t") {
                "t" => MeanTest::T,
                "z" => MeanTest::Z,
                other => panic!("unknown test {other:?}"),
            };
            let design = Design {
                family: Family::Means { test },
                alpha: num(p, "alpha"),
                sides: sides(p),
                ratio: 1.0,
                strict: None,
            };
            let d = num(p, "mde") / num(p, "sd");
            one(
                "n_per_group",
                design.sample_size(d, num(p, "power")).unwrap().n_per_group as f64,
            )
        }
        "ci_proportion" => {
            let method = match text(p, "method", "wilson") {
                "wald" => ProportionCi::Wald,
                "wilson" => ProportionCi::Wilson,
                "agresti_coull" => ProportionCi::AgrestiCoull,
                "clopper_pearson" => ProportionCi::ClopperPearson,
                "jeffreys" => ProportionCi::Jeffreys,
                other => panic!("unknown interval method {other:?}"),
            };
            let ci = proportion(num(p, "successes"), num(p, "n"), num(p, "level"), method).unwrap();
            vec![
                ("lower".into(), vec![ci.lower]),
                ("upper".into(), vec![ci.upper]),
            ]
        }
        "two_proportion_z_test" => {
            let alternative = match sides(p) {
                Sides::TwoSided => Alternative::TwoSided,
                Sides::OneSided => Alternative::Greater,
            };
            let r = two_proportion_z(
                num(p, "x1"),
                num(p, "n1"),
                num(p, "x2"),
                num(p, "n2"),
                alternative,
                true,
            )
            .unwrap();
            vec![
                ("statistic".into(), vec![r.statistic]),
                ("p_value".into(), vec![r.p_value]),
            ]
        }
        "srm_chi_square" => {
            let r = stats::srm::srm(
                &numbers(p, "observed"),
                &numbers(p, "expected_ratios"),
                0.001,
            )
            .unwrap();
            vec![
                ("statistic".into(), vec![r.statistic]),
                ("p_value".into(), vec![r.p_value]),
            ]
        }
        "cuped_variance_reduction" => {
            // The variance reduction is the share of units CUPED saves at equal power.
            let saving = stats::cuped::cuped_sample_size(1000.0, num(p, "correlation")).unwrap();
            one("variance_reduction", saving.saving)
        }
        "adjust_p_values" => {
            let method = match text(p, "method", "holm") {
                "bonferroni" => Correction::Bonferroni,
                "sidak" => Correction::Sidak,
                "holm" => Correction::Holm,
                "hochberg" => Correction::Hochberg,
                "bh" => Correction::BenjaminiHochberg,
                "by" => Correction::BenjaminiYekutieli,
                other => panic!("unknown correction {other:?}"),
            };
            let adjusted = adjust(&numbers(p, "p_values"), method, 0.05).unwrap();
            vec![("adjusted".into(), adjusted.adjusted)]
        }
        "test_duration" => {
            // Days of traffic for a given per-group size: the last step of `stats duration`.
            let n_total = num(p, "n_per_group") * num(p, "variants");
            one(
                "days",
                (n_total / (num(p, "daily_traffic") * num(p, "allocation"))).ceil(),
            )
        }
        other => {
            panic!("unknown calculation {other:?}; add it to this test and to docs/knowledge.md")
        }
    }
}

fn close(expected: f64, got: f64, integer: bool) -> bool {
    if integer {
        (expected - got).abs() <= 1.0
    } else {
        (expected - got).abs() <= RELATIVE_TOLERANCE * expected.abs().max(1e-12)
            || (expected - got).abs() <= 1e-9
    }
}

#[test]
fn every_worked_example_matches_the_calculator() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for concept in concepts() {
        let Some(check) = &concept.check else {
            continue;
        };
        for (name, got) in compute(check) {
            let expected: Vec<f64> = match check.expect.get(&name) {
                Some(toml::Value::Array(_)) => numbers(&check.expect, &name),
                Some(_) => vec![num(&check.expect, &name)],
                None => panic!("{}: check does not state {name}", concept.id),
            };
            let integer = matches!(name.as_str(), "n_per_group" | "days");
            let ok = expected.len() == got.len()
                && expected
                    .iter()
                    .zip(&got)
                    .all(|(e, g)| close(*e, *g, integer));
            if !ok {
                failures.push(format!(
                    "{} ({}): {} {name}: knowledge base says {expected:?}, stats computes {got:?}",
                    concept.id, concept.location, check.calculation
                ));
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} worked examples disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 40, "only {checked} worked examples are checked");
}
