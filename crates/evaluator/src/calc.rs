//! The calculator parameters a calculation item carries, and their recomputation with `stats`.
//!
//! Every calculation question in `data/eval/curated.jsonl` states the `stats` call that answers
//! it (`calc: {kind, params}`). [`Calc::compute`] runs that call and returns its outputs by name,
//! so a test can check that each stored expected number still equals what the calculator says:
//! the set cannot drift from the calculator.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stats::duration::VariantCorrection;
use stats::hypothesis::{Alternative, Summary};
use stats::intervals::{DiffCi, ProportionCi};
use stats::multiple::Correction;
use stats::power::{Design, Family, Lift, MeanTest, ProportionMethod, Sides};
use stats::sequential::Spending;

fn alpha_default() -> f64 {
    0.05
}
fn power_default() -> f64 {
    0.8
}
fn one() -> f64 {
    1.0
}
fn level_default() -> f64 {
    0.95
}
fn srm_threshold_default() -> f64 {
    0.001
}
fn yes() -> bool {
    true
}
fn two_variants() -> u32 {
    2
}

/// The common design of a two-proportion power calculation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProportionDesign {
    /// Control rate.
    pub baseline: f64,
    /// Significance level.
    #[serde(default = "alpha_default")]
    pub alpha: f64,
    /// Sides of the test.
    #[serde(default)]
    pub sides: Sides,
    /// n_treatment / n_control.
    #[serde(default = "one")]
    pub ratio: f64,
    /// Variance model.
    #[serde(default)]
    pub method: ProportionMethod,
}

impl ProportionDesign {
    fn design(&self) -> Design {
        Design {
            family: Family::Proportions {
                baseline: self.baseline,
                method: self.method,
            },
            alpha: self.alpha,
            sides: self.sides,
            ratio: self.ratio,
            strict: None,
        }
    }
}

/// The common design of a means power calculation; the effect is Cohen's d, given directly or
/// as a difference in metric units with its standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanDesign {
    /// Which test.
    #[serde(default)]
    pub test: MeanTest,
    /// Significance level.
    #[serde(default = "alpha_default")]
    pub alpha: f64,
    /// Sides of the test.
    #[serde(default)]
    pub sides: Sides,
    /// n_treatment / n_control.
    #[serde(default = "one")]
    pub ratio: f64,
    /// Standard deviation of the metric, when the effect is in metric units.
    #[serde(default)]
    pub sd: Option<f64>,
}

impl MeanDesign {
    fn design(&self) -> Design {
        Design {
            family: Family::Means { test: self.test },
            alpha: self.alpha,
            sides: self.sides,
            ratio: self.ratio,
            strict: None,
        }
    }
}

/// Summary statistics of one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// Size.
    pub n: f64,
}

impl From<GroupSummary> for Summary {
    fn from(g: GroupSummary) -> Self {
        Summary {
            mean: g.mean,
            sd: g.sd,
            n: g.n,
        }
    }
}

/// One `stats` call, as stored in a calculation item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "params", rename_all = "snake_case")]
pub enum Calc {
    /// Units per group for two proportions. Outputs `n_per_group`, `n_treatment`, `n_total`.
    SampleSizeProportions {
        /// The design.
        #[serde(flatten)]
        design: ProportionDesign,
        /// The lift to detect.
        mde: f64,
        /// Whether `mde` is relative to the baseline.
        #[serde(default)]
        relative: bool,
        /// Target power.
        #[serde(default = "power_default")]
        power: f64,
    },
    /// Units per group for means. Outputs `n_per_group`, `n_total`.
    SampleSizeMeans {
        /// The design.
        #[serde(flatten)]
        design: MeanDesign,
        /// The effect: Cohen's d, or metric units when `sd` is given.
        effect: f64,
        /// Target power.
        #[serde(default = "power_default")]
        power: f64,
    },
    /// Power for two proportions at `n` per control group. Output `power`.
    PowerProportions {
        /// The design.
        #[serde(flatten)]
        design: ProportionDesign,
        /// The lift.
        mde: f64,
        /// Whether `mde` is relative.
        #[serde(default)]
        relative: bool,
        /// Control group size.
        n: f64,
    },
    /// Power for means at `n` per control group. Output `power`.
    PowerMeans {
        /// The design.
        #[serde(flatten)]
        design: MeanDesign,
        /// The effect.
        effect: f64,
        /// Control group size.
        n: f64,
    },
    /// MDE for two proportions. Outputs `mde` (absolute), `mde_relative`, `treatment`.
    MdeProportions {
        /// The design.
        #[serde(flatten)]
        design: ProportionDesign,
        /// Control group size.
        n: f64,
        /// Target power.
        #[serde(default = "power_default")]
        power: f64,
    },
    /// MDE for means. Outputs `effect_size`, and `mde` when `sd` is given.
    MdeMeans {
        /// The design.
        #[serde(flatten)]
        design: MeanDesign,
        /// Control group size.
        n: f64,
        /// Target power.
        #[serde(default = "power_default")]
        power: f64,
    },
    /// Days of traffic for a proportion test. Outputs `days`, `n_per_group`, `n_total`,
    /// `alpha_per_comparison`.
    Duration {
        /// The design (its ratio is ignored: variants get equal shares).
        #[serde(flatten)]
        design: ProportionDesign,
        /// The lift.
        mde: f64,
        /// Whether `mde` is relative.
        #[serde(default)]
        relative: bool,
        /// Target power.
        #[serde(default = "power_default")]
        power: f64,
        /// Eligible units per day.
        daily_traffic: f64,
        /// Share of traffic in the experiment.
        #[serde(default = "one")]
        allocation: f64,
        /// Variants including control.
        #[serde(default = "two_variants")]
        variants: u32,
        /// Alpha correction over treatment-control comparisons.
        #[serde(default)]
        correction: VariantCorrection,
    },
    /// Two-proportion z test. Outputs `statistic`, `p_value`, `estimate`.
    TwoProportionZ {
        /// Control conversions.
        x1: f64,
        /// Control units.
        n1: f64,
        /// Treatment conversions.
        x2: f64,
        /// Treatment units.
        n2: f64,
        /// Alternative.
        #[serde(default)]
        alternative: Alternative,
        /// Pooled standard error.
        #[serde(default = "yes")]
        pooled: bool,
    },
    /// Two-sample t test from summaries. Outputs `statistic`, `p_value`, `df`, `estimate`.
    TTest {
        /// Control group.
        control: GroupSummary,
        /// Treatment group.
        treatment: GroupSummary,
        /// Student (true) or Welch (false).
        #[serde(default)]
        equal_var: bool,
        /// Alternative.
        #[serde(default)]
        alternative: Alternative,
    },
    /// Chi-square test of independence. Outputs `statistic`, `p_value`, `df`.
    ChiSquare {
        /// Rows of counts.
        table: Vec<Vec<f64>>,
        /// Yates' continuity correction (2×2 only).
        #[serde(default = "yes")]
        yates: bool,
    },
    /// Interval for one proportion. Outputs `estimate`, `lower`, `upper`.
    ProportionCi {
        /// Successes.
        x: f64,
        /// Trials.
        n: f64,
        /// Confidence level.
        #[serde(default = "level_default")]
        level: f64,
        /// Method.
        #[serde(default)]
        method: ProportionCi,
    },
    /// Interval for a difference of proportions (treatment minus control). Outputs
    /// `estimate`, `lower`, `upper`.
    ProportionDiffCi {
        /// Control conversions.
        x1: f64,
        /// Control units.
        n1: f64,
        /// Treatment conversions.
        x2: f64,
        /// Treatment units.
        n2: f64,
        /// Confidence level.
        #[serde(default = "level_default")]
        level: f64,
        /// Method.
        #[serde(default)]
        method: DiffCi,
    },
    /// Welch interval for a difference of means. Outputs `estimate`, `lower`, `upper`.
    MeanDiffCi {
        /// Control group.
        control: GroupSummary,
        /// Treatment group.
        treatment: GroupSummary,
        /// Confidence level.
        #[serde(default = "level_default")]
        level: f64,
    },
    /// Multiple-testing correction. Outputs `adjusted_1` … `adjusted_m` (input order) and
    /// `rejected` (how many).
    Adjust {
        /// Raw p-values.
        p_values: Vec<f64>,
        /// Method.
        #[serde(default)]
        method: Correction,
        /// Level.
        #[serde(default = "alpha_default")]
        alpha: f64,
    },
    /// Sample-ratio mismatch check. Outputs `statistic`, `p_value`, `mismatch` (0 or 1).
    Srm {
        /// Units per variant.
        counts: Vec<f64>,
        /// Intended shares (equal when empty).
        #[serde(default)]
        weights: Vec<f64>,
        /// p-value below which a mismatch is declared.
        #[serde(default = "srm_threshold_default")]
        threshold: f64,
    },
    /// Units needed with CUPED. Outputs `n_per_group`, `saving`.
    CupedSampleSize {
        /// Units per group without CUPED.
        n_without: f64,
        /// Correlation of the covariate with the metric.
        rho: f64,
    },
    /// Lan-DeMets boundaries at equally spaced looks. Outputs `z_1` … `z_k` and
    /// `nominal_p_1` … `nominal_p_k`.
    SequentialBoundaries {
        /// Number of equally spaced looks.
        looks: u32,
        /// Overall alpha.
        #[serde(default = "alpha_default")]
        alpha: f64,
        /// Sides.
        #[serde(default)]
        sides: Sides,
        /// Spending function.
        #[serde(default)]
        spending: Spending,
    },
}

fn treatment(design: &ProportionDesign, mde: f64, relative: bool) -> stats::Result<f64> {
    let lift = if relative {
        Lift::Relative(mde)
    } else {
        Lift::Absolute(mde)
    };
    lift.treatment_rate(design.baseline)
}

fn mean_effect(design: &MeanDesign, effect: f64) -> f64 {
    match design.sd {
        Some(sd) => effect / sd,
        None => effect,
    }
}

impl Calc {
    /// Parses a `{kind, params}` object and refuses parameters the kind does not know, which
    /// serde alone cannot do for the flattened designs: the parsed value is serialised back and
    /// every input key must reappear.
    pub fn from_value(value: &serde_json::Value) -> Result<Calc, String> {
        let calc: Calc = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        let back = serde_json::to_value(&calc).map_err(|e| e.to_string())?;
        let known = back.get("params").and_then(|p| p.as_object());
        if let (Some(given), Some(known)) = (value.get("params").and_then(|p| p.as_object()), known)
        {
            let unknown: Vec<&str> = given
                .keys()
                .filter(|k| !known.contains_key(*k))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "unknown parameter(s) {} for calculation kind {}",
                    unknown.join(", "),
                    calc.kind()
                ));
            }
        }
        Ok(calc)
    }

    /// The snake-case name of this kind, as written in the sets.
    pub fn kind(&self) -> &'static str {
        match self {
            Calc::SampleSizeProportions { .. } => "sample_size_proportions",
            Calc::SampleSizeMeans { .. } => "sample_size_means",
            Calc::PowerProportions { .. } => "power_proportions",
            Calc::PowerMeans { .. } => "power_means",
            Calc::MdeProportions { .. } => "mde_proportions",
            Calc::MdeMeans { .. } => "mde_means",
            Calc::Duration { .. } => "duration",
            Calc::TwoProportionZ { .. } => "two_proportion_z",
            Calc::TTest { .. } => "t_test",
            Calc::ChiSquare { .. } => "chi_square",
            Calc::ProportionCi { .. } => "proportion_ci",
            Calc::ProportionDiffCi { .. } => "proportion_diff_ci",
            Calc::MeanDiffCi { .. } => "mean_diff_ci",
            Calc::Adjust { .. } => "adjust",
            Calc::Srm { .. } => "srm",
            Calc::CupedSampleSize { .. } => "cuped_sample_size",
            Calc::SequentialBoundaries { .. } => "sequential_boundaries",
        }
    }

    /// Runs the calculation and returns its outputs by name.
    pub fn compute(&self) -> stats::Result<BTreeMap<String, f64>> {
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            out.insert(k.to_owned(), v);
        };
        match self {
            Calc::SampleSizeProportions {
                design,
                mde,
                relative,
                power,
            } => {
                let p2 = treatment(design, *mde, *relative)?;
                let n = design.design().sample_size(p2, *power)?;
                put("n_per_group", n.n_per_group as f64);
                put("n_treatment", n.n_treatment as f64);
                put("n_total", n.n_total as f64);
            }
            Calc::SampleSizeMeans {
                design,
                effect,
                power,
            } => {
                let n = design
                    .design()
                    .sample_size(mean_effect(design, *effect), *power)?;
                put("n_per_group", n.n_per_group as f64);
                put("n_total", n.n_total as f64);
            }
            Calc::PowerProportions {
                design,
                mde,
                relative,
                n,
            } => {
                let p2 = treatment(design, *mde, *relative)?;
                put("power", design.design().power(p2, *n)?);
            }
            Calc::PowerMeans { design, effect, n } => {
                put(
                    "power",
                    design.design().power(mean_effect(design, *effect), *n)?,
                );
            }
            Calc::MdeProportions { design, n, power } => {
                let p2 = design.design().mde(*n, *power, false)?;
                put("treatment", p2);
                put("mde", p2 - design.baseline);
                put("mde_relative", p2 / design.baseline - 1.0);
            }
            Calc::MdeMeans { design, n, power } => {
                let d = design.design().mde(*n, *power, false)?;
                put("effect_size", d);
                if let Some(sd) = design.sd {
                    put("mde", d * sd);
                }
            }
            Calc::Duration {
                design,
                mde,
                relative,
                power,
                daily_traffic,
                allocation,
                variants,
                correction,
            } => {
                let p2 = treatment(design, *mde, *relative)?;
                let d = stats::duration::duration(
                    &design.design(),
                    p2,
                    *power,
                    *daily_traffic,
                    *allocation,
                    *variants,
                    *correction,
                )?;
                put("days", d.days as f64);
                put("n_per_group", d.n_per_group as f64);
                put("n_total", d.n_total as f64);
                put("alpha_per_comparison", d.alpha_per_comparison);
            }
            Calc::TwoProportionZ {
                x1,
                n1,
                x2,
                n2,
                alternative,
                pooled,
            } => {
                let t =
                    stats::hypothesis::two_proportion_z(*x1, *n1, *x2, *n2, *alternative, *pooled)?;
                put("statistic", t.statistic);
                put("p_value", t.p_value);
                put("estimate", x2 / n2 - x1 / n1);
            }
            Calc::TTest {
                control,
                treatment,
                equal_var,
                alternative,
            } => {
                let t = stats::hypothesis::t_test_two_sample(
                    (*control).into(),
                    (*treatment).into(),
                    *equal_var,
                    *alternative,
                )?;
                put("statistic", t.statistic);
                put("p_value", t.p_value);
                if let Some(df) = t.df {
                    put("df", df);
                }
                put("estimate", treatment.mean - control.mean);
            }
            Calc::ChiSquare { table, yates } => {
                let t = stats::hypothesis::chi_square_independence(table, *yates)?;
                put("statistic", t.statistic);
                put("p_value", t.p_value);
                put("df", t.df);
            }
            Calc::ProportionCi {
                x,
                n,
                level,
                method,
            } => {
                let i = stats::intervals::proportion(*x, *n, *level, *method)?;
                put("estimate", i.estimate);
                put("lower", i.lower);
                put("upper", i.upper);
            }
            Calc::ProportionDiffCi {
                x1,
                n1,
                x2,
                n2,
                level,
                method,
            } => {
                let i = stats::intervals::proportion_diff(*x1, *n1, *x2, *n2, *level, *method)?;
                put("estimate", i.estimate);
                put("lower", i.lower);
                put("upper", i.upper);
            }
            Calc::MeanDiffCi {
                control,
                treatment,
                level,
            } => {
                let i = stats::intervals::mean_diff_welch(
                    (*control).into(),
                    (*treatment).into(),
                    *level,
                )?;
                put("estimate", i.estimate);
                put("lower", i.lower);
                put("upper", i.upper);
            }
            Calc::Adjust {
                p_values,
                method,
                alpha,
            } => {
                let a = stats::multiple::adjust(p_values, *method, *alpha)?;
                for (i, p) in a.adjusted.iter().enumerate() {
                    put(&format!("adjusted_{}", i + 1), *p);
                }
                put("rejected", a.reject.iter().filter(|r| **r).count() as f64);
            }
            Calc::Srm {
                counts,
                weights,
                threshold,
            } => {
                let w = if weights.is_empty() {
                    vec![1.0; counts.len()]
                } else {
                    weights.clone()
                };
                let s = stats::srm::srm(counts, &w, *threshold)?;
                put("statistic", s.statistic);
                put("p_value", s.p_value);
                put("mismatch", if s.mismatch { 1.0 } else { 0.0 });
            }
            Calc::CupedSampleSize { n_without, rho } => {
                let s = stats::cuped::cuped_sample_size(*n_without, *rho)?;
                put("n_per_group", s.n_per_group as f64);
                put("saving", s.saving);
            }
            Calc::SequentialBoundaries {
                looks,
                alpha,
                sides,
                spending,
            } => {
                let k = (*looks).max(1);
                let fractions: Vec<f64> = (1..=k).map(|i| f64::from(i) / f64::from(k)).collect();
                let b = stats::sequential::lan_demets(&fractions, *alpha, *sides, *spending)?;
                for (i, (z, p)) in b.z.iter().zip(&b.nominal_p).enumerate() {
                    put(&format!("z_{}", i + 1), *z);
                    put(&format!("nominal_p_{}", i + 1), *p);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_sample_size_is_reproduced() {
        // R: power.prop.test(p1 = .1, p2 = .12, power = .8)$n = 3840.847, so 3841 per group.
        let calc: Calc = serde_json::from_str(
            r#"{"kind":"sample_size_proportions","params":{"baseline":0.1,"mde":0.02}}"#,
        )
        .expect("valid calc");
        let out = calc.compute().expect("computes");
        assert_eq!(out.get("n_per_group"), Some(&3841.0));
        assert_eq!(out.get("n_total"), Some(&7682.0));
    }

    #[test]
    fn unknown_parameter_is_rejected() {
        let value: serde_json::Value = serde_json::from_str(
            r#"{"kind":"sample_size_proportions","params":{"baseline":0.1,"mde":0.02,"alhpa":0.1}}"#,
        )
        .expect("json");
        let err = Calc::from_value(&value).expect_err("a misspelt parameter must be refused");
        assert!(err.contains("alhpa"), "{err}");
    }
}
