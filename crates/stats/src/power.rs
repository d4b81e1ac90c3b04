//! Power, sample size, minimum detectable effect and alpha for two proportions, two means
//! (z and t) and one-sample or paired t tests.
//!
//! A [`Design`] fixes the test; its methods solve for whichever of n, power, effect or alpha
//! is missing. Conventions follow the references the golden vectors come from:
//!
//! * proportions, `pooled`: R `power.prop.test` and statsmodels
//!   `samplesize_proportions_2indep_onetail` (null variance at the pooled rate, alternative
//!   variance unpooled). Like R's default `strict = FALSE`, the far tail of a two-sided test is
//!   ignored unless `strict` is set.
//! * proportions, `unpooled`: the same with the unpooled variance under both hypotheses.
//! * proportions, `arcsine`: Cohen's h, R `pwr.2p.test` / `pwr.2p2n.test` and statsmodels
//!   `NormalIndPower`; both tails count.
//! * means, `z`: statsmodels `NormalIndPower`; both tails count.
//! * means, `t` and one-sample / paired `t`: the exact noncentral t, R `pwr.t.test` /
//!   `pwr.t2n.test` and statsmodels `TTestIndPower` / `TTestPower`; both tails count.
//!
//! `n` always means the size of the first (control) group; the second has `ratio * n`.
//! Effects are magnitudes: a one-sided test is taken to be in the direction of the effect.

use serde::{Deserialize, Serialize};

use crate::dist::{nct_cdf, nct_sf, t_isf};
use crate::error::{Result, StatsError, finite, positive, prob_open};
use crate::special::{brent, norm_cdf, norm_isf, norm_ppf};

/// One- or two-sided test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sides {
    /// Reject for large |statistic|; alpha is split between the tails.
    #[default]
    TwoSided,
    /// Reject in the direction of the effect only.
    OneSided,
}

impl Sides {
    /// How many tails alpha is split over.
    pub fn tails(self) -> f64 {
        match self {
            Sides::TwoSided => 2.0,
            Sides::OneSided => 1.0,
        }
    }
}

/// How the variance of a difference of proportions is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProportionMethod {
    /// Null variance at the pooled rate, alternative variance unpooled (R `power.prop.test`).
    #[default]
    Pooled,
    /// Unpooled variance under both hypotheses.
    Unpooled,
    /// Arcsine transform, Cohen's h (R `pwr.2p.test`).
    Arcsine,
}

/// Which test on means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeanTest {
    /// Two independent samples, Student t with pooled variance (noncentral t power).
    #[default]
    T,
    /// Two independent samples, known variance (normal power).
    Z,
    /// One sample, or paired differences (noncentral t power with n - 1 df).
    OneSampleT,
}

/// What the test compares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "kebab-case")]
pub enum Family {
    /// Two proportions; the effect is the treatment rate.
    Proportions {
        /// Control (baseline) rate, in (0, 1).
        baseline: f64,
        /// Variance model.
        method: ProportionMethod,
    },
    /// Means; the effect is the standardized difference d = delta / sd (Cohen's d).
    Means {
        /// Which test.
        test: MeanTest,
    },
}

/// A fixed test design. Solve for n, power, effect or alpha with its methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// What is compared.
    pub family: Family,
    /// Significance level, in (0, 1).
    pub alpha: f64,
    /// One- or two-sided.
    pub sides: Sides,
    /// Allocation ratio n_treatment / n_control (ignored for one-sample tests).
    pub ratio: f64,
    /// Count the far tail of a two-sided test. `None` takes the method's convention: false
    /// for pooled and unpooled proportions (as R `power.prop.test`), true otherwise.
    pub strict: Option<bool>,
}

/// Result of a sample-size calculation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Control group size, rounded up.
    pub n_per_group: u64,
    /// Control group size before rounding.
    pub n_per_group_exact: f64,
    /// Treatment group size (ratio times the exact control size), rounded up.
    pub n_treatment: u64,
    /// Treatment group size before rounding.
    pub n_treatment_exact: f64,
    /// Total over both groups (the one group of a one-sample test), after rounding.
    pub n_total: u64,
}

/// Rounds up, but treats values within floating-point noise of an integer as that integer.
pub(crate) fn ceil_guard(x: f64) -> u64 {
    let r = x.round();
    if (x - r).abs() <= 1e-9 * x.abs().max(1.0) {
        r as u64
    } else {
        x.ceil() as u64
    }
}

impl Design {
    fn validate(&self) -> Result<()> {
        prob_open("alpha", self.alpha)?;
        positive("ratio", self.ratio)?;
        if let Family::Proportions { baseline, .. } = self.family {
            prob_open("baseline", baseline)?;
        }
        Ok(())
    }

    fn strict(&self) -> bool {
        match (self.strict, self.family) {
            (Some(s), _) => s,
            (
                None,
                Family::Proportions {
                    method: ProportionMethod::Pooled,
                    ..
                },
            )
            | (
                None,
                Family::Proportions {
                    method: ProportionMethod::Unpooled,
                    ..
                },
            ) => false,
            (None, _) => true,
        }
    }

    fn is_one_sample(&self) -> bool {
        matches!(
            self.family,
            Family::Means {
                test: MeanTest::OneSampleT
            }
        )
    }

    /// The smallest control-group size for which the test is defined.
    fn n_min(&self) -> f64 {
        match self.family {
            Family::Means { test: MeanTest::T } => 2.0 / (1.0 + self.ratio),
            Family::Means {
                test: MeanTest::OneSampleT,
            } => 1.0,
            _ => 0.0,
        }
    }

    fn check_effect(&self, effect: f64) -> Result<()> {
        finite("effect", effect)?;
        match self.family {
            Family::Proportions { baseline, .. } => {
                prob_open("treatment rate", effect)?;
                if effect == baseline {
                    return Err(StatsError::Unsolvable {
                        what: "effect",
                        reason: "the treatment rate equals the baseline (an MDE of zero); give a nonzero difference".into(),
                    });
                }
            }
            Family::Means { .. } => {
                if effect == 0.0 {
                    return Err(StatsError::OutOfRange {
                        name: "effect size",
                        expected: "nonzero",
                        got: effect,
                    });
                }
            }
        }
        Ok(())
    }

    fn check_n(&self, n: f64) -> Result<()> {
        positive("n", n)?;
        if n <= self.n_min() {
            return Err(StatsError::OutOfRange {
                name: "n",
                expected: if self.is_one_sample() {
                    "greater than 1 (the t test needs at least one degree of freedom)"
                } else {
                    "large enough that n * (1 + ratio) > 2 (at least one degree of freedom)"
                },
                got: n,
            });
        }
        Ok(())
    }

    /// Power at control-group size `n` for `effect` (the treatment rate for proportions,
    /// Cohen's d for means).
    pub fn power(&self, effect: f64, n: f64) -> Result<f64> {
        self.validate()?;
        self.check_effect(effect)?;
        self.check_n(n)?;
        Ok(self.power_unchecked(effect, n, self.alpha))
    }

    fn power_unchecked(&self, effect: f64, n: f64, alpha: f64) -> f64 {
        let tails = self.sides.tails();
        let both = self.strict() && self.sides == Sides::TwoSided;
        let r = self.ratio;
        match self.family {
            Family::Proportions {
                baseline: p1,
                method,
            } => {
                let p2 = effect;
                let z = norm_isf(alpha / tails);
                match method {
                    ProportionMethod::Arcsine => {
                        let h = (2.0 * p2.sqrt().asin() - 2.0 * p1.sqrt().asin()).abs();
                        normal_power(h * (n * r / (1.0 + r)).sqrt(), z, both)
                    }
                    ProportionMethod::Pooled | ProportionMethod::Unpooled => {
                        let (s0, s1) = prop_sds(p1, p2, r, method);
                        let d = (p2 - p1).abs() * n.sqrt();
                        let mut pw = norm_cdf((d - z * s0) / s1);
                        if both {
                            pw += norm_cdf((-d - z * s0) / s1);
                        }
                        pw
                    }
                }
            }
            Family::Means { test } => {
                let d = effect.abs();
                match test {
                    MeanTest::Z => {
                        let z = norm_isf(alpha / tails);
                        normal_power(d * (n * r / (1.0 + r)).sqrt(), z, both)
                    }
                    MeanTest::T => {
                        let df = n * (1.0 + r) - 2.0;
                        let nc = d * (n * r / (1.0 + r)).sqrt();
                        t_power(nc, df, alpha / tails, both)
                    }
                    MeanTest::OneSampleT => t_power(d * n.sqrt(), n - 1.0, alpha / tails, both),
                }
            }
        }
    }

    fn check_power(&self, power: f64) -> Result<()> {
        prob_open("power", power)?;
        if power <= self.alpha {
            return Err(StatsError::Unsolvable {
                what: "power",
                reason: format!(
                    "power {power} is not above alpha {}; ask for a power greater than alpha",
                    self.alpha
                ),
            });
        }
        Ok(())
    }

    /// Control-group size that reaches `power` for `effect`.
    pub fn sample_size(&self, effect: f64, power: f64) -> Result<SampleSize> {
        self.validate()?;
        self.check_effect(effect)?;
        self.check_power(power)?;
        let n = self.solve_n(effect, power)?;
        let n_t = if self.is_one_sample() {
            0.0
        } else {
            n * self.ratio
        };
        let n_per_group = ceil_guard(n);
        let n_treatment = if self.is_one_sample() {
            0
        } else {
            ceil_guard(n_t)
        };
        Ok(SampleSize {
            n_per_group,
            n_per_group_exact: n,
            n_treatment,
            n_treatment_exact: n_t,
            n_total: n_per_group + n_treatment,
        })
    }

    fn solve_n(&self, effect: f64, power: f64) -> Result<f64> {
        let tails = self.sides.tails();
        // The normal approximations without the far tail invert in closed form.
        if let Family::Proportions {
            baseline: p1,
            method,
        } = self.family
            && method != ProportionMethod::Arcsine
            && !(self.strict() && tails == 2.0)
        {
            let (s0, s1) = prop_sds(p1, effect, self.ratio, method);
            let z = norm_isf(self.alpha / tails);
            let zb = norm_ppf(power);
            let num = z * s0 + zb * s1;
            if num <= 0.0 {
                return Err(StatsError::Unsolvable {
                    what: "sample size",
                    reason: "the target power is reached at any n; ask for a higher power".into(),
                });
            }
            return Ok((num / (effect - p1)).powi(2));
        }
        let lo = self.n_min() * (1.0 + 1e-9) + 1e-9;
        let f = |u: f64| self.power_unchecked(effect, u.exp(), self.alpha) - power;
        // Bracket from the normal-theory answer upward, so the exact (and for the t test,
        // costlier at huge n) power is never evaluated at absurd sizes.
        let mut hi = (self.normal_guess(effect, power) * 1.5 + 10.0).clamp(lo * 2.0, 1e13);
        while f(hi.ln()) < 0.0 {
            if hi >= 1e13 {
                return Err(StatsError::Unsolvable {
                    what: "sample size",
                    reason: "the effect is too small to reach that power with fewer than 1e13 units per group; give a larger effect".into(),
                });
            }
            hi = (hi * 4.0).min(1e13);
        }
        if f(lo.ln()) >= 0.0 {
            return Ok(lo);
        }
        brent(f, lo.ln(), hi.ln(), 1e-15)
            .map(f64::exp)
            .ok_or(StatsError::NoConvergence {
                what: "sample size",
            })
    }

    /// The normal-approximation sample size, used only to bracket the exact solution.
    fn normal_guess(&self, effect: f64, power: f64) -> f64 {
        let z = norm_isf(self.alpha / self.sides.tails()) + norm_ppf(power);
        let r = self.ratio;
        let h = match self.family {
            Family::Proportions {
                baseline,
                method: ProportionMethod::Arcsine,
            } => (2.0 * effect.sqrt().asin() - 2.0 * baseline.sqrt().asin()).abs(),
            Family::Proportions { baseline, method } => {
                let (s0, s1) = prop_sds(baseline, effect, r, method);
                return ((z * s0.max(s1)) / (effect - baseline)).powi(2);
            }
            Family::Means { .. } => effect.abs(),
        };
        let scale = if self.is_one_sample() {
            1.0
        } else {
            (1.0 + r) / r
        };
        (z / h).powi(2) * scale
    }

    /// The smallest effect detectable with `power` at control-group size `n`: the treatment
    /// rate above the baseline (below it when `decrease`) for proportions, Cohen's d for means.
    pub fn mde(&self, n: f64, power: f64, decrease: bool) -> Result<f64> {
        self.validate()?;
        self.check_n(n)?;
        self.check_power(power)?;
        match self.family {
            Family::Proportions { baseline, .. } => {
                let f = |p2: f64| self.power_unchecked(p2, n, self.alpha) - power;
                let (near, far) = if decrease {
                    (baseline * (1.0 - 1e-12), 1e-12)
                } else {
                    (
                        baseline + (1.0 - baseline) * 1e-12,
                        1.0 - (1.0 - baseline) * 1e-12,
                    )
                };
                if f(far) < 0.0 {
                    return Err(StatsError::Unsolvable {
                        what: "minimum detectable effect",
                        reason: format!(
                            "no rate {} the baseline reaches power {power} with n = {n}; increase n or lower the power",
                            if decrease { "below" } else { "above" }
                        ),
                    });
                }
                brent(f, near, far, 0.0).ok_or(StatsError::NoConvergence {
                    what: "minimum detectable effect",
                })
            }
            Family::Means { .. } => {
                let f = |d: f64| self.power_unchecked(d, n, self.alpha) - power;
                let mut hi = 1.0;
                while f(hi) < 0.0 {
                    hi *= 2.0;
                    if hi > 1e4 {
                        return Err(StatsError::NoConvergence {
                            what: "minimum detectable effect",
                        });
                    }
                }
                brent(f, 1e-300, hi, 0.0).ok_or(StatsError::NoConvergence {
                    what: "minimum detectable effect",
                })
            }
        }
    }

    /// The significance level at which `n` units reach `power` for `effect`.
    pub fn solve_alpha(&self, effect: f64, n: f64, power: f64) -> Result<f64> {
        positive("ratio", self.ratio)?;
        if let Family::Proportions { baseline, .. } = self.family {
            prob_open("baseline", baseline)?;
        }
        self.check_effect(effect)?;
        self.check_n(n)?;
        prob_open("power", power)?;
        let f = |u: f64| self.power_unchecked(effect, n, u.exp()) - power;
        let (lo, hi) = (1e-300_f64.ln(), (-1e-12_f64).ln_1p());
        if f(lo) > 0.0 || f(hi) < 0.0 {
            return Err(StatsError::Unsolvable {
                what: "alpha",
                reason: format!("no alpha in (0, 1) gives power {power} at n = {n}"),
            });
        }
        brent(f, lo, hi, 1e-16)
            .map(f64::exp)
            .ok_or(StatsError::NoConvergence { what: "alpha" })
    }
}

/// Null and alternative standard deviations of the difference p2 - p1, times sqrt(n1).
fn prop_sds(p1: f64, p2: f64, r: f64, method: ProportionMethod) -> (f64, f64) {
    let s1 = (p1 * (1.0 - p1) + p2 * (1.0 - p2) / r).sqrt();
    let s0 = match method {
        ProportionMethod::Pooled => {
            let pbar = (p1 + r * p2) / (1.0 + r);
            (pbar * (1.0 - pbar) * (1.0 + 1.0 / r)).sqrt()
        }
        _ => s1,
    };
    (s0, s1)
}

/// Power of a normal test whose statistic has mean `shift`, at critical value `z`.
fn normal_power(shift: f64, z: f64, both: bool) -> f64 {
    let mut p = norm_cdf(shift - z);
    if both {
        p += norm_cdf(-shift - z);
    }
    p
}

/// Power of a t test with noncentrality `nc`, `df` degrees of freedom and tail level `a`.
fn t_power(nc: f64, df: f64, a: f64, both: bool) -> f64 {
    let crit = t_isf(a, df);
    if !crit.is_finite() {
        return 0.0;
    }
    let mut p = nct_sf(crit, df, nc);
    if both {
        p += nct_cdf(-crit, df, nc);
    }
    p
}

/// A lift as the caller states it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lift {
    /// Treatment rate minus baseline rate, e.g. 0.01 for one percentage point.
    Absolute(f64),
    /// Treatment rate over baseline minus one, e.g. 0.05 for +5 %.
    Relative(f64),
}

impl Lift {
    /// The treatment rate this lift implies on `baseline`, checked to lie in (0, 1).
    pub fn treatment_rate(self, baseline: f64) -> Result<f64> {
        prob_open("baseline", baseline)?;
        let (p2, v) = match self {
            Lift::Absolute(d) => (baseline + finite("mde", d)?, d),
            Lift::Relative(r) => (baseline * (1.0 + finite("mde", r)?), r),
        };
        if v == 0.0 {
            return Err(StatsError::OutOfRange {
                name: "mde",
                expected: "nonzero",
                got: v,
            });
        }
        if !(p2 > 0.0 && p2 < 1.0) {
            return Err(StatsError::Unsolvable {
                what: "mde",
                reason: format!(
                    "baseline {baseline} with this lift gives a treatment rate of {p2}, outside (0, 1); give a smaller lift"
                ),
            });
        }
        Ok(p2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(method: ProportionMethod) -> Design {
        Design {
            family: Family::Proportions {
                baseline: 0.1,
                method,
            },
            alpha: 0.05,
            sides: Sides::TwoSided,
            ratio: 1.0,
            strict: None,
        }
    }

    #[test]
    fn pooled_matches_textbook_value() {
        // R: power.prop.test(p1 = .1, p2 = .12, power = .8)$n = 3840.847
        let n = prop(ProportionMethod::Pooled).sample_size(0.12, 0.8);
        assert!(
            n.is_ok_and(|n| (n.n_per_group_exact - 3840.847).abs() < 1e-3 && n.n_per_group == 3841)
        );
    }

    #[test]
    fn power_not_above_alpha_is_an_error() {
        let e = prop(ProportionMethod::Pooled).sample_size(0.12, 0.05);
        assert!(matches!(
            e,
            Err(StatsError::Unsolvable { what: "power", .. })
        ));
    }

    #[test]
    fn relative_lift_above_one_is_an_error() {
        assert!(matches!(
            Lift::Relative(1.5).treatment_rate(0.5),
            Err(StatsError::Unsolvable { .. })
        ));
    }
}
