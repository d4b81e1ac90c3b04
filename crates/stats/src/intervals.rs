//! Confidence intervals: one proportion (Wald, Wilson, Agresti-Coull, Clopper-Pearson,
//! Jeffreys), a difference of proportions (Wald, Newcombe), a mean (t), a difference of means
//! (Welch) and a relative lift (delta method, Fieller).
//!
//! Conventions follow statsmodels `proportion_confint` and `confint_proportions_2indep`:
//! Wald, Wilson and Agresti-Coull bounds are clipped to [0, 1]; Clopper-Pearson gives 0 (1)
//! at zero (all) successes; Jeffreys uses the equal-tailed Beta(x + 1/2, n - x + 1/2) bounds
//! without the boundary modification. Differences are treatment minus control.

use serde::{Deserialize, Serialize};

use crate::dist::{beta_isf, beta_ppf, t_isf};
use crate::error::{Result, StatsError, finite, positive, prob_open};
use crate::hypothesis::Summary;
use crate::special::norm_isf;

/// A two-sided confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// The method, for display.
    pub method: String,
}

/// Interval method for one proportion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProportionCi {
    /// Normal approximation p +- z sqrt(p(1-p)/n).
    Wald,
    /// Wilson score interval.
    #[default]
    Wilson,
    /// Agresti-Coull: Wald on x + z^2/2 successes of n + z^2.
    AgrestiCoull,
    /// Clopper-Pearson exact (beta quantiles).
    ClopperPearson,
    /// Jeffreys: quantiles of the Beta(x + 1/2, n - x + 1/2) posterior.
    Jeffreys,
}

fn check_xn(x: f64, n: f64) -> Result<()> {
    finite("successes", x)?;
    positive("n", n)?;
    if x < 0.0 || x > n {
        return Err(StatsError::InvalidInput {
            what: "counts",
            reason: format!("successes {x} must be between 0 and n = {n}"),
        });
    }
    Ok(())
}

fn wilson_bounds(x: f64, n: f64, z: f64) -> (f64, f64) {
    let p = x / n;
    let z2 = z * z;
    let center = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    (
        (center - half).clamp(0.0, 1.0),
        (center + half).clamp(0.0, 1.0),
    )
}

/// Confidence interval for one proportion, x successes of n.
pub fn proportion(x: f64, n: f64, level: f64, method: ProportionCi) -> Result<Interval> {
    check_xn(x, n)?;
    prob_open("level", level)?;
    let a = (1.0 - level) / 2.0;
    let z = norm_isf(a);
    let p = x / n;
    let (lower, upper, name) = match method {
        ProportionCi::Wald => {
            let h = z * (p * (1.0 - p) / n).sqrt();
            ((p - h).clamp(0.0, 1.0), (p + h).clamp(0.0, 1.0), "Wald")
        }
        ProportionCi::Wilson => {
            let (l, u) = wilson_bounds(x, n, z);
            (l, u, "Wilson score")
        }
        ProportionCi::AgrestiCoull => {
            let nt = n + z * z;
            let pt = (x + z * z / 2.0) / nt;
            let h = z * (pt * (1.0 - pt) / nt).sqrt();
            (
                (pt - h).clamp(0.0, 1.0),
                (pt + h).clamp(0.0, 1.0),
                "Agresti-Coull",
            )
        }
        ProportionCi::ClopperPearson => {
            let l = if x == 0.0 {
                0.0
            } else {
                beta_ppf(a, x, n - x + 1.0)
            };
            let u = if x == n {
                1.0
            } else {
                beta_isf(a, x + 1.0, n - x)
            };
            (l, u, "Clopper-Pearson")
        }
        ProportionCi::Jeffreys => (
            beta_ppf(a, x + 0.5, n - x + 0.5),
            beta_isf(a, x + 0.5, n - x + 0.5),
            "Jeffreys",
        ),
    };
    Ok(Interval {
        estimate: p,
        lower,
        upper,
        level,
        method: name.into(),
    })
}

/// Interval method for a difference of proportions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffCi {
    /// Normal approximation with the unpooled standard error.
    Wald,
    /// Newcombe's hybrid score interval (method 10), built from the two Wilson intervals.
    #[default]
    Newcombe,
}

/// Confidence interval for p2 - p1 (treatment x2 of n2 minus control x1 of n1).
pub fn proportion_diff(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    level: f64,
    method: DiffCi,
) -> Result<Interval> {
    check_xn(x1, n1)?;
    check_xn(x2, n2)?;
    prob_open("level", level)?;
    let z = norm_isf((1.0 - level) / 2.0);
    let (p1, p2) = (x1 / n1, x2 / n2);
    let d = p2 - p1;
    let (lower, upper, name) = match method {
        DiffCi::Wald => {
            let h = z * (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
            (d - h, d + h, "Wald")
        }
        DiffCi::Newcombe => {
            let (l1, u1) = wilson_bounds(x1, n1, z);
            let (l2, u2) = wilson_bounds(x2, n2, z);
            let lo = d - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
            let hi = d + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt();
            (lo, hi, "Newcombe hybrid score")
        }
    };
    Ok(Interval {
        estimate: d,
        lower,
        upper,
        level,
        method: name.into(),
    })
}

fn check_summary(s: &Summary, what: &'static str) -> Result<()> {
    finite("mean", s.mean)?;
    positive("sd", s.sd)?;
    if !(s.n >= 2.0) || !s.n.is_finite() {
        return Err(StatsError::InvalidInput {
            what,
            reason: format!("n must be at least 2, got {}", s.n),
        });
    }
    Ok(())
}

/// t interval for a mean.
pub fn mean(s: Summary, level: f64) -> Result<Interval> {
    check_summary(&s, "sample")?;
    prob_open("level", level)?;
    let h = t_isf((1.0 - level) / 2.0, s.n - 1.0) * s.sd / s.n.sqrt();
    Ok(Interval {
        estimate: s.mean,
        lower: s.mean - h,
        upper: s.mean + h,
        level,
        method: "t".into(),
    })
}

/// Welch interval for the difference of means, treatment minus control.
pub fn mean_diff_welch(control: Summary, treatment: Summary, level: f64) -> Result<Interval> {
    check_summary(&control, "control sample")?;
    check_summary(&treatment, "treatment sample")?;
    prob_open("level", level)?;
    let (v1, v2) = (
        control.sd.powi(2) / control.n,
        treatment.sd.powi(2) / treatment.n,
    );
    let df = (v1 + v2).powi(2) / (v1 * v1 / (control.n - 1.0) + v2 * v2 / (treatment.n - 1.0));
    let d = treatment.mean - control.mean;
    let h = t_isf((1.0 - level) / 2.0, df) * (v1 + v2).sqrt();
    Ok(Interval {
        estimate: d,
        lower: d - h,
        upper: d + h,
        level,
        method: "Welch t".into(),
    })
}

/// Interval method for a relative lift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiftCi {
    /// First-order delta method on m2 / m1 - 1.
    #[default]
    Delta,
    /// Fieller's exact interval for a ratio of normal means.
    Fieller,
}

/// Interval for the relative lift m2 / m1 - 1 of two independent estimates (control mean m1
/// with standard error se1, treatment m2 with se2), normal critical values.
pub fn relative_lift(
    m1: f64,
    se1: f64,
    m2: f64,
    se2: f64,
    level: f64,
    method: LiftCi,
) -> Result<Interval> {
    finite("control mean", m1)?;
    finite("treatment mean", m2)?;
    positive("control standard error", se1)?;
    positive("treatment standard error", se2)?;
    prob_open("level", level)?;
    if m1 == 0.0 {
        return Err(StatsError::Unsolvable { what: "relative lift", reason: "the control mean is zero, so a relative lift is undefined; use the absolute difference".into() });
    }
    let z = norm_isf((1.0 - level) / 2.0);
    let lift = m2 / m1 - 1.0;
    let (lower, upper, name) = match method {
        LiftCi::Delta => {
            let se = (se2 * se2 / (m1 * m1) + m2 * m2 * se1 * se1 / m1.powi(4)).sqrt();
            (lift - z * se, lift + z * se, "delta method")
        }
        LiftCi::Fieller => {
            let a = m1 * m1 - z * z * se1 * se1;
            if a <= 0.0 {
                return Err(StatsError::Unsolvable {
                    what: "Fieller interval",
                    reason: "the control mean is not significantly different from zero, so the interval is unbounded; use the delta method or more data".into(),
                });
            }
            let disc = z
                * (m1 * m1 * se2 * se2 + m2 * m2 * se1 * se1 - z * z * se1 * se1 * se2 * se2)
                    .sqrt();
            let r1 = (m1 * m2 - disc) / a;
            let r2 = (m1 * m2 + disc) / a;
            (r1.min(r2) - 1.0, r1.max(r2) - 1.0, "Fieller")
        }
    };
    Ok(Interval {
        estimate: lift,
        lower,
        upper,
        level,
        method: name.into(),
    })
}
