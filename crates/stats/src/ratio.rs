//! Ratio metrics (for example revenue per session when users are randomised): the
//! delta-method variance of sum(y) / sum(x) per group, and the comparison of two groups.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, prob_open};
use crate::moments::Moments;
use crate::special::norm_isf;

/// One group's ratio and its delta-method variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    /// sum(y) / sum(x).
    pub ratio: f64,
    /// Delta-method variance (var_y - 2 R cov + R^2 var_x) / (n mean_x^2).
    pub variance: f64,
}

/// The ratio and its delta-method variance for one group (y = numerator, x = denominator).
pub fn ratio_estimate(m: &Moments) -> Result<RatioEstimate> {
    m.validate("ratio aggregates")?;
    let mx = m.mean_x();
    if mx == 0.0 {
        return Err(StatsError::Unsolvable {
            what: "ratio metric",
            reason: "the denominator sums to zero; a ratio needs a nonzero denominator".into(),
        });
    }
    let r = m.sum_y / m.sum_x;
    let v = (m.var_y() - 2.0 * r * m.cov_xy() + r * r * m.var_x()) / (m.n * mx * mx);
    Ok(RatioEstimate {
        ratio: r,
        variance: v.max(0.0),
    })
}

/// Comparison of a ratio metric between groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioComparison {
    /// Control ratio and variance.
    pub control: RatioEstimate,
    /// Treatment ratio and variance.
    pub treatment: RatioEstimate,
    /// Absolute difference, treatment minus control.
    pub difference: f64,
    /// Its standard error.
    pub difference_se: f64,
    /// Relative lift treatment / control - 1.
    pub lift: f64,
    /// Its delta-method standard error.
    pub lift_se: f64,
    /// z statistic of the difference.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Lower bound of the difference.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
}

/// Compares a ratio metric between control and treatment.
pub fn compare_ratios(
    control: &Moments,
    treatment: &Moments,
    level: f64,
) -> Result<RatioComparison> {
    prob_open("level", level)?;
    let c = ratio_estimate(control)?;
    let t = ratio_estimate(treatment)?;
    let d = t.ratio - c.ratio;
    let se = (c.variance + t.variance).sqrt();
    if !(se > 0.0) {
        return Err(StatsError::Unsolvable {
            what: "ratio metric",
            reason: "both groups have zero variance".into(),
        });
    }
    if c.ratio == 0.0 {
        return Err(StatsError::Unsolvable {
            what: "ratio metric",
            reason: "the control ratio is zero, so a relative lift is undefined".into(),
        });
    }
    let lift = t.ratio / c.ratio - 1.0;
    let lift_se =
        (t.variance / c.ratio.powi(2) + t.ratio.powi(2) * c.variance / c.ratio.powi(4)).sqrt();
    let z = d / se;
    let h = norm_isf((1.0 - level) / 2.0) * se;
    Ok(RatioComparison {
        control: c,
        treatment: t,
        difference: d,
        difference_se: se,
        lift,
        lift_se,
        statistic: z,
        p_value: crate::cuped::two_sided_normal_p(z),
        lower: d - h,
        upper: d + h,
        level,
    })
}
