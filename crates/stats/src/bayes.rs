//! Bayesian A/B comparisons: the beta-binomial model for conversion rates (exact by
//! quadrature, or by seeded Monte Carlo with a stated error) and the normal model for means.
//!
//! "Expected loss" of shipping B is E[max(A - B, 0)], the conversion (or mean) given up on
//! average if B is in fact worse; of keeping A it is E[max(B - A, 0)].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::dist::{beta_cdf, beta_isf, beta_pdf, beta_ppf, beta_sf};
use crate::error::{Result, StatsError, finite, positive, prob_open};
use crate::quadrature::{gauss_legendre, integrate};
use crate::special::{brent, norm_cdf, norm_isf, norm_pdf};

/// A Beta(a, b) distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BetaDist {
    /// First shape (prior successes plus observed successes).
    pub a: f64,
    /// Second shape.
    pub b: f64,
}

impl BetaDist {
    fn mean(&self) -> f64 {
        self.a / (self.a + self.b)
    }
    fn sd(&self) -> f64 {
        let s = self.a + self.b;
        (self.a * self.b / (s * s * (s + 1.0))).sqrt()
    }
    fn range(&self) -> (f64, f64) {
        (
            beta_ppf(1e-15, self.a, self.b),
            beta_isf(1e-15, self.a, self.b),
        )
    }
}

/// How the beta-binomial quantities are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum BayesMode {
    /// Numerical integration, accurate to about 1e-12.
    #[default]
    Exact,
    /// Monte Carlo with `draws` samples per arm from a ChaCha20 generator seeded with `seed`.
    MonteCarlo {
        /// Number of posterior draws.
        draws: u64,
        /// Seed.
        seed: u64,
    },
}

/// A credible interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Credible {
    /// Posterior mean.
    pub mean: f64,
    /// Lower bound (equal-tailed).
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Credibility level.
    pub level: f64,
}

/// The comparison of arm B (treatment) with arm A (control).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesResult {
    /// Model used, for display.
    pub model: String,
    /// P(B > A).
    pub prob_b_beats_a: f64,
    /// Expected loss of shipping B, E[max(A - B, 0)].
    pub expected_loss: f64,
    /// Expected loss of keeping A, E[max(B - A, 0)].
    pub expected_loss_a: f64,
    /// Posterior of A.
    pub a: Credible,
    /// Posterior of B.
    pub b: Credible,
    /// Posterior of the difference B - A.
    pub difference: Credible,
    /// Monte Carlo standard error of `prob_b_beats_a` (0 when exact).
    pub prob_std_error: f64,
    /// Monte Carlo standard error of `expected_loss` (0 when exact).
    pub loss_std_error: f64,
    /// Stated error bound: 4 standard errors (0 when exact).
    pub error_bound: f64,
}

/// P(X > Y) for independent betas, integrating over the narrower distribution so the other
/// one's CDF is smooth on the quadrature's scale.
pub fn prob_greater(x: BetaDist, y: BetaDist) -> f64 {
    let rule = gauss_legendre(20);
    if x.sd() < y.sd() {
        let (lo, hi) = x.range();
        integrate(
            |u| beta_pdf(u, x.a, x.b) * beta_cdf(u, y.a, y.b),
            lo,
            hi,
            64,
            &rule,
        )
        .clamp(0.0, 1.0)
    } else {
        let (lo, hi) = y.range();
        integrate(
            |u| beta_pdf(u, y.a, y.b) * beta_sf(u, x.a, x.b),
            lo,
            hi,
            64,
            &rule,
        )
        .clamp(0.0, 1.0)
    }
}

/// E[max(X - Y, 0)] = E[X] P(X+ > Y) - E[Y] P(X > Y+), where Z+ is Z size-biased
/// (Beta(a + 1, b)).
fn expected_excess(x: BetaDist, y: BetaDist) -> f64 {
    let xp = BetaDist {
        a: x.a + 1.0,
        b: x.b,
    };
    let yp = BetaDist {
        a: y.a + 1.0,
        b: y.b,
    };
    (x.mean() * prob_greater(xp, y) - y.mean() * prob_greater(x, yp)).max(0.0)
}

/// P(B - A <= d).
fn diff_cdf(a: BetaDist, b: BetaDist, d: f64) -> f64 {
    let rule = gauss_legendre(20);
    if a.sd() < b.sd() {
        let (lo, hi) = a.range();
        integrate(
            |u| beta_pdf(u, a.a, a.b) * beta_cdf((u + d).clamp(0.0, 1.0), b.a, b.b),
            lo,
            hi,
            64,
            &rule,
        )
    } else {
        let (lo, hi) = b.range();
        integrate(
            |u| beta_pdf(u, b.a, b.b) * beta_sf((u - d).clamp(0.0, 1.0), a.a, a.b),
            lo,
            hi,
            64,
            &rule,
        )
    }
}

fn credible_beta(d: BetaDist, level: f64) -> Credible {
    let t = (1.0 - level) / 2.0;
    Credible {
        mean: d.mean(),
        lower: beta_ppf(t, d.a, d.b),
        upper: beta_isf(t, d.a, d.b),
        level,
    }
}

/// Beta-binomial comparison: control x_a of n_a, treatment x_b of n_b, prior Beta(prior_a,
/// prior_b) on both rates (Beta(1, 1) is uniform).
#[allow(clippy::too_many_arguments)] // The model genuinely has these seven inputs.
pub fn beta_binomial(
    x_a: f64,
    n_a: f64,
    x_b: f64,
    n_b: f64,
    prior_a: f64,
    prior_b: f64,
    level: f64,
    mode: BayesMode,
) -> Result<BayesResult> {
    for (name, x, n) in [("control", x_a, n_a), ("treatment", x_b, n_b)] {
        finite("successes", x)?;
        finite("n", n)?;
        if !(x >= 0.0 && n >= x && n > 0.0) {
            return Err(StatsError::InvalidInput {
                what: "counts",
                reason: format!(
                    "{name}: successes {x} must be between 0 and n = {n}, and n above 0"
                ),
            });
        }
    }
    positive("prior a", prior_a)?;
    positive("prior b", prior_b)?;
    prob_open("level", level)?;
    let a = BetaDist {
        a: prior_a + x_a,
        b: prior_b + n_a - x_a,
    };
    let b = BetaDist {
        a: prior_a + x_b,
        b: prior_b + n_b - x_b,
    };
    let (ca, cb) = (credible_beta(a, level), credible_beta(b, level));
    let t = (1.0 - level) / 2.0;
    match mode {
        BayesMode::Exact => {
            let prob = prob_greater(b, a);
            let spread = 12.0 * (a.sd() + b.sd()) + 1e-12;
            let m = b.mean() - a.mean();
            let q = |p: f64| {
                brent(
                    |d| diff_cdf(a, b, d) - p,
                    (m - spread).max(-1.0),
                    (m + spread).min(1.0),
                    1e-15,
                )
            };
            let (lo, hi) = (q(t), q(1.0 - t));
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Err(StatsError::NoConvergence {
                    what: "credible interval of the difference",
                });
            };
            Ok(BayesResult {
                model: "beta-binomial (exact)".into(),
                prob_b_beats_a: prob,
                expected_loss: expected_excess(a, b),
                expected_loss_a: expected_excess(b, a),
                a: ca,
                b: cb,
                difference: Credible {
                    mean: m,
                    lower: lo,
                    upper: hi,
                    level,
                },
                prob_std_error: 0.0,
                loss_std_error: 0.0,
                error_bound: 0.0,
            })
        }
        BayesMode::MonteCarlo { draws, seed } => {
            if !(1000..=100_000_000).contains(&draws) {
                return Err(StatsError::OutOfRange {
                    name: "draws",
                    expected: "between 1,000 and 100,000,000",
                    got: draws as f64,
                });
            }
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let n = draws as usize;
            let mut diffs = Vec::with_capacity(n);
            let (mut wins, mut loss, mut loss2, mut loss_a) = (0.0, 0.0, 0.0, 0.0);
            for _ in 0..n {
                let pa = sample_beta(&mut rng, a.a, a.b);
                let pb = sample_beta(&mut rng, b.a, b.b);
                if pb > pa {
                    wins += 1.0;
                }
                let l = (pa - pb).max(0.0);
                loss += l;
                loss2 += l * l;
                loss_a += (pb - pa).max(0.0);
                diffs.push(pb - pa);
            }
            let nf = n as f64;
            let prob = wins / nf;
            let mean_loss = loss / nf;
            let prob_se = (prob * (1.0 - prob) / nf).sqrt().max(0.5 / nf);
            let loss_se = ((loss2 / nf - mean_loss * mean_loss).max(0.0) / nf).sqrt();
            diffs.sort_by(f64::total_cmp);
            let diff = Credible {
                mean: b.mean() - a.mean(),
                lower: crate::hypothesis::quantile_sorted(&diffs, t),
                upper: crate::hypothesis::quantile_sorted(&diffs, 1.0 - t),
                level,
            };
            Ok(BayesResult {
                model: format!("beta-binomial (Monte Carlo, {draws} draws, seed {seed})"),
                prob_b_beats_a: prob,
                expected_loss: mean_loss,
                expected_loss_a: loss_a / nf,
                a: ca,
                b: cb,
                difference: diff,
                prob_std_error: prob_se,
                loss_std_error: loss_se,
                error_bound: 4.0 * prob_se.max(loss_se),
            })
        }
    }
}

fn sample_normal<R: Rng>(rng: &mut R) -> f64 {
    // Box-Muller; one of the pair is discarded for simplicity.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Gamma(shape, 1) by Marsaglia & Tsang (2000), with the shape < 1 boost.
fn sample_gamma<R: Rng>(rng: &mut R, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.random::<f64>();
        return sample_gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = sample_normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

fn sample_beta<R: Rng>(rng: &mut R, a: f64, b: f64) -> f64 {
    let x = sample_gamma(rng, a);
    let y = sample_gamma(rng, b);
    x / (x + y)
}

/// One arm of the normal model: sample mean, standard deviation and size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NormalArm {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub sd: f64,
    /// Number of units.
    pub n: f64,
}

/// Normal model for means: each arm's mean has posterior N(m, v) from a normal prior
/// N(prior_mean, prior_var) (pass `None` for a flat prior) and the known-variance likelihood
/// N(mean, sd^2 / n).
pub fn normal_means(
    a: NormalArm,
    b: NormalArm,
    prior: Option<(f64, f64)>,
    level: f64,
) -> Result<BayesResult> {
    prob_open("level", level)?;
    let post = |arm: NormalArm| -> Result<(f64, f64)> {
        finite("mean", arm.mean)?;
        positive("sd", arm.sd)?;
        positive("n", arm.n)?;
        let lik_prec = arm.n / (arm.sd * arm.sd);
        Ok(match prior {
            None => (arm.mean, 1.0 / lik_prec),
            Some((m0, v0)) => {
                let prec = lik_prec + 1.0 / v0;
                ((arm.mean * lik_prec + m0 / v0) / prec, 1.0 / prec)
            }
        })
    };
    if let Some((m0, v0)) = prior {
        finite("prior mean", m0)?;
        positive("prior variance", v0)?;
    }
    let (ma, va) = post(a)?;
    let (mb, vb) = post(b)?;
    let s = (va + vb).sqrt();
    let mu = mb - ma;
    let z = norm_isf((1.0 - level) / 2.0);
    // E[max(D, 0)] for D ~ N(m, s^2) is m Phi(m / s) + s phi(m / s).
    let excess = |m: f64| m * norm_cdf(m / s) + s * norm_pdf(m / s);
    let cred = |m: f64, v: f64| Credible {
        mean: m,
        lower: m - z * v.sqrt(),
        upper: m + z * v.sqrt(),
        level,
    };
    Ok(BayesResult {
        model: format!(
            "normal ({} prior)",
            if prior.is_some() { "normal" } else { "flat" }
        ),
        prob_b_beats_a: norm_cdf(mu / s),
        expected_loss: excess(-mu),
        expected_loss_a: excess(mu),
        a: cred(ma, va),
        b: cred(mb, vb),
        difference: cred(mu, va + vb),
        prob_std_error: 0.0,
        loss_std_error: 0.0,
        error_bound: 0.0,
    })
}
