//! Maps one golden case (a JSON object with a `kind`) to the crate call it describes and
//! returns the computed values under the same keys as the case's `expect`.

use serde_json::{Map, Value, json};
use stats::hypothesis::{self as h, Alternative, Summary};
use stats::intervals;
use stats::power::Design;

type Out = Result<Value, String>;

fn f(case: &Value, key: &str) -> Result<f64, String> {
    case[key]
        .as_f64()
        .ok_or_else(|| format!("case has no number `{key}`"))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Evaluates one case.
pub fn eval(case: &Value) -> Out {
    let kind = case["kind"].as_str().unwrap_or_default();
    let mut out = Map::new();
    match kind {
        "design" => {
            let d: Design = parse(&case["design"])?;
            let e = |x: stats::StatsError| x.to_string();
            match case["solve"].as_str().unwrap_or_default() {
                "power" => {
                    out.insert(
                        "power".into(),
                        json!(d.power(f(case, "effect")?, f(case, "n")?).map_err(e)?),
                    );
                }
                "n" => {
                    let s = d
                        .sample_size(f(case, "effect")?, f(case, "power")?)
                        .map_err(e)?;
                    out.insert("n".into(), json!(s.n_per_group_exact));
                }
                "mde" => {
                    let dec = case["decrease"].as_bool().unwrap_or(false);
                    out.insert(
                        "effect".into(),
                        json!(d.mde(f(case, "n")?, f(case, "power")?, dec).map_err(e)?),
                    );
                }
                "alpha" => {
                    let a = d
                        .solve_alpha(f(case, "effect")?, f(case, "n")?, f(case, "power")?)
                        .map_err(e)?;
                    out.insert("alpha".into(), json!(a));
                }
                other => return Err(format!("unknown solve `{other}`")),
            }
        }
        "prop_z" => {
            let r = h::two_proportion_z(
                f(case, "x1")?,
                f(case, "n1")?,
                f(case, "x2")?,
                f(case, "n2")?,
                alt(case)?,
                b(case, "pooled"),
            )
            .map_err(es)?;
            test_out(&mut out, &r);
        }
        "chi2_independence" => {
            let t: Vec<Vec<f64>> = parse(&case["table"])?;
            let r = h::chi_square_independence(&t, b(case, "yates")).map_err(es)?;
            out.insert("statistic".into(), json!(r.statistic));
            out.insert("p_value".into(), json!(r.p_value));
            out.insert("df".into(), json!(r.df));
        }
        "chi2_gof" => {
            let r = h::chi_square_gof(
                &parse::<Vec<f64>>(&case["observed"])?,
                &parse::<Vec<f64>>(&case["weights"])?,
            )
            .map_err(es)?;
            out.insert("statistic".into(), json!(r.statistic));
            out.insert("p_value".into(), json!(r.p_value));
        }
        "fisher" => {
            let t: [[f64; 2]; 2] = parse(&case["table"])?;
            test_out(&mut out, &h::fisher_exact(t, alt(case)?).map_err(es)?);
        }
        "t_two_sample" => {
            let r = h::t_test_two_sample(
                summary(&case["control"])?,
                summary(&case["treatment"])?,
                b(case, "equal_var"),
                alt(case)?,
            )
            .map_err(es)?;
            test_out(&mut out, &r);
        }
        "t_paired" => {
            let r = h::t_test_paired(
                &parse::<Vec<f64>>(&case["control"])?,
                &parse::<Vec<f64>>(&case["treatment"])?,
                alt(case)?,
            )
            .map_err(es)?;
            test_out(&mut out, &r);
        }
        "t_one_sample" => {
            let s = Summary::from_data(&parse::<Vec<f64>>(&case["data"])?).map_err(es)?;
            test_out(
                &mut out,
                &h::t_test_one_sample(s, f(case, "mu0")?, alt(case)?).map_err(es)?,
            );
        }
        "mwu" => {
            let r = h::mann_whitney(
                &parse::<Vec<f64>>(&case["control"])?,
                &parse::<Vec<f64>>(&case["treatment"])?,
                alt(case)?,
                parse(&case["method"])?,
                b(case, "continuity"),
            )
            .map_err(es)?;
            test_out(&mut out, &r);
        }
        "bootstrap_replicates" => {
            let samples: Vec<Vec<f64>> = parse(&case["samples"])?;
            let views: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
            let (lo, hi) = h::bootstrap_interval_from_replicates(
                parse(&case["statistic"])?,
                &views,
                &parse::<Vec<f64>>(&case["replicates"])?,
                f(case, "level")?,
                parse(&case["method"])?,
            )
            .map_err(es)?;
            out.insert("lower".into(), json!(lo));
            out.insert("upper".into(), json!(hi));
        }
        "ci_proportion" => {
            let r = intervals::proportion(
                f(case, "x")?,
                f(case, "n")?,
                f(case, "level")?,
                parse(&case["method"])?,
            )
            .map_err(es)?;
            ci_out(&mut out, &r);
        }
        "ci_proportion_diff" => {
            let r = intervals::proportion_diff(
                f(case, "x1")?,
                f(case, "n1")?,
                f(case, "x2")?,
                f(case, "n2")?,
                f(case, "level")?,
                parse(&case["method"])?,
            )
            .map_err(es)?;
            ci_out(&mut out, &r);
        }
        "ci_mean" => ci_out(
            &mut out,
            &intervals::mean(summary(&case["summary"])?, f(case, "level")?).map_err(es)?,
        ),
        "ci_mean_diff" => {
            let r = intervals::mean_diff_welch(
                summary(&case["control"])?,
                summary(&case["treatment"])?,
                f(case, "level")?,
            )
            .map_err(es)?;
            ci_out(&mut out, &r);
        }
        "ci_lift" => {
            let r = intervals::relative_lift(
                f(case, "m1")?,
                f(case, "se1")?,
                f(case, "m2")?,
                f(case, "se2")?,
                f(case, "level")?,
                parse(&case["method"])?,
            )
            .map_err(es)?;
            ci_out(&mut out, &r);
        }
        "adjust" => {
            let r = stats::multiple::adjust(
                &parse::<Vec<f64>>(&case["p_values"])?,
                parse(&case["method"])?,
                f(case, "alpha")?,
            )
            .map_err(es)?;
            out.insert("adjusted".into(), json!(r.adjusted));
            out.insert("reject".into(), json!(r.reject));
        }
        "srm" => {
            let r = stats::srm::srm(
                &parse::<Vec<f64>>(&case["counts"])?,
                &parse::<Vec<f64>>(&case["weights"])?,
                0.001,
            )
            .map_err(es)?;
            out.insert("statistic".into(), json!(r.statistic));
            out.insert("p_value".into(), json!(r.p_value));
        }
        "cuped" => {
            let r = stats::cuped::cuped(
                &parse(&case["control"])?,
                &parse(&case["treatment"])?,
                f(case, "level")?,
            )
            .map_err(es)?;
            return serde_json::to_value(r).map_err(|e| e.to_string());
        }
        "ratio" => {
            let r = stats::ratio::compare_ratios(
                &parse(&case["control"])?,
                &parse(&case["treatment"])?,
                f(case, "level")?,
            )
            .map_err(es)?;
            return serde_json::to_value(r).map_err(|e| e.to_string());
        }
        "duration" => {
            use stats::power::{Family, ProportionMethod, Sides};
            let d = Design {
                family: Family::Proportions {
                    baseline: f(case, "baseline")?,
                    method: ProportionMethod::Pooled,
                },
                alpha: f(case, "alpha")?,
                sides: Sides::TwoSided,
                ratio: 1.0,
                strict: None,
            };
            let variants = case["variants"].as_u64().ok_or("variants")? as u32;
            let r = stats::duration::duration(
                &d,
                f(case, "treatment")?,
                f(case, "power")?,
                f(case, "daily_traffic")?,
                f(case, "allocation")?,
                variants,
                parse(&case["correction"])?,
            )
            .map_err(es)?;
            return serde_json::to_value(r).map_err(|e| e.to_string());
        }
        "lan_demets" => {
            let r = stats::sequential::lan_demets(
                &parse::<Vec<f64>>(&case["fractions"])?,
                f(case, "alpha")?,
                parse(&case["sides"])?,
                parse(&case["spending"])?,
            )
            .map_err(es)?;
            out.insert("z".into(), json!(r.z));
        }
        "msprt" => {
            let looks: Vec<stats::sequential::Look> = parse(&case["looks"])?;
            let r = stats::sequential::msprt(&looks, f(case, "tau_sq")?, f(case, "alpha")?)
                .map_err(es)?;
            for key in ["likelihood_ratio", "p_value", "lower", "upper"] {
                let v: Vec<Value> = r
                    .looks
                    .iter()
                    .map(|l| serde_json::to_value(l).map(|o| o[key].clone()))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                out.insert(key.into(), Value::Array(v));
            }
        }
        "beta_binomial" => {
            let r = stats::bayes::beta_binomial(
                f(case, "x_a")?,
                f(case, "n_a")?,
                f(case, "x_b")?,
                f(case, "n_b")?,
                f(case, "prior_a")?,
                f(case, "prior_b")?,
                f(case, "level")?,
                stats::bayes::BayesMode::Exact,
            )
            .map_err(es)?;
            out.insert("prob_b_beats_a".into(), json!(r.prob_b_beats_a));
            out.insert("expected_loss".into(), json!(r.expected_loss));
            out.insert("expected_loss_a".into(), json!(r.expected_loss_a));
            out.insert("a_lower".into(), json!(r.a.lower));
            out.insert("a_upper".into(), json!(r.a.upper));
            out.insert("b_lower".into(), json!(r.b.lower));
            out.insert("b_upper".into(), json!(r.b.upper));
        }
        "bayes_normal" => {
            let prior: Option<(f64, f64)> = parse(&case["prior"])?;
            let r = stats::bayes::normal_means(
                parse(&case["a"])?,
                parse(&case["b"])?,
                prior,
                f(case, "level")?,
            )
            .map_err(es)?;
            out.insert("prob_b_beats_a".into(), json!(r.prob_b_beats_a));
            out.insert("expected_loss".into(), json!(r.expected_loss));
            out.insert("expected_loss_a".into(), json!(r.expected_loss_a));
        }
        other => return Err(format!("unknown kind `{other}`")),
    }
    Ok(Value::Object(out))
}

fn es(e: stats::StatsError) -> String {
    e.to_string()
}

fn b(case: &Value, key: &str) -> bool {
    case[key].as_bool().unwrap_or(false)
}

fn alt(case: &Value) -> Result<Alternative, String> {
    parse(&case["alternative"])
}

fn summary(v: &Value) -> Result<Summary, String> {
    let [mean, sd, n]: [f64; 3] = parse(v)?;
    Ok(Summary { mean, sd, n })
}

fn test_out(out: &mut Map<String, Value>, r: &h::TestResult) {
    out.insert("statistic".into(), json!(r.statistic));
    out.insert("p_value".into(), json!(r.p_value));
}

fn ci_out(out: &mut Map<String, Value>, r: &intervals::Interval) {
    out.insert("lower".into(), json!(r.lower));
    out.insert("upper".into(), json!(r.upper));
}
