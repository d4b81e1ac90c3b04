//! CUPED (Deng, Xu, Kohavi & Walker 2013): variance reduction with a pre-experiment
//! covariate. theta = cov(x, y) / var(x) is estimated on both groups pooled (the covariate
//! is unaffected by treatment, so pooling is unbiased and uses all the data), each group's
//! mean is adjusted by theta times its covariate mean's deviation, and the variance of the
//! difference shrinks by about 1 - rho^2.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, non_negative, prob_open};
use crate::moments::Moments;
use crate::power::ceil_guard;
use crate::special::{norm_cdf, norm_isf, norm_sf};

/// CUPED-adjusted comparison of treatment against control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CupedResult {
    /// The regression coefficient of the metric on the covariate, both groups pooled.
    pub theta: f64,
    /// Pooled correlation of metric and covariate.
    pub rho: f64,
    /// Expected variance reduction factor 1 - rho^2 (the adjusted variance over the raw one).
    pub variance_factor: f64,
    /// The variance reduction realised on these data: 1 - se_adjusted^2 / se_unadjusted^2.
    pub variance_reduction: f64,
    /// Adjusted control mean.
    pub control_mean: f64,
    /// Adjusted treatment mean.
    pub treatment_mean: f64,
    /// Standard error of the adjusted control mean.
    pub control_std_error: f64,
    /// Standard error of the adjusted treatment mean.
    pub treatment_std_error: f64,
    /// Adjusted difference, treatment minus control.
    pub estimate: f64,
    /// Standard error of the adjusted difference.
    pub std_error: f64,
    /// Unadjusted difference.
    pub unadjusted_estimate: f64,
    /// Standard error of the unadjusted difference.
    pub unadjusted_std_error: f64,
    /// z statistic of the adjusted difference.
    pub statistic: f64,
    /// Two-sided normal p-value of the adjusted difference.
    pub p_value: f64,
    /// Lower confidence bound of the adjusted difference.
    pub lower: f64,
    /// Upper confidence bound.
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
}

fn adj_var(m: &Moments, theta: f64) -> f64 {
    (m.var_y() - 2.0 * theta * m.cov_xy() + theta * theta * m.var_x()).max(0.0)
}

/// CUPED from per-group sufficient statistics (y = metric, x = pre-period covariate).
pub fn cuped(control: &Moments, treatment: &Moments, level: f64) -> Result<CupedResult> {
    control.validate("control aggregates")?;
    treatment.validate("treatment aggregates")?;
    prob_open("level", level)?;
    let all = control.combine(treatment);
    let vx = all.var_x();
    if !(vx > 0.0) {
        return Err(StatsError::Unsolvable {
            what: "CUPED",
            reason: "the covariate has zero variance, so it cannot explain any variance; drop it"
                .into(),
        });
    }
    let vy = all.var_y();
    if !(vy > 0.0) {
        return Err(StatsError::Unsolvable {
            what: "CUPED",
            reason: "the metric has zero variance".into(),
        });
    }
    let theta = all.cov_xy() / vx;
    let rho = all.cov_xy() / (vx * vy).sqrt();
    let xbar = all.mean_x();
    let control_mean = control.mean_y() - theta * (control.mean_x() - xbar);
    let treatment_mean = treatment.mean_y() - theta * (treatment.mean_x() - xbar);
    let estimate = treatment_mean - control_mean;
    let (se_c, se_t) = (
        (adj_var(control, theta) / control.n).sqrt(),
        (adj_var(treatment, theta) / treatment.n).sqrt(),
    );
    let se = (se_c * se_c + se_t * se_t).sqrt();
    let se_raw = (control.var_y() / control.n + treatment.var_y() / treatment.n).sqrt();
    if !(se > 0.0) {
        return Err(StatsError::Unsolvable {
            what: "CUPED",
            reason:
                "the covariate explains the metric exactly, so the adjusted standard error is zero"
                    .into(),
        });
    }
    let z = estimate / se;
    let h = norm_isf((1.0 - level) / 2.0) * se;
    Ok(CupedResult {
        theta,
        rho,
        variance_factor: 1.0 - rho * rho,
        variance_reduction: 1.0 - (se * se) / (se_raw * se_raw),
        control_mean,
        treatment_mean,
        control_std_error: se_c,
        treatment_std_error: se_t,
        estimate,
        std_error: se,
        unadjusted_estimate: treatment.mean_y() - control.mean_y(),
        unadjusted_std_error: se_raw,
        statistic: z,
        p_value: (2.0 * norm_cdf(-z.abs())).min(1.0),
        lower: estimate - h,
        upper: estimate + h,
        level,
    })
}

/// The sample-size saving CUPED implies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CupedSaving {
    /// Correlation between metric and covariate.
    pub rho: f64,
    /// Units per group needed without CUPED.
    pub n_without: f64,
    /// Units per group needed with CUPED: n (1 - rho^2), rounded up.
    pub n_per_group: u64,
    /// Before rounding.
    pub n_per_group_exact: f64,
    /// The fraction of units saved, rho^2.
    pub saving: f64,
}

/// Units per group needed with CUPED, given `n_without` and the correlation `rho`.
pub fn cuped_sample_size(n_without: f64, rho: f64) -> Result<CupedSaving> {
    non_negative("n", n_without)?;
    if !(rho.abs() < 1.0) {
        return Err(StatsError::OutOfRange {
            name: "rho",
            expected: "strictly between -1 and 1",
            got: rho,
        });
    }
    let exact = n_without * (1.0 - rho * rho);
    Ok(CupedSaving {
        rho,
        n_without,
        n_per_group: ceil_guard(exact),
        n_per_group_exact: exact,
        saving: rho * rho,
    })
}

/// Helper shared with `analyze`: two-sided normal p-value of a z statistic.
pub(crate) fn two_sided_normal_p(z: f64) -> f64 {
    (2.0 * norm_sf(z.abs())).min(1.0)
}
