//! Every calculation answer is recomputed here with `stats`, from the inputs its
//! `calculation_json` records, and the answer text must state the recomputed result.

// Tests assert by unwrapping: a panic with the error is the failure report.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use stats::hypothesis::{Alternative, two_proportion_z};
use stats::intervals::{ProportionCi, proportion};
use stats::multiple::{Correction, adjust};
use stats::power::{Design, Family, Lift, MeanTest, Sides};
use synth::calc::{FAMILIES, generate, int, pct, proportions_design};

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("missing number {key} in {v}"))
}

fn fs(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("missing list {key} in {v}"))
        .iter()
        .filter_map(Value::as_f64)
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(1.0)
}

/// Recomputes one calculation; returns the key outputs and a string the answer must contain.
fn recompute(name: &str, i: &Value) -> (Vec<(&'static str, f64)>, String) {
    let two = i["two_sided"].as_bool().unwrap_or(true);
    match name {
        "sample_size_two_proportions" => {
            let p2 = Lift::Relative(f(i, "mde_relative"))
                .treatment_rate(f(i, "baseline"))
                .unwrap();
            let n = proportions_design(f(i, "baseline"), f(i, "alpha"), two)
                .sample_size(p2, f(i, "power"))
                .unwrap();
            (
                vec![("n_per_group", n.n_per_group as f64)],
                format!("You need {} users per group", int(n.n_per_group)),
            )
        }
        "sample_size_two_means" => {
            let design = Design {
                family: Family::Means { test: MeanTest::T },
                alpha: f(i, "alpha"),
                sides: if two {
                    Sides::TwoSided
                } else {
                    Sides::OneSided
                },
                ratio: 1.0,
                strict: None,
            };
            let n = design
                .sample_size(f(i, "mde") / f(i, "sd"), f(i, "power"))
                .unwrap();
            (
                vec![("n_per_group", n.n_per_group as f64)],
                format!("You need {} units per group", int(n.n_per_group)),
            )
        }
        "power_two_proportions" => {
            let p2 = Lift::Relative(f(i, "mde_relative"))
                .treatment_rate(f(i, "baseline"))
                .unwrap();
            let power = proportions_design(f(i, "baseline"), f(i, "alpha"), true)
                .power(p2, f(i, "n_per_group"))
                .unwrap();
            (vec![("power", power)], format!("({power:.4})"))
        }
        "mde_two_proportions" => {
            let p2 = proportions_design(f(i, "baseline"), f(i, "alpha"), true)
                .mde(f(i, "n_per_group"), f(i, "power"), false)
                .unwrap();
            (vec![("treatment_rate", p2)], format!("{p2:.6}"))
        }
        "test_duration" => {
            let design = proportions_design(f(i, "baseline"), f(i, "alpha"), true);
            let p2 = Lift::Relative(f(i, "mde_relative"))
                .treatment_rate(f(i, "baseline"))
                .unwrap();
            let d = stats::duration::duration(
                &design,
                p2,
                f(i, "power"),
                f(i, "daily_traffic"),
                f(i, "allocation"),
                i["variants"].as_u64().unwrap() as u32,
                stats::duration::VariantCorrection::Bonferroni,
            )
            .unwrap();
            (
                vec![
                    ("days", d.days as f64),
                    ("n_per_group", d.n_per_group as f64),
                ],
                format!("Run it for {} days", d.days),
            )
        }
        "ci_proportion" => {
            let method = match i["method"].as_str().unwrap() {
                "wilson" => ProportionCi::Wilson,
                "wald" => ProportionCi::Wald,
                "clopper_pearson" => ProportionCi::ClopperPearson,
                other => panic!("unknown method {other}"),
            };
            let ci = proportion(f(i, "successes"), f(i, "n"), f(i, "level"), method).unwrap();
            (
                vec![("lower", ci.lower), ("upper", ci.upper)],
                format!("[{:.6}, {:.6}]", ci.lower, ci.upper),
            )
        }
        "two_proportion_z_test" => {
            let r = two_proportion_z(
                f(i, "x1"),
                f(i, "n1"),
                f(i, "x2"),
                f(i, "n2"),
                Alternative::TwoSided,
                true,
            )
            .unwrap();
            (
                vec![("statistic", r.statistic), ("p_value", r.p_value)],
                format!("z = {:.4}", r.statistic),
            )
        }
        "srm_chi_square" => {
            let r = stats::srm::srm(
                &fs(i, "observed"),
                &fs(i, "expected_ratios"),
                f(i, "threshold"),
            )
            .unwrap();
            (
                vec![("statistic", r.statistic), ("p_value", r.p_value)],
                format!("χ² = {:.4}", r.statistic),
            )
        }
        "adjust_p_values" => {
            let method = match i["method"].as_str().unwrap() {
                "holm" => Correction::Holm,
                "bonferroni" => Correction::Bonferroni,
                "bh" => Correction::BenjaminiHochberg,
                other => panic!("unknown correction {other}"),
            };
            let r = adjust(&fs(i, "p_values"), method, f(i, "alpha")).unwrap();
            let first = r.adjusted[0];
            (vec![("first_adjusted", first)], synth::calc::sig(first))
        }
        "cuped_sample_size" => {
            let s = stats::cuped::cuped_sample_size(f(i, "n_without"), f(i, "rho")).unwrap();
            (
                vec![("n_per_group", s.n_per_group as f64)],
                format!("you need {} users per group", int(s.n_per_group)),
            )
        }
        other => panic!("calculation {other} is not recomputed here; add it"),
    }
}

#[test]
fn every_calculation_answer_matches_stats() {
    let pairs = generate(60, 7).unwrap();
    assert_eq!(pairs.len(), 60 * FAMILIES.len());
    for pair in &pairs {
        let json: Value = serde_json::from_str(pair.calculation_json.as_deref().unwrap()).unwrap();
        let name = json["calculation"].as_str().unwrap();
        let (values, stated) = recompute(name, &json["inputs"]);
        for (key, value) in values {
            let recorded = if key == "first_adjusted" {
                json["outputs"]["adjusted"][0].as_f64()
            } else {
                json["outputs"][key].as_f64()
            };
            assert!(
                recorded.is_some_and(|r| close(r, value)),
                "{name} {key}: recorded {recorded:?}, stats gives {value}\n{}",
                pair.question
            );
        }
        assert!(
            pair.answer.contains(&stated),
            "{name}: answer does not state {stated:?}:\n{}",
            pair.answer
        );
        assert!(
            pair.answer.contains("Formula:")
                && pair.answer.contains("Inputs:")
                && pair.answer.contains("Assumptions:"),
            "{}",
            pair.answer
        );
    }
}

#[test]
fn formatting_helpers_print_what_users_read() {
    assert_eq!(pct(0.05), "5%");
    assert_eq!(pct(0.125), "12.5%");
    assert_eq!(int(1_234_567), "1,234,567");
    assert_eq!(int(999), "999");
}
