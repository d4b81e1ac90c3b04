//! One-call experiment analysis from per-variant aggregates: the SRM check, then for each
//! metric and each treatment the difference with its interval, the relative lift with its
//! interval and the p-value, then one multiple-testing correction across every (metric,
//! treatment) comparison. A pre-period covariate switches a mean metric to CUPED.
//!
//! Methods: proportions use the pooled two-proportion z test and the Newcombe interval;
//! means use Welch's t test and interval; CUPED metrics use the normal test on the adjusted
//! difference; lifts use the delta method throughout.

use serde::{Deserialize, Serialize};

use crate::cuped::cuped;
use crate::error::{Result, StatsError, prob_open};
use crate::hypothesis::{Alternative, Summary, t_test_two_sample, two_proportion_z};
use crate::intervals::{DiffCi, LiftCi, mean_diff_welch, proportion_diff, relative_lift};
use crate::moments::Moments;
use crate::multiple::{Correction, adjust};
use crate::srm::{SrmResult, srm};

/// One variant's aggregate for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Aggregate {
    /// A conversion metric.
    Proportion {
        /// Units.
        n: f64,
        /// Converting units.
        conversions: f64,
    },
    /// A continuous metric, with an optional pre-period covariate for CUPED.
    Mean {
        /// Units.
        n: f64,
        /// Sum of the metric.
        sum: f64,
        /// Sum of squares of the metric.
        sum_sq: f64,
        /// Sum of the covariate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        covariate_sum: Option<f64>,
        /// Sum of squares of the covariate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        covariate_sum_sq: Option<f64>,
        /// Sum of metric times covariate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sum_xy: Option<f64>,
    },
}

/// A metric: its name and one aggregate per variant, in the order of `variants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInput {
    /// Metric name.
    pub name: String,
    /// One aggregate per variant.
    pub values: Vec<Aggregate>,
}

/// A variant: its name and assigned units (for the SRM check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantInput {
    /// Variant name.
    pub name: String,
    /// Units assigned.
    pub units: f64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_level() -> f64 {
    0.95
}
fn default_srm() -> f64 {
    0.001
}

/// The analysis request. The first variant is the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRequest {
    /// Variants, control first.
    pub variants: Vec<VariantInput>,
    /// Planned traffic weights per variant; equal when absent.
    #[serde(default)]
    pub expected_split: Option<Vec<f64>>,
    /// Metrics.
    pub metrics: Vec<MetricInput>,
    /// Family-wise (or FDR) level for the correction.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Confidence level of the intervals.
    #[serde(default = "default_level")]
    pub level: f64,
    /// Correction across all comparisons.
    #[serde(default)]
    pub correction: Correction,
    /// SRM p-value threshold.
    #[serde(default = "default_srm")]
    pub srm_threshold: f64,
}

/// One treatment-versus-control comparison on one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Metric name.
    pub metric: String,
    /// Treatment variant name.
    pub variant: String,
    /// Method used.
    pub method: String,
    /// Control value (rate or mean; CUPED-adjusted when CUPED was used).
    pub control_value: f64,
    /// Treatment value.
    pub treatment_value: f64,
    /// Difference, treatment minus control.
    pub difference: f64,
    /// Lower bound of the difference.
    pub lower: f64,
    /// Upper bound of the difference.
    pub upper: f64,
    /// Relative lift.
    pub lift: f64,
    /// Lower bound of the lift (delta method).
    pub lift_lower: f64,
    /// Upper bound of the lift.
    pub lift_upper: f64,
    /// Test statistic.
    pub statistic: f64,
    /// Unadjusted two-sided p-value.
    pub p_value: f64,
    /// p-value after the correction across all comparisons.
    pub adjusted_p_value: f64,
    /// Whether the corrected test rejects at alpha.
    pub reject: bool,
}

/// The analysis report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    /// Sample-ratio mismatch check.
    pub srm: SrmResult,
    /// All comparisons, metric by metric.
    pub comparisons: Vec<Comparison>,
    /// Correction applied.
    pub correction: Correction,
    /// Level of the correction.
    pub alpha: f64,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Warnings the reader must see (for example an SRM).
    pub warnings: Vec<String>,
}

/// Runs the analysis.
pub fn analyze(req: &AnalysisRequest) -> Result<AnalysisReport> {
    prob_open("alpha", req.alpha)?;
    prob_open("level", req.level)?;
    let k = req.variants.len();
    if k < 2 {
        return Err(StatsError::InvalidInput {
            what: "variants",
            reason: format!("need a control and at least one treatment, got {k} variant(s)"),
        });
    }
    let units: Vec<f64> = req.variants.iter().map(|v| v.units).collect();
    let weights = req.expected_split.clone().unwrap_or_else(|| vec![1.0; k]);
    let srm_r = srm(&units, &weights, req.srm_threshold)?;
    let mut comps = Vec::new();
    for m in &req.metrics {
        if m.values.len() != k {
            return Err(StatsError::InvalidInput {
                what: "metric",
                reason: format!(
                    "`{}` has {} values but there are {k} variants",
                    m.name,
                    m.values.len()
                ),
            });
        }
        for (j, v) in req.variants.iter().enumerate().skip(1) {
            comps.push(compare(
                &m.name,
                &v.name,
                &m.values[0],
                &m.values[j],
                req.level,
            )?);
        }
    }
    if comps.is_empty() {
        return Err(StatsError::InvalidInput {
            what: "metrics",
            reason: "give at least one metric".into(),
        });
    }
    let ps: Vec<f64> = comps.iter().map(|c| c.p_value).collect();
    let adj = adjust(&ps, req.correction, req.alpha)?;
    for (c, (a, r)) in comps.iter_mut().zip(adj.adjusted.iter().zip(&adj.reject)) {
        c.adjusted_p_value = *a;
        c.reject = *r;
    }
    let mut warnings = Vec::new();
    if srm_r.mismatch {
        warnings.push(format!(
            "sample-ratio mismatch (p = {:.3e} < {}): the assignment or logging is likely broken; do not trust these results until it is explained",
            srm_r.p_value, req.srm_threshold
        ));
    }
    Ok(AnalysisReport {
        srm: srm_r,
        comparisons: comps,
        correction: req.correction,
        alpha: req.alpha,
        level: req.level,
        warnings,
    })
}

fn mean_moments(n: f64, sum: f64, sum_sq: f64, xs: Option<(f64, f64, f64)>) -> Moments {
    let (sx, sx2, sxy) = xs.unwrap_or((0.0, 0.0, 0.0));
    Moments {
        n,
        sum_y: sum,
        sum_y2: sum_sq,
        sum_x: sx,
        sum_x2: sx2,
        sum_xy: sxy,
    }
}

fn compare(
    metric: &str,
    variant: &str,
    c: &Aggregate,
    t: &Aggregate,
    level: f64,
) -> Result<Comparison> {
    let base = |method: &str| Comparison {
        metric: metric.into(),
        variant: variant.into(),
        method: method.into(),
        control_value: 0.0,
        treatment_value: 0.0,
        difference: 0.0,
        lower: 0.0,
        upper: 0.0,
        lift: 0.0,
        lift_lower: 0.0,
        lift_upper: 0.0,
        statistic: 0.0,
        p_value: 1.0,
        adjusted_p_value: 1.0,
        reject: false,
    };
    match (c, t) {
        (
            Aggregate::Proportion {
                n: n1,
                conversions: x1,
            },
            Aggregate::Proportion {
                n: n2,
                conversions: x2,
            },
        ) => {
            let test = two_proportion_z(*x1, *n1, *x2, *n2, Alternative::TwoSided, true)?;
            let ci = proportion_diff(*x1, *n1, *x2, *n2, level, DiffCi::Newcombe)?;
            let (p1, p2) = (x1 / n1, x2 / n2);
            let se1 = (p1 * (1.0 - p1) / n1).sqrt();
            let se2 = (p2 * (1.0 - p2) / n2).sqrt();
            let lift = relative_lift(p1, se1, p2, se2, level, LiftCi::Delta)?;
            Ok(Comparison {
                control_value: p1,
                treatment_value: p2,
                difference: ci.estimate,
                lower: ci.lower,
                upper: ci.upper,
                lift: lift.estimate,
                lift_lower: lift.lower,
                lift_upper: lift.upper,
                statistic: test.statistic,
                p_value: test.p_value,
                ..base("two-proportion z test (pooled), Newcombe interval")
            })
        }
        (
            Aggregate::Mean {
                n: n1,
                sum: s1,
                sum_sq: q1,
                covariate_sum: cx1,
                covariate_sum_sq: cxx1,
                sum_xy: cxy1,
            },
            Aggregate::Mean {
                n: n2,
                sum: s2,
                sum_sq: q2,
                covariate_sum: cx2,
                covariate_sum_sq: cxx2,
                sum_xy: cxy2,
            },
        ) => {
            let cov1 = cx1.zip(*cxx1).zip(*cxy1).map(|((a, b), c)| (a, b, c));
            let cov2 = cx2.zip(*cxx2).zip(*cxy2).map(|((a, b), c)| (a, b, c));
            let mc = mean_moments(*n1, *s1, *q1, cov1);
            let mt = mean_moments(*n2, *s2, *q2, cov2);
            if let (Some(_), Some(_)) = (cov1, cov2) {
                let r = cuped(&mc, &mt, level)?;
                let lift = relative_lift(
                    r.control_mean,
                    r.control_std_error,
                    r.treatment_mean,
                    r.treatment_std_error,
                    level,
                    LiftCi::Delta,
                )?;
                return Ok(Comparison {
                    control_value: r.control_mean,
                    treatment_value: r.treatment_mean,
                    difference: r.estimate,
                    lower: r.lower,
                    upper: r.upper,
                    lift: lift.estimate,
                    lift_lower: lift.lower,
                    lift_upper: lift.upper,
                    statistic: r.statistic,
                    p_value: r.p_value,
                    ..base(&format!(
                        "CUPED (theta {:.4}, variance reduction {:.1} %), normal test",
                        r.theta,
                        100.0 * r.variance_reduction
                    ))
                });
            }
            if cov1.is_some() != cov2.is_some() {
                return Err(StatsError::InvalidInput {
                    what: "metric",
                    reason: format!(
                        "`{metric}`: give the covariate sums for every variant or for none"
                    ),
                });
            }
            mc.validate("control aggregates")?;
            mt.validate("treatment aggregates")?;
            let sc = Summary {
                mean: mc.mean_y(),
                sd: mc.var_y().sqrt(),
                n: mc.n,
            };
            let st = Summary {
                mean: mt.mean_y(),
                sd: mt.var_y().sqrt(),
                n: mt.n,
            };
            let test = t_test_two_sample(sc, st, false, Alternative::TwoSided)?;
            let ci = mean_diff_welch(sc, st, level)?;
            let lift = relative_lift(
                sc.mean,
                sc.sd / sc.n.sqrt(),
                st.mean,
                st.sd / st.n.sqrt(),
                level,
                LiftCi::Delta,
            )?;
            Ok(Comparison {
                control_value: sc.mean,
                treatment_value: st.mean,
                difference: ci.estimate,
                lower: ci.lower,
                upper: ci.upper,
                lift: lift.estimate,
                lift_lower: lift.lower,
                lift_upper: lift.upper,
                statistic: test.statistic,
                p_value: test.p_value,
                ..base("Welch t test and interval")
            })
        }
        _ => Err(StatsError::InvalidInput {
            what: "metric",
            reason: format!(
                "`{metric}` mixes proportion and mean aggregates across variants; use one kind"
            ),
        }),
    }
}
